//! Every input error of the problem builder, the options and the sweep.

use layerlaw_lpm::{
    balanced_closed_form, solve, sweep, LpmError, LpmProblem, Method, SolverOptions,
};

#[test]
fn too_few_classes() {
    assert_eq!(
        LpmProblem::from_counts(&[3.0]).build(),
        Err(LpmError::TooFewClasses { classes: 1 })
    );
    assert_eq!(
        LpmProblem::balanced(0).build(),
        Err(LpmError::TooFewClasses { classes: 0 })
    );
    assert_eq!(
        LpmProblem::step_imbalance(1, 0, 2.0).build(),
        Err(LpmError::TooFewClasses { classes: 1 })
    );
}

#[test]
fn empty_groups() {
    assert_eq!(
        LpmProblem::step_imbalance(0, 4, 2.0).build(),
        Err(LpmError::EmptyGroup { group: "k_a" })
    );
    assert_eq!(
        LpmProblem::step_imbalance(4, 0, 2.0).build(),
        Err(LpmError::EmptyGroup { group: "k_b" })
    );
}

#[test]
fn non_positive_budgets() {
    assert_eq!(
        LpmProblem::balanced(3).e_w(0.0).build(),
        Err(LpmError::NonPositiveBudget {
            field: "e_w",
            value: 0.0
        })
    );
    assert_eq!(
        LpmProblem::balanced(3).e_h(-1.0).build(),
        Err(LpmError::NonPositiveBudget {
            field: "e_h",
            value: -1.0
        })
    );
    assert!(balanced_closed_form(3, -2.0, 1.0).is_err());
}

#[test]
fn ratio_below_one() {
    assert_eq!(
        LpmProblem::step_imbalance(2, 2, 0.5).build(),
        Err(LpmError::RatioBelowOne { ratio: 0.5 })
    );
}

#[test]
fn bad_counts() {
    assert_eq!(
        LpmProblem::from_counts(&[3.0, 0.0, 1.0]).build(),
        Err(LpmError::NonPositiveCount {
            class: 1,
            count: 0.0
        })
    );
    assert_eq!(
        LpmProblem::from_counts(&[3.0, 1.0, -2.0]).build(),
        Err(LpmError::NonPositiveCount {
            class: 2,
            count: -2.0
        })
    );
}

#[test]
fn non_finite_numbers() {
    let err = LpmProblem::from_counts(&[3.0, f64::NAN])
        .build()
        .unwrap_err();
    assert!(matches!(err, LpmError::NonFinite { ref field, .. } if field == "count[1]"));
    let err = LpmProblem::step_imbalance(2, 2, f64::INFINITY)
        .build()
        .unwrap_err();
    assert!(matches!(err, LpmError::NonFinite { ref field, .. } if field == "ratio"));
    let err = LpmProblem::balanced(2).e_w(f64::NAN).build().unwrap_err();
    assert!(matches!(err, LpmError::NonFinite { ref field, .. } if field == "e_w"));
    let err = LpmProblem::balanced(2)
        .e_h(f64::NEG_INFINITY)
        .build()
        .unwrap_err();
    assert!(matches!(err, LpmError::NonFinite { ref field, .. } if field == "e_h"));
    let err = LpmProblem::balanced(2)
        .minority_weight(f64::NAN)
        .build()
        .unwrap_err();
    assert!(matches!(err, LpmError::NonFinite { ref field, .. } if field == "minority_weight"));
}

#[test]
fn bad_weight_and_minority_indices() {
    assert_eq!(
        LpmProblem::step_imbalance(2, 2, 3.0)
            .minority_weight(0.0)
            .build(),
        Err(LpmError::NonPositiveWeight { value: 0.0 })
    );
    assert_eq!(
        LpmProblem::balanced(3).minority_classes(&[1, 3]).build(),
        Err(LpmError::BadMinorityClass {
            class: 3,
            classes: 3
        })
    );
    assert_eq!(
        LpmProblem::balanced(3).minority_classes(&[1, 1]).build(),
        Err(LpmError::BadMinorityClass {
            class: 1,
            classes: 3
        })
    );
}

#[test]
fn bad_options() {
    let p = LpmProblem::balanced(3).build().unwrap();
    let o = SolverOptions {
        tolerance: 0.0,
        ..SolverOptions::default()
    };
    assert!(matches!(
        solve(&p, &o),
        Err(LpmError::BadOption {
            field: "tolerance",
            ..
        })
    ));
    let o = SolverOptions::with_method(Method::Nonconvex {
        dim: None,
        restarts: 0,
        seed: 1,
    });
    assert!(matches!(
        solve(&p, &o),
        Err(LpmError::BadOption {
            field: "restarts",
            ..
        })
    ));
    let o = SolverOptions::with_method(Method::Nonconvex {
        dim: Some(0),
        restarts: 1,
        seed: 1,
    });
    assert!(matches!(
        solve(&p, &o),
        Err(LpmError::BadOption { field: "dim", .. })
    ));
}

#[test]
fn bad_sweeps() {
    let o = SolverOptions::default();
    let r = sweep(5, 5, 1.0, 5.0, 1.0, &[], &o, |_, _| {});
    assert_eq!(r.unwrap_err(), LpmError::EmptySweep);
    let r = sweep(5, 5, 1.0, 5.0, 1.0, &[1.0, 0.9], &o, |_, _| {});
    assert_eq!(r.unwrap_err(), LpmError::RatioBelowOne { ratio: 0.9 });
    let r = sweep(5, 0, 1.0, 5.0, 1.0, &[2.0], &o, |_, _| {});
    assert_eq!(r.unwrap_err(), LpmError::EmptyGroup { group: "k_b" });
}

#[test]
fn errors_have_readable_messages() {
    let msg = LpmError::NonPositiveCount {
        class: 2,
        count: -1.0,
    }
    .to_string();
    assert!(msg.contains("class 2") && msg.contains("-1"), "{msg}");
}
