//! Per-class statistics of pass 2, from each row's projections on the between-class basis.
//!
//! The pass-2 kernel hands over, for every row $i$ of class $y$, $u_i = Q^\top z_i$ ($r$
//! values, $z_i = x_i - \bar x_y$) and $v_i = \|z_i\|^2$. From these, in $O(r^2 + Kr)$ per row
//! and $O(K)$ memory (plus the bootstrap groups), pass 2 also keeps:
//!
//! * $\sum_{i:y_i=k} v_i$ per class: the class variances $V_k$ of CDNV;
//! * $\sum_{i:y_i=k} \|L u_i\|^2$ per class, with $L = S^{-1}U^\top$ from the thin SVD
//!   $Q^\top M_w = USV^\top$ (kept directions only) so that $\|Lu\|^2 = u^\top (Q^\top SS_b Q)^+ u$:
//!   the per-class fuzziness $D_k$;
//! * the nearest-class-centre (NCC) decision $\arg\min_k\|x_i - \bar x_k\|^2$, counted against
//!   the label and, when given, against the model's prediction. Since
//!   $\|x_i-\bar x_k\|^2 = v_i + 2u_i^\top(c_y - c_k) + \|c_y - c_k\|^2$ with $c_k = Q^\top\bar x_k$
//!   (class-mean differences lie in the span of $Q$), this costs $O(Kr)$ instead of $O(Kp)$;
//! * the sufficient statistics of the grouped bootstrap ([`crate::bootstrap_law`]): each row
//!   falls in one of $G$ pseudo-random groups ([`bootstrap_group`] of its row index), and per
//!   class and group the count, $\sum u_i$ and $\sum u_iu_i^\top$ are kept.

use faer::{Mat, MatRef};

use crate::between::{centred_means_weighted, pinv_factor};
use crate::error::{GeometryError, Result};

/// Most bootstrap groups per class.
pub const MAX_BOOTSTRAP_GROUPS: usize = 64;
/// Fewest bootstrap groups per class worth keeping: with fewer, no groups are kept.
pub const MIN_BOOTSTRAP_GROUPS: usize = 16;
/// Memory the bootstrap groups of one layer may take, in bytes.
pub const BOOTSTRAP_BUDGET_BYTES: usize = 64 << 20;

/// The bootstrap group of row `index` among `groups` (a power of two): the top
/// $\log_2 G$ bits of Knuth's multiplicative hash $(i \bmod 2^{31})\cdot 2654435761 \bmod 2^{32}$.
/// The same for every layer, so a resampled group holds the same examples in every layer.
pub fn bootstrap_group(index: u64, groups: usize) -> usize {
    debug_assert!(groups.is_power_of_two());
    let h = ((index & 0x7FFF_FFFF) * 2_654_435_761) & 0xFFFF_FFFF;
    (h >> (32 - groups.trailing_zeros())) as usize
}

/// Number of bootstrap groups per class for $K$ classes and rank $r$: the largest power of
/// two up to [`MAX_BOOTSTRAP_GROUPS`] whose statistics, $8KG(1 + r + r(r+1)/2)$ bytes, fit in
/// [`BOOTSTRAP_BUDGET_BYTES`]; 0 (no bootstrap) when that is below [`MIN_BOOTSTRAP_GROUPS`].
/// Pass 2 also caps it at the smallest class size ([`crate::Basis::bootstrap_groups`]).
pub fn bootstrap_groups_for(num_classes: usize, rank: usize) -> usize {
    let per_group = 8 * num_classes.max(1) * (1 + rank + rank * (rank + 1) / 2);
    let mut g = MAX_BOOTSTRAP_GROUPS;
    while g >= MIN_BOOTSTRAP_GROUPS {
        if g * per_group <= BOOTSTRAP_BUDGET_BYTES {
            return g;
        }
        g /= 2;
    }
    0
}

/// `groups` capped at the largest power of two not above the smallest class size (a group
/// per example at most); 0 when that is below [`MIN_BOOTSTRAP_GROUPS`].
fn groups_for_sizes(groups: usize, counts: &[usize]) -> usize {
    let n_min = counts.iter().copied().min().unwrap_or(0);
    let mut g = groups;
    while g > n_min {
        g /= 2;
    }
    if g < MIN_BOOTSTRAP_GROUPS {
        0
    } else {
        g
    }
}

