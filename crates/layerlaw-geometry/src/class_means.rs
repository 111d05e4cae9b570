//! Pass 1: class sizes and class means, accumulated in f64 over fixed row chunks.

use std::ops::Range;

use faer::{Mat, MatRef};
use rayon::prelude::*;

use crate::blocks::{chunk_ranges, first_non_finite, load_rows, ContiguousRows};
use crate::error::{GeometryError, Result};
use crate::kernels::{add_rows, Isa, SUM_TILE};
use crate::scalar::Scalar;

/// Adds a tile of at most [`SUM_TILE`] rows to the class sums (`k * p`, row-major): the tile's
/// rows are grouped by class (in row order within a class) and each group is summed in
/// registers before touching its class sum (see `kernels::class_sum`).
fn add_tile<T: Scalar>(
    isa: Isa,
    sums: &mut [f64],
    p: usize,
    tile: &[&[T]],
    labels: &[usize],
    ahead: &[&[T]],
) {
    let mut order = [0usize; SUM_TILE];
    let order = &mut order[..tile.len()];
    for (t, o) in order.iter_mut().enumerate() {
        *o = t;
    }
    order.sort_unstable_by_key(|&t| (labels[t], t));
    let mut group: [&[T]; SUM_TILE] = [tile[0]; SUM_TILE];
    // Row t of the next tile is prefetched while row t of this one is summed.
    let mut next: [&[T]; SUM_TILE] = [&[]; SUM_TILE];
    let mut at = 0;
    while at < order.len() {
        let class = labels[order[at]];
        let mut m = 0;
        while at < order.len() && labels[order[at]] == class {
            group[m] = tile[order[at]];
            next[m] = ahead.get(order[at]).copied().unwrap_or(&[]);
            m += 1;
            at += 1;
        }
        add_rows(
            isa,
            &mut sums[class * p..(class + 1) * p],
            &group[..m],
            &next[..m],
        );
    }
}

/// Pass 1 over one row chunk, tile by tile: the chunk's class sums (K·p, row-major, f64).
///
/// Tiles start at the chunk's first row and hold [`SUM_TILE`] rows, whoever drives the chunk
/// ([`class_means`] in one go, or the multi-layer pipeline a tile at a time), so the sums are
/// bit-for-bit the same either way.
pub(crate) struct SumChunk<'a, T: Scalar> {
    x: MatRef<'a, T>,
    labels: &'a [usize],
    rows: Range<usize>,
    next: usize,
    isa: Isa,
    sums: Vec<f64>,
    buf: Vec<f64>,
}

impl<'a, T: Scalar> SumChunk<'a, T> {
    /// A chunk of rows `rows` of `x` with `k` classes; nothing is read yet.
    pub(crate) fn new(x: MatRef<'a, T>, labels: &'a [usize], k: usize, rows: Range<usize>) -> Self {
        SumChunk {
            x,
            labels,
            next: rows.start,
            rows,
            isa: Isa::selected(),
            sums: vec![0.0f64; k * x.ncols()],
            buf: Vec::new(),
        }
    }

    /// Rows of the chunk not read yet.
    pub(crate) fn remaining(&self) -> usize {
        self.rows.end - self.next
    }

    /// Reads the next tile; false when the chunk is done.
    pub(crate) fn step(&mut self) -> bool {
        let (start, p) = (self.next, self.x.ncols());
        if start >= self.rows.end {
            return false;
        }
        let end = (start + SUM_TILE).min(self.rows.end);
        let labels = &self.labels[start..end];
        if let Some(view) = ContiguousRows::new(self.x) {
            let mut tile = [view.row(start); SUM_TILE];
            for (t, i) in (start..end).enumerate() {
                tile[t] = view.row(i);
            }
            let ahead_end = (end + SUM_TILE).min(self.rows.end);
            let mut ahead = [view.row(start); SUM_TILE];
            for (t, i) in (end..ahead_end).enumerate() {
                ahead[t] = view.row(i);
            }
            add_tile(
                self.isa,
                &mut self.sums,
                p,
                &tile[..end - start],
                labels,
                &ahead[..ahead_end - end],
            );
        } else {
            self.buf.resize(SUM_TILE * p, 0.0);
            load_rows(self.x, start..end, &mut self.buf);
            let mut tile = [&self.buf[..p]; SUM_TILE];
            for (t, row) in self.buf.chunks_exact(p).take(end - start).enumerate() {
                tile[t] = row;
            }
            add_tile(
                self.isa,
                &mut self.sums,
                p,
                &tile[..end - start],
                labels,
                &[],
            );
        }
        self.next = end;
        true
    }

    /// Reads what is left and returns the chunk's class sums. A NaN or infinity anywhere in
    /// the chunk makes some sum non-finite; only then is the chunk scanned to name the first
    /// offending entry.
    pub(crate) fn finish(mut self) -> Result<Vec<f64>> {
        while self.step() {}
        if self.sums.iter().any(|s| !s.is_finite()) {
            return Err(first_non_finite(self.x, self.rows.clone()).unwrap_or(
                GeometryError::Overflow {
                    quantity: "class sums",
                },
            ));
        }
        Ok(self.sums)
    }
}

/// Class means from the chunks' class sums, added in chunk order (every value sums the chunks
/// in the same order; blocks of values are summed in parallel).
pub(crate) fn means_from_chunks(
    partials: impl IntoIterator<Item = Result<Vec<f64>>>,
    counts: &[usize],
    p: usize,
) -> Result<Mat<f64>> {
    const BLOCK: usize = 2048;
    let k = counts.len();
    let partials = partials.into_iter().collect::<Result<Vec<Vec<f64>>>>()?;
    let mut total = vec![0.0f64; k * p];
    total
        .par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(b, block)| {
            for partial in &partials {
                for (t, v) in block.iter_mut().zip(&partial[b * BLOCK..]) {
                    *t += v;
                }
            }
        });
    let means = Mat::from_fn(k, p, |c, j| total[c * p + j] / counts[c] as f64);
    if !means.is_all_finite() {
        return Err(GeometryError::Overflow {
            quantity: "class sums",
        });
    }
    Ok(means)
}

/// Class means $\bar x_k = \frac{1}{n_k}\sum_{i: y_i = k} x_i$ (K×p, f64), computed in one
/// parallel pass; also checks every feature is finite (error names the first bad row/column).
pub(crate) fn class_means<T: Scalar>(
    x: MatRef<'_, T>,
    labels: &[usize],
    counts: &[usize],
) -> Result<Mat<f64>> {
    let (n, p, k) = (x.nrows(), x.ncols(), counts.len());
    let partials: Vec<Result<Vec<f64>>> = chunk_ranges(n, k, p)
        .into_par_iter()
        .map(|rows| SumChunk::new(x, labels, k, rows).finish())
        .collect();
    means_from_chunks(partials, counts, p)
}
