//! Step imbalance ($K_A$ majority classes with $n_A = R n_B$, $K_B$ minority classes) and
//! Minority Collapse, against cvxpy references.
//!
//! Reference: `python3 benches/lpm_cvxpy.py ...` (the official full 2K x 2K formulation,
//! cvxpy 1.9.3 + Clarabel 0.11.1, numpy 2.4.6, Python 3.11.7). Commands and output:
//!
//! ```text
//! $ python3 benches/lpm_cvxpy.py --ratios 1,10,100 --k-a 5 --k-b 5      # E_W = 1, E_H = 5
//! {"ratio": 1.0, "objective": 0.5597815245984478, "minority_norm": 0.9999999958680179,
//!  "minority_cosine": -0.11111057504297361, "majority_cosine": -0.1111105773187446, ...}
//! {"ratio": 10.0, "objective": 0.26167703960775807, "minority_norm": 0.4406014831017181,
//!  "minority_cosine": 0.5175484121103928, "minority_distance": 0.43280056856264126,
//!  "majority_norm": 1.3438267494336646, "majority_cosine": -0.16748913805706744, ...}
//! {"ratio": 100.0, "objective": 0.09129916549723015, "minority_norm": 0.18478923614831513,
//!  "minority_cosine": 0.9999998585735762, "minority_max_distance": 0.00010199036139575065,
//!  "majority_norm": 1.4020887764678847, "majority_cosine": -0.22828737763354906, ...}
//! $ python3 benches/lpm_cvxpy.py --collapse 10,15.848931924611133   # max ||w_k-w_k'|| <= 1e-3
//! {"collapse_ratio": 12.400573546924377, "bracket": [12.40048640924288, 12.400573546924377]}
//! $ python3 benches/lpm_cvxpy.py --collapse 10,15.848931924611133 --tol 1e-10
//! {"collapse_ratio": 12.193367328192224, "bracket": [12.19328164652963, 12.193367328192224]}
//! $ python3 benches/lpm_cvxpy.py --ratios 10 --tol 1e-10
//! {"ratio": 10.0, "objective": 0.26167703865346165, "minority_norm": 0.44061236005355864,
//!  "minority_cosine": 0.5174977249659887, "minority_distance": 0.4328339882134129, ...}
//! $ python3 benches/lpm_cvxpy.py --ratios 10,3.1622776601683795 --e-h 1
//! {"ratio": 10.0, "objective": 0.8417370530601003, "minority_norm": 4.906739204391025e-05,
//!  "minority_cosine": 0.20977301917823107 (noise), "majority_norm": 1.414213561311477,
//!  "majority_cosine": -0.24999999945511875, ...}
//! {"ratio": 3.1622776601683795, "objective": 1.0817228021446068, "minority_norm": 6.25e-05, ...}
//! $ python3 benches/lpm_cvxpy.py --ratios 31.622776601683793 --k-a 3 --k-b 7
//! {"ratio": 31.622776601683793, "objective": 0.1234759825868863, "minority_norm": 0.6599449122584413,
//!  "minority_cosine": 0.07685573777808082, "majority_cosine": -0.17958931434037317, ...}
//! ```
//! The published facts (K_A = K_B = 5, E_H = 5, E_W = 1): R = 1 gives cos -1/9, R = 10 gives a
//! minority cosine of about 0.517, collapse from R of about 12.2. With our criterion
//! (max ||w_k - w_k'|| <= 1e-3 sqrt(E_W)) the collapse ratio is 12.193 at tight tolerances;
//! at cvxpy's default tolerance (1e-8) the interior-point iterate is not accurate enough near the
//! threshold (distance floor ~1e-3) and the bisection ends at 12.40 instead. The nonconvex
//! solver confirms exact collapse (distance < 1e-6) already at R = 12.2.
//!
//! Accuracy: the loss is very flat around its optimum, so at cvxpy's default tolerances the
//! geometry (cosines, norms) is only good to about 5e-5 although the objective agrees to 1e-8.
//! (cvxpy gives 0.51755 at R = 10 and 0.51752 for the equivalent R = 100, w_r = 10; the
//! nonconvex solver and the SDP at tolerance 1e-10 both give 0.517496.) Geometry is therefore
//! compared to cvxpy within 1e-4, objectives within 1e-6.

