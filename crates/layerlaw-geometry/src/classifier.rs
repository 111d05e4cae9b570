//! Classifier geometry: minority collapse (Fang, He, Long & Su, PNAS 2021) and NC3/NC4
//! (Papyan, Han & Donoho, PNAS 2020).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use rayon::prelude::*;
use serde::Serialize;

use crate::between::centred_means_unweighted;
use crate::blocks::{chunk_ranges, load_rows};
use crate::class_means::class_means;
use crate::error::{GeometryError, Result};
use crate::labels::Labels;
use crate::nc2::{etf_distance_of_gram, NEAR_ZERO_NORM};
use crate::scalar::Scalar;

/// Pairwise geometry of one group of classifier rows $w_k$.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupGeometry {
    /// The classes in the group, ascending.
    pub classes: Vec<usize>,
    /// Mean over pairs $k<k'$ in the group of $\cos(w_k, w_{k'})$. Minority collapse
    /// (Fang et al. 2021) drives the minority value to 1; a simplex ETF gives $-1/(K-1)$.
    /// `None` (see `note`) for fewer than two classes or a (near-)zero $\|w_k\|$.
    pub mean_cosine: Option<f64>,
    /// Mean over pairs $k<k'$ of $\|w_k - w_{k'}\|$; `None` for fewer than two classes.
    pub mean_distance: Option<f64>,
    /// Mean of $\|w_k\|$ over the group; `None` for an empty group.
    pub mean_norm: Option<f64>,
    /// Why a field is `None`, if one is.
    pub note: Option<String>,
}

/// Minority-collapse geometry of a last-layer classifier $W$ (K×p, row k = class k).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassifierGeometry {
    /// Geometry of the minority classes.
    pub minority: GroupGeometry,
    /// Geometry of the majority classes (the complement).
    pub majority: GroupGeometry,
    /// $\|WW^\top/\|WW^\top\|_F - (I_K-\mathbf 1\mathbf 1^\top/K)/\sqrt{K-1}\|_F$ (Zhu et al.,
    /// NeurIPS 2021): 0 for a (centred) simplex ETF.
    pub etf_distance: f64,
}

/// Minority/majority pairwise cosines, distances and norms of the rows of `w`, and the ETF
/// distance of $WW^\top$.
///
/// Errors: $K < 2$, a non-finite entry, a minority index $\ge K$ or repeated, $W = 0$.
pub fn classifier_geometry(w: MatRef<'_, f64>, minority: &[usize]) -> Result<ClassifierGeometry> {
    let k = w.nrows();
    if k < 2 {
        return Err(GeometryError::TooFewClasses { num_classes: k });
    }
    check_finite(w, "classifier weights")?;
    let mut is_minority = vec![false; k];
    for &c in minority {
        if c >= k {
            return Err(GeometryError::ClassOutOfRange {
                what: "minority",
                class: c,
                num_classes: k,
            });
        }
        if is_minority[c] {
            return Err(GeometryError::DuplicateClass {
                what: "minority",
                class: c,
            });
        }
        is_minority[c] = true;
    }
    let g = w * w.transpose();
    let etf_distance = etf_distance_of_gram(g.as_ref()).ok_or(GeometryError::ZeroMatrix {
        what: "classifier weights",
    })?;
    let norms: Vec<f64> = (0..k).map(|c| g[(c, c)].max(0.0).sqrt()).collect();
    let max_norm = norms.iter().copied().fold(0.0, f64::max);
    let group = |members: Vec<usize>| group_geometry(&g, &norms, max_norm, members);
    Ok(ClassifierGeometry {
        minority: group((0..k).filter(|&c| is_minority[c]).collect()),
        majority: group((0..k).filter(|&c| !is_minority[c]).collect()),
        etf_distance,
    })
}

