//! Every error variant of the batch API, with the row / column / class it names.
use faer::Mat;
use layerlaw_geometry::{
    classifier_geometry, neural_collapse_classifier, separation, GeometryError, Labels,
    SeparationOptions,
};

#[test]
fn label_validation_names_row_value_and_class() {
    assert_eq!(
        Labels::new(&[0, 1, -3], None),
        Err(GeometryError::NegativeLabel { row: 2, value: -3 })
    );
    assert_eq!(
        Labels::new(&[0, 1, 5, 1], Some(3)),
        Err(GeometryError::LabelOutOfRange {
            row: 2,
            value: 5,
            num_classes: 3
        })
    );
    assert_eq!(
        Labels::new(&[0, 0, 0], None),
        Err(GeometryError::TooFewClasses { num_classes: 1 })
    );
    assert_eq!(
        Labels::new(&[], None),
        Err(GeometryError::TooFewClasses { num_classes: 0 })
    );
    assert_eq!(
        Labels::new(&[0, 2, 2], None),
        Err(GeometryError::EmptyClass {
            class: 1,
            num_classes: 3
        })
    );
    assert_eq!(
        Labels::new(&[0, 1], Some(3)),
        Err(GeometryError::EmptyClass {
            class: 2,
            num_classes: 3
        })
    );
    assert_eq!(
        Labels::from_usize(&[0, 7], 2),
        Err(GeometryError::LabelOutOfRange {
            row: 1,
            value: 7,
            num_classes: 2
        })
    );
    let ok = Labels::new(&[1, 0, 1, 2], None).unwrap();
    assert_eq!(
        (ok.num_classes(), ok.counts(), ok.len(), ok.is_balanced()),
        (3, &[1, 2, 1][..], 4, false)
    );
    assert_eq!(ok.as_slice(), &[1, 0, 1, 2]);
    assert!(Labels::new(&[1, 0], None).unwrap().is_balanced());
}

fn small() -> (Mat<f64>, Labels) {
    let x = Mat::from_fn(6, 3, |i, j| {
        (i * 3 + j) as f64 * 0.1 + if i % 2 == 0 { 1.0 } else { 0.0 }
    });
    (x, Labels::new(&[0, 1, 0, 1, 0, 1], None).unwrap())
}

#[test]
fn separation_reports_non_finite_features_with_row_and_column() {
    let (mut x, labels) = small();
    x[(4, 2)] = f64::INFINITY;
    x[(5, 0)] = f64::NAN;
    let err = separation(x.as_ref(), &labels, &SeparationOptions::default()).unwrap_err();
    assert_eq!(
        err,
        GeometryError::NonFiniteFeature {
            row: 4,
            col: 2,
            value: f64::INFINITY
        }
    );
    let mut x32 = Mat::<f32>::from_fn(6, 3, |i, j| x[(i, j)] as f32);
    x32[(4, 2)] = 1.0;
    let err = separation(x32.as_ref(), &labels, &SeparationOptions::default()).unwrap_err();
    assert!(
        matches!(err, GeometryError::NonFiniteFeature { row: 5, col: 0, value } if value.is_nan())
    );
}

#[test]
fn separation_rejects_shape_and_degenerate_inputs() {
    let (x, labels) = small();
    let short = Labels::new(&[0, 1, 0, 1], None).unwrap();
    assert_eq!(
        separation(x.as_ref(), &short, &SeparationOptions::default()).unwrap_err(),
        GeometryError::LengthMismatch { rows: 6, labels: 4 }
    );
    let empty = Mat::<f64>::zeros(6, 0);
    assert_eq!(
        separation(empty.as_ref(), &labels, &SeparationOptions::default()).unwrap_err(),
        GeometryError::ZeroDimension
    );
    // Class means exactly equal: class 0 = {-1, 1}, class 1 = {-2, 2} (times a direction).
    let same = Mat::from_fn(4, 2, |i, j| [-1.0, -2.0, 1.0, 2.0][i] * (j + 1) as f64);
    let l = Labels::new(&[0, 1, 0, 1], None).unwrap();
    assert_eq!(
        separation(same.as_ref(), &l, &SeparationOptions::default()).unwrap_err(),
        GeometryError::ZeroBetweenClass { num_classes: 2 }
    );
    for bad in [-1e-3, 1.0, f64::NAN] {
        let err = separation(
            x.as_ref(),
            &labels,
            &SeparationOptions {
                rank_tolerance: bad,
                ..SeparationOptions::default()
            },
        )
        .unwrap_err();
        assert!(matches!(
            err,
            GeometryError::InvalidOption {
                name: "rank_tolerance",
                ..
            }
        ));
    }
}

