//! Pass 2: within-class residuals projected on the between-class basis.
//!
//! For each row $z_i = x_i - \bar x_{y_i}$ (widened to f64) we form $Q^\top z_i \in
//! \mathbb R^r$ and accumulate $\sum_i (Q^\top z_i)(Q^\top z_i)^\top$ ($r\times r$) and
//! $\sum_i\|z_i\|^2$. Divided by $n$ these are $Q^\top SS_w Q$ and $\mathrm{Tr}\,SS_w$.
//! Total cost $O(npr)$ time with $r\le K-1$, and $O(pK)$ memory. The projections use a
//! register-tiled kernel that centres and projects tiles of rows in one go (two rows × up to
//! twelve basis vectors at a time with AVX-512, five with AVX2, see `kernels::project`)
//! rather than a general GEMM: with $r \approx 10$ columns a GEMM spends most of its time
//! packing.

use std::ops::Range;

use faer::{Mat, MatRef};
use rayon::prelude::*;

use crate::blocks::{chunk_ranges, load_rows, ContiguousRows};
use crate::class_stats::{ClassStats, ClassStatsPlan};
use crate::error::{GeometryError, Result};
use crate::kernels::{Isa, PackedBasis, TILE};
use crate::scalar::Scalar;
use crate::separation::SeparationOptions;

/// Unnormalised projected within-class scatter and total squared residual.
pub(crate) struct ProjectedWithin {
    /// $\sum_i (Q^\top z_i)(Q^\top z_i)^\top$, r×r.
    pub scatter: Mat<f64>,
    /// $\sum_i \|z_i\|^2 = n\,\mathrm{Tr}\,SS_w$.
    pub sum_squares: f64,
    /// Per-class sums (variances, fuzziness, NCC, bootstrap groups).
    pub class_stats: ClassStats,
}

impl ProjectedWithin {
    /// The per-class sums when the plan kept them.
    pub(crate) fn class_stats_if(self_stats: ClassStats, plan: &WithinPlan) -> Option<ClassStats> {
        plan.per_class.then_some(self_stats)
    }
}

/// One chunk's pass-2 sums: the scatter's lower triangle (r×r row-major), the sum of squares
/// and the per-class statistics.
pub(crate) struct WithinPartial {
    pub lower: Vec<f64>,
    pub sum_squares: f64,
    pub class_stats: ClassStats,
}

/// What every chunk of pass 2 shares: the class means (row-major) and the packed basis.
pub(crate) struct WithinPlan {
    means_rm: Vec<f64>,
    packed: PackedBasis,
    stats: ClassStatsPlan,
    per_class: bool,
    p: usize,
    r: usize,
}

impl WithinPlan {
    /// The plan for class means `means` (K×p) of classes of sizes `counts` and basis `q`
    /// (p×r), with the kernels of `isa` (which must be supported by this CPU); `opts` gives the
    /// pseudo-inverse cut-off of the per-class fuzziness and whether to keep per-class sums.
    pub(crate) fn new(
        isa: Isa,
        means: MatRef<'_, f64>,
        counts: &[usize],
        q: MatRef<'_, f64>,
        opts: &SeparationOptions,
    ) -> WithinPlan {
        let (k, p) = (means.nrows(), means.ncols());
        WithinPlan {
            means_rm: (0..k * p).map(|idx| means[(idx / p, idx % p)]).collect(),
            packed: PackedBasis::new(q, isa),
            stats: ClassStatsPlan::new(means, counts, q, opts.rank_tolerance),
            per_class: opts.per_class,
            p,
            r: q.ncols(),
        }
    }

    fn mean(&self, class: usize) -> &[f64] {
        &self.means_rm[class * self.p..(class + 1) * self.p]
    }
}

