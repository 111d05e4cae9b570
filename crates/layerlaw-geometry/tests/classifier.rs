//! Classifier geometry (minority collapse) and NC3/NC4 on exact configurations.
mod common;

use common::{random_orthogonal, simplex_etf};
use faer::Mat;
use layerlaw_geometry::{classifier_geometry, neural_collapse_classifier, Labels};

#[test]
fn simplex_etf_classifier_has_cosines_minus_one_over_k_minus_one() {
    let (k, p) = (6, 8);
    let w = simplex_etf(k, p, random_orthogonal(p, 2).as_ref());
    let g = classifier_geometry(w.as_ref(), &[4, 1]).unwrap();
    let want = -1.0 / (k as f64 - 1.0);
    assert!((g.minority.mean_cosine.unwrap() - want).abs() < 1e-13);
    assert!((g.majority.mean_cosine.unwrap() - want).abs() < 1e-13);
    // Unit vectors with inner product -1/(K-1): distance sqrt(2 + 2/(K-1)).
    let dist = (2.0 + 2.0 / (k as f64 - 1.0)).sqrt();
    assert!((g.minority.mean_distance.unwrap() - dist).abs() < 1e-13);
    assert!((g.majority.mean_norm.unwrap() - 1.0).abs() < 1e-13);
    assert_eq!(g.minority.classes, vec![1, 4]);
    assert_eq!(g.majority.classes, vec![0, 2, 3, 5]);
    assert!(g.etf_distance < 1e-13);
}

#[test]
fn collapsed_minority_has_cosine_one_and_degenerate_groups_say_why() {
    // Minority classes 2 and 3 share one direction (minority collapse), with different norms.
    let w = Mat::from_fn(4, 3, |c, j| match (c, j) {
        (0, 0) | (1, 1) => 1.0,
        (2, 2) => 0.2,
        (3, 2) => 0.6,
        _ => 0.0,
    });
    let g = classifier_geometry(w.as_ref(), &[2, 3]).unwrap();
    assert!((g.minority.mean_cosine.unwrap() - 1.0).abs() < 1e-15);
    assert!((g.minority.mean_distance.unwrap() - 0.4).abs() < 1e-15);
    assert!((g.minority.mean_norm.unwrap() - 0.4).abs() < 1e-15);
    assert_eq!(g.majority.mean_cosine, Some(0.0));
    // A zero row: its cosines are undefined, and the note says so.
    let mut z = w.clone();
    z[(3, 2)] = 0.0;
    let g = classifier_geometry(z.as_ref(), &[2, 3]).unwrap();
    assert_eq!(g.minority.mean_cosine, None);
    assert!(g.minority.note.as_deref().unwrap().contains("w_3"));
    // A group of one class has no pairs.
    let g = classifier_geometry(w.as_ref(), &[3]).unwrap();
    assert_eq!(
        (g.minority.mean_cosine, g.minority.mean_distance),
        (None, None)
    );
    assert_eq!(g.minority.mean_norm, Some(0.6));
    assert!(g.minority.note.is_some());
    let g = classifier_geometry(w.as_ref(), &[]).unwrap();
    assert_eq!(g.minority.mean_norm, None);
}

#[test]
fn self_dual_classifier_has_zero_nc3_and_nc4() {
    // Classes at simplex-ETF means with small symmetric noise; W = the centred means (scaled),
    // b = 0: the classifier is the nearest-class-mean rule, so NC3 = 0 and NC4 = 0.
    let (k, p) = (4, 5);
    let etf = simplex_etf(k, p, random_orthogonal(p, 9).as_ref());
    let per = 6;
    let raw: Vec<i64> = (0..k * per).map(|i| (i % k) as i64).collect();
    let labels = Labels::new(&raw, Some(k)).unwrap();
    let x = Mat::from_fn(k * per, p, |i, j| {
        let sign = if (i / k) % 2 == 0 { 1.0 } else { -1.0 };
        3.0 * etf[(i % k, j)] + 1.0 + if j == (i / k) % p { 0.3 * sign } else { 0.0 }
    });
    let w = Mat::from_fn(k, p, |c, j| 0.5 * etf[(c, j)]);
    let r = neural_collapse_classifier(x.as_ref(), &labels, w.as_ref(), None).unwrap();
    assert!(r.nc3 < 1e-12, "nc3 {}", r.nc3);
    assert_eq!(r.nc4, 0.0);
    assert_eq!(r.classifier_accuracy, 1.0);
    assert_eq!(r.ncc_accuracy, 1.0);
    // A bias that always favours class 0 makes the classifier disagree with NCC on every
    // sample of the other classes: NC4 = (K-1)/K.
    let r = neural_collapse_classifier(
        x.as_ref(),
        &labels,
        w.as_ref(),
        Some(&[100.0, 0.0, 0.0, 0.0]),
    )
    .unwrap();
    assert!((r.nc4 - 0.75).abs() < 1e-15);
    assert!((r.classifier_accuracy - 0.25).abs() < 1e-15);
    // Negated W: NC3 = ||-A - A||_F = 2.
    let neg = Mat::from_fn(k, p, |c, j| -w[(c, j)]);
    let r = neural_collapse_classifier(x.as_ref(), &labels, neg.as_ref(), None).unwrap();
    assert!((r.nc3 - 2.0).abs() < 1e-12);
}
