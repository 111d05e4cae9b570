//! Reweighting / oversampling: minority loss terms multiplied by $w_r$.
//!
//! Theory (Fang, He, Long & Su 2021): oversampling each minority example $w_r$ times equals
//! $n_B \to w_r n_B$, so $w_r = R$ restores the balanced optimum (a simplex ETF), and in general
//! $(R, w_r)$ has the geometry of $(R / w_r, 1)$. With coefficients $a_k = n_k c_k / N$ the
//! objective is the balanced one times $\sum_k n_k c_k / N$.
//!
//! Reference (`benches/lpm_cvxpy.py`, cvxpy 1.9.3 + Clarabel 0.11.1, numpy 2.4.6, Python 3.11.7):
//! ```text
//! $ python3 benches/lpm_cvxpy.py --ratios 100 --weight 10            # K_A = K_B = 5, E_H = 5
//! {"ratio": 100.0, "objective": 0.28499479559318625, "minority_norm": 0.4406168960792803,
//!  "minority_cosine": 0.5175186203233977, "majority_cosine": -0.16748594721596247, ...}
//! $ python3 benches/lpm_cvxpy.py --ratios 10 --weight 10
//! {"ratio": 10.0, "objective": 1.0177845911239938, "minority_cosine": -0.11110931051854216, ...}
//! ```

use layerlaw_lpm::{balanced_closed_form, solve, LpmProblem, Method, SolverOptions};

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn weight_equal_to_ratio_restores_the_etf() {
    for (k_a, k_b, ratio) in [(5, 5, 10.0), (3, 2, 1000.0), (2, 4, 37.5)] {
        let k = k_a + k_b;
        let p = LpmProblem::step_imbalance(k_a, k_b, ratio)
            .minority_weight(ratio)
            .build()
            .unwrap();
        let etf = balanced_closed_form(k, 1.0, 5.0).unwrap();
        let n = k_a as f64 * ratio + k_b as f64;
        let scale = k as f64 * ratio / n; // sum_k n_k c_k / N
        for method in [Method::SymmetricSdp, Method::GeneralSdp] {
            let s = solve(&p, &SolverOptions::with_method(method)).unwrap();
            assert!(s.status.is_usable());
            assert!(
                rel(s.objective, scale * etf.objective) < 1e-6,
                "{method:?} R={ratio}"
            );
            assert!(s.etf_distance.unwrap() < 1e-4, "{method:?} R={ratio}");
            assert!((s.minority_cosine.unwrap() - etf.cosine).abs() < 1e-4);
            assert!((s.majority_cosine.unwrap() - etf.cosine).abs() < 1e-4);
            assert_eq!(s.minority_collapsed, Some(false));
        }
    }
    let p = LpmProblem::step_imbalance(5, 5, 10.0)
        .minority_weight(10.0)
        .build()
        .unwrap();
    let s = solve(&p, &SolverOptions::default()).unwrap();
    assert!(rel(s.objective, 1.0177845911239938) < 1e-6);
}

#[test]
fn partial_weight_acts_like_a_smaller_ratio() {
    let weighted = LpmProblem::step_imbalance(5, 5, 100.0)
        .minority_weight(10.0)
        .build()
        .unwrap();
    let plain = LpmProblem::step_imbalance(5, 5, 10.0).build().unwrap();
    let o = SolverOptions::default();
    let (sw, sp) = (solve(&weighted, &o).unwrap(), solve(&plain, &o).unwrap());
    assert!(
        rel(sw.objective, 0.28499479559318625) < 1e-6,
        "{}",
        sw.objective
    );
    assert!((sw.minority_cosine.unwrap() - 0.5175186203233977).abs() < 1e-4);
    // Same geometry as R = 10 without weights; objective scaled by (sum n_k c_k / N) ratio.
    assert!((sw.minority_cosine.unwrap() - sp.minority_cosine.unwrap()).abs() < 1e-4);
    let scale = (500.0 + 50.0) / 505.0 / ((50.0 + 5.0) / 55.0);
    assert!(rel(sw.objective, scale * sp.objective) < 1e-6);
}

#[test]
fn reweighting_prevents_collapse() {
    let o = SolverOptions::default();
    let plain = LpmProblem::step_imbalance(5, 5, 1000.0).build().unwrap();
    let fixed = LpmProblem::step_imbalance(5, 5, 1000.0)
        .minority_weight(1000.0)
        .build()
        .unwrap();
    assert_eq!(solve(&plain, &o).unwrap().minority_collapsed, Some(true));
    assert_eq!(solve(&fixed, &o).unwrap().minority_collapsed, Some(false));
}
