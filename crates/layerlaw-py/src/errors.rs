//! Rust errors to Python exceptions, keeping the Rust messages.
//!
//! Bad input (shapes, labels, NaN, options, incompatible accumulators) raises `ValueError`;
//! solver trouble (no convergence, an unusable Layer-Peeled Model status) raises
//! `RuntimeError`.

use layerlaw_experiments::ExperimentError;
use layerlaw_geometry::GeometryError;
use layerlaw_lpm::LpmError;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::PyErr;

/// Maps a geometry error, prefixed with `context` (e.g. `layer 'fc1'`) when given.
pub fn geometry_error(e: GeometryError, context: Option<&str>) -> PyErr {
    let message = match context {
        Some(c) => format!("{c}: {e}"),
        None => e.to_string(),
    };
    match e {
        GeometryError::NoConvergence { .. } => PyRuntimeError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}

/// Maps a report-builder error with its own message (which names the layer or classifier);
/// geometry solver trouble raises `RuntimeError`, everything else `ValueError`.
pub fn experiment_error(e: ExperimentError) -> PyErr {
    match e.geometry() {
        Some(GeometryError::NoConvergence { .. }) => PyRuntimeError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

/// Maps a Layer-Peeled Model input error (always `ValueError`: solver trouble is a status).
pub fn lpm_error(e: LpmError) -> PyErr {
    PyValueError::new_err(e.to_string())
}
