//! Seeded subsets and step-imbalance counts.

use layerlaw_data::{counts_subset, per_class_subset, step_imbalance_counts, DataError};

fn labels() -> Vec<u8> {
    // 10 classes with 30..=39 examples each, interleaved.
    let mut l = Vec::new();
    for r in 0..40 {
        for k in 0..10u8 {
            if r < 30 + usize::from(k) {
                l.push(k);
            }
        }
    }
    l
}

#[test]
fn per_class_subset_has_exact_counts_distinct_indices_and_is_deterministic() {
    let labels = labels();
    let a = per_class_subset(&labels, 25, 10, 666).unwrap();
    assert_eq!(a.len(), 250);
    let mut counts = [0usize; 10];
    for &i in &a {
        counts[usize::from(labels[i])] += 1;
    }
    assert_eq!(counts, [25; 10]);
    let mut sorted = a.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), 250, "indices must be distinct");
    assert_eq!(
        a,
        per_class_subset(&labels, 25, 10, 666).unwrap(),
        "same seed, same subset"
    );
    assert_ne!(
        a,
        per_class_subset(&labels, 25, 10, 667).unwrap(),
        "different seed, different subset"
    );
    // The order is the shuffled one, not file order.
    assert_ne!(a, {
        let mut s = a.clone();
        s.sort_unstable();
        s
    });
}

#[test]
fn too_small_class_is_named() {
    let err = per_class_subset(&labels(), 31, 10, 0).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::ClassTooSmall {
                class: 0,
                available: 30,
                requested: 31
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("class 0"), "{err}");
    let err = per_class_subset(&labels(), 5, 9, 0).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                label: 9,
                num_classes: 9,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn step_imbalance_counts_and_subset() {
    // The paper's imbalanced Fashion-MNIST run: classes 0-4 at 500, 5-9 at 100 (R = 5).
    assert_eq!(
        step_imbalance_counts(10, 5, 500, 5.0).unwrap(),
        [500, 500, 500, 500, 500, 100, 100, 100, 100, 100]
    );
    // n_B = floor(n_A / R): 6000 // 7 = 857.
    assert_eq!(
        step_imbalance_counts(10, 3, 6000, 7.0).unwrap()[3..],
        [857; 7]
    );
    let counts = step_imbalance_counts(10, 2, 30, 3.0).unwrap();
    let labels = labels();
    let idx = counts_subset(&labels, &counts, 1).unwrap();
    let mut got = [0usize; 10];
    for &i in &idx {
        got[usize::from(labels[i])] += 1;
    }
    assert_eq!(got.to_vec(), counts);
    assert_eq!(idx, counts_subset(&labels, &counts, 1).unwrap());
}

#[test]
fn step_imbalance_errors() {
    for ratio in [0.5, f64::NAN, f64::INFINITY] {
        let err = step_imbalance_counts(10, 5, 500, ratio).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidRatio { .. }),
            "{ratio}: {err:?}"
        );
    }
    let err = step_imbalance_counts(10, 11, 500, 2.0).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::TooManyMajorityClasses {
                majority: 11,
                num_classes: 10
            }
        ),
        "{err:?}"
    );
    let err = step_imbalance_counts(10, 5, 500, 501.0).unwrap_err();
    assert!(
        matches!(err, DataError::EmptyClass { class: 5, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("smaller R") && err.to_string().contains("larger n_A"),
        "{err}"
    );
}
