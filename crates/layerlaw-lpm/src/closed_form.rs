//! The balanced optimum in closed form (simplex ETF), Fang, He, Long & Su (PNAS 2021).
//!
//! With $n_1 = \dots = n_K$ every global minimiser satisfies $h_k = \sqrt{E_H/E_W}\,w_k$,
//! $\|w_k\|^2 = E_W$ and $\cos(w_k, w_{k'}) = -1/(K-1)$, i.e.
//! $WW^\top = E_W\frac{K}{K-1}(I_K - \tfrac1K\mathbf 1\mathbf 1^\top)$. The logits are
//! $z_{kk} = \sqrt{E_HE_W}$ and $z_{kj} = -\sqrt{E_HE_W}/(K-1)$, so the optimal loss is
//! $$\log\Big(1 + (K-1)\exp\big(-\tfrac{K}{K-1}\sqrt{E_HE_W}\big)\Big).$$

use crate::{LpmError, LpmProblem};

/// The simplex-ETF optimum of the balanced Layer-Peeled Model.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BalancedOptimum {
    /// $\log(1 + (K-1)e^{-K\sqrt{E_HE_W}/(K-1)})$.
    pub objective: f64,
    /// Pairwise cosine of classifiers (and of features), $-1/(K-1)$.
    pub cosine: f64,
    /// The $2K\times 2K$ Gram of $[h_1..h_K, w_1..w_K]$.
    pub gram: Vec<Vec<f64>>,
}

/// Closed-form balanced optimum for $K$ classes and budgets $E_W, E_H$.
///
/// # Errors
/// The same validation as [`LpmProblem::balanced`] ($K \ge 2$, positive finite budgets).
pub fn balanced_closed_form(k: usize, e_w: f64, e_h: f64) -> Result<BalancedOptimum, LpmError> {
    LpmProblem::balanced(k).e_w(e_w).e_h(e_h).build()?;
    let kf = k as f64;
    let simplex =
        |i: usize, j: usize| (if i == j { 1.0 } else { 0.0 } - 1.0 / kf) * kf / (kf - 1.0);
    let scale = |i: usize, j: usize| match (i < k, j < k) {
        (true, true) => e_h,
        (false, false) => e_w,
        _ => (e_h * e_w).sqrt(),
    };
    let gram = (0..2 * k)
        .map(|i| {
            (0..2 * k)
                .map(|j| scale(i, j) * simplex(i % k, j % k))
                .collect()
        })
        .collect();
    let margin = kf / (kf - 1.0) * (e_h * e_w).sqrt();
    Ok(BalancedOptimum {
        objective: ((kf - 1.0) * (-margin).exp()).ln_1p(),
        cosine: -1.0 / (kf - 1.0),
        gram,
    })
}
