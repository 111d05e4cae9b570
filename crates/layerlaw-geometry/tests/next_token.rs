//! The prediction residual of the law of next-token prediction: numpy `lstsq` references,
//! exact cases, merging and every error.
//!
//! Reference values (numpy 2.4.6), least squares with an intercept column:
//! ```python
//! import numpy as np
//! n, p, V = 40, 5, 7
//! i = np.arange(n)[:, None]; j = np.arange(p)[None, :]
//! y = (3 * np.arange(n) + np.arange(n) ** 2 // 5) % V
//! x = np.sin(0.37 * i + 1.3 * j) + 0.5 * np.cos(0.9 * y[:, None] + j)
//! def pr(x, t):
//!     a = np.hstack([x, np.ones((len(x), 1))])
//!     coef = np.linalg.lstsq(a, t, rcond=None)[0]
//!     r = t - a @ coef
//!     return (r ** 2).sum() / ((t - t.mean(0)) ** 2).sum()
//! onehot = np.eye(V)[y]
//! xd = np.hstack([x, x[:, :1] + 2 * x[:, 1:2]])  # rank-deficient: 6 columns, rank 5
//! print(repr(pr(x, onehot)), repr(pr(x, y.astype(float))))
//! print(repr(pr(xd, onehot)), repr(pr(xd, y.astype(float))))
//! print(repr(pr(x[:, :2], onehot)), repr(pr(x[:, :2], y.astype(float))))
//! print(np.linalg.matrix_rank(x - x.mean(0)), np.linalg.matrix_rank(xd - xd.mean(0)))
//! # 0.5417474844713134 0.27711371904515003
//! # 0.5417474844713133 0.27711371904515003
//! # 0.864044716851262 0.8563285800414233
//! # 4 4
//! ```
//!
//! (Each column is a combination of sin(0.37i), cos(0.37i), cos(0.9y), sin(0.9y), so the
//! centred features have rank 4 and the pseudo-inverse is exercised.)

use faer::MatRef;
use layerlaw_geometry::{
    fit_next_token_law, prediction_residual_layers, GeometryError, LayerFeatures, NamedLayer,
    NextTokenFit, PredictionResidual, PredictionSums, PredictionTarget,
};

const N: usize = 40;
const P: usize = 5;
const V: usize = 7;
const ONE_HOT: PredictionTarget = PredictionTarget::OneHot;
const TOKEN_ID: PredictionTarget = PredictionTarget::TokenId;

fn tokens() -> Vec<usize> {
    (0..N).map(|i| (3 * i + i * i / 5) % V).collect()
}

/// The reference features, with the rank-deficient sixth column `x0 + 2 x1` when `p == 6`.
fn features(p: usize) -> Vec<f64> {
    let y = tokens();
    let mut x = Vec::with_capacity(N * p);
    for (i, &t) in y.iter().enumerate() {
        let row: Vec<f64> = (0..P)
            .map(|j| {
                (0.37 * i as f64 + 1.3 * j as f64).sin() + 0.5 * (0.9 * t as f64 + j as f64).cos()
            })
            .collect();
        x.extend_from_slice(&row[..p.min(P)]);
        if p == 6 {
            x.push(row[0] + 2.0 * row[1]);
        }
    }
    x
}

fn view(x: &[f64], p: usize) -> LayerFeatures<'_> {
    LayerFeatures::F64(MatRef::from_row_major_slice(x, x.len() / p, p))
}

