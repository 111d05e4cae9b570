//! `layerlaw lpm solve|sweep` end to end: the paper's setting, JSON keys, plots and bad input.

use std::process::{Command, Output};

use serde_json::Value;

fn layerlaw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerlaw"))
        .args(args)
        .output()
        .unwrap()
}

fn json(args: &[&str]) -> Value {
    let o = layerlaw(args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn solve_reports_the_balanced_etf_and_minority_collapse() {
    let v = json(&[
        "lpm",
        "solve",
        "--majority",
        "5",
        "--minority",
        "5",
        "--ratio",
        "1",
        "--json",
    ]);
    for key in [
        "status",
        "objective",
        "minority_cosine",
        "majority_cosine",
        "minority_norm",
        "majority_norm",
        "minority_distance",
        "gram",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert_eq!(v["status"], "Solved");
    // Simplex ETF: every pairwise cosine is -1/(K-1) = -1/9 and ||w_k||^2 = E_W = 1.
    assert!((v["minority_cosine"].as_f64().unwrap() + 1.0 / 9.0).abs() < 1e-5);
    assert!((v["majority_cosine"].as_f64().unwrap() + 1.0 / 9.0).abs() < 1e-5);
    assert!((v["minority_norm"].as_f64().unwrap() - 1.0).abs() < 1e-5);
    let gram = v["gram"].as_array().unwrap();
    assert_eq!(gram.len(), 20);
    // At R = 100 the official setting (E_W = 1, E_H = 5) has collapsed: minority classifiers are equal.
    let v = json(&["lpm", "solve", "--ratio", "100", "--json"]);
    assert!(v["minority_distance"].as_f64().unwrap() < 1e-3);
    // Reweighting by w_r = R restores the ETF.
    let v = json(&[
        "lpm",
        "solve",
        "--ratio",
        "100",
        "--minority-weight",
        "100",
        "--json",
    ]);
    assert!((v["minority_cosine"].as_f64().unwrap() + 1.0 / 9.0).abs() < 1e-4);
    // Arbitrary counts are accepted; the table mode prints both groups.
    let o = layerlaw(&["lpm", "solve", "--counts", "100,50,20,5"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("minority") && out.contains("majority"),
        "{out}"
    );
}

#[test]
fn sweep_finds_the_collapse_ratio_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let plot = dir.path().join("sweep.svg");
    let v = json(&[
        "lpm",
        "sweep",
        "--ratio-min",
        "1",
        "--ratio-max",
        "100",
        "--points",
        "5",
        "--json",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    let points = v["points"].as_array().unwrap();
    assert_eq!(points.len(), 5);
    // cvxpy 1.9.3 + Clarabel re-solve (see crates/layerlaw-lpm/tests/step_imbalance.rs): collapse from R ≈ 12.2.
    let r = v["collapse_ratio"].as_f64().unwrap();
    assert!((11.5..13.0).contains(&r), "collapse ratio {r}");
    assert!(std::fs::read_to_string(&plot)
        .unwrap()
        .contains("minority cosine"));
}

#[test]
fn bad_input_is_a_clear_error() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["lpm", "solve", "--majority", "1", "--minority", "0"],
            "class",
        ),
        (
            &[
                "lpm",
                "solve",
                "--majority",
                "0",
                "--minority",
                "5",
                "--ratio",
                "10",
            ],
            "k_a",
        ),
        (&["lpm", "solve", "--ratio", "0.5"], "ratio"),
        (&["lpm", "solve", "--ew", "0"], "e_w"),
        (&["lpm", "solve", "--eh=-1"], "e_h"),
        (&["lpm", "solve", "--counts=10,-1,5"], "count"),
        (&["lpm", "solve", "--counts", "10,0,5"], "count"),
        (&["lpm", "solve", "--ratio", "NaN"], "ratio"),
        (&["lpm", "sweep", "--ratio-min", "0.5"], "ratio-min"),
        (&["lpm", "sweep", "--points", "0"], "points"),
    ];
    for (args, needle) in cases {
        let o = layerlaw(args);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(!e.contains("panicked"), "{args:?}: {e}");
        assert!(
            e.to_lowercase().contains(needle),
            "{args:?}: {e:?} lacks {needle:?}"
        );
    }
}
