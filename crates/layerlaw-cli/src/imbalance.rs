//! `layerlaw imbalance`: Minority Collapse in trained networks (Fang, He, Long & Su, PNAS 2021): train on
//! step-imbalanced data, report per-class accuracy, the minority/majority classifier geometry, NC1–NC4 and D_l over
//! all layers, with the Layer-Peeled Model's prediction for the same class counts beside it.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use faer::MatRef;
use layerlaw_geometry::{
    classifier_geometry, neural_collapse_classifier, ClassifierCollapse, ClassifierGeometry,
    Labels, LawFit, Separation,
};
use layerlaw_lpm::{LpmProblem, SolverOptions};
use layerlaw_train::{Architecture, BnMeasureMode, EpochStats, TrainConfig};
use serde::Serialize;
use serde_json::json;

use crate::analysis::{analyse_layers, Definitions, LayerReport, DEFINITIONS};
use crate::error::CliError;
use crate::law::{
    feature_inputs, geometry_labels, load_data, prepare_data, DataArgs, DeviceArg,
    MeasuringObserver, OptimizerArg, Preprocess,
};
use crate::output::{create_dir, fmt_opt, manifest, print_json, write_json, Table};
use crate::plot::{self, Chart, Mark, Series};

/// Network families of the paper.
#[derive(Clone, Copy, Debug, ValueEnum, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ModelArg {
    /// Feedforward Linear→BN→ReLU net (`--depth`, `--width`).
    Fnn,
    /// VGG11 with BN (kuangliu style, fc 4096-4096), 32×32 input.
    Vgg11,
    /// ResNet18 (kuangliu style), 32×32 input.
    Resnet18,
}

/// Arguments of `layerlaw imbalance`.
#[derive(Args, Debug, Clone, Serialize)]
pub struct ImbalanceArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub data: DataArgs,
    /// Network.
    #[arg(long, value_enum, default_value = "fnn")]
    pub model: ModelArg,
    /// Number of majority classes K_A (the first K_A labels); the others are minority classes.
    #[arg(long, default_value_t = 5)]
    pub majority: usize,
    /// Training examples per majority class n_A (the paper: 6,000 for Fashion-MNIST).
    #[arg(long, default_value_t = 6000)]
    pub n_majority: usize,
    /// Imbalance ratio R: minority classes keep n_B = ⌊n_A / R⌋ examples.
    #[arg(long, default_value_t = 100.0)]
    pub ratio: f64,
    /// A sweep over ratios (e.g. 1,10,100,1000): one run each, plus plots against R.
    #[arg(long, value_delimiter = ',')]
    pub ratios: Option<Vec<f64>>,
    /// Arbitrary per-class training counts instead of --majority/--n-majority/--ratio.
    #[arg(long, value_delimiter = ',')]
    pub counts: Option<Vec<usize>>,
    /// Show every minority example W times per epoch (the paper's oversampling).
    #[arg(long, default_value_t = 1)]
    pub oversample: usize,
    /// Multiply the minority classes' loss terms by this weight.
    #[arg(long, default_value_t = 1.0)]
    pub minority_loss_weight: f64,
    /// FNN depth (linear layers including the classifier).
    #[arg(long, default_value_t = 4)]
    pub depth: usize,
    /// FNN width.
    #[arg(long, default_value_t = 100)]
    pub width: usize,
    /// Image side length (default: 10 for the FNN as in He & Su, 32 for the CNNs).
    #[arg(long)]
    pub image_size: Option<usize>,
    /// Optimiser (the paper: SGD with momentum 0.9).
    #[arg(long, value_enum, default_value = "momentum")]
    pub optimizer: OptimizerArg,
    /// Learning rate (the paper: 0.1), ÷10 at one third and ÷100 at two thirds of the epochs.
    #[arg(long, default_value_t = 0.1)]
    pub lr: f64,
    /// Weight decay.
    #[arg(long, default_value_t = 5e-4)]
    pub weight_decay: f64,
    /// Epochs (the paper: 350; fewer on a CPU).
    #[arg(long, default_value_t = 350)]
    pub epochs: usize,
    /// Mini-batch size.
    #[arg(long, default_value_t = 128)]
    pub batch_size: usize,
    /// Seed of the subset, initialisation and batch order.
    #[arg(long, default_value_t = 666)]
    pub seed: u64,
    /// Measure features with BatchNorm in eval mode (default: train mode on batches of 100, as the official code).
    #[arg(long)]
    pub bn_eval: bool,
    /// Where to train: `gpu` (wgpu on Vulkan, binary built with `--features gpu`) runs VGG11 and
    /// ResNet18; the FNN runs on the CPU only.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
    /// E_W of the Layer-Peeled Model shown beside the network.
    #[arg(long, default_value_t = 1.0)]
    pub ew: f64,
    /// E_H of the Layer-Peeled Model shown beside the network.
    #[arg(long, default_value_t = 5.0)]
    pub eh: f64,
    /// Output directory.
    #[arg(long, default_value = "out/imbalance")]
    pub out: PathBuf,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// The Layer-Peeled Model's prediction for the same counts and minority weight.
