//! The solution report: objective, Gram, recovered factors and Minority Collapse metrics.

use faer::{Mat, Side};

use crate::{LpmProblem, SolveStatus, SolverOptions};

/// Which algorithm actually produced a solution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum MethodUsed {
    /// The full $2K\times2K$ SDP.
    GeneralSdp,
    /// The symmetry-reduced SDP.
    SymmetricSdp,
    /// Projected gradient on the factors.
    Nonconvex,
}

/// A solved Layer-Peeled Model instance (serialisable as JSON).
///
/// Class-pair statistics use the classifier Gram $G = WW^\top$ (rows $K..2K$ of `gram`):
/// cosines $G_{kk'}/\sqrt{G_{kk}G_{k'k'}}$, distances $\|w_k-w_{k'}\| =
/// \sqrt{G_{kk}+G_{k'k'}-2G_{kk'}}$, norms $\sqrt{G_{kk}}$, averaged over pairs $k<k'$ of the
/// group. Group statistics are `None` when the group has too few classes; cosines are `None`
/// (with a note) when the group's mean norm is below `collapse_tolerance`$\cdot\sqrt{E_W}$.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LpmSolution {
    /// The algorithm that produced the solution.
    pub method: MethodUsed,
    /// Solver status (trouble is reported here, not as an error).
    pub status: SolveStatus,
    /// $\sum_k a_k\,\mathrm{CE}(z_k, k)$ evaluated on `gram`, $a_k = n_k c_k/N$.
    pub objective: f64,
    /// The $2K\times2K$ Gram of $[h_1..h_K, w_1..w_K]$.
    pub gram: Vec<Vec<f64>>,
    /// Eigenvalues of `gram`, descending.
    pub gram_eigenvalues: Vec<f64>,
    /// Numerical rank $r$: eigenvalues above `rank_tolerance`$\cdot\lambda_{\max}$.
    pub rank: usize,
    /// Classifiers $w_k \in \mathbb R^r$ recovered from the top-$r$ eigenpairs ($K\times r$).
    pub w: Vec<Vec<f64>>,
    /// Class-mean features $h_k \in \mathbb R^r$ recovered the same way ($K\times r$).
    pub h: Vec<Vec<f64>>,
    /// Mean pairwise cosine of the minority classifiers.
    pub minority_cosine: Option<f64>,
    /// Mean pairwise cosine of the majority classifiers.
    pub majority_cosine: Option<f64>,
    /// Mean $\|w_k - w_{k'}\|$ over minority pairs.
    pub minority_distance: Option<f64>,
    /// Largest $\|w_k - w_{k'}\|$ over minority pairs (the collapse criterion).
    pub minority_max_distance: Option<f64>,
    /// Mean $\|w_k - w_{k'}\|$ over majority pairs.
    pub majority_distance: Option<f64>,
    /// Mean $\|w_k\|$ over minority classes.
    pub minority_norm: Option<f64>,
    /// Mean $\|w_k\|$ over majority classes.
    pub majority_norm: Option<f64>,
    /// Minority Collapse: `minority_max_distance` $\le$ `collapse_tolerance`$\cdot\sqrt{E_W}$.
    pub minority_collapsed: Option<bool>,
    /// $\big\|G/\|G\|_F - (I_K - \mathbf 1\mathbf 1^\top/K)/\sqrt{K-1}\big\|_F$, distance of the
    /// classifier Gram from a simplex ETF (Zhu et al., NeurIPS 2021, NC2 metric); `None` if
    /// $G = 0$.
    pub etf_distance: Option<f64>,
    /// Interior-point or gradient iterations (all starts together for the nonconvex solver).
    pub iterations: u32,
    /// Wall time of the solve and of this report, seconds.
    pub solve_time_s: f64,
    /// Remarks (undefined cosines, non-converged solves, ...).
    pub notes: Vec<String>,
}

/// Pairwise statistics of the classifiers of one group.
struct GroupStats {
    cosine: Option<f64>,
    distance: Option<f64>,
    max_distance: Option<f64>,
    norm: Option<f64>,
}

fn group_stats(
    w: &[Vec<f64>],
    classes: &[usize],
    floor: f64,
    label: &str,
    notes: &mut Vec<String>,
) -> GroupStats {
    let norm = |k: usize| w[k][k].max(0.0).sqrt();
    let mean_norm = (!classes.is_empty())
        .then(|| classes.iter().map(|&k| norm(k)).sum::<f64>() / classes.len() as f64);
    let pairs: Vec<(usize, usize)> = classes
        .iter()
        .enumerate()
        .flat_map(|(i, &a)| classes[i + 1..].iter().map(move |&b| (a, b)))
        .collect();
    if pairs.is_empty() {
        return GroupStats {
            cosine: None,
            distance: None,
            max_distance: None,
            norm: mean_norm,
        };
    }
    let dist = |a: usize, b: usize| (w[a][a] + w[b][b] - 2.0 * w[a][b]).max(0.0).sqrt();
    let dists: Vec<f64> = pairs.iter().map(|&(a, b)| dist(a, b)).collect();
    let count = pairs.len() as f64;
    let cosine = if mean_norm.unwrap_or(0.0) <= floor {
        notes.push(format!(
            "{label} classifier norms are ~0 (mean {:.3e}); cosine undefined, see norms and distances",
            mean_norm.unwrap_or(0.0)
        ));
        None
    } else {
        Some(
            pairs
                .iter()
                .map(|&(a, b)| w[a][b] / (norm(a) * norm(b)))
                .sum::<f64>()
                / count,
        )
    };
    GroupStats {
        cosine,
        distance: Some(dists.iter().sum::<f64>() / count),
        max_distance: Some(dists.iter().copied().fold(0.0, f64::max)),
        norm: mean_norm,
    }
}

