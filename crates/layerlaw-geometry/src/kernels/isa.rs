//! The vector operations the kernel bodies are written with ([`Simd`]), implemented once per
//! instruction-set level: [`Portable`] (plain Rust on arrays of four f64, no fused
//! multiply-add), and on x86-64 [`Avx2`] (AVX2 + FMA, 4 f64 lanes, 16 registers) and
//! [`Avx512`] (AVX-512F, 8 f64 lanes, 32 registers).
//!
//! A kernel is a [`Kernel`]: a body generic over `S: Simd`, written once. [`Simd::vectorize`]
//! runs it inside a function compiled for the level's features (`#[target_feature]`), into
//! which the body and every operation below are inlined (they are all `#[inline(always)]`),
//! so each level gets its own machine code from the one source.
//!
//! A value of [`Avx2`] or [`Avx512`] can only be made by [`Avx2::new`] / [`Avx512::new`], which
//! check that the CPU has the features: holding one is the proof that its intrinsics may run.

/// A kernel body, generic over the instruction-set level it is compiled for.
pub trait Kernel {
    /// What the kernel returns.
    type Output;
    /// Runs the body with the operations of `s`. Implementations are `#[inline(always)]`, so
    /// the body is compiled inside [`Simd::vectorize`]'s `#[target_feature]` function.
    fn run<S: Simd>(self, s: S) -> Self::Output;
}

/// The vector operations of one instruction-set level, on vectors of [`Simd::LANES`] f64.
///
/// Additions, subtractions and multiplications round as IEEE-754 binary64 does, lane by lane,
/// on every level; only [`Simd::mul_add`] (fused where the level has FMA) and the lane order of
/// [`Simd::reduce_sum`] differ between levels. A kernel that uses neither gives bit-identical
/// results on every level.
pub trait Simd: Copy {
    /// A vector of [`Simd::LANES`] f64.
    type V: Copy;
    /// Number of f64 lanes of [`Simd::V`].
    const LANES: usize;
    /// Most columns of the basis one projection-kernel call handles for two rows (its 2·G + 2
    /// accumulators and 3 operands must fit in the level's vector registers).
    const MAX_GROUP: usize;

