//! `layerlaw law`: train a feedforward net (Linear→BN→ReLU blocks) and test the law of equi-separation
//! D_l ≈ ρ^l D_0 on its training features (He & Su, PNAS 2023, Figure 1), with its emergence during training,
//! and optionally on the test set side by side (`--split train,test`).

use std::path::PathBuf;

use clap::Args;
use layerlaw_experiments::{
    manifest, save_features, DynamicsPoint, LawExperiment, LawParams, LawReport, LawSplit,
    LayerReport, SplitReport,
};
use layerlaw_geometry::{Definitions, FitLayers, LawFit};
use layerlaw_train::EpochStats;
use serde::Serialize;
use serde_json::json;

use crate::args::{DataArgs, DeviceArg, OptimizerArg};
use crate::error::CliError;
use crate::output::{create_dir, print_json, write_json};
use crate::plot::{self, Chart, Mark, Series};
use crate::progress::EpochBars;
use crate::render::{
    law_chart, law_chart_splits, print_family, print_intervals, print_layers, print_notes,
    print_splits, write_splits_csv, SplitView,
};

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
    /// Measure every layer every N epochs (the emergence of the law during training; default epochs/30,
    /// about 30 points, every epoch for 30 epochs or fewer).
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
    /// Layers that enter the law fit: indices and inclusive ranges, e.g. `1..` (layer 1 to the last),
    /// `0,2..5`; `all` (the default) fits every layer. The fit uses the layers' real indices l.
    #[arg(long, default_value = "all", value_name = "LAYERS")]
    pub fit_layers: FitLayers,
    /// Comma-separated sets of points the trained net's features are measured on at the end: `train`
    /// (the training subset, the paper's measurement) and/or `test` (the test set), reported side by side.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "train",
        value_name = "SPLITS"
    )]
    pub split: Vec<LawSplit>,
    /// Also write the per-layer table as CSV (one row per layer, a `split` column with several splits;
    /// columns in docs/csv.md).
    #[arg(long, value_name = "PATH")]
    pub csv: Option<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "out/law")]
    pub out: PathBuf,
    /// Print law.json on stdout (no table, no progress bar).
    #[arg(long)]
    pub json: bool,
}

impl LawArgs {
    /// The experiment's parameters.
    fn params(&self) -> LawParams {
        LawParams {
            data: self.data.source(),
            depth: self.depth,
            width: self.width,
            per_class: self.per_class,
            image_size: self.image_size,
            optimizer: self.optimizer.kind(),
            lr: self.lr,
            weight_decay: self.weight_decay,
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed: self.seed,
            measure_every: self.measure_every,
            bn_eval: self.bn_eval,
            batchnorm: !self.no_batchnorm,
            relu: !self.no_relu,
            device: self.device.device(),
            fit_layers: self.fit_layers.clone(),
            splits: self.split.clone(),
        }
    }
}

/// The `law.json` object: the report's fields with the command's configuration before the notes.
#[derive(Serialize)]
struct LawJson<'a> {
    n: usize,
    classes: usize,
    class_counts: &'a [usize],
    balanced: bool,
    definitions: Definitions,
    layers: &'a [LayerReport],
    law: Option<&'a LawFit>,
    train_accuracy: f64,
    test_accuracy: Option<f64>,
    history: &'a [EpochStats],
    dynamics: &'a [DynamicsPoint],
    train_seconds: f64,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    splits: &'a [SplitReport],
    config: &'a LawArgs,
    notes: &'a [String],
}

impl<'a> LawJson<'a> {
    fn new(r: &'a LawReport, config: &'a LawArgs) -> Self {
        let m = &r.report;
        LawJson {
            n: m.n,
            classes: m.classes,
            class_counts: &m.class_counts,
            balanced: m.balanced,
            definitions: m.definitions,
            layers: &m.layers,
            law: m.law.as_ref(),
            train_accuracy: r.train_accuracy,
            test_accuracy: r.test_accuracy,
            history: &r.history,
            dynamics: &r.dynamics,
            train_seconds: r.train_seconds,
            splits: &r.splits,
            config,
            notes: &m.notes,
        }
    }
}

/// D_l over training, one series per layer.
fn dynamics_chart(names: &[String], dynamics: &[DynamicsPoint]) -> Chart {
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
        ..Chart::default()
    }
}

/// Runs `layerlaw law`.
pub fn run(args: &LawArgs) -> Result<(), CliError> {
    let config = args.params().check()?;
    let out = LawExperiment::run(&config, &mut EpochBars::new(args.json))?;
    let report = &out.report;
    let layers = &report.report;
    create_dir(&args.out)?;
    write_json(&args.out.join("law.json"), &LawJson::new(report, args))?;
    let title = format!(
        "Law of equi-separation: depth {}, {:?} lr {}",
        args.depth, args.optimizer, args.lr
    );
    let views: Vec<SplitView<'_>> = if report.splits.is_empty() {
        vec![SplitView::of("", layers)]
    } else {
        report
            .splits
            .iter()
            .map(|s| SplitView::of(&s.split, &s.report))
            .collect()
    };
    let chart = if report.splits.is_empty() {
        law_chart(&title, &layers.layers, layers.law.as_ref())
    } else {
        law_chart_splits(&title, &views)
    };
    plot::render(&chart, &args.out.join("law.svg"))?;
    if let Some(path) = &args.csv {
        write_splits_csv(path, &views)?;
    }
    if report.dynamics.len() >= 2 {
        plot::render(
            &dynamics_chart(&out.training.features.names, &report.dynamics),
            &args.out.join("dynamics.svg"),
        )?;
    }
    let mut data = out.data_checksums.clone();
    if args.save_features {
        let path = args.out.join("features.safetensors");
        let sha = save_features(&path, &out.training, &out.labels, out.classes)?;
        data["features_safetensors_sha256"] = json!(sha);
    }
    let argv: Vec<String> = std::env::args().collect();
    let config = serde_json::to_value(args).expect("serialisable");
    write_json(
        &args.out.join("manifest.json"),
        &manifest("law", &argv, config, args.seed, data),
    )?;
    if args.json {
        print_json(&LawJson::new(report, args));
        return Ok(());
    }
    if report.splits.is_empty() {
        print_layers(&layers.layers, layers.law.as_ref(), layers.balanced);
    } else {
        print_splits(&views);
    }
    print_intervals(layers.law_intervals.as_ref());
    print_family(&layers.layers);
    println!(
        "train accuracy {:.4}, test accuracy {}, {:.1} s",
        report.train_accuracy,
        report
            .test_accuracy
            .map(|a| format!("{a:.4}"))
            .unwrap_or_else(|| "n/a".into()),
        report.train_seconds
    );
    print_notes(&layers.notes);
    for s in report.splits.iter().filter(|s| s.split != "train") {
        let notes: Vec<String> = s
            .report
            .notes
            .iter()
            .map(|n| format!("{}: {n}", s.split))
            .collect();
        print_notes(&notes);
    }
    let dynamics = if report.dynamics.len() >= 2 {
        "dynamics.svg, "
    } else {
        ""
    };
    println!(
        "wrote {}/law.json, law.svg, {dynamics}manifest.json",
        args.out.display()
    );
    Ok(())
}
