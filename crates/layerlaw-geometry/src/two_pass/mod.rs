//! Exact two-pass streaming statistics in $O(pK)$ memory per layer: [`Pass1`], [`Basis`],
//! [`Pass2`] and [`finish`].
//!
//! # The two passes
//!
//! [`separation`](crate::separation) reads its rows twice: class sums first, then the
//! within-class residuals projected on the between-class basis. This module does the same over
//! data that arrives in batches (a data loader, shards, ranks), keeping only
//!
//! * **pass 1** ([`Pass1`]): the class counts $n_k$ (K × u64) and class sums
//!   $s_k = \sum_{i:y_i=k} x_i$ (K×p f64);
//! * **closing pass 1** ([`Pass1::close`] → [`Basis`]): the class means $\bar x_k = s_k/n_k$ and
//!   the orthonormal basis $Q$ (p×r, $r\le\min(p,K-1)$) of the span of the centred class
//!   means, built exactly as [`separation`](crate::separation) builds it;
//! * **pass 2** ([`Pass2`]): with $z_i = x_i - \bar x_{y_i}$, the projected within-class
//!   scatter $\sum_i (Q^\top z_i)(Q^\top z_i)^\top$ (r×r), $\sum_i\|z_i\|^2$ and the class counts
//!   again (they must equal pass 1's: [`GeometryError::PassMismatch`] otherwise);
//!   optionally [`CentreAgreement`] (nearest-class-centre agreement for NC4);
//! * **finishing** ([`finish`]): $D$, NC1, NC2, traces and ranks by the same final step as
//!   [`separation`](crate::separation), so the result equals it on the same rows to rounding
//!   (≤ 1e-10 relative; the sums are added in batch order instead of chunk order).
//!
//! Every state is a sum over samples, so states built on disjoint data (threads, processes,
//! ranks, shards) merge by adding ([`Pass1::merge`], [`Pass2::merge`]); sums computed elsewhere
//! (e.g. on a GPU by torch) enter through [`Pass1::from_parts`] and [`Pass2::from_parts`]; each
//! state serialises to a versioned, checksummed byte string ([`Pass1::to_bytes`],
//! [`Pass2::to_bytes`]). A [`Pass2`] records the fingerprint of the [`Basis`] it was built for,
//! so states of different bases are never mixed.
//!
//! # Two passes or one
//!
//! | | two passes (this module) | one pass ([`MultiLayerAccumulator`](crate::MultiLayerAccumulator)) |
//! |---|---|---|
//! | memory per layer | $8(2Kp + r^2)$ bytes: 5 MB for $p = 65{,}536$, $K = 10$ | $8(Kp + p^2)$ bytes: 32 GB for $p = 65{,}536$ |
//! | time per sample | $O(pK)$ | $O(p^2)$ |
//! | data | must be seen **twice, identically** (no shuffling or random augmentation) | seen once, in any order |
//!
//! Use two passes for any width whenever the data can be read twice (a dataset on disk, a
//! deterministic loader, a model that can run twice). Use the one-pass p×p accumulator when
//! the data can be seen only once (a live stream, a training run measured on the fly) and
//! $p$ is small (it refuses $p > 4096$ by default).
//!
//! # Errors
//!
//! Bad batches are refused with [`GeometryError::InBatch`] naming the batch (its index in the
//! pass) around the cause: rows ≠ labels, a feature dimension other than the state's, a label
//! $\ge K$, a NaN/Inf (row and column within the batch). On error a state is unchanged.
//! Closing refuses a class without samples ([`GeometryError::EmptyClass`]) and equal class
//! means; finishing refuses pass-2 counts that differ from pass 1's.

mod agreement;
mod bytes;
mod pass2;

pub use agreement::{classifier_collapse, CentreAgreement};
pub(crate) use pass2::check_predictions;
pub use pass2::{finish, Pass2};

use faer::{Mat, MatRef};

use crate::between::between_basis;
use crate::class_means::class_means;
use crate::class_stats::ClassStatsPlan;
use crate::error::{GeometryError, Result};
use crate::layers::LayerFeatures;
use crate::separation::SeparationOptions;

/// Wraps `source` as the error of batch `batch`.
pub(crate) fn in_batch(batch: u64, source: GeometryError) -> GeometryError {
    GeometryError::InBatch {
        batch,
        source: Box::new(source),
    }
}