fn group_geometry(
    g: &Mat<f64>,
    norms: &[f64],
    max_norm: f64,
    classes: Vec<usize>,
) -> GroupGeometry {
    let m = classes.len();
    let mean_norm = (m > 0).then(|| classes.iter().map(|&c| norms[c]).sum::<f64>() / m as f64);
    if m < 2 {
        return GroupGeometry {
            note: Some(format!(
                "group has {m} class(es); pairwise quantities need two"
            )),
            classes,
            mean_cosine: None,
            mean_distance: None,
            mean_norm,
        };
    }
    let pairs = (m * (m - 1) / 2) as f64;
    let (mut cos, mut dist) = (0.0, 0.0);
    for (a_i, &a) in classes.iter().enumerate() {
        for &b in &classes[a_i + 1..] {
            dist += (g[(a, a)] + g[(b, b)] - 2.0 * g[(a, b)]).max(0.0).sqrt();
            cos += g[(a, b)] / (norms[a] * norms[b]);
        }
    }
    let degenerate = classes
        .iter()
        .find(|&&c| norms[c] <= NEAR_ZERO_NORM * max_norm);
    GroupGeometry {
        mean_cosine: if degenerate.is_none() {
            Some(cos / pairs)
        } else {
            None
        },
        note: degenerate.map(|c| format!("||w_{c}|| is (near) zero, so its cosines are undefined")),
        mean_distance: Some(dist / pairs),
        mean_norm,
        classes,
    }
}

/// NC3 and NC4 of a linear classifier $x \mapsto Wx + b$ on features `x`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassifierCollapse {
    /// NC3 (self-duality) $\|W/\|W\|_F - M/\|M\|_F\|_F$ with $M$ the K×p centred class means
    /// $\mu_k - \mu_G$ (Papyan, Han & Donoho 2020; their notebook reports the square).
    pub nc3: f64,
    /// NC4: fraction of samples where $\arg\max_k (Wx+b)_k$ differs from the nearest class mean
    /// $\arg\min_k\|x-\mu_k\|$ (ties go to the lowest index, as `argmax` in numpy/torch).
    pub nc4: f64,
    /// Fraction of samples with $\arg\max_k (Wx+b)_k = y$.
    pub classifier_accuracy: f64,
    /// Fraction of samples whose nearest class mean is their own class.
    pub ncc_accuracy: f64,
    /// UNC3, uniform duality (the `nc3u_uni_dual` of the neural-collapse library): the sample
    /// variance (ddof = 1, as `torch.var`) over classes of $w_k^\top(\mu_k-\mu_G)$; 0 when every
    /// classifier row has the same inner product with its centred class mean.
    pub uniform_duality: f64,
}

/// UNC3 of classifier `w` (K×p) and centred class means `m` (p×K): the sample variance over
/// $k$ of $w_k^\top m_k$.
pub(crate) fn uniform_duality(w: MatRef<'_, f64>, m: MatRef<'_, f64>) -> f64 {
    let (k, p) = (w.nrows(), w.ncols());
    let dots: Vec<f64> = (0..k)
        .map(|c| (0..p).map(|j| w[(c, j)] * m[(j, c)]).sum())
        .collect();
    let mean = dots.iter().sum::<f64>() / k as f64;
    dots.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / (k as f64 - 1.0)
}

/// NC3 $= \|W/\|W\|_F - M^\top/\|M\|_F\|_F$ of classifier `w` (K×p) and the centred class means
/// `m` (p×K, columns $\mu_k-\mu_G$). Errors: $W = 0$ or $M = 0$.
pub(crate) fn nc3(w: MatRef<'_, f64>, m: MatRef<'_, f64>) -> Result<f64> {
    let (k, p) = (w.nrows(), w.ncols());
    let (w_norm, m_norm) = (w.norm_l2(), m.norm_l2());
    if w_norm <= 0.0 {
        return Err(GeometryError::ZeroMatrix {
            what: "classifier weights",
        });
    }
    if m_norm <= 0.0 {
        return Err(GeometryError::ZeroBetweenClass { num_classes: k });
    }
    Ok(Mat::from_fn(k, p, |c, j| w[(c, j)] / w_norm - m[(j, c)] / m_norm).norm_l2())
}

