//! The FNN engine of the training loop: an [`FnnModel`] with its optimiser.

use super::model::FnnModel;
use super::spec::FnnSpec;
use crate::config::{BnMeasureMode, TrainConfig};
use crate::engine::{Batch, Classifier, Engine, StepResult};
use crate::error::TrainError;
use crate::optim::Optimizer;
use crate::report::LayerActivations;

/// [`FnnModel`] with its optimiser.
pub(crate) struct FnnEngine {
    model: FnnModel,
    opt: Optimizer,
}

impl FnnEngine {
    /// The GFNN of `spec` initialised from `cfg.seed`, using `threads` threads for large matrix
    /// products, with a fresh optimiser of `cfg`.
    pub(crate) fn new(
        cfg: &TrainConfig,
        spec: FnnSpec,
        threads: usize,
    ) -> Result<Self, TrainError> {
        let mut model = FnnModel::new(spec, cfg.seed)?;
        model.set_threads(threads);
        let opt = Optimizer::new(
            cfg.optimizer,
            cfg.momentum,
            cfg.weight_decay,
            model.parameter_count(),
        );
        Ok(FnnEngine { model, opt })
    }
}

impl Engine for FnnEngine {
    fn train_step(&mut self, batch: &Batch<'_>, lr: f64) -> Result<StepResult, TrainError> {
        self.model.step(&mut self.opt, batch, lr)
    }

    fn features(&mut self, x: &[f32], n: usize, mode: BnMeasureMode) -> LayerActivations {
        self.model.forward_all(x, n, mode)
    }

    fn logits(&mut self, x: &[f32], n: usize) -> Vec<f32> {
        self.model.logits(x, n)
    }

    fn classifier(&self) -> Classifier {
        let (weight, bias) = self.model.classifier();
        Classifier {
            weight,
            bias,
            fan_in: self.model.spec().width,
        }
    }
}