#[derive(Debug, Clone, Serialize)]
pub struct LpmPrediction {
    /// Solver status.
    pub status: String,
    /// Mean pairwise cosine of the minority classifiers (None once their norms vanish).
    pub minority_cosine: Option<f64>,
    /// Mean pairwise cosine of the majority classifiers.
    pub majority_cosine: Option<f64>,
    /// Mean ‖w_k − w_k'‖ among minority classifiers.
    pub minority_distance: Option<f64>,
    /// Mean minority classifier norm.
    pub minority_norm: Option<f64>,
    /// Mean majority classifier norm.
    pub majority_norm: Option<f64>,
    /// Solver notes.
    pub notes: Vec<String>,
}

/// Neural-collapse metrics on the last layer's training features.
#[derive(Debug, Clone, Serialize)]
pub struct LastLayerCollapse {
    /// NC1 (Papyan), NC2 and D of the last hidden layer.
    pub separation: Separation,
    /// NC3 and NC4 against the trained classifier.
    pub classifier: ClassifierCollapse,
}

/// One imbalanced training run.
#[derive(Debug, Serialize)]
pub struct ImbalanceRun {
    /// R (None with --counts).
    pub ratio: Option<f64>,
    /// Training examples per class.
    pub counts: Vec<usize>,
    /// The minority classes.
    pub minority_classes: Vec<usize>,
    /// Oversampling factor of minority examples.
    pub oversample: usize,
    /// Loss weight of minority classes.
    pub minority_loss_weight: f64,
    /// Test accuracy over the whole test set.
    pub test_accuracy: f64,
    /// Test accuracy over the majority classes' test examples.
    pub majority_accuracy: f64,
    /// Test accuracy over the minority classes' test examples.
    pub minority_accuracy: f64,
    /// Test accuracy per class.
    pub per_class_accuracy: Vec<f64>,
    /// Mean pairwise cosine of the minority classifier rows (None when their norms vanish).
    pub minority_cosine: Option<f64>,
    /// Mean pairwise cosine of the majority classifier rows.
    pub majority_cosine: Option<f64>,
    /// Mean norm of the minority classifier rows.
    pub minority_norm: Option<f64>,
    /// Mean norm of the majority classifier rows.
    pub majority_norm: Option<f64>,
    /// Mean ‖w_k − w_k'‖ among minority classifier rows.
    pub minority_distance: Option<f64>,
    /// Full classifier geometry.
    pub classifier: ClassifierGeometry,
    /// NC1–NC4 on the last layer's training features.
    pub neural_collapse: LastLayerCollapse,
    /// Which convention each number uses.
    pub definitions: Definitions,
    /// D_l and NC metrics of every measured layer (as `layerlaw measure --json`).
    pub layers: Vec<LayerReport>,
    /// The law-of-equi-separation fit over those layers.
    pub law: Option<LawFit>,
    /// The Layer-Peeled Model's prediction for the same counts and minority weight.
    pub lpm: LpmPrediction,
    /// Training accuracy.
    pub train_accuracy: f64,
    /// Seconds per epoch.
    pub seconds_per_epoch: f64,
    /// Loss and accuracy per epoch.
    pub history: Vec<EpochStats>,
}

