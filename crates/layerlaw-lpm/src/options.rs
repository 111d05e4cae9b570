//! Solver choice, tolerances and the solver status reported with every solution.

use crate::LpmError;

/// How a solution ended. Mirrors Clarabel's `SolverStatus` (plus [`SolveStatus::SetupError`]);
/// the nonconvex solver reports [`SolveStatus::Solved`] when its stationarity test passes and
/// [`SolveStatus::MaxIterations`] otherwise. Solver trouble is a status, never a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SolveStatus {
    /// The solver did not run.
    Unsolved,
    /// Converged to the requested tolerance.
    Solved,
    /// Primal infeasibility certificate found.
    PrimalInfeasible,
    /// Dual infeasibility certificate found.
    DualInfeasible,
    /// Converged to Clarabel's reduced tolerances.
    AlmostSolved,
    /// Primal infeasibility, reduced accuracy.
    AlmostPrimalInfeasible,
    /// Dual infeasibility, reduced accuracy.
    AlmostDualInfeasible,
    /// Iteration limit reached.
    MaxIterations,
    /// Time limit reached.
    MaxTime,
    /// Numerical failure inside the solver.
    NumericalError,
    /// The solver stopped making progress.
    InsufficientProgress,
    /// Stopped by a callback.
    CallbackTerminated,
    /// Clarabel rejected the problem data or settings (a bug in this crate if it happens).
    SetupError,
}

impl SolveStatus {
    /// True for [`SolveStatus::Solved`] and [`SolveStatus::AlmostSolved`]: the returned Gram
    /// can be trusted (to full or reduced accuracy).
    pub fn is_usable(self) -> bool {
        matches!(self, SolveStatus::Solved | SolveStatus::AlmostSolved)
    }
}

/// Which algorithm solves the Layer-Peeled Model.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum Method {
    /// [`Method::SymmetricSdp`] when at least two classes share $(n_k, c_k)$ (this covers
    /// step imbalance and balanced problems; the reduced SDP is never larger than the full one),
    /// else [`Method::GeneralSdp`] for $K \le 30$, else [`Method::nonconvex_default`].
    Auto,
    /// The full $2K\times 2K$ SDP relaxation (exact for $p \ge 2K$), see [`crate::general_sdp`].
    GeneralSdp,
    /// The SDP reduced by within-group permutation symmetry, see [`crate::symmetric_sdp`].
    SymmetricSdp,
    /// Projected (accelerated) gradient on $W, H \in \mathbb R^{K\times p}$ from several seeded
    /// random starts, see [`crate::nonconvex`].
    Nonconvex {
        /// Feature dimension $p$; `None` means $2K$ (where the relaxation is exact).
        dim: Option<usize>,
        /// Number of random starts (the best objective is returned), at least 1.
        restarts: usize,
        /// Seed of the ChaCha8 generator for the starts.
        seed: u64,
    },
}

impl Method {
    /// The nonconvex method with $p = 2K$, 4 starts and seed 0.
    pub fn nonconvex_default() -> Self {
        Method::Nonconvex {
            dim: None,
            restarts: 4,
            seed: 0,
        }
    }
}

/// Options shared by all solvers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SolverOptions {
    /// The algorithm (default [`Method::Auto`]).
    pub method: Method,
    /// Clarabel's absolute/relative gap and feasibility tolerance (default $10^{-10}$); for the
    /// nonconvex solver, the relative size of the projected-gradient step at which it stops.
    pub tolerance: f64,
    /// Interior-point iteration limit (default 200).
    pub sdp_max_iter: u32,
    /// Gradient iteration limit per start of the nonconvex solver (default 50 000).
    pub nonconvex_max_iter: usize,
    /// Eigenvalues of the Gram below `rank_tolerance` $\cdot\lambda_{\max}$ count as zero
    /// (default $10^{-6}$).
    pub rank_tolerance: f64,
    /// Minority Collapse criterion: the minority classifiers are *collapsed* when
    /// $\max_{k \ne k'} \|w_k - w_{k'}\| \le$ `collapse_tolerance` $\cdot \sqrt{E_W}$
    /// (default $10^{-3}$). The same threshold on the mean minority norm decides when the
    /// minority cosine is reported as undefined.
    pub collapse_tolerance: f64,
}

impl Default for SolverOptions {
    fn default() -> Self {
        Self {
            method: Method::Auto,
            tolerance: 1e-10,
            sdp_max_iter: 200,
            nonconvex_max_iter: 50_000,
            rank_tolerance: 1e-6,
            collapse_tolerance: 1e-3,
        }
    }
}

impl SolverOptions {
    /// Default options with the given method.
    pub fn with_method(method: Method) -> Self {
        Self {
            method,
            ..Self::default()
        }
    }

    /// Checks the options.
    ///
    /// # Errors
    /// [`LpmError::BadOption`] for a non-positive or non-finite tolerance, zero restarts or a
    /// nonconvex dimension of 0.
    pub fn validate(&self) -> Result<(), LpmError> {
        let positive = |field: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(LpmError::BadOption {
                    field,
                    reason: format!("must be finite and > 0, got {v}"),
                })
            }
        };
        positive("tolerance", self.tolerance)?;
        positive("rank_tolerance", self.rank_tolerance)?;
        positive("collapse_tolerance", self.collapse_tolerance)?;
        if let Method::Nonconvex { dim, restarts, .. } = self.method {
            if restarts == 0 {
                return Err(LpmError::BadOption {
                    field: "restarts",
                    reason: "at least one start is needed".into(),
                });
            }
            if dim == Some(0) {
                return Err(LpmError::BadOption {
                    field: "dim",
                    reason: "the feature dimension must be >= 1".into(),
                });
            }
        }
        Ok(())
    }
}
