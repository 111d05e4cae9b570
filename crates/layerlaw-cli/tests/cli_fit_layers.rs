//! `--fit-layers`, residuals, `--csv` and side-by-side splits: `layerlaw measure` on files built
//! here (the reference of `cli_measure.rs`), `law --split train,test` and `imbalance --csv` on
//! the embedded data with tiny runs.
//!
//! Reference fit over layers 1..3 (numpy 2.4.6), on the D values of `cli_measure.rs`:
//! ```python
//! import numpy as np
//! ds = np.array([8.28946584400481, 2.0120067738097482, 0.4933528415321791, 0.12200684389820206])
//! idx = [1, 2, 3]; sl, ic = np.polyfit(idx, np.log(ds[idx]), 1)
//! print(sl, ic, list(np.log(ds) - (ic + sl * np.arange(4))))
//! # -1.401405378616257 2.0991186981034544
//! # [0.01586683519275134, 0.001419299449274325, -0.0028385988985466515, 0.001419299449274991]
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use layerlaw_io::{write_safetensors, ArrayData, NamedArray};
use serde_json::Value;

const N: usize = 30;
const K: usize = 3;
const P: usize = 4;
const SLOPE: f64 = -1.401405378616257;
const INTERCEPT: f64 = 2.0991186981034544;
const RESIDUALS: [f64; 4] = [
    0.01586683519275134,
    0.001419299449274325,
    -0.0028385988985466515,
    0.001419299449274991,
];

/// The four layers of `cli_measure.rs` (class-dependent shifts 0.5, 1, 2, 4 on a sine
/// pattern), with `phase` added to the sine pattern.
fn write_file(dir: &Path, name: &str, phase: f64) -> PathBuf {
    let mut arrays: Vec<NamedArray> = [0.5, 1.0, 2.0, 4.0]
        .iter()
        .enumerate()
        .map(|(l, &shift)| {
            let mut x = Vec::with_capacity(N * P);
            for i in 0..N {
                for j in 0..P {
                    let on = if i % K == j % K { shift } else { 0.0 };
                    x.push((0.37 * i as f64 + 1.3 * j as f64 + phase).sin() + on);
                }
            }
            NamedArray {
                name: format!("layer{l}"),
                shape: vec![N, P],
                data: ArrayData::F64(x),
            }
        })
        .collect();
    arrays.push(NamedArray {
        name: "labels".into(),
        shape: vec![N],
        data: ArrayData::Int((0..N).map(|i| (i % K) as i64).collect()),
    });
    let path = dir.join(name);
    write_safetensors(&path, &arrays, &[]).unwrap();
    path
}

fn layerlaw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerlaw"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + b.abs())
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// Splits a CSV text without quoted fields into header and rows.
fn parse_csv(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut lines = text.lines();
    let split = |l: &str| l.split(',').map(str::to_string).collect::<Vec<_>>();
    let header = split(lines.next().unwrap());
    let rows: Vec<Vec<String>> = lines.map(split).collect();
    for r in &rows {
        assert_eq!(r.len(), header.len(), "{r:?}");
    }
    (header, rows)
}

fn column<'a>(header: &[String], rows: &'a [Vec<String>], name: &str) -> Vec<&'a str> {
    let j = header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no {name}"));
    rows.iter().map(|r| r[j].as_str()).collect()
}

