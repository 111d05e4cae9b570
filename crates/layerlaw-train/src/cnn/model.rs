//! [`CnnModel`]: a VGG11 or ResNet18 with host-side parameters, stepped one mini-batch at a time.

use super::device::burn_device;
use super::forward::{apply_updates, host, Forward};
use super::params::ParamStore;
use super::{resnet, vgg, Net};
use crate::config::{Architecture, Device as Compute};
use crate::engine::{Batch, StepResult};
use crate::error::TrainError;
use crate::ops::batchnorm::BnUse;
use crate::ops::cross_entropy::{softmax_cross_entropy, weighted_targets};
use crate::optim::Optimizer;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// A VGG11 or ResNet18 with host-side parameters, stepped one mini-batch at a time.
///
/// This is the model [`crate::train`] uses for the CNNs, exposed so that single optimiser steps can
/// be checked against an independent implementation (PyTorch, see `tests/cnn_reference_torch.rs`).
/// Parameters are listed in PyTorch's `parameters()` (= `named_parameters()`) order of the
/// kuangliu-style modules (`docs/definitions.md`, "VGG11 and ResNet18"), with PyTorch's shapes; BN
/// running statistics in module order.
///
/// ```no_run
/// use layerlaw_train::{Architecture, CnnModel, Optimizer, OptimizerKind};
/// let mut model = CnnModel::new(Architecture::ResNet18, [1, 32, 32], 10, 666)?;
/// // Overwrite every parameter by a formula of (tensor index, shape, element index).
/// model.set_parameters_with(|t, shape, j| {
///     if shape.len() == 1 { 1.0 } else { 0.01 * ((t + j) % 7) as f32 }
/// });
/// let mut opt = Optimizer::new(OptimizerKind::Momentum, 0.9, 5e-4, model.parameter_count());
/// let x = vec![0.5f32; 4 * 32 * 32];
/// let step = model.train_step(&mut opt, &x, &[0, 1, 2, 3], 0.1, None)?;
/// println!("loss {}", step.loss);
/// # Ok::<(), layerlaw_train::TrainError>(())
/// ```
pub struct CnnModel {
    pub(super) net: Box<dyn Net>,
    pub(super) store: ParamStore,
    grads: Vec<f32>,
    shape: [usize; 3],
    num_classes: usize,
    architecture: Architecture,
    compute: Compute,
    device: Device,
}

impl std::fmt::Debug for CnnModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CnnModel")
            .field("architecture", &self.architecture)
            .field("shape", &self.shape)
            .field("num_classes", &self.num_classes)
            .field("parameters", &self.store.values.len())
            .field("device", &self.compute)
            .finish_non_exhaustive()
    }
}

impl CnnModel {
    /// A network for `[c, 32, 32]` inputs and `num_classes` classes with PyTorch's default
    /// initialisation (drawn with `ChaCha8Rng` from `seed`, as [`crate::train`] does), on the CPU.
    ///
    /// Errors: [`TrainError::InvalidConfig`] for an FNN architecture, [`TrainError::Shape`] for
    /// inputs other than 32×32, zero channels or fewer than 2 classes.
    pub fn new(
        architecture: Architecture,
        shape: [usize; 3],
        num_classes: usize,
        seed: u64,
    ) -> Result<Self, TrainError> {
        let [c, h, w] = shape;
        if c == 0 || h != 32 || w != 32 {
            return Err(TrainError::Shape {
                reason: format!("the CNNs expect c×32×32 images with c ≥ 1, got {shape:?}"),
            });
        }
        if num_classes < 2 {
            return Err(TrainError::Shape {
                reason: format!("num_classes = {num_classes} (< 2)"),
            });
        }
        let mut store = ParamStore::default();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let net: Box<dyn Net> = match architecture {
            Architecture::Vgg11 => Box::new(vgg::Vgg11::new(&mut store, &mut rng, c, num_classes)),
            Architecture::ResNet18 => {
                Box::new(resnet::ResNet18::new(&mut store, &mut rng, c, num_classes))
            }
            Architecture::Fnn { .. } => {
                return Err(TrainError::InvalidConfig {
                    field: "architecture",
                    value: "Fnn".into(),
                    reason: "not a convolutional network",
                })
            }
        };
        let grads = vec![0.0; store.values.len()];
        Ok(CnnModel {
            net,
            store,
            grads,
            shape,
            num_classes,
            architecture,
            compute: Compute::Cpu,
            device: Device::flex(),
        })
    }

    /// Runs the forward and backward passes on `device` from now on (parameters, running
    /// statistics and the optimiser stay on the host either way).
    ///
    /// Errors: [`TrainError::GpuNotBuilt`] without the `gpu` feature, [`TrainError::GpuInit`] when
    /// the GPU cannot be opened.
    pub fn set_device(&mut self, device: Compute) -> Result<(), TrainError> {
        device.check(self.architecture)?;
        self.device = burn_device(device)?;
        self.compute = device;
        Ok(())
    }

    /// The device the passes run on.
    pub fn device(&self) -> Compute {
        self.compute
    }

    /// Total number of trainable parameters.
    pub fn parameter_count(&self) -> usize {
        self.store.values.len()
    }

    /// PyTorch shape of every parameter tensor, in `parameters()` order.
    pub fn parameter_shapes(&self) -> Vec<Vec<usize>> {
        self.store.shapes.clone()
    }

