//! `PredictionResidual` and `_fit_next_token_law`: the law of next-token prediction (He & Su,
//! arXiv:2408.13442) of `layerlaw_geometry::next_token` for Python, behind
//! `layerlaw.prediction_residual` and `layerlaw.torch.measure_next_token`.
//!
//! A `PredictionResidual` holds one layer's streaming sums: `update(X, next_tokens)` adds NumPy
//! rows, `from_sums(...)` wraps sums formed by torch on a device, `merge` adds another state and
//! `finish()` returns the layer's report as a dict. Computations run without the GIL.

use layerlaw_geometry::{
    fit_next_token_law, NextTokenFit, PredictionResidual, PredictionResidualReport, PredictionSums,
    PredictionTarget, DEFAULT_MAX_STATE_BYTES, DEFAULT_RANK_TOLERANCE,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::arrays;
use crate::errors::geometry_error;

fn target_arg(target: &str) -> PyResult<PredictionTarget> {
    PredictionTarget::parse(target).ok_or_else(|| {
        PyValueError::new_err(format!(
            "target must be 'one_hot' (the paper's wording) or 'token_id' (the official code), got {target:?}"
        ))
    })
}

/// Non-negative integers from a 1-D integer array (`what` names it in errors).
fn unsigned(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<u64>> {
    arrays::labels(obj, what)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            u64::try_from(v)
                .map_err(|_| PyValueError::new_err(format!("{what}: value {i} is negative ({v})")))
        })
        .collect()
}

/// A flat float64 copy of an array of any shape.
fn flat_f64(obj: &Bound<'_, PyAny>) -> PyResult<Vec<f64>> {
    let np = obj.py().import("numpy")?;
    let flat = np
        .call_method1("asarray", (obj, "float64"))?
        .call_method1("reshape", (-1,))?;
    arrays::vector_f64(&flat, "sums")
}

/// A layer report as a dict (the fields of `PredictionResidualReport`).
fn report_dict<'py>(py: Python<'py>, r: &PredictionResidualReport) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("layer", &r.layer)?;
    d.set_item("dim", r.dim)?;
    d.set_item("vocab", r.vocab)?;
    d.set_item("target", r.target.name().replace('-', "_"))?;
    d.set_item("rows", r.rows)?;
    d.set_item("distinct_tokens", r.distinct_tokens)?;
    d.set_item("rank", r.rank)?;
    d.set_item("total_sum_squares", r.total_sum_squares)?;
    d.set_item("explained_sum_squares", r.explained_sum_squares)?;
    d.set_item("pr", r.pr)?;
    Ok(d)
}

/// Streaming sums for the prediction residual of one layer.
///
/// `PredictionResidual(layer, dim, vocab_size, target="one_hot", max_bytes=4 GiB)`;
/// `update(X, next_tokens)` adds b×p features (float32/float64, any layout) with the next-token
/// id of each row; `merge(other)`; `finish(rank_tolerance=1e-6)` returns a dict with `pr`,
/// `rank`, `rows`, ...; `from_sums(...)` wraps sums formed elsewhere. Errors (`ValueError`) name
/// the layer, batch, row and column.
#[pyclass(module = "layerlaw._layerlaw", name = "PredictionResidual")]
#[derive(Debug, Clone)]
pub struct PyPredictionResidual {
    inner: PredictionResidual,
}

#[pymethods]
impl PyPredictionResidual {
    /// An empty state (see the class docs).
    #[new]
    #[pyo3(signature = (layer, dim, vocab_size, target="one_hot", max_bytes=None))]
    fn new(
        layer: String,
        dim: usize,
        vocab_size: usize,
        target: &str,
        max_bytes: Option<u64>,
    ) -> PyResult<Self> {
        let target = target_arg(target)?;
        let limit = max_bytes.unwrap_or(DEFAULT_MAX_STATE_BYTES);
        let inner = PredictionResidual::with_limit(layer.as_str(), dim, vocab_size, target, limit)
            .map_err(|e| geometry_error(e, Some(&format!("layer '{layer}'"))))?;
        Ok(PyPredictionResidual { inner })
    }

    /// A state from sums formed elsewhere: `shift` and `sum` (p), `scatter` (p×p),
    /// `cross` (V×p for one-hot, p for token id) and token `counts` (V); see
    /// `layerlaw_geometry::PredictionSums`.
    #[staticmethod]
    #[pyo3(signature = (layer, vocab_size, target, shift, sum, scatter, cross, counts))]
    #[allow(clippy::too_many_arguments)]
    fn from_sums(
        layer: String,
        vocab_size: usize,
        target: &str,
        shift: &Bound<'_, PyAny>,
        sum: &Bound<'_, PyAny>,
        scatter: &Bound<'_, PyAny>,
        cross: &Bound<'_, PyAny>,
        counts: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let target = target_arg(target)?;
        let sums = PredictionSums {
            shift: flat_f64(shift)?,
            sum: flat_f64(sum)?,
            scatter: flat_f64(scatter)?,
            cross: flat_f64(cross)?,
            counts: unsigned(counts, "counts")?,
        };
        let dim = sums.shift.len();
        let inner = PredictionResidual::from_sums(layer.as_str(), dim, vocab_size, target, sums)
            .map_err(|e| geometry_error(e, None))?;
        Ok(PyPredictionResidual { inner })
    }

