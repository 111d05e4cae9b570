//! The Layer-Peeled Model (Fang, He, Long & Su, PNAS 118(43) e2103091118, 2021) for Python:
//! `layerlaw.lpm.solve`, `layerlaw.lpm.sweep` and `layerlaw.lpm.balanced_optimum` wrap these
//! JSON-returning functions.
//!
//! Input errors raise `ValueError`; a solve whose status is not usable (not `Solved` or
//! `AlmostSolved`) raises `RuntimeError` unless `check=False`.

use layerlaw_lpm::{
    balanced_closed_form, default_ratios, solve, sweep, LpmProblem, Method, SolverOptions,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::errors::lpm_error;

fn to_json<T: serde::Serialize>(value: &T) -> PyResult<String> {
    serde_json::to_string(value)
        .map_err(|e| PyRuntimeError::new_err(format!("could not serialise the result: {e}")))
}

fn count(name: &str, v: i64) -> PyResult<usize> {
    usize::try_from(v).map_err(|_| PyValueError::new_err(format!("{name} must be >= 0, got {v}")))
}

/// Solver options from the keyword arguments shared by `solve` and `sweep`.
#[allow(clippy::too_many_arguments)]
fn options(
    method: &str,
    dim: Option<i64>,
    restarts: i64,
    seed: u64,
    tolerance: f64,
    sdp_max_iter: u32,
    nonconvex_max_iter: usize,
    rank_tolerance: f64,
    collapse_tolerance: f64,
) -> PyResult<SolverOptions> {
    let method = match method {
        "auto" => Method::Auto,
        "general_sdp" => Method::GeneralSdp,
        "symmetric_sdp" => Method::SymmetricSdp,
        "nonconvex" => Method::Nonconvex {
            dim: dim.map(|d| count("dim", d)).transpose()?,
            restarts: count("restarts", restarts)?,
            seed,
        },
        other => {
            return Err(PyValueError::new_err(format!(
            "unknown method '{other}': use 'auto', 'general_sdp', 'symmetric_sdp' or 'nonconvex'"
        )))
        }
    };
    let opts = SolverOptions {
        method,
        tolerance,
        sdp_max_iter,
        nonconvex_max_iter,
        rank_tolerance,
        collapse_tolerance,
    };
    opts.validate().map_err(lpm_error)?;
    Ok(opts)
}

/// Solves one Layer-Peeled Model: step imbalance (`majority` classes with $n_A = R$,
/// `minority` classes with $n_B = 1$) or arbitrary `counts`; returns the `LpmSolution` JSON.
#[pyfunction]
#[pyo3(signature = (majority=5, minority=5, ratio=10.0, ew=1.0, eh=5.0, minority_weight=1.0,
    counts=None, minority_classes=None, method="auto", dim=None, restarts=4, seed=0,
    tolerance=1e-9, sdp_max_iter=200, nonconvex_max_iter=50_000, rank_tolerance=1e-6,
    collapse_tolerance=1e-3, check=true))]
#[allow(clippy::too_many_arguments)]
pub fn _lpm_solve(
    py: Python<'_>,
    majority: i64,
    minority: i64,
    ratio: f64,
    ew: f64,
    eh: f64,
    minority_weight: f64,
    counts: Option<Vec<f64>>,
    minority_classes: Option<Vec<i64>>,
    method: &str,
    dim: Option<i64>,
    restarts: i64,
    seed: u64,
    tolerance: f64,
    sdp_max_iter: u32,
    nonconvex_max_iter: usize,
    rank_tolerance: f64,
    collapse_tolerance: f64,
    check: bool,
) -> PyResult<String> {
    let opts = options(
        method,
        dim,
        restarts,
        seed,
        tolerance,
        sdp_max_iter,
        nonconvex_max_iter,
        rank_tolerance,
        collapse_tolerance,
    )?;
    let mut builder = match &counts {
        Some(c) => LpmProblem::from_counts(c),
        None => LpmProblem::step_imbalance(
            count("majority", majority)?,
            count("minority", minority)?,
            ratio,
        ),
    }
    .e_w(ew)
    .e_h(eh)
    .minority_weight(minority_weight);
    if let Some(list) = minority_classes {
        let list: Vec<usize> = list
            .into_iter()
            .map(|c| count("minority_classes entry", c))
            .collect::<PyResult<_>>()?;
        builder = builder.minority_classes(&list);
    }
    let problem = builder.build().map_err(lpm_error)?;
    let solution = py.detach(|| solve(&problem, &opts)).map_err(lpm_error)?;
    if check && !solution.status.is_usable() {
        return Err(PyRuntimeError::new_err(format!(
            "Layer-Peeled Model solver ({:?}) ended with status {:?} after {} iterations: {}; \
             pass check=False to get the unusable solution",
            solution.method,
            solution.status,
            solution.iterations,
            solution.notes.join("; ")
        )));
    }
    to_json(&solution)
}

/// Minority Collapse sweep over the imbalance ratio (default: $R = 10^{0.1i}$, $i = 0..40$, the
/// official code's grid); returns the `Sweep` JSON. Failed points are reported in their status.
#[pyfunction]
#[pyo3(signature = (majority=5, minority=5, ew=1.0, eh=5.0, ratios=None, minority_weight=1.0,
    method="auto", dim=None, restarts=4, seed=0, tolerance=1e-9, sdp_max_iter=200,
    nonconvex_max_iter=50_000, rank_tolerance=1e-6, collapse_tolerance=1e-3))]
#[allow(clippy::too_many_arguments)]
pub fn _lpm_sweep(
    py: Python<'_>,
    majority: i64,
    minority: i64,
    ew: f64,
    eh: f64,
    ratios: Option<Vec<f64>>,
    minority_weight: f64,
    method: &str,
    dim: Option<i64>,
    restarts: i64,
    seed: u64,
    tolerance: f64,
    sdp_max_iter: u32,
    nonconvex_max_iter: usize,
    rank_tolerance: f64,
    collapse_tolerance: f64,
) -> PyResult<String> {
    let opts = options(
        method,
        dim,
        restarts,
        seed,
        tolerance,
        sdp_max_iter,
        nonconvex_max_iter,
        rank_tolerance,
        collapse_tolerance,
    )?;
    let (k_a, k_b) = (count("majority", majority)?, count("minority", minority)?);
    let ratios = ratios.unwrap_or_else(default_ratios);
    let result = py
        .detach(|| sweep(k_a, k_b, ew, eh, minority_weight, &ratios, &opts, |_, _| {}))
        .map_err(lpm_error)?;
    to_json(&result)
}

/// The balanced optimum in closed form (simplex ETF): objective, cosine $-1/(K-1)$, Gram.
#[pyfunction]
#[pyo3(signature = (classes, ew=1.0, eh=5.0))]
pub fn _lpm_balanced_optimum(classes: i64, ew: f64, eh: f64) -> PyResult<String> {
    let optimum = balanced_closed_form(count("classes", classes)?, ew, eh).map_err(lpm_error)?;
    to_json(&optimum)
}
