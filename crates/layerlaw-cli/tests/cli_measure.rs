//! `layerlaw measure` end to end: JSON against a numpy reference, plots, and every bad input.
//!
//! Reference values (numpy 2.4.6, scipy 1.17.1), the official dense method:
//! ```python
//! import numpy as np, scipy.linalg
//! n, K, p = 30, 3, 4
//! i = np.arange(n)[:, None]; j = np.arange(p)[None, :]
//! y = np.arange(n) % K
//! base = np.sin(0.37 * i + 1.3 * j)
//! def layer(shift):
//!     return base + shift * (y[:, None] == (j % K))
//! def D(x, y):
//!     n = len(y); mu = x.mean(0)
//!     Sb = sum((y == k).sum() * np.outer(x[y == k].mean(0) - mu, x[y == k].mean(0) - mu) for k in range(K)) / n
//!     Sw = sum((x[y == k] - x[y == k].mean(0)).T @ (x[y == k] - x[y == k].mean(0)) for k in range(K)) / n
//!     return np.trace(Sw @ scipy.linalg.pinv(Sb))
//! ds = [D(layer(s), y) for s in (0.5, 1.0, 2.0, 4.0)]
//! l = np.arange(4); sl, ic = np.polyfit(l, np.log(ds), 1)
//! print(ds, sl, ic, np.exp(sl), np.corrcoef(l, np.log(ds))[0, 1])
//! # [8.28946584400481, 2.0120067738097482, 0.4933528415321791, 0.12200684389820206]
//! # -1.4061654291740824 2.1102254827383806 0.24508126509411843 -0.9999955690705935
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use layerlaw_io::{write_npy, write_safetensors, ArrayData, NamedArray};
use serde_json::Value;

const N: usize = 30;
const K: usize = 3;
const P: usize = 4;
const SHIFTS: [f64; 4] = [0.5, 1.0, 2.0, 4.0];
const EXPECTED_D: [f64; 4] = [
    8.28946584400481,
    2.0120067738097482,
    0.4933528415321791,
    0.12200684389820206,
];

fn labels() -> Vec<i64> {
    (0..N).map(|i| (i % K) as i64).collect()
}

fn layer(shift: f64) -> Vec<f64> {
    let mut x = Vec::with_capacity(N * P);
    for i in 0..N {
        for j in 0..P {
            let on = if i % K == j % K { shift } else { 0.0 };
            x.push((0.37 * i as f64 + 1.3 * j as f64).sin() + on);
        }
    }
    x
}

fn arrays(labels: Vec<i64>) -> Vec<NamedArray> {
    let mut v: Vec<NamedArray> = SHIFTS
        .iter()
        .enumerate()
        .map(|(l, &s)| NamedArray {
            name: format!("layer{l}"),
            shape: vec![N, P],
            data: ArrayData::F64(layer(s)),
        })
        .collect();
    v.push(NamedArray {
        name: "labels".into(),
        shape: vec![labels.len()],
        data: ArrayData::Int(labels),
    });
    v
}

fn write_file(dir: &Path, name: &str, arrays: &[NamedArray]) -> PathBuf {
    let path = dir.join(name);
    write_safetensors(&path, arrays, &[]).unwrap();
    path
}

