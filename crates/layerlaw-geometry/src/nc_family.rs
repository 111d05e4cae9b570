//! The rest of the neural-collapse family, from the class means and the per-class sums of
//! pass 2: trace-quotient NC1, CDNV, per-class fuzziness, hyperspherical uniformity (GNC2),
//! nearest-class-centre NC4 and out-of-distribution orthogonality (NC5).
//!
//! Definitions follow the neural-collapse library (rhubarbwu/neural-collapse, `measure.py`
//! and `kernels.py`) where it defines the metric; `docs/definitions.md` lists them side by
//! side.

use faer::MatRef;

use crate::class_stats::ClassStats;
use crate::error::{GeometryError, Result};

/// The metrics [`crate::Separation`] gains from the per-class sums.
pub(crate) struct FamilyMetrics {
    pub nc1_quotient: f64,
    pub cdnv: Option<f64>,
    pub class_variance: Vec<f64>,
    pub class_fuzziness: Vec<f64>,
    pub gnc2_log_energy: Option<f64>,
    pub gnc2_log_variance: Option<f64>,
    pub ncc_accuracy: Option<f64>,
    pub ncc_agreement: Option<f64>,
}

/// Computes [`FamilyMetrics`] from the Gram matrix $G = C^\top C$ (K×K) of the centred class
/// means $C = [\mu_k - \mu_G]$, the class sizes, $\mathrm{Tr}\,\Sigma_W$ and the per-class sums
/// (`None`: one-pass accumulator, then the per-class metrics are left out with a note).
pub(crate) fn family_metrics(
    gram: MatRef<'_, f64>,
    counts: &[usize],
    trace_within: f64,
    stats: Option<&ClassStats>,
    notes: &mut Vec<String>,
) -> FamilyMetrics {
    let k = counts.len();
    let n: usize = counts.iter().sum();
    let trace_sigma_b = (0..k).map(|c| gram[(c, c)]).sum::<f64>() / k as f64;
    let nc1_quotient = trace_within / trace_sigma_b;
    // Squared distances between class means, from the centred Gram matrix.
    let dist2 = |a: usize, b: usize| (gram[(a, a)] + gram[(b, b)] - 2.0 * gram[(a, b)]).max(0.0);
    let (gnc2_log_energy, gnc2_log_variance) = match log_kernel_stats(gram) {
        Some((e, v)) => (Some(e), Some(v)),
        None => {
            notes.push(
                "GNC2 undefined: a centred class mean is zero or two normalised class means coincide"
                    .to_string(),
            );
            (None, None)
        }
    };
    let Some(stats) = stats else {
        notes.push(
            "CDNV, per-class fuzziness and NCC accuracy need the per-class sums of two passes"
                .to_string(),
        );
        return FamilyMetrics {
            nc1_quotient,
            cdnv: None,
            class_variance: Vec::new(),
            class_fuzziness: Vec::new(),
            gnc2_log_energy,
            gnc2_log_variance,
            ncc_accuracy: None,
            ncc_agreement: None,
        };
    };
    let class_variance: Vec<f64> = (0..k)
        .map(|c| stats.sum_squares[c] / counts[c] as f64)
        .collect();
    let class_fuzziness: Vec<f64> = (0..k)
        .map(|c| stats.fuzziness[c] / counts[c] as f64)
        .collect();
    let mut total = 0.0;
    let mut cdnv = Some(());
    for a in 0..k {
        for b in a + 1..k {
            let d2 = dist2(a, b);
            if d2 <= 0.0 {
                cdnv = None;
            }
            total += (class_variance[a] + class_variance[b]) / (2.0 * d2);
        }
    }
    let pairs = (k * (k - 1) / 2) as f64;
    let cdnv = cdnv.map(|_| total / pairs);
    if cdnv.is_none() {
        notes.push("CDNV undefined: two class means coincide".to_string());
    }
    let (predicted, agree) = stats.ncc_agreement_counts();
    FamilyMetrics {
        nc1_quotient,
        cdnv,
        class_variance,
        class_fuzziness,
        gnc2_log_energy,
        gnc2_log_variance,
        ncc_accuracy: Some(stats.ncc_correct as f64 / n as f64),
        ncc_agreement: (predicted > 0).then(|| agree as f64 / predicted as f64),
    }
}

/// Mean and variance over pairs $k<k'$ of $\log(1/\|\hat\mu_k-\hat\mu_{k'}\|)$ for the
/// normalised centred means, from their Gram matrix: $\|\hat\mu_k-\hat\mu_{k'}\|^2 =
/// 2 - 2G_{kk'}/\sqrt{G_{kk}G_{k'k'}}$. `None` when a norm or a distance is zero.
fn log_kernel_stats(gram: MatRef<'_, f64>) -> Option<(f64, f64)> {
    let k = gram.nrows();
    let norms: Vec<f64> = (0..k).map(|c| gram[(c, c)].sqrt()).collect();
    let max = norms.iter().copied().fold(0.0, f64::max);
    if norms.iter().any(|&v| v <= 1e-12 * max) {
        return None;
    }
    let mut values = Vec::with_capacity(k * (k - 1) / 2);
    for a in 0..k {
        for b in a + 1..k {
            let cos = (gram[(a, b)] / (norms[a] * norms[b])).clamp(-1.0, 1.0);
            let d2 = 2.0 - 2.0 * cos;
            if d2 <= 0.0 {
                return None;
            }
            values.push(-0.5 * d2.ln());
        }
    }
    let m = values.len() as f64;
    let mean = values.iter().sum::<f64>() / m;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / m;
    Some((mean, var))
}

/// NC5: mean over classes of $|\cos(\mu_k, m)|$ for class means `means` (K×p, uncentred, as
/// the neural-collapse library's `orthogonality_deviation`) and an out-of-distribution
/// global mean `m`.
pub(crate) fn orthogonality_deviation(means: MatRef<'_, f64>, ood_mean: &[f64]) -> Result<f64> {
    let (k, p) = (means.nrows(), means.ncols());
    if ood_mean.len() != p {
        return Err(GeometryError::ShapeMismatch {
            what: "out-of-distribution mean",
            expected_rows: 1,
            expected_cols: p,
            rows: 1,
            cols: ood_mean.len(),
        });
    }
    if let Some(col) = ood_mean.iter().position(|v| !v.is_finite()) {
        return Err(GeometryError::NonFiniteArgument {
            what: "out-of-distribution mean",
            row: 0,
            col,
            value: ood_mean[col],
        });
    }
    let m_norm = ood_mean.iter().map(|v| v * v).sum::<f64>().sqrt();
    if m_norm == 0.0 {
        return Err(GeometryError::InvalidOption {
            name: "ood_mean",
            value: 0.0,
            reason: "the out-of-distribution mean is zero, so its cosines are undefined",
        });
    }
    let mut total = 0.0;
    for c in 0..k {
        let row = means.row(c);
        let norm = row.norm_l2();
        if norm == 0.0 {
            return Err(GeometryError::InvalidOption {
                name: "class mean",
                value: c as f64,
                reason: "a class mean is zero, so its cosine with the out-of-distribution mean is undefined",
            });
        }
        let dot: f64 = (0..p).map(|j| row[j] * ood_mean[j]).sum();
        total += (dot / (norm * m_norm)).abs();
    }
    Ok(total / k as f64)
}