fn group_accuracy(per_class: &[f64], test_counts: &[usize], classes: &[usize]) -> f64 {
    let total: usize = classes.iter().map(|&k| test_counts[k]).sum();
    if total == 0 {
        return f64::NAN;
    }
    classes
        .iter()
        .map(|&k| per_class[k] * test_counts[k] as f64)
        .sum::<f64>()
        / total as f64
}

fn training_counts(
    args: &ImbalanceArgs,
    ratio: f64,
    k: usize,
) -> Result<(Vec<usize>, Vec<usize>), CliError> {
    if args.oversample == 0 {
        return Err(CliError::usage("oversample", "must be at least 1"));
    }
    if !(args.minority_loss_weight.is_finite() && args.minority_loss_weight > 0.0) {
        return Err(CliError::usage(
            "minority-loss-weight",
            "must be a positive number",
        ));
    }
    match &args.counts {
        Some(c) => {
            if c.len() != k {
                return Err(CliError::usage(
                    "counts",
                    format!("has {} entries but the dataset has {k} classes", c.len()),
                ));
            }
            let max = *c.iter().max().unwrap_or(&0);
            let minority = (0..k).filter(|&i| c[i] < max).collect();
            Ok((c.clone(), minority))
        }
        None => {
            let counts =
                layerlaw_data::step_imbalance_counts(k, args.majority, args.n_majority, ratio)?;
            Ok((counts, (args.majority..k).collect()))
        }
    }
}

fn lpm_prediction(
    counts: &[usize],
    minority: &[usize],
    weight: f64,
    ew: f64,
    eh: f64,
) -> Result<LpmPrediction, CliError> {
    let c: Vec<f64> = counts.iter().map(|&v| v as f64).collect();
    let problem = LpmProblem::from_counts(&c)
        .minority_classes(minority)
        .minority_weight(weight)
        .e_w(ew)
        .e_h(eh)
        .build()?;
    let s = layerlaw_lpm::solve(&problem, &SolverOptions::default())?;
    Ok(LpmPrediction {
        status: format!("{:?}", s.status),
        minority_cosine: s.minority_cosine,
        majority_cosine: s.majority_cosine,
        minority_distance: s.minority_distance,
        minority_norm: s.minority_norm,
        majority_norm: s.majority_norm,
        notes: s.notes,
    })
}

