//! Exact cases whose answers are known in closed form.
mod common;

use common::{random_orthogonal, simplex_etf};
use faer::Mat;
use layerlaw_geometry::{separation, Labels, SeparationOptions};

fn labels_balanced(k: usize, per: usize) -> Labels {
    let raw: Vec<i64> = (0..k * per).map(|i| (i % k) as i64).collect();
    Labels::new(&raw, Some(k)).unwrap()
}

#[test]
fn features_at_their_class_means_have_zero_fuzziness() {
    let (k, p) = (4, 6);
    let labels = labels_balanced(k, 5);
    let means = Mat::from_fn(k, p, |c, j| {
        (0.7 * ((c * 3 + j) * (c * 3 + j)) as f64).sin() * 3.0
    });
    let y = labels.as_slice();
    let x = Mat::from_fn(labels.len(), p, |i, j| means[(y[i], j)]);
    let s = separation(x.as_ref(), &labels, &SeparationOptions::default()).unwrap();
    // Zero up to the rounding of the class means (sum of 5 copies / 5).
    assert!(s.fuzziness < 1e-28, "D {}", s.fuzziness);
    assert!(s.nc1 < 1e-28, "NC1 {}", s.nc1);
    assert!(s.trace_within < 1e-28, "Tr SS_w {}", s.trace_within);
    assert_eq!(s.rank, k - 1);
}

#[test]
fn simplex_etf_means_are_equiangular_with_zero_etf_distance() {
    for &(k, p) in &[(2usize, 2usize), (3, 5), (10, 16)] {
        let rot = random_orthogonal(p, 11);
        let etf = simplex_etf(k, p, rot.as_ref());
        let labels = labels_balanced(k, 3);
        let y = labels.as_slice();
        // Each class: its ETF vertex plus symmetric +-e noise, so class means are exact.
        let x = Mat::from_fn(labels.len(), p, |i, j| {
            let round = i / k;
            let bump = match round {
                0 => 0.1,
                1 => -0.1,
                _ => 0.0,
            };
            2.0 * etf[(y[i], j)] + if j == 0 { bump } else { 0.0 }
        });
        let s = separation(x.as_ref(), &labels, &SeparationOptions::default()).unwrap();
        assert!(
            s.equiangularity.unwrap() < 1e-12,
            "K={k}: {:?}",
            s.equiangularity
        );
        assert!(s.etf_distance < 1e-12, "K={k}: {}", s.etf_distance);
        assert!(s.equinorm < 1e-12, "K={k}: {}", s.equinorm);
        // Cosines of the class means around mu_G are exactly -1/(K-1).
        let m = s.class_means();
        let cm = Mat::from_fn(k, p, |c, j| {
            m[(c, j)] - (0..k).map(|a| m[(a, j)]).sum::<f64>() / k as f64
        });
        let (n0, n1) = (cm.row(0).norm_l2(), cm.row(1).norm_l2());
        let cos = (0..p).map(|j| cm[(0, j)] * cm[(1, j)]).sum::<f64>() / (n0 * n1);
        assert!(
            (cos + 1.0 / (k as f64 - 1.0)).abs() < 1e-12,
            "K={k}: cos {cos}"
        );
        assert_eq!(s.rank, k - 1);
    }
}

#[test]
fn balanced_fuzziness_is_k_times_nc1() {
    let (x, labels) = common::clustered(&[40; 6], 9, 3);
    let s = separation(x.as_ref(), &labels, &SeparationOptions::default()).unwrap();
    assert!(labels.is_balanced());
    common::assert_rel(s.fuzziness, 6.0 * s.nc1, 1e-13, "D = K NC1");
    let (x, labels) = common::clustered(&[40, 10, 25], 9, 3);
    let s = separation(x.as_ref(), &labels, &SeparationOptions::default()).unwrap();
    assert!(
        common::rel(s.fuzziness, 3.0 * s.nc1) > 1e-3,
        "imbalanced D differs from K NC1"
    );
}

#[test]
fn two_classes_have_closed_form_fuzziness() {
    // K = 2 in one dimension: SS_b = (n0 n1 / n^2) d^2 and D = SS_w / SS_b.
    let x = Mat::from_fn(6, 1, |i, _| [0.0, 1.0, 2.0, 10.0, 11.0, 12.0][i]);
    let labels = Labels::new(&[0, 0, 0, 1, 1, 1], None).unwrap();
    let s = separation(x.as_ref(), &labels, &SeparationOptions::default()).unwrap();
    let ss_w = (1.0 + 0.0 + 1.0) * 2.0 / 6.0;
    let ss_b = 0.25 * 100.0;
    common::assert_rel(s.fuzziness, ss_w / ss_b, 1e-14, "D");
    common::assert_rel(s.trace_between, ss_b, 1e-14, "Tr SS_b");
}
