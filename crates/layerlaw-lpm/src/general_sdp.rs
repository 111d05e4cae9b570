//! The full convex relaxation of the Layer-Peeled Model as a $2K\times 2K$ SDP.
//!
//! Following Fang, He, Long & Su (PNAS 2021), replace the features of class $k$ by their mean
//! $h_k$ (Jensen) and optimise over the Gram $X \succeq 0$ of $[h_1,\dots,h_K,w_1,\dots,w_K]$:
//! $$\min_{X\succeq 0} \sum_k a_k\Big(\log\sum_j e^{X_{k,K+j}} - X_{k,K+k}\Big)
//! \;\text{s.t.}\; \tfrac1K\textstyle\sum_{k<K}X_{kk}\le E_H,\;
//! \tfrac1K\sum_{k\ge K}X_{kk}\le E_W,$$
//! with $a_k = n_k c_k/N$. It is exact for feature dimension $p \ge 2K$ (any PSD $X$ factors).
//! The log-sum-exp is written with exponential cones: $t_k \ge \log\sum_j e^{z_{kj}-z_{kk}}$
//! iff $\sum_j u_{kj} \le 1$ with $(z_{kj}-z_{kk}-t_k,\,1,\,u_{kj})\in K_{\exp}$.

use clarabel::solver::SupportedConeT::{ExponentialConeT, NonnegativeConeT, PSDTriangleConeT};

use crate::conic::{triangle_index, Affine, ConicProgram};
use crate::{LpmProblem, SolveStatus};

/// A Gram matrix (row-major, `n × n`) with the solver outcome that produced it.
#[derive(Debug, Clone)]
pub struct GramSolve {
    /// Solver status.
    pub status: SolveStatus,
    /// Row-major $2K\times 2K$ Gram (rows $0..K$: features $h_k$, rows $K..2K$: classifiers $w_k$).
    pub gram: Vec<f64>,
    /// Interior-point (or gradient) iterations.
    pub iterations: u32,
}

/// Solves the full $2K\times 2K$ SDP with Clarabel; `tolerance` is the gap/feasibility tolerance.
pub fn solve_general_sdp(problem: &LpmProblem, tolerance: f64, max_iter: u32) -> GramSolve {
    let k = problem.num_classes();
    let n = 2 * k;
    let coef = problem.coefficients();
    let mut prog = ConicProgram::default();
    // Variables: the upper triangle of X in Clarabel's order, then t_k, then u_{kj}.
    let x0 = prog.add_variables(n * (n + 1) / 2);
    let t0 = prog.add_variables(k);
    let u0 = prog.add_variables(k * k);
    let x = |i: usize, j: usize| x0 + triangle_index(i, j);
    for (c, &a) in coef.iter().enumerate() {
        prog.add_objective(t0 + c, a);
    }
    // Energy budgets: K E_H - sum_k X_kk >= 0 and K E_W - sum_k X_{K+k,K+k} >= 0.
    let budget = |offset: usize, e: f64| {
        Affine::terms((0..k).map(|c| (x(offset + c, offset + c), -1.0)).collect())
            .with_constant(k as f64 * e)
    };
    let mut nonneg = vec![budget(0, problem.e_h()), budget(k, problem.e_w())];
    for c in 0..k {
        nonneg.push(
            Affine::terms((0..k).map(|j| (u0 + c * k + j, -1.0)).collect()).with_constant(1.0),
        );
    }
    prog.add_cone(NonnegativeConeT(nonneg.len()), nonneg);
    for c in 0..k {
        for j in 0..k {
            let mut arg = vec![(t0 + c, -1.0)];
            if j != c {
                arg.push((x(c, k + j), 1.0));
                arg.push((x(c, k + c), -1.0));
            }
            prog.add_cone(
                ExponentialConeT(),
                vec![
                    Affine::terms(arg),
                    Affine::constant(1.0),
                    Affine::terms(vec![(u0 + c * k + j, 1.0)]),
                ],
            );
        }
    }
    let sqrt2 = std::f64::consts::SQRT_2;
    let mut psd = Vec::with_capacity(n * (n + 1) / 2);
    for j in 0..n {
        for i in 0..=j {
            let scale = if i == j { 1.0 } else { sqrt2 };
            psd.push(Affine::terms(vec![(x(i, j), scale)]));
        }
    }
    prog.add_cone(PSDTriangleConeT(n), psd);
    let result = prog.solve(tolerance, max_iter);
    let mut gram = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            gram[i * n + j] = result.x[x(i, j)];
        }
    }
    GramSolve {
        status: result.status,
        gram,
        iterations: result.iterations,
    }
}
