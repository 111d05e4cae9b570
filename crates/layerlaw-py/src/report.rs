//! The measurement report, serialised to the JSON shape of `layerlaw measure --json` (less
//! the `file` key) and parsed into Python objects by `layerlaw._reports`.

use faer::Mat;
use layerlaw_geometry::{
    fit_law, ClassifierCollapse, ClassifierGeometry, Definitions, LawFit, Separation, DEFINITIONS,
};
use pyo3::exceptions::PyRuntimeError;
use pyo3::PyErr;
use serde::Serialize;

/// One layer of the report: its name and fit position, then every [`Separation`] field
/// (`dim`, `fuzziness` $D = \mathrm{Tr}(SS_wSS_b^+)$ of He & Su, PNAS 2023, `nc1`, ...).
#[derive(Debug, Serialize)]
pub struct LayerReport {
    /// Layer name (dictionary key, or the accumulator's layer name).
    pub name: String,
    /// Position $l$ in the law fit (0 = first layer given).
    pub index: usize,
    /// All geometry of the layer.
    #[serde(flatten)]
    pub separation: Separation,
}

/// NC3/NC4 of the last layer against a linear classifier, and the minority/majority geometry
/// of its rows (Fang, He, Long & Su, PNAS 2021).
#[derive(Debug, Serialize)]
pub struct ClassifierReport {
    /// NC3, NC4 and the classifier's own accuracy on the last layer's features.
    #[serde(flatten)]
    pub collapse: ClassifierCollapse,
    /// Cosines, distances and norms of the minority and majority classifier rows.
    pub groups: ClassifierGeometry,
}

/// The whole report of [`crate::measure`] and [`crate::accumulator`].
#[derive(Debug, Serialize)]
pub struct MeasureReport {
    /// Number of samples $n$.
    pub n: usize,
    /// Number of classes $K$.
    pub classes: usize,
    /// $n_k$ per class.
    pub class_counts: Vec<usize>,
    /// Whether every class has the same count (then $D = K\cdot\mathrm{NC1}$).
    pub balanced: bool,
    /// Which convention each number uses.
    pub definitions: Definitions,
    /// One entry per layer, in fit order.
    pub layers: Vec<LayerReport>,
    /// The law-of-equi-separation fit $\ln D_l = \ln D_0 + l\ln\rho$ (absent with one layer).
    pub law: Option<LawFit>,
    /// Classifier metrics, when a classifier weight was given.
    pub classifier: Option<ClassifierReport>,
    /// Remarks (a law that could not be fitted, layers that saw different samples, ...).
    pub notes: Vec<String>,
}

impl MeasureReport {
    /// Assembles the report: fits the law over the layers in order (at least two layers; a
    /// fit that is impossible, e.g. a layer with $D = 0$, becomes a note instead of an error).
    pub fn new(
        class_counts: Vec<usize>,
        layers: Vec<(String, Separation)>,
        classifier: Option<ClassifierReport>,
        mut notes: Vec<String>,
    ) -> MeasureReport {
        let d: Vec<f64> = layers.iter().map(|(_, s)| s.fuzziness).collect();
        let law = if d.len() >= 2 {
            fit_law(&d)
                .map_err(|e| notes.push(format!("law not fitted: {e}")))
                .ok()
        } else {
            None
        };
        MeasureReport {
            n: class_counts.iter().sum(),
            classes: class_counts.len(),
            balanced: class_counts.windows(2).all(|w| w[0] == w[1]),
            class_counts,
            definitions: DEFINITIONS,
            layers: layers
                .into_iter()
                .enumerate()
                .map(|(index, (name, separation))| LayerReport {
                    name,
                    index,
                    separation,
                })
                .collect(),
            law,
            classifier,
            notes,
        }
    }

    /// The JSON text and each layer's K×p class means (kept out of the JSON, as in the CLI).
    pub fn into_json(self) -> Result<(String, Vec<Mat<f64>>), PyErr> {
        let json = serde_json::to_string(&self)
            .map_err(|e| PyRuntimeError::new_err(format!("could not serialise the report: {e}")))?;
        let means = self
            .layers
            .iter()
            .map(|l| l.separation.class_means().to_owned())
            .collect();
        Ok((json, means))
    }
}
