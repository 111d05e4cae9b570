//! Arbitrary class counts: the full SDP against cvxpy, and the symmetric SDP with several groups.
//!
//! Reference: `benches/lpm_cvxpy.py` (official full 2K x 2K formulation; cvxpy 1.9.3 + Clarabel
//! 0.11.1, numpy 2.4.6, Python 3.11.7). Minority classes are those below the largest count
//! unless `--minority` is given; `--weight` multiplies the minority loss terms.
//!
//! ```text
//! $ python3 benches/lpm_cvxpy.py --counts 100,50,20,5                 # E_W = 1, E_H = 5
//! {"counts": [100.0, 50.0, 20.0, 5.0], "objective": 0.08573775945442919,
//!  "minority_norm": 0.9133789970359114, "minority_cosine": -0.21331514167582924,
//!  "minority_distance": 1.4436747100334901, "minority_max_distance": 1.7296383243389788,
//!  "majority_norm": 1.1832575032641417}
//! $ python3 benches/lpm_cvxpy.py --counts 100,50,20,5 --weight 3 --minority 3 --e-h 2 --e-w 0.5
//! {"counts": [100.0, 50.0, 20.0, 5.0], "objective": 0.44630790022711797,
//!  "minority_norm": 0.33474116962397554, "majority_norm": 0.7652726460056151,
//!  "majority_cosine": -0.4953051926565218, "majority_distance": 1.3423588970538347}
//! $ python3 benches/lpm_cvxpy.py --counts 7,3,3,1,12,5 --e-h 3
//! {"counts": [7.0, 3.0, 3.0, 1.0, 12.0, 5.0], "objective": 0.34697772006086125,
//!  "minority_norm": 0.8515893121594587, "minority_cosine": -0.040549028126610744,
//!  "majority_norm": 1.2941384612970974}
//! ```

use layerlaw_lpm::{solve, LpmProblem, Method, MethodUsed, SolverOptions};

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn four_classes_match_cvxpy() {
    let p = LpmProblem::from_counts(&[100.0, 50.0, 20.0, 5.0])
        .build()
        .unwrap();
    assert_eq!(p.minority_classes(), vec![1, 2, 3]);
    let s = solve(&p, &SolverOptions::default()).unwrap();
    assert_eq!(s.method, MethodUsed::GeneralSdp);
    assert!(s.status.is_usable());
    assert!(
        rel(s.objective, 0.08573775945442919) < 1e-6,
        "{}",
        s.objective
    );
    assert!((s.minority_cosine.unwrap() + 0.21331514167582924).abs() < 1e-4);
    assert!((s.minority_norm.unwrap() - 0.9133789970359114).abs() < 1e-4);
    assert!((s.minority_distance.unwrap() - 1.4436747100334901).abs() < 1e-4);
    assert!((s.minority_max_distance.unwrap() - 1.7296383243389788).abs() < 1e-4);
    assert!((s.majority_norm.unwrap() - 1.1832575032641417).abs() < 1e-4);
    // A single majority class has no pairwise statistics.
    assert_eq!(s.majority_cosine, None);
    assert_eq!(s.majority_distance, None);
}

#[test]
fn weighted_single_minority_matches_cvxpy() {
    let p = LpmProblem::from_counts(&[100.0, 50.0, 20.0, 5.0])
        .minority_classes(&[3])
        .minority_weight(3.0)
        .e_h(2.0)
        .e_w(0.5)
        .build()
        .unwrap();
    assert_eq!(p.loss_weights(), &[1.0, 1.0, 1.0, 3.0]);
    let s = solve(&p, &SolverOptions::default()).unwrap();
    assert!(
        rel(s.objective, 0.44630790022711797) < 1e-6,
        "{}",
        s.objective
    );
    assert!((s.minority_norm.unwrap() - 0.33474116962397554).abs() < 1e-4);
    assert!((s.majority_norm.unwrap() - 0.7652726460056151).abs() < 1e-4);
    assert!((s.majority_cosine.unwrap() + 0.4953051926565218).abs() < 1e-4);
    assert!((s.majority_distance.unwrap() - 1.3423588970538347).abs() < 1e-4);
}

#[test]
fn repeated_counts_use_the_symmetric_sdp() {
    let p = LpmProblem::from_counts(&[7.0, 3.0, 3.0, 1.0, 12.0, 5.0])
        .e_h(3.0)
        .build()
        .unwrap();
    assert_eq!(p.groups().len(), 5);
    let sym = solve(&p, &SolverOptions::default()).unwrap();
    assert_eq!(sym.method, MethodUsed::SymmetricSdp);
    let gen = solve(&p, &SolverOptions::with_method(Method::GeneralSdp)).unwrap();
    for s in [&sym, &gen] {
        assert!(s.status.is_usable());
        assert!(
            rel(s.objective, 0.34697772006086125) < 1e-6,
            "{}",
            s.objective
        );
        assert!((s.minority_norm.unwrap() - 0.8515893121594587).abs() < 1e-4);
        assert!((s.minority_cosine.unwrap() + 0.040549028126610744).abs() < 1e-4);
        assert!((s.majority_norm.unwrap() - 1.2941384612970974).abs() < 1e-4);
    }
    assert!(rel(sym.objective, gen.objective) < 1e-6);
}

#[test]
fn coefficients_are_count_weighted() {
    let p = LpmProblem::from_counts(&[3.0, 1.0])
        .minority_weight(2.0)
        .build()
        .unwrap();
    let a = p.coefficients();
    assert_eq!(a, vec![0.75, 0.5]);
}
