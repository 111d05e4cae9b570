//! The streaming accumulator equals the batch computation; merging equals seeing all data;
//! bytes round-trip exactly and corrupt bytes are rejected.
mod common;

use common::{assert_rel, clustered, to_f32};
use faer::Mat;
use layerlaw_geometry::{separation, GeometryError, MultiLayerAccumulator, SeparationOptions};

fn two_layers() -> (Mat<f64>, Mat<f64>, layerlaw_geometry::Labels) {
    let (x0, labels) = clustered(&[60, 45, 30, 25], 7, 1);
    // Layer 1: a different, lower-dimensional view of the same samples.
    let x1 = Mat::from_fn(x0.nrows(), 3, |i, j| {
        x0[(i, j)] * 2.0 + x0[(i, j + 3)] + 5.0
    });
    (x0, x1, labels)
}

fn feed(
    acc: &mut MultiLayerAccumulator,
    x0: &Mat<f64>,
    x1: &Mat<f64>,
    y: &[usize],
    rows: std::ops::Range<usize>,
    batch: usize,
) {
    let mut s = rows.start;
    while s < rows.end {
        let e = (s + batch).min(rows.end);
        acc.update(0, x0.as_ref().subrows(s, e - s), &y[s..e])
            .unwrap();
        let x1_32 = to_f32(x1.as_ref().subrows(s, e - s));
        acc.update(1, x1_32.as_ref(), &y[s..e]).unwrap();
        s = e;
    }
}

#[test]
fn streaming_equals_batch() {
    let (x0, x1, labels) = two_layers();
    let y = labels.as_slice();
    let mut acc = MultiLayerAccumulator::new(4, 2).unwrap();
    feed(&mut acc, &x0, &x1, y, 0..y.len(), 17);
    let got = acc.result().unwrap();
    let opts = SeparationOptions::default();
    let want0 = separation(x0.as_ref(), &labels, &opts).unwrap();
    let want1 = separation(to_f32(x1.as_ref()).as_ref(), &labels, &opts).unwrap();
    for (g, w, name) in [(&got[0], &want0, "layer 0"), (&got[1], &want1, "layer 1")] {
        assert_rel(g.fuzziness, w.fuzziness, 1e-11, &format!("{name} D"));
        assert_rel(g.nc1, w.nc1, 1e-11, &format!("{name} NC1"));
        assert_rel(
            g.trace_within,
            w.trace_within,
            1e-12,
            &format!("{name} Tr SS_w"),
        );
        assert_rel(
            g.trace_between,
            w.trace_between,
            1e-12,
            &format!("{name} Tr SS_b"),
        );
        assert_rel(
            g.etf_distance,
            w.etf_distance,
            1e-12,
            &format!("{name} etf"),
        );
        assert_eq!(g.rank, w.rank);
        assert_eq!(g.num_samples, w.num_samples);
    }
    assert_eq!(acc.num_samples(0), y.len() as u64);
}

#[test]
fn merge_equals_one_accumulator_that_saw_everything() {
    let (x0, x1, labels) = two_layers();
    let y = labels.as_slice();
    let mut whole = MultiLayerAccumulator::new(4, 2).unwrap();
    feed(&mut whole, &x0, &x1, y, 0..y.len(), 40);
    let mut a = MultiLayerAccumulator::new(4, 2).unwrap();
    let mut b = MultiLayerAccumulator::new(4, 2).unwrap();
    let mut c = MultiLayerAccumulator::new(4, 2).unwrap();
    feed(&mut a, &x0, &x1, y, 0..50, 9);
    feed(&mut b, &x0, &x1, y, 50..51, 9); // a single sample: most classes absent
    feed(&mut c, &x0, &x1, y, 51..y.len(), 31);
    let empty = MultiLayerAccumulator::new(4, 2).unwrap();
    a.merge(&empty).unwrap();
    b.merge(&c).unwrap();
    a.merge(&b).unwrap();
    let (got, want) = (a.result().unwrap(), whole.result().unwrap());
    for l in 0..2 {
        assert_rel(got[l].fuzziness, want[l].fuzziness, 1e-12, "merged D");
        assert_rel(got[l].nc1, want[l].nc1, 1e-12, "merged NC1");
        assert_rel(
            got[l].trace_within,
            want[l].trace_within,
            1e-12,
            "merged Tr SS_w",
        );
    }
}

#[test]
fn bytes_round_trip_exactly() {
    let (x0, x1, labels) = two_layers();
    let mut acc = MultiLayerAccumulator::new(4, 3).unwrap(); // layer 2 stays empty
    feed(&mut acc, &x0, &x1, labels.as_slice(), 0..labels.len(), 64);
    let bytes = acc.to_bytes();
    let back = MultiLayerAccumulator::from_bytes(&bytes).unwrap();
    assert_eq!(back, acc);
    assert_eq!(back.to_bytes(), bytes);
    assert_eq!(
        back.result_with(&SeparationOptions::default()).unwrap_err(),
        GeometryError::EmptyLayer { layer: 2 }
    );
    let r0 = back.layer_result(0, &SeparationOptions::default()).unwrap();
    assert_eq!(
        r0.fuzziness,
        acc.layer_result(0, &SeparationOptions::default())
            .unwrap()
            .fuzziness
    );
}

