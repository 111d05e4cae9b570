//! [`ReportBuilder`]: from named layers, labels and an optional classifier to the [`Report`].
//!
//! Every front end goes through here: `layerlaw measure` (layers of a file), `layerlaw law` and
//! `layerlaw imbalance` (features of the networks trained here), and the Python module.

use faer::MatRef;
use layerlaw_geometry::{
    classifier_geometry, neural_collapse_classifier, separation_layers_with_predictions, FitLayers,
    GeometryError, Labels, LayerFeatures, NamedLayer, Separation, SeparationOptions,
};

use crate::error::{ExperimentError, Result};
use crate::report::{ClassifierReport, Report};

/// A last-layer linear classifier $x \mapsto Wx + b$ to compare with the last layer's features.
#[derive(Clone, Copy, Debug)]
pub struct Classifier<'a> {
    /// $W$, K×p (row k = class k), p = the last layer's dimension.
    pub weight: MatRef<'a, f64>,
    /// $b$ (length K), if any.
    pub bias: Option<&'a [f64]>,
    /// The minority classes, for the minority/majority group geometry (may be empty).
    pub minority: &'a [usize],
}

/// What to do with a layer whose class means are all equal to rounding ($SS_b = 0$, so $D$ is
/// undefined).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DegenerateLayer {
    /// Fail with [`ExperimentError::Layer`] (user files: the layer is bad input).
    #[default]
    Fail,
    /// End the report there: that layer and the ones after it are left out of the report and the
    /// fit, with a note (training runs: e.g. a deep net without BatchNorm that maps every input
    /// to the same point).
    EndReport,
}

/// Builds a [`Report`] from named layers sharing one set of labels.
///
/// ```
/// use layerlaw_experiments::ReportBuilder;
/// use layerlaw_geometry::{Labels, NamedLayer};
///
/// let labels = Labels::new(&[0, 0, 1, 1], None)?;
/// let (a, b) = ([0.0, 0.2, 1.0, 1.1], [0.0, 0.1, 2.0, 2.05]);
/// let layers = [
///     NamedLayer::row_major_f64("fc1", &a, 1)?,
///     NamedLayer::row_major_f64("fc2", &b, 1)?,
/// ];
/// let report = ReportBuilder::new(&labels).build(&layers)?;
/// assert_eq!(report.layers.len(), 2);
/// assert!(report.law.is_some());
/// // One layer: no law, and a note says why.
/// let single = ReportBuilder::new(&labels).build(&layers[..1])?;
/// assert!(single.law.is_none() && single.notes[0].starts_with("law not fitted"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ReportBuilder<'a> {
    labels: &'a Labels,
    predictions: Option<&'a [usize]>,
    origin: Option<String>,
    classifier: Option<Classifier<'a>>,
    degenerate: DegenerateLayer,
    fit_layers: FitLayers,
    notes: Vec<String>,
}

impl<'a> ReportBuilder<'a> {
    /// A builder over `labels` (one per row of every layer).
    pub fn new(labels: &'a Labels) -> Self {
        ReportBuilder {
            labels,
            predictions: None,
            origin: None,
            classifier: None,
            degenerate: DegenerateLayer::Fail,
            fit_layers: FitLayers::all(),
            notes: Vec::new(),
        }
    }

    /// Where the layers come from (a file name, "training features"), named in errors.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Also reports NC3/NC4 and the group geometry of `classifier` against the last layer.
    pub fn classifier(mut self, classifier: Option<Classifier<'a>>) -> Self {
        self.classifier = classifier;
        self
    }

    /// The model's predicted class of every row (e.g. the argmax of its logits): every layer
    /// then also reports how often its nearest class mean agrees with it (NC4 agreement,
    /// `ncc_agreement`).
    pub fn predictions(mut self, predictions: Option<&'a [usize]>) -> Self {
        self.predictions = predictions;
        self
    }

    /// What to do with a layer whose class means are all equal (default: fail).
    pub fn degenerate(mut self, policy: DegenerateLayer) -> Self {
        self.degenerate = policy;
        self
    }

    /// Which layers enter the law fit (default: all), at their real indices. It is checked
    /// against the layers given to [`ReportBuilder::build`]; when a degenerate layer ends the
    /// report early ([`DegenerateLayer::EndReport`]), the selected layers past its end are left
    /// out of the fit.
    pub fn fit_layers(mut self, fit: FitLayers) -> Self {
        self.fit_layers = fit;
        self
    }

    /// Notes that open the report's `notes` (arrays skipped, data source, ...).
    pub fn notes(mut self, notes: Vec<String>) -> Self {
        self.notes = notes;
        self
    }

