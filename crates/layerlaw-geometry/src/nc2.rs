//! NC2 (equinorm, equiangularity, distance to a simplex ETF) of a set of K vectors.
//!
//! Papyan, Han & Donoho (PNAS 2020), Fig. 2–4: with centred class means
//! $\tilde\mu_k = \mu_k - \mu_G$, neural collapse drives (a) the coefficient of variation of
//! $\|\tilde\mu_k\|$ to 0 (equinorm), (b) $\cos(\tilde\mu_k, \tilde\mu_{k'}) \to -1/(K-1)$
//! (equiangularity), i.e. the means form a simplex equiangular tight frame (ETF). The ETF
//! distance is the Zhu et al. (NeurIPS 2021) form
//! $\big\|G/\|G\|_F - (I_K - \tfrac1K\mathbf 1\mathbf 1^\top)/\sqrt{K-1}\big\|_F$.

use faer::{Mat, MatRef};

/// Norms below this fraction of the largest norm count as zero for cosines.
pub(crate) const NEAR_ZERO_NORM: f64 = 1e-12;

/// Coefficient of variation $\mathrm{std}/\mathrm{mean}$ of `norms`, with the sample (Bessel,
/// ddof = 1) standard deviation as in Papyan's notebook (`torch.std`). `None` when the mean is 0.
pub(crate) fn coefficient_of_variation(norms: &[f64]) -> Option<f64> {
    let k = norms.len() as f64;
    let mean = norms.iter().sum::<f64>() / k;
    if mean <= 0.0 || norms.len() < 2 {
        return None;
    }
    let var = norms.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (k - 1.0);
    Some(var.sqrt() / mean)
}

/// Mean over ordered pairs $k\ne k'$ of $|\cos(v_k, v_{k'}) + 1/(K-1)|$ for the columns $v_k$
/// of `v` (p×K). `None` when some column's norm is (near) zero, since its cosines are undefined.
pub(crate) fn equiangularity(v: MatRef<'_, f64>) -> Option<f64> {
    let k = v.ncols();
    let cos = cosine_matrix(v)?;
    let shift = 1.0 / (k as f64 - 1.0);
    let mut total = 0.0;
    for a in 0..k {
        for b in 0..k {
            if a != b {
                total += (cos[(a, b)] + shift).abs();
            }
        }
    }
    Some(total / (k * (k - 1)) as f64)
}

/// Cosine matrix of the columns of `v`; `None` if any norm is below
/// [`NEAR_ZERO_NORM`] times the largest.
pub(crate) fn cosine_matrix(v: MatRef<'_, f64>) -> Option<Mat<f64>> {
    let k = v.ncols();
    let norms: Vec<f64> = (0..k).map(|c| v.col(c).norm_l2()).collect();
    let max = norms.iter().copied().fold(0.0, f64::max);
    if norms.iter().any(|&nrm| nrm <= NEAR_ZERO_NORM * max) {
        return None;
    }
    let g = gram(v);
    Some(Mat::from_fn(k, k, |a, b| g[(a, b)] / (norms[a] * norms[b])))
}

/// Gram matrix $V^\top V$ (K×K) of the columns of `v`.
pub(crate) fn gram(v: MatRef<'_, f64>) -> Mat<f64> {
    v.transpose() * v
}

/// $\|G/\|G\|_F - (I - \mathbf 1\mathbf 1^\top/K)/\sqrt{K-1}\|_F$ for a K×K Gram matrix `g`;
/// `None` when $G = 0$.
pub(crate) fn etf_distance_of_gram(g: MatRef<'_, f64>) -> Option<f64> {
    let k = g.nrows();
    let norm = g.norm_l2();
    if norm <= 0.0 {
        return None;
    }
    let scale = 1.0 / (k as f64 - 1.0).sqrt();
    let mut total = 0.0;
    for a in 0..k {
        for b in 0..k {
            let target = (if a == b { 1.0 } else { 0.0 } - 1.0 / k as f64) * scale;
            let d = g[(a, b)] / norm - target;
            total += d * d;
        }
    }
    Some(total.sqrt())
}