use layerlaw_lpm::{default_ratios, solve, sweep, LpmProblem, Method, MethodUsed, SolverOptions};

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

fn official(ratio: f64) -> LpmProblem {
    LpmProblem::step_imbalance(5, 5, ratio)
        .e_w(1.0)
        .e_h(5.0)
        .build()
        .unwrap()
}

#[test]
fn ratio_one_is_the_etf() {
    let s = solve(&official(1.0), &SolverOptions::default()).unwrap();
    assert_eq!(s.method, MethodUsed::SymmetricSdp);
    assert!(rel(s.objective, 0.5597815245984478) < 1e-6);
    for i in 0..10 {
        for j in (0..10).filter(|&j| j != i) {
            let g = &s.gram;
            let cos = g[10 + i][10 + j] / (g[10 + i][10 + i] * g[10 + j][10 + j]).sqrt();
            assert!((cos + 1.0 / 9.0).abs() < 1e-6, "pair ({i},{j}): {cos}");
        }
    }
}

#[test]
fn ratio_ten_matches_cvxpy() {
    let s = solve(&official(10.0), &SolverOptions::default()).unwrap();
    assert!(s.status.is_usable());
    assert!(
        rel(s.objective, 0.26167703960775807) < 1e-6,
        "{}",
        s.objective
    );
    assert!((s.minority_cosine.unwrap() - 0.5175484121103928).abs() < 1e-4);
    assert!((s.majority_cosine.unwrap() + 0.16748913805706744).abs() < 1e-4);
    assert!((s.minority_norm.unwrap() - 0.4406014831017181).abs() < 1e-4);
    assert!((s.majority_norm.unwrap() - 1.3438267494336646).abs() < 1e-4);
    assert!((s.minority_distance.unwrap() - 0.43280056856264126).abs() < 1e-4);
    assert_eq!(s.minority_collapsed, Some(false));
}

#[test]
fn ratio_ten_geometry_at_high_accuracy() {
    let p = official(10.0);
    // The default Clarabel tolerance is 1e-10.
    let sdp = solve(&p, &SolverOptions::with_method(Method::SymmetricSdp)).unwrap();
    let nc = solve(&p, &SolverOptions::with_method(Method::nonconvex_default())).unwrap();
    let (a, b) = (sdp.minority_cosine.unwrap(), nc.minority_cosine.unwrap());
    assert!((a - b).abs() < 3e-5, "{a} vs {b}");
    assert!((b - 0.517496).abs() < 2e-6, "{b}");
    // cvxpy at tolerance 1e-10.
    assert!((b - 0.5174977249659887).abs() < 1e-5, "{b}");
    assert!((nc.minority_distance.unwrap() - 0.4328339882134129).abs() < 1e-5);
    assert!((nc.minority_norm.unwrap() - 0.44061236005355864).abs() < 1e-5);
}

#[test]
fn ratio_hundred_is_collapsed() {
    let s = solve(&official(100.0), &SolverOptions::default()).unwrap();
    assert!(rel(s.objective, 0.09129916549723015) < 1e-6);
    assert_eq!(s.minority_collapsed, Some(true));
    assert!((s.minority_norm.unwrap() - 0.18478923614831513).abs() < 1e-4);
    assert!((s.minority_cosine.unwrap() - 1.0).abs() < 1e-4);
    assert!((s.majority_cosine.unwrap() + 0.22828737763354906).abs() < 1e-4);
}