    /// All lanes zero.
    fn zero(self) -> Self::V;
    /// All lanes `v`.
    fn splat(self, v: f64) -> Self::V;
    /// Lane-wise `a + b`.
    fn add(self, a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise `a - b`.
    fn sub(self, a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise `a * b + c`: rounded once on levels with FMA, twice on [`Portable`].
    fn mul_add(self, a: Self::V, b: Self::V, c: Self::V) -> Self::V;
    /// Sum of the lanes, in a fixed order for each level.
    fn reduce_sum(self, v: Self::V) -> f64;
    /// Asks for the cache line holding `p` to be brought into L2 (a hint: it never faults, so
    /// `p` need not point to anything).
    fn prefetch(self, p: *const u8);

    /// Loads [`Simd::LANES`] f64 from `p`.
    ///
    /// # Safety
    /// `p` points to [`Simd::LANES`] readable f64 (no alignment needed).
    unsafe fn load(self, p: *const f64) -> Self::V;
    /// Loads [`Simd::LANES`] f32 from `p`, widened to f64 (exactly).
    ///
    /// # Safety
    /// `p` points to [`Simd::LANES`] readable f32 (no alignment needed).
    unsafe fn load_f32(self, p: *const f32) -> Self::V;
    /// Stores `v` to [`Simd::LANES`] f64 at `p`.
    ///
    /// # Safety
    /// `p` points to [`Simd::LANES`] writable f64 (no alignment needed).
    unsafe fn store(self, p: *mut f64, v: Self::V);

    /// Runs `k` compiled for this level's features.
    fn vectorize<K: Kernel>(self, k: K) -> K::Output;
}

/// Plain Rust, for any CPU: vectors are arrays of four f64 (the compiler maps them to what the
/// baseline target has), and `mul_add` rounds twice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Portable;

/// Four f64 lanes of [`Portable`].
type Lanes4 = [f64; 4];

impl Simd for Portable {
    type V = Lanes4;
    const LANES: usize = 4;
    const MAX_GROUP: usize = 4;

    #[inline(always)]
    fn zero(self) -> Lanes4 {
        [0.0; 4]
    }
    #[inline(always)]
    fn splat(self, v: f64) -> Lanes4 {
        [v; 4]
    }
    #[inline(always)]
    fn add(self, a: Lanes4, b: Lanes4) -> Lanes4 {
        [a[0] + b[0], a[1] + b[1], a[2] + b[2], a[3] + b[3]]
    }
    #[inline(always)]
    fn sub(self, a: Lanes4, b: Lanes4) -> Lanes4 {
        [a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3]]
    }
    #[inline(always)]
    fn mul_add(self, a: Lanes4, b: Lanes4, c: Lanes4) -> Lanes4 {
        [
            a[0] * b[0] + c[0],
            a[1] * b[1] + c[1],
            a[2] * b[2] + c[2],
            a[3] * b[3] + c[3],
        ]
    }
    #[inline(always)]
    fn reduce_sum(self, v: Lanes4) -> f64 {
        (v[0] + v[1]) + (v[2] + v[3])
    }
    #[inline(always)]
    fn prefetch(self, _p: *const u8) {}

    #[inline(always)]
    unsafe fn load(self, p: *const f64) -> Lanes4 {
        // SAFETY: the caller guarantees four readable f64 at `p`; `read_unaligned` needs no
        // alignment.
        unsafe { p.cast::<Lanes4>().read_unaligned() }
    }
    #[inline(always)]
    unsafe fn load_f32(self, p: *const f32) -> Lanes4 {
        // SAFETY: the caller guarantees four readable f32 at `p`.
        let v = unsafe { p.cast::<[f32; 4]>().read_unaligned() };
        v.map(f64::from)
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f64, v: Lanes4) {
        // SAFETY: the caller guarantees four writable f64 at `p`.
        unsafe { p.cast::<Lanes4>().write_unaligned(v) }
    }

    #[inline(always)]
    fn vectorize<K: Kernel>(self, k: K) -> K::Output {
        k.run(self)
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Kernel, Simd};
    use std::arch::x86_64::*;

    /// x86-64 AVX2 with FMA: four f64 lanes in 16 registers of 256 bits. Only [`Avx2::new`]
    /// makes one.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Avx2 {
        _checked: (),
    }

    impl Avx2 {
        /// The level, if this CPU has AVX2 and FMA.
        #[inline]
        pub(crate) fn new() -> Option<Avx2> {
            (is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
                .then_some(Avx2 { _checked: () })
        }
    }

    /// Every operation of [`Avx2`] is an AVX/AVX2/FMA intrinsic, allowed because an [`Avx2`]
    /// value exists only when [`Avx2::new`] found those features on this CPU.
    impl Simd for Avx2 {
        type V = __m256d;
        const LANES: usize = 4;
        // 2·5 + 2 accumulators, two centred rows and one column of Q: 15 of 16 registers.
        const MAX_GROUP: usize = 5;

