//! Minority Collapse sweeps over the imbalance ratio $R$ (Fang, He, Long & Su, PNAS 2021).
//!
//! For step imbalance ($K_A$ majority classes with $n_A = R\,n_B$, $K_B$ minority classes)
//! every ratio is solved and the minority classifiers are checked for collapse:
//! **collapsed** means $\max_{K_A \le k < k'} \|w_k - w_{k'}\| \le \tau\sqrt{E_W}$ with
//! $\tau$ = [`SolverOptions::collapse_tolerance`] (default $10^{-3}$). The collapse ratio is
//! the first collapsed sweep point, refined by bisection in $\log R$ between it and the last
//! non-collapsed point before it until the bracket is narrower than a factor $1 + 10^{-4}$.

use std::time::Instant;

use crate::{solve, LpmError, LpmProblem, LpmSolution, SolveStatus, SolverOptions};

/// Relative width $\log(R_{hi}/R_{lo})$ at which the collapse bisection stops.
pub const COLLAPSE_BISECTION_TOL: f64 = 1e-4;

/// The official sweep of the paper's code: $R = 10^{0.1 i}$, $i = 0,\dots,40$ (1 to $10^4$).
pub fn default_ratios() -> Vec<f64> {
    (0..=40).map(|i| 10f64.powf(0.1 * f64::from(i))).collect()
}

/// One ratio of a sweep (the scalar fields of [`LpmSolution`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SweepPoint {
    /// Imbalance ratio $R = n_A / n_B$.
    pub ratio: f64,
    /// Solver status.
    pub status: SolveStatus,
    /// Optimal objective.
    pub objective: f64,
    /// Mean pairwise cosine of minority classifiers (None when their norms are ~0).
    pub minority_cosine: Option<f64>,
    /// Mean pairwise cosine of majority classifiers.
    pub majority_cosine: Option<f64>,
    /// Mean $\|w_k - w_{k'}\|$ over minority pairs.
    pub minority_distance: Option<f64>,
    /// Largest $\|w_k - w_{k'}\|$ over minority pairs.
    pub minority_max_distance: Option<f64>,
    /// Mean $\|w_k - w_{k'}\|$ over majority pairs.
    pub majority_distance: Option<f64>,
    /// Mean minority $\|w_k\|$.
    pub minority_norm: Option<f64>,
    /// Mean majority $\|w_k\|$.
    pub majority_norm: Option<f64>,
    /// Distance of the classifier Gram from a simplex ETF.
    pub etf_distance: Option<f64>,
    /// Numerical rank of the Gram.
    pub rank: usize,
    /// Whether the minority classifiers are collapsed (see the module docs).
    pub collapsed: Option<bool>,
    /// Solve time, seconds.
    pub solve_time_s: f64,
    /// Notes from the solution.
    pub notes: Vec<String>,
}

impl SweepPoint {
    fn new(ratio: f64, s: LpmSolution) -> Self {
        Self {
            ratio,
            status: s.status,
            objective: s.objective,
            minority_cosine: s.minority_cosine,
            majority_cosine: s.majority_cosine,
            minority_distance: s.minority_distance,
            minority_max_distance: s.minority_max_distance,
            majority_distance: s.majority_distance,
            minority_norm: s.minority_norm,
            majority_norm: s.majority_norm,
            etf_distance: s.etf_distance,
            rank: s.rank,
            collapsed: s.minority_collapsed.filter(|_| s.status.is_usable()),
            solve_time_s: s.solve_time_s,
            notes: s.notes,
        }
    }
}

