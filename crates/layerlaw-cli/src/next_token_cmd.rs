//! `layerlaw next-token FILE --tokens KEY`: the prediction residual of every layer and the law
//! of next-token prediction (He & Su, arXiv:2408.13442) from features saved by any framework.

use std::path::PathBuf;

use clap::Args;
use layerlaw_experiments::ExperimentError;
use layerlaw_geometry::{
    next_token_report, GeometryError, NextTokenFit, NextTokenReport, PredictionResidual,
    PredictionTarget,
};
use layerlaw_io::{load_feature_set, Selection};
use serde::Serialize;

use crate::error::CliError;
use crate::output::{fmt_num, print_json, Table};

/// Arguments of `layerlaw next-token`.
#[derive(Args, Debug)]
pub struct NextTokenArgs {
    /// A .safetensors file, an .npz file (numpy.savez), a .npy file or a directory of .npy files;
    /// row j of every layer is one token position.
    pub file: PathBuf,
    /// Key of the integer array holding, for every row, the id of the token that follows it.
    #[arg(long, default_value = "next_tokens")]
    pub tokens: String,
    /// Comma-separated layer keys in depth order, the embeddings first (default: every float
    /// array, in natural key order).
    #[arg(long, value_delimiter = ',')]
    pub layers: Option<Vec<String>>,
    /// Vocabulary size V (default: largest next-token id + 1; PR does not depend on it).
    #[arg(long)]
    pub vocab_size: Option<usize>,
    /// Regression target: one-hot (the paper's wording) or token-id (the official code).
    #[arg(long, default_value = "one-hot", value_parser = parse_target)]
    pub target: PredictionTarget,
    /// Layers of the law fit: auto (all but layer 0 when there are at least 3), all, or
    /// START..END (END excluded).
    #[arg(long, default_value = "auto", value_parser = parse_fit)]
    pub fit: NextTokenFit,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

fn parse_target(s: &str) -> Result<PredictionTarget, String> {
    PredictionTarget::parse(s).ok_or_else(|| format!("expected one-hot or token-id, got {s:?}"))
}

fn parse_fit(s: &str) -> Result<NextTokenFit, String> {
    match s {
        "auto" => Ok(NextTokenFit::Auto),
        "all" => Ok(NextTokenFit::All),
        _ => {
            let bad = || format!("expected auto, all or START..END, got {s:?}");
            let (a, b) = s.split_once("..").ok_or_else(bad)?;
            Ok(NextTokenFit::Range {
                start: a.trim().parse().map_err(|_| bad())?,
                end: b.trim().parse().map_err(|_| bad())?,
            })
        }
    }
}

/// The `next-token --json` object: the file and token key, then the report's fields.
#[derive(Serialize)]
struct NextTokenJson<'a> {
    file: String,
    tokens: &'a str,
    #[serde(flatten)]
    report: &'a NextTokenReport,
}

/// Runs `layerlaw next-token`.
pub fn run(args: &NextTokenArgs) -> Result<(), CliError> {
    let sel = Selection {
        labels_key: args.tokens.clone(),
        layers: args.layers.clone(),
        skip_mismatched: false,
        ..Selection::default()
    };
    let set = load_feature_set(&args.file, &sel)?;
    let file = set.path.display().to_string();
    let tokens = set
        .labels
        .iter()
        .enumerate()
        .map(|(row, &value)| {
            usize::try_from(value).map_err(|_| ExperimentError::Labels {
                what: format!("next tokens {:?} of {file}", args.tokens),
                source: GeometryError::NegativeLabel { row, value },
            })
        })
        .collect::<Result<Vec<usize>, _>>()?;
    let vocab = args
        .vocab_size
        .unwrap_or_else(|| tokens.iter().max().map_or(2, |&m| (m + 1).max(2)));
    let mut reports = Vec::with_capacity(set.layers.len());
    for layer in &set.layers {
        let named = layer
            .view()
            .ok_or_else(|| ExperimentError::UnviewableLayer {
                layer: layer.name.clone(),
            })?;
        let result = PredictionResidual::new(named.name, named.ncols(), vocab, args.target)
            .and_then(|mut acc| {
                acc.update(named.features, &tokens)?;
                acc.finish()
            });
        reports.push(result.map_err(|source| ExperimentError::Layer {
            origin: Some(file.clone()),
            layer: layer.name.clone(),
            source,
        })?);
    }
    let report = next_token_report(reports, args.fit);
    if args.json {
        print_json(&NextTokenJson {
            file,
            tokens: &args.tokens,
            report: &report,
        });
        return Ok(());
    }
    print_table(&file, &report);
    Ok(())
}

fn print_table(file: &str, report: &NextTokenReport) {
    println!(
        "{file}: {} token positions, vocabulary {}, target {}",
        report.rows,
        report.vocab,
        report.target.name()
    );
    let mut table = Table::new(&["layer", "dim", "rank", "PR", "ln PR"]);
    for l in &report.layers {
        table.row(vec![
            l.layer.clone(),
            l.dim.to_string(),
            l.rank.to_string(),
            fmt_num(l.pr),
            fmt_num(l.pr.ln()),
        ]);
    }
    print!("{}", table.render());
    match &report.law {
        Some(law) => {
            let (first, last) = (law.layers[0], law.layers[law.layers.len() - 1]);
            println!(
                "law PR_l ~ rho^l PR_0 over layers {first}..={last}: rho = {}, ln rho = {}, R^2 = {}, Pearson r = {}, PR_last/PR_first = {}",
                fmt_num(law.fit.rho),
                fmt_num(law.fit.slope),
                fmt_num(law.fit.r2),
                law.fit.pearson_r.map_or_else(|| "n/a".into(), fmt_num),
                fmt_num(law.ratio_last_first)
            );
        }
        None => {
            for note in &report.notes {
                println!("{note}");
            }
        }
    }
}
