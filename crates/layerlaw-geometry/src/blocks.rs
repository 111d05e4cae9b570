//! Row-block access to a feature matrix of any strides, and the fixed chunking that makes the
//! parallel passes deterministic.
//!
//! The rows are cut into chunks whose boundaries depend only on $(n, K, p)$, never on the
//! number of threads; each chunk's partial sums are combined in chunk order. Results are
//! therefore bit-for-bit reproducible on any machine with the same floating-point behaviour.

use std::ops::Range;

use faer::MatRef;

use crate::error::GeometryError;
use crate::scalar::Scalar;

/// At most this many chunks (bounds the per-chunk partial-sum memory).
const MAX_CHUNKS: usize = 64;
/// Chunks hold at least this many rows (below it, threading overhead dominates).
const MIN_CHUNK_ROWS: usize = 512;
/// Budget for all per-chunk partial class sums, in bytes.
const PARTIAL_BUDGET_BYTES: usize = 64 << 20;

/// Splits `0..n` into contiguous chunks for the parallel passes; `k * p` f64 of partial state
/// is kept per chunk, so the chunk count is limited by [`PARTIAL_BUDGET_BYTES`].
pub(crate) fn chunk_ranges(n: usize, k: usize, p: usize) -> Vec<Range<usize>> {
    let state_bytes = k.saturating_mul(p).saturating_mul(8).max(1);
    let by_memory = (PARTIAL_BUDGET_BYTES / state_bytes).max(1);
    let by_rows = n.div_ceil(MIN_CHUNK_ROWS).max(1);
    let chunks = MAX_CHUNKS.min(by_memory).min(by_rows);
    let size = n.div_ceil(chunks).max(1);
    (0..n)
        .step_by(size)
        .map(|start| start..(start + size).min(n))
        .collect()
}

/// Copies rows `rows` of `x` (widened to f64) into `out`, row-major with row length `p`.
///
/// Fast paths for contiguous rows (C order) and contiguous columns (Fortran order); any other
/// stride pattern falls back to element indexing.
pub(crate) fn load_rows<T: Scalar>(x: MatRef<'_, T>, rows: Range<usize>, out: &mut [f64]) {
    let p = x.ncols();
    debug_assert!(out.len() >= rows.len() * p);
    if let Some(view) = ContiguousRows::new(x) {
        for (local, i) in rows.enumerate() {
            for (o, v) in out[local * p..(local + 1) * p].iter_mut().zip(view.row(i)) {
                *o = v.to_f64();
            }
        }
    } else if let Some(view) = ContiguousColumns::new(x) {
        for j in 0..p {
            let col = view.column(j);
            for (local, v) in col[rows.clone()].iter().enumerate() {
                out[local * p + j] = v.to_f64();
            }
        }
    } else {
        for (local, i) in rows.enumerate() {
            for j in 0..p {
                out[local * p + j] = x[(i, j)].to_f64();
            }
        }
    }
}

/// A matrix whose rows are contiguous in memory (unit column stride, or a single column), so
/// each row can be read as a slice. Only [`ContiguousRows::new`] makes one, after checking.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ContiguousRows<'a, T> {
    x: MatRef<'a, T>,
}

impl<'a, T: Scalar> ContiguousRows<'a, T> {
    /// The view, if the rows of `x` are contiguous.
    #[inline]
    pub(crate) fn new(x: MatRef<'a, T>) -> Option<Self> {
        (x.col_stride() == 1 || x.ncols() <= 1).then_some(ContiguousRows { x })
    }

    /// Row `i` (its `ncols` values); panics if `i` is not a row.
    #[inline]
    pub(crate) fn row(self, i: usize) -> &'a [T] {
        let x = self.x;
        assert!(i < x.nrows(), "row {i} of a matrix with {} rows", x.nrows());
        // SAFETY: i is a row of `x` and its ncols values are contiguous (`new` checked unit
        // column stride or at most one column), so they lie inside the matrix that `x`
        // borrows, immutably, for 'a.
        unsafe { std::slice::from_raw_parts(x.ptr_at(i, 0), x.ncols()) }
    }
}

/// A matrix whose columns are contiguous in memory (unit row stride), so each column can be
/// read as a slice. Only [`ContiguousColumns::new`] makes one, after checking.
#[derive(Debug, Clone, Copy)]
struct ContiguousColumns<'a, T> {
    x: MatRef<'a, T>,
}

impl<'a, T: Scalar> ContiguousColumns<'a, T> {
    /// The view, if the columns of `x` are contiguous.
    #[inline]
    fn new(x: MatRef<'a, T>) -> Option<Self> {
        (x.row_stride() == 1 || x.nrows() <= 1).then_some(ContiguousColumns { x })
    }

    /// Column `j` (its `nrows` values); panics if `j` is not a column.
    #[inline]
    fn column(self, j: usize) -> &'a [T] {
        let x = self.x;
        assert!(
            j < x.ncols(),
            "column {j} of a matrix with {} columns",
            x.ncols()
        );
        // SAFETY: j is a column of `x` and its nrows values are contiguous (`new` checked unit
        // row stride or at most one row), so they lie inside the matrix `x` borrows for 'a.
        unsafe { std::slice::from_raw_parts(x.ptr_at(0, j), x.nrows()) }
    }
}

/// The first non-finite entry in rows `rows` of `x`, in row-major order, as an error.
pub(crate) fn first_non_finite<T: Scalar>(
    x: MatRef<'_, T>,
    rows: Range<usize>,
) -> Option<GeometryError> {
    for i in rows {
        for j in 0..x.ncols() {
            let value = x[(i, j)].to_f64();
            if !value.is_finite() {
                return Some(GeometryError::NonFiniteFeature {
                    row: i,
                    col: j,
                    value,
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_all_rows_in_order() {
        for &(n, k, p) in &[
            (0, 2, 3),
            (1, 2, 3),
            (511, 10, 4),
            (100_000, 10, 1024),
            (70_000, 1000, 100_000),
        ] {
            let r = chunk_ranges(n, k, p);
            let mut next = 0;
            for c in &r {
                assert_eq!(c.start, next);
                assert!(c.end > c.start || n == 0);
                next = c.end;
            }
            assert_eq!(next, n);
            assert!(r.len() <= MAX_CHUNKS);
        }
    }

    #[test]
    fn load_rows_handles_all_layouts() {
        let data: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let row_major = MatRef::from_row_major_slice(&data, 3, 4);
        let col_major = MatRef::from_column_major_slice(&data, 3, 4);
        for x in [row_major, col_major, row_major.reverse_rows()] {
            let mut out = vec![0.0; 8];
            load_rows(x, 1..3, &mut out);
            for local in 0..2 {
                for j in 0..4 {
                    assert_eq!(out[local * 4 + j], f64::from(x[(local + 1, j)]));
                }
            }
        }
    }
}
