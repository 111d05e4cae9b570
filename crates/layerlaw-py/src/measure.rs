//! `fuzziness`, `measure` and `fit_law`: the batch geometry of `layerlaw-geometry` on NumPy
//! arrays, computed without the GIL.

use faer::MatRef;
use layerlaw_geometry::{
    classifier_geometry, fit_law, neural_collapse_classifier, separation, separation_layers,
    Labels, Separation, SeparationOptions,
};
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::arrays::{self, with_features, FeatureArray};
use crate::errors::geometry_error;
use crate::report::{ClassifierReport, MeasureReport};

/// Checks an optional non-negative class count given from Python.
pub fn class_count(num_classes: Option<i64>) -> PyResult<Option<usize>> {
    num_classes
        .map(|k| {
            usize::try_from(k)
                .map_err(|_| PyValueError::new_err(format!("num_classes must be >= 0, got {k}")))
        })
        .transpose()
}

/// He–Su separation fuzziness $D = \mathrm{Tr}(SS_w SS_b^+)$ of features `x` (n×p) with integer
/// labels `y` (He & Su, "A law of data separation in deep learning", PNAS 120(36), 2023).
///
/// `num_classes = None` infers $K = \max_i y_i + 1$. Raises `ValueError` for a bad shape, a
/// label out of range, an empty class, a NaN/Inf feature or equal class means.
#[pyfunction]
#[pyo3(signature = (x, y, num_classes=None))]
pub fn fuzziness(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    y: &Bound<'_, PyAny>,
    num_classes: Option<i64>,
) -> PyResult<f64> {
    let k = class_count(num_classes)?;
    let raw = arrays::labels(y, "y")?;
    let feats = arrays::features(x, "x")?;
    let view = feats.view();
    py.detach(|| {
        let labels = Labels::new(&raw, k).map_err(|e| geometry_error(e, Some("y")))?;
        let sep = with_features!(view, |m| separation(
            m,
            &labels,
            &SeparationOptions::default()
        ))
        .map_err(|e| geometry_error(e, None))?;
        Ok(sep.fuzziness)
    })
}

/// `(name, features)` pairs from a dict `{name: X}` (insertion order) or a sequence of pairs.
fn layer_items<'py>(layers: &Bound<'py, PyAny>) -> PyResult<Vec<(String, FeatureArray<'py>)>> {
    let pairs: Vec<Bound<'py, PyAny>> = if let Ok(d) = layers.cast::<PyDict>() {
        d.items().iter().collect()
    } else {
        layers
            .try_iter()
            .map_err(|_| {
                PyTypeError::new_err("layers must be a dict {name: X} or a list of (name, X) pairs")
            })?
            .collect::<PyResult<_>>()?
    };
    let mut out = Vec::with_capacity(pairs.len());
    for (i, item) in pairs.iter().enumerate() {
        let pair = item
            .cast::<PyTuple>()
            .ok()
            .filter(|t| t.len() == 2)
            .ok_or_else(|| PyTypeError::new_err(format!("layers[{i}] must be a (name, X) pair")))?;
        let name: String = pair.get_item(0)?.extract().map_err(|_| {
            PyTypeError::new_err(format!("layers[{i}]: the layer name must be a str"))
        })?;
        let feats = arrays::features(&pair.get_item(1)?, &format!("layer '{name}'"))?;
        out.push((name, feats));
    }
    if out.is_empty() {
        return Err(PyValueError::new_err(
            "layers is empty: give at least one layer",
        ));
    }
    Ok(out)
}

/// Everything `measure` needs from the classifier arguments, copied to f64.
struct ClassifierArgs {
    weight: Vec<f64>,
    rows: usize,
    cols: usize,
    bias: Option<Vec<f64>>,
    minority: Vec<usize>,
}

