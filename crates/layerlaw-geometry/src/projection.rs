//! Pass 2: within-class residuals projected on the between-class basis.
//!
//! For each row block $Z$ (rows $z_i = x_i - \bar x_{y_i}$, widened to f64) we form $P = ZQ$
//! (one GEMM, $O(|Z|\,p\,r)$) and accumulate $P^\top P$ ($r\times r$) and $\sum_i\|z_i\|^2$.
//! Summed over all rows and divided by $n$ these are $Q^\top SS_w Q$ and $\mathrm{Tr}\,SS_w$.
//! Total cost $O(npK)$ time and $O(pK)$ memory per thread.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use rayon::prelude::*;

use crate::blocks::{chunk_ranges, has_contiguous_rows, load_rows, row_slice};
use crate::error::{GeometryError, Result};
use crate::scalar::Scalar;

/// Rows per GEMM block (the f64 block of 256×p stays in L2 for p up to ~1k).
const BLOCK_ROWS: usize = 256;

/// Unnormalised projected within-class scatter $\sum_i Q^\top z_i z_i^\top Q$ and
/// $\sum_i \|z_i\|^2$, with $z_i = x_i - \bar x_{y_i}$.
pub(crate) struct ProjectedWithin {
    /// $\sum_i (Q^\top z_i)(Q^\top z_i)^\top$, r×r.
    pub scatter: Mat<f64>,
    /// $\sum_i \|z_i\|^2 = n\,\mathrm{Tr}\,SS_w$.
    pub sum_squares: f64,
}

/// Computes [`ProjectedWithin`] in one parallel pass over fixed row chunks.
pub(crate) fn project_within<T: Scalar>(
    x: MatRef<'_, T>,
    labels: &[usize],
    means: MatRef<'_, f64>,
    q: MatRef<'_, f64>,
) -> Result<ProjectedWithin> {
    let (n, p, r) = (x.nrows(), x.ncols(), q.ncols());
    let k = means.nrows();
    // Means row-major for cache-friendly centring.
    let means_rm: Vec<f64> = (0..k)
        .flat_map(|c| (0..p).map(move |j| (c, j)))
        .map(|(c, j)| means[(c, j)])
        .collect();
    let chunks = chunk_ranges(n, k, p);
    let partials: Vec<(Mat<f64>, f64)> = chunks
        .par_iter()
        .map(|rows| {
            let mut z = vec![0.0f64; BLOCK_ROWS * p];
            let mut proj = Mat::<f64>::zeros(BLOCK_ROWS, r);
            let mut scatter = Mat::<f64>::zeros(r, r);
            let mut sum_squares = 0.0f64;
            let mut start = rows.start;
            while start < rows.end {
                let end = (start + BLOCK_ROWS).min(rows.end);
                let len = end - start;
                sum_squares += centre_block(x, labels, &means_rm, start..end, &mut z);
                if r > 0 {
                    let zb = MatRef::from_row_major_slice(&z[..len * p], len, p);
                    let pb = proj.as_mut().subrows_mut(0, len);
                    matmul(pb, Accum::Replace, zb, q, 1.0, Par::Seq);
                    let pb = proj.as_ref().subrows(0, len);
                    matmul(scatter.as_mut(), Accum::Add, pb.transpose(), pb, 1.0, Par::Seq);
                }
                start = end;
            }
            (scatter, sum_squares)
        })
        .collect();
    let mut scatter = Mat::<f64>::zeros(r, r);
    let mut sum_squares = 0.0;
    for (s, ss) in partials {
        scatter += s;
        sum_squares += ss;
    }
    if !sum_squares.is_finite() || !scatter.is_all_finite() {
        return Err(GeometryError::Overflow {
            quantity: "within-class scatter",
        });
    }
    Ok(ProjectedWithin { scatter, sum_squares })
}

/// Writes $z_i = x_i - \bar x_{y_i}$ for `rows` into `z` (row-major) and returns
/// $\sum \|z_i\|^2$ over the block.
fn centre_block<T: Scalar>(
    x: MatRef<'_, T>,
    labels: &[usize],
    means_rm: &[f64],
    rows: std::ops::Range<usize>,
    z: &mut [f64],
) -> f64 {
    let p = x.ncols();
    let mut sum_squares = 0.0;
    if has_contiguous_rows(x) {
        for (local, i) in rows.enumerate() {
            let mu = &means_rm[labels[i] * p..(labels[i] + 1) * p];
            let dst = &mut z[local * p..(local + 1) * p];
            sum_squares += centre_row(row_slice(x, i), mu, dst);
        }
    } else {
        load_rows(x, rows.clone(), z);
        for (local, i) in rows.enumerate() {
            let mu = &means_rm[labels[i] * p..(labels[i] + 1) * p];
            let dst = &mut z[local * p..(local + 1) * p];
            let mut acc = [0.0f64; 4];
            for (j, (d, m)) in dst.iter_mut().zip(mu).enumerate() {
                *d -= m;
                acc[j % 4] += *d * *d;
            }
            sum_squares += acc.iter().sum::<f64>();
        }
    }
    sum_squares
}

/// `dst = src - mu` (widened to f64); returns $\|dst\|^2$. Written with four independent
/// accumulators over fixed-width lanes so that it vectorises.
#[inline]
fn centre_row<T: Scalar>(src: &[T], mu: &[f64], dst: &mut [f64]) -> f64 {
    const W: usize = 8;
    let mut acc = [0.0f64; W];
    let mut src_chunks = src.chunks_exact(W);
    let mut mu_chunks = mu.chunks_exact(W);
    let mut dst_chunks = dst.chunks_exact_mut(W);
    for ((s, m), d) in (&mut src_chunks).zip(&mut mu_chunks).zip(&mut dst_chunks) {
        for l in 0..W {
            let v = s[l].to_f64() - m[l];
            d[l] = v;
            acc[l] += v * v;
        }
    }
    let mut tail = 0.0;
    for ((s, m), d) in src_chunks
        .remainder()
        .iter()
        .zip(mu_chunks.remainder())
        .zip(dst_chunks.into_remainder())
    {
        let v = s.to_f64() - m;
        *d = v;
        tail += v * v;
    }
    acc.iter().sum::<f64>() + tail
}
