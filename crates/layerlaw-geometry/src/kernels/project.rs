//! Pass-2 projection kernels: the between-class basis packed for them, the fused
//! centre-and-project tile kernel (AVX-512) and the two-row projection kernels of every level.

use super::{fused_acc_len, Isa, BLOCK, FUSED_COLS, FUSED_TILE, TILE_ROWS};
use crate::scalar::{Scalar, SliceKind};

/// Explicit x86-64 element widening of the fused kernel: f32 input is widened in registers
/// (`vcvtps2pd`), so no f64 copy of a feature row is ever made.
#[cfg(target_arch = "x86_64")]
pub(crate) use simd::Widen;

#[cfg(target_arch = "x86_64")]
mod simd {
    use super::fused_acc_len;
    use std::arch::x86_64::*;

    /// An element type the fused kernel can widen eight at a time.
    pub(crate) trait Widen: Copy + Into<f64> {
        /// Eight values from `p`, widened to f64.
        ///
        /// # Safety
        /// AVX-512F; `p` points to at least eight readable values.
        unsafe fn load8(p: *const Self) -> __m512d;
    }

    impl Widen for f32 {
        #[inline(always)]
        unsafe fn load8(p: *const f32) -> __m512d {
            // SAFETY: guaranteed by the caller.
            unsafe { _mm512_cvtps_pd(_mm256_loadu_ps(p)) }
        }
    }

    impl Widen for f64 {
        #[inline(always)]
        unsafe fn load8(p: *const f64) -> __m512d {
            // SAFETY: guaranteed by the caller.
            unsafe { _mm512_loadu_pd(p) }
        }
    }

