//! Pass 1: class sizes and class means, accumulated in f64 over fixed row chunks.

use faer::{Mat, MatRef};
use rayon::prelude::*;

use crate::blocks::{chunk_ranges, first_non_finite, has_contiguous_rows, load_rows, row_slice};
use crate::error::{GeometryError, Result};
use crate::kernels::{add_row, Isa};
use crate::scalar::Scalar;

/// Rows loaded at a time when rows are not contiguous.
const LOAD_ROWS: usize = 32;

/// Class means $\bar x_k = \frac{1}{n_k}\sum_{i: y_i = k} x_i$ (K×p, f64), computed in one
/// parallel pass; also checks every feature is finite (error names the first bad row/column).
pub(crate) fn class_means<T: Scalar>(
    x: MatRef<'_, T>,
    labels: &[usize],
    counts: &[usize],
) -> Result<Mat<f64>> {
    let (n, p, k) = (x.nrows(), x.ncols(), counts.len());
    let chunks = chunk_ranges(n, k, p);
    let isa = Isa::detect();
    let partials: Vec<std::result::Result<Vec<f64>, GeometryError>> = chunks
        .par_iter()
        .map(|rows| {
            let mut sums = vec![0.0f64; k * p];
            if has_contiguous_rows(x) {
                for i in rows.clone() {
                    add_row(
                        isa,
                        &mut sums[labels[i] * p..(labels[i] + 1) * p],
                        row_slice(x, i),
                    );
                }
            } else {
                let mut buf = vec![0.0f64; LOAD_ROWS * p];
                let mut start = rows.start;
                while start < rows.end {
                    let end = (start + LOAD_ROWS).min(rows.end);
                    load_rows(x, start..end, &mut buf);
                    for i in start..end {
                        let src = &buf[(i - start) * p..(i - start + 1) * p];
                        add_row(isa, &mut sums[labels[i] * p..(labels[i] + 1) * p], src);
                    }
                    start = end;
                }
            }
            // A NaN or infinity anywhere in the chunk makes some sum non-finite; only then do
            // we pay for a scan to name the first offending entry.
            if sums.iter().any(|s| !s.is_finite()) {
                return Err(
                    first_non_finite(x, rows.clone()).unwrap_or(GeometryError::Overflow {
                        quantity: "class sums",
                    }),
                );
            }
            Ok(sums)
        })
        .collect();
    let mut means = Mat::<f64>::zeros(k, p);
    for partial in partials {
        let sums = partial?;
        for c in 0..k {
            for j in 0..p {
                means[(c, j)] += sums[c * p + j];
            }
        }
    }
    for (c, &count) in counts.iter().enumerate() {
        let count = count as f64;
        for j in 0..p {
            means[(c, j)] /= count;
        }
    }
    if !means.is_all_finite() {
        return Err(GeometryError::Overflow {
            quantity: "class sums",
        });
    }
    Ok(means)
}
