//! Presentation shared by the commands that measure layers (`measure`, `measure-model`, `law`,
//! `imbalance`): the whole report, the per-layer table (one split or several side by side), the
//! law line, notes, the ln D_l chart with its residual panel, and the CSV file.

use std::path::Path;

use layerlaw_experiments::csv::{layers_csv, CsvGroup};
use layerlaw_experiments::{LayerReport, Report};
use layerlaw_geometry::{LawFit, LawIntervals};

use crate::error::CliError;
use crate::output::{fmt_num, fmt_opt, write_text, Table};
use crate::plot::{Chart, Mark, Series};

/// The layers and law fit of one split (a file, the training or test set), named.
#[derive(Clone, Copy, Debug)]
pub struct SplitView<'a> {
    /// The split's name (empty for a lone report).
    pub name: &'a str,
    /// Its layers.
    pub layers: &'a [LayerReport],
    /// Its law fit.
    pub law: Option<&'a LawFit>,
}

impl<'a> SplitView<'a> {
    /// The view of `report` named `name`.
    pub fn of(name: &'a str, report: &'a Report) -> Self {
        SplitView {
            name,
            layers: &report.layers,
            law: report.law.as_ref(),
        }
    }

    fn suffix(&self) -> String {
        if self.name.is_empty() {
            String::new()
        } else {
            format!(" ({})", self.name)
        }
    }

    fn fitted(&self, l: usize) -> bool {
        self.law.is_none_or(|f| f.fit_layers.contains(&l))
    }

    fn residual(&self, l: usize) -> Option<f64> {
        self.law.and_then(|f| f.residuals.get(l).copied())
    }
}

/// Draws ln D_l against l with the fitted line and the residual panel.
pub fn law_chart(title: &str, layers: &[LayerReport], law: Option<&LawFit>) -> Chart {
    law_chart_splits(
        title,
        &[SplitView {
            name: "",
            layers,
            law,
        }],
    )
}

/// Draws ln D_l against l for every split side by side (fitted layers filled, the others hollow
/// and grey under "not fitted"), each with its fitted line, and the residuals in a lower panel.
pub fn law_chart_splits(title: &str, splits: &[SplitView<'_>]) -> Chart {
    let (mut series, mut lower) = (Vec::new(), Vec::new());
    let (mut hollow, mut hollow_residuals) = (Vec::new(), Vec::new());
    for s in splits {
        let suffix = s.suffix();
        let (mut fitted, mut resid) = (Vec::new(), Vec::new());
        for l in s.layers {
            let point = (l.index as f64, l.fuzziness().ln());
            let r = s.residual(l.index).map(|r| (l.index as f64, r));
            if s.fitted(l.index) {
                fitted.push(point);
                resid.extend(r);
            } else {
                hollow.push(point);
                hollow_residuals.extend(r);
            }
        }
        series.push(Series {
            name: format!("ln D (measured){suffix}"),
            points: fitted,
            mark: Mark::Points,
        });
        lower.push(Series {
            name: format!("residual{suffix}"),
            points: resid,
            mark: Mark::Points,
        });
        if let Some(fit) = s.law {
            let last = s.layers.len().saturating_sub(1) as f64;
            series.push(Series {
                name: format!(
                    "fit{suffix}: rho = {:.3}, r = {}",
                    fit.rho,
                    fmt_opt(fit.pearson_r)
                ),
                points: vec![
                    (0.0, fit.intercept),
                    (last, fit.intercept + fit.slope * last),
                ],
                mark: Mark::Line,
            });
            // Keeps the residuals in the colours of their split's points.
            lower.push(Series {
                name: String::new(),
                points: Vec::new(),
                mark: Mark::Line,
            });
        }
    }
    if !hollow.is_empty() {
        series.push(Series {
            name: "not fitted".into(),
            points: hollow,
            mark: Mark::Hollow,
        });
        lower.push(Series {
            name: String::new(),
            points: hollow_residuals,
            mark: Mark::Hollow,
        });
    }
    if splits.iter().all(|s| s.law.is_none()) {
        lower.clear();
    }
    Chart {
        title: title.to_string(),
        x_label: "layer l".into(),
        y_label: "ln D_l".into(),
        series,
        lower,
        lower_label: "residual".into(),
    }
}

/// `a..b` runs of consecutive indices, comma-separated (e.g. `0,2..5`).
pub fn fmt_layers(indices: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let mut j = i;
        while j + 1 < indices.len() && indices[j + 1] == indices[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}..{}", indices[i], indices[j])
        } else {
            indices[i].to_string()
        });
        i = j + 1;
    }
    parts.join(",")
}

