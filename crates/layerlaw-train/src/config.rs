//! Datasets, architectures and training configuration, with validation.

use crate::error::TrainError;
use serde::Serialize;

/// A labelled dataset of plain `f32` images (or vectors) in row-major order.
///
/// Example `i` occupies `x[i·d .. (i+1)·d]` with $d = c·h·w$; the FNN sees it flattened, the CNNs as a
/// `c × h × w` image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dataset {
    /// Features, `n × (c·h·w)` row-major.
    pub x: Vec<f32>,
    /// Labels in `0..num_classes`.
    pub y: Vec<usize>,
    /// Number of examples.
    pub n: usize,
    /// `[c, h, w]`; a plain vector of dimension `d` is `[1, 1, d]`.
    pub shape: [usize; 3],
    /// Number of classes $K$.
    pub num_classes: usize,
}

impl Dataset {
    /// Input dimension $d = c·h·w$.
    pub fn dim(&self) -> usize {
        self.shape.iter().product()
    }

    /// Row `i` of `x`.
    pub fn row(&self, i: usize) -> &[f32] {
        let d = self.dim();
        &self.x[i * d..(i + 1) * d]
    }

    /// Checks lengths, labels and finiteness; `name` labels errors ("train" / "test").
    pub fn validate(&self, name: &'static str) -> Result<(), TrainError> {
        if self.n == 0 {
            return Err(TrainError::EmptyDataset { dataset: name });
        }
        let dim = self.dim();
        if dim == 0 {
            return Err(TrainError::Shape {
                reason: format!(
                    "dataset `{name}` has a zero dimension in shape {:?}",
                    self.shape
                ),
            });
        }
        if self.num_classes < 2 {
            return Err(TrainError::Shape {
                reason: format!(
                    "dataset `{name}` has num_classes = {} (< 2)",
                    self.num_classes
                ),
            });
        }
        if self.x.len() != self.n * dim {
            return Err(TrainError::FeatureLength {
                dataset: name,
                n: self.n,
                dim,
                expected: self.n * dim,
                actual: self.x.len(),
            });
        }
        if self.y.len() != self.n {
            return Err(TrainError::LabelCount {
                dataset: name,
                n: self.n,
                actual: self.y.len(),
            });
        }
        if let Some((row, &label)) = self
            .y
            .iter()
            .enumerate()
            .find(|(_, &l)| l >= self.num_classes)
        {
            return Err(TrainError::LabelOutOfRange {
                dataset: name,
                row,
                label,
                num_classes: self.num_classes,
            });
        }
        if let Some(pos) = self.x.iter().position(|v| !v.is_finite()) {
            return Err(TrainError::NonFiniteInput {
                dataset: name,
                row: pos / dim,
                column: pos % dim,
            });
        }
        Ok(())
    }
}

/// Network architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Architecture {
    /// He & Su's GFNN (`docs/definitions.md`, "GFNN architecture"): `Linear(d,h) → BN1d → ReLU`,
    /// then `(depth−2) × [Linear(h,h) → BN1d → ReLU]`, then `Linear(h,K)`. `batchnorm: false` /
    /// `relu: false` give the paper's negative controls (Linear+ReLU, Linear+BN).
    Fnn {
        /// Hidden width $h$.
        width: usize,
        /// Number of `Linear` layers including the classifier ($\ge 2$).
        depth: usize,
        /// Use `BatchNorm1d` after every hidden `Linear`.
        batchnorm: bool,
        /// Use ReLU after every hidden block.
        relu: bool,
    },
    /// VGG11 in the kuangliu/pytorch-cifar style with the LPM code's fc head
    /// (`docs/definitions.md`, "VGG11 and ResNet18").
    Vgg11,
    /// ResNet18 (BasicBlock [2,2,2,2]) in the kuangliu/pytorch-cifar style
    /// (`docs/definitions.md`, "VGG11 and ResNet18").
    ResNet18,
}

/// Optimiser, with PyTorch semantics (coupled L2 weight decay on every parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum OptimizerKind {
    /// `torch.optim.SGD(lr, weight_decay)`: $\theta \leftarrow \theta - \eta (g + \lambda\theta)$.
    Sgd,
    /// `torch.optim.SGD(lr, momentum, weight_decay)`, dampening 0, no Nesterov:
    /// $b \leftarrow \mu b + (g + \lambda\theta)$ (first step $b = g + \lambda\theta$), $\theta \leftarrow \theta - \eta b$.
    Momentum,
    /// `torch.optim.Adam(lr, weight_decay)`, betas (0.9, 0.999), eps $10^{-8}$, bias correction.
    Adam,
}