fn one_run(
    args: &ImbalanceArgs,
    split: &layerlaw_data::Split,
    ratio: f64,
    data_log: &mut Vec<serde_json::Value>,
) -> Result<ImbalanceRun, CliError> {
    let k = split.train.num_classes();
    let (counts, minority) = training_counts(args, ratio, k)?;
    let idx = layerlaw_data::counts_subset(&split.train.labels, &counts, args.seed)?;
    let (how, size, architecture) = match args.model {
        ModelArg::Fnn => (
            Preprocess::Fnn,
            args.image_size.unwrap_or(10),
            Architecture::Fnn {
                width: args.width,
                depth: args.depth,
                batchnorm: true,
                relu: true,
            },
        ),
        ModelArg::Vgg11 => (
            Preprocess::Cnn,
            args.image_size.unwrap_or(32),
            Architecture::Vgg11,
        ),
        ModelArg::Resnet18 => (
            Preprocess::Cnn,
            args.image_size.unwrap_or(32),
            Architecture::ResNet18,
        ),
    };
    let prep = prepare_data(split, args.data.dataset, size, &idx, how)?;
    data_log.push(prep.checksums.clone());
    let is_minority = |c: usize| minority.contains(&c);
    let sample_repeats = (args.oversample > 1).then(|| {
        prep.train
            .y
            .iter()
            .map(|&c| if is_minority(c) { args.oversample } else { 1 })
            .collect()
    });
    let class_loss_weights = (args.minority_loss_weight != 1.0).then(|| {
        (0..k)
            .map(|c| {
                if is_minority(c) {
                    args.minority_loss_weight as f32
                } else {
                    1.0
                }
            })
            .collect()
    });
    let cfg = TrainConfig {
        architecture,
        optimizer: args.optimizer.kind(),
        lr: args.lr,
        momentum: 0.9,
        weight_decay: args.weight_decay,
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed: args.seed,
        measure_every: None,
        bn_measure: if args.bn_eval {
            BnMeasureMode::Eval
        } else {
            BnMeasureMode::Train { batch: 100 }
        },
        class_loss_weights,
        sample_repeats,
        threads: None,
        device: args.device.device(),
    };
    let labels: Labels = geometry_labels(&prep.train.y, k)?;
    let label = format!("R = {ratio}");
    let mut obs = MeasuringObserver::new(&labels, args.epochs, &label, args.json);
    let outcome = layerlaw_train::train(&cfg, &prep.train, Some(&prep.test), &mut obs);
    obs.finish();
    let outcome = outcome?;
    let mut notes = Vec::new();
    let (layers, law) = analyse_layers(
        "training features",
        &feature_inputs(&outcome.features),
        &labels,
        Some(&mut notes),
    )?;
    let p = outcome.penultimate_dim;
    let w: Vec<f64> = outcome
        .classifier_weight
        .iter()
        .map(|&v| v as f64)
        .collect();
    let b: Vec<f64> = outcome.classifier_bias.iter().map(|&v| v as f64).collect();
    let wm = MatRef::from_row_major_slice(&w, k, p);
    let ctx = |what: &str| {
        let what = what.to_string();
        move |source| CliError::Analysis {
            context: what.clone(),
            source,
        }
    };
    let classifier = classifier_geometry(wm, &minority).map_err(ctx("classifier geometry"))?;
    let last = outcome
        .features
        .data
        .last()
        .expect("at least one measured layer");
    let last_dim = *outcome
        .features
        .dims
        .last()
        .expect("at least one measured layer");
    if last_dim != p {
        return Err(CliError::usage(
            "model",
            format!("last measured layer has {last_dim} features, classifier {p}"),
        ));
    }
    let x = MatRef::from_row_major_slice(last.as_slice(), labels.len(), p);
    let nc_classifier =
        neural_collapse_classifier(x, &labels, wm, Some(&b)).map_err(ctx("NC3/NC4"))?;
    let nc_sep = layers
        .last()
        .expect("at least one layer")
        .separation
        .clone();
    let per_class = outcome.test_per_class_accuracy.clone().unwrap_or_default();
    let test_counts = split.test.class_counts();
    let majority: Vec<usize> = (0..k).filter(|c| !is_minority(*c)).collect();
    let weight = args.oversample as f64 * args.minority_loss_weight;
    Ok(ImbalanceRun {
        ratio: args.counts.is_none().then_some(ratio),
        counts: counts.clone(),
        minority_classes: minority.clone(),
        oversample: args.oversample,
        minority_loss_weight: args.minority_loss_weight,
        test_accuracy: outcome.test_accuracy.unwrap_or(f64::NAN),
        majority_accuracy: group_accuracy(&per_class, &test_counts, &majority),
        minority_accuracy: group_accuracy(&per_class, &test_counts, &minority),
        per_class_accuracy: per_class,
        minority_cosine: classifier.minority.mean_cosine,
        majority_cosine: classifier.majority.mean_cosine,
        minority_norm: classifier.minority.mean_norm,
        majority_norm: classifier.majority.mean_norm,
        minority_distance: classifier.minority.mean_distance,
        classifier,
        neural_collapse: LastLayerCollapse {
            separation: nc_sep,
            classifier: nc_classifier,
        },
        definitions: DEFINITIONS,
        layers,
        law,
        lpm: lpm_prediction(&counts, &minority, weight, args.ew, args.eh)?,
        train_accuracy: outcome.train_accuracy,
        seconds_per_epoch: outcome.seconds_per_epoch,
        history: outcome.history,
    })
}

fn print_runs(runs: &[ImbalanceRun]) {
    let mut t = Table::new(&[
        "R",
        "test acc",
        "majority acc",
        "minority acc",
        "min cos",
        "maj cos",
        "min norm",
        "LPM min cos",
        "s/epoch",
    ]);
    for r in runs {
        t.row(vec![
            r.ratio
                .map(|v| format!("{v}"))
                .unwrap_or_else(|| "counts".into()),
            format!("{:.4}", r.test_accuracy),
            format!("{:.4}", r.majority_accuracy),
            format!("{:.4}", r.minority_accuracy),
            fmt_opt(r.minority_cosine),
            fmt_opt(r.majority_cosine),
            fmt_opt(r.minority_norm),
            fmt_opt(r.lpm.minority_cosine),
            format!("{:.2}", r.seconds_per_epoch),
        ]);
    }
    print!("{}", t.render());
}

