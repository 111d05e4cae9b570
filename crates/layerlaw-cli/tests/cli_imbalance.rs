//! `layerlaw imbalance` end to end on the embedded Fashion-MNIST slice (100 images per class): report keys, Minority
//! Collapse in a tiny run, oversampling, the LPM beside it, and bad input.

use std::process::{Command, Output};

use serde_json::Value;

fn layerlaw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerlaw"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn imbalance_raises_the_minority_cosine_and_reports_everything() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("imb");
    let o = layerlaw(&[
        "imbalance",
        "--embedded",
        "--n-majority",
        "100",
        "--ratios",
        "1,50",
        "--epochs",
        "30",
        "--lr",
        "0.05",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for r in runs {
        for key in [
            "test_accuracy",
            "majority_accuracy",
            "minority_accuracy",
            "per_class_accuracy",
            "minority_cosine",
            "majority_cosine",
            "minority_norm",
            "majority_norm",
            "layers",
            "law",
            "lpm",
            "neural_collapse",
        ] {
            assert!(r.get(key).is_some(), "missing {key}");
        }
    }
    assert_eq!(runs[0]["counts"], serde_json::json!(vec![100; 10]));
    assert_eq!(
        runs[1]["counts"],
        serde_json::json!([100, 100, 100, 100, 100, 2, 2, 2, 2, 2])
    );
    let balanced = runs[0]["minority_cosine"].as_f64().unwrap();
    let imbalanced = runs[1]["minority_cosine"].as_f64().unwrap();
    assert!(
        imbalanced > balanced,
        "minority cosine {balanced} -> {imbalanced}"
    );
    assert!(
        runs[1]["minority_accuracy"].as_f64().unwrap()
            < runs[1]["majority_accuracy"].as_f64().unwrap()
    );
    // The LPM at R = 50 with E_W = 1, E_H = 5 has collapsed (R* ≈ 12.2).
    assert!(runs[1]["lpm"]["minority_distance"].as_f64().unwrap() < 1e-3);
    for f in [
        "imbalance.json",
        "minority_cosine.svg",
        "accuracy.svg",
        "manifest.json",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
}

#[test]
fn oversampling_is_applied_and_predicted_by_the_lpm() {
    let dir = tempfile::tempdir().unwrap();
    let o = layerlaw(&[
        "imbalance",
        "--embedded",
        "--n-majority",
        "100",
        "--ratio",
        "50",
        "--oversample",
        "50",
        "--epochs",
        "2",
        "--out",
        dir.path().to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["oversample"], 50);
    // 500 majority + 10 minority examples shown 50 times: 1000 examples per epoch, 8 batches of 128.
    assert_eq!(v["history"][0]["steps"], 8);
    // w_r = R restores the balanced LPM: minority cosine -1/9.
    assert!((v["lpm"]["minority_cosine"].as_f64().unwrap() + 1.0 / 9.0).abs() < 1e-4);
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["imbalance", "--embedded", "--ratio", "0.5"], "ratio"),
        (
            &[
                "imbalance",
                "--embedded",
                "--n-majority",
                "100",
                "--ratio",
                "200",
            ],
            "smaller",
        ),
        (&["imbalance", "--embedded", "--majority", "11"], "majority"),
        (
            &["imbalance", "--embedded", "--oversample", "0"],
            "oversample",
        ),
        (&["imbalance", "--embedded", "--counts", "1,2,3"], "counts"),
    ];
    for (args, needle) in cases {
        let mut a = args.to_vec();
        a.extend_from_slice(&["--out", out]);
        let o = layerlaw(&a);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(!e.contains("panicked"), "{args:?}: {e}");
        assert!(
            e.to_lowercase().contains(needle),
            "{args:?}: {e:?} lacks {needle:?}"
        );
    }
}
