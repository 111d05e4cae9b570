//! `layerlaw measure FILE`: separation fuzziness, NC metrics and the law fit of features saved by any framework.

use std::path::PathBuf;

use clap::Args;
use layerlaw_geometry::{Labels, LawFit};
use layerlaw_io::{load_feature_set, FeatureSet, Selection};
use serde::Serialize;

use crate::analysis::{
    analyse_classifier, analyse_layers, ClassifierReport, Definitions, LayerData, LayerInput,
    LayerReport, DEFINITIONS,
};
use crate::error::CliError;
use crate::output::{fmt_num, fmt_opt, print_json, Table};
use crate::plot::{self, Chart, Mark, Series};

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
    /// Comma-separated minority classes, for the classifier group geometry.
    #[arg(long, value_delimiter = ',')]
    pub minority: Option<Vec<usize>>,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Draw ln D_l against l with the fitted line (.svg or .png).
    #[arg(long)]
    pub plot: Option<PathBuf>,
}

/// The `measure --json` report.
#[derive(Debug, Serialize)]
pub struct MeasureReport {
    /// The file measured.
    pub file: String,
    /// Number of points n.
    pub n: usize,
    /// Number of classes K.
    pub classes: usize,
    /// n_k per class.
    pub class_counts: Vec<usize>,
    /// Whether every class has the same count (then D = K·NC1).
    pub balanced: bool,
    /// Which convention each number uses.
    pub definitions: Definitions,
    /// One entry per layer, in fit order.
    pub layers: Vec<LayerReport>,
    /// The law-of-equi-separation fit (absent with a single layer).
    pub law: Option<LawFit>,
    /// Classifier metrics, when a classifier weight was given.
    pub classifier: Option<ClassifierReport>,
    /// Arrays skipped and other remarks.
    pub notes: Vec<String>,
}

fn layer_inputs(set: &FeatureSet) -> Vec<LayerInput<'_>> {
    set.layers
        .iter()
        .map(|l| LayerInput {
            name: l.name.clone(),
            dim: l.cols,
            data: match l.view() {
                Some(view) => LayerData::Matrix(view.features),
                None => unreachable!("layerlaw-io only returns float layers of rows × cols values"),
            },
        })
        .collect()
}

/// Builds the report of a loaded feature set.
pub fn measure_set(
    set: &FeatureSet,
    num_classes: Option<usize>,
    minority: &[usize],
) -> Result<MeasureReport, CliError> {
    let file = set.path.display().to_string();
    let labels = Labels::new(&set.labels, num_classes).map_err(|source| CliError::Analysis {
        context: format!("labels of {file}"),
        source,
    })?;
    let inputs = layer_inputs(set);
    let (layers, law) = analyse_layers(&file, &inputs, &labels, None)?;
    let classifier = match (&set.classifier_weight, inputs.last()) {
        (Some((k, _p, w)), Some(last)) => Some(analyse_classifier(
            last,
            &labels,
            w,
            *k,
            set.classifier_bias.as_deref(),
            minority,
        )?),
        _ => None,
    };
    Ok(MeasureReport {
        file,
        n: labels.len(),
        classes: labels.num_classes(),
        class_counts: labels.counts().to_vec(),
        balanced: labels.is_balanced(),
        definitions: DEFINITIONS,
        layers,
        law,
        classifier,
        notes: set.skipped.clone(),
    })
}

/// Draws ln D_l against l with the fitted line.
pub fn law_chart(title: &str, layers: &[LayerReport], law: Option<&LawFit>) -> Chart {
    let mut series = vec![Series {
        name: "ln D (measured)".into(),
        points: layers
            .iter()
            .map(|l| (l.index as f64, l.fuzziness().ln()))
            .collect(),
        mark: Mark::Points,
    }];
    if let Some(fit) = law {
        let last = layers.len().saturating_sub(1) as f64;
        series.push(Series {
            name: format!("fit: rho = {:.3}, r = {}", fit.rho, fmt_opt(fit.pearson_r)),
            points: vec![
                (0.0, fit.intercept),
                (last, fit.intercept + fit.slope * last),
            ],
            mark: Mark::Line,
        });
    }
    Chart {
        title: title.to_string(),
        x_label: "layer l".into(),
        y_label: "ln D_l".into(),
        series,
    }
}

/// Prints the per-layer table and the fit.
pub fn print_layers(layers: &[LayerReport], law: Option<&LawFit>, balanced: bool) {
    let mut t = Table::new(&["layer", "l", "dim", "D (He-Su)", "NC1 (Papyan)", "ln D"]);
    for l in layers {
        t.row(vec![
            l.name.clone(),
            l.index.to_string(),
            l.separation.dim.to_string(),
            fmt_num(l.fuzziness()),
            fmt_num(l.separation.nc1),
            fmt_num(l.fuzziness().ln()),
        ]);
    }
    print!("{}", t.render());
    if balanced {
        println!("balanced classes: D = K * NC1");
    } else {
        println!("imbalanced classes: D (n_k-weighted) and NC1 (unweighted class means) differ");
    }
    if let Some(f) = law {
        println!(
            "law of equi-separation: ln D_l = {:.4} + {:.4} l   rho = {:.4}   R^2 = {:.4}   Pearson r = {}",
            f.intercept,
            f.slope,
            f.rho,
            f.r2,
            fmt_opt(f.pearson_r)
        );
    }
}

/// Runs `layerlaw measure`.
pub fn run(args: &MeasureArgs) -> Result<(), CliError> {
    let sel = Selection {
        labels_key: args.labels.clone(),
        layers: args.layers.clone(),
        classifier_weight: args.classifier_weight.clone(),
        classifier_bias: args.classifier_bias.clone(),
        ..Selection::default()
    };
    let set = load_feature_set(&args.file, &sel)?;
    let minority = args.minority.clone().unwrap_or_default();
    let report = measure_set(&set, args.num_classes, &minority)?;
    if let Some(path) = &args.plot {
        let title = format!("Separation fuzziness by layer: {}", args.file.display());
        plot::render(
            &law_chart(&title, &report.layers, report.law.as_ref()),
            path,
        )?;
    }
    if args.json {
        print_json(&report);
        return Ok(());
    }
    println!(
        "{}: n = {}, K = {}, class counts {:?}",
        report.file, report.n, report.classes, report.class_counts
    );
    print_layers(&report.layers, report.law.as_ref(), report.balanced);
    if let Some(c) = &report.classifier {
        println!("{}", serde_json::to_string_pretty(c).expect("serialisable"));
    }
    for note in &report.notes {
        println!("note: {note}");
    }
    Ok(())
}
