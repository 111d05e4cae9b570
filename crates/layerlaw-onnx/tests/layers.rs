//! Every layer of the fixture models against PyTorch forward hooks, the paper's default
//! layers, layer selection by operator, the classifier weights and determinism.
//!
//! The fixtures and their reference values are made by `scripts/make_onnx_fixtures.py`
//! (see `tests/common/mod.rs` for the versions).

mod common;

use common::{fixture, manifest, npz_array, relative_error, MODELS};
use layerlaw_geometry::LayerFeatures;
use layerlaw_onnx::{Dim, OnnxError, OnnxModel};

/// Runs `layers` over the fixture's inputs with `chunk` rows and collects each layer's rows.
fn collect(
    model: &OnnxModel,
    specs: &[&str],
    chunk: usize,
    threads: usize,
) -> (Vec<String>, Vec<Vec<f32>>, layerlaw_onnx::RunReport) {
    let name = model
        .path()
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let (shape, x) = npz_array(&format!("{name}.npz"), "input");
    let layers = model.select(specs).expect("select");
    let runner = model.runner(&layers).expect("runner").with_threads(threads);
    let mut values = vec![Vec::new(); layers.len()];
    let report = runner
        .run_chunks(&x, &shape, chunk, |_, rows| {
            for (v, l) in values.iter_mut().zip(rows) {
                let LayerFeatures::F32(m) = l.features else {
                    panic!("{} is not f32", l.name)
                };
                for i in 0..m.nrows() {
                    v.extend((0..m.ncols()).map(|j| m[(i, j)]));
                }
            }
            Ok::<(), OnnxError>(())
        })
        .expect("run");
    (
        layers.iter().map(|l| l.name.clone()).collect(),
        values,
        report,
    )
}

#[test]
fn every_layer_matches_pytorch_hooks() {
    for name in MODELS {
        let m = manifest(name);
        let model = OnnxModel::load(fixture(&format!("{name}.onnx"))).expect("load");
        assert_eq!(model.opset(), m.opset, "{name}");
        let specs: Vec<&str> = m.layers.iter().map(|(_, node, _)| node.as_str()).collect();
        // Chunks of 4 rows over the 6 samples: one full chunk and a short (or padded) one.
        let (names, values, report) = collect(&model, &specs, 4, 1);
        assert_eq!(report.rows, 6);
        assert_eq!(report.chunks, 2);
        assert_eq!(report.chunk_rows, 4);
        assert_eq!(
            names.len(),
            m.layers.len(),
            "{name}: one layer per hooked node"
        );
        for (key, node, module) in &m.layers {
            let j = names.iter().position(|n| n == node).expect("selected");
            let (shape, want) = npz_array(&format!("{name}.npz"), key);
            assert_eq!(
                values[j].len(),
                want.len(),
                "{name} {node} ({module}) {shape:?}"
            );
            let err = relative_error(&values[j], &want);
            assert!(
                err <= 1e-5,
                "{name} {node} ({module}): relative error {err:e}"
            );
        }
    }
}

#[test]
fn input_shapes_and_batch_axes() {
    for name in MODELS {
        let m = manifest(name);
        let model = OnnxModel::load(fixture(&format!("{name}.onnx"))).expect("load");
        let input = model.input_shape();
        let rest: Vec<Dim> = m.input_shape.iter().map(|&d| Dim::Fixed(d)).collect();
        assert_eq!(&input.dims[1..], &rest[..], "{name}");
        assert_eq!(input.fixed_batch(), m.batch, "{name}");
        assert!(
            model.producer().starts_with("pytorch"),
            "{}",
            model.producer()
        );
    }
    let model = OnnxModel::load(fixture("cnn_ts_fixed.onnx")).unwrap();
    assert_eq!(model.input_shape().to_string(), "[4, 3, 8, 8]");
    let model = OnnxModel::load(fixture("resnet_ts_dynamic.onnx")).unwrap();
    assert_eq!(model.input_shape().to_string(), "[batch, 3, 8, 8]");
}

