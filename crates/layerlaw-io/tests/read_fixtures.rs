//! Reading the numpy / safetensors fixtures written by `tests/fixtures/make_fixtures.py`
//! (Python 3.11, numpy 2.4, safetensors 0.8); every value there is `(offset + i) * scale / 8`,
//! exact in f16, bf16, f32 and f64, so comparisons are exact.

mod common;

use common::{fixture, vals, vals32};
use layerlaw_io::{read_arrays, ArrayData, NamedArray};

fn names(arrays: &[NamedArray]) -> Vec<&str> {
    arrays.iter().map(|a| a.name.as_str()).collect()
}

#[test]
fn savez_npz_reads_all_arrays_in_natural_order() {
    let f = read_arrays(&fixture("plain.npz")).unwrap();
    assert_eq!(
        names(&f.arrays),
        [
            "fc_bias",
            "fc_weight",
            "labels",
            "layer1",
            "layer2",
            "layer10"
        ]
    );
    assert!(f.metadata.is_empty() && f.notes.is_empty());
    let get = |k: &str| f.get(k).unwrap();
    assert_eq!(get("labels").data, ArrayData::Int(vec![0, 1, 2, 0, 1, 2]));
    assert_eq!(get("layer2").shape, [6, 3]);
    assert_eq!(get("layer2").data, ArrayData::F32(vals32(18, 1.0, 0.0)));
    assert_eq!(get("layer10").shape, [6, 2, 2]);
    assert_eq!((get("layer10").rows(), get("layer10").cols()), (6, 4));
    assert_eq!(get("layer10").data, ArrayData::F32(vals32(24, -1.0, 1.0)));
    // numpy: d['layer10'].reshape(6, -1)[1] == [-0.625, -0.75, -0.875, -1.0]
    let row1: Vec<f64> = (4..8).map(|i| get("layer10").data.get_f64(i)).collect();
    assert_eq!(row1, [-0.625, -0.75, -0.875, -1.0]);
    assert_eq!(get("layer1").data, ArrayData::F64(vals(12, 2.0, 3.0)));
    assert_eq!(get("layer1").dtype_name(), "f64");
    assert_eq!(get("fc_bias").data, ArrayData::F32(vec![0.5, -0.5, 0.25]));
    assert_eq!((get("fc_bias").rows(), get("fc_bias").cols()), (3, 1));
}

#[test]
fn savez_compressed_npz_inflates_and_widens_int32_labels() {
    let f = read_arrays(&fixture("compressed.npz")).unwrap();
    assert_eq!(
        names(&f.arrays),
        ["block.3.relu", "block.12.relu", "labels", "proto"]
    );
    assert_eq!(
        f.get("labels").unwrap().data,
        ArrayData::Int(vec![0, 1, 2, 0, 1, 2])
    );
    assert_eq!(f.get("labels").unwrap().dtype_name(), "int");
    assert_eq!(
        f.get("block.12.relu").unwrap().data,
        ArrayData::F32(vals32(18, 1.0, 0.0))
    );
    assert_eq!(
        f.get("block.3.relu").unwrap().data,
        ArrayData::F64(vals(12, 2.0, 3.0))
    );
    assert_eq!(f.get("proto").unwrap().shape, [5, 3]);
}

#[test]
fn fortran_order_npy_is_transposed_to_row_major() {
    let f = read_arrays(&fixture("fortran.npy")).unwrap();
    assert_eq!(names(&f.arrays), ["fortran"]);
    assert_eq!(f.arrays[0].shape, [2, 3]);
    // np.arange(6).reshape(2, 3) stored column-major as 0 3 1 4 2 5.
    assert_eq!(
        f.arrays[0].data,
        ArrayData::F64(vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    );
}

#[test]
fn big_endian_npy_is_byte_swapped() {
    let f = read_arrays(&fixture("bigendian.npy")).unwrap();
    assert_eq!(f.arrays[0].shape, [3, 2]);
    assert_eq!(
        f.arrays[0].data,
        ArrayData::F32(vec![0.0, 0.125, 0.25, 0.375, 0.5, 0.625])
    );
    let i = read_arrays(&fixture("bigendian_i2.npy")).unwrap();
    assert_eq!(i.arrays[0].data, ArrayData::Int(vec![-2, 7, 300]));
}

#[test]
fn safetensors_widens_f16_and_bf16_and_keeps_metadata() {
    let f = read_arrays(&fixture("mixed.safetensors")).unwrap();
    assert_eq!(
        names(&f.arrays),
        ["feat.bf16", "feat.f16", "feat.f32", "labels"]
    );
    assert_eq!(
        f.metadata,
        [("source".to_string(), "make_fixtures.py".to_string())]
    );
    assert_eq!(
        f.get("feat.f16").unwrap().data,
        ArrayData::F32(vals32(12, 1.0, 0.0))
    );
    assert_eq!(
        f.get("feat.bf16").unwrap().data,
        ArrayData::F32(vals32(12, 1.0, -3.0))
    );
    assert_eq!(f.get("feat.bf16").unwrap().shape, [6, 2]);
    assert_eq!(
        f.get("feat.f32").unwrap().data,
        ArrayData::F32(vals32(18, 1.0, 0.0))
    );
    assert_eq!(
        f.get("labels").unwrap().data,
        ArrayData::Int(vec![0, 1, 2, 0, 1, 2])
    );
}

#[test]
fn directory_of_npy_files_uses_file_stems_and_notes_other_files() {
    let f = read_arrays(&fixture("npydir")).unwrap();
    assert_eq!(names(&f.arrays), ["labels", "layer1", "layer2"]);
    assert_eq!(
        f.get("labels").unwrap().data,
        ArrayData::Int(vec![0, 1, 2, 0, 1, 2])
    );
    assert_eq!(
        f.get("layer1").unwrap().data,
        ArrayData::F64(vals(12, 2.0, 3.0))
    );
    assert_eq!(f.notes.len(), 1);
    assert!(f.notes[0].contains("README.txt"), "{:?}", f.notes);
}
