//! Speed of FNN training against PyTorch on the CPU, in the same process.
//!
//! Trains the He & Su GFNN (depth 8, width 100, BN + ReLU) on 1000 deterministic synthetic points
//! of dimension 100 (10 classes) for 600 epochs with momentum SGD, batch 128, then runs
//! `benches/train_torch.py` on the same data with 1 and 2 torch threads and prints the ratios.
//!
//! ```text
//! cargo run --release -p layerlaw-train --example bench_train [-- EPOCHS DEPTH]
//! ```

use layerlaw_train::{train, Architecture, Dataset, NoObserver, TrainConfig};
use std::io::Write;
use std::process::Command;
use std::time::Instant;

const N: usize = 1000;
const DIM: usize = 100;
const K: usize = 10;

fn synthetic() -> Dataset {
    let mut x = Vec::with_capacity(N * DIM);
    let y: Vec<usize> = (0..N).map(|i| i % K).collect();
    for (i, &c) in y.iter().enumerate() {
        for j in 0..DIM {
            let h = ((12.9898 * i as f64 + 78.233 * j as f64).sin() * 43758.5453).fract();
            let mean = if j % K == c { 1.0 } else { 0.0 };
            x.push((mean + 2.0 * h - 1.0) as f32);
        }
    }
    Dataset {
        x,
        y,
        n: N,
        shape: [1, 1, DIM],
        num_classes: K,
    }
}

fn write_raw(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::File::create(path)?.write_all(bytes)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let epochs = args.first().copied().unwrap_or(600);
    let depth = args.get(1).copied().unwrap_or(8);
    let data = synthetic();
    let cfg = TrainConfig {
        architecture: Architecture::Fnn {
            width: 100,
            depth,
            batchnorm: true,
            relu: true,
        },
        epochs,
        ..TrainConfig::fnn_default()
    };

    let mut ours = Vec::new();
    for threads in [1, 2] {
        let start = Instant::now();
        let out = train(
            &TrainConfig {
                threads: Some(threads),
                ..cfg.clone()
            },
            &data,
            None,
            &mut NoObserver,
        )?;
        let secs = start.elapsed().as_secs_f64();
        let steps: usize = out.history.iter().map(|h| h.steps).sum();
        println!(
            "layerlaw-train ({threads} thread): {secs:.2} s, {:.0} steps/s, final loss {:.4}, train acc {:.3}",
            steps as f64 / secs,
            out.history.last().map_or(f64::NAN, |h| h.loss),
            out.train_accuracy
        );
        ours.push(secs);
    }

    let dir = tempfile::tempdir()?;
    let (xp, yp) = (dir.path().join("x.f32"), dir.path().join("y.u32"));
    write_raw(
        &xp,
        &data
            .x
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<_>>(),
    )?;
    write_raw(
        &yp,
        &data
            .y
            .iter()
            .flat_map(|&v| (v as u32).to_le_bytes())
            .collect::<Vec<_>>(),
    )?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../benches/train_torch.py");
    for threads in [1, 2] {
        let output = Command::new("python3")
            .arg(script)
            .args(["--x", &xp.to_string_lossy(), "--y", &yp.to_string_lossy()])
            .args([
                "--n",
                &N.to_string(),
                "--dim",
                &DIM.to_string(),
                "--classes",
                &K.to_string(),
            ])
            .args([
                "--depth",
                &depth.to_string(),
                "--epochs",
                &epochs.to_string(),
            ])
            .args(["--threads", &threads.to_string()])
            .output()?;
        if !output.status.success() {
            eprintln!(
                "torch baseline failed: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            continue;
        }
        let line = String::from_utf8_lossy(&output.stdout);
        let secs: f64 = line
            .split("\"seconds\": ")
            .nth(1)
            .and_then(|s| s.split(',').next())
            .and_then(|s| s.trim().parse().ok())
            .ok_or("could not parse the torch output")?;
        println!(
            "pytorch CPU ({threads} thread): {secs:.2} s  {}",
            line.trim()
        );
        println!(
            "  speed-up vs torch {threads} thread: ours(1 thread) {:.2}x, ours(2 threads) {:.2}x",
            secs / ours[0],
            secs / ours[1]
        );
    }
    Ok(())
}
