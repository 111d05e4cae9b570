//! Python bindings of layerlaw: the native module `layerlaw._layerlaw`, wrapped by the Python
//! package `layerlaw` (`python/layerlaw`).
//!
//! * [`measure::fuzziness`]: He–Su separation fuzziness $D = \mathrm{Tr}(SS_wSS_b^+)$ (He & Su,
//!   "A law of data separation in deep learning", PNAS 120(36) e2221704120, 2023);
//! * [`measure::_measure`], [`measure::_fit_law`]: every layer's geometry and the law of
//!   equi-separation $D_l \approx \rho^l D_0$, built by `layerlaw_experiments::ReportBuilder`
//!   (the report of `layerlaw measure`) and returned as typed objects ([`report`]);
//! * [`accumulator::Accumulator`]: streaming, mergeable, picklable statistics;
//! * [`two_pass`]: exact two-pass $O(pK)$ statistics (`Pass1`, `Basis`, `Pass2`) behind
//!   `layerlaw.torch.measure`;
//! * [`lpm`]: the Layer-Peeled Model and Minority Collapse (Fang, He, Long & Su, PNAS 2021).
//!
//! NumPy features are read in place (C, Fortran or strided, `float32`/`float64`; see
//! [`arrays`]) and every computation runs with the GIL released. Errors keep the Rust messages
//! ([`errors`]).

use pyo3::prelude::*;

pub mod accumulator;
pub mod arrays;
pub mod envelope;
pub mod errors;
pub mod lpm;
pub mod measure;
pub mod next_token;
pub mod report;
pub mod two_pass;

/// The native module `layerlaw._layerlaw`.
#[pymodule]
fn _layerlaw(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(measure::fuzziness, m)?)?;
    m.add_function(wrap_pyfunction!(measure::_measure, m)?)?;
    m.add_function(wrap_pyfunction!(measure::_fit_law, m)?)?;
    m.add_function(wrap_pyfunction!(measure::_refit, m)?)?;
    m.add_function(wrap_pyfunction!(measure::_check_fit_layers, m)?)?;
    m.add_class::<accumulator::Accumulator>()?;
    m.add_class::<report::PyReport>()?;
    m.add_class::<report::PyLayerReport>()?;
    m.add_class::<report::PyLawFit>()?;
    m.add_class::<report::PyClassifierReport>()?;
    m.add_function(wrap_pyfunction!(accumulator::_accumulator_from_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(lpm::_lpm_solve, m)?)?;
    m.add_function(wrap_pyfunction!(lpm::_lpm_sweep, m)?)?;
    m.add_function(wrap_pyfunction!(lpm::_lpm_balanced_optimum, m)?)?;
    two_pass::register(m)?;
    next_token::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
