//! Hot loops of the two passes. Each is compiled for the baseline target and, on x86-64, with
//! AVX2+FMA enabled (chosen at run time, once per call). All variants accumulate in f64;
//! they differ only in rounding (fused versus separate multiply-add).

use crate::scalar::Scalar;

/// Lanes per accumulator of the elementwise kernels.
const LANES: usize = 8;
/// Rows processed together by the projection kernel (they share the loads of Q).
pub(crate) const TILE_ROWS: usize = 2;
/// Most columns of Q processed together by the projection kernel.
const GROUP: usize = 4;
/// Lanes per accumulator of the projection kernel (one AVX2 register of f64).
const DOT_LANES: usize = 4;

#[inline(always)]
fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// `dst[j] += src[j]` with `src` widened to f64.
#[inline(always)]
fn add_row_body<T: Scalar>(dst: &mut [f64], src: &[T]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s.to_f64();
    }
}

/// `dst = src - mu` (widened); returns $\|dst\|^2$.
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
    acc.iter().sum::<f64>() + tail
}

/// Pads a length to a multiple of the projection kernel's lane count.
pub(crate) fn padded_len(p: usize) -> usize {
    p.div_ceil(DOT_LANES) * DOT_LANES
}

/// Column groups `(first column, size)` of the projection kernel: $\lceil r/4\rceil$ groups of
/// sizes as equal as possible (r = 9 gives 3+3+3 rather than 4+4+1).
pub(crate) fn column_groups(r: usize) -> Vec<(usize, usize)> {
    let count = r.div_ceil(GROUP);
    let mut out = Vec::with_capacity(count);
    let mut c0 = 0;
    for i in 0..count {
        let size = (r - c0).div_ceil(count - i);
        out.push((c0, size));
        c0 += size;
    }
    out
}

/// Packs Q (p×r) for [`project_tile`]: per column group (see [`column_groups`]) the values
/// are laid out as `[lane block][column in group][lane]`, zero-padded to [`padded_len`] rows.
pub(crate) fn pack_basis(q: faer::MatRef<'_, f64>) -> Vec<f64> {
    let (p, r) = (q.nrows(), q.ncols());
    let pp = padded_len(p);
    let mut out = Vec::with_capacity(pp * r);
    for (c0, g) in column_groups(r) {
        for block in 0..pp / DOT_LANES {
            for gg in 0..g {
                for l in 0..DOT_LANES {
                    let j = block * DOT_LANES + l;
                    out.push(if j < p { q[(j, c0 + gg)] } else { 0.0 });
                }
            }
        }
    }
    out
}

/// Portable kernel: `out[t][g] = z_t · q_g` for the two rows and `G` packed columns.
#[inline(always)]
fn dot_group_portable<const G: usize>(
    z0: &[f64],
    z1: &[f64],
    qpack: &[f64],
    out: &mut [[f64; GROUP]; TILE_ROWS],
) {
    let mut acc0 = [[0.0f64; DOT_LANES]; G];
    let mut acc1 = [[0.0f64; DOT_LANES]; G];
    let blocks = z0
        .chunks_exact(DOT_LANES)
        .zip(z1.chunks_exact(DOT_LANES))
        .zip(qpack.chunks_exact(DOT_LANES * G));
    for ((a, b), qc) in blocks {
        for g in 0..G {
            for l in 0..DOT_LANES {
                let qv = qc[g * DOT_LANES + l];
                acc0[g][l] += a[l] * qv;
                acc1[g][l] += b[l] * qv;
            }
        }
    }
    for g in 0..G {
        out[0][g] = (acc0[g][0] + acc0[g][1]) + (acc0[g][2] + acc0[g][3]);
        out[1][g] = (acc1[g][0] + acc1[g][1]) + (acc1[g][2] + acc1[g][3]);
    }
}

/// AVX2+FMA kernel with the contract of [`dot_group_portable`]: 2·G accumulators of four f64
/// stay in registers; per lane block, 2 loads of z and G of Q feed 2·G fused multiply-adds.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `z0`, `z1` must have equal lengths, a multiple of 4, and
/// `qpack` must hold at least `G * z0.len()` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_group_avx2<const G: usize>(
    z0: &[f64],
    z1: &[f64],
    qpack: &[f64],
    out: &mut [[f64; GROUP]; TILE_ROWS],
) {
    use std::arch::x86_64::*;
    let blocks = z0.len() / DOT_LANES;
    assert!(z1.len() >= blocks * DOT_LANES && qpack.len() >= blocks * DOT_LANES * G);
    let mut acc0 = [_mm256_setzero_pd(); G];
    let mut acc1 = [_mm256_setzero_pd(); G];
    let (pz0, pz1, pq) = (z0.as_ptr(), z1.as_ptr(), qpack.as_ptr());
    for b in 0..blocks {
        // SAFETY: b * 4 + 3 < z0.len() and z1.len(), (b * G + g) * 4 + 3 < qpack.len(), by the
        // assertion above.
        unsafe {
            let za = _mm256_loadu_pd(pz0.add(b * DOT_LANES));
            let zb = _mm256_loadu_pd(pz1.add(b * DOT_LANES));
            for g in 0..G {
                let qv = _mm256_loadu_pd(pq.add((b * G + g) * DOT_LANES));
                acc0[g] = _mm256_fmadd_pd(za, qv, acc0[g]);
                acc1[g] = _mm256_fmadd_pd(zb, qv, acc1[g]);
            }
        }
    }
    let hsum = |v: __m256d| {
        let mut lanes = [0.0f64; DOT_LANES];
        // SAFETY: `lanes` holds four f64.
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr(), v) };
        (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
    };
    for g in 0..G {
        out[0][g] = hsum(acc0[g]);
        out[1][g] = hsum(acc1[g]);
    }
}