/// Pass 2 over one row chunk, tile by tile: the chunk's unnormalised projected within scatter
/// (lower triangle, r×r row-major) and sum of squared residuals.
///
/// Tiles of [`TILE`] rows start at the chunk's first row, whoever drives the chunk, so the
/// partial sums are bit-for-bit the same either way. Rows that are not contiguous in memory
/// are first copied (widened to f64, exactly) into a tile buffer; the kernel then computes
/// the same values, so the result does not depend on the layout either.
pub(crate) struct WithinChunk<'a, T: Scalar> {
    plan: &'a WithinPlan,
    x: MatRef<'a, T>,
    rows_view: Option<ContiguousRows<'a, T>>,
    labels: &'a [usize],
    predictions: Option<&'a [usize]>,
    /// Row index of row 0 of `x`, for the bootstrap groups.
    index_offset: u64,
    rows: Range<usize>,
    next: usize,
    sum_squares: f64,
    stats: ClassStats,
    /// Each row's projections and squared norm, from the kernel.
    rows_out: Vec<f64>,
    /// K values for the nearest-centre scores.
    scores: Vec<f64>,
    /// The r × [`PackedBasis::scatter_width`] scatter the kernel accumulates into.
    scatter: Vec<f64>,
    /// The kernel's accumulators.
    scratch: Vec<f64>,
    /// Rows of a tile copied from a matrix without contiguous rows.
    tile: Vec<f64>,
}

impl<'a, T: Scalar> WithinChunk<'a, T> {
    /// A chunk of rows `rows` of `x`; nothing is read yet. Row i of `x` is example
    /// `index_offset + i` (for the bootstrap groups); `predictions` (one per row of `x`), if
    /// given, are compared with the nearest class centre.
    pub(crate) fn new(
        plan: &'a WithinPlan,
        x: MatRef<'a, T>,
        labels: &'a [usize],
        predictions: Option<&'a [usize]>,
        index_offset: u64,
        rows: Range<usize>,
    ) -> Self {
        WithinChunk {
            plan,
            x,
            rows_view: ContiguousRows::new(x),
            labels,
            predictions,
            index_offset,
            next: rows.start,
            rows,
            sum_squares: 0.0,
            stats: ClassStats::new(&plan.stats),
            rows_out: vec![0.0; TILE * (plan.r + 1)],
            scores: Vec::new(),
            scatter: vec![0.0f64; plan.r * plan.packed.scatter_width()],
            scratch: Vec::new(),
            tile: Vec::new(),
        }
    }

    /// Rows of the chunk not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.rows.end - self.next
    }

    /// Reads the next tile; false when the chunk is done.
    pub(crate) fn step(&mut self) -> bool {
        let start = self.next;
        if start >= self.rows.end {
            return false;
        }
        let plan = self.plan;
        let end = (start + TILE).min(self.rows.end);
        let len = end - start;
        let mut mus = [plan.mean(0); TILE];
        for (t, i) in (start..end).enumerate() {
            mus[t] = plan.mean(self.labels[i]);
        }
        if let Some(view) = self.rows_view {
            let mut xs = [view.row(start); TILE];
            for (t, i) in (start..end).enumerate() {
                xs[t] = view.row(i);
            }
            // The next tile of this chunk, prefetched while this one is computed.
            let ahead_end = (end + TILE).min(self.rows.end);
            let mut ahead = [view.row(start); TILE];
            for (t, i) in (end..ahead_end).enumerate() {
                ahead[t] = view.row(i);
            }
            plan.packed.centre_project_rows(
                &xs[..len],
                &mus[..len],
                &ahead[..ahead_end - end],
                &mut self.scatter,
                &mut self.sum_squares,
                &mut self.rows_out,
                &mut self.scratch,
            );
        } else {
            let p = plan.p;
            self.tile.resize(TILE * p, 0.0);
            load_rows(self.x, start..end, &mut self.tile);
            let mut xs: [&[f64]; TILE] = [&[]; TILE];
            for (t, row) in self.tile.chunks_exact(p).take(len).enumerate() {
                xs[t] = row;
            }
            plan.packed.centre_project_rows(
                &xs[..len],
                &mus[..len],
                &[],
                &mut self.scatter,
                &mut self.sum_squares,
                &mut self.rows_out,
                &mut self.scratch,
            );
        }
        let r1 = plan.r + 1;
        let per_class = if plan.per_class {
            start..end
        } else {
            start..start
        };
        for (t, i) in per_class.enumerate() {
            self.stats.add_row(
                &plan.stats,
                self.labels[i],
                self.index_offset + i as u64,
                &self.rows_out[t * r1..(t + 1) * r1],
                self.predictions.map(|p| p[i]),
                &mut self.scores,
            );
        }
        self.next = end;
        true
    }

    /// Reads what is left; returns the chunk's sums.
    pub(crate) fn finish(mut self) -> WithinPartial {
        while self.step() {}
        let (r, width) = (self.plan.r, self.plan.packed.scatter_width());
        let mut lower = vec![0.0f64; r * r];
        for a in 0..r {
            for b in 0..=a {
                lower[a * r + b] = self.scatter[a * width + b];
            }
        }
        WithinPartial {
            lower,
            sum_squares: self.sum_squares,
            class_stats: self.stats,
        }
    }
}

