//! The fast O(npK) path agrees with the dense textbook computation (`reference`) on random
//! data of many shapes: to 1e-9 relative for f64 input, and for f32 input (widened exactly
//! to f64 by both paths) to the same 1e-9.
mod common;

use common::{assert_rel, clustered, to_f32};
use layerlaw_geometry::reference::dense_separation;
use layerlaw_geometry::{separation, SeparationOptions};

fn check(counts: &[usize], p: usize, seed: u64) {
    let (x, labels) = clustered(counts, p, seed);
    let opts = SeparationOptions::default();
    let fast = separation(x.as_ref(), &labels, &opts).unwrap();
    let dense = dense_separation(x.as_ref(), &labels, opts.rank_tolerance).unwrap();
    let what = format!("counts {counts:?}, p {p}");
    assert_eq!(fast.rank, dense.rank, "{what}: rank");
    assert_eq!(fast.rank_nc1, dense.rank_nc1, "{what}: rank_nc1");
    assert_rel(fast.fuzziness, dense.fuzziness, 1e-9, &format!("{what}: D"));
    assert_rel(fast.nc1, dense.nc1, 1e-9, &format!("{what}: NC1"));
    assert_rel(
        fast.trace_within,
        dense.trace_within,
        1e-12,
        &format!("{what}: Tr SS_w"),
    );
    assert_rel(
        fast.trace_between,
        dense.trace_between,
        1e-12,
        &format!("{what}: Tr SS_b"),
    );

    // Row-major copies (the layout of numpy, safetensors and npz arrays) take the fused
    // centre-and-project kernel where the CPU has it; they must agree just as closely.
    let (n, pp) = (x.nrows(), x.ncols());
    let rm64: Vec<f64> = (0..n * pp).map(|v| x[(v / pp, v % pp)]).collect();
    let rm32: Vec<f32> = rm64.iter().map(|&v| v as f32).collect();
    let fast_rm = separation(
        faer::MatRef::from_row_major_slice(&rm64, n, pp),
        &labels,
        &opts,
    )
    .unwrap();
    assert_rel(
        fast_rm.fuzziness,
        dense.fuzziness,
        1e-9,
        &format!("{what}: row-major D"),
    );
    assert_rel(
        fast_rm.nc1,
        dense.nc1,
        1e-9,
        &format!("{what}: row-major NC1"),
    );
    assert_rel(
        fast_rm.trace_within,
        dense.trace_within,
        1e-12,
        &format!("{what}: row-major Tr SS_w"),
    );

    let x32 = to_f32(x.as_ref());
    let fast_rm32 = separation(
        faer::MatRef::from_row_major_slice(&rm32, n, pp),
        &labels,
        &opts,
    )
    .unwrap();
    let fast32 = separation(x32.as_ref(), &labels, &opts).unwrap();
    let dense32 = dense_separation(x32.as_ref(), &labels, opts.rank_tolerance).unwrap();
    assert_rel(
        fast32.fuzziness,
        dense32.fuzziness,
        1e-9,
        &format!("{what}: f32 D"),
    );
    assert_rel(fast32.nc1, dense32.nc1, 1e-9, &format!("{what}: f32 NC1"));
    assert_rel(
        fast_rm32.fuzziness,
        dense32.fuzziness,
        1e-9,
        &format!("{what}: row-major f32 D"),
    );
    assert_rel(
        fast_rm32.nc1,
        dense32.nc1,
        1e-9,
        &format!("{what}: row-major f32 NC1"),
    );
    // Rounding the features to f32 moves D by about f32 epsilon only.
    assert_rel(
        fast32.fuzziness,
        fast.fuzziness,
        1e-5,
        &format!("{what}: f32 vs f64 D"),
    );
}

#[test]
fn balanced_many_shapes() {
    check(&[30, 30, 30], 5, 1);
    check(&[40; 10], 20, 2);
    check(&[700; 4], 33, 3); // several parallel chunks
    check(&[91; 13], 45, 11); // r = 12: the widest single group of the fused kernel
    check(&[37; 14], 64, 12); // r = 13: two column groups
    check(&[3, 4, 5, 6, 7], 1029, 13); // odd n, p = 8·128 + 5
}

#[test]
fn fewer_dimensions_than_classes() {
    // p < K: rank is limited by p, not K-1.
    check(&[25; 8], 3, 4);
    check(&[20; 5], 1, 5);
}

#[test]
fn many_more_dimensions_than_samples() {
    // p >> n: SS_w is rank deficient; D is still well defined.
    check(&[4, 5, 6], 300, 6);
}

#[test]
fn imbalanced_classes() {
    check(&[500, 50, 5, 120], 12, 7);
    check(&[3, 1000], 9, 8);
}

#[test]
fn two_classes() {
    check(&[50, 70], 16, 9);
}

#[test]
fn strided_inputs_match_contiguous() {
    let (x, labels) = clustered(&[60, 50, 40], 7, 10);
    let opts = SeparationOptions::default();
    let base = separation(x.as_ref(), &labels, &opts).unwrap();
    // Row-major copy, and a view with non-unit strides on both axes.
    let row_major: Vec<f64> = (0..x.nrows())
        .flat_map(|i| (0..7).map(move |j| (i, j)))
        .map(|(i, j)| x[(i, j)])
        .collect();
    let rm = faer::MatRef::from_row_major_slice(&row_major, x.nrows(), 7);
    // Reversed columns: column stride -1, the generic element-by-element path (D is invariant
    // to permuting features).
    let reversed = rm.reverse_cols();
    for view in [rm, reversed] {
        let got = separation(view, &labels, &opts).unwrap();
        assert_rel(got.fuzziness, base.fuzziness, 1e-12, "strided D");
        assert_rel(got.nc1, base.nc1, 1e-12, "strided NC1");
    }
}
