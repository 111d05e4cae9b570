//! Pass 2: within-class residuals projected on the between-class basis.
//!
//! For each row $z_i = x_i - \bar x_{y_i}$ (widened to f64) we form $Q^\top z_i \in
//! \mathbb R^r$ and accumulate $\sum_i (Q^\top z_i)(Q^\top z_i)^\top$ ($r\times r$) and
//! $\sum_i\|z_i\|^2$. Divided by $n$ these are $Q^\top SS_w Q$ and $\mathrm{Tr}\,SS_w$.
//! Total cost $O(npr)$ time with $r\le K-1$, and $O(pK)$ memory. The projections use a
//! register-tiled kernel (two rows × up to twelve basis vectors at a time with AVX-512, four
//! with AVX2, see `kernels`) rather
//! than a general GEMM: with $r \approx 10$ columns a GEMM spends most of its time packing.

use std::ops::Range;

use faer::{Mat, MatRef};
use rayon::prelude::*;

use crate::blocks::{chunk_ranges, has_contiguous_rows, load_rows, row_slice};
use crate::error::{GeometryError, Result};
use crate::kernels::{centre_row, Isa, PackedBasis, FUSED_TILE, SCATTER_WIDTH, TILE_ROWS};
use crate::scalar::Scalar;

/// Unnormalised projected within-class scatter and total squared residual.
pub(crate) struct ProjectedWithin {
    /// $\sum_i (Q^\top z_i)(Q^\top z_i)^\top$, r×r.
    pub scatter: Mat<f64>,
    /// $\sum_i \|z_i\|^2 = n\,\mathrm{Tr}\,SS_w$.
    pub sum_squares: f64,
}

/// What every chunk of pass 2 shares: the class means (row-major) and the packed basis.
pub(crate) struct WithinPlan {
    means_rm: Vec<f64>,
    packed: PackedBasis,
    isa: Isa,
    p: usize,
    r: usize,
}

impl WithinPlan {
    /// The plan for class means `means` (K×p) and basis `q` (p×r), with the kernels of `isa`
    /// (which must be supported by this CPU).
    pub(crate) fn new(isa: Isa, means: MatRef<'_, f64>, q: MatRef<'_, f64>) -> WithinPlan {
        let (k, p) = (means.nrows(), means.ncols());
        WithinPlan {
            means_rm: (0..k * p).map(|idx| means[(idx / p, idx % p)]).collect(),
            packed: PackedBasis::new(q, isa),
            isa,
            p,
            r: q.ncols(),
        }
    }

    /// Number of basis directions r.
    pub(crate) fn rank(&self) -> usize {
        self.r
    }

    fn mean(&self, class: usize) -> &[f64] {
        &self.means_rm[class * self.p..(class + 1) * self.p]
    }
}

/// Pass 2 over one row chunk, tile by tile: the chunk's unnormalised projected within scatter
/// (lower triangle, r×r row-major) and sum of squared residuals.
///
/// Tiles start at the chunk's first row ([`FUSED_TILE`] rows on the fused path, [`TILE_ROWS`]
/// otherwise), whoever drives the chunk, so the partial sums are bit-for-bit the same either
/// way.
pub(crate) struct WithinChunk<'a, T: Scalar> {
    plan: &'a WithinPlan,
    x: MatRef<'a, T>,
    labels: &'a [usize],
    rows: Range<usize>,
    next: usize,
    fused: bool,
    scatter: Vec<f64>,
    sum_squares: f64,
    /// Fused path: the padded r × [`SCATTER_WIDTH`] scatter. Otherwise: the centred,
    /// zero-padded rows.
    out: Vec<f64>,
    /// Fused path: the kernel's accumulators.
    scratch: Vec<f64>,
    /// Unfused path: the projections of the rows in `out`.
    proj: Vec<[f64; TILE_ROWS]>,
}

impl<'a, T: Scalar> WithinChunk<'a, T> {
    /// A chunk of rows `rows` of `x`; nothing is read yet.
    pub(crate) fn new(
        plan: &'a WithinPlan,
        x: MatRef<'a, T>,
        labels: &'a [usize],
        rows: Range<usize>,
    ) -> Self {
        let (r, pp) = (plan.r, plan.packed.padded_len());
        let fused = plan.packed.can_fuse() && has_contiguous_rows(x);
        WithinChunk {
            plan,
            x,
            labels,
            next: rows.start,
            rows,
            fused,
            scatter: vec![0.0f64; r * r],
            sum_squares: 0.0,
            // Fused: the padded scatter the kernel accumulates into. Otherwise: rows are
            // zero-padded to `pp`; the padding is never written, so it stays zero.
            out: if fused {
                vec![0.0f64; r * SCATTER_WIDTH]
            } else {
                vec![0.0f64; TILE_ROWS * pp]
            },
            scratch: Vec::new(),
            proj: vec![[0.0f64; TILE_ROWS]; r],
        }
    }