/// Where the CNNs run. The FNN is hand-written on CPU `gemm` kernels and runs on the CPU only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum Device {
    /// burn's Flex backend on the CPU (bit-identical runs for a fixed seed and thread count).
    #[default]
    Cpu,
    /// burn's wgpu runtime on Vulkan (WGSL kernels): an NVIDIA/AMD/Intel GPU, or Mesa's lavapipe
    /// (a CPU Vulkan driver) where there is none. VGG11 and ResNet18 only; needs the `gpu` cargo
    /// feature (`cargo build --release -p layerlaw-cli --features gpu`).
    Gpu,
}

impl Device {
    /// True when this build has the `gpu` feature (so [`Device::Gpu`] can be used).
    pub const GPU_BUILT: bool = cfg!(feature = "gpu");

    /// Checks that `architecture` can run on this device in this build, without touching the
    /// device: [`TrainError::GpuNotBuilt`] without the `gpu` feature, [`TrainError::GpuUnsupported`]
    /// for the FNN.
    pub fn check(self, architecture: Architecture) -> Result<(), TrainError> {
        match (self, architecture) {
            (Device::Cpu, _) => Ok(()),
            (Device::Gpu, Architecture::Fnn { .. }) => Err(TrainError::GpuUnsupported {
                architecture: "the FNN",
            }),
            (Device::Gpu, _) if !Self::GPU_BUILT => Err(TrainError::GpuNotBuilt),
            (Device::Gpu, _) => Ok(()),
        }
    }
}

/// How batch norm behaves while features are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum BnMeasureMode {
    /// Train-mode statistics of consecutive, unshuffled batches of `batch` training points (the
    /// published GFNN code's behaviour, `docs/definitions.md`, "BN measurement mode"); running
    /// statistics are NOT updated.
    Train {
        /// Measurement batch size (100 in the published GFNN code).
        batch: usize,
    },
    /// Eval mode: running statistics.
    Eval,
}

impl Default for BnMeasureMode {
    fn default() -> Self {
        BnMeasureMode::Train { batch: 100 }
    }
}

/// A full training configuration. Defaults follow the papers' published code
/// (`docs/definitions.md`, "GFNN training" and "Deep-net training").
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainConfig {
    /// The network.
    pub architecture: Architecture,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// Initial learning rate $\eta$; ÷10 from epoch $\lfloor E/3 \rfloor$, ÷100 from $\lfloor 2E/3 \rfloor$.
    pub lr: f64,
    /// Momentum $\mu$ (used by [`OptimizerKind::Momentum`]); 0.9.
    pub momentum: f64,
    /// Coupled L2 weight decay $\lambda$ on all parameters; 5e-4.
    pub weight_decay: f64,
    /// Number of epochs $E$.
    pub epochs: usize,
    /// Mini-batch size (last partial batch kept); 128.
    pub batch_size: usize,
    /// Seed of initialisation and shuffling (ChaCha8); 666.
    pub seed: u64,
    /// Also measure features every this many epochs (after epochs `k, 2k, ...`).
    pub measure_every: Option<usize>,
    /// Batch-norm mode during measurement.
    pub bn_measure: BnMeasureMode,
    /// Per-class loss weights $w_k$: loss $= \sum_i w_{y_i}\ell_i / \sum_i w_{y_i}$ per batch.
    pub class_loss_weights: Option<Vec<f32>>,
    /// Per training example: times shown per epoch (oversampling, `docs/definitions.md`,
    /// "Oversampling and weighted minibatches").
    pub sample_repeats: Option<Vec<usize>>,
    /// Worker threads (rayon pool); `None` = 1 for the FNN (deterministic and fastest at these sizes),
    /// all cores for the CNNs.
    pub threads: Option<usize>,
    /// Where the CNNs run ([`Device::Cpu`] by default; [`Device::Gpu`] needs the `gpu` feature).
    pub device: Device,
}

impl TrainConfig {
    /// The He & Su GFNN setting: width 100, depth 8 (7 hidden blocks), BN + ReLU, momentum SGD lr 0.01,
    /// weight decay 5e-4, 600 epochs, batch 128, seed 666, measurement in BN train mode (batch 100).
    pub fn fnn_default() -> Self {
        TrainConfig {
            architecture: Architecture::Fnn {
                width: 100,
                depth: 8,
                batchnorm: true,
                relu: true,
            },
            optimizer: OptimizerKind::Momentum,
            lr: 0.01,
            momentum: 0.9,
            weight_decay: 5e-4,
            epochs: 600,
            batch_size: 128,
            seed: 666,
            measure_every: None,
            bn_measure: BnMeasureMode::default(),
            class_loss_weights: None,
            sample_repeats: None,
            threads: None,
            device: Device::Cpu,
        }
    }

