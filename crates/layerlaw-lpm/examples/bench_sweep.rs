//! Benchmark: the official 41-point Minority Collapse sweep (K_A = K_B = 5, E_H = 5, E_W = 1,
//! R = 10^{0.1 i}) with our solvers against cvxpy + Clarabel on the full 2K x 2K SDP
//! (`benches/lpm_cvxpy.py`, the official formulation), run in the same process.
//!
//! `cargo run --release -p layerlaw-lpm --example bench_sweep`
//!
//! Prints the times, the speed-up (goal >= 10x) and the largest relative objective difference
//! (goal <= 1e-6). The cvxpy time is the sum of its per-point times (problem construction,
//! compilation and solve; the interpreter start-up and imports are excluded).

use std::process::Command;
use std::time::Instant;

use layerlaw_lpm::{
    balanced_closed_form, default_ratios, solve, sweep, LpmProblem, Method, SolverOptions,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (k_a, k_b, e_w, e_h) = (5, 5, 1.0, 5.0);
    let ratios = default_ratios();
    let problems = ratios
        .iter()
        .map(|&r| {
            LpmProblem::step_imbalance(k_a, k_b, r)
                .e_w(e_w)
                .e_h(e_h)
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;

    let timed = |method: Method| -> Result<(f64, Vec<f64>), Box<dyn std::error::Error>> {
        let opts = SolverOptions::with_method(method);
        let start = Instant::now();
        let mut objectives = Vec::new();
        for p in &problems {
            let s = solve(p, &opts)?;
            if !s.status.is_usable() {
                return Err(format!("{method:?} failed: {:?}", s.status).into());
            }
            objectives.push(s.objective);
        }
        Ok((start.elapsed().as_secs_f64(), objectives))
    };
    let (t_sym, obj_sym) = timed(Method::SymmetricSdp)?;
    let (t_gen, obj_gen) = timed(Method::GeneralSdp)?;
    let start = Instant::now();
    let sw = sweep(
        k_a,
        k_b,
        e_w,
        e_h,
        1.0,
        &ratios,
        &SolverOptions::default(),
        |_, _| {},
    )?;
    let t_sweep = start.elapsed().as_secs_f64();

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../benches/lpm_cvxpy.py");
    let list = ratios
        .iter()
        .map(|r| format!("{r:.17e}"))
        .collect::<Vec<_>>()
        .join(",");
    let wall = Instant::now();
    let out = Command::new("python3")
        .args([script, "--k-a", &k_a.to_string(), "--k-b", &k_b.to_string()])
        .args([
            "--e-w",
            &e_w.to_string(),
            "--e-h",
            &e_h.to_string(),
            "--ratios",
            &list,
        ])
        .output()?;
    let t_wall = wall.elapsed().as_secs_f64();
    if !out.status.success() {
        return Err(format!(
            "cvxpy script failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let mut obj_cvx = Vec::new();
    let mut t_cvx = 0.0;
    for line in String::from_utf8(out.stdout)?.lines() {
        let v: serde_json::Value = serde_json::from_str(line)?;
        if let (Some(o), Some(t)) = (v["objective"].as_f64(), v["time_s"].as_f64()) {
            obj_cvx.push(o);
            t_cvx += t;
        }
    }
    if obj_cvx.len() != ratios.len() {
        return Err(format!("cvxpy returned {} points", obj_cvx.len()).into());
    }
    let max_rel = |ours: &[f64]| {
        ours.iter()
            .zip(&obj_cvx)
            .map(|(a, b)| (a - b).abs() / b.abs())
            .fold(0.0, f64::max)
    };
    println!("41-point sweep, K_A = K_B = 5, E_H = 5, E_W = 1");
    println!("cvxpy + Clarabel (full SDP): {t_cvx:8.3} s  (process wall {t_wall:.3} s)");
    println!(
        "ours, symmetric SDP:         {t_sym:8.3} s  speed-up {:7.1}x  max rel obj diff {:.2e}",
        t_cvx / t_sym,
        max_rel(&obj_sym)
    );
    println!(
        "ours, general SDP:           {t_gen:8.3} s  speed-up {:7.1}x  max rel obj diff {:.2e}",
        t_cvx / t_gen,
        max_rel(&obj_gen)
    );
    println!(
        "ours, sweep() incl. collapse bisection: {t_sweep:.3} s, collapse ratio {:?}",
        sw.collapse_ratio
    );
    // Large K, where the full SDP is slow: the nonconvex solver against the closed form.
    for k in [50, 100] {
        let p = LpmProblem::balanced(k).e_w(e_w).e_h(e_h).build()?;
        let opts = SolverOptions::with_method(Method::nonconvex_default());
        let start = Instant::now();
        let s = solve(&p, &opts)?;
        let exact = balanced_closed_form(k, e_w, e_h)?.objective;
        println!(
            "nonconvex, balanced K = {k}, p = 2K, 4 starts: {:.3} s, {:?}, rel obj error {:.2e}",
            start.elapsed().as_secs_f64(),
            s.status,
            (s.objective - exact).abs() / exact
        );
    }
    Ok(())
}