#[test]
fn fit_layers_fit_a_subset_at_the_real_indices() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "f.safetensors", 0.0);
    let f = path.to_str().unwrap();
    let v: Value = serde_json::from_str(&ok(&layerlaw(&[
        "measure",
        f,
        "--fit-layers",
        "1..",
        "--json",
    ])))
    .unwrap();
    let law = &v["law"];
    assert_eq!(law["fit_layers"], serde_json::json!([1, 2, 3]));
    assert!(close(law["slope"].as_f64().unwrap(), SLOPE), "{law}");
    assert!(
        close(law["intercept"].as_f64().unwrap(), INTERCEPT),
        "{law}"
    );
    let residuals = f64s(&law["residuals"]);
    assert_eq!(residuals.len(), 4);
    for (a, b) in residuals.iter().zip(RESIDUALS) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
    // Without --fit-layers every layer is fitted, and the residuals are still there.
    let all: Value = serde_json::from_str(&ok(&layerlaw(&["measure", f, "--json"]))).unwrap();
    assert_eq!(all["law"]["fit_layers"], serde_json::json!([0, 1, 2, 3]));
    assert!(close(
        all["law"]["slope"].as_f64().unwrap(),
        -1.4061654291740824
    ));
    // The table has a residual column; the layer left out shows it in parentheses.
    let table = ok(&layerlaw(&["measure", f, "--fit-layers", "1.."]));
    let header = table.lines().find(|l| l.starts_with("layer ")).unwrap();
    assert!(header.contains("residual"), "{table}");
    assert!(table.contains("(0.0159)"), "{table}");
    assert!(table.contains("fitted layers 1..3"), "{table}");
    // Bad specifications name the token, the valid range or the count.
    for (spec, needle) in [
        ("1..9", "0..3"),
        ("1,x", "`x`"),
        ("3..1", "`3..1`"),
        ("3", "at least 2"),
    ] {
        let o = layerlaw(&["measure", f, "--fit-layers", spec]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && e.contains(needle), "{spec}: {e}");
        assert!(!e.contains("panicked"), "{e}");
    }
}

#[test]
fn csv_holds_one_row_per_layer_with_the_json_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "f.safetensors", 0.0);
    let csv = dir.path().join("layers.csv");
    let plot = dir.path().join("law.svg");
    let out = ok(&layerlaw(&[
        "measure",
        path.to_str().unwrap(),
        "--fit-layers",
        "1..",
        "--json",
        "--csv",
        csv.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ]));
    let v: Value = serde_json::from_str(&out).unwrap();
    let (header, rows) = parse_csv(&std::fs::read_to_string(&csv).unwrap());
    assert_eq!(&header[..3], ["layer", "l", "dim"]);
    assert!(!header.contains(&"split".to_string()));
    assert_eq!(rows.len(), 4);
    assert_eq!(
        column(&header, &rows, "layer"),
        ["layer0", "layer1", "layer2", "layer3"]
    );
    assert_eq!(
        column(&header, &rows, "fitted"),
        ["false", "true", "true", "true"]
    );
    for (l, d) in column(&header, &rows, "fuzziness").iter().enumerate() {
        assert_eq!(
            d.parse::<f64>().unwrap(),
            v["layers"][l]["fuzziness"].as_f64().unwrap()
        );
    }
    for (r, want) in column(&header, &rows, "residual").iter().zip(RESIDUALS) {
        assert!((r.parse::<f64>().unwrap() - want).abs() < 1e-9);
    }
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(
        svg.contains("not fitted") && svg.contains("residual"),
        "plot legend"
    );
}

#[test]
fn two_files_are_reported_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let train = write_file(dir.path(), "train.safetensors", 0.0);
    let test = write_file(dir.path(), "test.safetensors", 0.4);
    let (a, b) = (train.to_str().unwrap(), test.to_str().unwrap());
    let v: Value = serde_json::from_str(&ok(&layerlaw(&["measure", a, b, "--json"]))).unwrap();
    let splits = v["splits"].as_array().unwrap();
    assert_eq!(splits.len(), 2);
    assert_eq!(
        (splits[0]["split"].as_str(), splits[1]["split"].as_str()),
        (Some("train"), Some("test"))
    );
    assert!(splits[1]["file"]
        .as_str()
        .unwrap()
        .ends_with("test.safetensors"));
    let one: Value = serde_json::from_str(&ok(&layerlaw(&["measure", a, "--json"]))).unwrap();
    assert_eq!(splits[0]["layers"], one["layers"]);
    assert_eq!(splits[0]["law"], one["law"]);
    assert_ne!(
        splits[1]["layers"][0]["fuzziness"],
        one["layers"][0]["fuzziness"]
    );
    let csv = dir.path().join("both.csv");
    let plot = dir.path().join("both.svg");
    let table = ok(&layerlaw(&[
        "measure",
        a,
        b,
        "--csv",
        csv.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
    ]));
    let header = table.lines().find(|l| l.starts_with("layer")).unwrap();
    assert!(
        header.contains("D (train)") && header.contains("D (test)"),
        "{table}"
    );
    assert!(
        table.contains("law (train)") && table.contains("law (test)"),
        "{table}"
    );
    let (header, rows) = parse_csv(&std::fs::read_to_string(&csv).unwrap());
    assert_eq!(header[0], "split");
    assert_eq!(
        column(&header, &rows, "split"),
        ["train", "train", "train", "train", "test", "test", "test", "test"]
    );
    let d = column(&header, &rows, "fuzziness");
    assert_eq!(
        d[4].parse::<f64>().unwrap(),
        splits[1]["layers"][0]["fuzziness"].as_f64().unwrap()
    );
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(
        svg.contains("(train)") && svg.contains("(test)"),
        "both series in the plot"
    );
}

