//! Reading the fixtures written by `scripts/make_onnx_fixtures.py` (torch 2.15.0, onnx 1.23.2,
//! onnxscript 0.7.2, onnxruntime 1.32.0, numpy 2.4.6): for each model `NAME.onnx`,
//! `NAME.npz` holds the inputs and the PyTorch forward-hook outputs, `NAME.txt` which ONNX node
//! each hook output belongs to and the layers the paper measures.

#![allow(dead_code)]

use std::path::PathBuf;

/// Every model exported by the script, with its exporter and batch axis in the name.
pub const MODELS: &[&str] = &[
    "mlp_ts_dynamic",
    "mlp_dynamo",
    "cnn_ts_fixed",
    "cnn_dynamo",
    "resnet_ts_dynamic",
    "resnet_dynamo_external",
];

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

/// One array of an `.npz` file: shape and f32 values.
pub fn npz_array(npz: &str, key: &str) -> (Vec<usize>, Vec<f32>) {
    let mut archive = npyz::npz::NpzArchive::open(fixture(npz)).expect("open npz");
    let array = archive
        .by_name(key)
        .expect("read npz")
        .unwrap_or_else(|| panic!("{npz} has no array {key}"));
    let shape = array.shape().iter().map(|&d| d as usize).collect();
    (shape, array.into_vec::<f32>().expect("f32 array"))
}

/// The manifest of one model.
pub struct Manifest {
    /// (npz key, ONNX node name, PyTorch module name) per hooked layer.
    pub layers: Vec<(String, String, String)>,
    /// The paper's layers (`input` first), as ONNX node names.
    pub defaults: Vec<String>,
    /// Input shape after the batch axis.
    pub input_shape: Vec<usize>,
    /// `None` for a dynamic batch axis.
    pub batch: Option<usize>,
    pub opset: i64,
}

pub fn manifest(name: &str) -> Manifest {
    let text = std::fs::read_to_string(fixture(&format!("{name}.txt"))).expect("manifest");
    let mut m = Manifest {
        layers: vec![],
        defaults: vec![],
        input_shape: vec![],
        batch: None,
        opset: 0,
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        match f[0] {
            "default" => m.defaults.push(f[1].to_string()),
            "input_shape" => m.input_shape = f[1].split(' ').map(|d| d.parse().unwrap()).collect(),
            "batch" => m.batch = f[1].parse().ok(),
            "opset" => m.opset = f[1].parse().unwrap(),
            key => m
                .layers
                .push((key.to_string(), f[1].to_string(), f[2].to_string())),
        }
    }
    m
}

/// max |a - b| / max |b|: the error relative to the layer's scale.
pub fn relative_error(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f64, |m, &v| m.max(f64::from(v).abs()));
    let err = a.iter().zip(b).fold(0f64, |m, (&x, &y)| {
        m.max((f64::from(x) - f64::from(y)).abs())
    });
    err / scale.max(f64::MIN_POSITIVE)
}
