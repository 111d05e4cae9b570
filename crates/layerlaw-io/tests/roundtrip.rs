//! Round trips through the writers: `write_safetensors` and `write_npy` / `encode_npy`.

mod common;

use common::arr;
use layerlaw_io::{
    encode_npy, read_arrays, write_npy, write_safetensors, ArrayData, IoError, NamedArray,
};

fn sample_arrays() -> Vec<NamedArray> {
    vec![
        arr(
            "layer10",
            &[3, 2, 2],
            ArrayData::F32((0..12).map(|i| i as f32 * 0.3 - 1.0).collect()),
        ),
        arr(
            "layer2",
            &[3, 4],
            ArrayData::F64((0..12).map(|i| (i as f64).sqrt() * 1e-7).collect()),
        ),
        arr("labels", &[3], ArrayData::Int(vec![-5, i64::MAX, i64::MIN])),
        arr("scalar", &[], ArrayData::F64(vec![std::f64::consts::PI])),
        arr("empty", &[0, 7], ArrayData::F32(vec![])),
    ]
}

#[test]
fn safetensors_round_trip_is_bit_exact_with_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feats.safetensors");
    let meta = vec![
        ("model".to_string(), "mlp".to_string()),
        ("epoch".to_string(), "350".to_string()),
    ];
    write_safetensors(&path, &sample_arrays(), &meta).unwrap();
    let back = read_arrays(&path).unwrap();
    let mut expected = sample_arrays();
    expected.sort_by(|a, b| layerlaw_io::natural_cmp(&a.name, &b.name));
    assert_eq!(back.arrays, expected);
    let mut meta_sorted = meta.clone();
    meta_sorted.sort();
    assert_eq!(back.metadata, meta_sorted);
    // No temporary file is left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn npy_round_trip_each_dtype_and_directory() {
    let dir = tempfile::tempdir().unwrap();
    for a in sample_arrays() {
        write_npy(&dir.path().join(format!("{}.npy", a.name)), &a).unwrap();
        let back = read_arrays(&dir.path().join(format!("{}.npy", a.name))).unwrap();
        assert_eq!(back.arrays, vec![a]);
    }
    let all = read_arrays(dir.path()).unwrap();
    assert_eq!(all.arrays.len(), 5);
    assert_eq!(all.arrays[0].name, "empty");
}

#[test]
fn npy_header_matches_numpy_layout() {
    let a = arr("x", &[6], ArrayData::Int(vec![1, 2, 3, 4, 5, 6]));
    let bytes = encode_npy(std::path::Path::new("x.npy"), &a).unwrap();
    // numpy.save(np.arange(1, 7)) writes exactly this 128-byte header (numpy 2.4).
    let header = "{'descr': '<i8', 'fortran_order': False, 'shape': (6,), }";
    assert_eq!(&bytes[..10], b"\x93NUMPY\x01\x00\x76\x00");
    assert_eq!(&bytes[10..10 + header.len()], header.as_bytes());
    assert_eq!(bytes[127], b'\n');
    assert_eq!(bytes.len(), 128 + 48);
    assert!(bytes[10 + header.len()..127].iter().all(|&b| b == b' '));
}

#[test]
fn writers_reject_inconsistent_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    let short = arr("short", &[2, 3], ArrayData::F32(vec![0.0; 5]));
    let err = write_safetensors(&path, std::slice::from_ref(&short), &[]).unwrap_err();
    assert!(
        matches!(&err, IoError::InvalidArray { name, .. } if name == "short"),
        "{err}"
    );
    assert!(
        err.to_string().contains("needs 6 elements but data has 5"),
        "{err}"
    );
    assert!(matches!(
        write_npy(&dir.path().join("s.npy"), &short),
        Err(IoError::InvalidArray { .. })
    ));
    let ok = arr("a", &[1], ArrayData::F32(vec![1.0]));
    let err = write_safetensors(&path, &[ok.clone(), ok.clone()], &[]).unwrap_err();
    assert!(
        matches!(&err, IoError::DuplicateKey { key, .. } if key == "a"),
        "{err}"
    );
    let huge = arr("h", &[usize::MAX, 2], ArrayData::F32(vec![]));
    assert!(matches!(
        write_safetensors(&path, &[huge], &[]),
        Err(IoError::InvalidArray { .. })
    ));
    let reserved = arr("__metadata__", &[1], ArrayData::F32(vec![1.0]));
    assert!(matches!(
        write_safetensors(&path, &[reserved], &[]),
        Err(IoError::InvalidArray { .. })
    ));
    let missing_dir = dir.path().join("no/such/dir/f.safetensors");
    let err = write_safetensors(&missing_dir, &[ok], &[]).unwrap_err();
    assert!(matches!(err, IoError::Io { .. }), "{err}");
    assert!(!path.exists());
}
