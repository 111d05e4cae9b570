//! Plain, serialisable training reports and the observer hook.

use crate::error::TrainError;
use layerlaw_geometry::NamedLayer;
use serde::Serialize;

/// Per-layer activations of a set of points (training points in dataset order), owned.
///
/// [`LayerActivations::views`] lends them as geometry's [`NamedLayer`]s, the view every statistic
/// of `layerlaw-geometry` takes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerActivations {
    /// Layer names: `"input"`, `"block1"`, ... (see each architecture's documentation).
    pub names: Vec<String>,
    /// Feature dimension of each layer.
    pub dims: Vec<usize>,
    /// `n × dims[l]` row-major features of layer `l`.
    pub data: Vec<Vec<f32>>,
}

impl LayerActivations {
    /// Number of layers.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no layer is present.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Every layer as a named `n × dims[l]` view (f32, row-major), in order, borrowing `self`.
    ///
    /// Errors: [`TrainError::LayerTable`] when `names`, `dims` and `data` differ in length,
    /// [`TrainError::LayerView`] for a zero dimension or a buffer that is not a whole number of
    /// rows, [`TrainError::LayerRows`] when two layers have different numbers of rows.
    pub fn views(&self) -> Result<Vec<NamedLayer<'_>>, TrainError> {
        let (names, dims, data) = (self.names.len(), self.dims.len(), self.data.len());
        if names != dims || names != data {
            return Err(TrainError::LayerTable { names, dims, data });
        }
        let mut views: Vec<NamedLayer<'_>> = Vec::with_capacity(names);
        for ((name, &dim), buffer) in self.names.iter().zip(&self.dims).zip(&self.data) {
            let view = NamedLayer::row_major_f32(name, buffer, dim).map_err(|source| {
                TrainError::LayerView {
                    layer: name.clone(),
                    source,
                }
            })?;
            if let Some(first) = views.first() {
                if view.nrows() != first.nrows() {
                    return Err(TrainError::LayerRows {
                        layer: name.clone(),
                        rows: view.nrows(),
                        first: first.name.to_string(),
                        expected: first.nrows(),
                    });
                }
            }
            views.push(view);
        }
        Ok(views)
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
    fn on_measure(&mut self, _epoch: usize, _features: &LayerActivations) {}
    /// Whether [`TrainObserver::on_test_measure`] should hear the test set's features at the
    /// end of training (default: no, so they are not computed).
    fn wants_test_features(&self) -> bool {
        false
    }
    /// Called once at the end of training, after the last [`TrainObserver::on_measure`], with
    /// the features of the test set (in dataset order, measured as the training features), when
    /// a test set was given and [`TrainObserver::wants_test_features`] says so.
    fn on_test_measure(&mut self, _features: &LayerActivations) {}
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
    pub features: LayerActivations,
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

#[cfg(test)]
mod tests {
    use super::*;
    use layerlaw_geometry::{GeometryError, LayerFeatures};

    fn two_layers() -> LayerActivations {
        LayerActivations {
            names: vec!["input".into(), "block1".into()],
            dims: vec![3, 2],
            data: vec![
                vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                vec![7.0, 8.0, 9.0, 10.0],
            ],
        }
    }

    #[test]
    fn views_borrow_every_layer_row_major() {
        let acts = two_layers();
        let views = acts.views().expect("consistent layers");
        assert_eq!(views.len(), 2);
        let shapes: Vec<_> = views
            .iter()
            .map(|v| (v.name, v.nrows(), v.ncols()))
            .collect();
        assert_eq!(shapes, vec![("input", 2, 3), ("block1", 2, 2)]);
        match views[0].features {
            LayerFeatures::F32(x) => assert_eq!((x[(0, 2)], x[(1, 0)]), (3.0, 4.0)),
            LayerFeatures::F64(_) => panic!("the activations are f32"),
        }
        match views[1].features {
            LayerFeatures::F32(x) => assert_eq!(x[(1, 1)], 10.0),
            LayerFeatures::F64(_) => panic!("the activations are f32"),
        }
    }

    #[test]
    fn inconsistent_layers_are_named() {
        let mut table = two_layers();
        table.dims.pop();
        assert_eq!(
            table.views().unwrap_err(),
            TrainError::LayerTable {
                names: 2,
                dims: 1,
                data: 2
            }
        );
        let mut ragged = two_layers();
        ragged.data[1].pop();
        assert_eq!(
            ragged.views().unwrap_err(),
            TrainError::LayerView {
                layer: "block1".into(),
                source: GeometryError::RaggedRows {
                    layer: "block1".into(),
                    len: 3,
                    dim: 2
                }
            }
        );
        let mut rows = two_layers();
        rows.data[1].extend([11.0, 12.0]);
        assert_eq!(
            rows.views().unwrap_err(),
            TrainError::LayerRows {
                layer: "block1".into(),
                rows: 3,
                first: "input".into(),
                expected: 2
            }
        );
        let mut zero = two_layers();
        zero.dims[0] = 0;
        let err = zero.views().unwrap_err();
        assert!(err.to_string().contains("`input`"), "{err}");
    }
}
