//! Per-layer tables as CSV: one row per layer, columns defined once in [`layer_columns`] (so a
//! new per-layer metric is added in one place) and documented in `docs/csv.md`.
//!
//! Every front end writes the same columns: `layerlaw measure`, `law` and `imbalance --csv`,
//! with a leading `split` column (several splits) or `run` column (imbalance runs). Fields are
//! quoted as RFC 4180 says (a field holding a comma, a quote or a line break is put in double
//! quotes, quotes doubled); lines end in `\n`. Numbers are written so that they read back to the
//! same `f64` (shortest round-trip form, with an exponent outside $[10^{-5}, 10^{15})$); an
//! absent value is an empty field, a non-finite one `NaN`, `inf` or `-inf`.

use layerlaw_geometry::LawFit;

use crate::report::LayerReport;

/// One layer as a CSV row sees it: the layer and the law fit of its report, if any.
#[derive(Clone, Copy, Debug)]
pub struct LayerRow<'a> {
    /// The layer.
    pub layer: &'a LayerReport,
    /// The law fit of the report the layer belongs to (`None`: not fitted).
    pub law: Option<&'a LawFit>,
}

/// One column of the per-layer CSV.
#[derive(Clone, Copy, Debug)]
pub struct LayerColumn {
    /// Header name (stable; `docs/csv.md` lists them).
    pub name: &'static str,
    /// What the column holds.
    pub description: &'static str,
    /// The field of a row, unquoted (an empty string when absent).
    pub value: fn(&LayerRow<'_>) -> String,
}

/// Formats a number so that it reads back to the same `f64` (see the module documentation).
pub fn csv_number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = x.abs();
    if a == 0.0 || (1e-5..1e15).contains(&a) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

fn opt(x: Option<f64>) -> String {
    x.map(csv_number).unwrap_or_default()
}

fn fitted(row: &LayerRow<'_>) -> Option<bool> {
    row.law.map(|f| f.fit_layers.contains(&row.layer.index))
}

fn residual(row: &LayerRow<'_>) -> Option<f64> {
    row.law
        .and_then(|f| f.residuals.get(row.layer.index).copied())
}

/// The per-layer columns, in order. Add a per-layer metric here and every `--csv` output and
/// `docs/csv.md` table gains it.
pub fn layer_columns() -> &'static [LayerColumn] {
    const COLUMNS: &[LayerColumn] = &[
        LayerColumn {
            name: "layer",
            description: "layer name (file key, module or block name)",
            value: |r| r.layer.name.clone(),
        },
        LayerColumn {
            name: "l",
            description: "layer index l in the law fit (0 = first layer)",
            value: |r| r.layer.index.to_string(),
        },
        LayerColumn {
            name: "dim",
            description: "feature dimension p",
            value: |r| r.layer.separation.dim.to_string(),
        },
        LayerColumn {
            name: "samples",
            description: "number of samples n",
            value: |r| r.layer.separation.num_samples.to_string(),
        },
        LayerColumn {
            name: "classes",
            description: "number of classes K",
            value: |r| r.layer.separation.num_classes.to_string(),
        },
        LayerColumn {
            name: "fuzziness",
            description: "He-Su separation fuzziness D = Tr(SS_w SS_b^+)",
            value: |r| csv_number(r.layer.separation.fuzziness),
        },
        LayerColumn {
            name: "ln_fuzziness",
            description: "ln D",
            value: |r| csv_number(r.layer.separation.fuzziness.ln()),
        },
        LayerColumn {
            name: "nc1",
            description: "Papyan NC1 = Tr(Sigma_W Sigma_B^+)/K",
            value: |r| csv_number(r.layer.separation.nc1),
        },
        LayerColumn {
            name: "rank",
            description: "directions of SS_b kept by the pseudo-inverse",
            value: |r| r.layer.separation.rank.to_string(),
        },
        LayerColumn {
            name: "rank_nc1",
            description: "directions of Sigma_B kept for NC1",
            value: |r| r.layer.separation.rank_nc1.to_string(),
        },
        LayerColumn {
            name: "trace_within",
            description: "Tr SS_w",
            value: |r| csv_number(r.layer.separation.trace_within),
        },
        LayerColumn {
            name: "trace_between",
            description: "Tr SS_b",
            value: |r| csv_number(r.layer.separation.trace_between),
        },
        LayerColumn {
            name: "equinorm",
            description: "NC2 equinorm (std/mean of the centred class-mean norms)",
            value: |r| csv_number(r.layer.separation.equinorm),
        },
        LayerColumn {
            name: "equiangularity",
            description: "NC2 equiangularity (empty when undefined)",
            value: |r| opt(r.layer.separation.equiangularity),
        },
        LayerColumn {
            name: "etf_distance",
            description: "distance of the class-mean Gram matrix to a simplex ETF",
            value: |r| csv_number(r.layer.separation.etf_distance),
        },
        LayerColumn {
            name: "nc1_quotient",
            description: "trace-quotient NC1 = Tr Sigma_W / Tr Sigma_B",
            value: |r| csv_number(r.layer.separation.nc1_quotient),
        },
        LayerColumn {
            name: "cdnv",
            description: "class-distance normalised variance (empty without per-class sums or when two class means coincide)",
            value: |r| opt(r.layer.separation.cdnv),
        },
        LayerColumn {
            name: "gnc2_log_energy",
            description: "GNC2 hyperspherical energy, log kernel, of the normalised centred class means (empty when undefined)",
            value: |r| opt(r.layer.separation.gnc2_log_energy),
        },
        LayerColumn {
            name: "gnc2_log_variance",
            description: "variance over class pairs of the log-kernel values (empty when undefined)",
            value: |r| opt(r.layer.separation.gnc2_log_variance),
        },
        LayerColumn {
            name: "ncc_accuracy",
            description: "fraction of samples whose nearest class mean is their class (empty without per-class sums)",
            value: |r| opt(r.layer.separation.ncc_accuracy),
        },
        LayerColumn {
            name: "ncc_agreement",
            description: "fraction of samples whose nearest class mean is the model's prediction (empty without predictions)",
            value: |r| opt(r.layer.separation.ncc_agreement),
        },
        LayerColumn {
            name: "rank_tolerance",
            description: "relative cut-off of the pseudo-inverse of SS_b",
            value: |r| csv_number(r.layer.separation.rank_tolerance),
        },
        LayerColumn {
            name: "min_singular_ratio",
            description: "smallest kept singular value of SS_b^(1/2) over the largest",
            value: |r| csv_number(r.layer.separation.min_singular_ratio),
        },
        LayerColumn {
            name: "ood_deviation",
            description: "NC5, mean |cos(mu_k, mu_OOD)| (empty without an out-of-distribution set)",
            value: |r| opt(r.layer.separation.ood_deviation),
        },
        LayerColumn {
            name: "fitted",
            description:
                "whether the layer entered the law fit (`true`/`false`; empty without a fit)",
            value: |r| fitted(r).map(|b| b.to_string()).unwrap_or_default(),
        },
        LayerColumn {
            name: "residual",
            description: "ln D_l - (intercept + slope * l) of the law fit (empty without a fit)",
            value: |r| opt(residual(r)),
        },
    ];
    COLUMNS
}