/// Weighted cross-entropy of the logits $z_{kj} = X_{k,K+j}$ of a row-major $2K\times2K$ Gram.
pub fn gram_objective(problem: &LpmProblem, gram: &[f64]) -> f64 {
    let k = problem.num_classes();
    let n = 2 * k;
    let logits = Mat::from_fn(k, k, |i, j| gram[i * n + k + j]);
    crate::nonconvex::weighted_cross_entropy(&logits, &problem.coefficients())
}

/// Builds the report for a Gram produced by `method`.
pub(crate) fn build_solution(
    problem: &LpmProblem,
    options: &SolverOptions,
    method: MethodUsed,
    solve: crate::general_sdp::GramSolve,
    start: std::time::Instant,
) -> LpmSolution {
    let k = problem.num_classes();
    let n = 2 * k;
    let mut notes = Vec::new();
    if !solve.status.is_usable() {
        notes.push(format!(
            "solver status {:?}: the numbers below are not an optimum",
            solve.status
        ));
    }
    let gram = solve.gram;
    let finite = gram.len() == n * n && gram.iter().all(|v| v.is_finite());
    let sym = Mat::from_fn(n, n, |i, j| {
        if finite {
            0.5 * (gram[i * n + j] + gram[j * n + i])
        } else {
            0.0
        }
    });
    let (mut eig, mut vecs) = (Vec::new(), Vec::new());
    match sym.self_adjoint_eigen(Side::Lower) {
        Ok(evd) => {
            let s = evd.S().column_vector();
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
            eig = order.iter().map(|&i| s[i]).collect();
            vecs = order
                .iter()
                .map(|&i| evd.U().col(i).to_owned())
                .collect::<Vec<_>>();
        }
        Err(e) => notes.push(format!("eigendecomposition failed: {e:?}")),
    }
    let lmax = eig.first().copied().unwrap_or(0.0).max(0.0);
    let rank = eig
        .iter()
        .filter(|&&l| l > options.rank_tolerance * lmax && l > 0.0)
        .count();
    let factor =
        |row: usize| -> Vec<f64> { (0..rank).map(|c| vecs[c][row] * eig[c].sqrt()).collect() };
    let h: Vec<Vec<f64>> = (0..k).map(factor).collect();
    let w_rows: Vec<Vec<f64>> = (k..n).map(factor).collect();
    let gram_rows: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| sym[(i, j)]).collect())
        .collect();
    let wgram: Vec<Vec<f64>> = (0..k).map(|i| gram_rows[k + i][k..].to_vec()).collect();
    let floor = options.collapse_tolerance * problem.e_w().sqrt();
    let minority = problem.minority_classes();
    let mino = group_stats(&wgram, &minority, floor, "minority", &mut notes);
    let majo = group_stats(
        &wgram,
        &problem.majority_classes(),
        floor,
        "majority",
        &mut notes,
    );
    let etf_distance = etf_distance(&wgram);
    let objective = if finite {
        gram_objective(problem, &gram)
    } else {
        notes.push("the solver returned no finite Gram".into());
        f64::NAN
    };
    LpmSolution {
        method,
        status: solve.status,
        objective,
        gram: gram_rows,
        gram_eigenvalues: eig,
        rank,
        w: w_rows,
        h,
        minority_cosine: mino.cosine,
        majority_cosine: majo.cosine,
        minority_distance: mino.distance,
        minority_max_distance: mino.max_distance,
        majority_distance: majo.distance,
        minority_norm: mino.norm,
        majority_norm: majo.norm,
        minority_collapsed: mino.max_distance.map(|d| d <= floor),
        etf_distance,
        iterations: solve.iterations,
        solve_time_s: start.elapsed().as_secs_f64(),
        notes,
    }
}

/// $\|G/\|G\|_F - (I - \mathbf 1\mathbf 1^\top/K)/\sqrt{K-1}\|_F$ for a $K\times K$ Gram $G$
/// (0 exactly for a simplex ETF); `None` when $G = 0$ or $K < 2$.
pub fn etf_distance(g: &[Vec<f64>]) -> Option<f64> {
    let k = g.len();
    let fro = g.iter().flatten().map(|v| v * v).sum::<f64>().sqrt();
    if fro == 0.0 || k < 2 {
        return None;
    }
    let denom = ((k - 1) as f64).sqrt();
    let mut acc = 0.0;
    for (i, row) in g.iter().enumerate() {
        for (j, v) in row.iter().enumerate() {
            let target = (if i == j { 1.0 } else { 0.0 } - 1.0 / k as f64) / denom;
            acc += (v / fro - target).powi(2);
        }
    }
    Some(acc.sqrt())
}