    /// Adds a batch; on error nothing is added.
    fn update(
        &mut self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        next_tokens: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let what = format!("layer '{}'", self.inner.layer());
        let tokens = arrays::labels(next_tokens, &format!("{what}: next_tokens"))?;
        let tokens: Vec<usize> = tokens
            .into_iter()
            .enumerate()
            .map(|(row, v)| {
                usize::try_from(v).map_err(|_| {
                    PyValueError::new_err(format!(
                        "{what}, batch {}: next-token id at row {row} is negative ({v})",
                        self.inner.batches()
                    ))
                })
            })
            .collect::<PyResult<_>>()?;
        let feats = arrays::features(x, &what)?;
        let view = feats.view();
        let inner = &mut self.inner;
        py.detach(|| inner.update(view, &tokens))
            .map_err(|e| geometry_error(e, None))
    }

    /// Adds everything `other` has seen (same dimension, vocabulary and target).
    fn merge(&mut self, other: PyRef<'_, PyPredictionResidual>) -> PyResult<()> {
        self.inner
            .merge(&other.inner)
            .map_err(|e| geometry_error(e, None))
    }

    /// The layer's report as a dict: `layer, dim, vocab, target, rows, distinct_tokens, rank,
    /// total_sum_squares, explained_sum_squares, pr`.
    #[pyo3(signature = (rank_tolerance=DEFAULT_RANK_TOLERANCE))]
    fn finish<'py>(&self, py: Python<'py>, rank_tolerance: f64) -> PyResult<Bound<'py, PyDict>> {
        let inner = &self.inner;
        let report = py
            .detach(|| inner.finish_with(rank_tolerance))
            .map_err(|e| geometry_error(e, None))?;
        report_dict(py, &report)
    }

    /// The layer name.
    #[getter]
    fn layer(&self) -> String {
        self.inner.layer().to_string()
    }

    /// Feature dimension p.
    #[getter]
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// Vocabulary size V.
    #[getter]
    fn vocab_size(&self) -> usize {
        self.inner.vocab()
    }

    /// `"one_hot"` or `"token_id"`.
    #[getter]
    fn target(&self) -> String {
        self.inner.target().name().replace('-', "_")
    }

    /// Token positions seen so far.
    #[getter]
    fn rows(&self) -> u64 {
        self.inner.rows()
    }

    /// Batches seen so far.
    #[getter]
    fn batches(&self) -> u64 {
        self.inner.batches()
    }

    fn __repr__(&self) -> String {
        format!(
            "PredictionResidual(layer={:?}, dim={}, vocab_size={}, target={:?}, rows={})",
            self.inner.layer(),
            self.inner.dim(),
            self.inner.vocab(),
            self.target(),
            self.inner.rows()
        )
    }
}

/// `NextTokenFit` from `"auto"`, `"all"` or a `(start, end)` pair.
fn fit_arg(fit: &Bound<'_, PyAny>) -> PyResult<NextTokenFit> {
    if let Ok(s) = fit.extract::<String>() {
        return match s.as_str() {
            "auto" => Ok(NextTokenFit::Auto),
            "all" => Ok(NextTokenFit::All),
            _ => Err(PyValueError::new_err(format!(
                "fit_layers must be 'auto', 'all' or a (start, end) pair, got {s:?}"
            ))),
        };
    }
    let pair = fit
        .cast::<PyTuple>()
        .ok()
        .filter(|t| t.len() == 2)
        .ok_or_else(|| {
            PyTypeError::new_err("fit_layers must be 'auto', 'all' or a (start, end) pair")
        })?;
    Ok(NextTokenFit::Range {
        start: pair.get_item(0)?.extract()?,
        end: pair.get_item(1)?.extract()?,
    })
}

/// The law $\ln\mathrm{PR}_l = a + l\ln\rho$ over the layers `fit_layers` selects: a dict with
/// `layers, slope, intercept, rho, r2, pearson_r, ratios, ratio_last_first`.
#[pyfunction]
pub fn _fit_next_token_law<'py>(
    py: Python<'py>,
    pr: &Bound<'py, PyAny>,
    fit_layers: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    let values = arrays::vector_f64(pr, "pr")?;
    let law =
        fit_next_token_law(&values, fit_arg(fit_layers)?).map_err(|e| geometry_error(e, None))?;
    let d = PyDict::new(py);
    d.set_item("layers", law.layers)?;
    d.set_item("slope", law.fit.slope)?;
    d.set_item("intercept", law.fit.intercept)?;
    d.set_item("rho", law.fit.rho)?;
    d.set_item("r2", law.fit.r2)?;
    d.set_item("pearson_r", law.fit.pearson_r)?;
    d.set_item("ratios", law.fit.ratios)?;
    d.set_item("ratio_last_first", law.ratio_last_first)?;
    Ok(d)
}

/// Registers the class and functions of this module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPredictionResidual>()?;
    m.add_function(wrap_pyfunction!(_fit_next_token_law, m)?)?;
    Ok(())
}