    /// Rows of the chunk not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.rows.end - self.next
    }

    /// Reads the next tile; false when the chunk is done.
    pub(crate) fn step(&mut self) -> bool {
        if self.next >= self.rows.end {
            return false;
        }
        if self.fused {
            self.fused_tile();
        } else {
            self.unfused_tile();
        }
        true
    }

    /// Reads what is left; returns the scatter's lower triangle and the sum of squares.
    pub(crate) fn finish(mut self) -> (Vec<f64>, f64) {
        while self.step() {}
        if self.fused {
            let r = self.plan.r;
            for a in 0..r {
                for b in 0..=a {
                    self.scatter[a * r + b] = self.out[a * SCATTER_WIDTH + b];
                }
            }
        }
        (self.scatter, self.sum_squares)
    }

    /// Fused path: a tile of rows centred and projected straight from the input.
    fn fused_tile(&mut self) {
        let (plan, x) = (self.plan, self.x);
        let start = self.next;
        let end = (start + FUSED_TILE).min(self.rows.end);
        let mut xs = [row_slice(x, start); FUSED_TILE];
        let mut mus = [plan.mean(0); FUSED_TILE];
        for (t, i) in (start..end).enumerate() {
            xs[t] = row_slice(x, i);
            mus[t] = plan.mean(self.labels[i]);
        }
        let len = end - start;
        // The next tile of this chunk, prefetched while this one is computed.
        let ahead_end = (end + FUSED_TILE).min(self.rows.end);
        let mut ahead = [row_slice(x, start); FUSED_TILE];
        for (t, i) in (end..ahead_end).enumerate() {
            ahead[t] = row_slice(x, i);
        }
        plan.packed.centre_project_rows(
            &xs[..len],
            &mus[..len],
            &ahead[..ahead_end - end],
            &mut self.out,
            &mut self.sum_squares,
            &mut self.scratch,
        );
        self.next = end;
    }

    /// Other layouts and CPUs: [`TILE_ROWS`] rows centred into f64 buffers, then projected.
    fn unfused_tile(&mut self) {
        let (plan, x, r) = (self.plan, self.x, self.plan.r);
        let (p, pp) = (plan.p, plan.packed.padded_len());
        let start = self.next;
        let len = (self.rows.end - start).min(TILE_ROWS);
        let z = &mut self.out;
        for t in 0..TILE_ROWS {
            let zt = &mut z[t * pp..t * pp + p];
            if t >= len {
                zt.fill(0.0);
                continue;
            }
            let i = start + t;
            let mu = plan.mean(self.labels[i]);
            self.sum_squares += if has_contiguous_rows(x) {
                centre_row(plan.isa, row_slice(x, i), mu, zt)
            } else {
                load_rows(x, i..i + 1, zt);
                let row: Vec<f64> = zt.to_vec();
                centre_row(plan.isa, &row, mu, zt)
            };
        }
        let tiles: [&[f64]; TILE_ROWS] = std::array::from_fn(|t| &z[t * pp..(t + 1) * pp]);
        plan.packed.project(tiles, &mut self.proj);
        // Lower triangle of the tile's outer products (t indexes the tile's rows).
        #[allow(clippy::needless_range_loop)]
        for t in 0..len {
            for a in 0..r {
                let pa = self.proj[a][t];
                for b in 0..=a {
                    self.scatter[a * r + b] += pa * self.proj[b][t];
                }
            }
        }
        self.next = start + len;
    }
}

/// [`ProjectedWithin`] from the chunks' partial sums, added in chunk order.
pub(crate) fn within_from_chunks(
    partials: impl IntoIterator<Item = (Vec<f64>, f64)>,
    r: usize,
) -> Result<ProjectedWithin> {
    let mut scatter = Mat::<f64>::zeros(r, r);
    let mut sum_squares = 0.0;
    for (s, ss) in partials {
        for a in 0..r {
            for b in 0..=a {
                scatter[(a, b)] += s[a * r + b];
            }
        }
        sum_squares += ss;
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
    })
}

/// Computes [`ProjectedWithin`] in one parallel pass over fixed row chunks (deterministic:
/// chunk partials are added in chunk order).
pub(crate) fn project_within<T: Scalar>(
    x: MatRef<'_, T>,
    labels: &[usize],
    means: MatRef<'_, f64>,
    q: MatRef<'_, f64>,
) -> Result<ProjectedWithin> {
    project_within_isa(Isa::detect(), x, labels, means, q)
}

/// [`project_within`] with the kernels of a given instruction-set level (`isa` must be
/// supported by this CPU).
fn project_within_isa<T: Scalar>(
    isa: Isa,
    x: MatRef<'_, T>,
    labels: &[usize],
    means: MatRef<'_, f64>,
    q: MatRef<'_, f64>,
) -> Result<ProjectedWithin> {
    let (n, p, k) = (x.nrows(), x.ncols(), means.nrows());
    let plan = WithinPlan::new(isa, means, q);
    let partials: Vec<(Vec<f64>, f64)> = chunk_ranges(n, k, p)
        .into_par_iter()
        .map(|rows| WithinChunk::new(&plan, x, labels, rows).finish())
        .collect();
    within_from_chunks(partials, plan.r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kernel level (portable, AVX2, AVX-512 fused and unfused) gives the same projected
    /// scatter to rounding, for f32 and f64 rows, odd n (a lone last row), p not a multiple of
    /// 8 or above one column block, and r from 1 to 15 (one or several column groups).
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
}
