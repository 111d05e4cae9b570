//! One training step of the GFNN: train-mode forward, softmax cross-entropy and the fused
//! backward pass, then the optimiser update.

use super::kernels::{bn_backward, column_sums, relu_backward};
use super::linalg::{matmul_d_w, matmul_dt_a};
use super::model::{FnnModel, LayerCache, Scratch};
use crate::engine::{Batch, StepResult};
use crate::error::TrainError;
use crate::ops::batchnorm::BnUse;
use crate::ops::cross_entropy::softmax_cross_entropy;
use crate::optim::Optimizer;

impl FnnModel {
    /// One training step on a mini-batch (`x`: `B × d` row-major, `y`: labels) in train mode:
    /// forward with batch statistics (updating running statistics), cross-entropy
    /// `CrossEntropyLoss(weight = class_weights)`, backward, then `opt.update` at learning rate
    /// `lr`. Returns the loss of this forward pass (before the update) and the number of correct
    /// argmax predictions.
    ///
    /// Errors, before anything changes: [`TrainError::FeatureLength`], [`TrainError::EmptyDataset`]
    /// (no row), [`TrainError::SingletonBatch`] (one row with batch norm),
    /// [`TrainError::LabelOutOfRange`], [`TrainError::ClassLossWeights`] and
    /// [`TrainError::ParameterShape`] (`opt` made for another number of parameters than
    /// [`Self::parameter_count`]). [`TrainError::NonFiniteBatchLoss`] when the loss is NaN or
    /// infinite: parameters and optimiser are then unchanged, the BN running statistics have
    /// absorbed the batch.
    pub fn train_step(
        &mut self,
        opt: &mut Optimizer,
        x: &[f32],
        y: &[usize],
        lr: f64,
        class_weights: Option<&[f32]>,
    ) -> Result<StepResult, TrainError> {
        let batch = Batch {
            x,
            y,
            weights: class_weights,
        };
        batch.check(
            self.spec.input_dim,
            self.spec.num_classes,
            self.spec.batchnorm,
            self.params.len(),
            opt.len(),
        )?;
        self.step(opt, &batch, lr)
    }

    /// [`Self::train_step`] without the input checks (the training loop validated everything).
    pub(super) fn step(
        &mut self,
        opt: &mut Optimizer,
        batch: &Batch<'_>,
        lr: f64,
    ) -> Result<StepResult, TrainError> {
        let Batch {
            x,
            y,
            weights: class_weights,
        } = *batch;
        let rows = y.len();
        let spec = self.spec;
        let hidden = spec.depth - 1;
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.caches.resize_with(hidden, LayerCache::default);
        for layer in 0..hidden {
            let (done, rest) = scratch.caches.split_at_mut(layer);
            let input = if layer == 0 {
                x
            } else {
                &done[layer - 1].output
            };
            self.forward_hidden(
                layer,
                input,
                rows,
                &mut rest[0],
                &mut scratch.stats,
                BnUse::TrainUpdate,
            );
        }
        let last = self.slots[hidden];
        scratch.logits.resize(rows * last.fan_out, 0.0);
        let penultimate = if hidden == 0 {
            x
        } else {
            &scratch.caches[hidden - 1].output
        };
        self.linear(hidden, penultimate, rows, &mut scratch.logits);
        let (loss, correct) =
            softmax_cross_entropy(&mut scratch.logits, y, spec.num_classes, class_weights);
        if !loss.is_finite() {
            self.scratch = scratch;
            return Err(TrainError::NonFiniteBatchLoss {
                loss,
                step: opt.steps(),
                rows,
                lr,
            });
        }

        // Backward. `grad_a` holds ∂L/∂(layer output) going down.
        let max_cols = spec.width.max(spec.num_classes);
        scratch.grad_a.resize(rows * max_cols, 0.0);
        scratch.grad_b.resize(rows * max_cols, 0.0);
        let Scratch {
            caches,
            logits,
            grad_a,
            grad_b,
            ..
        } = &mut scratch;
        // Which buffer holds ∂L/∂z of the current layer: 0 = logits, 1 = grad_a, 2 = grad_b.
        let mut current = 0;
        for layer in (0..spec.depth).rev() {
            let slot = self.slots[layer];
            let (upstream, downstream) = match current {
                0 => (&mut *logits, &mut *grad_a),
                1 => (&mut *grad_a, &mut *grad_b),
                _ => (&mut *grad_b, &mut *grad_a),
            };
            let dz = &mut upstream[..rows * slot.fan_out];
            if layer < hidden {
                let cache = &caches[layer];
                if spec.relu {
                    relu_backward(dz, &cache.output);
                }
                if let Some(g) = slot.gamma {
                    let (before, after) = self.grads.split_at_mut(g + slot.fan_out);
                    let dgamma = &mut before[g..];
                    let dbeta = &mut after[..slot.fan_out];
                    let gamma = &self.params[g..g + slot.fan_out];
                    bn_backward(dz, &cache.normalized, gamma, &cache.inv_std, dgamma, dbeta);
                }
            }
            let input: &[f32] = if layer == 0 {
                x
            } else {
                &caches[layer - 1].output
            };
            let weight_grad = &mut self.grads[slot.weight..slot.bias];
            matmul_dt_a(
                weight_grad,
                dz,
                input,
                rows,
                slot.fan_out,
                slot.fan_in,
                self.threads,
            );
            column_sums(dz, &mut self.grads[slot.bias..slot.bias + slot.fan_out]);
            if layer > 0 {
                let weight = &self.params[slot.weight..slot.bias];
                let dst = &mut downstream[..rows * slot.fan_in];
                matmul_d_w(
                    dst,
                    dz,
                    weight,
                    rows,
                    slot.fan_out,
                    slot.fan_in,
                    self.threads,
                );
                current = if current == 1 { 2 } else { 1 };
            }
        }
        self.scratch = scratch;
        opt.update(&mut self.params, &self.grads, lr);
        Ok(StepResult { loss, correct })
    }
}
