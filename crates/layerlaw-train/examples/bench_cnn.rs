//! Training throughput (images/s) of VGG11 and ResNet18 on 1×32×32 synthetic images, on the CPU or
//! (built with `--features gpu`) on the GPU.
//!
//! ```text
//! cargo run --release -p layerlaw-train --example bench_cnn [-- IMAGES THREADS [cpu|gpu]]
//! cargo run --release -p layerlaw-train --features gpu --example bench_cnn -- 256 2 gpu
//! ```

use layerlaw_train::{
    train, Architecture, BnMeasureMode, Dataset, Device, NoObserver, TrainConfig,
};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(256);
    let threads = args.get(1).copied().unwrap_or(2);
    let device = match std::env::args().nth(3).as_deref() {
        Some("gpu") => Device::Gpu,
        _ => Device::Cpu,
    };
    if device == Device::Gpu {
        println!("GPU adapter: {}", layerlaw_train::gpu_adapter()?);
    }
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
            epochs: 2,
            device,
            bn_measure: BnMeasureMode::Eval,
            threads: Some(threads),
            ..TrainConfig::cnn_default(arch)
        };
        let start = Instant::now();
        let out = train(&cfg, &data, None, &mut NoObserver)?;
        let total = start.elapsed().as_secs_f64();
        // The first epoch includes kernel compilation on the GPU; report the second.
        let first = out.history[0].seconds;
        let train_s = out.history[1].seconds;
        println!(
            "{arch:?} on {device:?}: {n} images, batch 128, {threads} threads: training {:.1} images/s \
             ({train_s:.2} s/epoch; first epoch {first:.2} s); eval + features {:.1} images/s",
            n as f64 / train_s,
            2.0 * n as f64 / (total - first - train_s)
        );
    }
    Ok(())
}