/// What every row of pass 2 needs for the per-class statistics of one layer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ClassStatsPlan {
    k: usize,
    r: usize,
    /// $L$, m×r row-major (m kept directions of $SS_b$).
    whiten: Vec<f64>,
    m: usize,
    /// $c_k = Q^\top \bar x_k$, K×r row-major.
    centres: Vec<f64>,
    /// $\|c_y - c_k\|^2$, K×K row-major.
    dist2: Vec<f64>,
    /// $[L; C]^\top$: r rows of m + K values, so that every row's m + K dot products are
    /// one pass of independent multiply-adds over its r projections.
    stacked_t: Vec<f64>,
    groups: usize,
}

impl ClassStatsPlan {
    /// The plan for class means `means` (K×p), class sizes `counts`, basis `q` (p×r) and the
    /// pseudo-inverse cut-off `tol` (the one of [`crate::SeparationOptions`]).
    pub(crate) fn new(
        means: MatRef<'_, f64>,
        counts: &[usize],
        q: MatRef<'_, f64>,
        tol: f64,
    ) -> ClassStatsPlan {
        let (k, r) = (means.nrows(), q.ncols());
        let weighted = centred_means_weighted(means, counts);
        let a = q.transpose() * &weighted;
        let l = pinv_factor(a.as_ref(), tol);
        let m = l.nrows();
        let c: Mat<f64> = means * q;
        let mut dist2 = vec![0.0; k * k];
        for y in 0..k {
            for j in 0..k {
                dist2[y * k + j] = (0..r).map(|a| (c[(y, a)] - c[(j, a)]).powi(2)).sum();
            }
        }
        let w = m + k;
        let stacked_t = (0..r * w)
            .map(|i| {
                let (a, j) = (i / w, i % w);
                if j < m {
                    l[(j, a)]
                } else {
                    c[(j - m, a)]
                }
            })
            .collect();
        ClassStatsPlan {
            k,
            r,
            stacked_t,
            whiten: (0..m * r).map(|i| l[(i / r, i % r)]).collect(),
            m,
            centres: (0..k * r).map(|i| c[(i / r, i % r)]).collect(),
            dist2,
            groups: groups_for_sizes(bootstrap_groups_for(k, r), counts),
        }
    }

    /// Bootstrap groups per class (0: none kept).
    pub(crate) fn groups(&self) -> usize {
        self.groups
    }

    /// Number of classes $K$.
    pub(crate) fn num_classes(&self) -> usize {
        self.k
    }

    /// $c_k = Q^\top\bar x_k$, K×r row-major.
    pub(crate) fn centres(&self) -> &[f64] {
        &self.centres
    }

    /// $L$, m×r row-major.
    pub(crate) fn whiten(&self) -> &[f64] {
        &self.whiten
    }
}

/// The bootstrap groups as parts: G, then the counts, sums and packed scatters per (class,
/// group) (see [`ClassStats::from_parts`]).
pub type GroupParts = (usize, Vec<u64>, Vec<f64>, Vec<f64>);

/// Sufficient statistics of the grouped bootstrap of one layer: per class $k$ and group $g$
/// (index `k * G + g`), the count, $\sum u_i$ (r values) and the lower triangle of
/// $\sum u_iu_i^\top$ (packed row by row, $r(r+1)/2$ values).
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapGroups {
    pub(crate) groups: usize,
    pub(crate) rank: usize,
    pub(crate) counts: Vec<u64>,
    pub(crate) sums: Vec<f64>,
    pub(crate) scatter: Vec<f64>,
    /// $c_k = Q^\top\bar x_k$ (K×r row-major) of the full data, set when the layer is finished.
    pub(crate) centres: Vec<f64>,
}

impl BootstrapGroups {
    fn new(k: usize, groups: usize, r: usize) -> BootstrapGroups {
        BootstrapGroups {
            groups,
            rank: r,
            counts: vec![0; k * groups],
            sums: vec![0.0; k * groups * r],
            scatter: vec![0.0; k * groups * r * (r + 1) / 2],
            centres: Vec::new(),
        }
    }

    /// Groups per class $G$.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Rank $r$ of the basis the projections are on.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Number of classes $K$.
    pub fn num_classes(&self) -> usize {
        self.counts.len() / self.groups.max(1)
    }

    /// Counts per (class, group), index `k * G + g`.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// $\sum u_i$ per (class, group), r values each.
    pub fn sums(&self) -> &[f64] {
        &self.sums
    }

    /// Packed lower triangles of $\sum u_iu_i^\top$ per (class, group).
    pub fn scatter(&self) -> &[f64] {
        &self.scatter
    }

    fn add(&mut self, other: &BootstrapGroups) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a += b;
        }
        for (a, b) in self.scatter.iter_mut().zip(&other.scatter) {
            *a += b;
        }
    }
}

