//! Pass 2: the within-class scatter projected on a closed pass's basis, and the final step.

use faer::Mat;

use super::{add_counts, bincount, check_batch, first_non_finite, in_batch, Basis};
use crate::class_stats::ClassStats;
use crate::error::{GeometryError, Result};
use crate::kernels::Isa;
use crate::layers::LayerFeatures;
use crate::projection::{project_within, RowsOf, WithinPlan};
use crate::separation::{assemble, Separation};

/// Pass-2 state of one layer for a given [`Basis`]: with $z_i = x_i - \bar x_{y_i}$, the
/// unnormalised projected within-class scatter $W = \sum_i (Q^\top z_i)(Q^\top z_i)^\top$
/// (r×r, kept exactly symmetric), $\sum_i \|z_i\|^2$ and the class counts.
///
/// Divided by $n$ these are $Q^\top SS_w Q$ and $\mathrm{Tr}\,SS_w$. Memory $8(r^2 + K)$ bytes,
/// plus the per-class sums ([`ClassStats`]: CDNV, per-class fuzziness, NCC and the bootstrap
/// groups, $8KG(1 + r + r(r+1)/2)$ bytes with G ≤ 64 groups per class, at most 64 MiB). States
/// made by [`Pass2::from_parts`] carry no per-class sums unless
/// [`Pass2::with_class_stats`] adds them.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass2 {
    pub(crate) num_classes: usize,
    pub(crate) dim: usize,
    pub(crate) rank: usize,
    pub(crate) fingerprint: u64,
    pub(crate) counts: Vec<u64>,
    /// r×r row-major, symmetric.
    pub(crate) scatter: Vec<f64>,
    pub(crate) sum_squares: f64,
    pub(crate) batches: u64,
    pub(crate) class_stats: Option<ClassStats>,
}

impl Pass2 {
    /// An empty pass-2 state for `basis`.
    pub fn new(basis: &Basis) -> Pass2 {
        let r = basis.rank();
        Pass2 {
            num_classes: basis.num_classes(),
            dim: basis.dim(),
            rank: r,
            fingerprint: basis.fingerprint(),
            counts: vec![0; basis.num_classes()],
            scatter: vec![0.0; r * r],
            sum_squares: 0.0,
            batches: 0,
            class_stats: basis
                .options()
                .per_class
                .then(|| ClassStats::new(basis.stats_plan())),
        }
    }

    /// A state from sums computed elsewhere for `basis` (e.g. by torch on a GPU): class counts
    /// (K), the projected scatter $\sum_i (Q^\top z_i)(Q^\top z_i)^\top$ (r×r row-major; its
    /// lower triangle is kept and mirrored) and $\sum_i\|z_i\|^2$.
    ///
    /// Errors: wrong lengths ([`GeometryError::ShapeMismatch`]), a non-finite scatter entry
    /// ([`GeometryError::NonFiniteArgument`]), a sum of squares that is negative or not finite
    /// ([`GeometryError::InvalidOption`] named `sum_squares`).
    pub fn from_parts(
        basis: &Basis,
        counts: Vec<u64>,
        scatter: &[f64],
        sum_squares: f64,
    ) -> Result<Pass2> {
        let (k, r) = (basis.num_classes(), basis.rank());
        if counts.len() != k {
            return Err(GeometryError::ShapeMismatch {
                what: "pass-2 class counts",
                expected_rows: k,
                expected_cols: 1,
                rows: counts.len(),
                cols: 1,
            });
        }
        if scatter.len() != r * r {
            return Err(GeometryError::ShapeMismatch {
                what: "projected within scatter",
                expected_rows: r,
                expected_cols: r,
                rows: 1,
                cols: scatter.len(),
            });
        }
        if let Some(at) = scatter.iter().position(|v| !v.is_finite()) {
            return Err(GeometryError::NonFiniteArgument {
                what: "projected within scatter",
                row: at / r,
                col: at % r,
                value: scatter[at],
            });
        }
        if !(sum_squares.is_finite() && sum_squares >= 0.0) {
            return Err(GeometryError::InvalidOption {
                name: "sum_squares",
                value: sum_squares,
                reason: "the sum of squared residuals must be finite and >= 0",
            });
        }
        let mut state = Pass2::new(basis);
        state.class_stats = None;
        state.counts = counts;
        for a in 0..r {
            for b in 0..=a {
                state.scatter[a * r + b] = scatter[a * r + b];
                state.scatter[b * r + a] = scatter[a * r + b];
            }
        }
        state.sum_squares = sum_squares;
        Ok(state)
    }

