//! D (and NC1) are invariant to rotations, global rescaling, translation and permuting
//! samples (He & Su 2023): a change of the features' coordinates does not change separation.
mod common;

use common::{assert_rel, clustered, random_orthogonal};
use faer::Mat;
use layerlaw_geometry::{separation, Labels, SeparationOptions};

#[test]
fn rotation_rescaling_translation_and_permutation_leave_d_unchanged() {
    let (x, labels) = clustered(&[50, 30, 20, 45], 12, 21);
    let opts = SeparationOptions::default();
    let base = separation(x.as_ref(), &labels, &opts).unwrap();

    let rot = random_orthogonal(12, 5);
    let rotated = &x * &rot;
    let scaled = Mat::from_fn(x.nrows(), 12, |i, j| 37.5 * x[(i, j)]);
    let shifted = Mat::from_fn(x.nrows(), 12, |i, j| x[(i, j)] + 100.0 + j as f64);
    let n = x.nrows();
    let perm: Vec<usize> = (0..n).map(|i| (i * 37 + 11) % n).collect(); // 37 coprime to 145
    let permuted = Mat::from_fn(n, 12, |i, j| x[(perm[i], j)]);
    let raw: Vec<i64> = perm.iter().map(|&i| labels.as_slice()[i] as i64).collect();
    let permuted_labels = Labels::new(&raw, Some(4)).unwrap();

    for (name, xx, ll, tol) in [
        ("rotation", &rotated, &labels, 1e-10),
        ("rescaling", &scaled, &labels, 1e-12),
        ("translation", &shifted, &labels, 1e-10),
        ("permutation", &permuted, &permuted_labels, 1e-12),
    ] {
        let s = separation(xx.as_ref(), ll, &opts).unwrap();
        assert_rel(s.fuzziness, base.fuzziness, tol, &format!("{name}: D"));
        assert_rel(s.nc1, base.nc1, tol, &format!("{name}: NC1"));
        assert_rel(
            s.equinorm,
            base.equinorm,
            1e-9,
            &format!("{name}: equinorm"),
        );
        assert_rel(
            s.etf_distance,
            base.etf_distance,
            1e-9,
            &format!("{name}: etf"),
        );
    }
}