/// Per-class sums of pass 2 (see the [module docs](self)); they add when states merge.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassStats {
    pub(crate) sum_squares: Vec<f64>,
    pub(crate) fuzziness: Vec<f64>,
    pub(crate) ncc_correct: u64,
    pub(crate) predicted: u64,
    pub(crate) ncc_agree: u64,
    pub(crate) bootstrap: Option<BootstrapGroups>,
}

impl ClassStats {
    /// Empty statistics for `plan`.
    pub(crate) fn new(plan: &ClassStatsPlan) -> ClassStats {
        ClassStats {
            sum_squares: vec![0.0; plan.k],
            fuzziness: vec![0.0; plan.k],
            ncc_correct: 0,
            predicted: 0,
            ncc_agree: 0,
            bootstrap: (plan.groups > 0).then(|| BootstrapGroups::new(plan.k, plan.groups, plan.r)),
        }
    }

    /// Adds row `index` of class `y` from its kernel output `out` ($u$, then $v$), with the
    /// model's `prediction` if known. `scratch` holds K values.
    pub(crate) fn add_row(
        &mut self,
        plan: &ClassStatsPlan,
        y: usize,
        index: u64,
        out: &[f64],
        prediction: Option<usize>,
        scratch: &mut Vec<f64>,
    ) {
        let (k, r, m) = (plan.k, plan.r, plan.m);
        let u = &out[..r];
        self.sum_squares[y] += out[r];
        // The m whitened coordinates L u, then the K inner products c_k . u.
        let w = m + k;
        scratch.resize(w, 0.0);
        scratch.fill(0.0);
        for (&ua, col) in u.iter().zip(plan.stacked_t.chunks_exact(w)) {
            for (d, &v) in scratch.iter_mut().zip(col) {
                *d += ua * v;
            }
        }
        let (whitened, dots) = scratch.split_at(m);
        self.fuzziness[y] += whitened.iter().map(|v| v * v).sum::<f64>();
        let (mut best, mut near) = (0, f64::INFINITY);
        let (own, dist2) = (dots[y], &plan.dist2[y * k..(y + 1) * k]);
        for (c, (&dot, &d2)) in dots.iter().zip(dist2).enumerate() {
            let score = 2.0 * (own - dot) + d2;
            if score < near {
                (best, near) = (c, score);
            }
        }
        self.ncc_correct += u64::from(best == y);
        if let Some(p) = prediction {
            self.predicted += 1;
            self.ncc_agree += u64::from(best == p);
        }
        if let Some(b) = self.bootstrap.as_mut() {
            let slot = y * b.groups + bootstrap_group(index, b.groups);
            b.counts[slot] += 1;
            for (s, v) in b.sums[slot * r..(slot + 1) * r].iter_mut().zip(u) {
                *s += v;
            }
            let tri = r * (r + 1) / 2;
            let mut packed = &mut b.scatter[slot * tri..(slot + 1) * tri];
            for (a, &ua) in u.iter().enumerate() {
                let (row, rest) = packed.split_at_mut(a + 1);
                for (p, &ub) in row.iter_mut().zip(u) {
                    *p += ua * ub;
                }
                packed = rest;
            }
        }
    }

    /// Adds `other` (statistics of the same layer and basis).
    pub(crate) fn add(&mut self, other: &ClassStats) {
        for (a, b) in self.sum_squares.iter_mut().zip(&other.sum_squares) {
            *a += b;
        }
        for (a, b) in self.fuzziness.iter_mut().zip(&other.fuzziness) {
            *a += b;
        }
        self.ncc_correct += other.ncc_correct;
        self.predicted += other.predicted;
        self.ncc_agree += other.ncc_agree;
        if let (Some(a), Some(b)) = (self.bootstrap.as_mut(), other.bootstrap.as_ref()) {
            a.add(b);
        }
    }

