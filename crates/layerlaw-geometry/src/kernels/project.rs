//! Pass-2 kernel: tiles of rows centred and projected on the packed between-class basis in
//! one pass, written once over [`Simd`].
//!
//! For a tile of up to [`TILE`] rows and each block of up to [`COLS`] columns, every pair of
//! rows is run against every column group of Q (at most [`Simd::MAX_GROUP`] columns): with
//! $z = x - \mu$ formed in registers (f32 widened on load), the 2·G projection accumulators
//! and the two squared-norm accumulators live in registers for the whole block; per vector
//! of lanes that is 2 row loads, 2 mean loads, G loads of Q and 2·G (+2) multiply-adds.
//! The next tile's rows are prefetched, one prefetch per cache line read. At the end of the
//! tile each row's lane accumulators are reduced to its r projections and the lower triangle
//! of their outer product is added to the scatter, a vector at a time.

use super::basis::PackedBasis;
use super::isa::{Kernel, Simd};
use crate::scalar::Scalar;

/// Rows per call of the kernel ([`PackedBasis::centre_project_rows`]).
pub(crate) const TILE: usize = 16;
/// Columns per block (a multiple of every level's lanes): the block of Q in use, at most
/// 12 × 256 f64 = 24 KiB, stays in L1 while the pairs of the tile run over it.
const COLS: usize = 256;
/// The most lanes of any level (AVX-512).
const MAX_LANES: usize = 8;

/// [`PackedBasis::centre_project_rows`] with its arguments checked.
pub(super) struct CentreProject<'a, T> {
    pub(super) basis: &'a PackedBasis,
    pub(super) rows: &'a [&'a [T]],
    pub(super) means: &'a [&'a [f64]],
    pub(super) ahead: &'a [&'a [T]],
    pub(super) scatter: &'a mut [f64],
    pub(super) sum_squares: &'a mut f64,
    /// Per row t: its r projections $Q^\top z_t$, then $\|z_t\|^2$, at `t * (r + 1)`.
    pub(super) rows_out: &'a mut [f64],
    pub(super) scratch: &'a mut Vec<f64>,
}

/// One call of [`block`]: two rows (`len` values from `x` and `mu`, a multiple of the lanes)
/// against one column group of Q (`q`: the group's packed values of those columns), adding
/// into the lane accumulators of the two rows (`acc`: G vectors each) and, for the first
/// group, of their squared norms (`norms`: two vectors).
struct Block<T> {
    x: [*const T; 2],
    mu: [*const f64; 2],
    len: usize,
    q: *const f64,
    acc: [*mut f64; 2],
    norms: *mut f64,
    ahead: [*const T; 2],
    fresh: bool,
}