    /// AVX-512 end of a fused tile: reduces each row's lane accumulators (layout of
    /// [`centre_project_block`], pairs of rows) to its r projections $q_c\cdot z_t$ and
    /// $\|z_t\|^2$, adds $\|z_t\|^2$ to `sum_squares` and the outer product of the projections
    /// to `scatter` (r rows of [`super::SCATTER_WIDTH`], row a holding $\sum_t p_a p_b$ in
    /// column b), rows in order.
    ///
    /// # Safety
    /// AVX-512F; `acc` holds `rows.div_ceil(2)` pair blocks of `fused_acc_len(g)`; `g` ≤ 12;
    /// `scatter` holds `g * SCATTER_WIDTH` values.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn reduce_into_scatter(
        acc: &[f64],
        g: usize,
        rows: usize,
        scatter: &mut [f64],
        sum_squares: &mut f64,
    ) {
        let width = fused_acc_len(g);
        assert!(g <= 12 && acc.len() >= rows.div_ceil(2) * width);
        assert!(scatter.len() >= g * super::SCATTER_WIDTH);
        let (pa, ps) = (acc.as_ptr(), scatter.as_mut_ptr());
        // SAFETY: offsets are bounded by the assertions above.
        unsafe {
            for t in 0..rows {
                let base = (t / 2) * width;
                let side = t % 2;
                let mut proj = [0.0f64; 16];
                for (c, v) in proj.iter_mut().enumerate().take(g) {
                    *v = _mm512_reduce_add_pd(_mm512_loadu_pd(pa.add(base + (side * g + c) * 8)));
                }
                *sum_squares +=
                    _mm512_reduce_add_pd(_mm512_loadu_pd(pa.add(base + (2 * g + side) * 8)));
                let lo = _mm512_loadu_pd(proj.as_ptr());
                let hi = _mm512_loadu_pd(proj.as_ptr().add(8));
                for (a, &pa_) in proj.iter().enumerate().take(g) {
                    let row = ps.add(a * super::SCATTER_WIDTH);
                    let b = _mm512_set1_pd(pa_);
                    _mm512_storeu_pd(row, _mm512_fmadd_pd(b, lo, _mm512_loadu_pd(row)));
                    if g > 8 {
                        let row = row.add(8);
                        _mm512_storeu_pd(row, _mm512_fmadd_pd(b, hi, _mm512_loadu_pd(row)));
                    }
                }
            }
        }
    }

    /// AVX-512 fused kernel of [`super::PackedBasis::centre_project_rows`] on one column block:
    /// for two rows, $z_t = x_t - \mu_t$ (widened in registers); adds $z_t$'s products with
    /// the G packed columns of `qblock` and $z_t \odot z_t$ into the lane accumulators `acc`
    /// (layout: row 0's G, row 1's G, then the two squared norms; loaded into registers on
    /// entry and stored on exit). Per block of 8: 2 row loads, 2 mean loads, G loads of Q and
    /// 2·G + 2 fused multiply-adds.
    ///
    /// # Safety
    /// The CPU must support AVX-512F. All four row slices have the same length, a multiple of
    /// 8; `qblock` holds at least `G * len` values; `acc` holds `fused_acc_len(G)`.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn centre_project_block<const G: usize, T: Widen>(
        [x0, x1]: [&[T]; 2],
        [mu0, mu1]: [&[f64]; 2],
        qblock: &[f64],
        acc: &mut [f64],
        ahead: [*const T; 2],
        fresh: bool,
    ) {
        let len = mu0.len();
        assert!(len.is_multiple_of(8) && x0.len() == len && x1.len() == len && mu1.len() == len);
        assert!(qblock.len() >= G * len && acc.len() >= fused_acc_len(G));
        let pa = acc.as_mut_ptr();
        let (pq, px0, px1, pm0, pm1) = (
            qblock.as_ptr(),
            x0.as_ptr(),
            x1.as_ptr(),
            mu0.as_ptr(),
            mu1.as_ptr(),
        );
        // SAFETY: the assertions above bound every offset: acc (2G + 2) · 8 values, rows
        // `len`, Q `G * len`.
        unsafe {
            // A fresh tile starts from zero (the accumulators in `acc` are not read).
            let load = |at: usize| {
                if fresh {
                    _mm512_setzero_pd()
                } else {
                    _mm512_loadu_pd(pa.add(at * 8))
                }
            };
            let mut acc0: [__m512d; G] = std::array::from_fn(&load);
            let mut acc1: [__m512d; G] = std::array::from_fn(|g| load(G + g));
            let mut ss0 = load(2 * G);
            let mut ss1 = load(2 * G + 1);
            // One prefetch per cache line of the rows of the next tile (a hint: never faults,
            // so the address need not be dereferenceable).
            let per_line = (64 / (8 * size_of::<T>())).max(1);
            for b in 0..len / 8 {
                let at = b * 8;
                if b % per_line == 0 {
                    for next in ahead {
                        if !next.is_null() {
                            _mm_prefetch::<_MM_HINT_T1>(next.wrapping_add(at).cast::<i8>());
                        }
                    }
                }
                let za = _mm512_sub_pd(T::load8(px0.add(at)), _mm512_loadu_pd(pm0.add(at)));
                let zb = _mm512_sub_pd(T::load8(px1.add(at)), _mm512_loadu_pd(pm1.add(at)));
                ss0 = _mm512_fmadd_pd(za, za, ss0);
                ss1 = _mm512_fmadd_pd(zb, zb, ss1);
                let qb = pq.add(at * G);
                for g in 0..G {
                    let qv = _mm512_loadu_pd(qb.add(g * 8));
                    acc0[g] = _mm512_fmadd_pd(za, qv, acc0[g]);
                    acc1[g] = _mm512_fmadd_pd(zb, qv, acc1[g]);
                }
            }
            for g in 0..G {
                _mm512_storeu_pd(pa.add(g * 8), acc0[g]);
                _mm512_storeu_pd(pa.add((G + g) * 8), acc1[g]);
            }
            _mm512_storeu_pd(pa.add(2 * G * 8), ss0);
            _mm512_storeu_pd(pa.add((2 * G + 1) * 8), ss1);
        }
    }
}

/// Width of a row of the padded scatter of [`PackedBasis::centre_project_rows`] (two AVX-512
/// registers: r ≤ 12 ≤ 16).
pub(crate) const SCATTER_WIDTH: usize = 16;

/// Pads a length to a multiple of [`BLOCK`].
pub(crate) fn padded_len(p: usize) -> usize {
    p.div_ceil(BLOCK) * BLOCK
}

