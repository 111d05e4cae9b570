//! The neural-collapse family against the neural-collapse library (rhubarbwu/neural-collapse,
//! commit c05a0b8, whose `measure.py`/`kernels.py` define CDNV, the trace quotient, GNC2, UNC3,
//! NC4 agreement and NC5) and numpy (He–Su D and the per-class D_k). Produced by this script
//! (torch 2.15.0, numpy 2.4.6; the library's kernel grids are float32, hence the 1e-6
//! tolerances of CDNV and GNC2):
//!
//! ```text
//! import math, sys
//! import numpy as np, torch as pt
//! sys.path.insert(0, "/tmp/nclib")
//! from neural_collapse.accumulate import MeanAccumulator, CovarAccumulator, VarNormAccumulator, DecAccumulator
//! from neural_collapse.measure import covariance_ratio, variability_cdnv, similarities, orthogonality_deviation, clf_ncc_agreement
//! from neural_collapse.kernels import kernel_stats, log_kernel
//!
//! K, p = 4, 7
//! sizes = [9, 14, 20, 11]
//! y = np.array([c for c in range(K) for _ in range(sizes[c])])
//! y = y[np.argsort([(i * 37) % len(y) for i in range(len(y))], kind="stable")]
//! n = len(y)
//! X = np.array([[math.sin(0.37 * (i * p + j)) + 1.5 * math.cos(0.9 * (y[i] + 1) * (j + 1)) for j in range(p)] for i in range(n)])
//! W = np.array([[math.cos(0.21 * (c * p + j) + 0.3) for j in range(p)] for c in range(K)])
//! ood = np.array([math.sin(0.5 * j + 1.0) + 0.2 for j in range(p)])
//! Xt, Yt, Wt = pt.tensor(X), pt.tensor(y), pt.tensor(W)
//! ma = MeanAccumulator(K, p, dtype=pt.float64); ma.accumulate(Xt, Yt); M, mG = ma.compute()
//! ca = CovarAccumulator(K, p, dtype=pt.float64); ca.accumulate(Xt, Yt, M); Sw = ca.compute()
//! va = VarNormAccumulator(K, p, dtype=pt.float64); va.accumulate(Xt, Yt, M); V, _ = va.compute()
//! da = DecAccumulator(K, p, dtype=pt.float64); da.accumulate(Xt, Yt, Wt, M)
//! out = {
//!   "nc1_pinv": covariance_ratio(Sw, M, mG),
//!   "nc1_quot": covariance_ratio(Sw, M, mG, "quotient"),
//!   "cdnv": variability_cdnv(V, M),
//!   "gnc2_log": kernel_stats(M, mG, kernel=log_kernel),
//!   "unc3": similarities(Wt, M, mG).var().item(),
//!   "nc5": orthogonality_deviation(M, pt.tensor(ood)),
//!   "nc4_agree": clf_ncc_agreement(da),
//! }
//! # numpy: He-Su D and per-class D_k = Tr(S_wk pinv(Sb)), S_wk = (1/n_k) sum (x - mu_k)(x - mu_k)^T.
//! Mn = M.numpy(); xbar = X.mean(0)
//! Sb = sum(sizes[c] / n * np.outer(Mn[c] - xbar, Mn[c] - xbar) for c in range(K))
//! P = np.linalg.pinv(Sb)
//! Dk = [np.trace(np.cov((X[y == c] - Mn[c]).T, bias=True) @ P) for c in range(K)]
//! Swn = sum(np.outer(X[i] - Mn[y[i]], X[i] - Mn[y[i]]) for i in range(n)) / n
//! out["D"] = np.trace(Swn @ P); out["D_k"] = Dk
//! d = ((X[:, None, :] - Mn[None]) ** 2).sum(-1); ncc = d.argmin(1)
//! out["ncc_acc"] = float((ncc == y).mean())
//! print("torch", pt.__version__, "numpy", np.__version__)
//! for k, v in out.items(): print(k, repr(v))
//! print("labels", list(y))
//! ```
//!
//! Output:
//!
//! ```text
//! nc1_pinv 11.828465166281928
//! nc1_quot 0.6533631221780827
//! cdnv 2.0559215545654297
//! gnc2_log (-0.2681064307689667, 0.42966151237487793)
//! unc3 0.18872478994622352
//! nc5 0.28969716066180967
//! nc4_agree 0.14814814814814814
//! D 44.747298914143144
//! D_k [42.95279175026154, 48.55898911840033, 40.61749671655644, 48.8730212384221]
//! ncc_acc 0.7777777777777778
//! ```

mod common;

use common::assert_rel;
use faer::{Mat, MatRef};
use layerlaw_geometry::{
    finish, neural_collapse_classifier, separation, separation_layers_with_predictions, Labels,
    LayerFeatures, Pass1, Pass2, Separation, SeparationOptions,
};

const LABELS: [usize; 54] = [
    0, 1, 2, 0, 1, 2, 0, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 0, 1, 2, 0, 2, 3, 0, 2, 3, 1, 2, 3,
    1, 2, 3, 1, 2, 0, 1, 2, 0, 2, 2, 0, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2,
];
const K: usize = 4;
const P: usize = 7;

fn data() -> (Mat<f64>, Labels, Mat<f64>, Vec<f64>) {
    let n = LABELS.len();
    let x = Mat::from_fn(n, P, |i, j| {
        (0.37 * (i * P + j) as f64).sin()
            + 1.5 * (0.9 * (LABELS[i] + 1) as f64 * (j + 1) as f64).cos()
    });
    let w = Mat::from_fn(K, P, |c, j| (0.21 * (c * P + j) as f64 + 0.3).cos());
    let ood = (0..P).map(|j| (0.5 * j as f64 + 1.0).sin() + 0.2).collect();
    let raw: Vec<i64> = LABELS.iter().map(|&y| y as i64).collect();
    (x, Labels::new(&raw, Some(K)).unwrap(), w, ood)
}