fn layerlaw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerlaw"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn assert_fails(o: &Output, needles: &[&str]) {
    assert!(
        !o.status.success(),
        "expected failure, got success: {}",
        String::from_utf8_lossy(&o.stdout)
    );
    let e = stderr(o);
    assert!(!e.contains("panicked"), "panic: {e}");
    for n in needles {
        assert!(e.contains(n), "stderr {e:?} lacks {n:?}");
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn json_matches_numpy_reference() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(dir.path(), "f.safetensors", &arrays(labels()));
    let plot = dir.path().join("law.svg");
    let o = layerlaw(&[
        "measure",
        path.to_str().unwrap(),
        "--json",
        "--plot",
        plot.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["n"], 30);
    assert_eq!(v["classes"], 3);
    assert_eq!(v["class_counts"], serde_json::json!([10, 10, 10]));
    assert_eq!(v["balanced"], true);
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 4);
    for (l, layer) in layers.iter().enumerate() {
        assert_eq!(layer["name"], format!("layer{l}"));
        assert_eq!(layer["index"], l);
        assert_eq!(layer["dim"], 4);
        let d = layer["fuzziness"].as_f64().unwrap();
        assert!(
            rel(d, EXPECTED_D[l]) < 1e-9,
            "layer {l}: {d} vs {}",
            EXPECTED_D[l]
        );
        // Balanced classes: D = K * NC1.
        assert!(rel(d, 3.0 * layer["nc1"].as_f64().unwrap()) < 1e-9);
    }
    let law = &v["law"];
    assert!(rel(law["slope"].as_f64().unwrap(), -1.4061654291740824) < 1e-9);
    assert!(rel(law["intercept"].as_f64().unwrap(), 2.1102254827383806) < 1e-9);
    assert!(rel(law["rho"].as_f64().unwrap(), 0.24508126509411843) < 1e-9);
    assert!(rel(law["pearson_r"].as_f64().unwrap(), -0.9999955690705935) < 1e-9);
    assert!(v["definitions"]["nc1"]
        .as_str()
        .unwrap()
        .contains("D = K * NC1"));
    let svg = std::fs::read_to_string(&plot).unwrap();
    assert!(svg.contains("<svg"));
}

