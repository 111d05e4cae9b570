//! Dispatch to the solvers and report building.

use std::time::Instant;

use crate::general_sdp::solve_general_sdp;
use crate::nonconvex::solve_nonconvex;
use crate::report::{build_solution, LpmSolution, MethodUsed};
use crate::symmetric_sdp::solve_symmetric_sdp;
use crate::{LpmError, LpmProblem, Method, SolverOptions};

/// Largest $K$ for which [`Method::Auto`] uses the full SDP on problems without symmetry.
pub const AUTO_GENERAL_SDP_MAX_K: usize = 30;

/// The concrete method [`Method::Auto`] resolves to for `problem` (other methods unchanged).
pub fn resolve_method(problem: &LpmProblem, method: Method) -> Method {
    match method {
        Method::Auto => {
            if problem.groups().len() < problem.num_classes() {
                Method::SymmetricSdp
            } else if problem.num_classes() <= AUTO_GENERAL_SDP_MAX_K {
                Method::GeneralSdp
            } else {
                Method::nonconvex_default()
            }
        }
        other => other,
    }
}

/// Solves the Layer-Peeled Model (Fang, He, Long & Su, PNAS 2021) and builds the report.
///
/// Solver trouble is reported in [`LpmSolution::status`] and [`LpmSolution::notes`].
///
/// # Errors
/// [`LpmError::BadOption`] when `options` fail [`SolverOptions::validate`].
pub fn solve(problem: &LpmProblem, options: &SolverOptions) -> Result<LpmSolution, LpmError> {
    options.validate()?;
    let start = Instant::now();
    let (used, gram) = match resolve_method(problem, options.method) {
        Method::SymmetricSdp => (
            MethodUsed::SymmetricSdp,
            solve_symmetric_sdp(problem, options.tolerance, options.sdp_max_iter),
        ),
        Method::Nonconvex {
            dim,
            restarts,
            seed,
        } => (
            MethodUsed::Nonconvex,
            solve_nonconvex(
                problem,
                dim.unwrap_or(2 * problem.num_classes()),
                restarts,
                seed,
                options.tolerance,
                options.nonconvex_max_iter,
            ),
        ),
        Method::GeneralSdp | Method::Auto => (
            MethodUsed::GeneralSdp,
            solve_general_sdp(problem, options.tolerance, options.sdp_max_iter),
        ),
    };
    Ok(build_solution(problem, options, used, gram, start))
}
