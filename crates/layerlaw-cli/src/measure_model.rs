//! `layerlaw measure-model MODEL.onnx`: every layer of an ONNX classifier over a dataset, from
//! two passes of the data through the model with $O(pK)$ memory per layer.
//!
//! Pass 1 runs the inputs through the model in chunks and adds each layer's rows to its class
//! counts and sums ([`Pass1`]); closing it gives each layer's class means and between-class
//! basis $Q$ ([`Basis`]). Pass 2 runs the same inputs again and adds the within-class scatter
//! projected on $Q$ ([`Pass2`]), and, for the last layer, the nearest-class-centre counts of
//! NC4 ([`CentreAgreement`]). [`finish`] gives each layer's [`Separation`], equal to
//! `separation` on the stored rows, and the report is the one `layerlaw measure` prints.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use faer::MatRef;
use layerlaw_experiments::{manifest, sha256_file, ClassifierReport, ExperimentError, Report};
use layerlaw_geometry::{
    classifier_collapse, classifier_geometry, finish, Basis, CentreAgreement, GeometryError,
    NamedLayer, Pass1, Pass2, Separation, SeparationOptions,
};
use layerlaw_onnx::{Dim, OnnxModel, Runner, DEFAULT_CHUNK};
use serde::Serialize;
use serde_json::json;

use crate::args::DataArgs;
use crate::error::CliError;
use crate::model_inputs::{from_dataset, from_file, ImagePrep, ModelInputs};
use crate::output::{create_dir, print_json, write_json, Table};
use crate::plot;
use crate::progress;
use crate::render::{law_chart, print_report};

/// Which split of the dataset to feed.
#[derive(Clone, Copy, Debug, ValueEnum, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SplitArg {
    /// The training images.
    Train,
    /// The test images.
    Test,
}

/// Arguments of `layerlaw measure-model`.
#[derive(Args, Debug)]
pub struct MeasureModelArgs {
    /// The ONNX model (a classifier with one input; `MODEL.onnx.data` beside it when the weights
    /// are external).
    pub model: PathBuf,
    /// The dataset to feed (ignored with `--inputs`).
    #[command(flatten)]
    pub data: DataArgs,
    /// The split of the dataset.
    #[arg(long, value_enum, default_value = "test")]
    pub split: SplitArg,
    /// Examples per class (a seeded random subset, in file order); default every example.
    #[arg(long)]
    pub per_class: Option<usize>,
    /// Seed of the per-class subset.
    #[arg(long, default_value_t = 666)]
    pub seed: u64,
    /// Feed this array file instead of a dataset (.npz, .npy directory or .safetensors).
    #[arg(long)]
    pub inputs: Option<PathBuf>,
    /// Key of the input array in `--inputs` (batch axis first).
    #[arg(long, default_value = "inputs")]
    pub input_key: String,
    /// Key of the integer label array in `--inputs`.
    #[arg(long, default_value = "labels")]
    pub labels: String,
    /// Side of the square images (default: the model's input size when fixed, else the dataset's).
    #[arg(long)]
    pub image_size: Option<usize>,
    /// Channels of the images (default: the model's when fixed, else the dataset's).
    #[arg(long)]
    pub channels: Option<usize>,
    /// Comma-separated per-channel means (default: the dataset's, as the papers' CNN code).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub mean: Option<Vec<f32>>,
    /// Comma-separated per-channel standard deviations.
    #[arg(long, value_delimiter = ',')]
    pub std: Option<Vec<f32>>,
    /// Comma-separated layers: node names, operator types (`relu`, `add`, `flatten`,
    /// `globalaveragepool`, ...), `input` or `default` (the input, every block, the penultimate
    /// features; logits excluded).
    #[arg(long, value_delimiter = ',')]
    pub layers: Option<Vec<String>>,
    /// List every layer that can be measured (name, operator, output shape on one batch) and exit.
    #[arg(long)]
    pub list_layers: bool,
    /// Rows per model run (the model's batch size when it is fixed).
    #[arg(long, default_value_t = DEFAULT_CHUNK)]
    pub chunk: usize,
    /// Comma-separated minority classes, for the classifier group geometry.
    #[arg(long, value_delimiter = ',')]
    pub minority: Option<Vec<usize>>,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Draw ln D_l against l with the fitted line (.svg or .png).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Also write `report.json` and `manifest.json` (configuration, versions, SHA-256 of the model and inputs) here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The `measure-model --json` object: the model file, then the report's fields.
#[derive(Serialize)]
struct ModelJson<'a> {
    model: String,
    #[serde(flatten)]
    report: &'a Report,
}

