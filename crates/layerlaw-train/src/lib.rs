//! # layerlaw-train
//!
//! Training of the classifiers used by He & Su (2023, "A law of data separation in deep learning",
//! PNAS 120(36)) and Fang, He, Long & Su (2021, "Exploring deep neural networks via layer-peeled
//! model", PNAS 118(43)), on the CPU, with access to every layer's features.
//!
//! - FNN (GFNN, `docs/definitions.md`, "GFNN architecture"): a hand-written, fused
//!   forward/backward pass over `gemm` kernels (the matrix kernels burn-flex uses), checked against
//!   PyTorch to 1e-5.
//! - VGG11 and ResNet18 (`docs/definitions.md`, "VGG11 and ResNet18"): burn 0.22
//!   (`Autodiff<Flex>`), hidden behind [`train`] and [`CnnModel`] (one step at a time, checked
//!   against PyTorch). With the `gpu` cargo feature they also run on burn's wgpu runtime on Vulkan
//!   ([`Device::Gpu`], checked against the CPU); no framework type leaves the crate either way.
//!
//! Semantics follow PyTorch exactly where it matters: default initialisation, BatchNorm
//! (biased batch variance for normalisation, unbiased for running statistics, momentum 0.1,
//! $\varepsilon = 10^{-5}$), `CrossEntropyLoss` (optionally class-weighted), SGD / momentum / Adam
//! with coupled weight decay on all parameters. Shuffling uses `ChaCha8Rng` (PyTorch's generator
//! cannot be reproduced). The public API is plain Rust: no framework type appears in it.
//!
//! Layout: the training loop (`train`) drives an `Engine` (`engine`: the trait, [`StepResult`]);
//! each model sits beside its engine (`fnn/`, `cnn/`); the batch-norm and cross-entropy semantics
//! both engines share are in `ops`; optimisers in [`Optimizer`], epoch plans in [`plan`].

mod cnn;
mod config;
mod engine;
mod error;
mod fnn;
mod ops;
mod optim;
pub mod plan;
mod report;
mod train;

pub use cnn::{cnn_parameter_count, gpu_adapter, CnnModel};
pub use config::{Architecture, BnMeasureMode, Dataset, Device, OptimizerKind, TrainConfig};
pub use engine::StepResult;
pub use error::TrainError;
pub use fnn::{FnnModel, FnnSpec};
pub use optim::{Optimizer, ADAM_BETA1, ADAM_BETA2, ADAM_EPS};
pub use plan::{epoch_len, epoch_plan, steps_per_epoch};
pub use report::{EpochStats, LayerActivations, NoObserver, TrainObserver, TrainOutcome};
pub use train::{effective_threads, train};