#[test]
fn layer_selection_order_and_npy_directory() {
    let dir = tempfile::tempdir().unwrap();
    let npy = dir.path().join("feats");
    std::fs::create_dir(&npy).unwrap();
    for a in arrays(labels()) {
        write_npy(&npy.join(format!("{}.npy", a.name)), &a).unwrap();
    }
    let o = layerlaw(&[
        "measure",
        npy.to_str().unwrap(),
        "--layers",
        "layer3,layer0",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers[0]["name"], "layer3");
    assert!(rel(layers[1]["fuzziness"].as_f64().unwrap(), EXPECTED_D[0]) < 1e-9);
    // The table mode prints both conventions.
    let o = layerlaw(&["measure", npy.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("D (He-Su)") && out.contains("NC1 (Papyan)") && out.contains("Pearson r"));
}

#[test]
fn classifier_metrics_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = arrays(labels());
    // Classifier rows equal to the class-mean directions of the last layer (a nearest-mean classifier).
    let mut w = vec![0.0; K * P];
    for k in 0..K {
        for j in 0..P {
            w[k * P + j] = if j % K == k { 1.0 } else { 0.0 };
        }
    }
    a.push(NamedArray {
        name: "fc.weight".into(),
        shape: vec![K, P],
        data: ArrayData::F64(w),
    });
    let path = write_file(dir.path(), "c.safetensors", &a);
    let o = layerlaw(&[
        "measure",
        path.to_str().unwrap(),
        "--classifier-weight",
        "fc.weight",
        "--minority",
        "1,2",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["classifier"].is_object(), "{v}");
    assert_eq!(v["layers"].as_array().unwrap().len(), 4);
}

#[test]
fn bad_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Missing file.
    assert_fails(
        &layerlaw(&["measure", d.join("nope.npz").to_str().unwrap()]),
        &["nope.npz"],
    );
    // Unknown layer key.
    let good = write_file(d, "good.safetensors", &arrays(labels()));
    assert_fails(
        &layerlaw(&["measure", good.to_str().unwrap(), "--layers", "layer9"]),
        &["layer9"],
    );
    // Unknown labels key.
    assert_fails(
        &layerlaw(&["measure", good.to_str().unwrap(), "--labels", "y"]),
        &["y"],
    );
    // Label out of the range given by --num-classes.
    assert_fails(
        &layerlaw(&["measure", good.to_str().unwrap(), "--num-classes", "2"]),
        &["2"],
    );
    // An empty class within 0..K.
    assert_fails(
        &layerlaw(&["measure", good.to_str().unwrap(), "--num-classes", "4"]),
        &["3"],
    );
    // Fewer than two classes.
    let one = write_file(d, "one.safetensors", &arrays(vec![0; N]));
    assert_fails(&layerlaw(&["measure", one.to_str().unwrap()]), &["class"]);
    // Negative label.
    let mut neg = labels();
    neg[4] = -1;
    let negf = write_file(d, "neg.safetensors", &arrays(neg));
    assert_fails(
        &layerlaw(&["measure", negf.to_str().unwrap()]),
        &["neg.safetensors"],
    );
    // Labels of the wrong length.
    let short = write_file(d, "short.safetensors", &arrays(labels()[..N - 1].to_vec()));
    assert_fails(
        &layerlaw(&["measure", short.to_str().unwrap()]),
        &["short.safetensors"],
    );
    // NaN in a feature: the layer and row are named.
    let mut a = arrays(labels());
    if let ArrayData::F64(x) = &mut a[2].data {
        x[7 * P + 1] = f64::NAN;
    }
    let nan = write_file(d, "nan.safetensors", &a);
    assert_fails(
        &layerlaw(&["measure", nan.to_str().unwrap()]),
        &["nan.safetensors", "layer2", "7"],
    );
    // All class means equal: SS_b = 0.
    let flat: Vec<NamedArray> = vec![
        NamedArray {
            name: "h".into(),
            shape: vec![4, 1],
            data: ArrayData::F64(vec![1.0, -1.0, 1.0, -1.0]),
        },
        NamedArray {
            name: "labels".into(),
            shape: vec![4],
            data: ArrayData::Int(vec![0, 0, 1, 1]),
        },
    ];
    let flatf = write_file(d, "flat.safetensors", &flat);
    assert_fails(
        &layerlaw(&["measure", flatf.to_str().unwrap()]),
        &["flat.safetensors", "h"],
    );
    // Truncated file.
    let bytes = std::fs::read(&good).unwrap();
    let cut = d.join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    assert_fails(
        &layerlaw(&["measure", cut.to_str().unwrap()]),
        &["cut.safetensors"],
    );
    // Corrupt npz.
    let bad = d.join("bad.npz");
    std::fs::write(&bad, b"PK\x03\x04 definitely not a zip").unwrap();
    assert_fails(&layerlaw(&["measure", bad.to_str().unwrap()]), &["bad.npz"]);
    // Bad plot extension.
    assert_fails(
        &layerlaw(&[
            "measure",
            good.to_str().unwrap(),
            "--plot",
            d.join("x.pdf").to_str().unwrap(),
        ]),
        &["x.pdf"],
    );
}

#[test]
fn a_law_that_cannot_be_fitted_is_a_note_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    // Layer 1 puts every sample at its class mean: SS_w = 0, so D = 0 and ln D is undefined.
    let collapsed: Vec<f64> = (0..N)
        .flat_map(|i| (0..P).map(move |j| if i % K == j % K { 1.0 } else { 0.0 }))
        .collect();
    let mut a = arrays(labels());
    a[1].data = ArrayData::F64(collapsed);
    let path = write_file(dir.path(), "collapsed.safetensors", &a);
    let o = layerlaw(&["measure", path.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["layers"][1]["fuzziness"], 0.0);
    assert!(v["law"].is_null(), "{v}");
    let notes: Vec<&str> = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("law not fitted") && n.contains("layer 1")),
        "{notes:?}"
    );
    // The table prints the note; a single layer has no law either, and says so.
    let o = layerlaw(&["measure", path.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("note: law not fitted"));
    let o = layerlaw(&[
        "measure",
        path.to_str().unwrap(),
        "--layers",
        "layer0",
        "--json",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["law"].is_null());
    assert!(v["notes"][0]
        .as_str()
        .unwrap()
        .contains("need at least 2 layers"));
}
