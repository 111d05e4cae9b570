//! The between-class subspace and truncated pseudo-inverse traces computed inside it.
//!
//! Both between-class matrices of this crate,
//! $SS_b = \frac1n\sum_k n_k(\bar x_k-\bar x)(\bar x_k-\bar x)^\top$ (He & Su, PNAS 2023) and
//! $\Sigma_B = \frac1K\sum_k(\mu_k-\mu_G)(\mu_k-\mu_G)^\top$ (Papyan, Han & Donoho, PNAS 2020),
//! have the same range: the span of the differences of class means, of dimension at most
//! $\min(p, K-1)$. With $Q$ ($p\times r$) an orthonormal basis of it, $SS_b = Q B Q^\top$ and
//! therefore $\mathrm{Tr}(SS_w SS_b^+) = \mathrm{Tr}\big((Q^\top SS_w Q)\,B^+\big)$: only the
//! $r\times r$ projected within-class scatter is ever needed, never a $p\times p$ matrix.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::svd::{svd, svd_scratch, ComputeSvdVectors};
use faer::{Mat, MatRef, Par};

use crate::error::{GeometryError, Result};

/// Below this many flops ($mn\min(m,n)$) a thin SVD runs on the calling thread: spreading a
/// 1,024×10 SVD over threads took twice as long as doing it on one.
const SEQUENTIAL_SVD_FLOPS: usize = 1 << 26;

/// Thin SVD $A = U S V^\top$: returns $U$ (m×min(m,n)) and the singular values, descending.
/// `routine` names the step in the error if the SVD does not converge.
fn thin_svd(a: MatRef<'_, f64>, routine: &'static str) -> Result<(Mat<f64>, Vec<f64>)> {
    let (m, n) = a.shape();
    let size = m.min(n);
    let par = if m * n * size < SEQUENTIAL_SVD_FLOPS {
        Par::Seq
    } else {
        faer::get_global_parallelism()
    };
    let mut u = Mat::zeros(m, size);
    let mut s = faer::diag::Diag::<f64>::zeros(size);
    let thin = ComputeSvdVectors::Thin;
    let mut mem = MemBuffer::new(svd_scratch::<f64>(
        m,
        n,
        thin,
        ComputeSvdVectors::No,
        par,
        Default::default(),
    ));
    svd(
        a,
        s.as_mut(),
        Some(u.as_mut()),
        None,
        par,
        MemStack::new(&mut mem),
        Default::default(),
    )
    .map_err(|_| GeometryError::NoConvergence { routine })?;
    let values = (0..size).map(|j| s[j]).collect();
    Ok((u, values))
}

/// Orthonormal basis $Q$ (p×r) of the span of the centred class means.
///
/// Computed from the thin SVD of $C = [\mu_1-\mu_G, \dots, \mu_K-\mu_G]$ (p×K, $O(pK^2)$).
/// Directions are kept when $\sigma_j > \tau_Q\,\sigma_1$ with
/// $\tau_Q = 10^{-2}\,\mathrm{tol}/\sqrt{K\,n_{\max}/n_{\min}}$: a direction dropped here has
/// $SS_b$-eigenvalue below $10^{-4}\,\mathrm{tol}^2\lambda_{\max}$ (whatever the class
/// weights), so it would also be cut by the pseudo-inverse and dropping it changes nothing.
pub(crate) fn between_basis(
    means: MatRef<'_, f64>,
    counts: &[usize],
    tol: f64,
) -> Result<Mat<f64>> {
    let (k, p) = (means.nrows(), means.ncols());
    let c = centred_means_unweighted(means);
    let scale = (0..k)
        .map(|i| means.row(i).norm_l2())
        .fold(0.0f64, f64::max);
    let (u, s) = thin_svd(c.as_ref(), "thin SVD of the centred class means")?;
    let s_max = s.first().copied().unwrap_or(0.0);
    // Means equal up to rounding: the between-class scatter is zero and D is undefined.
    if s_max <= 16.0 * f64::EPSILON * scale * (k as f64).sqrt() {
        return Err(GeometryError::ZeroBetweenClass { num_classes: k });
    }
    let n_max = counts.iter().copied().max().unwrap_or(1) as f64;
    let n_min = counts.iter().copied().min().unwrap_or(1).max(1) as f64;
    let tau = 1e-2 * tol / (k as f64 * n_max / n_min).sqrt();
    let r = s
        .iter()
        .take_while(|&&sj| sj > tau * s_max && sj > 0.0)
        .count();
    Ok(Mat::from_fn(p, r, |i, j| u[(i, j)]))
}

