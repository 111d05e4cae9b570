//! The nonconvex solver on $W, H \in \mathbb R^{K\times p}$ must reach the SDP optimum when
//! $p \ge 2K$ (the relaxation is exact there), and must serve large $K$.

use layerlaw_lpm::{
    balanced_closed_form, solve, LpmProblem, LpmSolution, Method, MethodUsed, SolverOptions,
};

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

fn nonconvex(p: &LpmProblem, dim: Option<usize>, restarts: usize, seed: u64) -> LpmSolution {
    let s = solve(
        p,
        &SolverOptions::with_method(Method::Nonconvex {
            dim,
            restarts,
            seed,
        }),
    )
    .unwrap();
    assert_eq!(s.method, MethodUsed::Nonconvex);
    s
}

#[test]
fn nonconvex_reaches_the_sdp_optimum() {
    let problems = [
        LpmProblem::from_counts(&[100.0, 50.0, 20.0, 5.0])
            .build()
            .unwrap(),
        LpmProblem::step_imbalance(5, 5, 10.0).build().unwrap(),
        LpmProblem::step_imbalance(5, 5, 100.0).build().unwrap(),
        LpmProblem::step_imbalance(3, 7, 31.622776601683793)
            .build()
            .unwrap(),
        LpmProblem::step_imbalance(5, 5, 10.0)
            .e_h(1.0)
            .build()
            .unwrap(),
        LpmProblem::step_imbalance(2, 3, 6.0)
            .minority_weight(2.0)
            .e_w(0.5)
            .build()
            .unwrap(),
    ];
    for p in &problems {
        let sdp = solve(p, &SolverOptions::default()).unwrap();
        let nc = nonconvex(p, None, 3, 11);
        assert!(sdp.status.is_usable());
        assert!(
            nc.status.is_usable(),
            "{:?} after {} iterations",
            nc.status,
            nc.iterations
        );
        assert!(
            rel(nc.objective, sdp.objective) < 1e-5,
            "counts {:?}: nonconvex {} vs SDP {}",
            p.counts(),
            nc.objective,
            sdp.objective
        );
        // The nonconvex optimum is feasible.
        let k = p.num_classes();
        let tr_h: f64 = (0..k).map(|i| nc.gram[i][i]).sum::<f64>() / k as f64;
        let tr_w: f64 = (k..2 * k).map(|i| nc.gram[i][i]).sum::<f64>() / k as f64;
        assert!(tr_h <= p.e_h() * (1.0 + 1e-12) && tr_w <= p.e_w() * (1.0 + 1e-12));
        if let (Some(a), Some(b)) = (nc.minority_cosine, sdp.minority_cosine) {
            assert!(
                (a - b).abs() < 1e-3,
                "counts {:?}: cos {a} vs {b}",
                p.counts()
            );
        }
    }
}

#[test]
fn nonconvex_is_seeded_and_deterministic() {
    let p = LpmProblem::step_imbalance(2, 2, 5.0).build().unwrap();
    let a = nonconvex(&p, Some(3), 2, 5);
    let b = nonconvex(&p, Some(3), 2, 5);
    assert_eq!(a.gram, b.gram);
    assert!(a.rank <= 3);
}

#[test]
fn large_k_balanced_matches_the_closed_form() {
    let k = 50;
    let p = LpmProblem::balanced(k).build().unwrap();
    let s = nonconvex(&p, None, 1, 3);
    let etf = balanced_closed_form(k, 1.0, 5.0).unwrap();
    assert!(
        rel(s.objective, etf.objective) < 1e-5,
        "{} vs {}",
        s.objective,
        etf.objective
    );
    assert!(s.etf_distance.unwrap() < 1e-3);
}

#[test]
fn large_k_step_imbalance_matches_the_symmetric_sdp() {
    let p = LpmProblem::step_imbalance(25, 25, 10.0).build().unwrap();
    let sym = solve(&p, &SolverOptions::default()).unwrap();
    assert_eq!(sym.method, MethodUsed::SymmetricSdp);
    let nc = nonconvex(&p, None, 1, 9);
    assert!(
        rel(nc.objective, sym.objective) < 1e-5,
        "{} vs {}",
        nc.objective,
        sym.objective
    );
}
