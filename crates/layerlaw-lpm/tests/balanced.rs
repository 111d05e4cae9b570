//! Balanced classes: the simplex ETF closed form, checked exactly against every solver.

use layerlaw_lpm::{
    balanced_closed_form, gram_objective, solve, LpmProblem, Method, MethodUsed, SolverOptions,
};

fn closed_form_objective(k: f64, e_w: f64, e_h: f64) -> f64 {
    (1.0 + (k - 1.0) * (-k * (e_h * e_w).sqrt() / (k - 1.0)).exp()).ln()
}

#[test]
fn closed_form_is_the_simplex_etf() {
    for (k, e_w, e_h) in [(2, 1.0, 1.0), (4, 2.0, 0.5), (10, 1.0, 5.0)] {
        let opt = balanced_closed_form(k, e_w, e_h).unwrap();
        let kf = k as f64;
        assert!((opt.objective - closed_form_objective(kf, e_w, e_h)).abs() < 1e-15);
        assert_eq!(opt.cosine, -1.0 / (kf - 1.0));
        let g = &opt.gram;
        for i in 0..k {
            // ||w_k||^2 = E_W, ||h_k||^2 = E_H, h_k = sqrt(E_H/E_W) w_k.
            assert!((g[k + i][k + i] - e_w).abs() < 1e-12);
            assert!((g[i][i] - e_h).abs() < 1e-12);
            assert!((g[i][k + i] - (e_h * e_w).sqrt()).abs() < 1e-12);
            for j in (0..k).filter(|&j| j != i) {
                let cos = g[k + i][k + j] / e_w;
                assert!((cos + 1.0 / (kf - 1.0)).abs() < 1e-12);
            }
        }
        // The closed-form Gram evaluated by the generic loss gives the closed-form objective.
        let p = LpmProblem::balanced(k).e_w(e_w).e_h(e_h).build().unwrap();
        let flat: Vec<f64> = g.iter().flatten().copied().collect();
        assert!((gram_objective(&p, &flat) - opt.objective).abs() < 1e-12);
    }
}

#[test]
fn all_solvers_reach_the_closed_form() {
    let (k, e_w, e_h) = (6, 1.0, 5.0);
    let opt = balanced_closed_form(k, e_w, e_h).unwrap();
    let p = LpmProblem::balanced(k).e_w(e_w).e_h(e_h).build().unwrap();
    for method in [
        Method::Auto,
        Method::GeneralSdp,
        Method::SymmetricSdp,
        Method::Nonconvex {
            dim: None,
            restarts: 2,
            seed: 7,
        },
    ] {
        let s = solve(&p, &SolverOptions::with_method(method)).unwrap();
        assert!(s.status.is_usable(), "{method:?}: {:?}", s.status);
        let rel = (s.objective - opt.objective).abs() / opt.objective;
        assert!(
            rel < 1e-6,
            "{method:?}: {} vs {}",
            s.objective,
            opt.objective
        );
        // Geometry: classifier Gram is the ETF, features are aligned with classifiers.
        assert!(
            s.etf_distance.unwrap() < 1e-4,
            "{method:?}: {:?}",
            s.etf_distance
        );
        for i in 0..k {
            for j in 0..2 * k {
                assert!(
                    (s.gram[i][j] - opt.gram[i][j]).abs() < 1e-3,
                    "{method:?} ({i},{j})"
                );
            }
        }
        // Rank K-1 (the ETF spans a K-1 dimensional subspace).
        assert_eq!(
            s.rank,
            k - 1,
            "{method:?}: eigenvalues {:?}",
            s.gram_eigenvalues
        );
        assert_eq!(s.w.len(), k);
        assert_eq!(s.w[0].len(), k - 1);
        // No minority classes in a balanced problem.
        assert_eq!(s.minority_cosine, None);
        assert!((s.majority_cosine.unwrap() + 1.0 / (k as f64 - 1.0)).abs() < 1e-5);
        assert!((s.majority_norm.unwrap() - e_w.sqrt()).abs() < 1e-5);
    }
}

#[test]
fn auto_uses_the_symmetric_sdp_for_balanced_problems() {
    let p = LpmProblem::balanced(4).build().unwrap();
    let s = solve(&p, &SolverOptions::default()).unwrap();
    assert_eq!(s.method, MethodUsed::SymmetricSdp);
}

#[test]
fn recovered_factors_reproduce_the_gram() {
    let p = LpmProblem::balanced(5).e_w(2.0).e_h(3.0).build().unwrap();
    let s = solve(&p, &SolverOptions::with_method(Method::GeneralSdp)).unwrap();
    let k = 5;
    let row = |i: usize| if i < k { &s.h[i] } else { &s.w[i - k] };
    for i in 0..2 * k {
        for j in 0..2 * k {
            let dot: f64 = row(i).iter().zip(row(j)).map(|(a, b)| a * b).sum();
            assert!((dot - s.gram[i][j]).abs() < 1e-5, "({i},{j})");
        }
    }
}
