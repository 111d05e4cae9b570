//! The Layer-Peeled Model and Minority Collapse.
//!
//! Implements Fang, He, Long & Su, "Exploring deep neural networks via layer-peeled model:
//! Minority collapse in imbalanced training", PNAS 118(43) e2103091118 (2021):
//! $$\min_{W,H}\ \frac1N\sum_{k=1}^K\sum_{i=1}^{n_k}\mathrm{CE}(Wh_{k,i}, k)\quad
//! \text{s.t.}\ \frac1K\sum_k\|w_k\|^2\le E_W,\ \frac1K\sum_k\frac1{n_k}\sum_i\|h_{k,i}\|^2\le E_H.$$
//!
//! * [`general_sdp`]: the convex relaxation over the $2K\times2K$ Gram (exact for $p\ge 2K$),
//!   solved with Clarabel (exponential + PSD cones);
//! * [`symmetric_sdp`]: the same SDP reduced by within-group permutation symmetry (step
//!   imbalance), whose size does not grow with $K$;
//! * [`nonconvex`]: projected accelerated gradient on $W, H$ (cross-check, large $K$);
//! * [`balanced_closed_form`]: the simplex ETF optimum of balanced classes;
//! * [`sweep()`]: Minority Collapse over the imbalance ratio $R$.
//!
//! ```
//! use layerlaw_lpm::{solve, LpmProblem, SolverOptions};
//! let p = LpmProblem::step_imbalance(5, 5, 10.0).e_w(1.0).e_h(5.0).build()?;
//! let s = solve(&p, &SolverOptions::default())?;
//! assert!(s.status.is_usable());
//! assert!((s.minority_cosine.unwrap() - 0.5175).abs() < 1e-3);
//! # Ok::<(), layerlaw_lpm::LpmError>(())
//! ```

// Links the system OpenBLAS/LAPACK used by Clarabel's dense PSD-cone code.
extern crate openblas_src;

mod closed_form;
mod conic;
mod error;
pub mod general_sdp;
pub mod nonconvex;
mod options;
mod problem;
mod report;
mod solve;
pub mod sweep;
pub mod symmetric_sdp;

pub use closed_form::{balanced_closed_form, BalancedOptimum};
pub use error::LpmError;
pub use options::{Method, SolveStatus, SolverOptions};
pub use problem::{ClassGroup, LpmProblem, LpmProblemBuilder, DEFAULT_E_H, DEFAULT_E_W};
pub use report::{etf_distance, gram_objective, LpmSolution, MethodUsed};
pub use solve::{resolve_method, solve, AUTO_GENERAL_SDP_MAX_K};
pub use sweep::{default_ratios, sweep, Sweep, SweepPoint};