fn pr_of(x: &[f64], p: usize, y: &[usize], vocab: usize, target: PredictionTarget) -> f64 {
    let mut acc = PredictionResidual::new("layer", p, vocab, target).unwrap();
    acc.update(view(x, p), y).unwrap();
    acc.finish().unwrap().pr
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn matches_numpy_lstsq() {
    let y = tokens();
    let cases = [
        (5, ONE_HOT, 0.5417474844713134),
        (5, TOKEN_ID, 0.27711371904515003),
        (6, ONE_HOT, 0.5417474844713133),
        (6, TOKEN_ID, 0.27711371904515003),
        (2, ONE_HOT, 0.864044716851262),
        (2, TOKEN_ID, 0.8563285800414233),
    ];
    for (p, target, want) in cases {
        let got = pr_of(&features(p), p, &y, V, target);
        assert!(rel(got, want) < 1e-12, "p={p} {target:?}: {got} vs {want}");
    }
    // Both layers have rank 4, as numpy finds.
    for p in [5, 6] {
        let mut acc = PredictionResidual::new("deficient", p, V, ONE_HOT).unwrap();
        acc.update(view(&features(p), p), &y).unwrap();
        let report = acc.finish().unwrap();
        assert_eq!(
            (report.rank, report.distinct_tokens, report.rows),
            (4, V, N as u64)
        );
    }
    // A larger vocabulary (unseen tokens) does not change PR.
    let wide = pr_of(&features(5), 5, &y, 1000, ONE_HOT);
    assert!(rel(wide, 0.5417474844713134) < 1e-12, "{wide}");
}

#[test]
fn f32_batches_and_layouts_agree() {
    let y = tokens();
    let x = features(P);
    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
    let x32_as_64: Vec<f64> = x32.iter().map(|&v| f64::from(v)).collect();
    let mut a = PredictionResidual::new("f32", P, V, ONE_HOT).unwrap();
    a.update(
        LayerFeatures::F32(MatRef::from_row_major_slice(&x32, N, P)),
        &y,
    )
    .unwrap();
    let want = pr_of(&x32_as_64, P, &y, V, ONE_HOT);
    assert!(rel(a.finish().unwrap().pr, want) < 1e-13);
    // Column-major storage of the same matrix.
    let col: Vec<f64> = (0..N * P).map(|k| x[(k % N) * P + k / N]).collect();
    let mut b = PredictionResidual::new("col", P, V, TOKEN_ID).unwrap();
    b.update(
        LayerFeatures::F64(MatRef::from_column_major_slice(&col, N, P)),
        &y,
    )
    .unwrap();
    assert!(rel(b.finish().unwrap().pr, 0.27711371904515003) < 1e-12);
}

#[test]
fn exact_fits_give_zero() {
    // Token id: a feature equal to 3 y + 1 predicts it exactly.
    let y = tokens();
    let x: Vec<f64> = y
        .iter()
        .enumerate()
        .flat_map(|(i, &t)| [3.0 * t as f64 + 1.0, (i as f64).sin()])
        .collect();
    assert!(pr_of(&x, 2, &y, V, TOKEN_ID) < 1e-14);
    // One-hot: the features are the one-hot vectors themselves, scaled and shifted.
    let x: Vec<f64> = y
        .iter()
        .flat_map(|&t| (0..V).map(move |v| if v == t { 2.5 } else { -1.0 }))
        .collect();
    assert!(pr_of(&x, V, &y, V, ONE_HOT) < 1e-14);
}

#[test]
fn features_uncorrelated_with_the_target_give_one() {
    // Both tokens see the same multiset of feature rows, so S_xy = 0 exactly.
    let rows: Vec<[f64; 3]> = (0..10)
        .map(|i| [(i as f64).sin(), (1.7 * i as f64).cos(), i as f64])
        .collect();
    let mut x = Vec::new();
    let mut y = Vec::new();
    for t in [0usize, 1] {
        for r in &rows {
            x.extend_from_slice(r);
            y.push(t);
        }
    }
    for target in [ONE_HOT, TOKEN_ID] {
        let pr = pr_of(&x, 3, &y, 2, target);
        assert!((pr - 1.0).abs() < 1e-12, "{target:?}: {pr}");
    }
    // Constant features explain nothing: rank 0, PR = 1.
    let mut acc = PredictionResidual::new("flat", 2, 3, ONE_HOT).unwrap();
    acc.update(view(&[4.0; 12], 2), &[0, 1, 2, 0, 1, 1])
        .unwrap();
    let report = acc.finish().unwrap();
    assert_eq!((report.rank, report.pr), (0, 1.0));
}

#[test]
fn batches_and_merges_equal_the_whole() {
    let y = tokens();
    // Far from the origin, so a wrong shift would show.
    let x: Vec<f64> = features(P).iter().map(|v| v + 1e4).collect();
    for target in [ONE_HOT, TOKEN_ID] {
        let whole = pr_of(&x, P, &y, V, target);
        let mut batched = PredictionResidual::new("l", P, V, target).unwrap();
        for (xs, ys) in x.chunks(7 * P).zip(y.chunks(7)) {
            batched.update(view(xs, P), ys).unwrap();
        }
        assert_eq!(batched.batches(), 6);
        assert!(rel(batched.finish().unwrap().pr, whole) < 1e-9);
        // Two halves (with their own shifts, the means of their first batches), merged.
        let cut = 13;
        let mut a = PredictionResidual::new("l", P, V, target).unwrap();
        let mut b = PredictionResidual::new("other", P, V, target).unwrap();
        a.update(view(&x[..cut * P], P), &y[..cut]).unwrap();
        b.update(view(&x[cut * P..], P), &y[cut..]).unwrap();
        let empty = PredictionResidual::new("e", P, V, target).unwrap();
        a.merge(&b).unwrap();
        a.merge(&empty).unwrap();
        let merged = a.finish().unwrap();
        assert_eq!((merged.layer.as_str(), merged.rows), ("l", N as u64));
        assert!(
            rel(merged.pr, whole) < 1e-9,
            "{target:?}: {} vs {whole}",
            merged.pr
        );
        // Into an empty state.
        let mut c = PredictionResidual::new("c", P, V, target).unwrap();
        c.merge(&a).unwrap();
        assert_eq!(c.finish().unwrap().pr, merged.pr);
        // Sums round-trip.
        let back = PredictionResidual::from_sums("l", P, V, target, a.sums()).unwrap();
        assert_eq!(back.finish().unwrap(), merged);
    }
}

#[test]
fn repeated_runs_are_bit_identical() {
    let y: Vec<usize> = (0..5000).map(|i| (i * 31 + i / 7) % 50).collect();
    let x: Vec<f64> = (0..5000 * 16)
        .map(|k| ((k as f64) * 0.013).sin() + (y[k / 16] as f64 * 0.1 + (k % 16) as f64).cos())
        .collect();
    let run = || pr_of(&x, 16, &y, 50, ONE_HOT);
    let first = run();
    assert!(first > 0.0 && first < 1.0);
    assert_eq!(first.to_bits(), run().to_bits());
}

#[test]
fn errors_name_layer_batch_row_and_column() {
    let y = tokens();
    let x = features(P);
    let mut acc = PredictionResidual::new("h3", P, V, ONE_HOT).unwrap();
    acc.update(view(&x, P), &y).unwrap();
    let err = acc.update(view(&x, P), &y[1..]).unwrap_err();
    assert!(matches!(
        &err,
        GeometryError::TokenLengthMismatch { layer, batch: 1, rows: 40, tokens: 39 } if layer == "h3"
    ));
    assert!(err.to_string().contains("\"h3\", batch 1"), "{err}");
    let err = acc.update(view(&x[..8], 4), &y[..2]).unwrap_err();
    assert!(matches!(
        err,
        GeometryError::TokenDimensionMismatch {
            expected: 5,
            got: 4,
            ..
        }
    ));
    let mut bad = y.clone();
    bad[9] = V;
    let err = acc.update(view(&x, P), &bad).unwrap_err();
    assert!(matches!(
        err,
        GeometryError::TokenOutOfRange {
            row: 9,
            token: 7,
            vocab: 7,
            ..
        }
    ));
    let mut nan = x.clone();
    nan[3 * P + 2] = f64::NAN;
    let err = acc.update(view(&nan, P), &y).unwrap_err();
    assert!(matches!(
        err,
        GeometryError::TokenFeatureNotFinite {
            batch: 1,
            row: 3,
            col: 2,
            ..
        }
    ));
    // Nothing was added by the failed updates.
    assert_eq!((acc.rows(), acc.batches()), (N as u64, 1));
    let other = PredictionResidual::new("h3", P, V, TOKEN_ID).unwrap();
    assert!(matches!(
        acc.merge(&other),
        Err(GeometryError::IncompatibleMerge { .. })
    ));

    let mut one = PredictionResidual::new("h0", P, V, ONE_HOT).unwrap();
    one.update(view(&x[..P], P), &y[..1]).unwrap();
    let err = one.finish().unwrap_err();
    assert!(matches!(&err, GeometryError::TooFewTokenRows { layer, rows: 1 } if layer == "h0"));
    let mut constant = PredictionResidual::new("h1", P, V, TOKEN_ID).unwrap();
    constant.update(view(&x[..3 * P], P), &[4, 4, 4]).unwrap();
    let err = constant.finish().unwrap_err();
    assert!(matches!(
        err,
        GeometryError::ConstantTarget {
            rows: 3,
            token: 4,
            ..
        }
    ));
    assert!(err.to_string().contains("S_yy = 0"), "{err}");
    assert!(matches!(
        acc.finish_with(1.5),
        Err(GeometryError::InvalidOption {
            name: "rank_tolerance",
            ..
        })
    ));

    assert!(matches!(
        PredictionResidual::new("e", 0, V, ONE_HOT),
        Err(GeometryError::ZeroDimension)
    ));
    assert!(matches!(
        PredictionResidual::new("e", 3, 1, ONE_HOT),
        Err(GeometryError::InvalidOption {
            name: "vocab_size",
            ..
        })
    ));
    // 8 (8192^2 + 128000 * 8192 + ...) bytes = 8.9 GB > 4 GiB; the token id state is 0.5 GB.
    let err = PredictionResidual::new("emb", 8192, 128_000, ONE_HOT).unwrap_err();
    assert!(matches!(
        err,
        GeometryError::PredictionStateTooLarge {
            dim: 8192,
            vocab: 128_000,
            ..
        }
    ));
    assert!(err.to_string().contains("\"emb\""), "{err}");
    assert_eq!(
        PredictionResidual::state_bytes(8192, 128_000, TOKEN_ID),
        8 * (8192 * 8192 + 3 * 8192) + 8 * 128_000
    );
    assert!(matches!(
        PredictionResidual::with_limit("emb", 4, 10, ONE_HOT, 100),
        Err(GeometryError::PredictionStateTooLarge { limit: 100, .. })
    ));

    let mut sums = acc.sums();
    sums.cross.pop();
    let err = PredictionResidual::from_sums("g", P, V, ONE_HOT, sums).unwrap_err();
    assert!(
        matches!(err, GeometryError::InvalidTokenSums { field: "cross", .. }),
        "{err}"
    );
    let mut sums: PredictionSums = acc.sums();
    sums.scatter[4] = f64::INFINITY;
    let err = PredictionResidual::from_sums("g", P, V, ONE_HOT, sums).unwrap_err();
    assert!(
        err.to_string().contains("scatter: value 4 is not finite"),
        "{err}"
    );
}

#[test]
fn law_fit_leaves_the_embeddings_out() {
    let pr = [0.9, 0.5, 0.25, 0.125];
    let law = fit_next_token_law(&pr, NextTokenFit::Auto).unwrap();
    assert_eq!(law.layers, vec![1, 2, 3]);
    assert!((law.fit.rho - 0.5).abs() < 1e-14);
    assert!((law.fit.intercept - 0.5f64.ln()).abs() < 1e-14);
    assert!((law.fit.r2 - 1.0).abs() < 1e-14);
    assert!((law.fit.pearson_r.unwrap() + 1.0).abs() < 1e-14);
    assert!((law.ratio_last_first - 0.25).abs() < 1e-15);
    let all = fit_next_token_law(&pr, NextTokenFit::All).unwrap();
    assert_eq!(all.layers, vec![0, 1, 2, 3]);
    assert!(all.fit.r2 < 1.0);
    // Two layers: Auto fits both.
    assert_eq!(
        fit_next_token_law(&pr[..2], NextTokenFit::Auto)
            .unwrap()
            .layers,
        vec![0, 1]
    );
    assert!(matches!(
        fit_next_token_law(&[0.5, 0.0, 0.2], NextTokenFit::All),
        Err(GeometryError::InvalidPredictionResidual { layer: 1, .. })
    ));
    assert!(matches!(
        fit_next_token_law(&pr, NextTokenFit::Range { start: 2, end: 5 }),
        Err(GeometryError::InvalidFitLayers { num_layers: 4, .. })
    ));
    assert!(matches!(
        fit_next_token_law(&pr, NextTokenFit::Range { start: 3, end: 4 }),
        Err(GeometryError::TooFewLayers { points: 1 })
    ));
}

#[test]
fn every_layer_at_once() {
    let y = tokens();
    let (x2, x5, x6) = (features(2), features(5), features(6));
    let layers = [
        NamedLayer::row_major_f64("emb", &x2, 2).unwrap(),
        NamedLayer::row_major_f64("h1", &x5, 5).unwrap(),
        NamedLayer::row_major_f64("h2", &x6, 6).unwrap(),
    ];
    let report = prediction_residual_layers(&layers, &y, V, TOKEN_ID, NextTokenFit::Auto).unwrap();
    let pr: Vec<f64> = report.layers.iter().map(|l| l.pr).collect();
    for (got, want) in pr
        .iter()
        .zip([0.8563285800414233, 0.27711371904515003, 0.27711371904515003])
    {
        assert!(rel(*got, want) < 1e-12, "{got} vs {want}");
    }
    let law = report.law.as_ref().unwrap();
    assert_eq!(law.layers, vec![1, 2]);
    assert!(law.fit.slope.abs() < 1e-12);
    assert_eq!((report.rows, report.vocab), (N as u64, V));
    assert!(report.notes.is_empty());
    let err =
        prediction_residual_layers(&layers, &y[..5], V, ONE_HOT, NextTokenFit::Auto).unwrap_err();
    assert!(err.to_string().contains("\"emb\""), "{err}");
}

#[test]
fn the_error_type_stays_small() {
    // The prediction-residual variants keep GeometryError at its size before them (the largest
    // payload, e.g. `ShapeMismatch`, is 48 bytes), so results carrying it stay cheap to return.
    assert!(std::mem::size_of::<GeometryError>() <= 56);
}