#[test]
fn default_layers_follow_the_paper() {
    for name in MODELS {
        let m = manifest(name);
        let model = OnnxModel::load(fixture(&format!("{name}.onnx"))).expect("load");
        let got: Vec<String> = model.default_layers().into_iter().map(|l| l.name).collect();
        assert_eq!(got, m.defaults, "{name}");
        assert_eq!(model.select(&["default"]).unwrap(), model.default_layers());
    }
    // Written out for one model: the stem, each residual block's output (the ReLU after the
    // sum, not the ReLU inside the block) and the flattened pooled features, no logits.
    let model = OnnxModel::load(fixture("resnet_ts_dynamic.onnx")).unwrap();
    let got: Vec<String> = model.default_layers().into_iter().map(|l| l.name).collect();
    assert_eq!(
        got,
        [
            "input",
            "/relu/Relu",
            "/blocks/blocks.0/relu2/Relu",
            "/blocks/blocks.1/relu2/Relu",
            "/flatten/Flatten"
        ]
    );
}

#[test]
fn operators_select_every_node_of_their_kind() {
    let model = OnnxModel::load(fixture("resnet_ts_dynamic.onnx")).unwrap();
    let names = |specs: &[&str]| -> Vec<String> {
        model
            .select(specs)
            .unwrap()
            .into_iter()
            .map(|l| l.name)
            .collect()
    };
    assert_eq!(names(&["relu"]).len(), 5);
    assert_eq!(
        names(&["add"]),
        ["/blocks/blocks.0/add/Add", "/blocks/blocks.1/add/Add"]
    );
    assert_eq!(names(&["GlobalAveragePool"]), ["/pool/GlobalAveragePool"]);
    // Graph order, input first, duplicates removed, tensor names accepted.
    assert_eq!(
        names(&[
            "flatten",
            "add",
            "input",
            "/relu/Relu_output_0",
            "/relu/Relu"
        ]),
        [
            "input",
            "/relu/Relu",
            "/blocks/blocks.0/add/Add",
            "/blocks/blocks.1/add/Add",
            "/flatten/Flatten"
        ]
    );
    // The dynamo exporter writes the pooling as ReduceMean and the flatten as Reshape.
    let model = OnnxModel::load(fixture("resnet_dynamo_external.onnx")).unwrap();
    let adds: Vec<String> = model
        .select(&["add"])
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(adds, ["node_add", "node_add_1"]);
}

#[test]
fn classifier_weights_are_the_last_linear_layer() {
    for name in MODELS {
        let model = OnnxModel::load(fixture(&format!("{name}.onnx"))).expect("load");
        let c = model.classifier().unwrap().expect("a linear head");
        let (wshape, w) = npz_array(&format!("{name}.npz"), "classifier_weight");
        let (_, b) = npz_array(&format!("{name}.npz"), "classifier_bias");
        assert_eq!([c.classes, c.dim], [wshape[0], wshape[1]], "{name}");
        assert!(relative_error(&c.weight, &w) <= 1e-7, "{name} weight");
        assert!(
            relative_error(c.bias.as_deref().unwrap(), &b) <= 1e-7,
            "{name} bias"
        );
        // The penultimate layer (last default layer) has the classifier's dimension.
        let pen = model.default_layers().pop().unwrap();
        let (shape, x) = npz_array(&format!("{name}.npz"), "input");
        let info = model.candidate_layers(&x, &shape).unwrap();
        let pen_info = info.iter().find(|i| i.name == pen.name).unwrap();
        assert_eq!(pen_info.dim(), c.dim, "{name}");
    }
}

