//! Plain, serialisable training reports and the observer hook.

use serde::Serialize;

/// Per-layer features of a set of points (training points in dataset order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerFeatures {
    /// Layer names: `"input"`, `"block1"`, ... (see each architecture's documentation).
    pub names: Vec<String>,
    /// Feature dimension of each layer.
    pub dims: Vec<usize>,
    /// `n × dims[l]` row-major features of layer `l`.
    pub data: Vec<Vec<f32>>,
}

impl LayerFeatures {
    /// Number of layers.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no layer is present.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// Statistics of one training epoch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpochStats {
    /// Epoch index, from 0.
    pub epoch: usize,
    /// Mean training objective over the examples shown: $\sum_b |b|\,L_b / \sum_b |b|$ with $L_b$ the
    /// (class-weighted) mean cross-entropy of batch $b$. Unlike the LPM code's logged sum over batches.
    pub loss: f64,
    /// Fraction of the examples shown whose train-mode logits had the correct argmax.
    pub train_accuracy: f64,
    /// Learning rate used in this epoch.
    pub lr: f64,
    /// Optimiser steps (mini-batches) in this epoch.
    pub steps: usize,
    /// Wall-clock seconds of the epoch (training only, no measurement).
    pub seconds: f64,
}

/// Callbacks during training. Both methods default to doing nothing.
pub trait TrainObserver {
    /// Called after every epoch.
    fn on_epoch(&mut self, _stats: &EpochStats) {}
    /// Called with the measured features after every `measure_every`-th epoch (`epoch` counts
    /// completed epochs) and once at the end (`epoch = epochs`).
    fn on_measure(&mut self, _epoch: usize, _features: &LayerFeatures) {}
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl TrainObserver for NoObserver {}

/// Result of a training run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainOutcome {
    /// Per-epoch statistics.
    pub history: Vec<EpochStats>,
    /// Final accuracy on the training set in eval mode (BN running statistics).
    pub train_accuracy: f64,
    /// Final test accuracy in eval mode, if a test set was given.
    pub test_accuracy: Option<f64>,
    /// Final per-class test accuracy (eval mode); a class without test points gets 0.
    pub test_per_class_accuracy: Option<Vec<f64>>,
    /// Features measured at the end of training (mode per `TrainConfig::bn_measure`).
    pub features: LayerFeatures,
    /// Classifier weight $W$, `K × p` row-major.
    pub classifier_weight: Vec<f32>,
    /// Classifier bias $b$ (length $K$).
    pub classifier_bias: Vec<f32>,
    /// Penultimate feature dimension $p$.
    pub penultimate_dim: usize,
    /// Total wall-clock seconds (training, measurement and evaluation).
    pub seconds: f64,
    /// Mean seconds of training per epoch.
    pub seconds_per_epoch: f64,
}