/// Column groups `(first column, size)` with sizes at most `max`: $\lceil r/\max\rceil$ groups
/// of sizes as equal as possible (r = 9, max = 4 gives 3+3+3 rather than 4+4+1).
pub(crate) fn column_groups(r: usize, max: usize) -> Vec<(usize, usize)> {
    let count = r.div_ceil(max);
    let mut out = Vec::with_capacity(count);
    let mut c0 = 0;
    for i in 0..count {
        let size = (r - c0).div_ceil(count - i);
        out.push((c0, size));
        c0 += size;
    }
    out
}

/// The between-class basis Q (p×r) packed for the projection kernel of one [`Isa`]: per
/// column group the values are laid out as `[block of 8 rows of Q][column in group][lane]`,
/// zero-padded to [`padded_len`] rows, so each kernel step reads one contiguous run.
pub(crate) struct PackedBasis {
    isa: Isa,
    data: Vec<f64>,
    groups: Vec<(usize, usize)>,
    padded: usize,
}

impl PackedBasis {
    /// Packs `q` for `isa`.
    pub(crate) fn new(q: faer::MatRef<'_, f64>, isa: Isa) -> PackedBasis {
        let (p, r) = (q.nrows(), q.ncols());
        let padded = padded_len(p);
        let groups = column_groups(r, isa.max_group());
        let mut data = Vec::with_capacity(padded * r);
        for &(c0, g) in &groups {
            for block in 0..padded / BLOCK {
                for gg in 0..g {
                    for l in 0..BLOCK {
                        let j = block * BLOCK + l;
                        data.push(if j < p { q[(j, c0 + gg)] } else { 0.0 });
                    }
                }
            }
        }
        PackedBasis {
            isa,
            data,
            groups,
            padded,
        }
    }

    /// Length the rows given to [`PackedBasis::project`] must have (zero-padded).
    pub(crate) fn padded_len(&self) -> usize {
        self.padded
    }

    /// Whether [`PackedBasis::centre_project_rows`] is available (AVX-512 with all r ≤ 12
    /// columns in one group).
    pub(crate) fn can_fuse(&self) -> bool {
        self.isa == Isa::Avx512 && self.groups.len() == 1
    }