#[test]
fn candidate_layers_list_names_ops_and_shapes() {
    let model = OnnxModel::load(fixture("resnet_ts_dynamic.onnx")).unwrap();
    let (shape, x) = npz_array("resnet_ts_dynamic.npz", "input");
    let info = model.candidate_layers(&x, &shape).unwrap();
    assert_eq!(info[0].name, "input");
    assert_eq!(info[0].output_shape, [6, 3, 8, 8]);
    let find = |n: &str| info.iter().find(|i| i.name == n).unwrap();
    assert_eq!(find("/pool/GlobalAveragePool").output_shape, [6, 16, 1, 1]);
    assert_eq!(find("/pool/GlobalAveragePool").op, "GlobalAveragePool");
    assert_eq!(find("/blocks/blocks.1/add/Add").output_shape, [6, 16, 4, 4]);
    assert_eq!(find("/fc/Gemm").output_shape, [6, 4]);
    // A fixed-batch model runs its own batch of 4.
    let model = OnnxModel::load(fixture("cnn_ts_fixed.onnx")).unwrap();
    let (shape, x) = npz_array("cnn_ts_fixed.npz", "input");
    let info = model.candidate_layers(&x, &shape).unwrap();
    assert!(info.iter().all(|i| i.output_shape[0] == 4), "{info:?}");
    assert!(info
        .iter()
        .any(|i| i.name == "/flatten/Flatten" && i.dim() == 64));
}

#[test]
fn runs_are_deterministic_across_repeats_chunks_and_threads() {
    let model = OnnxModel::load(fixture("resnet_ts_dynamic.onnx")).unwrap();
    let (_, a, _) = collect(&model, &["default"], 4, 1);
    let (_, b, _) = collect(&model, &["default"], 4, 1);
    assert_eq!(a, b);
    let (_, c, report) = collect(&model, &["default"], 4, 2);
    assert_eq!(report.threads, 2);
    assert_eq!(a, c, "two threads give the same bits");
    let (_, d, report) = collect(&model, &["default"], 6, 1);
    assert_eq!(report.chunks, 1);
    for (x, y) in a.iter().zip(&d) {
        assert!(relative_error(x, y) <= 1e-6);
    }
}

#[test]
fn a_fixed_batch_model_runs_its_batch_whatever_the_chunk() {
    let model = OnnxModel::load(fixture("cnn_ts_fixed.onnx")).unwrap();
    let (_, a, report) = collect(&model, &["default"], 3, 1);
    assert_eq!((report.chunk_rows, report.chunks), (4, 2));
    // The padded rows of the second chunk are dropped: 6 rows per layer.
    let dims = [3 * 8 * 8, 8 * 8 * 8, 16 * 4 * 4, 32];
    for (v, d) in a.iter().zip(dims) {
        assert_eq!(v.len(), 6 * d);
    }
}

/// `activations.onnx`: x → MatMul+bias → SiLU (`a * Sigmoid(a)`) → GELU through `Erf`
/// (`0.5 * g * (1 + Erf(g / sqrt 2))`) → MatMul+bias, with float64 numpy references.
#[test]
fn decomposed_activations_and_a_matmul_head() {
    let model = OnnxModel::load(fixture("activations.onnx")).unwrap();
    let names: Vec<String> = model.default_layers().into_iter().map(|l| l.name).collect();
    // The blocks end at the gating products, not at Sigmoid or Erf.
    assert_eq!(names, ["input", "silu_mul", "gelu_half"]);
    let (_, values, _) = collect(&model, &["silu_mul", "gelu_half"], 2, 2);
    let (_, silu) = npz_array("activations.npz", "silu");
    let (_, gelu) = npz_array("activations.npz", "gelu");
    assert!(relative_error(&values[0], &silu) <= 1e-5);
    assert!(relative_error(&values[1], &gelu) <= 1e-5);
    // MatMul head: W = W2ᵀ (3×6), bias from the Add after it.
    let c = model.classifier().unwrap().unwrap();
    let (_, w2) = npz_array("activations.npz", "W2");
    let (_, b2) = npz_array("activations.npz", "b2");
    assert_eq!((c.node.as_str(), c.classes, c.dim), ("fc2", 3, 6));
    for k in 0..3 {
        for j in 0..6 {
            assert_eq!(c.weight[k * 6 + j], w2[j * 3 + k]);
        }
    }
    assert_eq!(c.bias.unwrap(), b2);
    // Only bias additions here: `add` (residual sums) is refused with the reason.
    let e = model.select(&["add"]).unwrap_err();
    assert!(matches!(e, OnnxError::BadLayer { .. }), "{e}");
    assert!(e.to_string().contains("only add constants"), "{e}");
}
