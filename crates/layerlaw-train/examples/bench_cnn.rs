//! Training throughput (images/s) of VGG11 and ResNet18 on 1×32×32 synthetic images on the CPU.
//!
//! ```text
//! cargo run --release -p layerlaw-train --example bench_cnn [-- IMAGES THREADS]
//! ```

use layerlaw_train::{train, Architecture, BnMeasureMode, Dataset, NoObserver, TrainConfig};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(256);
    let threads = args.get(1).copied().unwrap_or(2);
    let x: Vec<f32> = (0..n * 1024)
        .map(|i| ((i as f64 * 0.618).fract() - 0.5) as f32)
        .collect();
    let data = Dataset {
        x,
        y: (0..n).map(|i| i % 10).collect(),
        n,
        shape: [1, 32, 32],
        num_classes: 10,
    };
    for arch in [Architecture::ResNet18, Architecture::Vgg11] {
        let cfg = TrainConfig {
            epochs: 1,
            bn_measure: BnMeasureMode::Eval,
            threads: Some(threads),
            ..TrainConfig::cnn_default(arch)
        };
        let start = Instant::now();
        let out = train(&cfg, &data, None, &mut NoObserver)?;
        let total = start.elapsed().as_secs_f64();
        let train_s = out.seconds_per_epoch;
        println!(
            "{arch:?}: {n} images, batch 128, {threads} threads: training {:.1} images/s ({train_s:.2} s/epoch); \
             eval + features {:.1} images/s",
            n as f64 / train_s,
            2.0 * n as f64 / (total - train_s)
        );
    }
    Ok(())
}
