//! Bad models and bad input give errors that name the file and what is wrong.
//!
//! `two_inputs.onnx` and `unsupported_op.onnx` are made by `scripts/make_onnx_fixtures.py`;
//! the broken files are made here from the good fixtures.

mod common;

use std::path::Path;

use common::{fixture, npz_array};
use layerlaw_onnx::{OnnxError, OnnxModel};

fn load_err(path: &Path) -> (OnnxError, String) {
    let e = OnnxModel::load(path).expect_err("should fail");
    let msg = e.to_string();
    assert!(
        msg.contains(&path.display().to_string()),
        "no path in: {msg}"
    );
    (e, msg)
}

#[test]
fn garbage_bytes_are_not_onnx() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("garbage.onnx");
    // Deterministic pseudo-random bytes (a linear congruential generator).
    let mut state = 12345u64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect();
    std::fs::write(&p, &bytes).unwrap();
    let (e, msg) = load_err(&p);
    assert!(matches!(e, OnnxError::NotOnnx { .. }), "{msg}");
    assert!(msg.contains("not an ONNX model"), "{msg}");

    std::fs::write(&p, b"").unwrap();
    let (e, msg) = load_err(&p);
    assert!(matches!(e, OnnxError::NotOnnx { .. }), "{msg}");
    assert!(msg.contains("empty"), "{msg}");

    // A text file that starts like an ONNX header byte but is not protobuf.
    std::fs::write(&p, b"\x08\x07this is not a model\x00\xff\xff").unwrap();
    let (e, msg) = load_err(&p);
    assert!(matches!(e, OnnxError::NotOnnx { .. }), "{msg}");
}

#[test]
fn truncated_files_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("resnet_ts_dynamic.onnx")).unwrap();
    // Cut inside the graph, or in the operator-set import that the exporter writes after it.
    for (keep, want) in [
        (bytes.len() / 2, "graph"),
        (40, "graph"),
        (bytes.len() - 1, "opset_import"),
    ] {
        let p = dir.path().join("cut.onnx");
        std::fs::write(&p, &bytes[..keep]).unwrap();
        let (e, msg) = load_err(&p);
        match e {
            OnnxError::Truncated {
                len, needed, field, ..
            } => {
                assert_eq!(len, keep as u64);
                assert!(needed > len);
                assert_eq!(field, want, "{msg}");
            }
            other => panic!("{keep} bytes: {other}"),
        }
        assert!(msg.contains("truncated"), "{msg}");
    }
}

#[test]
fn missing_external_data_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("resnet_dynamo_external.onnx");
    std::fs::copy(fixture("resnet_dynamo_external.onnx"), &p).unwrap();
    let (e, msg) = load_err(&p);
    assert!(matches!(e, OnnxError::ExternalData { .. }), "{msg}");
    assert!(msg.contains("resnet_dynamo_external.onnx.data"), "{msg}");
    // A short data file.
    let data = std::fs::read(fixture("resnet_dynamo_external.onnx.data")).unwrap();
    std::fs::write(
        dir.path().join("resnet_dynamo_external.onnx.data"),
        &data[..100],
    )
    .unwrap();
    let (e, msg) = load_err(&p);
    assert!(matches!(e, OnnxError::ExternalData { .. }), "{msg}");
    assert!(msg.contains("has 100 bytes"), "{msg}");
    // Complete: loads.
    std::fs::write(dir.path().join("resnet_dynamo_external.onnx.data"), &data).unwrap();
    OnnxModel::load(&p).unwrap();
}

#[test]
fn a_missing_file_is_an_io_error() {
    let (e, msg) = load_err(Path::new("/nonexistent/model.onnx"));
    assert!(matches!(e, OnnxError::Io { .. }), "{msg}");
}

#[test]
fn two_inputs_are_listed() {
    let (e, msg) = load_err(&fixture("two_inputs.onnx"));
    match &e {
        OnnxError::InputCount { inputs, .. } => {
            assert_eq!(inputs, &["`image` [2, 4]", "`mask` [2, 4]"]);
        }
        other => panic!("{other}"),
    }
    assert!(msg.contains("2 graph inputs"), "{msg}");
    assert!(msg.contains("exactly one input"), "{msg}");
}