/// Checks a batch against a state of `k` classes and dimension `dim` (rows = labels, columns,
/// labels in range); the error is not yet wrapped in [`GeometryError::InBatch`].
pub(crate) fn check_batch(
    rows: &LayerFeatures<'_>,
    labels: &[usize],
    k: usize,
    dim: usize,
) -> Result<()> {
    let (b, p) = (rows.nrows(), rows.ncols());
    if labels.len() != b {
        return Err(GeometryError::LengthMismatch {
            rows: b,
            labels: labels.len(),
        });
    }
    if p != dim {
        return Err(GeometryError::ShapeMismatch {
            what: "batch features",
            expected_rows: b,
            expected_cols: dim,
            rows: b,
            cols: p,
        });
    }
    if let Some((row, &value)) = labels.iter().enumerate().find(|(_, &y)| y >= k) {
        return Err(GeometryError::LabelOutOfRange {
            row,
            value: i64::try_from(value).unwrap_or(i64::MAX),
            num_classes: k,
        });
    }
    Ok(())
}

/// The first NaN/Inf of a batch, in row-major order.
pub(crate) fn first_non_finite(rows: &LayerFeatures<'_>) -> Option<GeometryError> {
    match rows {
        LayerFeatures::F32(x) => crate::blocks::first_non_finite(*x, 0..x.nrows()),
        LayerFeatures::F64(x) => crate::blocks::first_non_finite(*x, 0..x.nrows()),
    }
}

/// Adds `other` to `total` with overflow checks (class counts).
pub(crate) fn add_counts(total: &mut [u64], other: &[u64]) -> Result<()> {
    let sums: Option<Vec<u64>> = total
        .iter()
        .zip(other)
        .map(|(a, b)| a.checked_add(*b))
        .collect();
    let sums = sums.ok_or(GeometryError::Overflow {
        quantity: "class counts",
    })?;
    total.copy_from_slice(&sums);
    Ok(())
}

/// Per-class counts of a batch's labels (all below `k`).
pub(crate) fn bincount(labels: &[usize], k: usize) -> Vec<u64> {
    let mut counts = vec![0u64; k];
    for &y in labels {
        counts[y] += 1;
    }
    counts
}

/// Pass-1 state of one layer: class counts $n_k$ and class sums $s_k = \sum_{i:y_i=k}x_i$ in f64.
///
/// Memory $8K(p+1)$ bytes. See the [module docs](self) for the whole two-pass scheme.
#[derive(Debug, Clone, PartialEq)]
pub struct Pass1 {
    pub(crate) num_classes: usize,
    pub(crate) dim: usize,
    pub(crate) counts: Vec<u64>,
    /// K×p, row-major.
    pub(crate) sums: Vec<f64>,
    pub(crate) batches: u64,
}

impl Pass1 {
    /// An empty state for `num_classes` ($K \ge 2$) classes and features of dimension `dim`
    /// ($p \ge 1$).
    pub fn new(num_classes: usize, dim: usize) -> Result<Self> {
        if num_classes < 2 {
            return Err(GeometryError::TooFewClasses { num_classes });
        }
        if dim == 0 {
            return Err(GeometryError::ZeroDimension);
        }
        let len = num_classes
            .checked_mul(dim)
            .ok_or(GeometryError::Overflow {
                quantity: "class-sum size",
            })?;
        Ok(Pass1 {
            num_classes,
            dim,
            counts: vec![0; num_classes],
            sums: vec![0.0; len],
            batches: 0,
        })
    }

