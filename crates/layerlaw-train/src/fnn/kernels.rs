//! Fused element-wise kernels of the FNN: batch norm (train/eval, forward/backward), ReLU and
//! softmax cross-entropy. Matrices are row-major `rows × cols`; statistics are accumulated in `f64`.

/// Batch-norm $\varepsilon$ (PyTorch default).
pub const BN_EPS: f64 = 1e-5;
/// Running-statistics momentum (PyTorch default): $r \leftarrow 0.9\,r + 0.1\,s$.
pub const BN_MOMENTUM: f64 = 0.1;

/// Adds `bias` to every row of `z`.
pub fn add_bias(z: &mut [f32], bias: &[f32]) {
    for row in z.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v += b;
        }
    }
}

/// Column means and biased variances of `z` (`rows × cols`).
pub fn column_stats(z: &[f32], cols: usize, mean: &mut [f64], var: &mut [f64]) {
    let rows = z.len() / cols;
    mean.fill(0.0);
    var.fill(0.0);
    for row in z.chunks_exact(cols) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v);
        }
    }
    let inv_rows = 1.0 / rows as f64;
    mean.iter_mut().for_each(|m| *m *= inv_rows);
    for row in z.chunks_exact(cols) {
        for ((s, &v), &m) in var.iter_mut().zip(row).zip(mean.iter()) {
            let d = f64::from(v) - m;
            *s += d * d;
        }
    }
    var.iter_mut().for_each(|s| *s *= inv_rows);
}

/// Train-mode batch norm, in place: $\hat z = (z - \mu_B)/\sqrt{\sigma_B^2 + \varepsilon}$ with the biased
/// batch variance. Writes $1/\sqrt{\sigma_B^2+\varepsilon}$ to `inv_std`. If `running` is given, updates
/// it as PyTorch does with the UNBIASED variance: $\bar\mu \leftarrow 0.9\bar\mu + 0.1\mu_B$,
/// $\bar\sigma^2 \leftarrow 0.9\bar\sigma^2 + 0.1\,\sigma_B^2\, B/(B-1)$ (Ioffe & Szegedy 2015).
pub fn bn_normalize_train(
    z: &mut [f32],
    cols: usize,
    inv_std: &mut [f32],
    stats: &mut (Vec<f64>, Vec<f64>),
    running: Option<(&mut [f32], &mut [f32])>,
) {
    let rows = z.len() / cols;
    let (mean, var) = stats;
    mean.resize(cols, 0.0);
    var.resize(cols, 0.0);
    column_stats(z, cols, mean, var);
    for (s, &v) in inv_std.iter_mut().zip(var.iter()) {
        *s = (1.0 / (v + BN_EPS).sqrt()) as f32;
    }
    let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    for row in z.chunks_exact_mut(cols) {
        for ((v, &m), &s) in row.iter_mut().zip(&mean32).zip(inv_std.iter()) {
            *v = (*v - m) * s;
        }
    }
    if let Some((rm, rv)) = running {
        let unbias = if rows > 1 {
            rows as f64 / (rows - 1) as f64
        } else {
            1.0
        };
        for (((r, &m), rvv), &v) in rm
            .iter_mut()
            .zip(mean.iter())
            .zip(rv.iter_mut())
            .zip(var.iter())
        {
            *r = ((1.0 - BN_MOMENTUM) * f64::from(*r) + BN_MOMENTUM * m) as f32;
            *rvv = ((1.0 - BN_MOMENTUM) * f64::from(*rvv) + BN_MOMENTUM * v * unbias) as f32;
        }
    }
}

/// Eval-mode batch norm followed by the affine map, in place:
/// $y = \gamma (z - \bar\mu)/\sqrt{\bar\sigma^2 + \varepsilon} + \beta$.
pub fn bn_eval_affine(z: &mut [f32], gamma: &[f32], beta: &[f32], rm: &[f32], rv: &[f32]) {
    let cols = gamma.len();
    let scale: Vec<f32> = gamma
        .iter()
        .zip(rv)
        .map(|(&g, &v)| (f64::from(g) / (f64::from(v) + BN_EPS).sqrt()) as f32)
        .collect();
    for row in z.chunks_exact_mut(cols) {
        for (((v, &m), &s), &b) in row.iter_mut().zip(rm).zip(&scale).zip(beta) {
            *v = (*v - m) * s + b;
        }
    }
}

/// `out = act(γ ⊙ x̂ + β)` row-wise (or `act(x̂)` without BN affine), where `act` is ReLU or identity.
pub fn affine_activation(
    out: &mut [f32],
    xhat: &[f32],
    affine: Option<(&[f32], &[f32])>,
    relu: bool,
) {
    match affine {
        Some((gamma, beta)) => {
            let cols = gamma.len();
            for (orow, xrow) in out.chunks_exact_mut(cols).zip(xhat.chunks_exact(cols)) {
                for (((o, &x), &g), &b) in orow.iter_mut().zip(xrow).zip(gamma).zip(beta) {
                    let y = g * x + b;
                    *o = if relu { y.max(0.0) } else { y };
                }
            }
        }
        None => {
            for (o, &x) in out.iter_mut().zip(xhat) {
                *o = if relu { x.max(0.0) } else { x };
            }
        }
    }
}