/// Projections `proj[c][t] = z_t · q_c` for all `r` packed columns (see [`pack_basis`]).
#[inline(always)]
fn project_tile_body<const AVX2: bool>(
    z: [&[f64]; TILE_ROWS],
    qpack: &[f64],
    pp: usize,
    r: usize,
    proj: &mut [[f64; TILE_ROWS]],
) {
    let mut out = [[0.0f64; GROUP]; TILE_ROWS];
    let (z0, z1) = (&z[0][..pp], &z[1][..pp]);
    for (c0, g) in column_groups(r) {
        let block = &qpack[c0 * pp..(c0 + g) * pp];
        macro_rules! run {
            ($g:literal) => {{
                #[cfg(target_arch = "x86_64")]
                if AVX2 {
                    // SAFETY: AVX2 and FMA were detected by `project_tile`; the slices have
                    // lengths pp, pp (a multiple of 4) and g * pp.
                    unsafe { dot_group_avx2::<$g>(z0, z1, block, &mut out) }
                } else {
                    dot_group_portable::<$g>(z0, z1, block, &mut out)
                }
                #[cfg(not(target_arch = "x86_64"))]
                dot_group_portable::<$g>(z0, z1, block, &mut out)
            }};
        }
        match g {
            4 => run!(4),
            3 => run!(3),
            2 => run!(2),
            _ => run!(1),
        }
        for gg in 0..g {
            for t in 0..TILE_ROWS {
                proj[c0 + gg][t] = out[t][gg];
            }
        }
    }
}

/// Whether the AVX2+FMA variants can run on this CPU.
#[inline]
fn has_avx2_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Adds `src` (widened to f64) into `dst`.
pub(crate) fn add_row<T: Scalar>(dst: &mut [f64], src: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx<T: Scalar>(dst: &mut [f64], src: &[T]) {
            add_row_body(dst, src)
        }
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA.
            return unsafe { avx(dst, src) };
        }
    }
    add_row_body(dst, src)
}

/// Writes `src - mu` (widened) into `dst` and returns its squared norm.
pub(crate) fn centre_row<T: Scalar>(src: &[T], mu: &[f64], dst: &mut [f64]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx<T: Scalar>(src: &[T], mu: &[f64], dst: &mut [f64]) -> f64 {
            centre_row_body::<T, true>(src, mu, dst)
        }
        if has_avx2_fma() {
            // SAFETY: the CPU supports AVX2 and FMA.
            return unsafe { avx(src, mu, dst) };
        }
    }
    centre_row_body::<T, false>(src, mu, dst)
}

/// Projects `TILE_ROWS` centred rows (each zero-padded to `pp` = [`padded_len`]) on the `r`
/// columns of Q packed by [`pack_basis`]: `proj[c][t] = z_t · q_c`.
pub(crate) fn project_tile(
    z: [&[f64]; TILE_ROWS],
    qpack: &[f64],
    pp: usize,
    r: usize,
    proj: &mut [[f64; TILE_ROWS]],
) {
    if has_avx2_fma() {
        project_tile_body::<true>(z, qpack, pp, r, proj)
    } else {
        project_tile_body::<false>(z, qpack, pp, r, proj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_balanced_and_cover() {
        assert_eq!(column_groups(9), vec![(0, 3), (3, 3), (6, 3)]);
        assert_eq!(column_groups(4), vec![(0, 4)]);
        assert_eq!(column_groups(5), vec![(0, 3), (3, 2)]);
        assert!(column_groups(0).is_empty());
    }

    #[test]
    fn projection_kernel_matches_naive_dot_products() {
        for &(p, r) in &[(1usize, 1usize), (7, 5), (33, 9), (64, 4)] {
            let q = faer::Mat::from_fn(p, r, |j, c| ((j * 7 + c * 3) % 11) as f64 - 5.0);
            let pp = padded_len(p);
            let mut z = vec![0.0; 2 * pp];
            for j in 0..p {
                z[j] = (j as f64).sin();
                z[pp + j] = (j as f64 * 0.3).cos();
            }
            let mut proj = vec![[0.0; TILE_ROWS]; r];
            project_tile(
                [&z[..pp], &z[pp..]],
                &pack_basis(q.as_ref()),
                pp,
                r,
                &mut proj,
            );
            for c in 0..r {
                for t in 0..2 {
                    let want: f64 = (0..p).map(|j| z[t * pp + j] * q[(j, c)]).sum();
                    assert!((proj[c][t] - want).abs() <= 1e-12 * (1.0 + want.abs()));
                }
            }
        }
    }
}
