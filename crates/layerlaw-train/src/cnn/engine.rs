//! The CNN engine of the training loop: a [`CnnModel`] with its optimiser.

use super::model::CnnModel;
use crate::config::{BnMeasureMode, Dataset, TrainConfig};
use crate::engine::{Batch, Classifier, Engine, StepResult};
use crate::error::TrainError;
use crate::ops::batchnorm::BnUse;
use crate::optim::Optimizer;
use crate::report::LayerActivations;

/// Chunk size of eval-mode inference.
const EVAL_CHUNK: usize = 256;

/// [`CnnModel`] with its optimiser.
pub(crate) struct CnnEngine {
    model: CnnModel,
    opt: Optimizer,
}

impl CnnEngine {
    /// `cfg.architecture` (VGG11 or ResNet18) for the images of `data`, initialised from
    /// `cfg.seed`, on `cfg.device`, with a fresh optimiser of `cfg`.
    pub(crate) fn new(cfg: &TrainConfig, data: &Dataset) -> Result<Self, TrainError> {
        let mut model = CnnModel::new(cfg.architecture, data.shape, data.num_classes, cfg.seed)?;
        model.set_device(cfg.device)?;
        let opt = Optimizer::new(
            cfg.optimizer,
            cfg.momentum,
            cfg.weight_decay,
            model.parameter_count(),
        );
        Ok(CnnEngine { model, opt })
    }
}

impl Engine for CnnEngine {
    fn train_step(&mut self, batch: &Batch<'_>, lr: f64) -> Result<StepResult, TrainError> {
        self.model.step(&mut self.opt, batch, lr)
    }

    fn features(&mut self, x: &[f32], n: usize, mode: BnMeasureMode) -> LayerActivations {
        let (bn, chunk) = BnUse::for_measurement(mode, EVAL_CHUNK);
        let (_, data) = self.model.infer(x, n, bn, chunk, true);
        let layers = self.model.net.feature_layers();
        LayerActivations {
            names: layers.iter().map(|(s, _)| s.clone()).collect(),
            dims: layers.iter().map(|&(_, d)| d).collect(),
            data,
        }
    }

    fn logits(&mut self, x: &[f32], n: usize) -> Vec<f32> {
        self.model.infer(x, n, BnUse::Eval, EVAL_CHUNK, false).0
    }

    fn classifier(&self) -> Classifier {
        let c = self.model.net.classifier();
        Classifier {
            weight: self.model.store.slot(c.weight).to_vec(),
            bias: self.model.store.slot(c.bias).to_vec(),
            fan_in: c.fan_in,
        }
    }
}