    /// Per-class sums computed elsewhere (e.g. by torch on a GPU) over the rows of a pass 2:
    /// per class $\sum\|z_i\|^2$ and $\sum\|LQ^\top z_i\|^2$ ([`crate::Basis::whiten`]), the
    /// number of rows whose nearest class mean is their class, the number of rows with a
    /// prediction and of those the ones whose nearest class mean is the predicted class, and
    /// optionally the bootstrap groups: $G$, then per (class, group) at `k * G + g` (group of
    /// row $i$: [`bootstrap_group`]) the counts, $\sum Q^\top z_i$ (r each) and the packed
    /// lower triangles of $\sum (Q^\top z_i)(Q^\top z_i)^\top$ ($r(r+1)/2$ each).
    ///
    /// Errors: lengths that do not match K, r and G ([`GeometryError::ShapeMismatch`]), G not
    /// a power of two, a negative or non-finite value ([`GeometryError::NonFiniteArgument`]).
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        rank: usize,
        sum_squares: Vec<f64>,
        fuzziness: Vec<f64>,
        ncc_correct: u64,
        predicted: u64,
        ncc_agree: u64,
        bootstrap: Option<GroupParts>,
    ) -> Result<ClassStats> {
        let k = sum_squares.len();
        let shape = |what: &'static str, want: usize, got: usize| GeometryError::ShapeMismatch {
            what,
            expected_rows: 1,
            expected_cols: want,
            rows: 1,
            cols: got,
        };
        if fuzziness.len() != k {
            return Err(shape("per-class fuzziness sums", k, fuzziness.len()));
        }
        for (what, values) in [
            ("per-class sums of squares", &sum_squares),
            ("per-class fuzziness sums", &fuzziness),
        ] {
            if let Some(col) = values.iter().position(|v| !(v.is_finite() && *v >= 0.0)) {
                return Err(GeometryError::NonFiniteArgument {
                    what,
                    row: 0,
                    col,
                    value: values[col],
                });
            }
        }
        let bootstrap = match bootstrap {
            None => None,
            Some((groups, counts, sums, scatter)) => {
                if !groups.is_power_of_two() {
                    return Err(GeometryError::InvalidOption {
                        name: "bootstrap groups",
                        value: groups as f64,
                        reason: "the number of bootstrap groups must be a power of two",
                    });
                }
                let kg = k * groups;
                let tri = rank * (rank + 1) / 2;
                if counts.len() != kg {
                    return Err(shape("bootstrap group counts", kg, counts.len()));
                }
                if sums.len() != kg * rank {
                    return Err(shape("bootstrap group sums", kg * rank, sums.len()));
                }
                if scatter.len() != kg * tri {
                    return Err(shape("bootstrap group scatter", kg * tri, scatter.len()));
                }
                for (what, values) in [
                    ("bootstrap group sums", &sums),
                    ("bootstrap group scatter", &scatter),
                ] {
                    if let Some(col) = values.iter().position(|v| !v.is_finite()) {
                        return Err(GeometryError::NonFiniteArgument {
                            what,
                            row: 0,
                            col,
                            value: values[col],
                        });
                    }
                }
                Some(BootstrapGroups {
                    groups,
                    rank,
                    counts,
                    sums,
                    scatter,
                    centres: Vec::new(),
                })
            }
        };
        Ok(ClassStats {
            sum_squares,
            fuzziness,
            ncc_correct,
            predicted,
            ncc_agree,
            bootstrap,
        })
    }

    /// Number of classes $K$.
    pub fn num_classes(&self) -> usize {
        self.sum_squares.len()
    }

    /// Whether the bootstrap groups (if any) are of rank `r`.
    pub(crate) fn fits_rank(&self, r: usize) -> bool {
        self.bootstrap.as_ref().is_none_or(|b| b.rank == r)
    }

    /// $\sum_{i:y_i=k}\|z_i\|^2$ per class.
    pub fn sum_squares(&self) -> &[f64] {
        &self.sum_squares
    }

    /// $\sum_{i:y_i=k}\|Lu_i\|^2$ per class (divided by $n_k$: $D_k$).
    pub fn fuzziness(&self) -> &[f64] {
        &self.fuzziness
    }

    /// Rows whose nearest class mean is their own class.
    pub fn ncc_correct(&self) -> u64 {
        self.ncc_correct
    }

    /// Rows that came with a prediction, and of those, the ones whose nearest class mean is
    /// the predicted class.
    pub fn ncc_agreement_counts(&self) -> (u64, u64) {
        (self.predicted, self.ncc_agree)
    }

    /// The bootstrap groups, when kept.
    pub fn bootstrap(&self) -> Option<&BootstrapGroups> {
        self.bootstrap.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_cover_and_are_balanced() {
        for g in [1usize, 16, 32, 64] {
            let mut seen = vec![0usize; g];
            for i in 0..64_000u64 {
                seen[bootstrap_group(i, g)] += 1;
            }
            let expect = 64_000 / g;
            assert!(
                seen.iter().all(|&c| c.abs_diff(expect) * 10 < expect),
                "{g}: {seen:?}"
            );
        }
        assert_eq!(bootstrap_groups_for(10, 9), 64);
        assert_eq!(bootstrap_groups_for(100, 99), 16);
        assert_eq!(bootstrap_groups_for(1000, 999), 0);
    }
}
