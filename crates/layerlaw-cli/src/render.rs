//! Presentation shared by the commands that measure layers (`measure`, `measure-model`, `law`,
//! `imbalance`): the whole report, the per-layer table, the law line, notes, and the ln D_l
//! chart.

use layerlaw_experiments::{LayerReport, Report};
use layerlaw_geometry::{LawFit, LawIntervals};

use crate::output::{fmt_num, fmt_opt, Table};
use crate::plot::{Chart, Mark, Series};

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