        #[inline(always)]
        fn zero(self) -> __m256d {
            // SAFETY: AVX is present (see the impl's documentation).
            unsafe { _mm256_setzero_pd() }
        }
        #[inline(always)]
        fn splat(self, v: f64) -> __m256d {
            // SAFETY: AVX is present.
            unsafe { _mm256_set1_pd(v) }
        }
        #[inline(always)]
        fn add(self, a: __m256d, b: __m256d) -> __m256d {
            // SAFETY: AVX is present.
            unsafe { _mm256_add_pd(a, b) }
        }
        #[inline(always)]
        fn sub(self, a: __m256d, b: __m256d) -> __m256d {
            // SAFETY: AVX is present.
            unsafe { _mm256_sub_pd(a, b) }
        }
        #[inline(always)]
        fn mul_add(self, a: __m256d, b: __m256d, c: __m256d) -> __m256d {
            // SAFETY: FMA is present.
            unsafe { _mm256_fmadd_pd(a, b, c) }
        }
        #[inline(always)]
        fn reduce_sum(self, v: __m256d) -> f64 {
            // (l0 + l2) + (l1 + l3).
            // SAFETY: AVX is present.
            unsafe {
                let s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd::<1>(v));
                _mm_cvtsd_f64(_mm_add_sd(s, _mm_unpackhi_pd(s, s)))
            }
        }
        #[inline(always)]
        fn prefetch(self, p: *const u8) {
            // SAFETY: SSE is present (implied by AVX); a prefetch never faults, whatever
            // the address.
            unsafe { _mm_prefetch::<_MM_HINT_T1>(p.cast::<i8>()) };
        }

        #[inline(always)]
        unsafe fn load(self, p: *const f64) -> __m256d {
            // SAFETY: AVX is present; the caller guarantees four readable f64 at `p`.
            unsafe { _mm256_loadu_pd(p) }
        }
        #[inline(always)]
        unsafe fn load_f32(self, p: *const f32) -> __m256d {
            // SAFETY: AVX is present; the caller guarantees four readable f32 at `p`.
            unsafe { _mm256_cvtps_pd(_mm_loadu_ps(p)) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f64, v: __m256d) {
            // SAFETY: AVX is present; the caller guarantees four writable f64 at `p`.
            unsafe { _mm256_storeu_pd(p, v) }
        }

        #[inline(always)]
        fn vectorize<K: Kernel>(self, k: K) -> K::Output {
            #[target_feature(enable = "avx2,fma")]
            fn compiled<K: Kernel>(s: Avx2, k: K) -> K::Output {
                k.run(s)
            }
            // SAFETY: `self` proves the CPU has AVX2 and FMA.
            unsafe { compiled(self, k) }
        }
    }

    /// x86-64 AVX-512F: eight f64 lanes in 32 registers of 512 bits. Only [`Avx512::new`] makes
    /// one.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Avx512 {
        _checked: (),
    }

    impl Avx512 {
        /// The level, if this CPU has AVX-512F (and AVX2 and FMA, which every AVX-512 CPU has).
        #[inline]
        pub(crate) fn new() -> Option<Avx512> {
            (is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma"))
            .then_some(Avx512 { _checked: () })
        }
    }

    /// Every operation of [`Avx512`] is an AVX-512F (or SSE) intrinsic, allowed because an
    /// [`Avx512`] value exists only when [`Avx512::new`] found AVX-512F on this CPU.
    impl Simd for Avx512 {
        type V = __m512d;
        const LANES: usize = 8;
        // 2·12 + 2 accumulators, two centred rows and one column of Q: 29 of 32 registers.
        const MAX_GROUP: usize = 12;

        #[inline(always)]
        fn zero(self) -> __m512d {
            // SAFETY: AVX-512F is present (see the impl's documentation).
            unsafe { _mm512_setzero_pd() }
        }
        #[inline(always)]
        fn splat(self, v: f64) -> __m512d {
            // SAFETY: AVX-512F is present.
            unsafe { _mm512_set1_pd(v) }
        }
        #[inline(always)]
        fn add(self, a: __m512d, b: __m512d) -> __m512d {
            // SAFETY: AVX-512F is present.
            unsafe { _mm512_add_pd(a, b) }
        }
        #[inline(always)]
        fn sub(self, a: __m512d, b: __m512d) -> __m512d {
            // SAFETY: AVX-512F is present.
            unsafe { _mm512_sub_pd(a, b) }
        }
        #[inline(always)]
        fn mul_add(self, a: __m512d, b: __m512d, c: __m512d) -> __m512d {
            // SAFETY: AVX-512F is present.
            unsafe { _mm512_fmadd_pd(a, b, c) }
        }
        #[inline(always)]
        fn reduce_sum(self, v: __m512d) -> f64 {
            // SAFETY: AVX-512F is present.
            unsafe { _mm512_reduce_add_pd(v) }
        }
        #[inline(always)]
        fn prefetch(self, p: *const u8) {
            // SAFETY: SSE is present (implied by AVX); a prefetch never faults, whatever
            // the address.
            unsafe { _mm_prefetch::<_MM_HINT_T1>(p.cast::<i8>()) };
        }

