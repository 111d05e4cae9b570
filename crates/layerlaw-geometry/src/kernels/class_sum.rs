//! Pass-1 kernel: the rows of one class within a tile, summed in registers and added to that
//! class's running sum once.
//!
//! Adding each row straight into its class sum (K·p f64, 80 KiB for K = 10, p = 1,024) moves
//! the whole sum between L1 and L2 for every row: twice the traffic of the row itself, which
//! slows the stream from memory. Here a tile of up to [`SUM_TILE`] consecutive rows is grouped
//! by class; for each class present, 32 columns at a time, the class's rows of the tile are
//! widened and added in registers, and the result is added to the class sum:
//! $s_k \mathrel{+}= (\dots(x_{i_1} + x_{i_2}) + \dots) + x_{i_m}$.
//!
//! Every [`Isa`] performs exactly these additions in this order (no fused operations), so the
//! sums are bit-for-bit the same on every level.

use crate::kernels::Isa;
use crate::scalar::{Scalar, SliceKind};

/// Most rows summed by one call of [`add_rows`] (the rows of one class within a tile).
pub(crate) const SUM_TILE: usize = 64;

/// `dst[j] += ((rows[0][j] + rows[1][j]) + …) + rows[m-1][j]`, widened to f64; all rows have
/// `dst.len()` values. Does nothing for no rows; panics for more than [`SUM_TILE`].
///
/// `ahead` (at most as many rows as `rows`, any length each) are rows the caller will read
/// next: the AVX-512 kernel asks for their cache lines while it sums, so the next tile is
/// arriving from memory while this one is added (memory and arithmetic do not overlap by
/// themselves on the machines measured, see BENCHMARKS.md).
pub(crate) fn add_rows<T: Scalar>(isa: Isa, dst: &mut [f64], rows: &[&[T]], ahead: &[&[T]]) {
    assert!(rows.len() <= SUM_TILE, "at most {SUM_TILE} rows per call");
    if rows.is_empty() {
        return;
    }
    assert!(rows.iter().all(|r| r.len() == dst.len()));
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx512 {
        let m = rows.len();
        let mut ptrs = [rows[0].as_ptr(); SUM_TILE];
        for (p, r) in ptrs.iter_mut().zip(rows) {
            *p = r.as_ptr();
        }
        // A row with nothing ahead of it prefetches itself (already cached: a cheap no-op).
        let mut next = [std::ptr::null::<u8>(); SUM_TILE];
        for (t, p) in next.iter_mut().enumerate().take(m) {
            *p = match ahead.get(t) {
                Some(r) if r.len() >= dst.len() => r.as_ptr().cast(),
                _ => rows[t].as_ptr().cast(),
            };
        }
        // SAFETY: `isa` comes from `Isa::detect`, so the CPU supports AVX-512F; lengths are
        // checked above; `slice_kind` tells which of the two sealed types `T` is, so the
        // pointer casts keep the element type.
        return unsafe {
            match T::slice_kind(rows[0]) {
                SliceKind::F32(_) => {
                    simd::add_rows_avx512(dst, &ptrs.map(|p| p.cast::<f32>())[..m], &next[..m])
                }
                SliceKind::F64(_) => {
                    simd::add_rows_avx512(dst, &ptrs.map(|p| p.cast::<f64>())[..m], &next[..m])
                }
            }
        };
    }
    #[cfg(target_arch = "x86_64")]
    if isa == Isa::Avx2 {
        // SAFETY: `isa` comes from `Isa::detect`, so the CPU supports AVX2.
        return unsafe { add_rows_avx2(dst, rows) };
    }
    let _ = (isa, ahead);
    add_rows_portable(dst, rows);
}

/// [`add_rows_portable`] compiled for AVX2 (the compiler vectorises the 32-column blocks).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_rows_avx2<T: Scalar>(dst: &mut [f64], rows: &[&[T]]) {
    add_rows_portable(dst, rows)
}

/// Portable version of [`add_rows`] with the same additions in the same order: each block of
/// 32 columns is summed over the rows, then added to `dst`.
#[inline(always)]
fn add_rows_portable<T: Scalar>(dst: &mut [f64], rows: &[&[T]]) {
    const W: usize = 32;
    let len = dst.len();
    let mut j = 0;
    while j < len {
        let w = W.min(len - j);
        let mut v = [0.0f64; W];
        for (vl, x) in v.iter_mut().zip(&rows[0][j..j + w]) {
            *vl = x.to_f64();
        }
        for r in &rows[1..] {
            for (vl, x) in v.iter_mut().zip(&r[j..j + w]) {
                *vl += x.to_f64();
            }
        }
        for (d, vl) in dst[j..j + w].iter_mut().zip(&v) {
            *d += vl;
        }
        j += w;
    }
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use crate::kernels::project::Widen;
    use std::arch::x86_64::*;

    /// Sums the rows at `ptrs` (each `dst.len()` values) 32 columns at a time in four
    /// registers, then adds them to `dst`; the last `len % 8` columns are done one by one.
    ///
    /// # Safety
    /// AVX-512F; `ptrs` is non-empty and each points to `dst.len()` readable values; `ahead`
    /// holds a (prefetch-only, never read) pointer per row.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn add_rows_avx512<T: Widen>(
        dst: &mut [f64],
        ptrs: &[*const T],
        ahead: &[*const u8],
    ) {
        let len = dst.len();
        let d = dst.as_mut_ptr();
        let mut j = 0;
        // SAFETY: every offset read is below `len`, the length of `dst` and of every row.
        unsafe {
            // The 32 values of a row span this many cache lines; each row ahead gets the same
            // lines prefetched (a prefetch is a hint and never faults).
            let lines = 32 * size_of::<T>() / 64;
            while j + 32 <= len {
                let bytes = j * size_of::<T>();
                let prefetch = |t: usize| {
                    for l in 0..lines {
                        _mm_prefetch::<_MM_HINT_T1>(
                            ahead[t].wrapping_add(bytes + 64 * l).cast::<i8>(),
                        );
                    }
                };
                prefetch(0);
                let p0 = ptrs[0];
                let mut v = [
                    T::load8(p0.add(j)),
                    T::load8(p0.add(j + 8)),
                    T::load8(p0.add(j + 16)),
                    T::load8(p0.add(j + 24)),
                ];
                for (t, &p) in ptrs.iter().enumerate().skip(1) {
                    prefetch(t);
                    for (q, vq) in v.iter_mut().enumerate() {
                        *vq = _mm512_add_pd(*vq, T::load8(p.add(j + 8 * q)));
                    }
                }
                for (q, vq) in v.iter().enumerate() {
                    let at = d.add(j + 8 * q);
                    _mm512_storeu_pd(at, _mm512_add_pd(_mm512_loadu_pd(at), *vq));
                }
                j += 32;
            }
            while j + 8 <= len {
                let mut v = T::load8(ptrs[0].add(j));
                for &p in &ptrs[1..] {
                    v = _mm512_add_pd(v, T::load8(p.add(j)));
                }
                let at = d.add(j);
                _mm512_storeu_pd(at, _mm512_add_pd(_mm512_loadu_pd(at), v));
                j += 8;
            }
            while j < len {
                let mut v: f64 = (*ptrs[0].add(j)).into();
                for &p in &ptrs[1..] {
                    v += (*p.add(j)).into();
                }
                *d.add(j) += v;
                j += 1;
            }
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
