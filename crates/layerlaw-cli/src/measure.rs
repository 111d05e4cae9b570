//! `layerlaw measure FILE...`: separation fuzziness, NC metrics and the law fit of features saved by any framework;
//! several files (e.g. the training and the test features) are measured each and reported side by side.

use std::path::{Path, PathBuf};

use clap::Args;
use layerlaw_experiments::{measure_feature_set, Report};
use layerlaw_geometry::FitLayers;
use layerlaw_io::{load_feature_set, Selection};
use serde::Serialize;

use crate::error::CliError;
use crate::output::print_json;
use crate::plot;
use crate::render::{
    law_chart, law_chart_splits, print_notes, print_report, print_splits, write_splits_csv,
    SplitView,
};

/// Arguments of `layerlaw measure`.
#[derive(Args, Debug)]
pub struct MeasureArgs {
    /// A .safetensors file, an .npz file (numpy.savez), a .npy file or a directory of .npy files. Give two
    /// or more (e.g. `train.npz test.npz`) to measure each and report them side by side, each named by its
    /// file stem (its split).
    #[arg(required = true, num_args = 1..)]
    pub files: Vec<PathBuf>,
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
    /// Draw ln D_l against l with the fitted line and the residuals (.svg or .png); several files are
    /// drawn side by side.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Layers that enter the law fit: indices and inclusive ranges, e.g. `1..` (layer 1 to the last),
    /// `0,2..5`; `all` (the default) fits every layer. The fit uses the layers' real indices l.
    #[arg(long, default_value = "all", value_name = "LAYERS")]
    pub fit_layers: FitLayers,
    /// Also write the per-layer table as CSV (one row per layer, a `split` column with several files;
    /// columns in docs/csv.md).
    #[arg(long, value_name = "PATH")]
    pub csv: Option<PathBuf>,
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

/// One file's entry of the `measure --json` object with several files.
#[derive(Serialize)]
struct SplitJson<'a> {
    split: &'a str,
    file: String,
    #[serde(flatten)]
    report: &'a Report,
}

/// The `measure --json` object with several files: `{"splits": [...]}`.
#[derive(Serialize)]
struct SplitsJson<'a> {
    splits: Vec<SplitJson<'a>>,
}

/// The split name of each file: its stem, or its whole path when two stems are equal.
fn split_names(files: &[PathBuf]) -> Vec<String> {
    let stem = |p: &Path| {
        p.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string())
    };
    let stems: Vec<String> = files.iter().map(|p| stem(p)).collect();
    stems
        .iter()
        .zip(files)
        .map(|(s, p)| {
            if stems.iter().filter(|t| *t == s).count() > 1 {
                p.display().to_string()
            } else {
                s.clone()
            }
        })
        .collect()
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
    let minority = args.minority.clone().unwrap_or_default();
    let mut measured = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let set = load_feature_set(path, &sel)?;
        let report = measure_feature_set(&set, args.num_classes, &minority, &args.fit_layers)?;
        measured.push((set.path.display().to_string(), report));
    }
    if let [(file, report)] = measured.as_slice() {
        return single(args, file, report);
    }
    let names = split_names(&args.files);
    let views: Vec<SplitView<'_>> = names
        .iter()
        .zip(&measured)
        .map(|(name, (_, report))| SplitView::of(name, report))
        .collect();
    if let Some(path) = &args.plot {
        let title = format!("Separation fuzziness by layer: {}", names.join(" vs "));
        plot::render(&law_chart_splits(&title, &views), path)?;
    }
    if let Some(path) = &args.csv {
        write_splits_csv(path, &views)?;
    }
    if args.json {
        let splits = names
            .iter()
            .zip(&measured)
            .map(|(name, (file, report))| SplitJson {
                split: name,
                file: file.clone(),
                report,
            })
            .collect();
        print_json(&SplitsJson { splits });
        return Ok(());
    }
    for (name, (file, report)) in names.iter().zip(&measured) {
        println!(
            "{name}: {file}: n = {}, K = {}, class counts {:?}",
            report.n, report.classes, report.class_counts
        );
    }
    print_splits(&views);
    for (name, (_, report)) in names.iter().zip(&measured) {
        if let Some(c) = &report.classifier {
            println!(
                "classifier ({name}): {}",
                serde_json::to_string_pretty(c).expect("serialisable")
            );
        }
        let notes: Vec<String> = report
            .notes
            .iter()
            .map(|n| format!("{name}: {n}"))
            .collect();
        print_notes(&notes);
    }
    Ok(())
}

/// The output of one file (the table, or the JSON object with its `file` key).
fn single(args: &MeasureArgs, file: &str, report: &Report) -> Result<(), CliError> {
    if let Some(path) = &args.plot {
        let title = format!("Separation fuzziness by layer: {}", args.files[0].display());
        plot::render(
            &law_chart(&title, &report.layers, report.law.as_ref()),
            path,
        )?;
    }
    if let Some(path) = &args.csv {
        write_splits_csv(path, &[SplitView::of("", report)])?;
    }
    if args.json {
        print_json(&MeasureJson {
            file: file.to_string(),
            report,
        });
        return Ok(());
    }
    print_report(file, "", report);
    Ok(())
}