fn classifier_args(
    weight: Option<&Bound<'_, PyAny>>,
    bias: Option<&Bound<'_, PyAny>>,
    minority: Option<Vec<i64>>,
) -> PyResult<Option<ClassifierArgs>> {
    let Some(weight) = weight else {
        if bias.is_some() || minority.is_some() {
            return Err(PyValueError::new_err(
                "classifier_bias and minority need classifier_weight (K x p) as well",
            ));
        }
        return Ok(None);
    };
    let (w, rows, cols) = arrays::dense_f64(weight, "classifier_weight")?;
    let bias = bias
        .map(|b| arrays::vector_f64(b, "classifier_bias"))
        .transpose()?;
    let minority = minority
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            usize::try_from(c).map_err(|_| {
                PyValueError::new_err(format!("minority: class index {c} is negative"))
            })
        })
        .collect::<PyResult<_>>()?;
    Ok(Some(ClassifierArgs {
        weight: w,
        rows,
        cols,
        bias,
        minority,
    }))
}

/// Measures every layer, fits the law over them in order and, with a classifier, computes NC3,
/// NC4 and the minority/majority classifier geometry on the last layer. Returns the JSON report
/// (shape of `layerlaw measure --json`) and each layer's class means; `layerlaw.measure` wraps
/// both into a `Report`.
#[pyfunction]
#[pyo3(signature = (layers, y, num_classes=None, classifier_weight=None, classifier_bias=None, minority=None))]
pub fn _measure<'py>(
    py: Python<'py>,
    layers: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    num_classes: Option<i64>,
    classifier_weight: Option<&Bound<'py, PyAny>>,
    classifier_bias: Option<&Bound<'py, PyAny>>,
    minority: Option<Vec<i64>>,
) -> PyResult<(String, Vec<Bound<'py, PyAny>>)> {
    let k = class_count(num_classes)?;
    let raw = arrays::labels(y, "y")?;
    let arrays = layer_items(layers)?;
    let clf = classifier_args(classifier_weight, classifier_bias, minority)?;
    let views: Vec<(String, _)> = arrays.iter().map(|(n, a)| (n.clone(), a.view())).collect();
    let (json, means) = py.detach(|| -> PyResult<_> {
        let labels = Labels::new(&raw, k).map_err(|e| geometry_error(e, Some("y")))?;
        let opts = SeparationOptions::default();
        // Every layer at once: pass 2 of one layer runs beside pass 1 of the next.
        let features: Vec<_> = views.iter().map(|(_, view)| *view).collect();
        let mut seps: Vec<(String, Separation)> = Vec::with_capacity(views.len());
        for ((name, _), sep) in views
            .iter()
            .zip(separation_layers(&features, &labels, &opts))
        {
            let sep = sep.map_err(|e| geometry_error(e, Some(&format!("layer '{name}'"))))?;
            seps.push((name.clone(), sep));
        }
        let classifier = match &clf {
            None => None,
            Some(c) => {
                let (last_name, last) = views
                    .last()
                    .ok_or_else(|| PyRuntimeError::new_err("no layer"))?;
                let context = format!("classifier against layer '{last_name}'");
                let ctx = |e| geometry_error(e, Some(&context));
                let w = MatRef::from_row_major_slice(&c.weight, c.rows, c.cols);
                let collapse = with_features!(*last, |m| neural_collapse_classifier(
                    m,
                    &labels,
                    w,
                    c.bias.as_deref()
                ))
                .map_err(ctx)?;
                let groups = classifier_geometry(w, &c.minority).map_err(ctx)?;
                Some(ClassifierReport { collapse, groups })
            }
        };
        MeasureReport::new(labels.counts().to_vec(), seps, classifier, Vec::new()).into_json()
    })?;
    let means = means
        .iter()
        .map(|m| arrays::matrix_to_numpy(py, m.as_ref()))
        .collect::<PyResult<_>>()?;
    Ok((json, means))
}

/// Fits the law of equi-separation $\ln D_l = \ln D_0 + l\ln\rho$ to fuzziness values
/// $D_0, \dots, D_{L-1}$ (He & Su, PNAS 2023); returns the `LawFit` as JSON.
#[pyfunction]
pub fn _fit_law(d: &Bound<'_, PyAny>) -> PyResult<String> {
    let d = arrays::vector_f64(d, "D")?;
    let fit = fit_law(&d).map_err(|e| geometry_error(e, None))?;
    serde_json::to_string(&fit)
        .map_err(|e| PyRuntimeError::new_err(format!("could not serialise the fit: {e}")))
}