#[test]
fn overflow_is_reported_not_returned_as_infinity() {
    let l = Labels::new(&[0, 0, 1, 1], None).unwrap();
    // Class sums overflow although every feature is finite.
    let x = Mat::from_fn(4, 1, |i, _| [1e308, 1e308, -1e308, -1e308][i]);
    assert_eq!(
        separation(x.as_ref(), &l, &SeparationOptions::default()).unwrap_err(),
        GeometryError::Overflow {
            quantity: "class sums"
        }
    );
    // Means are fine, squared residuals overflow.
    let x = Mat::from_fn(4, 1, |i, _| [1e200, -1e200, 1.0, 3.0][i]);
    assert_eq!(
        separation(x.as_ref(), &l, &SeparationOptions::default()).unwrap_err(),
        GeometryError::Overflow {
            quantity: "within-class scatter"
        }
    );
}

#[test]
fn classifier_functions_validate_their_arguments() {
    let w = Mat::from_fn(3, 2, |i, j| (i + j) as f64);
    assert_eq!(
        classifier_geometry(w.as_ref(), &[0, 3]).unwrap_err(),
        GeometryError::ClassOutOfRange {
            what: "minority",
            class: 3,
            num_classes: 3
        }
    );
    assert_eq!(
        classifier_geometry(w.as_ref(), &[1, 1]).unwrap_err(),
        GeometryError::DuplicateClass {
            what: "minority",
            class: 1
        }
    );
    assert_eq!(
        classifier_geometry(Mat::<f64>::zeros(1, 2).as_ref(), &[]).unwrap_err(),
        GeometryError::TooFewClasses { num_classes: 1 }
    );
    assert_eq!(
        classifier_geometry(Mat::<f64>::zeros(3, 2).as_ref(), &[]).unwrap_err(),
        GeometryError::ZeroMatrix {
            what: "classifier weights"
        }
    );
    let mut bad = w.clone();
    bad[(2, 1)] = f64::NAN;
    assert!(matches!(
        classifier_geometry(bad.as_ref(), &[]),
        Err(GeometryError::NonFiniteArgument {
            what: "classifier weights",
            row: 2,
            col: 1,
            ..
        })
    ));

    let (x, labels) = small();
    let w2 = Mat::from_fn(2, 3, |i, j| (i * 3 + j) as f64);
    assert!(matches!(
        neural_collapse_classifier(x.as_ref(), &labels, w.as_ref(), None),
        Err(GeometryError::ShapeMismatch {
            what: "classifier weights",
            expected_rows: 2,
            expected_cols: 3,
            rows: 3,
            cols: 2
        })
    ));
    assert!(matches!(
        neural_collapse_classifier(x.as_ref(), &labels, w2.as_ref(), Some(&[1.0])),
        Err(GeometryError::ShapeMismatch {
            what: "classifier bias",
            ..
        })
    ));
    assert!(matches!(
        neural_collapse_classifier(
            x.as_ref(),
            &labels,
            w2.as_ref(),
            Some(&[1.0, f64::INFINITY])
        ),
        Err(GeometryError::NonFiniteArgument {
            what: "classifier bias",
            row: 1,
            ..
        })
    ));
    assert_eq!(
        neural_collapse_classifier(x.as_ref(), &labels, Mat::<f64>::zeros(2, 3).as_ref(), None)
            .unwrap_err(),
        GeometryError::ZeroMatrix {
            what: "classifier weights"
        }
    );
}

#[test]
fn error_messages_name_the_culprit() {
    let msg = GeometryError::NonFiniteFeature {
        row: 4,
        col: 2,
        value: f64::NAN,
    }
    .to_string();
    assert!(msg.contains("row 4") && msg.contains("column 2"), "{msg}");
    let msg = GeometryError::EmptyClass {
        class: 7,
        num_classes: 10,
    }
    .to_string();
    assert!(msg.contains("class 7"), "{msg}");
    let msg = GeometryError::InvalidFuzziness {
        layer: 3,
        value: -1.0,
    }
    .to_string();
    assert!(msg.contains("layer 3"), "{msg}");
}
