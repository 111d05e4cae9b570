//! `layerlaw measure-model` end to end, on the ONNX fixtures of `layerlaw-onnx` (made by
//! `scripts/make_onnx_fixtures.py`: torch 2.15.0, onnx 1.23.2; their layers match PyTorch's
//! forward hooks, checked in `crates/layerlaw-onnx/tests`).
//!
//! The reference for every layer is the dense textbook computation
//! (`layerlaw_geometry::reference::dense_separation`: p×p SS_w and SS_b, pseudo-inverse) on
//! that layer's rows for the whole input at once, while the command streams the inputs in
//! uneven chunks through two passes of O(pK) statistics.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use layerlaw_geometry::reference::dense_separation;
use layerlaw_geometry::{Labels, LayerFeatures};
use layerlaw_io::{write_npy, ArrayData, NamedArray};
use layerlaw_onnx::OnnxModel;
use serde_json::Value;

const N: usize = 41;
const K: usize = 4;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../layerlaw-onnx/tests/fixtures")
        .join(name)
}

fn layerlaw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerlaw"))
        .args(args)
        .output()
        .expect("run layerlaw")
}

/// Deterministic inputs (a sine pattern shifted by class) and labels `i % K`.
fn inputs(per_row: usize) -> (Vec<f32>, Vec<usize>) {
    let labels: Vec<usize> = (0..N).map(|i| i % K).collect();
    let mut x = Vec::with_capacity(N * per_row);
    for (i, &y) in labels.iter().enumerate() {
        for j in 0..per_row {
            let shift = if j % K == y { 0.8 } else { 0.0 };
            x.push(((0.37 * i as f64 + 1.3 * j as f64).sin() + shift) as f32);
        }
    }
    (x, labels)
}

fn write_inputs(dir: &Path, shape: &[usize]) -> (Vec<f32>, Vec<usize>) {
    let (x, y) = inputs(shape[1..].iter().product());
    write_npy(
        &dir.join("inputs.npy"),
        &NamedArray {
            name: "inputs".into(),
            shape: shape.to_vec(),
            data: ArrayData::F32(x.clone()),
        },
    )
    .unwrap();
    write_npy(
        &dir.join("labels.npy"),
        &NamedArray {
            name: "labels".into(),
            shape: vec![N],
            data: ArrayData::Int(y.iter().map(|&v| v as i64).collect()),
        },
    )
    .unwrap();
    (x, y)
}

/// Dense D of every default layer, from one run of the whole input.
fn reference(model: &str, x: &[f32], shape: &[usize], y: &[usize]) -> Vec<(String, f64)> {
    let model = OnnxModel::load(fixture(model)).unwrap();
    let runner = model.runner(&model.default_layers()).unwrap();
    let labels = Labels::new(&y.iter().map(|&v| v as i64).collect::<Vec<_>>(), Some(K)).unwrap();
    let mut out = Vec::new();
    runner
        .run_chunks(x, shape, N, |_, rows| {
            for layer in rows {
                let dense = match layer.features {
                    LayerFeatures::F32(m) => dense_separation(m, &labels, 1e-6),
                    LayerFeatures::F64(m) => dense_separation(m, &labels, 1e-6),
                }
                .unwrap();
                out.push((layer.name.to_string(), dense.fuzziness));
            }
            Ok::<(), layerlaw_onnx::OnnxError>(())
        })
        .unwrap();
    out
}