    /// The Fang et al. LPM deep-net setting (`docs/definitions.md`, "Deep-net training") for
    /// `architecture`: momentum SGD lr 0.1, weight decay 5e-4, 350 epochs, batch 128, seed 666,
    /// features in BN eval mode.
    pub fn cnn_default(architecture: Architecture) -> Self {
        TrainConfig {
            architecture,
            optimizer: OptimizerKind::Momentum,
            lr: 0.1,
            epochs: 350,
            bn_measure: BnMeasureMode::Eval,
            ..Self::fnn_default()
        }
    }

    /// Learning rate of epoch `epoch` (from 0): $\eta$ for $e < \lfloor E/3 \rfloor$, $\eta/10$ for
    /// $e < \lfloor 2E/3 \rfloor$, else $\eta/100$ (`docs/definitions.md`, "Learning-rate
    /// schedule").
    pub fn lr_at(&self, epoch: usize) -> f64 {
        if epoch < self.epochs / 3 {
            self.lr
        } else if epoch < 2 * self.epochs / 3 {
            self.lr * 0.1
        } else {
            self.lr * 0.01
        }
    }

    /// Checks every field against `data` (the training set).
    pub fn validate(&self, data: &Dataset) -> Result<(), TrainError> {
        data.validate("train")?;
        self.device.check(self.architecture)?;
        let bad = |field: &'static str, value: String, reason: &'static str| {
            Err(TrainError::InvalidConfig {
                field,
                value,
                reason,
            })
        };
        match self.architecture {
            Architecture::Fnn { width, depth, .. } => {
                if depth < 2 {
                    return bad(
                        "depth",
                        depth.to_string(),
                        "an FNN needs at least 2 Linear layers",
                    );
                }
                if width == 0 {
                    return bad("width", "0".into(), "must be positive");
                }
            }
            Architecture::Vgg11 | Architecture::ResNet18 => {
                let [_, h, w] = data.shape;
                if h != 32 || w != 32 {
                    return Err(TrainError::Shape {
                        reason: format!("the CNNs expect 32×32 images, got {h}×{w}"),
                    });
                }
            }
        }
        if self.epochs == 0 {
            return bad("epochs", "0".into(), "must be positive");
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", self.lr.to_string(), "must be finite and > 0");
        }
        if !(self.momentum.is_finite() && (0.0..1.0).contains(&self.momentum)) {
            return bad("momentum", self.momentum.to_string(), "must be in [0, 1)");
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad(
                "weight_decay",
                self.weight_decay.to_string(),
                "must be finite and >= 0",
            );
        }
        if self.batch_size == 0 {
            return bad("batch_size", "0".into(), "must be positive");
        }
        if self.measure_every == Some(0) {
            return bad("measure_every", "0".into(), "must be positive");
        }
        if let BnMeasureMode::Train { batch: 0 } = self.bn_measure {
            return bad("bn_measure.batch", "0".into(), "must be positive");
        }
        if self.threads == Some(0) {
            return bad("threads", "0".into(), "must be positive");
        }
        if let Some(w) = &self.class_loss_weights {
            check_class_weights(w, data.num_classes)?;
        }
        if let Some(r) = &self.sample_repeats {
            if r.len() != data.n {
                return Err(TrainError::SampleRepeats {
                    reason: "length differs from n",
                    row: None,
                });
            }
            if let Some(i) = r.iter().position(|&v| v == 0) {
                return Err(TrainError::SampleRepeats {
                    reason: "entry is 0",
                    row: Some(i),
                });
            }
        }
        let uses_bn = match self.architecture {
            Architecture::Fnn { batchnorm, .. } => batchnorm,
            _ => true,
        };
        let epoch_len = crate::plan::epoch_len(data.n, self.sample_repeats.as_deref());
        if uses_bn && epoch_len % self.batch_size == 1 {
            return Err(TrainError::SingletonBatch {
                epoch_len,
                batch_size: self.batch_size,
            });
        }
        Ok(())
    }
}

/// Checks per-class loss weights for `num_classes` classes: one per class, finite and $\ge 0$, not
/// all zero. Errors: [`TrainError::ClassLossWeights`] naming the class at fault, if any.
pub(crate) fn check_class_weights(weights: &[f32], num_classes: usize) -> Result<(), TrainError> {
    if weights.len() != num_classes {
        return Err(TrainError::ClassLossWeights {
            reason: "length differs from num_classes",
            class: None,
        });
    }
    if let Some(k) = weights.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
        return Err(TrainError::ClassLossWeights {
            reason: "weight is negative or not finite",
            class: Some(k),
        });
    }
    if weights.iter().all(|&v| v == 0.0) {
        return Err(TrainError::ClassLossWeights {
            reason: "all weights are zero",
            class: None,
        });
    }
    Ok(())
}
