//! Shared synthetic data for the integration tests.
#![allow(dead_code)]

use layerlaw_train::{Architecture, BnMeasureMode, Dataset, OptimizerKind, TrainConfig};

/// `n` points in `dim` dimensions, `k` classes (label `i % k`), class means on separate axes
/// (`±2`) plus deterministic pseudo-noise in [−1, 1]: separable but not trivially so.
pub fn blobs(n: usize, dim: usize, k: usize, salt: f64) -> Dataset {
    let mut x = Vec::with_capacity(n * dim);
    let y: Vec<usize> = (0..n).map(|i| i % k).collect();
    for (i, &c) in y.iter().enumerate() {
        for j in 0..dim {
            let noise = (12.9898 * (i as f64 + salt) + 78.233 * j as f64).sin() * 43758.5453;
            let noise = 2.0 * (noise - noise.floor()) - 1.0;
            let mean = if j % k == c { 2.0 } else { 0.0 };
            x.push((mean + noise) as f32);
        }
    }
    Dataset {
        x,
        y,
        n,
        shape: [1, 1, dim],
        num_classes: k,
    }
}

/// A small, fast FNN configuration.
pub fn small_fnn(epochs: usize) -> TrainConfig {
    TrainConfig {
        architecture: Architecture::Fnn {
            width: 16,
            depth: 4,
            batchnorm: true,
            relu: true,
        },
        optimizer: OptimizerKind::Momentum,
        lr: 0.05,
        epochs,
        batch_size: 16,
        bn_measure: BnMeasureMode::Train { batch: 20 },
        ..TrainConfig::fnn_default()
    }
}
