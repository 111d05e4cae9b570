//! `load_feature_set`: label rules, layer selection (implicit and explicit), classifier shapes,
//! finiteness, and the errors for each rule.

mod common;

use common::{arr, fixture, vals, vals32};
use layerlaw_io::{
    load_feature_set, write_npy, write_safetensors, ArrayData, IoError, NamedArray, Selection,
};

fn sel(layers: Option<&[&str]>) -> Selection {
    Selection {
        layers: layers.map(|l| l.iter().map(|s| s.to_string()).collect()),
        ..Selection::default()
    }
}

/// Writes `arrays` to a fresh safetensors file and returns (tempdir guard, path).
fn st_file(arrays: &[NamedArray]) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.safetensors");
    write_safetensors(&path, arrays, &[]).unwrap();
    (dir, path)
}

fn labels6() -> NamedArray {
    arr("labels", &[6], ArrayData::Int(vec![0, 1, 2, 0, 1, 2]))
}

#[test]
fn implicit_selection_from_savez_with_classifier() {
    let s = Selection {
        classifier_weight: Some("fc_weight".into()),
        classifier_bias: Some("fc_bias".into()),
        ..Selection::default()
    };
    let fs = load_feature_set(&fixture("plain.npz"), &s).unwrap();
    let names: Vec<_> = fs
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.index, l.rows, l.cols))
        .collect();
    assert_eq!(
        names,
        [
            ("layer1", 0, 6, 2),
            ("layer2", 1, 6, 3),
            ("layer10", 2, 6, 4)
        ]
    );
    assert_eq!(fs.labels, [0, 1, 2, 0, 1, 2]);
    assert_eq!(fs.layers[2].data, ArrayData::F32(vals32(24, -1.0, 1.0)));
    assert_eq!(fs.layers[0].data, ArrayData::F64(vals(12, 2.0, 3.0)));
    assert_eq!(fs.classifier_weight, Some((3, 4, vals(12, 1.0, 0.0))));
    assert_eq!(fs.classifier_bias, Some(vec![0.5, -0.5, 0.25]));
    assert!(fs.skipped.is_empty(), "{:?}", fs.skipped);
}

#[test]
fn implicit_selection_skips_wrong_n_rank1_and_integer_arrays_with_notes() {
    let fs = load_feature_set(&fixture("compressed.npz"), &Selection::default()).unwrap();
    let names: Vec<_> = fs.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["block.3.relu", "block.12.relu"]);
    assert_eq!(fs.skipped.len(), 1);
    assert!(
        fs.skipped[0].contains("proto") && fs.skipped[0].contains("5 rows"),
        "{:?}",
        fs.skipped
    );

    // Without a classifier selection, fc_weight (3 rows) and fc_bias (rank 1) are skipped.
    let fs = load_feature_set(&fixture("plain.npz"), &Selection::default()).unwrap();
    assert_eq!(fs.layers.len(), 3);
    assert_eq!(fs.skipped.len(), 2, "{:?}", fs.skipped);
    assert!(fs.skipped[0].contains("fc_bias") && fs.skipped[0].contains("rank-1"));
    assert!(fs.skipped[1].contains("fc_weight") && fs.skipped[1].contains("3 rows"));

    let (_d, p) = st_file(&[
        labels6(),
        arr("ids", &[6, 2], ArrayData::Int(vec![0; 12])),
        arr("h", &[6, 1], ArrayData::F32(vec![1.0; 6])),
    ]);
    let fs = load_feature_set(&p, &Selection::default()).unwrap();
    assert_eq!(fs.layers.len(), 1);
    assert!(
        fs.skipped[0].contains("ids") && fs.skipped[0].contains("integer"),
        "{:?}",
        fs.skipped
    );
}

#[test]
fn explicit_layers_keep_the_given_order() {
    let fs = load_feature_set(
        &fixture("mixed.safetensors"),
        &sel(Some(&["feat.f32", "feat.f16", "feat.bf16"])),
    )
    .unwrap();
    let names: Vec<_> = fs
        .layers
        .iter()
        .map(|l| (l.name.as_str(), l.index))
        .collect();
    assert_eq!(names, [("feat.f32", 0), ("feat.f16", 1), ("feat.bf16", 2)]);
    assert_eq!(fs.layers[2].data, ArrayData::F32(vals32(12, 1.0, -3.0)));
    // An explicitly chosen integer array is converted, with a note; a rank-1 array is n × 1.
    let (_d, p) = st_file(&[
        labels6(),
        arr("pix", &[6, 2], ArrayData::Int((0..12).collect())),
        arr("r", &[6], ArrayData::F64(vec![0.5; 6])),
    ]);
    let fs = load_feature_set(&p, &sel(Some(&["pix", "r"]))).unwrap();
    assert_eq!(
        fs.layers[0].data,
        ArrayData::F64((0..12).map(f64::from).collect())
    );
    assert_eq!((fs.layers[1].rows, fs.layers[1].cols), (6, 1));
    assert!(fs.skipped[0].contains("pix"), "{:?}", fs.skipped);
}