    /// Every parameter tensor (flattened row-major), in `parameters()` order.
    pub fn parameters(&self) -> Vec<Vec<f32>> {
        (0..self.store.slots.len())
            .map(|i| self.store.slot(i).to_vec())
            .collect()
    }

    /// Overwrites every parameter: element `j` (row-major) of tensor `t` (in `parameters()` order,
    /// PyTorch shape `shape`) becomes `value(t, shape, j)`. Running statistics are left as they are.
    pub fn set_parameters_with(&mut self, mut value: impl FnMut(usize, &[usize], usize) -> f32) {
        let ParamStore {
            values,
            slots,
            shapes,
            ..
        } = &mut self.store;
        for (t, (slot, shape)) in slots.iter().zip(shapes.iter()).enumerate() {
            for (j, v) in values[slot.offset..slot.offset + slot.len]
                .iter_mut()
                .enumerate()
            {
                *v = value(t, shape, j);
            }
        }
    }

    /// BN running statistics `(running_mean, running_var)`, one pair per BN layer in module order.
    pub fn running_statistics(&self) -> &[(Vec<f32>, Vec<f32>)] {
        &self.store.running
    }

    /// One optimiser step on the mini-batch `x` (`rows × c·32·32`, row-major) with labels `y`, in
    /// train mode (batch statistics; running statistics updated with momentum 0.1 and the unbiased
    /// batch variance), loss `CrossEntropyLoss(weight = weights)`. Returns the loss of this forward
    /// pass (before the update) and the number of correct argmax predictions.
    ///
    /// Errors, before anything changes: [`TrainError::FeatureLength`], [`TrainError::EmptyDataset`]
    /// (no row), [`TrainError::SingletonBatch`] (one row), [`TrainError::LabelOutOfRange`],
    /// [`TrainError::ClassLossWeights`], [`TrainError::ParameterShape`] (`opt` made for another
    /// number of parameters) and [`TrainError::NonFiniteBatchLoss`] (the loss is NaN or infinite;
    /// nothing is updated).
    pub fn train_step(
        &mut self,
        opt: &mut Optimizer,
        x: &[f32],
        y: &[usize],
        lr: f64,
        weights: Option<&[f32]>,
    ) -> Result<StepResult, TrainError> {
        let batch = Batch { x, y, weights };
        batch.check(
            self.shape.iter().product(),
            self.num_classes,
            true,
            self.store.values.len(),
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
        let Batch { x, y, weights } = *batch;
        let rows = y.len();
        let k = self.num_classes;
        let device = self.device.clone().autodiff();
        let mut f = Forward::new(&self.store, device.clone(), true, BnUse::TrainUpdate);
        let input = f.input(x, self.batch_shape(rows));
        let (logits, _) = self.net.forward(&mut f, input);
        // Loss value and accuracy on the host (f64); the graph differentiates the same loss.
        let mut dlogits = host(logits.clone().detach());
        let (loss, correct) = softmax_cross_entropy(&mut dlogits, y, k, weights);
        if !loss.is_finite() {
            return Err(TrainError::NonFiniteBatchLoss {
                loss,
                step: opt.steps(),
                rows,
                lr,
            });
        }
        let target = weighted_targets(y, k, weights);
        let target = Tensor::<2>::from_data(TensorData::new(target, [rows, k]), &device);
        // L = −Σ_i (w_{y_i}/Σw) log softmax(z_i)_{y_i}, i.e. torch's weighted-mean cross-entropy.
        let objective = (log_softmax(logits, 1) * target).sum().neg();
        let grads = objective.backward();
        for (slot, leaf) in self.store.slots.iter().zip(&f.leaves) {
            let dst = &mut self.grads[slot.offset..slot.offset + slot.len];
            match leaf.grad(&grads) {
                Some(g) => dst.copy_from_slice(&host(g)),
                None => dst.fill(0.0),
            }
        }
        let updates = f.take_updates();
        drop(f);
        apply_updates(&mut self.store, updates);
        opt.update(&mut self.store.values, &self.grads, lr);
        Ok(StepResult { loss, correct })
    }

    fn batch_shape(&self, rows: usize) -> [usize; 4] {
        [rows, self.shape[0], self.shape[1], self.shape[2]]
    }

    /// Eval/frozen forward of `x` in chunks; returns host logits and features.
    pub(super) fn infer(
        &self,
        x: &[f32],
        n: usize,
        bn: BnUse,
        chunk: usize,
        want_features: bool,
    ) -> (Vec<f32>, Vec<Vec<f32>>) {
        let dim: usize = self.shape.iter().product();
        let layers = self.net.feature_layers();
        let mut logits = Vec::with_capacity(n * self.num_classes);
        let mut feats: Vec<Vec<f32>> = layers
            .iter()
            .map(|(_, d)| Vec::with_capacity(if want_features { n * d } else { 0 }))
            .collect();
        for start in (0..n).step_by(chunk) {
            let rows = chunk.min(n - start);
            let mut f = Forward::new(&self.store, self.device.clone(), false, bn);
            let input = f.input(
                &x[start * dim..(start + rows) * dim],
                self.batch_shape(rows),
            );
            let (out, captured) = self.net.forward(&mut f, input);
            logits.extend(host(out));
            if want_features {
                for (dst, t) in feats.iter_mut().zip(captured) {
                    dst.extend(host(t));
                }
            }
        }
        (logits, feats)
    }
}