/// [`ProjectedWithin`] from the chunks' partial sums, added in chunk order.
pub(crate) fn within_from_chunks(
    partials: impl IntoIterator<Item = WithinPartial>,
    plan: &WithinPlan,
) -> Result<ProjectedWithin> {
    let r = plan.r;
    let mut scatter = Mat::<f64>::zeros(r, r);
    let mut sum_squares = 0.0;
    let mut class_stats = ClassStats::new(&plan.stats);
    for part in partials {
        for a in 0..r {
            for b in 0..=a {
                scatter[(a, b)] += part.lower[a * r + b];
            }
        }
        sum_squares += part.sum_squares;
        class_stats.add(&part.class_stats);
    }
    if let Some(b) = class_stats.bootstrap.as_mut() {
        b.centres = plan.stats.centres().to_vec();
    }
    for a in 0..r {
        for b in a + 1..r {
            scatter[(a, b)] = scatter[(b, a)];
        }
    }
    if !sum_squares.is_finite() || !scatter.is_all_finite() {
        return Err(GeometryError::Overflow {
            quantity: "within-class scatter",
        });
    }
    Ok(ProjectedWithin {
        scatter,
        sum_squares,
        class_stats,
    })
}

/// Computes [`ProjectedWithin`] in one parallel pass over fixed row chunks (deterministic:
/// chunk partials are added in chunk order).
pub(crate) fn project_within<T: Scalar>(
    x: MatRef<'_, T>,
    rows: &RowsOf<'_>,
    plan: &WithinPlan,
) -> Result<ProjectedWithin> {
    let (n, p) = (x.nrows(), x.ncols());
    let partials: Vec<WithinPartial> = chunk_ranges(n, plan.stats.num_classes(), p)
        .into_par_iter()
        .map(|range| {
            WithinChunk::new(
                plan,
                x,
                rows.labels,
                rows.predictions,
                rows.index_offset,
                range,
            )
            .finish()
        })
        .collect();
    within_from_chunks(partials, plan)
}

/// The labels of the rows of a pass-2 matrix, the model's predictions (if given) and the
/// example index of its first row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowsOf<'a> {
    pub labels: &'a [usize],
    pub predictions: Option<&'a [usize]>,
    pub index_offset: u64,
}

impl<'a> RowsOf<'a> {
    /// Rows labelled `labels`, the first being example 0, without predictions.
    pub(crate) fn labels(labels: &'a [usize]) -> Self {
        RowsOf {
            labels,
            predictions: None,
            index_offset: 0,
        }
    }
}