#[test]
fn law_measures_the_train_and_test_splits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let csv = dir.path().join("law.csv");
    let run = |extra: &[&str]| -> String {
        let mut args = vec![
            "law",
            "--embedded",
            "--depth",
            "3",
            "--width",
            "16",
            "--epochs",
            "2",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        ok(&layerlaw(&args))
    };
    let text = run(&[
        "--split",
        "train,test",
        "--fit-layers",
        "1..",
        "--json",
        "--csv",
        csv.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_str(&text).unwrap();
    let splits = v["splits"].as_array().unwrap();
    assert_eq!(splits.len(), 2);
    assert_eq!(splits[0]["split"], "train");
    assert_eq!(splits[1]["split"], "test");
    assert_eq!(splits[0]["layers"], v["layers"]);
    assert_eq!(splits[0]["n"], 1000);
    assert_eq!(splits[1]["n"], 1000);
    assert_eq!(splits[1]["layers"].as_array().unwrap().len(), 3);
    for s in splits {
        assert_eq!(s["law"]["fit_layers"], serde_json::json!([1, 2]));
    }
    assert_eq!(v["config"]["fit_layers"], "1..");
    assert_eq!(v["config"]["split"], serde_json::json!(["train", "test"]));
    let (header, rows) = parse_csv(&std::fs::read_to_string(&csv).unwrap());
    assert_eq!(
        column(&header, &rows, "split"),
        ["train", "train", "train", "test", "test", "test"]
    );
    let svg = std::fs::read_to_string(out.join("law.svg")).unwrap();
    assert!(svg.contains("(test)") && svg.contains("not fitted"));
    // The default is the training split alone: no `splits` key, the old table.
    let plain: Value = serde_json::from_str(&run(&["--json"])).unwrap();
    assert!(plain.get("splits").is_none());
    let table = run(&["--split", "train,test"]);
    assert!(
        table.contains("D (test)") && table.contains("law (test)"),
        "{table}"
    );
    // Bad splits and fit layers beyond the depth are refused before training.
    for (extra, needle) in [
        (["--split", "val"], "`val`"),
        (["--fit-layers", "0..3"], "0..2"),
        (["--split", "test,test"], "twice"),
    ] {
        let mut args = vec![
            "law",
            "--embedded",
            "--depth",
            "3",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(&extra);
        let o = layerlaw(&args);
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && e.contains(needle), "{extra:?}: {e}");
    }
}

#[test]
fn imbalance_csv_has_a_run_column() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("imb");
    let csv = dir.path().join("imb.csv");
    let o = layerlaw(&[
        "imbalance",
        "--embedded",
        "--n-majority",
        "40",
        "--ratios",
        "1,4",
        "--epochs",
        "1",
        "--width",
        "16",
        "--fit-layers",
        "1..",
        "--csv",
        csv.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    let v: Value = serde_json::from_str(&ok(&o)).unwrap();
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    let (header, rows) = parse_csv(&std::fs::read_to_string(&csv).unwrap());
    assert_eq!(header[0], "run");
    let layers = runs[0]["layers"].as_array().unwrap().len();
    assert_eq!(rows.len(), 2 * layers);
    assert_eq!(column(&header, &rows, "run")[layers], "1");
    assert_eq!(runs[1]["law"]["fit_layers"][0], 1);
    assert_eq!(column(&header, &rows, "fitted")[0], "false");
}