/// ReLU backward in place: $\partial y = \partial a \cdot [a > 0]$.
pub fn relu_backward(grad: &mut [f32], act: &[f32]) {
    for (g, &a) in grad.iter_mut().zip(act) {
        if a <= 0.0 {
            *g = 0.0;
        }
    }
}

/// Column sums of `m` (`rows × cols`) into `out` (overwritten).
pub fn column_sums(m: &[f32], out: &mut [f32]) {
    let cols = out.len();
    let mut acc = vec![0.0f64; cols];
    for row in m.chunks_exact(cols) {
        for (a, &v) in acc.iter_mut().zip(row) {
            *a += f64::from(v);
        }
    }
    for (o, a) in out.iter_mut().zip(acc) {
        *o = a as f32;
    }
}

/// Batch-norm backward (train mode), in place on `grad` (= $\partial y$ on entry, $\partial z$ on exit):
/// $\partial\gamma = \sum_b \partial y\,\hat z$, $\partial\beta = \sum_b \partial y$,
/// $\partial z = \frac{s}{B}\left(B\,\partial\hat z - \sum_b \partial\hat z - \hat z \sum_b \partial\hat z\,\hat z\right)$
/// with $\partial\hat z = \gamma\,\partial y$ and $s = 1/\sqrt{\sigma_B^2+\varepsilon}$.
pub fn bn_backward(
    grad: &mut [f32],
    xhat: &[f32],
    gamma: &[f32],
    inv_std: &[f32],
    dgamma: &mut [f32],
    dbeta: &mut [f32],
) {
    let cols = gamma.len();
    let rows = grad.len() / cols;
    let mut sum_dy = vec![0.0f64; cols];
    let mut sum_dy_xhat = vec![0.0f64; cols];
    for (grow, xrow) in grad.chunks_exact(cols).zip(xhat.chunks_exact(cols)) {
        for (((s, t), &g), &x) in sum_dy
            .iter_mut()
            .zip(sum_dy_xhat.iter_mut())
            .zip(grow)
            .zip(xrow)
        {
            *s += f64::from(g);
            *t += f64::from(g) * f64::from(x);
        }
    }
    let inv_rows = 1.0 / rows as f64;
    // dz = s γ (dy − mean(dy) − x̂ · mean(dy x̂))
    let mut mean_dy = vec![0.0f32; cols];
    let mut mean_dyx = vec![0.0f32; cols];
    let mut coef = vec![0.0f32; cols];
    for j in 0..cols {
        dbeta[j] = sum_dy[j] as f32;
        dgamma[j] = sum_dy_xhat[j] as f32;
        mean_dy[j] = (sum_dy[j] * inv_rows) as f32;
        mean_dyx[j] = (sum_dy_xhat[j] * inv_rows) as f32;
        coef[j] = (f64::from(gamma[j]) * f64::from(inv_std[j])) as f32;
    }
    for (grow, xrow) in grad.chunks_exact_mut(cols).zip(xhat.chunks_exact(cols)) {
        for j in 0..cols {
            grow[j] = coef[j] * (grow[j] - mean_dy[j] - xrow[j] * mean_dyx[j]);
        }
    }
}

/// Softmax cross-entropy on `logits` (`rows × k`), in place: on exit `logits` holds
/// $\partial L/\partial z_i = w_{y_i}(\mathrm{softmax}(z_i) - e_{y_i}) / \sum_j w_{y_j}$ for the (weighted) mean
/// loss $L = \sum_i w_{y_i}\ell_i / \sum_i w_{y_i}$, $\ell_i = \log\sum_c e^{z_{ic}} - z_{i y_i}$
/// (`torch.nn.CrossEntropyLoss(weight=w)`). Returns `(L, number of rows whose argmax equals the label)`.
pub fn softmax_cross_entropy(
    logits: &mut [f32],
    labels: &[usize],
    k: usize,
    weights: Option<&[f32]>,
) -> (f64, usize) {
    let w_of = |y: usize| weights.map_or(1.0, |w| f64::from(w[y]));
    let total_w: f64 = labels.iter().map(|&y| w_of(y)).sum();
    let mut loss = 0.0f64;
    let mut correct = 0usize;
    for (row, &y) in logits.chunks_exact_mut(k).zip(labels) {
        let (mut best, mut best_v) = (0usize, f32::NEG_INFINITY);
        for (c, &v) in row.iter().enumerate() {
            if v > best_v {
                best_v = v;
                best = c;
            }
        }
        correct += usize::from(best == y);
        let max = f64::from(best_v);
        let sum: f64 = row.iter().map(|&v| (f64::from(v) - max).exp()).sum();
        let lse = max + sum.ln();
        let wy = w_of(y);
        loss += wy * (lse - f64::from(row[y]));
        let scale = if total_w > 0.0 { wy / total_w } else { 0.0 };
        for (c, v) in row.iter_mut().enumerate() {
            let p = (f64::from(*v) - lse).exp();
            let target = if c == y { 1.0 } else { 0.0 };
            *v = (scale * (p - target)) as f32;
        }
    }
    let mean = if total_w > 0.0 { loss / total_w } else { 0.0 };
    (mean, correct)
}