    /// A state from counts and class sums computed elsewhere (`sums` K×p row-major, K =
    /// `counts.len()`), e.g. accumulated in float64 by torch on a GPU.
    ///
    /// Errors: $K < 2$, `sums.len()` not a positive multiple of K
    /// ([`GeometryError::ShapeMismatch`]), a non-finite sum
    /// ([`GeometryError::NonFiniteArgument`] naming class and column).
    pub fn from_parts(counts: Vec<u64>, sums: Vec<f64>) -> Result<Self> {
        let k = counts.len();
        if k < 2 {
            return Err(GeometryError::TooFewClasses { num_classes: k });
        }
        if sums.is_empty() || !sums.len().is_multiple_of(k) {
            return Err(GeometryError::ShapeMismatch {
                what: "class sums",
                expected_rows: k,
                expected_cols: sums.len().div_ceil(k).max(1),
                rows: 1,
                cols: sums.len(),
            });
        }
        let dim = sums.len() / k;
        if let Some(at) = sums.iter().position(|v| !v.is_finite()) {
            return Err(GeometryError::NonFiniteArgument {
                what: "class sums",
                row: at / dim,
                col: at % dim,
                value: sums[at],
            });
        }
        Ok(Pass1 {
            num_classes: k,
            dim,
            counts,
            sums,
            batches: 0,
        })
    }

    /// Adds a batch: `rows` (b×p, f32 or f64, any strides) with labels in `0..K`.
    ///
    /// Cost $O(bp)$ (the kernels of [`separation`](crate::separation)'s pass 1). On error the
    /// state is unchanged; errors are [`GeometryError::InBatch`] (see the module docs).
    pub fn update(&mut self, rows: LayerFeatures<'_>, labels: &[usize]) -> Result<()> {
        let batch = self.batches;
        let (k, p) = (self.num_classes, self.dim);
        check_batch(&rows, labels, k, p).map_err(|e| in_batch(batch, e))?;
        if !labels.is_empty() {
            // Unit "counts" make the kernel's means the class sums themselves (x / 1 is exact).
            let ones = vec![1usize; k];
            let sums = match rows {
                LayerFeatures::F32(x) => class_means(x, labels, &ones),
                LayerFeatures::F64(x) => class_means(x, labels, &ones),
            }
            .map_err(|e| in_batch(batch, e))?;
            let mut counts = self.counts.clone();
            add_counts(&mut counts, &bincount(labels, k)).map_err(|e| in_batch(batch, e))?;
            let mut total = self.sums.clone();
            for c in 0..k {
                for (j, t) in total[c * p..(c + 1) * p].iter_mut().enumerate() {
                    *t += sums[(c, j)];
                }
            }
            if total.iter().any(|v| !v.is_finite()) {
                return Err(in_batch(
                    batch,
                    GeometryError::Overflow {
                        quantity: "class sums",
                    },
                ));
            }
            self.counts = counts;
            self.sums = total;
        }
        self.batches += 1;
        Ok(())
    }

    /// Adds everything `other` has seen (same K and p; [`GeometryError::IncompatibleMerge`]
    /// otherwise, and `self` is unchanged).
    pub fn merge(&mut self, other: &Pass1) -> Result<()> {
        if (self.num_classes, self.dim) != (other.num_classes, other.dim) {
            return Err(GeometryError::IncompatibleMerge {
                reason: format!(
                    "pass-1 states of {} classes x dimension {} vs {} classes x dimension {}",
                    self.num_classes, self.dim, other.num_classes, other.dim
                ),
            });
        }
        let mut counts = self.counts.clone();
        add_counts(&mut counts, &other.counts)?;
        self.counts = counts;
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a += b;
        }
        self.batches += other.batches;
        Ok(())
    }

    /// Number of classes $K$.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Feature dimension $p$.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Class counts $n_k$ so far.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Class sums $s_k$ so far (K×p row-major).
    pub fn sums(&self) -> &[f64] {
        &self.sums
    }

    /// Samples seen so far, $\sum_k n_k$.
    pub fn num_samples(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Batches given to [`Pass1::update`] (merged states add theirs).
    pub fn batches(&self) -> u64 {
        self.batches
    }

    /// Closes pass 1: class means and the between-class basis $Q$ (see [`Basis`]).
    ///
    /// Errors: an invalid option, a class without samples ([`GeometryError::EmptyClass`]),
    /// all class means equal ([`GeometryError::ZeroBetweenClass`]).
    pub fn close(&self, opts: &SeparationOptions) -> Result<Basis> {
        opts.validate()?;
        let (k, p) = (self.num_classes, self.dim);
        if let Some(class) = self.counts.iter().position(|&c| c == 0) {
            return Err(GeometryError::EmptyClass {
                class,
                num_classes: k,
            });
        }
        let counts: Vec<usize> = self
            .counts
            .iter()
            .map(|&c| usize::try_from(c))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| GeometryError::Overflow {
                quantity: "class counts",
            })?;
        let means = Mat::from_fn(k, p, |c, j| self.sums[c * p + j] / counts[c] as f64);
        if !means.is_all_finite() {
            return Err(GeometryError::Overflow {
                quantity: "class means",
            });
        }
        let q = between_basis(means.as_ref(), &counts, opts.rank_tolerance)?;
        let stats = ClassStatsPlan::new(means.as_ref(), &counts, q.as_ref(), opts.rank_tolerance);
        Ok(Basis {
            fingerprint: self.fingerprint(opts),
            counts,
            means,
            q,
            stats,
            opts: *opts,
        })
    }

    /// FNV-1a-64 of K, p, the counts, the bits of every sum and of the tolerance: equal pass-1
    /// states close to the same basis, so this names it.
    fn fingerprint(&self, opts: &SeparationOptions) -> u64 {
        let mut h = bytes::Fnv::new();
        h.u64(self.num_classes as u64);
        h.u64(self.dim as u64);
        for &c in &self.counts {
            h.u64(c);
        }
        for &s in &self.sums {
            h.u64(s.to_bits());
        }
        h.u64(opts.rank_tolerance.to_bits());
        h.finish()
    }
}