/// Runs `layerlaw measure-model`.
pub fn run(args: &MeasureModelArgs) -> Result<(), CliError> {
    let model = OnnxModel::load(&args.model)?;
    let inputs = load_inputs(args, &model)?;
    model.check_input_shape(&inputs.shape)?;
    if args.list_layers {
        return list_layers(&model, &inputs);
    }
    let layers = match &args.layers {
        Some(specs) => {
            let specs: Vec<&str> = specs.iter().map(String::as_str).collect();
            model.select(&specs)?
        }
        None => model.default_layers(),
    };
    let runner = model.runner(&layers)?;
    let classifier = model.classifier()?;
    let quiet = args.json;
    let total = runs(&model, &inputs, args.chunk);
    let (names, bases) = pass_one(&runner, &inputs, args.chunk, total, quiet)?;
    let last_dim = bases.last().map_or(0, Basis::dim);
    let weight = classifier
        .as_ref()
        .filter(|c| c.classes == inputs.num_classes && c.dim == last_dim)
        .map(|c| c.weight.iter().map(|&v| v as f64).collect::<Vec<f64>>());
    let mut notes = inputs.notes.clone();
    if let (Some(c), None) = (&classifier, &weight) {
        notes.push(format!(
            "classifier {} ({}×{}) does not match the last layer ({} classes × {last_dim}): NC3/NC4 left out",
            c.node, c.classes, c.dim, inputs.num_classes
        ));
    }
    let w = weight
        .as_deref()
        .map(|v| MatRef::from_row_major_slice(v, inputs.num_classes, last_dim));
    let (separations, agreement) = pass_two(
        &runner,
        &inputs,
        (args.chunk, total),
        &names,
        &bases,
        w,
        quiet,
    )?;
    let classifier_report = match (w, agreement) {
        (Some(w), Some(counts)) => {
            let last = names.last().cloned().unwrap_or_default();
            let ctx = |source| ExperimentError::Classifier {
                layer: last.clone(),
                source,
            };
            let collapse = classifier_collapse(&bases[bases.len() - 1], w, &counts).map_err(ctx)?;
            let minority = args.minority.clone().unwrap_or_default();
            let groups = classifier_geometry(w, &minority).map_err(ctx)?;
            Some(ClassifierReport { collapse, groups })
        }
        _ => None,
    };
    let counts = bases[0].counts().to_vec();
    let report = Report::from_separations(counts, separations, classifier_report, notes);
    present(args, &report, &inputs, runner.threads())
}

fn load_inputs(args: &MeasureModelArgs, model: &OnnxModel) -> Result<ModelInputs, CliError> {
    if let Some(path) = &args.inputs {
        return from_file(path, &args.input_key, &args.labels);
    }
    let dims = &model.input_shape().dims;
    let fixed = |i: usize| match dims.get(i) {
        Some(Dim::Fixed(v)) => Some(*v),
        _ => None,
    };
    let flatten = dims.len() == 2;
    let native = match args.data.dataset.kind() {
        layerlaw_data::DatasetKind::Cifar10 => 32,
        _ => 28,
    };
    let (size, channels) = if flatten {
        let side = |c: usize| fixed(1).map(|d| ((d / c) as f64).sqrt() as usize);
        let c = args.channels.unwrap_or(1);
        (args.image_size.or(side(c)).unwrap_or(native), args.channels)
    } else {
        (
            args.image_size.or(fixed(2)).unwrap_or(native),
            args.channels.or(fixed(1)),
        )
    };
    let prep = ImagePrep {
        train_split: args.split == SplitArg::Train,
        per_class: args.per_class,
        seed: args.seed,
        size,
        channels,
        mean: args.mean.as_deref(),
        std: args.std.as_deref(),
        flatten,
    };
    from_dataset(&args.data.source(), &prep)
}

fn list_layers(model: &OnnxModel, inputs: &ModelInputs) -> Result<(), CliError> {
    let rows = model
        .input_shape()
        .fixed_batch()
        .unwrap_or(8)
        .min(inputs.shape[0]);
    let per_row: usize = inputs.shape[1..].iter().product();
    let mut shape = inputs.shape.clone();
    shape[0] = rows;
    let infos = model.candidate_layers(&inputs.x[..rows * per_row], &shape)?;
    let defaults: Vec<String> = model.default_layers().into_iter().map(|l| l.name).collect();
    let mut table = Table::new(&["layer", "op", "output shape", "features", "default"]);
    for info in &infos {
        table.row(vec![
            info.name.clone(),
            info.op.clone(),
            format!("{:?}", info.output_shape),
            info.dim().to_string(),
            if defaults.contains(&info.name) {
                "yes"
            } else {
                ""
            }
            .to_string(),
        ]);
    }
    println!("{}: input {}", model.path().display(), model.input_shape());
    print!("{}", table.render());
    Ok(())
}

fn layer_error(layer: &str, source: GeometryError) -> CliError {
    ExperimentError::Layer {
        origin: Some("the model's layers".into()),
        layer: layer.to_string(),
        source,
    }
    .into()
}

