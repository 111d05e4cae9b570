//! `layerlaw measure FILE`: separation fuzziness, NC metrics and the law fit of features saved by any framework.

use std::path::PathBuf;

use clap::Args;
use layerlaw_experiments::{measure_feature_set, Report};
use layerlaw_io::{load_feature_set, Selection};
use serde::Serialize;

use crate::error::CliError;
use crate::output::print_json;
use crate::plot;
use crate::render::{law_chart, print_report};

/// Arguments of `layerlaw measure`.
#[derive(Args, Debug)]
pub struct MeasureArgs {
    /// A .safetensors file, an .npz file (numpy.savez), a .npy file or a directory of .npy files.
    pub file: PathBuf,
    /// Key of the integer label array.
    #[arg(long, default_value = "labels")]
    pub labels: String,
    /// Comma-separated layer keys in order (default: every float array, in natural key order).
    #[arg(long, value_delimiter = ',')]
    pub layers: Option<Vec<String>>,
    /// Number of classes K (default: largest label + 1). A class with no point in 0..K is an error.
    #[arg(long)]
    pub num_classes: Option<usize>,
    /// Key of the last-layer classifier weight (K × p) for NC3, NC4 and the classifier geometry.
    #[arg(long)]
    pub classifier_weight: Option<String>,
    /// Key of the classifier bias (K).
    #[arg(long)]
    pub classifier_bias: Option<String>,
    /// Key of the model's predicted classes (1-D integer, one per sample): every layer then
    /// reports how often its nearest class mean agrees with them (NC4 agreement).
    #[arg(long)]
    pub predictions: Option<String>,
    /// Comma-separated minority classes, for the classifier group geometry.
    #[arg(long, value_delimiter = ',')]
    pub minority: Option<Vec<usize>>,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Draw ln D_l against l with the fitted line (.svg or .png).
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Without `--layers`: skip, with a note, an array that looks like a layer (float, rank ≥ 2, named
    /// like the other layers) but has another number of rows than the labels, instead of failing.
    #[arg(long)]
    pub skip_mismatched: bool,
}

/// The `measure --json` object: the file, then the report's fields.
#[derive(Serialize)]
struct MeasureJson<'a> {
    file: String,
    #[serde(flatten)]
    report: &'a Report,
}

/// Runs `layerlaw measure`.
pub fn run(args: &MeasureArgs) -> Result<(), CliError> {
    let sel = Selection {
        labels_key: args.labels.clone(),
        layers: args.layers.clone(),
        classifier_weight: args.classifier_weight.clone(),
        classifier_bias: args.classifier_bias.clone(),
        predictions_key: args.predictions.clone(),
        skip_mismatched: args.skip_mismatched,
    };
    let set = load_feature_set(&args.file, &sel)?;
    let minority = args.minority.clone().unwrap_or_default();
    let report = measure_feature_set(&set, args.num_classes, &minority)?;
    let file = set.path.display().to_string();
    if let Some(path) = &args.plot {
        let title = format!("Separation fuzziness by layer: {}", args.file.display());
        plot::render(
            &law_chart(&title, &report.layers, report.law.as_ref()),
            path,
        )?;
    }
    if args.json {
        print_json(&MeasureJson {
            file,
            report: &report,
        });
        return Ok(());
    }
    print_report(&file, "", &report);
    Ok(())
}