fn sweep_charts(runs: &[ImbalanceRun]) -> (Chart, Chart) {
    let pts = |f: &dyn Fn(&ImbalanceRun) -> Option<f64>| -> Vec<(f64, f64)> {
        runs.iter()
            .filter_map(|r| Some((r.ratio?.log10(), f(r)?)))
            .collect()
    };
    let cos = Chart {
        title: "Minority Collapse: mean cosine of minority classifiers".into(),
        x_label: "log10 R".into(),
        y_label: "mean pairwise cosine".into(),
        series: vec![
            Series {
                name: "network".into(),
                points: pts(&|r| r.minority_cosine),
                mark: Mark::LinePoints,
            },
            Series {
                name: "Layer-Peeled Model".into(),
                points: pts(&|r| r.lpm.minority_cosine),
                mark: Mark::LinePoints,
            },
        ],
    };
    let acc = Chart {
        title: "Test accuracy under imbalance".into(),
        x_label: "log10 R".into(),
        y_label: "test accuracy".into(),
        series: vec![
            Series {
                name: "minority classes".into(),
                points: pts(&|r| Some(r.minority_accuracy)),
                mark: Mark::LinePoints,
            },
            Series {
                name: "majority classes".into(),
                points: pts(&|r| Some(r.majority_accuracy)),
                mark: Mark::LinePoints,
            },
        ],
    };
    (cos, acc)
}

/// Runs `layerlaw imbalance`.
pub fn run(args: &ImbalanceArgs) -> Result<(), CliError> {
    // Refuse a device this build or model cannot use before loading any data.
    let architecture = match args.model {
        ModelArg::Fnn => Architecture::Fnn {
            width: args.width,
            depth: args.depth,
            batchnorm: true,
            relu: true,
        },
        ModelArg::Vgg11 => Architecture::Vgg11,
        ModelArg::Resnet18 => Architecture::ResNet18,
    };
    args.device.device().check(architecture)?;
    let mut notes = Vec::new();
    let split = load_data(&args.data, &mut notes)?;
    let ratios = match (&args.ratios, &args.counts) {
        (Some(_), Some(_)) => {
            return Err(CliError::usage(
                "ratios",
                "cannot be combined with --counts",
            ))
        }
        (Some(r), None) if r.is_empty() => {
            return Err(CliError::usage("ratios", "give at least one ratio"))
        }
        (Some(r), None) => r.clone(),
        (None, _) => vec![args.ratio],
    };
    // Validate every ratio before training anything.
    let k = split.train.num_classes();
    for &r in &ratios {
        training_counts(args, r, k)?;
    }
    let mut runs = Vec::new();
    let mut data_log = Vec::new();
    for &r in &ratios {
        runs.push(one_run(args, &split, r, &mut data_log)?);
    }
    create_dir(&args.out)?;
    let report =
        json!({ "runs": runs, "config": args, "data_source": split.source, "notes": notes });
    write_json(&args.out.join("imbalance.json"), &report)?;
    if runs.len() > 1 {
        let (cos, acc) = sweep_charts(&runs);
        plot::render(&cos, &args.out.join("minority_cosine.svg"))?;
        plot::render(&acc, &args.out.join("accuracy.svg"))?;
    }
    let config = serde_json::to_value(args).expect("serialisable");
    let data = json!({ "source": split.source, "runs": data_log });
    write_json(
        &args.out.join("manifest.json"),
        &manifest("imbalance", config, args.seed, data),
    )?;
    if args.json {
        if runs.len() == 1 {
            print_json(&runs[0]);
        } else {
            print_json(&report);
        }
        return Ok(());
    }
    print_runs(&runs);
    println!(
        "wrote {}/imbalance.json and manifest.json",
        args.out.display()
    );
    Ok(())
}