    /// Fused centring and projection of up to [`FUSED_TILE`] raw rows (unpadded, length p, all
    /// of one element type): with $z_t = x_t - \mu_t$ widened to f64 in registers, adds
    /// $\|z_t\|^2$ to `sum_squares` and $(Q^\top z_t)(Q^\top z_t)^\top$ to `scatter` (r rows of
    /// [`SCATTER_WIDTH`] values; entry (a, b) at `a * SCATTER_WIDTH + b`), rows in order.
    ///
    /// Rows are taken in pairs (a lone last row is paired with itself and counted once) and the
    /// columns in blocks of [`FUSED_COLS`], so the block of Q in use (at most 12 × 256 f64 =
    /// 24 KiB) stays in L1 for the whole tile instead of being streamed from L2 for every pair.
    /// `ahead` are the rows of the next tile: their cache lines are prefetched, one per line of
    /// this tile read, so they arrive while this tile is computed. `scratch` is reused between
    /// calls. Panics unless [`PackedBasis::can_fuse`].
    pub(crate) fn centre_project_rows<T: Scalar>(
        &self,
        rows: &[&[T]],
        means: &[&[f64]],
        ahead: &[&[T]],
        scatter: &mut [f64],
        sum_squares: &mut f64,
        scratch: &mut Vec<f64>,
    ) {
        assert!(
            self.can_fuse(),
            "fused kernel needs AVX-512 and one column group"
        );
        assert!(rows.len() == means.len() && rows.len() <= FUSED_TILE && !rows.is_empty());
        let g = self.groups[0].1;
        let p = means[0].len();
        let pairs = rows.len().div_ceil(2);
        let width = fused_acc_len(g);
        // Not zeroed: the first block of the tile starts its accumulators from zero.
        scratch.resize(pairs * width, 0.0);
        let pair = |i: usize| (2 * i, (2 * i + 1).min(rows.len() - 1));
        let full = p / BLOCK * BLOCK;
        let mut fresh = true;
        for c0 in (0..full).step_by(FUSED_COLS) {
            let c1 = (c0 + FUSED_COLS).min(full);
            let qblock = &self.data[c0 * g..c1 * g];
            for (i, acc) in scratch.chunks_exact_mut(width).take(pairs).enumerate() {
                let (a, b) = pair(i);
                let next = |t: usize| ahead.get(t).map(|r| T::slice_kind(&r[c0..c1]));
                self.fused_block(
                    g,
                    [
                        T::slice_kind(&rows[a][c0..c1]),
                        T::slice_kind(&rows[b][c0..c1]),
                    ],
                    [&means[a][c0..c1], &means[b][c0..c1]],
                    qblock,
                    acc,
                    [next(2 * i), next(2 * i + 1)],
                    fresh,
                );
            }
            fresh = false;
        }
        if full < p {
            // The last, partial block: widened and zero-padded copies (z = 0 in the padding).
            let qblock = &self.data[full * g..(full + BLOCK) * g];
            for (i, acc) in scratch.chunks_exact_mut(width).take(pairs).enumerate() {
                let (a, b) = pair(i);
                let mut tails = [[0.0f64; BLOCK]; 4];
                for j in full..p {
                    tails[0][j - full] = rows[a][j].to_f64();
                    tails[1][j - full] = rows[b][j].to_f64();
                    tails[2][j - full] = means[a][j];
                    tails[3][j - full] = means[b][j];
                }
                let [x0, x1, m0, m1] = &tails;
                self.fused_block(
                    g,
                    [SliceKind::F64(x0), SliceKind::F64(x1)],
                    [m0, m1],
                    qblock,
                    acc,
                    [None, None],
                    fresh,
                );
            }
        }
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `can_fuse` implies AVX-512 on this CPU; `scratch` holds `pairs` blocks of
        // `fused_acc_len(g)`; the caller's `scatter` is checked inside.
        unsafe {
            simd::reduce_into_scatter(scratch, g, rows.len(), scatter, sum_squares)
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (scatter, sum_squares);
    }

    /// Runs [`simd::centre_project_block`] for `g` columns and the rows' element type.
    #[allow(clippy::too_many_arguments)]
    fn fused_block(
        &self,
        g: usize,
        [x0, x1]: [SliceKind<'_>; 2],
        [mu0, mu1]: [&[f64]; 2],
        qblock: &[f64],
        acc: &mut [f64],
        ahead: [Option<SliceKind<'_>>; 2],
        fresh: bool,
    ) {
        debug_assert_eq!(self.isa, Isa::Avx512);
        #[cfg(target_arch = "x86_64")]
        {
            macro_rules! with_g {
                ($t:ty, $v:ident, $a:expr, $b:expr; $($g:literal)+) => {
                    match g {
                        // SAFETY: `can_fuse` (asserted by the caller) implies AVX-512 on this
                        // CPU; the caller passes equal-length blocks of 8·m values, Q blocks of
                        // g·8·m values and accumulators of `fused_acc_len(g)`.
                        $($g => unsafe {
                            simd::centre_project_block::<$g, $t>(
                                [$a, $b], [mu0, mu1], qblock, acc, ahead.map(|r| match r {
                                    Some(SliceKind::$v(s)) => s.as_ptr(),
                                    _ => std::ptr::null(),
                                }),
                                fresh,
                            )
                        },)+
                        _ => unreachable!("column group larger than the kernel's maximum"),
                    }
                };
            }
            match (x0, x1) {
                (SliceKind::F32(a), SliceKind::F32(b)) => {
                    with_g!(f32, F32, a, b; 1 2 3 4 5 6 7 8 9 10 11 12)
                }
                (SliceKind::F64(a), SliceKind::F64(b)) => {
                    with_g!(f64, F64, a, b; 1 2 3 4 5 6 7 8 9 10 11 12)
                }
                _ => unreachable!("both rows come from one matrix"),
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (g, x0, x1, mu0, mu1, qblock, acc, ahead, fresh);
            unreachable!("AVX-512 is x86-64 only");
        }
    }

    /// Projections `proj[c][t] = z_t · q_c` of [`TILE_ROWS`] rows, each of length
    /// [`PackedBasis::padded_len`] with zero padding, on all r columns.
    pub(crate) fn project(&self, z: [&[f64]; TILE_ROWS], proj: &mut [[f64; TILE_ROWS]]) {
        let pp = self.padded;
        let (z0, z1) = (&z[0][..pp], &z[1][..pp]);
        let mut out = [[0.0f64; 12]; TILE_ROWS];
        for &(c0, g) in &self.groups {
            let block = &self.data[c0 * pp..(c0 + g) * pp];
            dispatch_group(self.isa, g, z0, z1, block, &mut out);
            for gg in 0..g {
                for t in 0..TILE_ROWS {
                    proj[c0 + gg][t] = out[t][gg];
                }
            }
        }
    }
}

/// Runs the kernel of `isa` for a group of `g` columns.
#[inline(always)]
fn dispatch_group(
    isa: Isa,
    g: usize,
    z0: &[f64],
    z1: &[f64],
    qpack: &[f64],
    out: &mut [[f64; 12]; TILE_ROWS],
) {
    macro_rules! with_g {
        ($f:ident, $($g:literal)+) => {
            match g {
                $($g => $f::<$g>(z0, z1, qpack, out),)+
                _ => unreachable!("column group larger than the kernel's maximum"),
            }
        };
    }
    match isa {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `isa` comes from `Isa::detect`; slice lengths are checked inside.
        Isa::Avx512 => unsafe { with_g!(dot_group_avx512, 1 2 3 4 5 6 7 8 9 10 11 12) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Isa::Avx2 => unsafe { with_g!(dot_group_avx2, 1 2 3 4) },
        _ => with_g!(dot_group_portable, 1 2 3 4),
    }
}

/// Portable kernel: `out[t][g] = z_t · q_g` for the two rows and `G` packed columns.
#[inline(always)]
fn dot_group_portable<const G: usize>(
    z0: &[f64],
    z1: &[f64],
    qpack: &[f64],
    out: &mut [[f64; 12]; TILE_ROWS],
) {
    let mut acc0 = [[0.0f64; BLOCK]; G];
    let mut acc1 = [[0.0f64; BLOCK]; G];
    let blocks = z0
        .chunks_exact(BLOCK)
        .zip(z1.chunks_exact(BLOCK))
        .zip(qpack.chunks_exact(BLOCK * G));
    for ((a, b), qc) in blocks {
        for g in 0..G {
            for l in 0..BLOCK {
                let qv = qc[g * BLOCK + l];
                acc0[g][l] += a[l] * qv;
                acc1[g][l] += b[l] * qv;
            }
        }
    }
    let hsum = |v: &[f64; BLOCK]| ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
    for g in 0..G {
        out[0][g] = hsum(&acc0[g]);
        out[1][g] = hsum(&acc1[g]);
    }
}

/// AVX2+FMA kernel with the contract of [`dot_group_portable`]: 2·G accumulators of four f64
/// stay in registers; each 8-lane block is handled as two halves.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_group_avx2<const G: usize>(
    z0: &[f64],
    z1: &[f64],
    qpack: &[f64],
    out: &mut [[f64; 12]; TILE_ROWS],
) {
    use std::arch::x86_64::*;
    let blocks = z0.len() / BLOCK;
    assert!(z1.len() >= blocks * BLOCK && qpack.len() >= blocks * BLOCK * G);
    let mut acc0 = [_mm256_setzero_pd(); G];
    let mut acc1 = [_mm256_setzero_pd(); G];
    let (pz0, pz1, pq) = (z0.as_ptr(), z1.as_ptr(), qpack.as_ptr());
    for b in 0..blocks {
        for half in 0..2 {
            let off = b * BLOCK + half * 4;
            // SAFETY: off + 3 < blocks * BLOCK <= z0.len(), z1.len(); the Q offsets are below
            // blocks * BLOCK * G <= qpack.len() (assertion above).
            unsafe {
                let za = _mm256_loadu_pd(pz0.add(off));
                let zb = _mm256_loadu_pd(pz1.add(off));
                for g in 0..G {
                    let qv = _mm256_loadu_pd(pq.add((b * G + g) * BLOCK + half * 4));
                    acc0[g] = _mm256_fmadd_pd(za, qv, acc0[g]);
                    acc1[g] = _mm256_fmadd_pd(zb, qv, acc1[g]);
                }
            }
        }
    }
    let hsum = |v: __m256d| {
        let mut lanes = [0.0f64; 4];
        // SAFETY: `lanes` holds four f64.
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), v) };
        (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
    };
    for g in 0..G {
        out[0][g] = hsum(acc0[g]);
        out[1][g] = hsum(acc1[g]);
    }
}

/// AVX-512F kernel with the contract of [`dot_group_portable`]: 2·G accumulators of eight f64
/// (up to 24 of the 32 registers) stay in registers; per block, 2 loads of z and G of Q feed
/// 2·G fused multiply-adds.
///
/// # Safety
/// The CPU must support AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn dot_group_avx512<const G: usize>(
    z0: &[f64],
    z1: &[f64],
    qpack: &[f64],
    out: &mut [[f64; 12]; TILE_ROWS],
) {
    use std::arch::x86_64::*;
    let blocks = z0.len() / BLOCK;
    assert!(z1.len() >= blocks * BLOCK && qpack.len() >= blocks * BLOCK * G);
    let mut acc0 = [_mm512_setzero_pd(); G];
    let mut acc1 = [_mm512_setzero_pd(); G];
    let (pz0, pz1, pq) = (z0.as_ptr(), z1.as_ptr(), qpack.as_ptr());
    for b in 0..blocks {
        // SAFETY: b * 8 + 7 < z0.len(), z1.len(); (b * G + g) * 8 + 7 < qpack.len() (assertion
        // above).
        unsafe {
            let za = _mm512_loadu_pd(pz0.add(b * BLOCK));
            let zb = _mm512_loadu_pd(pz1.add(b * BLOCK));
            for g in 0..G {
                let qv = _mm512_loadu_pd(pq.add((b * G + g) * BLOCK));
                acc0[g] = _mm512_fmadd_pd(za, qv, acc0[g]);
                acc1[g] = _mm512_fmadd_pd(zb, qv, acc1[g]);
            }
        }
    }
    let hsum = |v: __m512d| {
        let mut l = [0.0f64; BLOCK];
        // SAFETY: `l` holds eight f64.
        unsafe { _mm512_storeu_pd(l.as_mut_ptr(), v) };
        ((l[0] + l[1]) + (l[2] + l[3])) + ((l[4] + l[5]) + (l[6] + l[7]))
    };
    for g in 0..G {
        out[0][g] = hsum(acc0[g]);
        out[1][g] = hsum(acc1[g]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_balanced_and_cover() {
        assert_eq!(column_groups(9, 4), vec![(0, 3), (3, 3), (6, 3)]);
        assert_eq!(column_groups(9, 12), vec![(0, 9)]);
        assert_eq!(column_groups(4, 4), vec![(0, 4)]);
        assert_eq!(column_groups(5, 4), vec![(0, 3), (3, 2)]);
        assert_eq!(column_groups(25, 12), vec![(0, 9), (9, 8), (17, 8)]);
        assert!(column_groups(0, 4).is_empty());
    }

    #[test]
    fn projection_kernels_match_naive_dot_products() {
        for isa in Isa::available() {
            for &(p, r) in &[
                (1usize, 1usize),
                (7, 5),
                (33, 9),
                (64, 4),
                (40, 13),
                (100, 30),
            ] {
                let q = faer::Mat::from_fn(p, r, |j, c| ((j * 7 + c * 3) % 11) as f64 - 5.0);
                let packed = PackedBasis::new(q.as_ref(), isa);
                let pp = packed.padded_len();
                assert_eq!(pp % BLOCK, 0);
                let mut z = vec![0.0; 2 * pp];
                for j in 0..p {
                    z[j] = (j as f64).sin();
                    z[pp + j] = (j as f64 * 0.3).cos();
                }
                let mut proj = vec![[0.0; TILE_ROWS]; r];
                packed.project([&z[..pp], &z[pp..]], &mut proj);
                for c in 0..r {
                    for t in 0..2 {
                        let want: f64 = (0..p).map(|j| z[t * pp + j] * q[(j, c)]).sum();
                        assert!(
                            (proj[c][t] - want).abs() <= 1e-12 * (1.0 + want.abs()),
                            "{isa:?} p={p} r={r} c={c} t={t}: {} vs {want}",
                            proj[c][t]
                        );
                    }
                }
            }
        }
    }
}