    /// Adds a batch: `rows` (b×p, f32 or f64, any strides) with labels in `0..K`, centred on
    /// `basis`'s class means and projected on its $Q$ ($O(bpr)$, the kernels of
    /// [`separation`](crate::separation)'s pass 2).
    ///
    /// `basis` must be the one this state was created for
    /// ([`GeometryError::IncompatibleMerge`] otherwise). Other errors are
    /// [`GeometryError::InBatch`] (see the module docs); on error the state is unchanged.
    pub fn update(
        &mut self,
        basis: &Basis,
        rows: LayerFeatures<'_>,
        labels: &[usize],
    ) -> Result<()> {
        self.update_with_predictions(basis, rows, labels, None)
    }

    /// [`Pass2::update`], also counting how often the nearest class mean is the model's
    /// prediction (`predictions`, one class per row; [`Separation::ncc_agreement`]). A
    /// prediction $\ge K$ or a length other than the labels' is an error of the batch.
    pub fn update_with_predictions(
        &mut self,
        basis: &Basis,
        rows: LayerFeatures<'_>,
        labels: &[usize],
        predictions: Option<&[usize]>,
    ) -> Result<()> {
        self.check_basis(basis)?;
        let batch = self.batches;
        let (k, r) = (self.num_classes, self.rank);
        check_batch(&rows, labels, k, self.dim).map_err(|e| in_batch(batch, e))?;
        if let Some(pred) = predictions {
            check_predictions(pred, labels.len(), k).map_err(|e| in_batch(batch, e))?;
        }
        if !labels.is_empty() {
            let plan = WithinPlan::new(
                Isa::selected(),
                basis.means(),
                basis.counts(),
                basis.q(),
                basis.options(),
            );
            let of = RowsOf {
                labels,
                predictions,
                index_offset: self.counts.iter().sum(),
            };
            let within = match rows {
                LayerFeatures::F32(x) => project_within(x, &of, &plan),
                LayerFeatures::F64(x) => project_within(x, &of, &plan),
            };
            let within = match within {
                Ok(w) if w.sum_squares.is_finite() && w.scatter.is_all_finite() => w,
                other => {
                    let err = first_non_finite(&rows).unwrap_or(match other {
                        Err(e) => e,
                        Ok(_) => GeometryError::Overflow {
                            quantity: "within-class scatter",
                        },
                    });
                    return Err(in_batch(batch, err));
                }
            };
            let mut counts = self.counts.clone();
            add_counts(&mut counts, &bincount(labels, k)).map_err(|e| in_batch(batch, e))?;
            let sum_squares = self.sum_squares + within.sum_squares;
            if !sum_squares.is_finite() {
                return Err(in_batch(
                    batch,
                    GeometryError::Overflow {
                        quantity: "within-class scatter",
                    },
                ));
            }
            for a in 0..r {
                for b in 0..r {
                    // `within.scatter` is exactly symmetric, so this one stays so.
                    self.scatter[a * r + b] += within.scatter[(a, b)];
                }
            }
            self.counts = counts;
            self.sum_squares = sum_squares;
            if let Some(stats) = self.class_stats.as_mut() {
                stats.add(&within.class_stats);
            }
        }
        self.batches += 1;
        Ok(())
    }

    /// Adds per-class sums computed elsewhere (e.g. by torch on a GPU, from the same rows as
    /// the scatter; see [`ClassStats::from_parts`]) to a state made by [`Pass2::from_parts`].
    ///
    /// Errors: statistics of another number of classes or rank
    /// ([`GeometryError::IncompatibleMerge`]).
    pub fn with_class_stats(mut self, stats: ClassStats) -> Result<Pass2> {
        if stats.num_classes() != self.num_classes || !stats.fits_rank(self.rank) {
            return Err(GeometryError::IncompatibleMerge {
                reason: format!(
                    "per-class sums of {} classes do not fit a pass-2 state of {} classes and rank {}",
                    stats.num_classes(),
                    self.num_classes,
                    self.rank
                ),
            });
        }
        self.class_stats = Some(stats);
        Ok(self)
    }

    /// The per-class sums, when this state has them.
    pub fn class_stats(&self) -> Option<&ClassStats> {
        self.class_stats.as_ref()
    }

