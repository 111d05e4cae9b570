//! Pass-1 kernel: the rows of one class within a tile, summed in registers and added to that
//! class's running sum once.
//!
//! Adding each row straight into its class sum (K·p f64, 80 KiB for K = 10, p = 1,024) moves
//! the whole sum between L1 and L2 for every row: twice the traffic of the row itself, which
//! slows the stream from memory. Here a tile of up to [`SUM_TILE`] consecutive rows is grouped
//! by class; for each class present, four vectors of columns at a time (16 with AVX2 and the
//! portable level, 32 with AVX-512), the class's rows of the tile are
//! widened and added in registers, and the result is added to the class sum:
//! $s_k \mathrel{+}= (\dots(x_{i_1} + x_{i_2}) + \dots) + x_{i_m}$.
//!
//! The body is written once over [`Simd`]; every level performs exactly these additions in
//! this order (no fused operations), so the sums are bit-for-bit the same on every level.

use super::isa::{Kernel, Simd};
use super::Isa;
use crate::scalar::Scalar;

/// Most rows summed by one call of [`add_rows`] (the rows of one class within a tile).
pub(crate) const SUM_TILE: usize = 64;

/// Vectors per column block of [`add_rows`] (held in registers while the rows are added).
const SUM_VECTORS: usize = 4;

/// `dst[j] += ((rows[0][j] + rows[1][j]) + …) + rows[m-1][j]`, widened to f64; all rows have
/// `dst.len()` values. Does nothing for no rows; panics for more than [`SUM_TILE`].
///
/// `ahead` (at most as many rows as `rows`, any length each) are rows the caller will read
/// next: the kernel asks for their cache lines while it sums, so the next tile is arriving
/// from memory while this one is added (memory and arithmetic do not overlap by themselves on
/// the machines measured).
pub(crate) fn add_rows<T: Scalar>(isa: Isa, dst: &mut [f64], rows: &[&[T]], ahead: &[&[T]]) {
    assert!(rows.len() <= SUM_TILE, "at most {SUM_TILE} rows per call");
    if rows.is_empty() {
        return;
    }
    assert!(rows.iter().all(|r| r.len() == dst.len()));
    isa.dispatch(AddRows { dst, rows, ahead });
}

/// The body of [`add_rows`] (arguments checked).
struct AddRows<'a, T> {
    dst: &'a mut [f64],
    rows: &'a [&'a [T]],
    ahead: &'a [&'a [T]],
}

impl<T: Scalar> Kernel for AddRows<'_, T> {
    type Output = ();

    /// Columns in blocks of [`SUM_VECTORS`] vectors, then single vectors, then one by one; in
    /// each, the rows are summed in registers in row order and the sum is added to `dst`.
    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let AddRows { dst, rows, ahead } = self;
        let (len, lanes) = (dst.len(), S::LANES);
        let d = dst.as_mut_ptr();
        // A row with nothing ahead of it prefetches itself (already cached: a cheap no-op).
        let mut next = [std::ptr::null::<u8>(); SUM_TILE];
        for (t, p) in next.iter_mut().enumerate().take(rows.len()) {
            *p = ahead.get(t).unwrap_or(&rows[t]).as_ptr().cast();
        }
        let block = SUM_VECTORS * lanes;
        // Cache lines a block of one row spans; each row ahead gets the same lines prefetched.
        let lines = (block * size_of::<T>()).div_ceil(64);
        let mut j = 0;
        while j + block <= len {
            let bytes = j * size_of::<T>();
            // SAFETY: j + block <= len, the length of `dst` and of every row (checked by
            // `add_rows`), so every vector read or written lies inside its slice.
            unsafe {
                let p0 = rows[0].as_ptr().add(j);
                let mut v = [s.zero(); SUM_VECTORS];
                for (q, vq) in v.iter_mut().enumerate() {
                    *vq = T::load_lanes(s, p0.add(q * lanes));
                }
                for l in 0..lines {
                    s.prefetch(next[0].wrapping_add(bytes + 64 * l));
                }
                for (t, row) in rows.iter().enumerate().skip(1) {
                    for l in 0..lines {
                        s.prefetch(next[t].wrapping_add(bytes + 64 * l));
                    }
                    let p = row.as_ptr().add(j);
                    for (q, vq) in v.iter_mut().enumerate() {
                        *vq = s.add(*vq, T::load_lanes(s, p.add(q * lanes)));
                    }
                }
                for (q, vq) in v.iter().enumerate() {
                    let at = d.add(j + q * lanes);
                    s.store(at, s.add(s.load(at), *vq));
                }
            }
            j += block;
        }
        while j + lanes <= len {
            // SAFETY: j + lanes <= len, as above.
            unsafe {
                let mut v = T::load_lanes(s, rows[0].as_ptr().add(j));
                for row in &rows[1..] {
                    v = s.add(v, T::load_lanes(s, row.as_ptr().add(j)));
                }
                let at = d.add(j);
                s.store(at, s.add(s.load(at), v));
            }
            j += lanes;
        }
        for (jj, dv) in dst.iter_mut().enumerate().skip(j) {
            let mut v = rows[0][jj].to_f64();
            for row in &rows[1..] {
                v += row[jj].to_f64();
            }
            *dv += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every level gives bit-identical sums, equal to the additions written out by hand, for
    /// f32 and f64 rows, 1 to [`SUM_TILE`] rows and lengths with 32-, 8- and 1-column parts.
    #[test]
    fn levels_agree_bit_for_bit() {
        for len in [1usize, 7, 8, 31, 32, 45, 77] {
            for m in [1usize, 2, 5, SUM_TILE] {
                let data: Vec<f64> = (0..m * len)
                    .map(|v| ((v as f64) * 0.731).sin() * 10f64.powi((v % 5) as i32 - 2))
                    .collect();
                let data32: Vec<f32> = data.iter().map(|&v| v as f32).collect();
                let rows64: Vec<&[f64]> = data.chunks_exact(len).collect();
                let rows32: Vec<&[f32]> = data32.chunks_exact(len).collect();
                let start: Vec<f64> = (0..len).map(|j| 0.1 * j as f64 - 1.0).collect();
                let mut want64 = start.clone();
                let mut want32 = start.clone();
                for j in 0..len {
                    let mut v = rows64[0][j];
                    let mut w = f64::from(rows32[0][j]);
                    for t in 1..m {
                        v += rows64[t][j];
                        w += f64::from(rows32[t][j]);
                    }
                    want64[j] += v;
                    want32[j] += w;
                }
                for isa in Isa::available() {
                    let mut got64 = start.clone();
                    add_rows(isa, &mut got64, &rows64, &rows64);
                    assert_eq!(got64, want64, "{isa:?} f64 len={len} m={m}");
                    let mut got32 = start.clone();
                    add_rows(isa, &mut got32, &rows32, &[]);
                    assert_eq!(got32, want32, "{isa:?} f32 len={len} m={m}");
                }
            }
        }
    }
}