#[test]
fn directory_with_u8_labels() {
    let fs = load_feature_set(&fixture("npydir"), &Selection::default()).unwrap();
    assert_eq!(fs.labels, [0, 1, 2, 0, 1, 2]);
    assert_eq!(fs.layers.len(), 2);
    assert!(fs.skipped[0].contains("README.txt"));
}

#[test]
fn integral_float_labels_are_accepted_with_a_note_others_rejected() {
    let layer = arr("l", &[3, 1], ArrayData::F32(vec![1.0, 2.0, 3.0]));
    let (_d, p) = st_file(&[
        arr("labels", &[3], ArrayData::F32(vec![2.0, 0.0, 1.0])),
        layer.clone(),
    ]);
    let fs = load_feature_set(&p, &Selection::default()).unwrap();
    assert_eq!(fs.labels, [2, 0, 1]);
    assert!(
        fs.skipped.iter().any(|n| n.contains("integral")),
        "{:?}",
        fs.skipped
    );

    for bad in [0.5, f64::NAN, 1e19] {
        let (_d, p) = st_file(&[
            arr("labels", &[3], ArrayData::F64(vec![1.0, bad, 0.0])),
            layer.clone(),
        ]);
        let err = load_feature_set(&p, &Selection::default()).unwrap_err();
        assert!(
            matches!(&err, IoError::LabelsNotInteger { row: 1, key, .. } if key == "labels"),
            "{err}"
        );
        assert!(err.to_string().contains("labels are not integers"), "{err}");
        assert!(err.to_string().contains("f.safetensors"), "{err}");
    }
}

#[test]
fn label_shape_and_length_errors() {
    let (_d, p) = st_file(&[
        arr("labels", &[3, 2], ArrayData::Int(vec![0; 6])),
        arr("l", &[3, 1], ArrayData::F32(vec![0.0; 3])),
    ]);
    let err = load_feature_set(&p, &Selection::default()).unwrap_err();
    assert!(matches!(err, IoError::LabelsShape { .. }), "{err}");

    let (_d, p) = st_file(&[
        arr("labels", &[5], ArrayData::Int(vec![0; 5])),
        arr("l", &[6, 2], ArrayData::F32(vec![0.0; 12])),
    ]);
    for s in [Selection::default(), sel(Some(&["l"]))] {
        let err = load_feature_set(&p, &s).unwrap_err();
        assert!(
            matches!(&err, IoError::LabelLengthMismatch { labels_len: 5, rows: 6, layer, .. } if layer == "l"),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("\"labels\" has 5 labels but layer \"l\" has 6 rows"),
            "{err}"
        );
    }
}

#[test]
fn layers_with_different_n_name_both() {
    let (_d, p) = st_file(&[
        labels6(),
        arr("a", &[6, 1], ArrayData::F32(vec![0.0; 6])),
        arr("b", &[4, 1], ArrayData::F32(vec![0.0; 4])),
    ]);
    let err = load_feature_set(&p, &sel(Some(&["a", "b"]))).unwrap_err();
    assert!(
        matches!(&err, IoError::LayerRowsMismatch { first, first_rows: 6, second, second_rows: 4, .. } if first == "a" && second == "b"),
        "{err}"
    );
}

#[test]
fn unknown_keys_list_what_is_available() {
    let err = load_feature_set(
        &fixture("mixed.safetensors"),
        &sel(Some(&["feat.f32", "feat.f8"])),
    )
    .unwrap_err();
    assert!(
        matches!(&err, IoError::UnknownKey { key, .. } if key == "feat.f8"),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("mixed.safetensors") && msg.contains("feat.bf16, feat.f16"),
        "{msg}"
    );

    let s = Selection {
        labels_key: "y".into(),
        ..Selection::default()
    };
    let err = load_feature_set(&fixture("plain.npz"), &s).unwrap_err();
    assert!(
        matches!(&err, IoError::UnknownKey { key, .. } if key == "y"),
        "{err}"
    );

    let s = Selection {
        classifier_weight: Some("head".into()),
        ..Selection::default()
    };
    assert!(matches!(
        load_feature_set(&fixture("plain.npz"), &s),
        Err(IoError::UnknownKey { .. })
    ));

    // A single .npy has no labels: the message says what to do.
    let err = load_feature_set(&fixture("fortran.npy"), &Selection::default()).unwrap_err();
    assert!(
        err.to_string().contains("a single .npy holds one array"),
        "{err}"
    );
}

