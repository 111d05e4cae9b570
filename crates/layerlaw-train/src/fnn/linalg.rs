//! Row-major `f32` matrix products on top of the `gemm` crate (the kernels burn-flex uses).
//!
//! Each output element is accumulated by a single thread in a fixed order, so results are
//! bit-identical from run to run for a given thread count.

use gemm::{gemm, Parallelism};

/// Products below this many multiply-adds run single-threaded (thread hand-off costs more).
const PARALLEL_MIN_MACS: usize = 1 << 22;

fn parallelism(threads: usize, m: usize, n: usize, k: usize) -> Parallelism {
    if threads > 1 && m * n * k >= PARALLEL_MIN_MACS {
        Parallelism::Rayon(threads)
    } else {
        Parallelism::None
    }
}

/// $C = A W^\top$ with $A$ `m×k`, $W$ `n×k`, $C$ `m×n` (all row-major); a `Linear` forward without bias.
pub fn matmul_a_wt(
    c: &mut [f32],
    a: &[f32],
    w: &[f32],
    m: usize,
    k: usize,
    n: usize,
    threads: usize,
) {
    assert!(c.len() >= m * n && a.len() >= m * k && w.len() >= n * k);
    // SAFETY: the slices are large enough for the strides given (checked above), and `c` does not
    // alias `a` or `w` (distinct borrows).
    unsafe {
        gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            k as isize,
            w.as_ptr(),
            k as isize,
            1,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism(threads, m, n, k),
        );
    }
}

/// $C = D^\top A$ with $D$ `m×n`, $A$ `m×k`, $C$ `n×k`; the weight gradient of a `Linear` layer.
pub fn matmul_dt_a(
    c: &mut [f32],
    d: &[f32],
    a: &[f32],
    m: usize,
    n: usize,
    k: usize,
    threads: usize,
) {
    assert!(c.len() >= n * k && d.len() >= m * n && a.len() >= m * k);
    // SAFETY: as in `matmul_a_wt`.
    unsafe {
        gemm(
            n,
            k,
            m,
            c.as_mut_ptr(),
            1,
            k as isize,
            false,
            d.as_ptr(),
            n as isize,
            1,
            a.as_ptr(),
            1,
            k as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism(threads, m, n, k),
        );
    }
}

/// $C = D W$ with $D$ `m×n`, $W$ `n×k`, $C$ `m×k`; the input gradient of a `Linear` layer.
pub fn matmul_d_w(
    c: &mut [f32],
    d: &[f32],
    w: &[f32],
    m: usize,
    n: usize,
    k: usize,
    threads: usize,
) {
    assert!(c.len() >= m * k && d.len() >= m * n && w.len() >= n * k);
    // SAFETY: as in `matmul_a_wt`.
    unsafe {
        gemm(
            m,
            k,
            n,
            c.as_mut_ptr(),
            1,
            k as isize,
            false,
            d.as_ptr(),
            1,
            n as isize,
            w.as_ptr(),
            1,
            k as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism(threads, m, n, k),
        );
    }
}
