//! `fuzziness`, `measure` and `fit_law`: the batch geometry of `layerlaw-geometry` on NumPy
//! arrays, computed without the GIL.

use faer::MatRef;
use layerlaw_experiments::{Classifier, ReportBuilder};
use layerlaw_geometry::{
    fit_law, fit_law_at, separation, FitLayers, Labels, NamedLayer, SeparationOptions,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::arrays::{self, with_features, FeatureArray};
use crate::errors::{experiment_error, geometry_error};
use crate::report::{PyLawFit, PyReport};

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

/// The layers of the law fit from Python: `None` (every layer), a specification such as
/// `"1.."` or `"0,2..5"`, or a sequence of indices. Raises `ValueError` for a bad
/// specification, `TypeError` for another type.
pub fn fit_layers_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<FitLayers> {
    let Some(obj) = obj.filter(|o| !o.is_none()) else {
        return Ok(FitLayers::all());
    };
    if let Ok(spec) = obj.extract::<String>() {
        return spec
            .parse()
            .map_err(|e: layerlaw_geometry::FitLayersError| PyValueError::new_err(e.to_string()));
    }
    let indices: Vec<i64> = obj.extract().map_err(|_| {
        PyTypeError::new_err(
            "fit_layers must be None, a str such as \"1..\" or \"0,2..5\", or a sequence of ints",
        )
    })?;
    let indices = indices
        .into_iter()
        .map(|i| {
            usize::try_from(i).map_err(|_| {
                PyValueError::new_err(format!("fit_layers: layer index {i} is negative"))
            })
        })
        .collect::<PyResult<Vec<usize>>>()?;
    FitLayers::indices(&indices).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Checks a `fit_layers` argument without measuring anything (so a typo fails before a long
/// measurement).
#[pyfunction]
#[pyo3(signature = (fit_layers=None))]
pub fn _check_fit_layers(fit_layers: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    fit_layers_arg(fit_layers).map(|_| ())
}

/// A copy of `report` with the law fitted over `fit_layers` (see [`fit_layers_arg`]); raises
/// `ValueError` when they name a layer the report does not have or fewer than two.
#[pyfunction]
#[pyo3(signature = (report, fit_layers=None))]
pub fn _refit(
    py: Python<'_>,
    report: &PyReport,
    fit_layers: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyReport> {
    let fit = fit_layers_arg(fit_layers)?;
    let mut inner = report.report().clone();
    if !fit.is_all() {
        inner.refit(&fit).map_err(experiment_error)?;
    }
    PyReport::new(py, inner)
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
/// NC4 and the minority/majority classifier geometry on the last layer; `layerlaw.measure`
/// returns this `Report` (see [`crate::report`]).
#[pyfunction]
#[pyo3(signature = (layers, y, num_classes=None, classifier_weight=None, classifier_bias=None, minority=None, fit_layers=None))]
#[allow(clippy::too_many_arguments)]
pub fn _measure<'py>(
    py: Python<'py>,
    layers: &Bound<'py, PyAny>,
    y: &Bound<'py, PyAny>,
    num_classes: Option<i64>,
    classifier_weight: Option<&Bound<'py, PyAny>>,
    classifier_bias: Option<&Bound<'py, PyAny>>,
    minority: Option<Vec<i64>>,
    fit_layers: Option<&Bound<'py, PyAny>>,
) -> PyResult<PyReport> {
    let fit = fit_layers_arg(fit_layers)?;
    let k = class_count(num_classes)?;
    let raw = arrays::labels(y, "y")?;
    let arrays = layer_items(layers)?;
    let clf = classifier_args(classifier_weight, classifier_bias, minority)?;
    let views: Vec<NamedLayer<'_>> = arrays
        .iter()
        .map(|(name, a)| NamedLayer::new(name, a.view()))
        .collect();
    let report = py.detach(|| -> PyResult<_> {
        let labels = Labels::new(&raw, k).map_err(|e| geometry_error(e, Some("y")))?;
        let classifier = clf.as_ref().map(|c| Classifier {
            weight: MatRef::from_row_major_slice(&c.weight, c.rows, c.cols),
            bias: c.bias.as_deref(),
            minority: &c.minority,
        });
        ReportBuilder::new(&labels)
            .classifier(classifier)
            .fit_layers(fit)
            .build(&views)
            .map_err(experiment_error)
    })?;
    PyReport::new(py, report)
}

/// Fits the law of equi-separation $\ln D_l = \ln D_0 + l\ln\rho$ to fuzziness values
/// $D_0, \dots, D_{L-1}$ (He & Su, PNAS 2023), over the layers `fit_layers` selects (default
/// all, see [`fit_layers_arg`]) at their real indices.
#[pyfunction]
#[pyo3(signature = (d, fit_layers=None))]
pub fn _fit_law(d: &Bound<'_, PyAny>, fit_layers: Option<&Bound<'_, PyAny>>) -> PyResult<PyLawFit> {
    let fit = fit_layers_arg(fit_layers)?;
    let d = arrays::vector_f64(d, "D")?;
    let fitted = if fit.is_all() {
        fit_law(&d)
    } else {
        let layers = fit
            .resolve(d.len())
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        fit_law_at(&d, &layers)
    };
    fitted
        .map(PyLawFit::from)
        .map_err(|e| geometry_error(e, None))
}
