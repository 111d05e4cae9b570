//! Centring of one row: `dst = src - mu` (widened to f64) and its squared norm.

use super::{Isa, LANES};
use crate::scalar::Scalar;

#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `dst = src - mu` (widened); returns $\|dst\|^2$ (eight interleaved partial sums).
#[inline(always)]
fn centre_row_body<T: Scalar, const FMA: bool>(src: &[T], mu: &[f64], dst: &mut [f64]) -> f64 {
    let mut acc = [0.0f64; LANES];
    let mut s_it = src.chunks_exact(LANES);
    let mut m_it = mu.chunks_exact(LANES);
    let mut d_it = dst.chunks_exact_mut(LANES);
    for ((s, m), d) in (&mut s_it).zip(&mut m_it).zip(&mut d_it) {
        for l in 0..LANES {
            let v = s[l].to_f64() - m[l];
            d[l] = v;
            acc[l] = madd::<FMA>(v, v, acc[l]);
        }
    }
    let mut tail = 0.0;
    for ((s, m), d) in s_it
        .remainder()
        .iter()
        .zip(m_it.remainder())
        .zip(d_it.into_remainder())
    {
        let v = s.to_f64() - m;
        *d = v;
        tail += v * v;
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail
}

/// Writes `src - mu` (widened) into `dst` and returns its squared norm.
pub(crate) fn centre_row<T: Scalar>(isa: Isa, src: &[T], mu: &[f64], dst: &mut [f64]) -> f64 {
    debug_assert!(src.len() == mu.len() && src.len() <= dst.len());
    #[cfg(target_arch = "x86_64")]
    match isa {
        // SAFETY: `isa` comes from `Isa::detect`, so the CPU supports these features.
        Isa::Avx512 => return unsafe { simd::centre_row_avx512(T::slice_kind(src), mu, dst) },
        // SAFETY: as above.
        Isa::Avx2 => return unsafe { simd::centre_row_avx2(T::slice_kind(src), mu, dst) },
        Isa::Portable => {}
    }
    let _ = isa;
    centre_row_body::<T, false>(src, mu, dst)
}

#[cfg(target_arch = "x86_64")]
mod simd {
    use crate::scalar::SliceKind;
    use std::arch::x86_64::*;

    /// Scalar tail of the centring kernels: `dst[j] = src[j] - mu[j]` for `j >= from`.
    fn tail_centre(src: SliceKind<'_>, mu: &[f64], dst: &mut [f64], from: usize) -> f64 {
        let mut ss = 0.0;
        for j in from..mu.len() {
            let v = match src {
                SliceKind::F32(s) => f64::from(s[j]),
                SliceKind::F64(s) => s[j],
            } - mu[j];
            dst[j] = v;
            ss += v * v;
        }
        ss
    }

    /// AVX-512 `dst = widen(src) - mu`, returning $\|dst\|^2$ (four accumulators of 8 lanes).
    ///
    /// # Safety
    /// The CPU must support AVX-512F; `src` and `mu` have equal lengths, `dst` at least that.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn centre_row_avx512(src: SliceKind<'_>, mu: &[f64], dst: &mut [f64]) -> f64 {
        let n = mu.len();
        let len = match src {
            SliceKind::F32(s) => s.len(),
            SliceKind::F64(s) => s.len(),
        };
        assert!(len == n && dst.len() >= n);
        let blocks = n / 8;
        let (m, d) = (mu.as_ptr(), dst.as_mut_ptr());
        let mut acc = [_mm512_setzero_pd(); 4];
        // SAFETY: every offset b * 8 + 7 < n <= the lengths of src, mu and dst.
        unsafe {
            let load = |b: usize| match src {
                SliceKind::F32(s) => _mm512_cvtps_pd(_mm256_loadu_ps(s.as_ptr().add(b * 8))),
                SliceKind::F64(s) => _mm512_loadu_pd(s.as_ptr().add(b * 8)),
            };
            for b in 0..blocks {
                let v = _mm512_sub_pd(load(b), _mm512_loadu_pd(m.add(b * 8)));
                _mm512_storeu_pd(d.add(b * 8), v);
                acc[b % 4] = _mm512_fmadd_pd(v, v, acc[b % 4]);
            }
        }
        let total = _mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), _mm512_add_pd(acc[2], acc[3]));
        let mut l = [0.0f64; 8];
        // SAFETY: `l` holds eight f64.
        unsafe { _mm512_storeu_pd(l.as_mut_ptr(), total) };
        ((l[0] + l[1]) + (l[2] + l[3]))
            + ((l[4] + l[5]) + (l[6] + l[7]))
            + tail_centre(src, mu, dst, blocks * 8)
    }

    /// AVX2 `dst = widen(src) - mu`, returning $\|dst\|^2$ (four accumulators of 4 lanes).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA; `src` and `mu` have equal lengths, `dst` at least
    /// that.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn centre_row_avx2(src: SliceKind<'_>, mu: &[f64], dst: &mut [f64]) -> f64 {
        let n = mu.len();
        let len = match src {
            SliceKind::F32(s) => s.len(),
            SliceKind::F64(s) => s.len(),
        };
        assert!(len == n && dst.len() >= n);
        let blocks = n / 4;
        let (m, d) = (mu.as_ptr(), dst.as_mut_ptr());
        let mut acc = [_mm256_setzero_pd(); 4];
        // SAFETY: every offset b * 4 + 3 < n <= the lengths of src, mu and dst.
        unsafe {
            let load = |b: usize| match src {
                SliceKind::F32(s) => _mm256_cvtps_pd(_mm_loadu_ps(s.as_ptr().add(b * 4))),
                SliceKind::F64(s) => _mm256_loadu_pd(s.as_ptr().add(b * 4)),
            };
            for b in 0..blocks {
                let v = _mm256_sub_pd(load(b), _mm256_loadu_pd(m.add(b * 4)));
                _mm256_storeu_pd(d.add(b * 4), v);
                acc[b % 4] = _mm256_fmadd_pd(v, v, acc[b % 4]);
            }
        }
        let total = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
        let mut l = [0.0f64; 4];
        // SAFETY: `l` holds four f64.
        unsafe { _mm256_storeu_pd(l.as_mut_ptr(), total) };
        ((l[0] + l[1]) + (l[2] + l[3])) + tail_centre(src, mu, dst, blocks * 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elementwise_kernels_agree_across_levels() {
        let src: Vec<f32> = (0..37).map(|j| (j as f32 * 0.7).sin()).collect();
        let mu: Vec<f64> = (0..37).map(|j| (j as f64 * 0.2).cos()).collect();
        for isa in Isa::available() {
            let mut dst = vec![0.0f64; 37];
            let ss = centre_row(isa, &src, &mu, &mut dst);
            let want: f64 = (0..37).map(|j| (f64::from(src[j]) - mu[j]).powi(2)).sum();
            assert!((ss - want).abs() <= 1e-13 * want, "{isa:?}");
            for j in 0..37 {
                assert_eq!(dst[j], f64::from(src[j]) - mu[j]);
            }
        }
    }
}
