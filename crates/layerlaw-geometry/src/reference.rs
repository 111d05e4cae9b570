//! Slow, obviously-correct dense implementations, for tests only.
//!
//! Forms the p×p matrices $SS_w$, $SS_b$ and $\Sigma_B$ in f64 exactly as written in He & Su
//! (PNAS 2023) and Papyan, Han & Donoho (PNAS 2020), and takes the pseudo-inverse through a
//! symmetric eigendecomposition, keeping eigenvalues $\lambda_j > \mathrm{tol}^2\lambda_1$ (the
//! same cut-off as [`crate::SeparationOptions::rank_tolerance`], which is stated on singular
//! values of the class-mean matrix, $s_j = \sqrt{\lambda_j}$). $O(np^2 + p^3)$ time, $O(p^2)$
//! memory: do not use it on real data.

use faer::{Mat, MatRef, Side};

use crate::error::{GeometryError, Result};
use crate::labels::Labels;
use crate::scalar::Scalar;

/// Dense results: fuzziness D, NC1 and the kept ranks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DenseSeparation {
    /// $D = \mathrm{Tr}(SS_w SS_b^+)$.
    pub fuzziness: f64,
    /// $\mathrm{NC1} = \mathrm{Tr}(\Sigma_W \Sigma_B^+)/K$.
    pub nc1: f64,
    /// Eigen-directions of $SS_b$ kept.
    pub rank: usize,
    /// Eigen-directions of $\Sigma_B$ kept.
    pub rank_nc1: usize,
    /// $\mathrm{Tr}\,SS_w$.
    pub trace_within: f64,
    /// $\mathrm{Tr}\,SS_b$.
    pub trace_between: f64,
}

/// Dense $SS_w$, $SS_b$, $\Sigma_B$ and their pseudo-inverse traces (see module docs).
pub fn dense_separation<T: Scalar>(
    x: MatRef<'_, T>,
    labels: &Labels,
    rank_tolerance: f64,
) -> Result<DenseSeparation> {
    let (n, p, k) = (x.nrows(), x.ncols(), labels.num_classes());
    if n != labels.len() {
        return Err(GeometryError::LengthMismatch {
            rows: n,
            labels: labels.len(),
        });
    }
    let xf = Mat::from_fn(n, p, |i, j| x[(i, j)].to_f64());
    let y = labels.as_slice();
    let counts = labels.counts();
    let mut means = Mat::<f64>::zeros(k, p);
    for i in 0..n {
        for j in 0..p {
            means[(y[i], j)] += xf[(i, j)];
        }
    }
    for c in 0..k {
        for j in 0..p {
            means[(c, j)] /= counts[c] as f64;
        }
    }
    let global = Mat::from_fn(1, p, |_, j| {
        (0..n).map(|i| xf[(i, j)]).sum::<f64>() / n as f64
    });
    let mu_g = Mat::from_fn(1, p, |_, j| {
        (0..k).map(|c| means[(c, j)]).sum::<f64>() / k as f64
    });
    let z = Mat::from_fn(n, p, |i, j| xf[(i, j)] - means[(y[i], j)]);
    let ss_w = z.transpose() * &z * faer::Scale(1.0 / n as f64);
    let mut ss_b = Mat::<f64>::zeros(p, p);
    let mut sigma_b = Mat::<f64>::zeros(p, p);
    for c in 0..k {
        let d = Mat::from_fn(p, 1, |j, _| means[(c, j)] - global[(0, j)]);
        let e = Mat::from_fn(p, 1, |j, _| means[(c, j)] - mu_g[(0, j)]);
        ss_b += &d * d.transpose() * faer::Scale(counts[c] as f64 / n as f64);
        sigma_b += &e * e.transpose() * faer::Scale(1.0 / k as f64);
    }
    let (fuzziness, rank) = trace_with_pinv(ss_w.as_ref(), ss_b.as_ref(), rank_tolerance)?;
    let (tr, rank_nc1) = trace_with_pinv(ss_w.as_ref(), sigma_b.as_ref(), rank_tolerance)?;
    let trace = |m: &Mat<f64>| (0..p).map(|j| m[(j, j)]).sum::<f64>();
    Ok(DenseSeparation {
        fuzziness,
        nc1: tr / k as f64,
        rank,
        rank_nc1,
        trace_within: trace(&ss_w),
        trace_between: trace(&ss_b),
    })
}

/// $\mathrm{Tr}(A B^+)$ with $B^+$ from the symmetric eigendecomposition of $B$, keeping
/// $\lambda_j > \mathrm{tol}^2 \lambda_{\max}$.
pub fn trace_with_pinv(a: MatRef<'_, f64>, b: MatRef<'_, f64>, tol: f64) -> Result<(f64, usize)> {
    let evd = b
        .self_adjoint_eigen(Side::Lower)
        .map_err(|_| GeometryError::NoConvergence {
            routine: "reference eigendecomposition",
        })?;
    let s = evd.S().column_vector();
    let u = evd.U();
    let p = b.nrows();
    let lmax = (0..p).map(|j| s[j]).fold(0.0f64, f64::max);
    let kept: Vec<usize> = (0..p)
        .filter(|&j| s[j] > tol * tol * lmax && s[j] > 0.0)
        .collect();
    let rank = kept.len();
    // B^+ = U_r diag(1/lambda) U_r^T over the kept eigenpairs.
    let u_r = Mat::from_fn(p, rank, |i, c| u[(i, kept[c])]);
    let u_scaled = Mat::from_fn(p, rank, |i, c| u[(i, kept[c])] / s[kept[c]]);
    let pinv = &u_scaled * u_r.transpose();
    let prod = a * &pinv;
    Ok(((0..p).map(|j| prod[(j, j)]).sum(), rank))
}