    /// Measures every layer (all at once: pass 2 of one layer runs beside pass 1 of the next),
    /// fits the law over them in order and, with a classifier, compares it with the last layer.
    ///
    /// Errors: a layer that cannot be measured ([`ExperimentError::Layer`], unless it is a
    /// degenerate layer under [`DegenerateLayer::EndReport`]), no layer left to report
    /// ([`ExperimentError::NoLayer`]), a classifier that does not fit the last layer
    /// ([`ExperimentError::Classifier`]), fit layers that name a layer not given or fewer than
    /// two ([`ExperimentError::FitLayers`], before any layer is measured). A law that cannot be
    /// fitted is a note, not an error.
    pub fn build(mut self, layers: &[NamedLayer<'_>]) -> Result<Report> {
        let fit = if self.fit_layers.is_all() {
            None
        } else {
            Some(self.fit_layers.resolve(layers.len())?)
        };
        let mut notes = std::mem::take(&mut self.notes);
        let separations = self.measure(layers, &mut notes)?;
        let classifier = match (self.classifier, layers.last()) {
            (Some(c), Some(last)) => Some(classifier_report(last, self.labels, c)?),
            _ => None,
        };
        let mut report = Report::from_separations(
            self.labels.counts().to_vec(),
            separations,
            classifier,
            notes,
        );
        if let Some(indices) = fit {
            report.fit_over(&indices);
        }
        Ok(report)
    }

    fn measure(
        &self,
        layers: &[NamedLayer<'_>],
        notes: &mut Vec<String>,
    ) -> Result<Vec<(String, Separation)>> {
        let views: Vec<LayerFeatures<'_>> = layers.iter().map(|l| l.features).collect();
        let results = separation_layers_with_predictions(
            &views,
            self.labels,
            self.predictions,
            &SeparationOptions::default(),
        );
        let mut out = Vec::with_capacity(layers.len());
        for ((index, layer), result) in layers.iter().enumerate().zip(results) {
            match (result, self.degenerate) {
                (Ok(sep), _) => out.push((layer.name.to_string(), sep)),
                (Err(GeometryError::ZeroBetweenClass { .. }), DegenerateLayer::EndReport) => {
                    if index == 0 {
                        return Err(ExperimentError::NoLayer {
                            origin: self.origin.clone().unwrap_or_else(|| "the input".into()),
                            reason: format!(
                                "all class means of the first layer ('{}') are equal to rounding \
                                 (SS_b = 0), so D is undefined",
                                layer.name
                            ),
                        });
                    }
                    notes.push(format!(
                        "layer {index} ('{}') and the layers after it were not measured: all class \
                         means are equal to rounding there (SS_b = 0), so D is undefined; the law \
                         fit uses layers 0..{}",
                        layer.name,
                        index - 1
                    ));
                    break;
                }
                (Err(source), _) => {
                    return Err(ExperimentError::Layer {
                        origin: self.origin.clone(),
                        layer: layer.name.to_string(),
                        source,
                    })
                }
            }
        }
        Ok(out)
    }
}

/// NC3/NC4 of `c` against `last` and the minority/majority geometry of its rows.
fn classifier_report(
    last: &NamedLayer<'_>,
    labels: &Labels,
    c: Classifier<'_>,
) -> Result<ClassifierReport> {
    let err = |source| ExperimentError::Classifier {
        layer: last.name.to_string(),
        source,
    };
    let collapse = match last.features {
        LayerFeatures::F32(x) => neural_collapse_classifier(x, labels, c.weight, c.bias),
        LayerFeatures::F64(x) => neural_collapse_classifier(x, labels, c.weight, c.bias),
    }
    .map_err(err)?;
    let groups = classifier_geometry(c.weight, c.minority).map_err(err)?;
    Ok(ClassifierReport { collapse, groups })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::LAW_NOT_FITTED;

    fn labels() -> Labels {
        Labels::new(&[0, 0, 1, 1], None).unwrap()
    }

    #[test]
    fn degenerate_layer_ends_a_training_report_but_fails_a_file() {
        let labels = labels();
        let good = [0.0f64, 0.1, 1.0, 1.2];
        let constant = [3.0f64; 4];
        let layers = [
            NamedLayer::row_major_f64("input", &good, 1).unwrap(),
            NamedLayer::row_major_f64("block1", &good, 1).unwrap(),
            NamedLayer::row_major_f64("block2", &constant, 1).unwrap(),
        ];
        let r = ReportBuilder::new(&labels)
            .degenerate(DegenerateLayer::EndReport)
            .build(&layers)
            .unwrap();
        assert_eq!(r.layers.len(), 2);
        assert!(r.law.is_some());
        // Two examples per class are too few for bootstrap groups: the intervals' note follows.
        assert_eq!(r.notes.len(), 2);
        assert!(r.notes[0].contains("block2"), "{:?}", r.notes);
        assert!(r.notes[1].starts_with(crate::LAW_INTERVALS_NOT_COMPUTED));
        assert!(r.law_intervals.is_none());
        let err = ReportBuilder::new(&labels)
            .origin("t.npz")
            .build(&layers)
            .unwrap_err();
        assert_eq!(
            err.to_string().split(':').next().unwrap(),
            "layer 'block2' of t.npz"
        );
        assert!(matches!(
            err.geometry(),
            Some(GeometryError::ZeroBetweenClass { .. })
        ));
        // A degenerate first layer leaves nothing to report.
        let err = ReportBuilder::new(&labels)
            .degenerate(DegenerateLayer::EndReport)
            .origin("training features")
            .build(&layers[2..])
            .unwrap_err();
        assert!(matches!(err, ExperimentError::NoLayer { .. }), "{err}");
    }

    #[test]
    fn a_law_that_cannot_be_fitted_is_a_note() {
        let labels = labels();
        let spread = [0.0f64, 0.1, 1.0, 1.2];
        let collapsed = [0.0f64, 0.0, 1.0, 1.0]; // every sample at its class mean: D = 0
        let layers = [
            NamedLayer::row_major_f64("a", &spread, 1).unwrap(),
            NamedLayer::row_major_f64("b", &collapsed, 1).unwrap(),
        ];
        let r = ReportBuilder::new(&labels)
            .notes(vec!["from the caller".into()])
            .build(&layers)
            .unwrap();
        assert_eq!(r.layers[1].fuzziness(), 0.0);
        assert!(r.law.is_none());
        assert_eq!(r.notes[0], "from the caller");
        assert!(
            r.notes[1].starts_with("law not fitted") && r.notes[1].contains("layer 1"),
            "{:?}",
            r.notes
        );
        let json = serde_json::to_value(&r).unwrap();
        assert!(json["law"].is_null());
    }

    #[test]
    fn fit_layers_choose_the_fitted_layers_and_are_checked() {
        let labels = labels();
        // D = 0.1 (exact case), then every sample at its class mean: D = 0.
        let spread = [-0.1f64, 0.1, 0.8, 1.2];
        let collapsed = [0.0f64, 0.0, 1.0, 1.0];
        let layers = [
            NamedLayer::row_major_f64("a", &collapsed, 1).unwrap(),
            NamedLayer::row_major_f64("b", &spread, 1).unwrap(),
            NamedLayer::row_major_f64("c", &spread, 1).unwrap(),
        ];
        let all = ReportBuilder::new(&labels).build(&layers).unwrap();
        assert!(all.law.is_none() && all.notes[0].starts_with(LAW_NOT_FITTED));
        let r = ReportBuilder::new(&labels)
            .fit_layers("1..".parse().unwrap())
            .build(&layers)
            .unwrap();
        let law = r.law.as_ref().unwrap();
        assert_eq!(law.fit_layers, vec![1, 2]);
        assert!(law.slope.abs() < 1e-12, "{law:?}");
        assert_eq!(law.residuals.len(), 3);
        // The failed fit over every layer left no note; four samples give no bootstrap groups.
        assert!(
            !r.notes.iter().any(|n| n.starts_with(LAW_NOT_FITTED)),
            "{:?}",
            r.notes
        );
        assert!(r.law_intervals.is_none());
        // Refitting over every layer brings the note back; a bad choice leaves the report.
        let mut again = r.clone();
        again.refit(&FitLayers::all()).unwrap();
        assert!(again.law.is_none() && again.notes.len() == 1);
        let err = again.refit(&"1..3".parse().unwrap()).unwrap_err();
        assert!(err.to_string().contains("0..2"), "{err}");
        assert!(again.law.is_none() && again.notes.len() == 1);
        let err = ReportBuilder::new(&labels)
            .fit_layers("2".parse().unwrap())
            .build(&layers)
            .unwrap_err();
        assert!(matches!(err, ExperimentError::FitLayers(_)), "{err}");
    }

    #[test]
    fn classifier_is_checked_against_the_last_layer() {
        let labels = labels();
        let x = [0.0f32, 0.1, 1.0, 1.2];
        let layers = [NamedLayer::row_major_f32("last", &x, 1).unwrap()];
        // w = (-1, +1) and b = (0.55, -0.55): logits cross at x = 0.55, between the classes.
        let w = [-1.0, 1.0];
        let b = [0.55, -0.55];
        let c = Classifier {
            weight: MatRef::from_row_major_slice(&w, 2, 1),
            bias: Some(&b),
            minority: &[1],
        };
        let r = ReportBuilder::new(&labels)
            .classifier(Some(c))
            .build(&layers)
            .unwrap();
        let cr = r.classifier.unwrap();
        assert_eq!(cr.collapse.classifier_accuracy, 1.0);
        assert_eq!(cr.groups.minority.classes, vec![1]);
        let wrong = [1.0, 2.0, 3.0, 4.0];
        let c = Classifier {
            weight: MatRef::from_row_major_slice(&wrong, 2, 2),
            bias: None,
            minority: &[],
        };
        let err = ReportBuilder::new(&labels)
            .classifier(Some(c))
            .build(&layers)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("classifier against layer 'last'"),
            "{err}"
        );
    }
}