/// The law line: `ln D_l = a + b l   rho = ..   R^2 = ..   Pearson r = ..` and, when not every
/// one of `layers` layers was fitted, the fitted layers.
fn law_line(f: &LawFit, layers: usize) -> String {
    let subset = if f.fit_layers.len() == layers {
        String::new()
    } else {
        format!("   fitted layers {}", fmt_layers(&f.fit_layers))
    };
    format!(
        "ln D_l = {:.4} + {:.4} l   rho = {:.4}   R^2 = {:.4}   Pearson r = {}{subset}",
        f.intercept,
        f.slope,
        f.rho,
        f.r2,
        fmt_opt(f.pearson_r)
    )
}

/// A residual cell: the value, in parentheses for a layer left out of the fit.
fn residual_cell(s: &SplitView<'_>, l: usize) -> String {
    match s.residual(l) {
        Some(r) if s.fitted(l) => fmt_num(r),
        Some(r) => format!("({})", fmt_num(r)),
        None => String::new(),
    }
}

const LEFT_OUT: &str = "residual in parentheses: layer left out of the law fit";

/// Prints the per-layer table and the fit.
pub fn print_layers(layers: &[LayerReport], law: Option<&LawFit>, balanced: bool) {
    let view = SplitView {
        name: "",
        layers,
        law,
    };
    let mut t = Table::new(&[
        "layer",
        "l",
        "dim",
        "D (He-Su)",
        "NC1 (Papyan)",
        "ln D",
        "residual",
    ]);
    for l in layers {
        t.row(vec![
            l.name.clone(),
            l.index.to_string(),
            l.separation.dim.to_string(),
            fmt_num(l.fuzziness()),
            fmt_num(l.separation.nc1),
            fmt_num(l.fuzziness().ln()),
            residual_cell(&view, l.index),
        ]);
    }
    print!("{}", t.render());
    if balanced {
        println!("balanced classes: D = K * NC1");
    } else {
        println!("imbalanced classes: D (n_k-weighted) and NC1 (unweighted class means) differ");
    }
    if let Some(f) = law {
        println!("law of equi-separation: {}", law_line(f, layers.len()));
        if f.fit_layers.len() < layers.len() {
            println!("{LEFT_OUT}");
        }
    }
}

