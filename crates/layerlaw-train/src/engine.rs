//! What the training loop needs from a model, and what one optimiser step takes and returns.
//!
//! Each model brings its own engine (`fnn::engine`, `cnn::engine`); the loop ([`crate::train`])
//! only sees this trait, so no framework type escapes the crate.

use crate::config::{check_class_weights, BnMeasureMode};
use crate::error::TrainError;
use crate::report::LayerActivations;
use serde::Serialize;

/// Result of one optimiser step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepResult {
    /// Batch loss (class-weighted mean cross-entropy) of the forward pass before the update.
    pub loss: f64,
    /// Rows whose logits' argmax equals the label.
    pub correct: usize,
}

/// The classifier (last Linear layer) of a trained model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Classifier {
    /// Weight $W$, `K × p` row-major.
    pub weight: Vec<f32>,
    /// Bias $b$ (length $K$).
    pub bias: Vec<f32>,
    /// Penultimate feature dimension $p$.
    pub fan_in: usize,
}

/// A model with its optimiser, as the training loop drives it (the loop validated the data and
/// the configuration, so the engines skip the per-batch checks of the models' public `train_step`).
pub(crate) trait Engine: Send {
    /// One optimiser step on a gathered mini-batch at learning rate `lr`. Errors:
    /// [`TrainError::NonFiniteBatchLoss`] (parameters and optimiser state are then left as they
    /// were).
    fn train_step(&mut self, batch: &Batch<'_>, lr: f64) -> Result<StepResult, TrainError>;
    /// Features of `n` points, without changing the model.
    fn features(&mut self, x: &[f32], n: usize, mode: BnMeasureMode) -> LayerActivations;
    /// Eval-mode logits, `n × K`.
    fn logits(&mut self, x: &[f32], n: usize) -> Vec<f32>;
    /// The classifier.
    fn classifier(&self) -> Classifier;
}

/// One mini-batch of an optimiser step.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Batch<'a> {
    /// Features, `rows × dim` row-major.
    pub x: &'a [f32],
    /// Labels (`rows` of them).
    pub y: &'a [usize],
    /// Optional class weights of the loss.
    pub weights: Option<&'a [f32]>,
}

impl Batch<'_> {
    /// Checks lengths, labels, loss weights and the optimiser against a model with `dim` inputs,
    /// `num_classes` classes and `parameters` parameters; `batchnorm` models need 2 rows or more.
    ///
    /// Errors: [`TrainError::EmptyDataset`], [`TrainError::FeatureLength`],
    /// [`TrainError::SingletonBatch`], [`TrainError::LabelOutOfRange`],
    /// [`TrainError::ClassLossWeights`] and [`TrainError::ParameterShape`], all naming the batch.
    pub fn check(
        &self,
        dim: usize,
        num_classes: usize,
        batchnorm: bool,
        parameters: usize,
        optimizer_len: usize,
    ) -> Result<(), TrainError> {
        let rows = self.y.len();
        if self.x.len() != rows * dim {
            return Err(TrainError::FeatureLength {
                dataset: "batch",
                n: rows,
                dim,
                expected: rows * dim,
                actual: self.x.len(),
            });
        }
        if rows == 0 {
            return Err(TrainError::EmptyDataset { dataset: "batch" });
        }
        if batchnorm && rows < 2 {
            return Err(TrainError::SingletonBatch {
                epoch_len: rows,
                batch_size: rows,
            });
        }
        if let Some((row, &label)) = self.y.iter().enumerate().find(|(_, &l)| l >= num_classes) {
            return Err(TrainError::LabelOutOfRange {
                dataset: "batch",
                row,
                label,
                num_classes,
            });
        }
        if let Some(w) = self.weights {
            check_class_weights(w, num_classes)?;
        }
        if optimizer_len != parameters {
            return Err(TrainError::ParameterShape {
                index: 0,
                reason: "the optimiser was created for another number of parameters",
                expected: parameters,
                actual: optimizer_len,
            });
        }
        Ok(())
    }
}
