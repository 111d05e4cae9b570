//! Shared deterministic data generators for the integration tests.
#![allow(dead_code)]

use faer::{Mat, MatRef};
use layerlaw_geometry::Labels;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A standard normal draw (Box–Muller).
pub fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(1e-300);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Features `x = 2 * mu_y + noise` with random class means, labels with the given class sizes
/// (shuffled). Returns an n×p matrix and the labels.
pub fn clustered(counts: &[usize], p: usize, seed: u64) -> (Mat<f64>, Labels) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let k = counts.len();
    let mut y: Vec<usize> = counts
        .iter()
        .enumerate()
        .flat_map(|(c, &m)| std::iter::repeat_n(c, m))
        .collect();
    for i in (1..y.len()).rev() {
        let j = rng.random_range(0..=i);
        y.swap(i, j);
    }
    let means = Mat::from_fn(k, p, |_, _| 0.0);
    let means = Mat::from_fn(k, p, |c, j| means[(c, j)] + 2.0 * normal(&mut rng));
    let x = Mat::from_fn(y.len(), p, |i, j| means[(y[i], j)] + normal(&mut rng));
    let raw: Vec<i64> = y.iter().map(|&v| v as i64).collect();
    (x, Labels::new(&raw, Some(k)).unwrap())
}

/// A random p×p orthogonal matrix (QR of a Gaussian matrix).
pub fn random_orthogonal(p: usize, seed: u64) -> Mat<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let g = Mat::from_fn(p, p, |_, _| normal(&mut rng));
    g.qr().compute_thin_Q()
}

/// Casts a matrix to f32.
pub fn to_f32(x: MatRef<'_, f64>) -> Mat<f32> {
    Mat::from_fn(x.nrows(), x.ncols(), |i, j| x[(i, j)] as f32)
}

/// Relative difference |a-b| / max(|a|,|b|,tiny).
pub fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1e-300)
}

/// Asserts `rel(a, b) <= tol` with a readable message.
#[track_caller]
pub fn assert_rel(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        rel(a, b) <= tol,
        "{what}: {a} vs {b} (rel {:e} > {tol:e})",
        rel(a, b)
    );
}

/// The simplex ETF in R^p (p >= K): K unit vectors with pairwise inner products -1/(K-1),
/// rows of sqrt(K/(K-1)) (I - 11^T/K) padded with zeros, then rotated by `rotation` (p×p).
pub fn simplex_etf(k: usize, p: usize, rotation: MatRef<'_, f64>) -> Mat<f64> {
    let s = (k as f64 / (k as f64 - 1.0)).sqrt();
    let base = Mat::from_fn(k, p, |a, j| {
        if j < k {
            s * (if a == j { 1.0 } else { 0.0 } - 1.0 / k as f64)
        } else {
            0.0
        }
    });
    base * rotation.transpose()
}