#[test]
fn official_sweep_finds_the_collapse_ratio() {
    let mut calls = 0;
    let sw = sweep(
        5,
        5,
        1.0,
        5.0,
        1.0,
        &default_ratios(),
        &SolverOptions::default(),
        |d, t| {
            calls += 1;
            assert_eq!(t, 41);
            assert_eq!(d, calls);
        },
    )
    .unwrap();
    assert_eq!(sw.points.len(), 41);
    assert!(sw.points.iter().all(|p| p.status.is_usable()));
    assert!((sw.points[0].minority_cosine.unwrap() + 1.0 / 9.0).abs() < 1e-6);
    assert!((sw.points[10].minority_cosine.unwrap() - 0.5175484121103928).abs() < 1e-4);
    let r = sw.collapse_ratio.unwrap();
    assert!(
        (r - 12.193367328192224).abs() / 12.19 < 1e-3,
        "collapse at {r}"
    );
    let [lo, hi] = sw.collapse_bracket.unwrap();
    assert!(lo < hi && hi == r && (hi / lo).ln() <= 1e-4);
    // Monotone: collapsed from the first collapsed point on (10^1.1 = 12.6 and above).
    for p in &sw.points {
        assert_eq!(p.collapsed, Some(p.ratio >= r), "R = {}", p.ratio);
    }
}

#[test]
fn zero_norm_minority_has_no_cosine() {
    // E_H = 1: the minority classifiers shrink to 0 and the majority ones form a K_A simplex.
    let p = LpmProblem::step_imbalance(5, 5, 10.0)
        .e_w(1.0)
        .e_h(1.0)
        .build()
        .unwrap();
    let s = solve(&p, &SolverOptions::default()).unwrap();
    assert!(rel(s.objective, 0.8417370530601003) < 1e-6);
    assert_eq!(s.minority_cosine, None);
    assert!(s
        .notes
        .iter()
        .any(|n| n.contains("minority classifier norms are ~0")));
    assert!(s.minority_norm.unwrap() < 1e-3);
    assert!((s.majority_cosine.unwrap() + 0.25).abs() < 1e-6);
    assert!((s.majority_norm.unwrap() - 2f64.sqrt()).abs() < 1e-6);
}

#[test]
fn symmetric_and_general_sdp_agree() {
    let cases = [
        (5, 5, 10.0, 5.0),
        (3, 7, 31.622776601683793, 5.0),
        (2, 3, 4.0, 2.0),
        (4, 1, 50.0, 3.0),
    ];
    for (k_a, k_b, ratio, e_h) in cases {
        let p = LpmProblem::step_imbalance(k_a, k_b, ratio)
            .e_h(e_h)
            .build()
            .unwrap();
        let sym = solve(&p, &SolverOptions::with_method(Method::SymmetricSdp)).unwrap();
        let gen = solve(&p, &SolverOptions::with_method(Method::GeneralSdp)).unwrap();
        assert!(sym.status.is_usable() && gen.status.is_usable());
        assert!(
            rel(sym.objective, gen.objective) < 1e-6,
            "({k_a},{k_b},{ratio}): {} vs {}",
            sym.objective,
            gen.objective
        );
        // The SDP optimum's Gram is not unique in general, but these summaries are.
        if let (Some(a), Some(b)) = (sym.minority_cosine, gen.minority_cosine) {
            assert!((a - b).abs() < 1e-4, "({k_a},{k_b},{ratio}): {a} vs {b}");
        }
    }
    // (3,7) at R = 10^1.5 against cvxpy.
    let p = LpmProblem::step_imbalance(3, 7, 31.622776601683793)
        .build()
        .unwrap();
    let s = solve(&p, &SolverOptions::default()).unwrap();
    assert!(
        rel(s.objective, 0.1234759825868863) < 1e-6,
        "{}",
        s.objective
    );
    assert!((s.minority_cosine.unwrap() - 0.07685573777808082).abs() < 1e-4);
    assert!((s.majority_cosine.unwrap() + 0.17958931434037317).abs() < 1e-4);
    assert!((s.minority_norm.unwrap() - 0.6599449122584413).abs() < 1e-4);
}
