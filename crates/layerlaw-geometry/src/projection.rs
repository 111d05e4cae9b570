//! Pass 2: within-class residuals projected on the between-class basis.
//!
//! For each row $z_i = x_i - \bar x_{y_i}$ (widened to f64) we form $Q^\top z_i \in
//! \mathbb R^r$ and accumulate $\sum_i (Q^\top z_i)(Q^\top z_i)^\top$ ($r\times r$) and
//! $\sum_i\|z_i\|^2$. Divided by $n$ these are $Q^\top SS_w Q$ and $\mathrm{Tr}\,SS_w$.
//! Total cost $O(npr)$ time with $r\le K-1$, and $O(pK)$ memory. The projections use a
//! register-tiled kernel (two rows × four basis vectors at a time, see `kernels`) rather
//! than a general GEMM: with $r \approx 10$ columns a GEMM spends most of its time packing.

use faer::{Mat, MatRef};
use rayon::prelude::*;

use crate::blocks::{chunk_ranges, has_contiguous_rows, load_rows, row_slice};
use crate::error::{GeometryError, Result};
use crate::kernels::{centre_row, pack_basis, padded_len, project_tile, TILE_ROWS};
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
    let (n, p, r) = (x.nrows(), x.ncols(), q.ncols());
    let k = means.nrows();
    let means_rm: Vec<f64> = (0..k * p).map(|idx| means[(idx / p, idx % p)]).collect();
    let qpack = pack_basis(q);
    let pp = padded_len(p);
    let partials: Vec<(Vec<f64>, f64)> = chunk_ranges(n, k, p)
        .par_iter()
        .map(|rows| {
            // Rows are zero-padded to `pp`; the padding is never written, so it stays zero.
            let mut z = vec![0.0f64; TILE_ROWS * pp];
            let mut proj = vec![[0.0f64; TILE_ROWS]; r];
            let mut scatter = vec![0.0f64; r * r];
            let mut sum_squares = 0.0f64;
            let mut start = rows.start;
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
                        centre_row(row_slice(x, i), mu, zt)
                    } else {
                        load_rows(x, i..i + 1, zt);
                        let row: Vec<f64> = zt.to_vec();
                        centre_row(&row, mu, zt)
                    };
                }
                let tiles: [&[f64]; TILE_ROWS] = std::array::from_fn(|t| &z[t * pp..(t + 1) * pp]);
                project_tile(tiles, &qpack, pp, r, &mut proj);
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