        #[inline(always)]
        unsafe fn load(self, p: *const f64) -> __m512d {
            // SAFETY: AVX-512F is present; the caller guarantees eight readable f64 at `p`.
            unsafe { _mm512_loadu_pd(p) }
        }
        #[inline(always)]
        unsafe fn load_f32(self, p: *const f32) -> __m512d {
            // SAFETY: AVX-512F is present; the caller guarantees eight readable f32 at `p`.
            unsafe { _mm512_cvtps_pd(_mm256_loadu_ps(p)) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f64, v: __m512d) {
            // SAFETY: AVX-512F is present; the caller guarantees eight writable f64 at `p`.
            unsafe { _mm512_storeu_pd(p, v) }
        }

        #[inline(always)]
        fn vectorize<K: Kernel>(self, k: K) -> K::Output {
            #[target_feature(enable = "avx512f,avx2,fma")]
            fn compiled<K: Kernel>(s: Avx512, k: K) -> K::Output {
                k.run(s)
            }
            // SAFETY: `self` proves the CPU has AVX-512F, AVX2 and FMA.
            unsafe { compiled(self, k) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The operations of one level on fixed vectors: lane-wise arithmetic, reduction and
    /// memory round trips (f32 widened exactly).
    fn check<S: Simd>(s: S) {
        let l = S::LANES;
        let a: Vec<f64> = (0..l).map(|i| 1.5 + i as f64).collect();
        let b: Vec<f64> = (0..l).map(|i| 0.25 * i as f64 - 3.0).collect();
        let f: Vec<f32> = (0..l).map(|i| 0.1 + i as f32).collect();
        let mut out = vec![0.0; l];
        // SAFETY: every buffer holds `l` = LANES values.
        let (va, vb, vf) = unsafe {
            (
                s.load(a.as_ptr()),
                s.load(b.as_ptr()),
                s.load_f32(f.as_ptr()),
            )
        };
        let lanes = |v: S::V| {
            let mut o = vec![0.0; l];
            // SAFETY: `o` holds LANES values.
            unsafe { s.store(o.as_mut_ptr(), v) };
            o
        };
        for i in 0..l {
            assert_eq!(lanes(s.add(va, vb))[i], a[i] + b[i]);
            assert_eq!(lanes(s.sub(va, vb))[i], a[i] - b[i]);
            assert_eq!(
                lanes(s.mul_add(va, vb, vf))[i],
                a[i] * b[i] + f64::from(f[i])
            );
            assert_eq!(lanes(vf)[i], f64::from(f[i]));
            assert_eq!(lanes(s.splat(2.5))[i], 2.5);
            assert_eq!(lanes(s.zero())[i], 0.0);
        }
        assert_eq!(s.reduce_sum(va), a.iter().sum::<f64>());
        // SAFETY: `out` holds LANES values.
        unsafe { s.store(out.as_mut_ptr(), vb) };
        assert_eq!(out, b);
    }

    #[test]
    fn operations_of_every_level() {
        check(Portable);
        #[cfg(target_arch = "x86_64")]
        {
            if let Some(s) = Avx2::new() {
                check(s);
            }
            if let Some(s) = Avx512::new() {
                check(s);
            }
        }
    }
}
