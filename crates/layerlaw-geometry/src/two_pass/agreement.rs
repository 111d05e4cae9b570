//! NC3 and NC4 over two passes: nearest-class-centre agreement counted in pass 2.

use faer::MatRef;

use super::{check_batch, first_non_finite, in_batch, Basis};
use crate::between::centred_means_unweighted;
use crate::classifier::{nc3, uniform_duality, ClassifierCollapse};
use crate::error::{GeometryError, Result};
use crate::layers::LayerFeatures;
use crate::scalar::Scalar;

/// Counts behind NC4 and the accuracies of [`ClassifierCollapse`], accumulated in pass 2 (they
/// need the class means of pass 1): samples seen, samples where $\arg\max_k(Wx+b)_k$ differs
/// from the nearest class mean $\arg\min_k\|x-\bar x_k\|$, samples the classifier gets right,
/// samples whose nearest class mean is their class. Ties go to the lowest index (as `argmax`
/// in numpy and torch). Counts add when states merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CentreAgreement {
    /// Samples counted.
    pub samples: u64,
    /// Samples where the classifier and the nearest class centre disagree.
    pub disagree: u64,
    /// Samples with $\arg\max_k (Wx+b)_k = y$.
    pub classifier_correct: u64,
    /// Samples whose nearest class mean is their own class.
    pub ncc_correct: u64,
}

impl CentreAgreement {
    /// Counts a batch `rows` (b×p) with labels in `0..K` against classifier `w` (K×p) and bias
    /// `b` (K, or none), with the class means of `basis`. $O(bpK)$.
    ///
    /// Errors: a wrong shape of `w` or `b` ([`GeometryError::ShapeMismatch`]), a non-finite
    /// weight, and the batch errors of [`super::Pass2::update`] ([`GeometryError::InBatch`]
    /// with index `batch`). On error nothing is counted.
    pub fn update(
        &mut self,
        basis: &Basis,
        batch: u64,
        rows: LayerFeatures<'_>,
        labels: &[usize],
        w: MatRef<'_, f64>,
        b: Option<&[f64]>,
    ) -> Result<()> {
        let (k, p) = (basis.num_classes(), basis.dim());
        check_classifier(w, b, k, p)?;
        check_batch(&rows, labels, k, p).map_err(|e| in_batch(batch, e))?;
        if let Some(e) = first_non_finite(&rows) {
            return Err(in_batch(batch, e));
        }
        let means = basis.means();
        let mean_sq: Vec<f64> = (0..k).map(|c| means.row(c).squared_norm_l2()).collect();
        let mut counts = *self;
        let mut row = vec![0.0f64; p];
        for (i, &y) in labels.iter().enumerate() {
            match rows {
                LayerFeatures::F32(x) => load_row(x, i, &mut row),
                LayerFeatures::F64(x) => load_row(x, i, &mut row),
            }
            let (mut clf, mut best) = (0, f64::NEG_INFINITY);
            let (mut ncc, mut near) = (0, f64::INFINITY);
            for c in 0..k {
                let (mut logit, mut dot) = (b.map_or(0.0, |b| b[c]), 0.0);
                for (j, &v) in row.iter().enumerate() {
                    logit += w[(c, j)] * v;
                    dot += means[(c, j)] * v;
                }
                if logit > best {
                    (clf, best) = (c, logit);
                }
                // ||x - mu_c||^2 - ||x||^2.
                let dist = mean_sq[c] - 2.0 * dot;
                if dist < near {
                    (ncc, near) = (c, dist);
                }
            }
            counts.samples += 1;
            counts.disagree += u64::from(clf != ncc);
            counts.classifier_correct += u64::from(clf == y);
            counts.ncc_correct += u64::from(ncc == y);
        }
        *self = counts;
        Ok(())
    }

    /// Adds another state's counts.
    pub fn merge(&mut self, other: &CentreAgreement) {
        self.samples += other.samples;
        self.disagree += other.disagree;
        self.classifier_correct += other.classifier_correct;
        self.ncc_correct += other.ncc_correct;
    }
}

fn load_row<T: Scalar>(x: MatRef<'_, T>, i: usize, out: &mut [f64]) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = x[(i, j)].to_f64();
    }
}

fn check_classifier(w: MatRef<'_, f64>, b: Option<&[f64]>, k: usize, p: usize) -> Result<()> {
    if w.nrows() != k || w.ncols() != p {
        return Err(GeometryError::ShapeMismatch {
            what: "classifier weights",
            expected_rows: k,
            expected_cols: p,
            rows: w.nrows(),
            cols: w.ncols(),
        });
    }
    for i in 0..k {
        for j in 0..p {
            let value = w[(i, j)];
            if !value.is_finite() {
                return Err(GeometryError::NonFiniteArgument {
                    what: "classifier weights",
                    row: i,
                    col: j,
                    value,
                });
            }
        }
    }
    if let Some(b) = b {
        if b.len() != k {
            return Err(GeometryError::ShapeMismatch {
                what: "classifier bias",
                expected_rows: k,
                expected_cols: 1,
                rows: b.len(),
                cols: 1,
            });
        }
        if let Some(at) = b.iter().position(|v| !v.is_finite()) {
            return Err(GeometryError::NonFiniteArgument {
                what: "classifier bias",
                row: at,
                col: 0,
                value: b[at],
            });
        }
    }
    Ok(())
}

/// NC3 and NC4 of classifier `w` (K×p) from a closed pass 1 and the pass-2 counts, with the
/// definitions of [`neural_collapse_classifier`](crate::neural_collapse_classifier):
/// NC3 $= \|W/\|W\|_F - M/\|M\|_F\|_F$ with $M$ the centred class means $\mu_k-\mu_G$, NC4 =
/// `disagree / samples`, accuracies likewise.
///
/// Errors: a wrong shape or non-finite entry of `w`, $W = 0$, counts over a number of samples
/// other than pass 1's ([`GeometryError::IncompatibleMerge`]).
pub fn classifier_collapse(
    basis: &Basis,
    w: MatRef<'_, f64>,
    counts: &CentreAgreement,
) -> Result<ClassifierCollapse> {
    let (k, p) = (basis.num_classes(), basis.dim());
    check_classifier(w, None, k, p)?;
    let n = basis.num_samples() as u64;
    if counts.samples != n {
        return Err(GeometryError::IncompatibleMerge {
            reason: format!(
                "the centre agreement counted {} samples but pass 1 saw {n}",
                counts.samples
            ),
        });
    }
    let m = centred_means_unweighted(basis.means()); // p×K
    let nc3 = nc3(w, m.as_ref())?;
    let nf = n as f64;
    Ok(ClassifierCollapse {
        nc3,
        uniform_duality: uniform_duality(w, m.as_ref()),
        nc4: counts.disagree as f64 / nf,
        classifier_accuracy: counts.classifier_correct as f64 / nf,
        ncc_accuracy: counts.ncc_correct as f64 / nf,
    })
}
