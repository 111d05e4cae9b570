//! Convolutional networks (VGG11, ResNet18) on burn with autodiff: the `Flex` CPU backend, or with
//! the `gpu` feature burn's wgpu runtime on Vulkan ([`crate::Device`]).
//!
//! Parameters, BN running statistics and the optimiser state stay on the host ([`ParamStore`],
//! [`Optimizer`]); each step uploads the parameters as flat leaf tensors, runs forward and backward
//! with burn, and downloads the flat gradients. This keeps PyTorch's optimiser and BN
//! running-statistics semantics exact and keeps every burn type private to this module.
//!
//! Measured features (training points, dataset order): VGG11 `conv_out` (512, the flattened conv
//! stack output), `fc1` (4096), `penultimate` (fc2 after BN+ReLU, 4096); ResNet18 `layer1_gap`,
//! `layer2_gap`, `layer3_gap` (global average of each stage's output: 64, 128, 256) and `penultimate`
//! (512, after the 4×4 average pool). The classifier input is always the last layer.

mod forward;
mod params;
mod resnet;
mod vgg;

use crate::config::{Architecture, BnMeasureMode, Dataset, Device as Compute, TrainConfig};
use crate::error::TrainError;
use crate::fnn::kernels::softmax_cross_entropy;
use crate::fnn::StepResult;
use crate::optim::Optimizer;
use crate::report::LayerFeatures;
use crate::train::Engine;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use forward::{apply_updates, host, BnUse, Forward};
use params::{Linear, ParamStore};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Chunk size of eval-mode inference.
const EVAL_CHUNK: usize = 256;

/// A network description: its forward pass over a [`Forward`] context.
pub(crate) trait Net: Send {
    /// Names and dimensions of the captured feature layers (the last is the classifier input).
    fn feature_layers(&self) -> Vec<(String, usize)>;
    /// The classifier layer.
    fn classifier(&self) -> Linear;
    /// Logits `[b, K]` and the captured features (one `[b, dim]` tensor per feature layer).
    fn forward(&self, f: &mut Forward, x: Tensor<4>) -> (Tensor<2>, Vec<Tensor<2>>);
}

/// Builds the CNN engine for `cfg.architecture` (VGG11 or ResNet18).
pub(crate) fn build_engine(
    cfg: &TrainConfig,
    data: &Dataset,
    _threads: usize,
) -> Result<Box<dyn Engine>, TrainError> {
    let mut model = CnnModel::new(cfg.architecture, data.shape, data.num_classes, cfg.seed)?;
    model.set_device(cfg.device)?;
    let opt = Optimizer::new(
        cfg.optimizer,
        cfg.momentum,
        cfg.weight_decay,
        model.parameter_count(),
    );
    Ok(Box::new(CnnEngine { model, opt }))
}

/// Number of trainable parameters of a CNN architecture for `c_in` input channels and `K` classes.
pub fn cnn_parameter_count(
    architecture: Architecture,
    c_in: usize,
    num_classes: usize,
) -> Option<usize> {
    let mut store = ParamStore::default();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    match architecture {
        Architecture::Vgg11 => {
            vgg::Vgg11::new(&mut store, &mut rng, c_in, num_classes);
        }
        Architecture::ResNet18 => {
            resnet::ResNet18::new(&mut store, &mut rng, c_in, num_classes);
        }
        Architecture::Fnn { .. } => return None,
    }
    Some(store.values.len())
}

/// The burn device behind `device`; the GPU is initialised once per process (wgpu on Vulkan).
fn burn_device(device: Compute) -> Result<Device, TrainError> {
    match device {
        Compute::Cpu => Ok(Device::flex()),
        Compute::Gpu => gpu::device(),
    }
}

/// Name of the GPU adapter [`crate::Device::Gpu`] runs on (e.g. `NVIDIA H100 80GB HBM3`, or
/// `llvmpipe (LLVM 15.0.6, 256 bits)` for Mesa's lavapipe), initialising the GPU if needed.
///
/// Errors: [`TrainError::GpuNotBuilt`] without the `gpu` feature, [`TrainError::GpuInit`] when no
/// Vulkan adapter can be opened.
pub fn gpu_adapter() -> Result<String, TrainError> {
    let device = gpu::device()?;
    Ok(gpu::adapter_name(&device))
}

#[cfg(feature = "gpu")]
mod gpu {
    use super::Device;
    use crate::error::TrainError;
    use burn::tensor::wgpu::WgpuBackend;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::OnceLock;

    static DEVICE: OnceLock<Result<Device, String>> = OnceLock::new();

    /// The process-wide wgpu device on Vulkan (wgpu's default adapter: a discrete GPU first).
    pub(super) fn device() -> Result<Device, TrainError> {
        DEVICE
            .get_or_init(|| {
                let init = || {
                    Device::wgpu_options()
                        .graphics_api(WgpuBackend::Vulkan)
                        .init()
                        .map_err(|e| e.to_string())
                };
                // wgpu reports most failures as errors, but a broken driver can also panic.
                catch_unwind(AssertUnwindSafe(init)).unwrap_or_else(|panic| {
                    Err(panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "the Vulkan runtime panicked".into()))
                })
            })
            .clone()
            .map_err(|reason| TrainError::GpuInit { reason })
    }

    pub(super) fn adapter_name(device: &Device) -> String {
        device
            .identity()
            .map_or_else(|| "unknown adapter".into(), |id| id.name)
    }
}

#[cfg(not(feature = "gpu"))]
mod gpu {
    use super::Device;
    use crate::error::TrainError;

