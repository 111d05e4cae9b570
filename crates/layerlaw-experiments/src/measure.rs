//! [`measure_feature_set`]: the report of a feature file read by `layerlaw-io` (what
//! `layerlaw measure FILE` prints).

use faer::MatRef;
use layerlaw_geometry::{FitLayers, GeometryError, Labels, NamedLayer};
use layerlaw_io::FeatureSet;

use crate::builder::{Classifier, ReportBuilder};
use crate::error::{ExperimentError, Result};
use crate::report::Report;

/// Measures every layer of `set`, fits the law over the layers `fit_layers` selects (at their
/// indices in file order) and, when the set holds a classifier weight, compares it with the last
/// layer (`minority` classes for the group geometry).
///
/// `num_classes = None` infers $K$ = largest label + 1. The set's notes (arrays skipped,
/// conversions) open the report's notes. A degenerate layer (all class means equal) is an error
/// naming the file and layer; a law that cannot be fitted is a note.
pub fn measure_feature_set(
    set: &FeatureSet,
    num_classes: Option<usize>,
    minority: &[usize],
    fit_layers: &FitLayers,
) -> Result<Report> {
    let file = set.path.display().to_string();
    let labels =
        Labels::new(&set.labels, num_classes).map_err(|source| ExperimentError::Labels {
            what: format!("labels of {file}"),
            source,
        })?;
    let layers = set
        .layers
        .iter()
        .map(|l| {
            l.view().ok_or_else(|| ExperimentError::UnviewableLayer {
                layer: l.name.clone(),
            })
        })
        .collect::<Result<Vec<NamedLayer<'_>>>>()?;
    let classifier = set.classifier_weight.as_ref().map(|(k, p, w)| Classifier {
        weight: MatRef::from_row_major_slice(w, *k, *p),
        bias: set.classifier_bias.as_deref(),
        minority,
    });
    let predictions = set
        .predictions
        .as_ref()
        .map(|p| {
            p.iter()
                .enumerate()
                .map(|(row, &v)| {
                    usize::try_from(v)
                        .ok()
                        .filter(|&c| c < labels.num_classes())
                        .ok_or_else(|| ExperimentError::Labels {
                            what: format!("predictions of {file}"),
                            source: GeometryError::LabelOutOfRange {
                                row,
                                value: v,
                                num_classes: labels.num_classes(),
                            },
                        })
                })
                .collect::<Result<Vec<usize>>>()
        })
        .transpose()?;
    ReportBuilder::new(&labels)
        .origin(file)
        .classifier(classifier)
        .predictions(predictions.as_deref())
        .notes(set.skipped.clone())
        .fit_layers(fit_layers.clone())
        .build(&layers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use layerlaw_io::{ArrayData, FeatureLayer};

    fn set(layers: Vec<FeatureLayer>, labels: Vec<i64>) -> FeatureSet {
        FeatureSet {
            path: "f.npz".into(),
            layers,
            labels,
            classifier_weight: None,
            classifier_bias: None,
            predictions: None,
            skipped: vec!["skipped \"x\"".into()],
        }
    }

    fn layer(name: &str, data: ArrayData) -> FeatureLayer {
        FeatureLayer {
            name: name.into(),
            index: 0,
            rows: 4,
            cols: 1,
            data: data.into(),
        }
    }

    #[test]
    fn f32_and_f64_layers_give_the_same_report() {
        // Two classes at 0 and 1 with within-class deviations ±0.1 and ±0.2:
        // SS_w = (0.01 + 0.01 + 0.04 + 0.04) / 4 = 0.025, SS_b = 0.25, D = 0.1 (exact case).
        let x64 = vec![-0.1, 0.1, 0.8, 1.2];
        let x32: Vec<f32> = vec![-0.1, 0.1, 0.8, 1.2];
        let s = set(
            vec![
                layer("a", ArrayData::F64(x64)),
                layer("b", ArrayData::F32(x32)),
            ],
            vec![0, 0, 1, 1],
        );
        let r = measure_feature_set(&s, None, &[], &FitLayers::all()).unwrap();
        assert!((r.layers[0].fuzziness() - 0.1).abs() < 1e-15);
        assert!((r.layers[1].fuzziness() - 0.1).abs() < 1e-7);
        assert_eq!(r.notes[0], "skipped \"x\"");
        assert_eq!((r.n, r.classes, r.balanced), (4, 2, true));
        assert!(r.law.is_some());
    }

    #[test]
    fn bad_labels_and_integer_layers_are_named() {
        let s = set(
            vec![layer("a", ArrayData::F64(vec![0.0; 4]))],
            vec![0, 0, 1, -1],
        );
        let err = measure_feature_set(&s, None, &[], &FitLayers::all()).unwrap_err();
        assert!(err.to_string().starts_with("labels of f.npz"), "{err}");
        let s = set(
            vec![layer("ints", ArrayData::Int(vec![0; 4]))],
            vec![0, 0, 1, 1],
        );
        let err = measure_feature_set(&s, None, &[], &FitLayers::all()).unwrap_err();
        assert!(matches!(err, ExperimentError::UnviewableLayer { ref layer } if layer == "ints"));
    }
}