/// Prints the layers of several splits side by side (one D and one residual column per split,
/// rows matched by layer index), then each split's law line.
pub fn print_splits(splits: &[SplitView<'_>]) {
    let rows = splits.iter().map(|s| s.layers.len()).max().unwrap_or(0);
    let mut header = vec!["layer".to_string(), "l".to_string()];
    for s in splits {
        header.push(format!("D ({})", s.name));
        header.push(format!("residual ({})", s.name));
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut t = Table::new(&header);
    for l in 0..rows {
        let mut names: Vec<&str> = splits
            .iter()
            .filter_map(|s| s.layers.get(l).map(|x| x.name.as_str()))
            .collect();
        names.dedup();
        let mut row = vec![names.join(" / "), l.to_string()];
        for s in splits {
            match s.layers.get(l) {
                Some(layer) => {
                    row.push(fmt_num(layer.fuzziness()));
                    row.push(residual_cell(s, l));
                }
                None => row.extend(["-".to_string(), "-".to_string()]),
            }
        }
        t.row(row);
    }
    print!("{}", t.render());
    let mut left_out = false;
    for s in splits {
        match s.law {
            Some(f) => {
                println!("law ({}): {}", s.name, law_line(f, s.layers.len()));
                left_out |= f.fit_layers.len() < s.layers.len();
            }
            None => println!("law ({}): not fitted (see the notes)", s.name),
        }
    }
    if left_out {
        println!("{LEFT_OUT}");
    }
}

/// Writes the per-layer CSV of `splits` to `path` (a `split` column when there are several).
pub fn write_splits_csv(path: &Path, splits: &[SplitView<'_>]) -> Result<(), CliError> {
    let groups: Vec<CsvGroup<'_>> = splits
        .iter()
        .map(|s| CsvGroup {
            label: s.name,
            layers: s.layers,
            law: s.law,
        })
        .collect();
    let label = (splits.len() > 1).then_some("split");
    write_text(path, &layers_csv(label, &groups))
}

/// Prints a whole report: `{source}: n = .., K = .., class counts [..]{extra}`, the per-layer
/// table with the law line, the classifier metrics (JSON) and the notes.
pub fn print_report(source: &str, extra: &str, report: &Report) {
    println!(
        "{source}: n = {}, K = {}, class counts {:?}{extra}",
        report.n, report.classes, report.class_counts
    );
    print_layers(&report.layers, report.law.as_ref(), report.balanced);
    print_intervals(report.law_intervals.as_ref());
    print_family(&report.layers);
    if let Some(c) = &report.classifier {
        println!("{}", serde_json::to_string_pretty(c).expect("serialisable"));
    }
    print_notes(&report.notes);
}

/// Prints every note as `note: ...` on stdout.
pub fn print_notes(notes: &[String]) {
    for note in notes {
        println!("note: {note}");
    }
}

/// Prints the bootstrap intervals of the law fit, when there are some.
pub fn print_intervals(intervals: Option<&LawIntervals>) {
    let Some(iv) = intervals else { return };
    let pct = iv.level * 100.0;
    let r = iv
        .pearson_r
        .map(|i| format!("[{:.4}, {:.4}]", i.low, i.high))
        .unwrap_or_else(|| "n/a".into());
    println!(
        "{pct:.0}% bootstrap intervals ({} replicates, {} groups per class, seed {}): rho [{:.4}, {:.4}]   slope [{:.4}, {:.4}]   Pearson r {r}",
        iv.replicates, iv.groups, iv.seed, iv.rho.low, iv.rho.high, iv.slope.low, iv.slope.high
    );
}

/// Prints the rest of the neural-collapse family per layer (trace-quotient NC1, CDNV, GNC2,
/// NCC accuracy and agreement, the rank of SS_b and its smallest kept singular-value ratio),
/// then the per-class fuzziness D_k of the last layer when K <= 20.
pub fn print_family(layers: &[LayerReport]) {
    let mut t = Table::new(&[
        "layer",
        "NC1 quotient",
        "CDNV",
        "GNC2 log energy",
        "GNC2 log var",
        "NCC acc",
        "NCC agree",
        "rank SS_b",
        "s_min/s_1",
    ]);
    for l in layers {
        let s = &l.separation;
        t.row(vec![
            l.name.clone(),
            fmt_num(s.nc1_quotient),
            fmt_opt(s.cdnv),
            fmt_opt(s.gnc2_log_energy),
            fmt_opt(s.gnc2_log_variance),
            fmt_opt(s.ncc_accuracy),
            fmt_opt(s.ncc_agreement),
            s.rank.to_string(),
            format!("{:.2e}", s.min_singular_ratio),
        ]);
    }
    print!("{}", t.render());
    if let Some(last) = layers.last() {
        let d = &last.separation.class_fuzziness;
        if !d.is_empty() && d.len() <= 20 {
            let per: Vec<String> = d
                .iter()
                .enumerate()
                .map(|(k, v)| format!("{k}: {}", fmt_num(*v)))
                .collect();
            println!("per-class D_k of '{}': {}", last.name, per.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_lists_are_compact() {
        assert_eq!(fmt_layers(&[0, 2, 3, 4, 5]), "0,2..5");
        assert_eq!(fmt_layers(&[1, 2]), "1..2");
        assert_eq!(fmt_layers(&[3]), "3");
        assert_eq!(fmt_layers(&[]), "");
    }
}
