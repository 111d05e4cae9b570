//! `separation_layers` (every layer at once, pass 2 of one layer beside pass 1 of the next)
//! gives, layer by layer, exactly what `separation` gives: bit for bit on success, the same
//! error on failure, whatever the mix of element types, widths and layouts.
mod common;

use common::{clustered, to_f32};
use faer::{Mat, MatRef};
use layerlaw_geometry::{
    separation, separation_layers, GeometryError, Labels, LayerFeatures, Separation,
    SeparationOptions,
};

fn assert_same(got: &Separation, want: &Separation, what: &str) {
    let pairs = [
        ("fuzziness", got.fuzziness, want.fuzziness),
        ("nc1", got.nc1, want.nc1),
        ("trace_within", got.trace_within, want.trace_within),
        ("trace_between", got.trace_between, want.trace_between),
        ("equinorm", got.equinorm, want.equinorm),
        ("etf_distance", got.etf_distance, want.etf_distance),
    ];
    for (name, a, b) in pairs {
        assert_eq!(a.to_bits(), b.to_bits(), "{what}: {name} {a} vs {b}");
    }
    assert_eq!(got.rank, want.rank, "{what}: rank");
    assert_eq!(got.class_means(), want.class_means(), "{what}: class means");
}

/// Row-major copy of `x` (the layout of numpy, safetensors and npz arrays).
fn row_major<T: Copy>(x: MatRef<'_, T>) -> Vec<T> {
    let (n, p) = (x.nrows(), x.ncols());
    (0..n * p).map(|v| x[(v / p, v % p)]).collect()
}

#[test]
fn every_layer_matches_separation_bit_for_bit() {
    // n = 2,600 rows make several row chunks; K = 13 classes (imbalanced) give r = 12, the
    // widest fused kernel. Widths cover a tail column block (1029), p < K (5) and one column.
    let counts: Vec<usize> = (0..13).map(|c| 120 + 17 * c).collect();
    let n: usize = counts.iter().sum();
    let widths = [64usize, 1029, 5, 300, 1, 77];
    let mats: Vec<(Mat<f64>, Labels)> = widths.iter().map(|&p| clustered(&counts, p, 40)).collect();
    // One seed: every layer has the same (shuffled) labels.
    let labels = &mats[0].1;
    assert!(mats.iter().all(|(_, y)| y.as_slice() == labels.as_slice()));
    let rm64: Vec<Vec<f64>> = mats.iter().map(|(x, _)| row_major(x.as_ref())).collect();
    let f32s: Vec<Mat<f32>> = mats.iter().map(|(x, _)| to_f32(x.as_ref())).collect();
    let rm32: Vec<Vec<f32>> = f32s.iter().map(|x| row_major(x.as_ref())).collect();
    // Alternate element types and layouts: row-major f32 (fused kernel), column-major f64,
    // row-major f64, column-major f32, ...
    let layers: Vec<LayerFeatures<'_>> = (0..widths.len())
        .map(|l| {
            let p = widths[l];
            match l % 4 {
                0 => MatRef::from_row_major_slice(&rm32[l], n, p).into(),
                1 => mats[l].0.as_ref().into(),
                2 => MatRef::from_row_major_slice(&rm64[l], n, p).into(),
                _ => f32s[l].as_ref().into(),
            }
        })
        .collect();
    let opts = SeparationOptions::default();
    let together = separation_layers(&layers, labels, &opts);
    assert_eq!(together.len(), layers.len());
    for (l, (got, layer)) in together.iter().zip(&layers).enumerate() {
        let want = match layer {
            LayerFeatures::F32(x) => separation(*x, labels, &opts),
            LayerFeatures::F64(x) => separation(*x, labels, &opts),
        };
        let what = format!("layer {l} (p = {})", widths[l]);
        assert_same(got.as_ref().unwrap(), &want.unwrap(), &what);
    }
}

#[test]
fn a_failing_layer_does_not_stop_the_others() {
    let counts = [300usize, 250, 280, 310];
    let (x, labels) = clustered(&counts, 40, 7);
    let n = x.nrows();
    let good = row_major(x.as_ref());
    let mut with_nan = good.clone();
    with_nan[123 * 40 + 17] = f64::NAN;
    // Every row equal: all class means equal, SS_b = 0.
    let flat = vec![1.5f64; n * 40];
    let short = &good[..(n - 1) * 40];
    let layers: Vec<LayerFeatures<'_>> = vec![
        MatRef::from_row_major_slice(&good, n, 40).into(),
        MatRef::from_row_major_slice(&with_nan, n, 40).into(),
        MatRef::from_row_major_slice(&flat, n, 40).into(),
        MatRef::from_row_major_slice(short, n - 1, 40).into(),
        MatRef::from_row_major_slice(&good[..0], n, 0).into(),
        MatRef::from_row_major_slice(&good, n, 40).into(),
    ];
    let opts = SeparationOptions::default();
    let out = separation_layers(&layers, &labels, &opts);
    let want = separation(x.as_ref(), &labels, &opts).unwrap();
    assert_eq!(
        out[0].as_ref().unwrap().fuzziness,
        separation(MatRef::from_row_major_slice(&good, n, 40), &labels, &opts)
            .unwrap()
            .fuzziness
    );
    assert!((out[0].as_ref().unwrap().fuzziness / want.fuzziness - 1.0).abs() < 1e-12);
    assert!(
        matches!(
            out[1],
            Err(GeometryError::NonFiniteFeature {
                row: 123,
                col: 17,
                ..
            })
        ),
        "{:?}",
        out[1]
    );
    assert!(
        matches!(
            out[2],
            Err(GeometryError::ZeroBetweenClass { num_classes: 4 })
        ),
        "{:?}",
        out[2]
    );
    assert!(
        matches!(out[3], Err(GeometryError::LengthMismatch { rows, labels }) if rows == n - 1 && labels == n),
        "{:?}",
        out[3]
    );
    assert!(
        matches!(out[4], Err(GeometryError::ZeroDimension)),
        "{:?}",
        out[4]
    );
    assert_same(
        out[5].as_ref().unwrap(),
        out[0].as_ref().unwrap(),
        "last layer",
    );
}

#[test]
fn no_layers_and_invalid_options() {
    let (x, labels) = clustered(&[10, 12], 3, 1);
    let opts = SeparationOptions::default();
    assert!(separation_layers(&[], &labels, &opts).is_empty());
    let bad = SeparationOptions {
        rank_tolerance: 2.0,
        ..SeparationOptions::default()
    };
    let out = separation_layers(&[x.as_ref().into(), x.as_ref().into()], &labels, &bad);
    assert_eq!(out.len(), 2);
    for r in out {
        assert!(
            matches!(r, Err(GeometryError::InvalidOption { .. })),
            "{r:?}"
        );
    }
}
