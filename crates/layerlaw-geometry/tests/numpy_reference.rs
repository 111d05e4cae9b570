//! Values from an independent numpy/scipy computation on a small deterministic dataset,
//! generated identically in numpy and here:
//! `x[i][j] = sin(0.37 i + 1.3 j) + 0.8 y_i cos(0.9 j + y_i)`, n = 24, p = 5, K = 3.
//!
//! Script (numpy 2.4.6, scipy 1.17.1, Python 3.11):
//! ```python
//! import numpy as np, scipy, scipy.linalg, scipy.stats
//! def data(n, p, labels):
//!     i = np.arange(n)[:, None]; j = np.arange(p)[None, :]; y = labels[:, None]
//!     return np.sin(0.37 * i + 1.3 * j) + 0.8 * y * np.cos(0.9 * j + y)
//! def metrics(x, y, k):
//!     n = len(y); counts = np.bincount(y, minlength=k)
//!     means = np.stack([x[y == c].mean(0) for c in range(k)])
//!     glob = x.mean(0)
//!     sw = sum((x[y == c] - means[c]).T @ (x[y == c] - means[c]) for c in range(k)) / n
//!     sb = sum(counts[c] * np.outer(means[c] - glob, means[c] - glob) for c in range(k)) / n
//!     mg = means.mean(0); cm = means - mg
//!     sigb = cm.T @ cm / k
//!     d = np.trace(sw @ scipy.linalg.pinv(sb))
//!     nc1 = np.trace(sw @ scipy.linalg.pinv(sigb)) / k
//!     norms = np.linalg.norm(cm, axis=1)
//!     equinorm = norms.std(ddof=1) / norms.mean()
//!     cos = (cm @ cm.T) / np.outer(norms, norms)
//!     off = ~np.eye(k, dtype=bool)
//!     equi = np.abs(cos[off] + 1 / (k - 1)).mean()
//!     g = cm @ cm.T
//!     etf = np.linalg.norm(g / np.linalg.norm(g) - (np.eye(k) - np.ones((k, k)) / k) / np.sqrt(k - 1))
//!     return dict(D=d, NC1=nc1, trace_within=np.trace(sw), trace_between=np.trace(sb),
//!                 equinorm=equinorm, equiangularity=equi, etf=etf)
//! n, p, k = 24, 5, 3
//! for name, y in [("balanced", np.arange(n) % 3),
//!                 ("imbalanced", np.where(np.arange(n) < 12, 0, np.where(np.arange(n) < 20, 1, 2)))]:
//!     print(name, {a: repr(float(b)) for a, b in metrics(data(n, p, y), y, k).items()})
//! d = np.array([12.5, 6.1, 3.3, 1.55, 0.8, 0.41]); l = np.arange(len(d))
//! res = scipy.stats.linregress(l, np.log(d))
//! print(res.slope, res.intercept, res.rvalue, res.rvalue**2,
//!       scipy.stats.pearsonr(l, np.log(d))[0], np.exp(res.slope))
//! ```
mod common;

use common::assert_rel;
use faer::Mat;
use layerlaw_geometry::{fit_law, separation, Labels, SeparationOptions};

fn dataset(labels: &[i64]) -> (Mat<f64>, Labels) {
    let x = Mat::from_fn(24, 5, |i, j| {
        let y = labels[i] as f64;
        (0.37 * i as f64 + 1.3 * j as f64).sin() + 0.8 * y * (0.9 * j as f64 + y).cos()
    });
    (x, Labels::new(labels, Some(3)).unwrap())
}

struct Expected {
    d: f64,
    nc1: f64,
    trace_within: f64,
    trace_between: f64,
    equinorm: f64,
    equiangularity: f64,
    etf: f64,
}

fn check(labels: &[i64], e: Expected) {
    let (x, labels) = dataset(labels);
    let s = separation(x.as_ref(), &labels, &SeparationOptions::default()).unwrap();
    assert_rel(s.fuzziness, e.d, 1e-12, "D");
    assert_rel(s.nc1, e.nc1, 1e-12, "NC1");
    assert_rel(s.trace_within, e.trace_within, 1e-13, "Tr SS_w");
    assert_rel(s.trace_between, e.trace_between, 1e-13, "Tr SS_b");
    assert_rel(s.equinorm, e.equinorm, 1e-12, "equinorm");
    assert_rel(
        s.equiangularity.unwrap(),
        e.equiangularity,
        1e-12,
        "equiangularity",
    );
    assert_rel(s.etf_distance, e.etf, 1e-12, "etf distance");
    assert_eq!(s.rank, 2);
}

#[test]
fn balanced_dataset_matches_numpy() {
    let labels: Vec<i64> = (0..24).map(|i| i % 3).collect();
    check(
        &labels,
        Expected {
            d: 4.477043370182459,
            nc1: 1.4923477900608197,
            trace_within: 2.368733926911364,
            trace_between: 1.6019739847217653,
            equinorm: 0.30858453862376567,
            equiangularity: 0.47172009974718426,
            etf: 0.6084893054817415,
        },
    );
}

#[test]
fn imbalanced_dataset_matches_numpy() {
    let labels: Vec<i64> = (0..24)
        .map(|i| {
            if i < 12 {
                0
            } else if i < 20 {
                1
            } else {
                2
            }
        })
        .collect();
    check(
        &labels,
        Expected {
            d: 1.383223771761527,
            nc1: 0.5075974181628392,
            trace_within: 1.576007642387387,
            trace_between: 1.5997383011609754,
            equinorm: 0.4501568813593373,
            equiangularity: 0.5755015038166068,
            etf: 0.7036231334170241,
        },
    );
}

#[test]
fn law_fit_matches_scipy_linregress_and_pearsonr() {
    let fit = fit_law(&[12.5, 6.1, 3.3, 1.55, 0.8, 0.41]).unwrap();
    assert_rel(fit.slope, -0.6839028092280544, 1e-13, "slope");
    assert_rel(fit.intercept, 2.518332547118989, 1e-13, "intercept");
    assert_rel(
        fit.pearson_r.unwrap(),
        -0.9997830756558768,
        1e-13,
        "pearson r",
    );
    assert_rel(fit.r2, 0.9995661983679246, 1e-13, "R^2");
    assert_rel(fit.rho, 0.504643616252806, 1e-13, "rho");
    assert_eq!(fit.ratios.len(), 5);
    assert_rel(fit.ratios[0], 6.1 / 12.5, 1e-15, "ratio");
}