/// Pass 1 closed: class sizes, class means and the between-class basis $Q$.
///
/// $Q$ (p×r) is the orthonormal basis of the span of the centred class means
/// $\mu_k - \mu_G$ that [`separation`](crate::separation) uses (thin SVD, same cut-off), so
/// $D = \mathrm{Tr}\big((Q^\top SS_w Q)(Q^\top SS_b Q)^+\big)$ needs only pass 2's r×r
/// projected scatter. Memory $8p(K + r)$ bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Basis {
    pub(crate) counts: Vec<usize>,
    pub(crate) means: Mat<f64>,
    pub(crate) q: Mat<f64>,
    pub(crate) stats: ClassStatsPlan,
    pub(crate) opts: SeparationOptions,
    pub(crate) fingerprint: u64,
}

impl Basis {
    /// Class means $\bar x_k$, K×p (row k = class k).
    pub fn means(&self) -> MatRef<'_, f64> {
        self.means.as_ref()
    }

    /// The orthonormal basis $Q$, p×r.
    pub fn q(&self) -> MatRef<'_, f64> {
        self.q.as_ref()
    }

    /// $L = S^{-1}U^\top$ (m×r row-major, m = `whiten().len() / rank()`): with
    /// $Q^\top M_w = USV^\top$ (kept directions), $\|L\,Q^\top z\|^2 = z^\top SS_b^+ z$ for any
    /// residual $z$, so the per-class fuzziness is $D_k = \frac1{n_k}\sum_{i:y_i=k}\|LQ^\top z_i\|^2$
    /// ([`ClassStats::from_parts`](crate::ClassStats::from_parts) takes those sums).
    pub fn whiten(&self) -> &[f64] {
        self.stats.whiten()
    }

    /// Bootstrap groups per class that pass 2 keeps for this basis (0: none; see
    /// [`crate::bootstrap_groups_for`]).
    pub fn bootstrap_groups(&self) -> usize {
        self.stats.groups()
    }

    pub(crate) fn stats_plan(&self) -> &ClassStatsPlan {
        &self.stats
    }

    /// Class sizes $n_k$ of pass 1.
    pub fn counts(&self) -> &[usize] {
        &self.counts
    }

    /// Number of classes $K$.
    pub fn num_classes(&self) -> usize {
        self.counts.len()
    }

    /// Feature dimension $p$.
    pub fn dim(&self) -> usize {
        self.means.ncols()
    }

    /// Number of basis directions $r \le \min(p, K-1)$.
    pub fn rank(&self) -> usize {
        self.q.ncols()
    }

    /// Number of samples $n$ of pass 1.
    pub fn num_samples(&self) -> usize {
        self.counts.iter().sum()
    }

    /// The options the basis was built with (used again by [`finish`]).
    pub fn options(&self) -> &SeparationOptions {
        &self.opts
    }

    /// Fingerprint of the pass-1 state and options this basis comes from; [`Pass2`] states
    /// carry it so that states of different bases are never merged or finished together.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}