/// NC3/NC4 and accuracies for features `x` (n×p), classifier `w` (K×p) and bias `b` (length K).
///
/// NC4 uses one GEMM per row block ($O(npK)$): with $z = x-\mu_G$ and $m_k = \mu_k-\mu_G$,
/// $Wx+b = Wz + (W\mu_G+b)$ and $\arg\min_k\|z-m_k\|^2 = \arg\min_k(\|m_k\|^2 - 2z^\top m_k)$.
pub fn neural_collapse_classifier<T: Scalar>(
    x: MatRef<'_, T>,
    labels: &Labels,
    w: MatRef<'_, f64>,
    b: Option<&[f64]>,
) -> Result<ClassifierCollapse> {
    let (n, p, k) = (x.nrows(), x.ncols(), labels.num_classes());
    if n != labels.len() {
        return Err(GeometryError::LengthMismatch {
            rows: n,
            labels: labels.len(),
        });
    }
    if p == 0 {
        return Err(GeometryError::ZeroDimension);
    }
    if w.nrows() != k || w.ncols() != p {
        return Err(GeometryError::ShapeMismatch {
            what: "classifier weights",
            expected_rows: k,
            expected_cols: p,
            rows: w.nrows(),
            cols: w.ncols(),
        });
    }
    check_finite(w, "classifier weights")?;
    let zeros = vec![0.0; k];
    let b = b.unwrap_or(&zeros);
    if b.len() != k {
        return Err(GeometryError::ShapeMismatch {
            what: "classifier bias",
            expected_rows: k,
            expected_cols: 1,
            rows: b.len(),
            cols: 1,
        });
    }
    check_finite(MatRef::from_column_major_slice(b, k, 1), "classifier bias")?;
    let means = class_means(x, labels.as_slice(), labels.counts())?;
    let m = centred_means_unweighted(means.as_ref()); // p×K
    let nc3 = nc3(w, m.as_ref())?;

    let mu_g: Vec<f64> = (0..p)
        .map(|j| (0..k).map(|c| means[(c, j)]).sum::<f64>() / k as f64)
        .collect();
    let offset: Vec<f64> = (0..k)
        .map(|c| (0..p).map(|j| w[(c, j)] * mu_g[j]).sum::<f64>() + b[c])
        .collect();
    let m_sq: Vec<f64> = (0..k).map(|c| m.col(c).squared_norm_l2()).collect();
    // Right-hand side [W^T | M] (p × 2K).
    let rhs = Mat::from_fn(
        p,
        2 * k,
        |j, c| if c < k { w[(c, j)] } else { m[(j, c - k)] },
    );
    let y = labels.as_slice();
    const BLOCK: usize = 256;
    let counts: Vec<(usize, usize, usize)> = chunk_ranges(n, k, p)
        .par_iter()
        .map(|rows| {
            let mut z = vec![0.0f64; BLOCK * p];
            let mut out = Mat::<f64>::zeros(BLOCK, 2 * k);
            let (mut mismatch, mut clf_ok, mut ncc_ok) = (0, 0, 0);
            let mut start = rows.start;
            while start < rows.end {
                let end = (start + BLOCK).min(rows.end);
                let len = end - start;
                load_rows(x, start..end, &mut z);
                for row in z[..len * p].chunks_exact_mut(p) {
                    for (v, g) in row.iter_mut().zip(&mu_g) {
                        *v -= g;
                    }
                }
                let zb = MatRef::from_row_major_slice(&z[..len * p], len, p);
                matmul(
                    out.as_mut().subrows_mut(0, len),
                    Accum::Replace,
                    zb,
                    rhs.as_ref(),
                    1.0,
                    Par::Seq,
                );
                for local in 0..len {
                    let (mut clf, mut best) = (0, f64::NEG_INFINITY);
                    let (mut ncc, mut near) = (0, f64::INFINITY);
                    for c in 0..k {
                        let logit = out[(local, c)] + offset[c];
                        if logit > best {
                            (clf, best) = (c, logit);
                        }
                        let dist = m_sq[c] - 2.0 * out[(local, k + c)];
                        if dist < near {
                            (ncc, near) = (c, dist);
                        }
                    }
                    mismatch += usize::from(clf != ncc);
                    clf_ok += usize::from(clf == y[start + local]);
                    ncc_ok += usize::from(ncc == y[start + local]);
                }
                start = end;
            }
            (mismatch, clf_ok, ncc_ok)
        })
        .collect();
    let (mismatch, clf_ok, ncc_ok) = counts
        .into_iter()
        .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
    let nf = n as f64;
    Ok(ClassifierCollapse {
        nc3,
        uniform_duality: uniform_duality(w, m.as_ref()),
        nc4: mismatch as f64 / nf,
        classifier_accuracy: clf_ok as f64 / nf,
        ncc_accuracy: ncc_ok as f64 / nf,
    })
}

fn check_finite(a: MatRef<'_, f64>, what: &'static str) -> Result<()> {
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            let value = a[(i, j)];
            if !value.is_finite() {
                return Err(GeometryError::NonFiniteArgument {
                    what,
                    row: i,
                    col: j,
                    value,
                });
            }
        }
    }
    Ok(())
}