    pub(super) fn device() -> Result<Device, TrainError> {
        Err(TrainError::GpuNotBuilt)
    }

    pub(super) fn adapter_name(_: &Device) -> String {
        String::new()
    }
}

/// A VGG11 or ResNet18 with host-side parameters, stepped one mini-batch at a time.
///
/// This is the model [`crate::train`] uses for the CNNs, exposed so that single optimiser steps can
/// be checked against an independent implementation (PyTorch, see `tests/cnn_reference_torch.rs`).
/// Parameters are listed in PyTorch's `parameters()` (= `named_parameters()`) order of the
/// kuangliu-style modules of papers.md §2.6, with PyTorch's shapes; BN running statistics in
/// module order.
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
    net: Box<dyn Net>,
    store: ParamStore,
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
    /// Errors: [`TrainError::FeatureLength`], [`TrainError::SingletonBatch`] (fewer than 2 rows),
    /// [`TrainError::LabelOutOfRange`], [`TrainError::ClassLossWeights`] and
    /// [`TrainError::ParameterShape`] (`opt` made for another number of parameters).
    pub fn train_step(
        &mut self,
        opt: &mut Optimizer,
        x: &[f32],
        y: &[usize],
        lr: f64,
        weights: Option<&[f32]>,
    ) -> Result<StepResult, TrainError> {
        let rows = y.len();
        let dim: usize = self.shape.iter().product();
        if x.len() != rows * dim {
            return Err(TrainError::FeatureLength {
                dataset: "batch",
                n: rows,
                dim,
                expected: rows * dim,
                actual: x.len(),
            });
        }
        if rows < 2 {
            return Err(TrainError::SingletonBatch {
                epoch_len: rows,
                batch_size: rows,
            });
        }
        if let Some((row, &label)) = y.iter().enumerate().find(|(_, &l)| l >= self.num_classes) {
            return Err(TrainError::LabelOutOfRange {
                dataset: "batch",
                row,
                label,
                num_classes: self.num_classes,
            });
        }
        if weights.is_some_and(|w| w.len() != self.num_classes) {
            return Err(TrainError::ClassLossWeights {
                reason: "length differs from num_classes",
                class: None,
            });
        }
        if opt.len() != self.store.values.len() {
            return Err(TrainError::ParameterShape {
                index: 0,
                reason: "the optimiser was created for another number of parameters",
                expected: self.store.values.len(),
                actual: opt.len(),
            });
        }
        Ok(self.step(opt, x, y, lr, weights))
    }

    /// [`Self::train_step`] without the checks (the training loop validated everything).
    fn step(
        &mut self,
        opt: &mut Optimizer,
        x: &[f32],
        y: &[usize],
        lr: f64,
        weights: Option<&[f32]>,
    ) -> StepResult {
        let rows = y.len();
        let k = self.num_classes;
        let device = self.device.clone().autodiff();
        let mut f = Forward::new(&self.store, device.clone(), true, BnUse::TrainUpdate);
        let input = f.input(x, self.batch_shape(rows));
        let (logits, _) = self.net.forward(&mut f, input);
        // Loss value, accuracy and the per-row loss weights w_{y_i}/Σw on the host (f64).
        let mut dlogits = host(logits.clone().detach());
        let (loss, correct) = softmax_cross_entropy(&mut dlogits, y, k, weights);
        let w_of = |c: usize| weights.map_or(1.0, |w| f64::from(w[c]));
        let total: f64 = y.iter().map(|&c| w_of(c)).sum();
        let mut target = vec![0.0f32; rows * k];
        for (i, &c) in y.iter().enumerate() {
            target[i * k + c] = if total > 0.0 {
                (w_of(c) / total) as f32
            } else {
                0.0
            };
        }
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
        StepResult { loss, correct }
    }

    fn batch_shape(&self, rows: usize) -> [usize; 4] {
        [rows, self.shape[0], self.shape[1], self.shape[2]]
    }

    /// Eval/frozen forward of `x` in chunks; returns host logits and features.
    fn infer(
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

/// [`CnnModel`] with its optimiser: the CNN engine of the training loop.
struct CnnEngine {
    model: CnnModel,
    opt: Optimizer,
}

impl Engine for CnnEngine {
    fn train_step(
        &mut self,
        x: &[f32],
        y: &[usize],
        lr: f64,
        weights: Option<&[f32]>,
    ) -> StepResult {
        self.model.step(&mut self.opt, x, y, lr, weights)
    }

    fn features(&mut self, x: &[f32], n: usize, mode: BnMeasureMode) -> LayerFeatures {
        let (bn, chunk) = match mode {
            BnMeasureMode::Train { batch } => (BnUse::TrainFrozen, batch.max(1)),
            BnMeasureMode::Eval => (BnUse::Eval, EVAL_CHUNK),
        };
        let (_, data) = self.model.infer(x, n, bn, chunk, true);
        let layers = self.model.net.feature_layers();
        LayerFeatures {
            names: layers.iter().map(|(s, _)| s.clone()).collect(),
            dims: layers.iter().map(|&(_, d)| d).collect(),
            data,
        }
    }

    fn logits(&mut self, x: &[f32], n: usize) -> Vec<f32> {
        self.model.infer(x, n, BnUse::Eval, EVAL_CHUNK, false).0
    }

    fn classifier(&self) -> (Vec<f32>, Vec<f32>, usize) {
        let c = self.model.net.classifier();
        (
            self.model.store.slot(c.weight).to_vec(),
            self.model.store.slot(c.bias).to_vec(),
            c.fan_in,
        )
    }
}