impl<T: Scalar> Kernel for CentreProject<'_, T> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let CentreProject {
            basis,
            rows,
            means,
            ahead,
            scatter,
            sum_squares,
            rows_out,
            scratch,
        } = self;
        let (l, r, p, n) = (S::LANES, basis.r, basis.p, rows.len());
        assert!(
            l == basis.lanes && l <= MAX_LANES,
            "basis packed for another level"
        );
        // Per pair of rows: r accumulators for each row, then the two squared norms.
        let width = (2 * r + 2) * l;
        let sw = basis.scatter_width();
        let pairs = n.div_ceil(2);
        // Not zeroed: the first block of the tile starts its accumulators from zero.
        scratch.resize(pairs * width + sw, 0.0);
        let (acc, proj) = scratch.split_at_mut(pairs * width);
        let acc = acc.as_mut_ptr();
        // With no basis column, one empty group still accumulates the squared norms.
        let groups: &[(usize, usize)] = if basis.groups.is_empty() {
            &[(0, 0)]
        } else {
            &basis.groups
        };
        let pair = |i: usize| [2 * i, (2 * i + 1).min(n - 1)];
        // The packed columns `from..to` (whole blocks) of group `(q0, g)`.
        let packed = |q0: usize, g: usize, from: usize, to: usize| {
            basis.data[q0 * basis.padded + from * g..q0 * basis.padded + to * g].as_ptr()
        };
        let full = p / l * l;
        for c0 in (0..full).step_by(COLS) {
            let c1 = (c0 + COLS).min(full);
            for (gi, &(q0, g)) in groups.iter().enumerate() {
                let q = packed(q0, g, c0, c1);
                for i in 0..pairs {
                    let [a, b] = pair(i);
                    let next = |t: usize| match ahead.get(t) {
                        Some(x) if gi == 0 => x[c0..].as_ptr(),
                        _ => std::ptr::null(),
                    };
                    // SAFETY: rows and means have p values (checked by `centre_project_rows`)
                    // and c1 <= full <= p, so `c1 - c0` values from column c0 are readable;
                    // `q` holds g · (c1 - c0) values; pair i's accumulators (`width` values)
                    // lie in `scratch`, with the group's at offsets q0 · l and (r + q0) · l and
                    // the norms at 2r · l.
                    unsafe {
                        let base = acc.add(i * width);
                        group_block::<S, T>(
                            s,
                            g,
                            gi == 0,
                            Block {
                                x: [rows[a].as_ptr().add(c0), rows[b].as_ptr().add(c0)],
                                mu: [means[a].as_ptr().add(c0), means[b].as_ptr().add(c0)],
                                len: c1 - c0,
                                q,
                                acc: [base.add(q0 * l), base.add((r + q0) * l)],
                                norms: base.add(2 * r * l),
                                ahead: [next(2 * i), next(2 * i + 1)],
                                fresh: c0 == 0,
                            },
                        );
                    }
                }
            }
        }
        if full < p {
            // The last, partial block: widened and zero-padded copies (z = 0 in the padding).
            for (gi, &(q0, g)) in groups.iter().enumerate() {
                let q = packed(q0, g, full, full + l);
                for i in 0..pairs {
                    let [a, b] = pair(i);
                    let mut tails = [[0.0f64; MAX_LANES]; 4];
                    for j in full..p {
                        tails[0][j - full] = rows[a][j].to_f64();
                        tails[1][j - full] = rows[b][j].to_f64();
                        tails[2][j - full] = means[a][j];
                        tails[3][j - full] = means[b][j];
                    }
                    let [x0, x1, m0, m1] = &tails;
                    // SAFETY: the copies hold MAX_LANES >= l values; `q` holds g · l values;
                    // accumulators as above.
                    unsafe {
                        let base = acc.add(i * width);
                        group_block::<S, f64>(
                            s,
                            g,
                            gi == 0,
                            Block {
                                x: [x0.as_ptr(), x1.as_ptr()],
                                mu: [m0.as_ptr(), m1.as_ptr()],
                                len: l,
                                q,
                                acc: [base.add(q0 * l), base.add((r + q0) * l)],
                                norms: base.add(2 * r * l),
                                ahead: [std::ptr::null(); 2],
                                fresh: full == 0,
                            },
                        );
                    }
                }
            }
        }
        // Rows in order: reduce the lanes, then add the outer product's lower triangle.
        proj[r..].fill(0.0);
        for t in 0..n {
            // SAFETY: row t's accumulators are in pair t / 2 < pairs, all written above (each
            // column group's by its first block, the norms by the first group's);
            // `proj` holds sw values and is zero beyond r, so the vector at b0 <= a < r
            // (b0 a multiple of l, sw too) is inside it; scatter row a holds sw values
            // (`centre_project_rows` checks r · sw).
            unsafe {
                let base = acc.add((t / 2) * width);
                let side = t % 2;
                let out = &mut rows_out[t * (r + 1)..(t + 1) * (r + 1)];
                for (c, v) in proj.iter_mut().enumerate().take(r) {
                    *v = s.reduce_sum(s.load(base.add((side * r + c) * l)));
                    out[c] = *v;
                }
                let norm = s.reduce_sum(s.load(base.add((2 * r + side) * l)));
                out[r] = norm;
                *sum_squares += norm;
                let pp = proj.as_ptr();
                for a in 0..r {
                    let pa = s.splat(*pp.add(a));
                    let row = scatter.as_mut_ptr().add(a * sw);
                    for b0 in (0..=a).step_by(l) {
                        let at = row.add(b0);
                        s.store(at, s.mul_add(pa, s.load(pp.add(b0)), s.load(at)));
                    }
                }
            }
        }
    }
}

/// Runs [`block`] for a group of `g` columns, with the squared norms if `norms`.
///
/// # Safety
/// As [`block`]; `g` ≤ 12.
#[inline(always)]
unsafe fn group_block<S: Simd, T: Scalar>(s: S, g: usize, norms: bool, b: Block<T>) {
    macro_rules! arms {
        ($($g:literal)+) => {
            match (g, norms) {
                $(($g, true) => block::<S, T, $g, true>(s, b),
                ($g, false) => block::<S, T, $g, false>(s, b),)+
                _ => unreachable!("column group larger than any level's maximum"),
            }
        };
    }
    // SAFETY: forwarded from the caller.
    unsafe { arms!(0 1 2 3 4 5 6 7 8 9 10 11 12) }
}