/// A sweep over $R$ with the detected collapse ratio.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Sweep {
    /// Number of majority classes $K_A$.
    pub k_a: usize,
    /// Number of minority classes $K_B$.
    pub k_b: usize,
    /// $E_W$.
    pub e_w: f64,
    /// $E_H$.
    pub e_h: f64,
    /// Minority loss weight $w_r$.
    pub minority_weight: f64,
    /// The collapse threshold $\tau$ used.
    pub collapse_tolerance: f64,
    /// One entry per requested ratio, in the order given.
    pub points: Vec<SweepPoint>,
    /// Smallest $R$ with collapsed minority classifiers (bisection-refined), if any point
    /// collapsed.
    pub collapse_ratio: Option<f64>,
    /// The final bisection bracket $[R_{lo}, R_{hi}]$ (`R_hi` = `collapse_ratio`).
    pub collapse_bracket: Option<[f64; 2]>,
    /// Total wall time including the bisection, seconds.
    pub total_time_s: f64,
    /// Remarks (e.g. collapse already at the smallest ratio).
    pub notes: Vec<String>,
}

/// Solves step-imbalance problems for every ratio and locates the onset of Minority Collapse.
/// `progress(done, total)` is called after each sweep point.
///
/// # Errors
/// Any validation error of the problem ([`LpmProblem::step_imbalance`]) or of `opts`, and
/// [`LpmError::EmptySweep`] for an empty ratio list.
#[allow(clippy::too_many_arguments)]
pub fn sweep(
    k_a: usize,
    k_b: usize,
    e_w: f64,
    e_h: f64,
    minority_weight: f64,
    ratios: &[f64],
    opts: &SolverOptions,
    mut progress: impl FnMut(usize, usize),
) -> Result<Sweep, LpmError> {
    if ratios.is_empty() {
        return Err(LpmError::EmptySweep);
    }
    opts.validate()?;
    let start = Instant::now();
    let build = |ratio: f64| {
        LpmProblem::step_imbalance(k_a, k_b, ratio)
            .e_w(e_w)
            .e_h(e_h)
            .minority_weight(minority_weight)
            .build()
    };
    let problems = ratios
        .iter()
        .map(|&r| build(r))
        .collect::<Result<Vec<_>, _>>()?;
    let mut points = Vec::with_capacity(ratios.len());
    for (i, (problem, &ratio)) in problems.iter().zip(ratios).enumerate() {
        points.push(SweepPoint::new(ratio, solve(problem, opts)?));
        progress(i + 1, ratios.len());
    }
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| points[a].ratio.total_cmp(&points[b].ratio));
    let mut notes = Vec::new();
    let first = order
        .iter()
        .position(|&i| points[i].collapsed == Some(true));
    let (mut collapse_ratio, mut collapse_bracket) = (None, None);
    if let Some(pos) = first {
        let hi_point = &points[order[pos]];
        if pos == 0 {
            notes.push(format!(
                "minority classifiers are already collapsed at the smallest ratio R = {}",
                hi_point.ratio
            ));
            collapse_ratio = Some(hi_point.ratio);
        } else {
            let (mut lo, mut hi) = (points[order[pos - 1]].ratio, hi_point.ratio);
            while (hi / lo).ln() > COLLAPSE_BISECTION_TOL {
                let mid = (lo * hi).sqrt();
                let s = solve(&build(mid)?, opts)?;
                if s.status.is_usable() && s.minority_collapsed == Some(true) {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            collapse_ratio = Some(hi);
            collapse_bracket = Some([lo, hi]);
        }
        let later_uncollapsed = order[pos..]
            .iter()
            .filter(|&&i| points[i].collapsed == Some(false))
            .count();
        if later_uncollapsed > 0 {
            notes.push(format!(
                "{later_uncollapsed} sweep point(s) above the collapse ratio are not collapsed"
            ));
        }
    }
    let failed = points.iter().filter(|p| !p.status.is_usable()).count();
    if failed > 0 {
        notes.push(format!("{failed} sweep point(s) did not solve"));
    }
    Ok(Sweep {
        k_a,
        k_b,
        e_w,
        e_h,
        minority_weight,
        collapse_tolerance: opts.collapse_tolerance,
        points,
        collapse_ratio,
        collapse_bracket,
        total_time_s: start.elapsed().as_secs_f64(),
        notes,
    })
}