/// argmax_k (x W^T)_k, ties to the lowest index.
fn linear_predictions(x: MatRef<'_, f64>, w: MatRef<'_, f64>) -> Vec<usize> {
    (0..x.nrows())
        .map(|i| {
            let logits: Vec<f64> = (0..K)
                .map(|c| (0..P).map(|j| x[(i, j)] * w[(c, j)]).sum())
                .collect();
            (0..K).fold(0, |best, c| if logits[c] > logits[best] { c } else { best })
        })
        .collect()
}

fn check(sep: &Separation, with_agreement: bool, what: &str) {
    assert_rel(sep.fuzziness, 44.747298914143144, 1e-10, what);
    assert_rel(sep.nc1, 11.828465166281928, 1e-10, what);
    assert_rel(sep.nc1_quotient, 0.6533631221780827, 1e-10, what);
    assert_rel(sep.cdnv.unwrap(), 2.0559215545654297, 1e-6, what);
    assert_rel(
        sep.gnc2_log_energy.unwrap(),
        -0.2681064307689667,
        1e-6,
        what,
    );
    assert_rel(
        sep.gnc2_log_variance.unwrap(),
        0.42966151237487793,
        1e-6,
        what,
    );
    assert_rel(sep.ncc_accuracy.unwrap(), 0.7777777777777778, 1e-12, what);
    let want_dk = [
        42.95279175026154,
        48.55898911840033,
        40.61749671655644,
        48.8730212384221,
    ];
    for (got, want) in sep.class_fuzziness.iter().zip(want_dk) {
        assert_rel(*got, want, 1e-10, what);
    }
    // D is the n_k-weighted mean of the D_k.
    let n = LABELS.len() as f64;
    let counts = [9.0, 14.0, 20.0, 11.0];
    let mix: f64 = sep
        .class_fuzziness
        .iter()
        .zip(counts)
        .map(|(d, c)| d * c / n)
        .sum();
    assert_rel(mix, sep.fuzziness, 1e-12, what);
    if with_agreement {
        assert_rel(sep.ncc_agreement.unwrap(), 0.14814814814814814, 1e-12, what);
    } else {
        assert!(sep.ncc_agreement.is_none(), "{what}");
    }
    assert_eq!(sep.rank, 3);
    assert!(sep.min_singular_ratio > 1e-3 && sep.min_singular_ratio <= 1.0);
    assert_eq!(
        sep.rank_tolerance,
        SeparationOptions::default().rank_tolerance
    );
}

#[test]
fn batch_layers_and_two_pass_paths_match_the_peer_library() {
    let (x, labels, w, ood) = data();
    let opts = SeparationOptions::default();
    let mut sep = separation(x.as_ref(), &labels, &opts).unwrap();
    check(&sep, false, "separation");
    sep.set_ood_mean(&ood).unwrap();
    assert_rel(
        sep.ood_deviation.unwrap(),
        0.28969716066180967,
        1e-12,
        "NC5",
    );

    let pred = linear_predictions(x.as_ref(), w.as_ref());
    let views = [
        LayerFeatures::F64(x.as_ref()),
        LayerFeatures::F64(x.as_ref()),
    ];
    for got in separation_layers_with_predictions(&views, &labels, Some(&pred), &opts) {
        check(&got.unwrap(), true, "separation_layers_with_predictions");
    }

    // Two passes in uneven batches, the second state serialised and read back.
    let mut p1 = Pass1::new(K, P).unwrap();
    let cuts = [0usize, 5, 23, 24, 54];
    for b in cuts.windows(2) {
        let rows = x.as_ref().subrows(b[0], b[1] - b[0]);
        p1.update(LayerFeatures::F64(rows), &LABELS[b[0]..b[1]])
            .unwrap();
    }
    let basis = p1.close(&opts).unwrap();
    let mut p2 = Pass2::new(&basis);
    for b in cuts.windows(2) {
        let rows = x.as_ref().subrows(b[0], b[1] - b[0]);
        p2.update_with_predictions(
            &basis,
            LayerFeatures::F64(rows),
            &LABELS[b[0]..b[1]],
            Some(&pred[b[0]..b[1]]),
        )
        .unwrap();
    }
    let p2 = Pass2::from_bytes(&p2.to_bytes()).unwrap();
    check(&finish(&basis, &p2).unwrap(), true, "two passes");
}

#[test]
fn uniform_duality_matches_the_peer_library() {
    let (x, labels, w, _) = data();
    let c = neural_collapse_classifier(x.as_ref(), &labels, w.as_ref(), None).unwrap();
    assert_rel(c.uniform_duality, 0.18872478994622352, 1e-10, "UNC3");
}

#[test]
fn per_class_sums_can_be_left_out() {
    let (x, labels, _, _) = data();
    let opts = SeparationOptions {
        per_class: false,
        ..SeparationOptions::default()
    };
    let sep = separation(x.as_ref(), &labels, &opts).unwrap();
    assert_rel(sep.fuzziness, 44.747298914143144, 1e-10, "D");
    assert_rel(sep.nc1_quotient, 0.6533631221780827, 1e-10, "quotient");
    assert!(sep.cdnv.is_none() && sep.ncc_accuracy.is_none() && sep.class_fuzziness.is_empty());
    assert!(sep.bootstrap_groups().is_none());
    assert!(
        sep.notes.iter().any(|n| n.contains("per-class sums")),
        "{:?}",
        sep.notes
    );
}