/// [`project_within`] with the kernels of a given instruction-set level (`isa` must be
/// supported by this CPU), for the tests.
#[cfg(test)]
fn project_within_isa<T: Scalar>(
    isa: Isa,
    x: MatRef<'_, T>,
    labels: &[usize],
    means: MatRef<'_, f64>,
    q: MatRef<'_, f64>,
) -> Result<ProjectedWithin> {
    let counts: Vec<usize> = (0..means.nrows())
        .map(|c| labels.iter().filter(|&&y| y == c).count().max(1))
        .collect();
    let plan = WithinPlan::new(isa, means, &counts, q, &SeparationOptions::default());
    project_within(x, &RowsOf::labels(labels), &plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel level (portable, AVX2, AVX-512) gives the same projected scatter to
    /// rounding, for f32 and f64 rows, odd n (a lone last row), p not a multiple of 8 or above
    /// one column block, and r from 1 to 15 (one or several column groups).
    #[test]
    fn all_kernel_levels_agree() {
        for &(n, p, k) in &[
            (7usize, 5usize, 2usize),
            (101, 37, 10),
            (64, 16, 13),
            (33, 20, 14),
            (9, 3, 16),
            (35, 517, 10), // several fused column blocks, a partial block and a partial tile
        ] {
            let labels: Vec<usize> = (0..n).map(|i| (i * 5 + i / 3) % k).collect();
            let data: Vec<f64> = (0..n * p)
                .map(|v| ((v as f64) * 0.37).sin() + (labels[v / p] as f64) * 0.5)
                .collect();
            let data32: Vec<f32> = data.iter().map(|&v| v as f32).collect();
            let means = faer::Mat::from_fn(k, p, |c, j| ((c * 3 + j) as f64 * 0.11).cos());
            let r = (k - 1).min(p);
            let q = faer::Mat::from_fn(p, r, |j, c| ((j * 7 + c * 5) as f64 * 0.13).sin());
            let x64 = MatRef::from_row_major_slice(&data, n, p);
            let x32 = MatRef::from_row_major_slice(&data32, n, p);
            let base64 =
                project_within_isa(Isa::Portable, x64, &labels, means.as_ref(), q.as_ref())
                    .unwrap();
            let base32 =
                project_within_isa(Isa::Portable, x32, &labels, means.as_ref(), q.as_ref())
                    .unwrap();
            for isa in Isa::available() {
                for (got, base) in [
                    (
                        project_within_isa(isa, x64, &labels, means.as_ref(), q.as_ref()).unwrap(),
                        &base64,
                    ),
                    (
                        project_within_isa(isa, x32, &labels, means.as_ref(), q.as_ref()).unwrap(),
                        &base32,
                    ),
                ] {
                    let tol = 1e-12 * base.sum_squares;
                    assert!(
                        (got.sum_squares - base.sum_squares).abs() <= tol,
                        "{isa:?} n={n} p={p} k={k}"
                    );
                    for a in 0..r {
                        for b in 0..r {
                            let (g, w) = (got.scatter[(a, b)], base.scatter[(a, b)]);
                            assert!(
                                (g - w).abs() <= tol,
                                "{isa:?} n={n} p={p} k={k} ({a},{b}): {g} vs {w}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// On each level, C-order rows (read in place), Fortran order and Fortran order with the
    /// rows reversed (no unit stride: both copied into a tile buffer first) give bit-identical
    /// results.
    #[test]
    fn layouts_agree_bit_for_bit() {
        let (n, p, k) = (45usize, 83usize, 7usize);
        let labels: Vec<usize> = (0..n).map(|i| (i * 3 + i / 4) % k).collect();
        let data: Vec<f32> = (0..n * p).map(|v| ((v as f32) * 0.29).sin()).collect();
        let data_f: Vec<f32> = (0..n * p).map(|v| data[(v % n) * p + v / n]).collect();
        let rev_f: Vec<f32> = (0..n * p)
            .map(|v| data[(n - 1 - v % n) * p + v / n])
            .collect();
        let means = faer::Mat::from_fn(k, p, |c, j| ((c * 5 + j) as f64 * 0.07).cos());
        let q = faer::Mat::from_fn(p, k - 1, |j, c| ((j * 3 + c * 7) as f64 * 0.19).sin());
        let c_order = MatRef::from_row_major_slice(&data, n, p);
        let f_order = MatRef::from_column_major_slice(&data_f, n, p);
        let reversed = MatRef::from_column_major_slice(&rev_f, n, p).reverse_rows();
        assert!(reversed.row_stride() != 1 && reversed.col_stride() != 1);
        for isa in Isa::available() {
            let run = |x: MatRef<'_, f32>| {
                project_within_isa(isa, x, &labels, means.as_ref(), q.as_ref()).unwrap()
            };
            let base = run(c_order);
            for other in [run(f_order), run(reversed)] {
                assert_eq!(
                    other.sum_squares.to_bits(),
                    base.sum_squares.to_bits(),
                    "{isa}"
                );
                for a in 0..k - 1 {
                    for b in 0..k - 1 {
                        assert_eq!(
                            other.scatter[(a, b)].to_bits(),
                            base.scatter[(a, b)].to_bits(),
                            "{isa} ({a},{b})"
                        );
                    }
                }
            }
        }
    }
}