fn measure(model: &str, dir: &Path, extra: &[&str]) -> Value {
    let m = fixture(model);
    let inputs = dir.display().to_string();
    let mut args = vec![
        "measure-model",
        m.to_str().unwrap(),
        "--inputs",
        &inputs,
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = layerlaw(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn resnet_layers_match_the_dense_reference_in_uneven_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let shape = [N, 3, 8, 8];
    let (x, y) = write_inputs(dir.path(), &shape);
    let want = reference("resnet_ts_dynamic.onnx", &x, &shape, &y);
    let got = measure("resnet_ts_dynamic.onnx", dir.path(), &["--chunk", "5"]);
    let layers = got["layers"].as_array().unwrap();
    assert_eq!(layers.len(), want.len());
    for (l, (name, d)) in layers.iter().zip(&want) {
        assert_eq!(l["name"].as_str().unwrap(), name);
        let got_d = l["fuzziness"].as_f64().unwrap();
        assert!(
            (got_d - d).abs() <= 1e-5 * d.abs(),
            "{name}: {got_d} vs dense {d}"
        );
    }
    assert_eq!(got["n"], N);
    assert_eq!(got["classes"], K);
    assert!(got["law"]["rho"].as_f64().unwrap() > 0.0);
    // The final Gemm (4 classes × 16 features) is the classifier of the last default layer.
    assert!(
        got["classifier"]["nc4"].as_f64().is_some(),
        "{}",
        got["classifier"]
    );
    let weight_layer = layers.last().unwrap()["dim"].as_u64().unwrap();
    assert_eq!(weight_layer, 16);
}

#[test]
fn chunk_size_does_not_change_the_report() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), &[N, 3, 8, 8]);
    let a = measure("cnn_ts_fixed.onnx", dir.path(), &["--chunk", "3"]);
    let b = measure("cnn_ts_fixed.onnx", dir.path(), &["--chunk", "64"]);
    let d = |v: &Value| -> Vec<f64> {
        v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["fuzziness"].as_f64().unwrap())
            .collect()
    };
    // The model's batch axis is fixed: the chunk flag does not change how it runs.
    assert_eq!(d(&a), d(&b));
}

#[test]
fn named_layers_list_layers_and_manifest() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), &[N, 3, 8, 8]);
    let out_dir = dir.path().join("out");
    let out = out_dir.display().to_string();
    let got = measure(
        "resnet_ts_dynamic.onnx",
        dir.path(),
        &["--layers", "input,add", "--out", &out],
    );
    let names: Vec<&str> = got["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "input",
            "/blocks/blocks.0/add/Add",
            "/blocks/blocks.1/add/Add"
        ]
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(
        manifest["data"]["model_sha256"].as_str().unwrap().len(),
        64,
        "{manifest}"
    );
    assert!(out_dir.join("report.json").exists());

    let m = fixture("resnet_ts_dynamic.onnx");
    let inputs = dir.path().display().to_string();
    let listed = layerlaw(&[
        "measure-model",
        m.to_str().unwrap(),
        "--inputs",
        &inputs,
        "--list-layers",
    ]);
    assert!(listed.status.success());
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(text.contains("/pool/GlobalAveragePool"), "{text}");
    assert!(text.contains("[8, 16, 1, 1]"), "{text}");
}

#[test]
fn bad_inputs_name_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), &[N, 3, 8, 8]);
    let inputs = dir.path().display().to_string();
    let run = |model: &str, extra: &[&str]| {
        let m = fixture(model);
        let mut args = vec!["measure-model", m.to_str().unwrap(), "--inputs", &inputs];
        args.extend_from_slice(extra);
        let out = layerlaw(&args);
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let e = run(
        "resnet_ts_dynamic.onnx",
        &["--layers", "/blocks/blocks.0/relu3/Relu"],
    );
    assert!(
        e.contains("relu3") && e.contains("/blocks/blocks.0/relu1/Relu"),
        "{e}"
    );
    let e = run("mlp_ts_dynamic.onnx", &[]);
    assert!(e.contains("[41, 3, 8, 8]"), "{e}");
    let e = run("two_inputs.onnx", &[]);
    assert!(e.to_lowercase().contains("input"), "{e}");
    let e = run("resnet_ts_dynamic.onnx", &["--input-key", "pixels"]);
    assert!(e.contains("pixels") && e.contains("inputs"), "{e}");
}
