//! `layerlaw imbalance`: Minority Collapse in trained networks (Fang, He, Long & Su, PNAS 2021): train on
//! step-imbalanced data, report per-class accuracy, the minority/majority classifier geometry, NC1–NC4 and D_l over
//! all layers, with the Layer-Peeled Model's prediction for the same class counts beside it.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use layerlaw_experiments::csv::{layers_csv, CsvGroup};
use layerlaw_experiments::{manifest, ImbalanceExperiment, ImbalanceParams, ImbalanceRun, Model};
use layerlaw_geometry::FitLayers;
use serde::Serialize;
use serde_json::json;

use crate::args::{DataArgs, DeviceArg, OptimizerArg};
use crate::error::CliError;
use crate::output::{create_dir, fmt_opt, print_json, write_json, write_text, Table};
use crate::plot::{self, Chart, Mark, Series};
use crate::progress::EpochBars;

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

impl ModelArg {
    fn model(self) -> Model {
        match self {
            ModelArg::Fnn => Model::Fnn,
            ModelArg::Vgg11 => Model::Vgg11,
            ModelArg::Resnet18 => Model::Resnet18,
        }
    }
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
    /// Layers that enter each run's law fit: indices and inclusive ranges, e.g. `1..` (layer 1 to the
    /// last), `0,2..5`; `all` (the default) fits every layer. The fit uses the layers' real indices l.
    #[arg(long, default_value = "all", value_name = "LAYERS")]
    pub fit_layers: FitLayers,
    /// Also write every run's per-layer table as CSV (one row per layer and run, with a leading `run`
    /// column, the run's place in the sweep from 0; columns in docs/csv.md).
    #[arg(long, value_name = "PATH")]
    pub csv: Option<PathBuf>,
    /// Output directory.
    #[arg(long, default_value = "out/imbalance")]
    pub out: PathBuf,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

impl ImbalanceArgs {
    /// The experiment's parameters.
    fn params(&self) -> ImbalanceParams {
        ImbalanceParams {
            data: self.data.source(),
            model: self.model.model(),
            majority: self.majority,
            n_majority: self.n_majority,
            ratio: self.ratio,
            ratios: self.ratios.clone(),
            counts: self.counts.clone(),
            oversample: self.oversample,
            minority_loss_weight: self.minority_loss_weight,
            depth: self.depth,
            width: self.width,
            image_size: self.image_size,
            optimizer: self.optimizer.kind(),
            lr: self.lr,
            weight_decay: self.weight_decay,
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed: self.seed,
            bn_eval: self.bn_eval,
            device: self.device.device(),
            ew: self.ew,
            eh: self.eh,
            fit_layers: self.fit_layers.clone(),
        }
    }
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
    for (r, run) in runs.iter().enumerate() {
        for note in &run.notes {
            println!("note (run {r}): {note}");
        }
    }
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
        ..Chart::default()
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
        ..Chart::default()
    };
    (cos, acc)
}

/// Runs `layerlaw imbalance`.
pub fn run(args: &ImbalanceArgs) -> Result<(), CliError> {
    let config = args.params().check()?;
    let out = ImbalanceExperiment::run(&config, &mut EpochBars::new(args.json))?;
    let runs = &out.runs;
    create_dir(&args.out)?;
    let report = json!({
        "runs": runs,
        "config": args,
        "data_source": out.data_source,
        "notes": out.notes,
    });
    write_json(&args.out.join("imbalance.json"), &report)?;
    if let Some(path) = &args.csv {
        let labels: Vec<String> = (0..runs.len()).map(|r| r.to_string()).collect();
        let groups: Vec<CsvGroup<'_>> = runs
            .iter()
            .zip(&labels)
            .map(|(r, label)| CsvGroup {
                label,
                layers: &r.layers,
                law: r.law.as_ref(),
            })
            .collect();
        write_text(path, &layers_csv(Some("run"), &groups))?;
    }
    if runs.len() > 1 {
        let (cos, acc) = sweep_charts(runs);
        plot::render(&cos, &args.out.join("minority_cosine.svg"))?;
        plot::render(&acc, &args.out.join("accuracy.svg"))?;
    }
    let argv: Vec<String> = std::env::args().collect();
    let config = serde_json::to_value(args).expect("serialisable");
    let data = json!({ "source": out.data_source, "runs": out.data_checksums });
    write_json(
        &args.out.join("manifest.json"),
        &manifest("imbalance", &argv, config, args.seed, data),
    )?;
    if args.json {
        if runs.len() == 1 {
            print_json(&runs[0]);
        } else {
            print_json(&report);
        }
        return Ok(());
    }
    print_runs(runs);
    println!(
        "wrote {}/imbalance.json and manifest.json",
        args.out.display()
    );
    Ok(())
}
