//! The grouped bootstrap of the law fit: deterministic for a seed, and as wide as the
//! sampling distribution it estimates (checked against independent datasets drawn from the
//! same model, a statistical test with fixed seeds).

mod common;

use common::normal;
use faer::Mat;
use layerlaw_geometry::{
    bootstrap_law, separation, BootstrapOptions, GeometryError, Labels, Separation,
    SeparationOptions,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const K: usize = 4;
const P: usize = 12;
const N: usize = 800;
const NOISE: [f64; 4] = [3.0, 2.0, 1.4, 1.0];

/// Three "layers" of one dataset: fixed class means plus Gaussian noise of decreasing size,
/// the same examples (one noise draw per example, scaled) in every layer.
fn dataset(seed: u64) -> (Vec<Separation>, Labels) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let raw: Vec<i64> = (0..N).map(|i| (i % K) as i64).collect();
    let labels = Labels::new(&raw, Some(K)).unwrap();
    let means = Mat::from_fn(K, P, |c, j| if j % K == c { 1.0 } else { 0.0 });
    let noise = Mat::from_fn(N, P, |_, _| normal(&mut rng));
    let seps = NOISE
        .iter()
        .map(|s| {
            let x = Mat::from_fn(N, P, |i, j| means[(i % K, j)] + s * noise[(i, j)]);
            separation(x.as_ref(), &labels, &SeparationOptions::default()).unwrap()
        })
        .collect();
    (seps, labels)
}

fn slope(seps: &[Separation]) -> f64 {
    let y: Vec<f64> = seps.iter().map(|s| s.fuzziness.ln()).collect();
    let m = y.len() as f64;
    let (xm, ym) = ((m - 1.0) / 2.0, y.iter().sum::<f64>() / m);
    let sxy: f64 = y
        .iter()
        .enumerate()
        .map(|(l, v)| (l as f64 - xm) * (v - ym))
        .sum();
    let sxx: f64 = (0..y.len()).map(|l| (l as f64 - xm).powi(2)).sum();
    sxy / sxx
}

#[test]
fn same_seed_same_intervals_and_errors_are_named() {
    let (seps, _) = dataset(1);
    let refs: Vec<&Separation> = seps.iter().collect();
    let opts = BootstrapOptions::default();
    let a = bootstrap_law(&refs, &[0, 1, 2, 3], &opts).unwrap();
    let b = bootstrap_law(&refs, &[0, 1, 2, 3], &opts).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.replicates, 200);
    let c = bootstrap_law(&refs, &[0, 1, 2, 3], &BootstrapOptions { seed: 9, ..opts }).unwrap();
    assert_ne!(a.slope, c.slope);
    // The point estimates lie inside their intervals.
    let s = slope(&seps);
    assert!(
        a.slope.low < s && s < a.slope.high,
        "{s} not in {:?}",
        a.slope
    );
    for (sep, i) in seps.iter().zip(&a.fuzziness) {
        assert!(i.low < sep.fuzziness && sep.fuzziness < i.high);
    }
    assert!((a.rho.low - a.slope.low.exp()).abs() < 1e-15);
    // Fitting layers 1..3 only leaves layer 0's interval but changes the slope's.
    let sub = bootstrap_law(&refs, &[1, 2, 3], &opts).unwrap();
    assert_eq!(sub.fuzziness[0], a.fuzziness[0]);
    assert_ne!(sub.slope, a.slope);
    for (fit, opts) in [
        (vec![0], opts),
        (vec![0, 7], opts),
        (
            vec![0, 1],
            BootstrapOptions {
                replicates: 3,
                ..opts
            },
        ),
        (vec![0, 1], BootstrapOptions { level: 1.0, ..opts }),
    ] {
        let err = bootstrap_law(&refs, &fit, &opts).unwrap_err();
        assert!(matches!(err, GeometryError::Bootstrap { .. }), "{err}");
    }
}

/// The grouped bootstrap estimates the example bootstrap: on three datasets, the width of
/// its slope interval and of layer 0's D interval are within a factor 1.3 of those of the
/// stratified row bootstrap (each class's rows resampled with replacement, every layer
/// recomputed from the resampled rows by `separation`, 400 replicates).
#[test]
fn grouped_intervals_match_the_row_bootstrap() {
    for seed in [3u64, 4, 5] {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let means = Mat::from_fn(K, P, |c, j| if j % K == c { 1.0 } else { 0.0 });
        let noise = Mat::from_fn(N, P, |_, _| normal(&mut rng));
        let raw: Vec<i64> = (0..N).map(|i| (i % K) as i64).collect();
        let layers_of = |idx: &[usize]| -> Vec<Separation> {
            let r: Vec<i64> = idx.iter().map(|&i| raw[i]).collect();
            let labels = Labels::new(&r, Some(K)).unwrap();
            NOISE
                .iter()
                .map(|s| {
                    let x = Mat::from_fn(idx.len(), P, |i, j| {
                        means[(idx[i] % K, j)] + s * noise[(idx[i], j)]
                    });
                    separation(x.as_ref(), &labels, &SeparationOptions::default()).unwrap()
                })
                .collect()
        };
        let reps = 400;
        let mut slopes = Vec::with_capacity(reps);
        let mut ds: Vec<Vec<f64>> = vec![Vec::with_capacity(reps); NOISE.len()];
        for _ in 0..reps {
            // Row i keeps its class i % K: a stratified resample.
            let idx: Vec<usize> = (0..N)
                .map(|i| i % K + K * rng.random_range(0..N / K))
                .collect();
            let seps = layers_of(&idx);
            slopes.push(slope(&seps));
            for (d, sep) in ds.iter_mut().zip(&seps) {
                d.push(sep.fuzziness);
            }
        }
        let full: Vec<usize> = (0..N).collect();
        let seps = layers_of(&full);
        let refs: Vec<&Separation> = seps.iter().collect();
        let opts = BootstrapOptions {
            replicates: reps,
            seed,
            ..BootstrapOptions::default()
        };
        let grouped = bootstrap_law(&refs, &[0, 1, 2, 3], &opts).unwrap();
        let ratio = |values: &mut Vec<f64>, interval: layerlaw_geometry::Interval| {
            (interval.high - interval.low) / (quantile(values, 0.975) - quantile(values, 0.025))
        };
        let r_slope = ratio(&mut slopes, grouped.slope);
        let r_d: Vec<f64> = ds
            .iter_mut()
            .zip(&grouped.fuzziness)
            .map(|(d, i)| ratio(d, *i))
            .collect();
        let fuzz: Vec<f64> = seps.iter().map(|s| s.fuzziness / K as f64).collect();
        println!("seed {seed}: slope {r_slope:.3}, D {r_d:.3?} at D/K {fuzz:.2?}");
        assert!(
            r_slope > 1.0 / 1.3 && r_slope < 1.3,
            "seed {seed}: slope width ratio {r_slope}"
        );
        for (l, (&r, &f)) in r_d.iter().zip(&fuzz).enumerate() {
            // Never much narrower; as wide as the row bootstrap within 1.3x unless the layer
            // is very fuzzy (D/K > 4), where the components of the resampled means outside
            // the full data's between-class subspace, left out, matter.
            let high = if f > 4.0 { 1.6 } else { 1.3 };
            assert!(
                r > 1.0 / 1.3 && r < high,
                "seed {seed} layer {l}: D width ratio {r} (D/K {f})"
            );
        }
    }
}

/// numpy-style linear-interpolation quantile.
fn quantile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let pos = p * (values.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(values.len() - 1);
    values[lo] + (pos - lo as f64) * (values[hi] - values[lo])
}