/// The register-tiled inner loop: adds $z_t \cdot q_c$ lane by lane for the two rows and the G
/// columns of the group (and $z_t \odot z_t$ if `NORMS`) into the accumulators, which are
/// loaded into registers on entry (or start from zero if `fresh`) and stored on exit.
///
/// # Safety
/// `x` and `mu` point to `len` readable values each, `len` a multiple of [`Simd::LANES`]; `q`
/// to `G * len`; `acc` to G vectors each and `norms` (if `NORMS`) to two, all writable. `ahead`
/// is only prefetched (any address, or null for none).
#[inline(always)]
unsafe fn block<S: Simd, T: Scalar, const G: usize, const NORMS: bool>(s: S, b: Block<T>) {
    if G > S::MAX_GROUP {
        // Never packed for this level (see `Isa::max_group`); keeps the body out of the code.
        unreachable!("column group larger than the level's maximum");
    }
    let l = S::LANES;
    let Block {
        x: [x0, x1],
        mu: [m0, m1],
        len,
        q,
        acc: [acc0, acc1],
        norms,
        ahead,
        fresh,
    } = b;
    // SAFETY: every offset is bounded by the contract: accumulators G · l values per row and
    // 2 · l norms, rows and means `len`, Q `G * len`.
    unsafe {
        // Plain loops rather than `array::from_fn`, which is not always inlined into the
        // level's `#[target_feature]` function.
        let (mut p0, mut p1) = ([s.zero(); G], [s.zero(); G]);
        let (mut n0, mut n1) = (s.zero(), s.zero());
        if !fresh {
            for c in 0..G {
                p0[c] = s.load(acc0.add(c * l));
                p1[c] = s.load(acc1.add(c * l));
            }
            if NORMS {
                (n0, n1) = (s.load(norms), s.load(norms.add(l)));
            }
        }
        // One prefetch per cache line of the rows ahead.
        let per_line = (64 / (l * size_of::<T>())).max(1);
        for k in 0..len / l {
            let at = k * l;
            if k % per_line == 0 {
                for next in ahead {
                    if !next.is_null() {
                        s.prefetch(next.wrapping_add(at).cast::<u8>());
                    }
                }
            }
            let za = s.sub(T::load_lanes(s, x0.add(at)), s.load(m0.add(at)));
            let zb = s.sub(T::load_lanes(s, x1.add(at)), s.load(m1.add(at)));
            if NORMS {
                n0 = s.mul_add(za, za, n0);
                n1 = s.mul_add(zb, zb, n1);
            }
            let qk = q.add(at * G);
            for c in 0..G {
                let qv = s.load(qk.add(c * l));
                p0[c] = s.mul_add(za, qv, p0[c]);
                p1[c] = s.mul_add(zb, qv, p1[c]);
            }
        }
        for c in 0..G {
            s.store(acc0.add(c * l), p0[c]);
            s.store(acc1.add(c * l), p1[c]);
        }
        if NORMS {
            s.store(norms, n0);
            s.store(norms.add(l), n1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::Isa;

    /// Naive $\sum_t \|z_t\|^2$ and lower triangle of $\sum_t (Q^\top z_t)(Q^\top z_t)^\top$.
    fn naive(rows: &[Vec<f64>], means: &[Vec<f64>], q: &faer::Mat<f64>) -> (f64, Vec<f64>) {
        let (p, r) = (q.nrows(), q.ncols());
        let mut ss = 0.0;
        let mut scatter = vec![0.0; r * r];
        for (x, m) in rows.iter().zip(means) {
            let z: Vec<f64> = (0..p).map(|j| x[j] - m[j]).collect();
            ss += z.iter().map(|v| v * v).sum::<f64>();
            let pr: Vec<f64> = (0..r)
                .map(|c| (0..p).map(|j| z[j] * q[(j, c)]).sum())
                .collect();
            for a in 0..r {
                for b in 0..=a {
                    scatter[a * r + b] += pr[a] * pr[b];
                }
            }
        }
        (ss, scatter)
    }

    fn mu_rows(means: &[Vec<f64>], t: usize) -> Vec<Vec<f64>> {
        vec![means[t].clone()]
    }

    /// Every level matches the naive sums, for f32 and f64 rows, tiles of 1 to 16 rows (odd:
    /// a lone last row), p with and without a partial block and above one column block, and r
    /// from 1 to 30 (one or several column groups), over two calls accumulating into one
    /// scatter.
    #[test]
    fn kernel_matches_naive_sums_on_every_level() {
        for &(p, r, n) in &[
            (1usize, 1usize, 1usize),
            (7, 5, 3),
            (33, 9, 16),
            (64, 4, 2),
            (40, 13, 7),
            (100, 30, 5),
            (517, 9, 11),
            (600, 12, 4),
        ] {
            let q = faer::Mat::from_fn(p, r, |j, c| ((j * 7 + c * 3) % 11) as f64 * 0.1 - 0.5);
            let rows: Vec<Vec<f64>> = (0..2 * n)
                .map(|t| (0..p).map(|j| ((t * p + j) as f64 * 0.37).sin()).collect())
                .collect();
            let rows32: Vec<Vec<f32>> = rows
                .iter()
                .map(|x| x.iter().map(|&v| v as f32).collect())
                .collect();
            let rows_w: Vec<Vec<f64>> = rows32
                .iter()
                .map(|x| x.iter().map(|&v| f64::from(v)).collect())
                .collect();
            let means: Vec<Vec<f64>> = (0..2 * n)
                .map(|t| (0..p).map(|j| ((t % 3 + j) as f64 * 0.11).cos()).collect())
                .collect();
            let (want_ss, want) = naive(&rows, &means, &q);
            let (want_ss32, want32) = naive(&rows_w, &means, &q);
            let mu: Vec<&[f64]> = means.iter().map(|m| m.as_slice()).collect();
            for isa in Isa::available() {
                let packed = PackedBasis::new(q.as_ref(), isa);
                let sw = packed.scatter_width();
                let check = |ss: f64, scatter: &[f64], want_ss: f64, want: &[f64], ty: &str| {
                    let tol = 1e-12 * (1.0 + want_ss);
                    assert!((ss - want_ss).abs() <= tol, "{isa} {ty} p={p} r={r} n={n}");
                    for a in 0..r {
                        for b in 0..=a {
                            let (g, w) = (scatter[a * sw + b], want[a * r + b]);
                            assert!(
                                (g - w).abs() <= tol,
                                "{isa} {ty} p={p} r={r} n={n} ({a},{b}): {g} vs {w}"
                            );
                        }
                    }
                };
                let mut scratch = Vec::new();
                let mut out = vec![0.0; n * (r + 1)];
                let (mut ss, mut scatter) = (0.0, vec![0.0; r * sw]);
                let xs: Vec<&[f64]> = rows.iter().map(|x| x.as_slice()).collect();
                for half in [0, n] {
                    let ahead = &xs[n - half..][..n];
                    let (x, m) = (&xs[half..half + n], &mu[half..half + n]);
                    packed.centre_project_rows(
                        x,
                        m,
                        ahead,
                        &mut scatter,
                        &mut ss,
                        &mut out,
                        &mut scratch,
                    );
                    // Each row's projections and squared norm, as the naive sums of that row.
                    for t in 0..n {
                        let (one_ss, one) =
                            naive(&rows[half + t..][..1], &mu_rows(&means, half + t), &q);
                        let got = &out[t * (r + 1)..(t + 1) * (r + 1)];
                        assert!((got[r] - one_ss).abs() <= 1e-12 * (1.0 + one_ss), "{isa}");
                        for a in 0..r {
                            let want_sq = one[a * r + a];
                            assert!(
                                (got[a] * got[a] - want_sq).abs() <= 1e-10 * (1.0 + want_sq),
                                "{isa} row {t} col {a}"
                            );
                        }
                    }
                }
                check(ss, &scatter, want_ss, &want, "f64");
                let (mut ss, mut scatter) = (0.0, vec![0.0; r * sw]);
                let xs: Vec<&[f32]> = rows32.iter().map(|x| x.as_slice()).collect();
                for half in [0, n] {
                    let (x, m) = (&xs[half..half + n], &mu[half..half + n]);
                    packed.centre_project_rows(
                        x,
                        m,
                        &[],
                        &mut scatter,
                        &mut ss,
                        &mut out,
                        &mut scratch,
                    );
                }
                check(ss, &scatter, want_ss32, &want32, "f32");
            }
        }
    }
}