    /// Adds everything `other` has seen; both must belong to the same basis
    /// ([`GeometryError::IncompatibleMerge`] otherwise, and `self` is unchanged).
    pub fn merge(&mut self, other: &Pass2) -> Result<()> {
        if (self.num_classes, self.dim, self.rank, self.fingerprint)
            != (other.num_classes, other.dim, other.rank, other.fingerprint)
        {
            return Err(GeometryError::IncompatibleMerge {
                reason: format!(
                    "pass-2 states of different bases ({} classes, dimension {}, rank {}, basis {:016x} vs {} classes, dimension {}, rank {}, basis {:016x})",
                    self.num_classes, self.dim, self.rank, self.fingerprint,
                    other.num_classes, other.dim, other.rank, other.fingerprint
                ),
            });
        }
        let mut counts = self.counts.clone();
        add_counts(&mut counts, &other.counts)?;
        self.counts = counts;
        for (a, b) in self.scatter.iter_mut().zip(&other.scatter) {
            *a += b;
        }
        self.sum_squares += other.sum_squares;
        self.batches += other.batches;
        // Per-class sums survive a merge only when both states have them.
        match (self.class_stats.as_mut(), other.class_stats.as_ref()) {
            (Some(a), Some(b)) => a.add(b),
            _ => self.class_stats = None,
        }
        Ok(())
    }

    fn check_basis(&self, basis: &Basis) -> Result<()> {
        if basis.fingerprint() != self.fingerprint
            || basis.rank() != self.rank
            || basis.dim() != self.dim
        {
            return Err(GeometryError::IncompatibleMerge {
                reason: format!(
                    "this pass-2 state belongs to basis {:016x} (dimension {}, rank {}), not to basis {:016x} (dimension {}, rank {})",
                    self.fingerprint,
                    self.dim,
                    self.rank,
                    basis.fingerprint(),
                    basis.dim(),
                    basis.rank()
                ),
            });
        }
        Ok(())
    }

    /// Class counts seen in pass 2.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The projected scatter $\sum_i (Q^\top z_i)(Q^\top z_i)^\top$, r×r row-major.
    pub fn scatter(&self) -> &[f64] {
        &self.scatter
    }

    /// $\sum_i \|z_i\|^2$.
    pub fn sum_squares(&self) -> f64 {
        self.sum_squares
    }

    /// Number of basis directions $r$.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Feature dimension $p$.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of classes $K$.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Fingerprint of the basis this state belongs to ([`Basis::fingerprint`]).
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Batches given to [`Pass2::update`] (merged states add theirs).
    pub fn batches(&self) -> u64 {
        self.batches
    }
}

/// Every metric of [`Separation`] from a closed pass 1 and a complete pass 2, by the final
/// step of [`separation`](crate::separation):
/// $D = \sum_{j\le\mathrm{rank}} u_j^\top (W/n) u_j / s_j^2$ with $Q^\top M_w = USV^\top$, NC1
/// likewise with the unweighted means, NC2 from the means, traces from $\sum\|z_i\|^2$ and
/// the means.
///
/// Errors: `pass2` of another basis ([`GeometryError::IncompatibleMerge`]), pass-2 class
/// counts that differ from pass 1's ([`GeometryError::PassMismatch`], naming the first class:
/// the data differed between the passes), overflow.
pub fn finish(basis: &Basis, pass2: &Pass2) -> Result<Separation> {
    pass2.check_basis(basis)?;
    if let Some(class) =
        (0..basis.num_classes()).find(|&c| basis.counts[c] as u64 != pass2.counts[c])
    {
        return Err(GeometryError::PassMismatch {
            class,
            pass1: basis.counts[class] as u64,
            pass2: pass2.counts[class],
        });
    }
    let r = pass2.rank;
    let scatter = Mat::from_fn(r, r, |a, b| pass2.scatter[a * r + b]);
    let mut stats = pass2.class_stats.clone();
    if let Some(b) = stats.as_mut().and_then(|s| s.bootstrap.as_mut()) {
        b.centres = basis.stats_plan().centres().to_vec();
    }
    assemble(
        basis.means.clone(),
        &basis.counts,
        basis.q(),
        scatter.as_ref(),
        pass2.sum_squares,
        stats,
        basis.options(),
    )
}

/// Predictions of a batch of `rows` rows: as many as the labels, each below `k`.
pub(crate) fn check_predictions(pred: &[usize], rows: usize, k: usize) -> Result<()> {
    if pred.len() != rows {
        return Err(GeometryError::LengthMismatch {
            rows: pred.len(),
            labels: rows,
        });
    }
    if let Some((row, &value)) = pred.iter().enumerate().find(|(_, &p)| p >= k) {
        return Err(GeometryError::LabelOutOfRange {
            row,
            value: i64::try_from(value).unwrap_or(i64::MAX),
            num_classes: k,
        });
    }
    Ok(())
}