/// Pass 1: class counts and sums of every layer, closed into each layer's basis.
fn pass_one(
    runner: &Runner<'_>,
    inputs: &ModelInputs,
    chunk: usize,
    total: u64,
    quiet: bool,
) -> Result<(Vec<String>, Vec<Basis>), CliError> {
    let bar = progress::bar(total, "pass 1", quiet);
    let mut states: Vec<(String, Pass1)> = Vec::new();
    let mut offset = 0;
    runner.run_chunks(
        &inputs.x,
        &inputs.shape,
        chunk,
        |_, rows: &[NamedLayer<'_>]| {
            let b = rows.first().map_or(0, NamedLayer::nrows);
            let labels = &inputs.labels[offset..offset + b];
            if states.is_empty() {
                for layer in rows {
                    let state = Pass1::new(inputs.num_classes, layer.ncols())
                        .map_err(|e| layer_error(layer.name, e))?;
                    states.push((layer.name.to_string(), state));
                }
            }
            for ((name, state), layer) in states.iter_mut().zip(rows) {
                state
                    .update(layer.features, labels)
                    .map_err(|e| layer_error(name, e))?;
            }
            offset += b;
            bar.inc(1);
            Ok::<(), CliError>(())
        },
    )?;
    bar.finish_and_clear();
    let opts = SeparationOptions::default();
    let mut names = Vec::with_capacity(states.len());
    let mut bases = Vec::with_capacity(states.len());
    for (name, state) in states {
        bases.push(state.close(&opts).map_err(|e| layer_error(&name, e))?);
        names.push(name);
    }
    Ok((names, bases))
}

/// Every layer's separation, and the last layer's centre agreement when a classifier was given.
type Finished = (Vec<(String, Separation)>, Option<CentreAgreement>);

/// Pass 2: projected within-class scatter of every layer (and the last layer's centre
/// agreement with the classifier `w`), finished into each layer's separation.
fn pass_two(
    runner: &Runner<'_>,
    inputs: &ModelInputs,
    (chunk, total): (usize, u64),
    names: &[String],
    bases: &[Basis],
    w: Option<MatRef<'_, f64>>,
    quiet: bool,
) -> Result<Finished, CliError> {
    let bar = progress::bar(total, "pass 2", quiet);
    let mut states: Vec<Pass2> = bases.iter().map(Pass2::new).collect();
    let mut agreement = w.map(|_| CentreAgreement::default());
    let mut offset = 0;
    runner.run_chunks(
        &inputs.x,
        &inputs.shape,
        chunk,
        |index, rows: &[NamedLayer<'_>]| {
            let b = rows.first().map_or(0, NamedLayer::nrows);
            let labels = &inputs.labels[offset..offset + b];
            for (l, layer) in rows.iter().enumerate() {
                states[l]
                    .update(&bases[l], layer.features, labels)
                    .map_err(|e| layer_error(&names[l], e))?;
            }
            if let (Some(counts), Some(w), Some(last)) = (agreement.as_mut(), w, rows.last()) {
                let basis = &bases[bases.len() - 1];
                counts
                    .update(basis, index as u64, last.features, labels, w, None)
                    .map_err(|source| ExperimentError::Classifier {
                        layer: last.name.to_string(),
                        source,
                    })?;
            }
            offset += b;
            bar.inc(1);
            Ok::<(), CliError>(())
        },
    )?;
    bar.finish_and_clear();
    let mut out = Vec::with_capacity(names.len());
    for ((name, basis), state) in names.iter().zip(bases).zip(&states) {
        out.push((
            name.clone(),
            finish(basis, state).map_err(|e| layer_error(name, e))?,
        ));
    }
    Ok((out, agreement))
}

/// Model runs per pass: the model's fixed batch, else `chunk` rows at a time.
fn runs(model: &OnnxModel, inputs: &ModelInputs, chunk: usize) -> u64 {
    let n = inputs.shape[0];
    let rows = model
        .input_shape()
        .fixed_batch()
        .unwrap_or(chunk.min(n))
        .max(1);
    n.div_ceil(rows) as u64
}

fn present(
    args: &MeasureModelArgs,
    report: &Report,
    inputs: &ModelInputs,
    threads: usize,
) -> Result<(), CliError> {
    let model = args.model.display().to_string();
    if let Some(path) = &args.plot {
        let title = format!("Separation fuzziness by layer: {model}");
        plot::render(
            &law_chart(&title, &report.layers, report.law.as_ref()),
            path,
        )?;
    }
    if let Some(dir) = &args.out {
        create_dir(dir)?;
        write_json(
            &dir.join("report.json"),
            &ModelJson {
                model: model.clone(),
                report,
            },
        )?;
        let argv: Vec<String> = std::env::args().collect();
        let config = json!({
            "model": model,
            "layers": report.layers.iter().map(|l| &l.name).collect::<Vec<_>>(),
            "chunk": args.chunk,
            "input_shape": inputs.shape,
            "threads": threads,
        });
        let data = json!({
            "model_sha256": sha256_file(&args.model)?,
            "inputs": inputs.checksums,
        });
        write_json(
            &dir.join("manifest.json"),
            &manifest("measure-model", &argv, config, args.seed, data),
        )?;
    }
    if args.json {
        print_json(&ModelJson { model, report });
        return Ok(());
    }
    print_report(&model, &format!(", {threads} threads"), report);
    Ok(())
}
