//! Softmax cross-entropy with optional class weights, as `torch.nn.CrossEntropyLoss(weight = w)`:
//! the batch loss is the weighted mean $L = \sum_i w_{y_i}\ell_i / \sum_i w_{y_i}$ of the per-row losses
//! $\ell_i = \log\sum_c e^{z_{ic}} - z_{i y_i}$ (all weights 1 without `weights`).

/// Weight $w_c$ of class `c` (1 without weights).
fn class_weight(weights: Option<&[f32]>, c: usize) -> f64 {
    weights.map_or(1.0, |w| f64::from(w[c]))
}

/// Total weight $\sum_i w_{y_i}$ of a batch.
fn total_weight(labels: &[usize], weights: Option<&[f32]>) -> f64 {
    labels.iter().map(|&y| class_weight(weights, y)).sum()
}

/// The weight of each row in the batch loss, $w_{y_i}/\sum_j w_{y_j}$ (0 when all weights are 0).
fn row_scale(wy: f64, total: f64) -> f64 {
    if total > 0.0 {
        wy / total
    } else {
        0.0
    }
}

/// Softmax cross-entropy on `logits` (`rows × k`), in place: on exit `logits` holds
/// $\partial L/\partial z_i = w_{y_i}(\mathrm{softmax}(z_i) - e_{y_i}) / \sum_j w_{y_j}$ for the (weighted) mean
/// loss $L$. Returns `(L, number of rows whose argmax equals the label)`; ties go to the first maximum.
pub(crate) fn softmax_cross_entropy(
    logits: &mut [f32],
    labels: &[usize],
    k: usize,
    weights: Option<&[f32]>,
) -> (f64, usize) {
    let total_w = total_weight(labels, weights);
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
        let wy = class_weight(weights, y);
        loss += wy * (lse - f64::from(row[y]));
        let scale = row_scale(wy, total_w);
        for (c, v) in row.iter_mut().enumerate() {
            let p = (f64::from(*v) - lse).exp();
            let target = if c == y { 1.0 } else { 0.0 };
            *v = (scale * (p - target)) as f32;
        }
    }
    let mean = if total_w > 0.0 { loss / total_w } else { 0.0 };
    (mean, correct)
}

/// The weighted one-hot targets `rows × k` with row `i` equal to $(w_{y_i}/\sum_j w_{y_j})\,e_{y_i}$, so
/// that $L = -\sum_{i,c} t_{ic} \log\mathrm{softmax}(z_i)_c$ is the loss of [`softmax_cross_entropy`]
/// (for a framework that differentiates $L$ itself).
pub(crate) fn weighted_targets(labels: &[usize], k: usize, weights: Option<&[f32]>) -> Vec<f32> {
    let total = total_weight(labels, weights);
    let mut target = vec![0.0f32; labels.len() * k];
    for (i, &c) in labels.iter().enumerate() {
        target[i * k + c] = row_scale(class_weight(weights, c), total) as f32;
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_gradient_and_targets_agree_with_the_formula() {
        // Two rows, K = 2, logits (0, ln 3) and (0, 0); labels 1 and 0; weights (1, 3).
        let l3 = 3f32.ln();
        let mut z = vec![0.0, l3, 0.0, 0.0];
        let (loss, correct) = softmax_cross_entropy(&mut z, &[1, 0], 2, Some(&[1.0, 3.0]));
        // ℓ_1 = ln 4 − ln 3, ℓ_2 = ln 2; L = (3ℓ_1 + 1ℓ_2)/4.
        let expected = (3.0 * (4f64.ln() - 3f64.ln()) + 2f64.ln()) / 4.0;
        assert!((loss - expected).abs() < 1e-7, "{loss} vs {expected}");
        // Row 2 is a tie: the first maximum (class 0) counts as correct, as does row 1.
        assert_eq!(correct, 2);
        // ∂L/∂z_1 = 3/4 (softmax − e_1) = 3/4 (1/4 − 0, 3/4 − 1).
        let g = [0.1875f32, -0.1875, -0.125, 0.125];
        assert!(z.iter().zip(g).all(|(a, b)| (a - b).abs() < 1e-6), "{z:?}");
        assert_eq!(
            weighted_targets(&[1, 0], 2, Some(&[1.0, 3.0])),
            vec![0.0, 0.75, 0.25, 0.0]
        );
        assert_eq!(weighted_targets(&[0], 2, Some(&[0.0, 1.0])), vec![0.0, 0.0]);
    }
}