/// Quotes a CSV field when it holds a comma, a double quote or a line break.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The layers of one report in a CSV: its label (split name or run number, when the CSV has a
/// leading label column), its layers and its law fit.
#[derive(Clone, Copy, Debug)]
pub struct CsvGroup<'a> {
    /// The value of the leading label column (ignored without one).
    pub label: &'a str,
    /// The layers, one row each.
    pub layers: &'a [LayerReport],
    /// The law fit of the report (`None`: not fitted).
    pub law: Option<&'a LawFit>,
}

/// The CSV text of `groups`: a header row, then one row per layer of each group in order.
/// With `label_column` (`"split"`, `"run"`) every row starts with its group's label.
pub fn layers_csv(label_column: Option<&str>, groups: &[CsvGroup<'_>]) -> String {
    let columns = layer_columns();
    let mut out = String::new();
    let header: Vec<String> = label_column
        .into_iter()
        .chain(columns.iter().map(|c| c.name))
        .map(csv_field)
        .collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for g in groups {
        for layer in g.layers {
            let row = LayerRow { layer, law: g.law };
            let cells: Vec<String> = label_column
                .map(|_| g.label.to_string())
                .into_iter()
                .chain(columns.iter().map(|c| (c.value)(&row)))
                .map(|c| csv_field(&c))
                .collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
    }
    out
}

/// `docs/csv.md`'s table of the per-layer columns (Markdown), from [`layer_columns`].
pub fn columns_markdown() -> String {
    let mut out = String::from("| column | meaning |\n|---|---|\n");
    for c in layer_columns() {
        out.push_str(&format!("| `{}` | {} |\n", c.name, c.description));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::ReportBuilder;
    use layerlaw_geometry::{Labels, NamedLayer};

    #[test]
    fn fields_are_quoted_and_numbers_round_trip() {
        assert_eq!(csv_field("fc1"), "fc1");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        for x in [0.1, 12.5, 1e-20, 3.0e17, -2.5e-7, 0.0, 123456.789] {
            assert_eq!(csv_number(x).parse::<f64>().unwrap(), x, "{x}");
        }
        assert_eq!(csv_number(1e-20), "1e-20");
        assert_eq!(csv_number(f64::NEG_INFINITY), "-inf");
        assert_eq!(csv_number(f64::NAN), "NaN");
    }

    #[test]
    fn rows_follow_the_column_list() {
        let labels = Labels::new(&[0, 0, 1, 1], None).unwrap();
        let (a, b) = ([-0.1f64, 0.1, 0.8, 1.2], [0.0f64, 0.1, 2.0, 2.05]);
        let layers = [
            NamedLayer::row_major_f64("fc,1", &a, 1).unwrap(),
            NamedLayer::row_major_f64("fc2", &b, 1).unwrap(),
        ];
        let r = ReportBuilder::new(&labels).build(&layers).unwrap();
        let text = layers_csv(
            Some("split"),
            &[CsvGroup {
                label: "train",
                layers: &r.layers,
                law: r.law.as_ref(),
            }],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("split,layer,l,dim,"), "{}", lines[0]);
        assert_eq!(
            lines[0].split(',').count(),
            layer_columns().len() + 1,
            "{}",
            lines[0]
        );
        assert!(
            lines[1].starts_with("train,\"fc,1\",0,1,4,2,"),
            "{}",
            lines[1]
        );
        let d: f64 = lines[2].split(',').nth(6).unwrap().parse().unwrap();
        assert_eq!(d, r.layers[1].fuzziness());
        assert!(lines[1].ends_with(&format!(
            ",true,{}",
            csv_number(r.law.as_ref().unwrap().residuals[0])
        )));
        let plain = layers_csv(
            None,
            &[CsvGroup {
                label: "",
                layers: &r.layers,
                law: None,
            }],
        );
        assert!(plain.starts_with("layer,l,"));
        assert!(plain.lines().nth(2).unwrap().ends_with(",,"));
        assert!(columns_markdown().contains("| `residual` |"));
    }

    #[test]
    fn docs_list_every_column() {
        let doc = include_str!("../../../docs/csv.md");
        assert!(
            doc.contains(&columns_markdown()),
            "docs/csv.md must hold this table:\n{}",
            columns_markdown()
        );
    }
}