#[test]
fn corrupt_bytes_are_errors_not_panics() {
    let (x0, x1, labels) = two_layers();
    let mut acc = MultiLayerAccumulator::new(4, 2).unwrap();
    feed(&mut acc, &x0, &x1, labels.as_slice(), 0..labels.len(), 64);
    let bytes = acc.to_bytes();
    // Every truncation.
    for len in 0..bytes.len() {
        assert!(
            matches!(
                MultiLayerAccumulator::from_bytes(&bytes[..len]),
                Err(GeometryError::CorruptBytes { .. })
            ),
            "len {len}"
        );
    }
    // Single-bit flips at many positions (the checksum or a structural check must catch each).
    for pos in (0..bytes.len()).step_by(7) {
        let mut bad = bytes.clone();
        bad[pos] ^= 0x10;
        assert!(
            matches!(
                MultiLayerAccumulator::from_bytes(&bad),
                Err(GeometryError::CorruptBytes { .. })
            ),
            "flip at {pos}"
        );
    }
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(MultiLayerAccumulator::from_bytes(&trailing).is_err());
    let mut magic = bytes;
    magic[0] = b'X';
    assert!(matches!(
        MultiLayerAccumulator::from_bytes(&magic),
        Err(GeometryError::CorruptBytes { offset: 0, .. })
    ));
}

#[test]
fn streaming_errors_leave_the_accumulator_unchanged() {
    let (x0, _, labels) = two_layers();
    let y = labels.as_slice();
    let mut acc = MultiLayerAccumulator::new(4, 1).unwrap().with_max_dim(7);
    acc.update(0, x0.as_ref().subrows(0, 10), &y[..10]).unwrap();
    let before = acc.clone();
    let wide = Mat::<f64>::zeros(2, 8);
    assert_eq!(
        acc.update(0, wide.as_ref(), &[0, 1]),
        Err(GeometryError::DimensionTooLarge {
            layer: 0,
            dim: 8,
            max_dim: 7
        })
    );
    let narrow = Mat::<f64>::zeros(2, 6);
    assert_eq!(
        acc.update(0, narrow.as_ref(), &[0, 1]),
        Err(GeometryError::DimensionChanged {
            layer: 0,
            expected: 7,
            got: 6
        })
    );
    assert_eq!(
        acc.update(1, x0.as_ref().subrows(0, 2), &[0, 1]),
        Err(GeometryError::LayerOutOfRange {
            layer: 1,
            num_layers: 1
        })
    );
    assert_eq!(
        acc.update(0, x0.as_ref().subrows(0, 2), &[0, 4]),
        Err(GeometryError::BatchLabelOutOfRange {
            layer: 0,
            row: 1,
            value: 4,
            num_classes: 4
        })
    );
    assert_eq!(
        acc.update(0, x0.as_ref().subrows(0, 2), &[0]),
        Err(GeometryError::LengthMismatch { rows: 2, labels: 1 })
    );
    let mut nan = x0.as_ref().subrows(0, 3).to_owned();
    nan[(2, 5)] = f64::NAN;
    assert!(matches!(
        acc.update(0, nan.as_ref(), &y[..3]),
        Err(GeometryError::NonFiniteFeature { row: 2, col: 5, .. })
    ));
    assert_eq!(acc, before);
    // Classes 0..4 all appear in the first 10 rows? If one does not, result names it.
    let mut lonely = MultiLayerAccumulator::new(4, 1).unwrap();
    lonely
        .update(0, x0.as_ref().subrows(0, 3), &[0, 1, 2])
        .unwrap();
    assert_eq!(
        lonely.result().unwrap_err(),
        GeometryError::EmptyClass {
            class: 3,
            num_classes: 4
        }
    );
    let mut other = MultiLayerAccumulator::new(3, 1).unwrap();
    assert!(matches!(
        other.merge(&acc),
        Err(GeometryError::IncompatibleMerge { .. })
    ));
    other = MultiLayerAccumulator::new(4, 1).unwrap();
    other
        .update(0, Mat::<f64>::zeros(1, 2).as_ref(), &[0])
        .unwrap();
    assert!(matches!(
        other.merge(&acc),
        Err(GeometryError::IncompatibleMerge { .. })
    ));
    assert_eq!(
        MultiLayerAccumulator::new(1, 1).unwrap_err(),
        GeometryError::TooFewClasses { num_classes: 1 }
    );
}
