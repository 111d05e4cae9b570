//! Pass 2: within-class residuals projected on the between-class basis.
//!
//! For each row $z_i = x_i - \bar x_{y_i}$ (widened to f64) we form $Q^\top z_i \in
//! \mathbb R^r$ and accumulate $\sum_i (Q^\top z_i)(Q^\top z_i)^\top$ ($r\times r$) and
//! $\sum_i\|z_i\|^2$. Divided by $n$ these are $Q^\top SS_w Q$ and $\mathrm{Tr}\,SS_w$.
//! Total cost $O(npr)$ time with $r\le K-1$, and $O(pK)$ memory. The projections use a
//! register-tiled kernel (two rows × up to twelve basis vectors at a time with AVX-512, four
//! with AVX2, see `kernels`) rather
//! than a general GEMM: with $r \approx 10$ columns a GEMM spends most of its time packing.

use faer::{Mat, MatRef};
use rayon::prelude::*;

use crate::blocks::{chunk_ranges, has_contiguous_rows, load_rows, row_slice};
use crate::error::{GeometryError, Result};
use crate::kernels::{centre_row, Isa, PackedBasis, FUSED_TILE, TILE_ROWS};
use crate::scalar::Scalar;

/// Unnormalised projected within-class scatter and total squared residual.
pub(crate) struct ProjectedWithin {
    /// $\sum_i (Q^\top z_i)(Q^\top z_i)^\top$, r×r.
    pub scatter: Mat<f64>,
    /// $\sum_i \|z_i\|^2 = n\,\mathrm{Tr}\,SS_w$.
    pub sum_squares: f64,
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
    let (n, p, r) = (x.nrows(), x.ncols(), q.ncols());
    let k = means.nrows();
    let means_rm: Vec<f64> = (0..k * p).map(|idx| means[(idx / p, idx % p)]).collect();
    let packed = PackedBasis::new(q, isa);
    let pp = packed.padded_len();
    let partials: Vec<(Vec<f64>, f64)> = chunk_ranges(n, k, p)
        .par_iter()
        .map(|rows| {
            let mut scatter = vec![0.0f64; r * r];
            let mut sum_squares = 0.0f64;
            let mut start = rows.start;
            if packed.can_fuse() && has_contiguous_rows(x) {
                // Fused path: tiles of rows centred and projected straight from the input.
                let mut out = vec![0.0f64; FUSED_TILE * (r + 1)];
                let (mut scratch, mut xs, mut mus) = (Vec::new(), Vec::new(), Vec::new());
                while start < rows.end {
                    let end = (start + FUSED_TILE).min(rows.end);
                    xs.clear();
                    xs.extend((start..end).map(|i| row_slice(x, i)));
                    mus.clear();
                    mus.extend((start..end).map(|i| &means_rm[labels[i] * p..(labels[i] + 1) * p]));
                    packed.centre_project_rows(&xs, &mus, &mut out, &mut scratch);
                    for row in out.chunks_exact(r + 1).take(end - start) {
                        sum_squares += row[0];
                        let proj = &row[1..];
                        for a in 0..r {
                            for b in 0..=a {
                                scatter[a * r + b] += proj[a] * proj[b];
                            }
                        }
                    }
                    start = end;
                }
                return (scatter, sum_squares);
            }
            // Rows are zero-padded to `pp`; the padding is never written, so it stays zero.
            let mut z = vec![0.0f64; TILE_ROWS * pp];
            let mut proj = vec![[0.0f64; TILE_ROWS]; r];
            while start < rows.end {
                let len = (rows.end - start).min(TILE_ROWS);
                for t in 0..TILE_ROWS {
                    let zt = &mut z[t * pp..t * pp + p];
                    if t >= len {
                        zt.fill(0.0);
                        continue;
                    }
                    let i = start + t;
                    let mu = &means_rm[labels[i] * p..(labels[i] + 1) * p];
                    sum_squares += if has_contiguous_rows(x) {
                        centre_row(isa, row_slice(x, i), mu, zt)
                    } else {
                        load_rows(x, i..i + 1, zt);
                        let row: Vec<f64> = zt.to_vec();
                        centre_row(isa, &row, mu, zt)
                    };
                }
                let tiles: [&[f64]; TILE_ROWS] = std::array::from_fn(|t| &z[t * pp..(t + 1) * pp]);
                packed.project(tiles, &mut proj);
                // Lower triangle of the tile's outer products (t indexes the tile's rows).
                #[allow(clippy::needless_range_loop)]
                for t in 0..len {
                    for a in 0..r {
                        let pa = proj[a][t];
                        for b in 0..=a {
                            scatter[a * r + b] += pa * proj[b][t];
                        }
                    }
                }
                start += len;
            }
            (scatter, sum_squares)
        })
        .collect();
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