/// $C$ (p×K) with columns $\mu_k - \mu_G$, $\mu_G = \frac1K\sum_k\mu_k$ (the mean of the class
/// means, as in Papyan, Han & Donoho 2020).
pub(crate) fn centred_means_unweighted(means: MatRef<'_, f64>) -> Mat<f64> {
    let (k, p) = (means.nrows(), means.ncols());
    let mu_g: Vec<f64> = (0..p)
        .map(|j| (0..k).map(|c| means[(c, j)]).sum::<f64>() / k as f64)
        .collect();
    Mat::from_fn(p, k, |j, c| means[(c, j)] - mu_g[j])
}

/// $M_w$ (p×K) with columns $\sqrt{n_k/n}\,(\bar x_k - \bar x)$, $\bar x = \sum_k \frac{n_k}{n}\bar x_k$
/// the global sample mean, so that $SS_b = M_w M_w^\top$ (He & Su 2023).
pub(crate) fn centred_means_weighted(means: MatRef<'_, f64>, counts: &[usize]) -> Mat<f64> {
    let (k, p) = (means.nrows(), means.ncols());
    let n: usize = counts.iter().sum();
    let n = n as f64;
    let mean: Vec<f64> = (0..p)
        .map(|j| {
            (0..k)
                .map(|c| counts[c] as f64 * means[(c, j)])
                .sum::<f64>()
                / n
        })
        .collect();
    Mat::from_fn(p, k, |j, c| {
        (counts[c] as f64 / n).sqrt() * (means[(c, j)] - mean[j])
    })
}

/// $L = S_k^{-1}U_k^\top$ (m×r) for $A$ (r×K) $= USV^\top$, keeping the m directions with
/// $s_j > \mathrm{tol}\cdot s_1$: then $\|Lu\|^2 = u^\top(AA^\top)^+u$ for every $u$. An SVD that
/// does not converge (never seen on these small matrices) gives no direction.
pub(crate) fn pinv_factor(a: MatRef<'_, f64>, tol: f64) -> Mat<f64> {
    let r = a.nrows();
    if r == 0 || a.ncols() == 0 {
        return Mat::zeros(0, r);
    }
    let Ok((u, s)) = thin_svd(a, "thin SVD of the projected class means") else {
        return Mat::zeros(0, r);
    };
    let s_max = s[0];
    let m = s
        .iter()
        .take_while(|&&sj| sj > tol * s_max && sj > 0.0)
        .count();
    Mat::from_fn(m, r, |j, i| u[(i, j)] / s[j])
}

/// $\mathrm{Tr}(W\,(AA^\top)^+)$ for $W$ (r×r, symmetric) and $A$ (r×m), with the pseudo-inverse
/// truncated at singular values $s_j \le \mathrm{tol}\cdot s_1$ of $A$.
///
/// With $A = U S V^\top$: $(AA^\top)^+ = \sum_{j\,\mathrm{kept}} u_j u_j^\top / s_j^2$, so the
/// trace is $\sum_j u_j^\top W u_j / s_j^2$. Returns the trace, the number of kept directions
/// and $s_{\min}/s_1$ over the kept ones (1 with none kept).
pub(crate) fn trace_against_pinv(
    w: MatRef<'_, f64>,
    a: MatRef<'_, f64>,
    tol: f64,
) -> Result<(f64, usize, f64)> {
    if a.nrows() == 0 || a.ncols() == 0 {
        return Ok((0.0, 0, 1.0));
    }
    let (u, s) = thin_svd(a, "thin SVD of the projected class means")?;
    let s_max = s[0];
    let mut trace = 0.0;
    let mut rank = 0;
    let mut ratio = 1.0;
    for (j, &sj) in s.iter().enumerate() {
        if sj <= tol * s_max || sj <= 0.0 {
            break;
        }
        rank += 1;
        ratio = sj / s_max;
        let uj = u.col(j);
        let mut quad = 0.0;
        for a_ in 0..w.nrows() {
            let mut row = 0.0;
            for b in 0..w.ncols() {
                row += w[(a_, b)] * uj[b];
            }
            quad += uj[a_] * row;
        }
        trace += quad / (sj * sj);
    }
    Ok((trace, rank, ratio))
}
