//! Inputs shared by `cnn_reference_torch.rs` and `gpu.rs`: parameters and a batch of images built
//! from formulas that the PyTorch script in `cnn_reference_torch.rs` computes too (no fixture file).
//! Included with `#[path]`, so each test binary compiles only this file.

/// Images in the batch.
pub const B: usize = 16;

/// The top 24 bits of splitmix64 of `t·2³² + j`, as a number in [−0.5, 0.5).
pub fn u(t: usize, j: usize) -> f64 {
    let mut z = ((t as u64) << 32 | j as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 40) as f64 / 16_777_216.0 - 0.5
}

/// Parameter `j` of tensor `t` with PyTorch shape `shape` (the script's `value`).
pub fn value(t: usize, shape: &[usize], j: usize) -> f32 {
    if shape.len() >= 2 {
        let fan_in: usize = shape[1..].iter().product();
        (2.0 * u(t, j) / (fan_in as f64).sqrt()) as f32
    } else {
        (0.2 + 0.2 * u(t, j)) as f32
    }
}

/// The batch: pixel `(i, r, c)` and labels `3i mod 10` (the script's `X`, `Y`).
pub fn batch() -> (Vec<f32>, Vec<usize>) {
    let mut x = Vec::with_capacity(B * 1024);
    for i in 0..B {
        for r in 0..32 {
            for c in 0..32 {
                let (fi, fr, fc) = (i as f64, r as f64, c as f64);
                let v = (0.11 * fr + 0.23 * fc + 0.7 * fi).sin()
                    + 0.3 * (0.05 * (r * c) as f64 + fi).cos();
                x.push(v as f32);
            }
        }
    }
    (x, (0..B).map(|i| (3 * i) % 10).collect())
}