#[test]
fn an_unsupported_operator_names_itself_and_its_node() {
    let (e, msg) = load_err(&fixture("unsupported_op.onnx"));
    match &e {
        OnnxError::UnsupportedOp { op, node, .. } => {
            assert_eq!((op.as_str(), node.as_str()), ("LpPool", "pool_lp"));
        }
        other => panic!("{other}"),
    }
    assert!(
        msg.contains("`LpPool`") && msg.contains("`pool_lp`"),
        "{msg}"
    );
}

#[test]
fn a_wrong_input_shape_names_both_shapes() {
    let model = OnnxModel::load(fixture("cnn_dynamo.onnx")).unwrap();
    let runner = model.runner(&model.default_layers()).unwrap();
    let x = vec![0.0f32; 6 * 64];
    let e = runner
        .run_chunks(&x, &[6, 1, 8, 8], 4, |_, _| Ok::<(), OnnxError>(()))
        .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, OnnxError::InputShape { .. }), "{msg}");
    assert!(
        msg.contains("[batch, 3, 8, 8]") && msg.contains("[6, 1, 8, 8]"),
        "{msg}"
    );
    assert!(msg.contains("cnn_dynamo.onnx"), "{msg}");
    // Flattened images are not silently reshaped.
    let e = model.check_input_shape(&[6, 192]).unwrap_err();
    assert!(e.to_string().contains("[6, 192]"));
    // The values must fill the shape.
    let e = runner
        .run_chunks(&x, &[6, 3, 8, 8], 4, |_, _| Ok::<(), OnnxError>(()))
        .unwrap_err();
    assert!(
        matches!(
            e,
            OnnxError::InputLength {
                len: 384,
                expected: 1152,
                ..
            }
        ),
        "{e}"
    );
    // A chunk of zero rows.
    let x = vec![0.0f32; 6 * 192];
    let e = runner
        .run_chunks(&x, &[6, 3, 8, 8], 0, |_, _| Ok::<(), OnnxError>(()))
        .unwrap_err();
    assert!(matches!(e, OnnxError::Argument { .. }), "{e}");
}

#[test]
fn an_unknown_layer_lists_close_names() {
    let model = OnnxModel::load(fixture("resnet_ts_dynamic.onnx")).unwrap();
    let e = model.select(&["/blocks/blocks.0/relu2/Rleu"]).unwrap_err();
    match &e {
        OnnxError::UnknownLayer { spec, close, .. } => {
            assert_eq!(spec, "/blocks/blocks.0/relu2/Rleu");
            assert_eq!(close[0], "/blocks/blocks.0/relu2/Relu");
        }
        other => panic!("{other}"),
    }
    let msg = e.to_string();
    assert!(
        msg.contains("close names: /blocks/blocks.0/relu2/Relu"),
        "{msg}"
    );
    let e = model.select(&["globalavgpool"]).unwrap_err();
    assert!(e.to_string().contains("GlobalAveragePool"), "{e}");
    let e = model.select(&["qqqqqqqq"]).unwrap_err();
    assert!(
        matches!(&e, OnnxError::UnknownLayer { close, .. } if close.is_empty()),
        "{e}"
    );
}

#[test]
fn callback_errors_stop_the_run() {
    let model = OnnxModel::load(fixture("mlp_dynamo.onnx")).unwrap();
    let runner = model.runner(&model.default_layers()).unwrap();
    let (shape, x) = npz_array("mlp_dynamo.npz", "input");
    let mut seen = 0;
    let e = runner
        .run_chunks(&x, &shape, 2, |chunk, _| {
            seen += 1;
            if chunk == 1 {
                return Err(OnnxError::Argument {
                    path: "callback".into(),
                    reason: "stop".into(),
                });
            }
            Ok(())
        })
        .unwrap_err();
    assert!(e.to_string().contains("stop"), "{e}");
    assert_eq!(seen, 2);
    assert!(matches!(model.runner(&[]), Err(OnnxError::Argument { .. })));
}