#[test]
fn nan_and_inf_are_located() {
    let mut data = vec![0.0f32; 6 * 4];
    data[3 * 4 + 2] = f32::NAN;
    let (_d, p) = st_file(&[labels6(), arr("conv", &[6, 2, 2], ArrayData::F32(data))]);
    let err = load_feature_set(&p, &Selection::default()).unwrap_err();
    assert!(
        matches!(&err, IoError::NonFinite { row: 3, col: 2, layer, .. } if layer == "conv"),
        "{err}"
    );
    assert!(err.to_string().contains("f.safetensors"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let mut data = vec![1.0f64; 6 * 3];
    data[17] = f64::NEG_INFINITY;
    write_npy(&dir.path().join("labels.npy"), &labels6()).unwrap();
    write_npy(
        &dir.path().join("h.npy"),
        &arr("h", &[6, 3], ArrayData::F64(data)),
    )
    .unwrap();
    let err = load_feature_set(dir.path(), &Selection::default()).unwrap_err();
    assert!(
        matches!(err, IoError::NonFinite { row: 5, col: 2, value, .. } if value == f64::NEG_INFINITY),
        "{err}"
    );
}

#[test]
fn classifier_shapes_are_checked() {
    let layer = arr("h", &[6, 3], ArrayData::F32(vec![0.0; 18]));
    let w_bad = arr("w", &[2, 4], ArrayData::F32(vec![0.0; 8]));
    let (_d, p) = st_file(&[labels6(), layer.clone(), w_bad]);
    let s = Selection {
        classifier_weight: Some("w".into()),
        ..Selection::default()
    };
    let err = load_feature_set(&p, &s).unwrap_err();
    assert!(
        matches!(&err, IoError::ClassifierShape { key, .. } if key == "w"),
        "{err}"
    );
    assert!(err.to_string().contains("K × 3"), "{err}");

    let w = arr("w", &[2, 3], ArrayData::F32(vec![0.0; 6]));
    let b = arr("b", &[3], ArrayData::F32(vec![0.0; 3]));
    let (_d, p) = st_file(&[labels6(), layer, w, b]);
    let s = Selection {
        classifier_weight: Some("w".into()),
        classifier_bias: Some("b".into()),
        ..Selection::default()
    };
    let err = load_feature_set(&p, &s).unwrap_err();
    assert!(
        matches!(&err, IoError::ClassifierShape { key, .. } if key == "b"),
        "{err}"
    );
}

#[test]
fn empty_selections_are_errors() {
    let (_d, p) = st_file(&[labels6(), arr("v", &[6], ArrayData::F32(vec![0.0; 6]))]);
    let err = load_feature_set(&p, &Selection::default()).unwrap_err();
    assert!(matches!(err, IoError::EmptySelection { .. }), "{err}");
    let err = load_feature_set(&fixture("plain.npz"), &sel(Some(&[]))).unwrap_err();
    assert!(matches!(err, IoError::EmptySelection { .. }), "{err}");
    let err =
        load_feature_set(&fixture("plain.npz"), &sel(Some(&["layer1", "layer1"]))).unwrap_err();
    assert!(matches!(err, IoError::NotALayer { .. }), "{err}");
    let (_d, p) = st_file(&[
        arr("labels", &[0], ArrayData::Int(vec![])),
        arr("h", &[0, 2], ArrayData::F32(vec![])),
    ]);
    assert!(matches!(
        load_feature_set(&p, &Selection::default()),
        Err(IoError::EmptySelection { .. })
    ));
}

#[test]
fn a_layer_like_array_with_the_wrong_row_count_is_an_error_unless_skipped() {
    let (_d, p) = st_file(&[
        labels6(),
        arr("block.1.relu", &[6, 2], ArrayData::F32(vec![0.5; 12])),
        arr("block.2.relu", &[5, 2], ArrayData::F32(vec![0.5; 10])),
        arr("block.3.relu", &[6, 3], ArrayData::F64(vec![0.5; 18])),
        arr("fc.weight", &[3, 3], ArrayData::F32(vec![0.5; 9])),
        arr("fc.bias", &[3], ArrayData::F32(vec![0.5; 3])),
    ]);
    let err = load_feature_set(&p, &Selection::default()).unwrap_err();
    assert!(
        matches!(&err, IoError::MismatchedLayer { key, like, rows: 5, labels_len: 6, .. }
            if key == "block.2.relu" && like == "block.1.relu"),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("f.safetensors")
            && msg.contains("\"block.2.relu\"")
            && msg.contains("--skip-mismatched"),
        "{msg}"
    );

    // skip_mismatched: today's note-and-skip; the classifier arrays are outside the layers
    // either way, without an error.
    let s = Selection {
        skip_mismatched: true,
        ..Selection::default()
    };
    let fs = load_feature_set(&p, &s).unwrap();
    let names: Vec<_> = fs.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["block.1.relu", "block.3.relu"]);
    assert!(
        fs.skipped
            .iter()
            .any(|n| n.contains("block.2.relu") && n.contains("5 rows")),
        "{:?}",
        fs.skipped
    );

    // Naming the layers bypasses the policy; so does naming the array as the classifier.
    let fs = load_feature_set(&p, &sel(Some(&["block.1.relu", "block.3.relu"]))).unwrap();
    assert_eq!(fs.layers.len(), 2);
    let (_d, p) = st_file(&[
        labels6(),
        arr("layer1", &[6, 2], ArrayData::F32(vec![0.5; 12])),
        arr("layer2", &[3, 2], ArrayData::F32(vec![0.5; 6])),
    ]);
    let s = Selection {
        classifier_weight: Some("layer2".into()),
        ..Selection::default()
    };
    let fs = load_feature_set(&p, &s).unwrap();
    assert_eq!(fs.layers.len(), 1);
    assert_eq!(fs.classifier_weight.as_ref().map(|w| w.0), Some(3));
}
