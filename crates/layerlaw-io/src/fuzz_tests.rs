//! Fuzzing every reader of this crate (npy header, npy, npz/zip, safetensors, and the selection
//! rules on top of them) with [`crate::fuzz_engine`]: no panic, no hang, no allocation beyond
//! a bound linear in the input's real length.
//!
//! `cargo test -p layerlaw-io fuzz` runs a few thousand cases per parser; the long run is
//! `LAYERLAW_FUZZ_CASES=1000000 cargo test --release -p layerlaw-io fuzz -- --nocapture`.

use std::io::Write;
use std::path::Path;

use crate::array::{ArrayData, NamedArray};
use crate::error::Origin;
use crate::features::{select_features, Selection};
use crate::file_bytes::FileBytes;
use crate::fuzz_engine::{cases, run, CountingAlloc};
use crate::npy::{encode_npy, parse_npy_in};
use crate::npy_header::parse_header;
use crate::npz::read_npz_bytes;
use crate::read::RawFile;
use crate::safetensors_io::read_safetensors_bytes;
use crate::values::FeatureData;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Cases per parser in a plain `cargo test`.
const SHORT_RUN: u64 = 3_000;

/// Decoding widens at most 8× (`u8` → `i64`); a little fixed room for names and bookkeeping.
fn linear_bound(input: &[u8]) -> usize {
    8 * input.len() + (64 << 10)
}

/// Inflating may legitimately yield up to ~1032× the deflated size (the deflate limit), then
/// be widened 8×.
fn inflate_bound(input: &[u8]) -> usize {
    8 * 1032 * input.len() + (1 << 20)
}

fn path() -> &'static Path {
    Path::new("fuzz.bin")
}

fn arr(name: &str, shape: &[usize], data: ArrayData) -> NamedArray {
    NamedArray {
        name: name.into(),
        shape: shape.to_vec(),
        data,
    }
}

/// A `.npy` v1 file with `header` as its dict and `body` as its data.
fn raw_npy(version: u8, header: &str, body: &[u8]) -> Vec<u8> {
    let mut out = b"\x93NUMPY".to_vec();
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out
}

fn npy_seeds() -> Vec<Vec<u8>> {
    let p = path();
    let mut seeds = vec![
        encode_npy(p, &arr("a", &[3, 2], ArrayData::F32(vec![1.5; 6]))).unwrap(),
        encode_npy(p, &arr("b", &[2, 2, 2], ArrayData::F64(vec![-0.25; 8]))).unwrap(),
        encode_npy(p, &arr("c", &[5], ArrayData::Int(vec![0, 1, 2, 3, 4]))).unwrap(),
        encode_npy(p, &arr("d", &[], ArrayData::F64(vec![7.0]))).unwrap(),
        encode_npy(p, &arr("e", &[0, 4], ArrayData::F32(vec![]))).unwrap(),
    ];
    let body: Vec<u8> = (0..6u8).flat_map(|i| f64::from(i).to_le_bytes()).collect();
    seeds.push(raw_npy(
        1,
        "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
        &body,
    ));
    seeds.push(raw_npy(
        2,
        "{'descr': '>i2', 'fortran_order': False, 'shape': (3,), }",
        &[0, 1, 0xff, 0xfe, 1, 44],
    ));
    seeds.push(raw_npy(
        3,
        "{'descr': '<f2', 'fortran_order': True, 'shape': (2, 1, 2), }",
        &[0, 0x3c, 0, 0xc0, 0xff, 0x7b, 1, 0],
    ));
    seeds.push(raw_npy(
        1,
        "{'descr': '|u1', 'fortran_order': False, 'shape': (4L,), }",
        &[0, 9, 200, 255],
    ));
    seeds.push(raw_npy(
        1,
        "{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }",
        &u64::MAX.to_le_bytes(),
    ));
    seeds
}

const NPY_TOKENS: &[&[u8]] = &[
    b"'descr': ",
    b"'<f4'",
    b"'>f8'",
    b"'|u1'",
    b"'<f2'",
    b"'<c8'",
    b"'fortran_order': True",
    b"'shape': (",
    b"18446744073709551615",
    b"99999999999999999999",
    b"4294967296",
    b"9223372036854775807, 2",
    b"(0,",
    b"),",
    b"[[[[",
    b"{",
    b"}",
    b"L",
    b"\x93NUMPY\x01\x00",
    b"\x93NUMPY\x02\x00",
    b"\x93NUMPY\x03\x00",
];

/// Same element type and the same bits at every row-major position (NaN included).
fn same_bits(a: &FeatureData, b: &FeatureData) -> bool {
    a.dtype_name() == b.dtype_name()
        && a.len() == b.len()
        && (0..a.len()).all(|i| a.get_f64(i).to_bits() == b.get_f64(i).to_bits())
}

/// Parses as a stand-alone `.npy`, both viewed in place and decoded, and checks that what is
/// accepted is self-consistent.
fn parse_npy_case(bytes: &[u8]) -> bool {
    let origin = Origin {
        path: path(),
        entry: None,
    };
    let file = FileBytes::from_vec(bytes.to_vec());
    let viewed = parse_npy_in(file.bytes(), "x", &origin, Some(&file));
    let decoded = parse_npy_in(bytes, "x", &origin, None);
    match (viewed, decoded) {
        (Ok(v), Ok(d)) => {
            let numel: usize = v.shape.iter().product();
            assert_eq!(v.values.len(), numel);
            assert!(
                same_bits(&v.values, &d.values),
                "a view reads what decoding reads"
            );
            assert_eq!(d.into_named().data.len(), numel);
            true
        }
        (Err(_), Err(_)) => false,
        (v, d) => panic!("view and decode disagree: {v:?} / {d:?}"),
    }
}

#[test]
fn fuzz_npy_header() {
    let seeds: Vec<Vec<u8>> = [
        &b"{'descr': '<f4', 'fortran_order': False, 'shape': (6, 3), }    \n"[..],
        b"{\"shape\": (5,), \"fortran_order\": True, \"descr\": \">i2\"}",
        b"{'descr': [('a', '<f4'), ('b', [('c', '<i8')])], 'fortran_order': False, 'shape': ()}",
        b"{'descr':'<f8','fortran_order':False,'shape':(3L, 2L)}",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect();
    let r = run(
        "npy header",
        &seeds,
        NPY_TOKENS,
        cases(SHORT_RUN),
        linear_bound,
        |b| parse_header(b).is_ok(),
    );
    assert!(r.accepted > 0 && r.accepted < r.cases, "{r:?}");
}

#[test]
fn fuzz_npy() {
    let r = run(
        "npy",
        &npy_seeds(),
        NPY_TOKENS,
        cases(SHORT_RUN),
        linear_bound,
        parse_npy_case,
    );
    assert!(r.accepted > 0 && r.accepted < r.cases, "{r:?}");
}

/// A zip of `.npy` members, stored or deflated, with or without zip64 extras (as
/// `numpy.savez`, which forces zip64, writes them).
fn zip_of(members: &[(&str, Vec<u8>)], deflate: bool, zip64: bool) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let method = if deflate {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(method)
        .large_file(zip64);
    for (name, bytes) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn npz_seeds() -> Vec<Vec<u8>> {
    let p = path();
    let labels = encode_npy(p, &arr("labels", &[4], ArrayData::Int(vec![0, 1, 0, 1]))).unwrap();
    let l1 = encode_npy(p, &arr("l1", &[4, 2], ArrayData::F32(vec![0.5; 8]))).unwrap();
    let l2 = encode_npy(p, &arr("l2", &[4, 3], ArrayData::F64(vec![-1.0; 12]))).unwrap();
    let l3 = encode_npy(p, &arr("l3", &[3, 3], ArrayData::F64(vec![2.0; 9]))).unwrap();
    let members = [
        ("labels.npy", labels),
        ("layer1.npy", l1),
        ("layer2.npy", l2),
        ("layer3.npy", l3),
        ("notes.txt", b"hello".to_vec()),
    ];
    let mut seeds = vec![
        zip_of(&members, false, true),
        zip_of(&members, false, false),
        zip_of(&members, true, false),
        zip_of(&members[..2], true, true),
        include_bytes!("../tests/fixtures/plain.npz").to_vec(),
        include_bytes!("../tests/fixtures/compressed.npz").to_vec(),
    ];
    seeds.push(zip_of(&[], false, false));
    seeds
}

const ZIP_TOKENS: &[&[u8]] = &[
    b"PK\x03\x04",
    b"PK\x01\x02",
    b"PK\x05\x06",
    b"PK\x06\x06",
    b"PK\x06\x07",
    b"\x01\x00\x10\x00",
    b"\xff\xff\xff\xff",
    b".npy",
    b"\x93NUMPY\x01\x00",
    b"'shape': (",
    b"18446744073709551615",
];

/// Selects features from what a reader accepted (labels `"labels"`, every layer, and the same
/// with mismatched layers skipped), checking the layers' views.
fn select_case(raw: RawFile) {
    for skip_mismatched in [false, true] {
        let sel = Selection {
            skip_mismatched,
            ..Selection::default()
        };
        let copy = RawFile {
            path: raw.path.clone(),
            arrays: raw.arrays.clone(),
            metadata: Vec::new(),
            notes: Vec::new(),
        };
        if let Ok(set) = select_features(copy, &sel) {
            for layer in &set.layers {
                let view = layer.view().expect("a selected layer is viewable");
                assert_eq!((view.nrows(), view.ncols()), (layer.rows, layer.cols));
                assert_eq!(layer.rows, set.labels.len());
                assert!(layer.data.to_f64_vec().iter().all(|x| x.is_finite()));
            }
        }
    }
}

#[test]
fn fuzz_npz() {
    let r = run(
        "npz",
        &npz_seeds(),
        ZIP_TOKENS,
        cases(SHORT_RUN),
        inflate_bound,
        |b| {
            let file = FileBytes::from_vec(b.to_vec());
            match read_npz_bytes(path(), &file) {
                Ok((arrays, notes)) => {
                    for a in &arrays {
                        assert_eq!(a.values.len(), a.shape.iter().product::<usize>());
                    }
                    select_case(RawFile {
                        path: path().to_path_buf(),
                        arrays,
                        metadata: Vec::new(),
                        notes,
                    });
                    true
                }
                Err(_) => false,
            }
        },
    );
    assert!(r.accepted > 0 && r.accepted < r.cases, "{r:?}");
}

fn safetensors_seeds() -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.safetensors");
    let mut seeds = vec![include_bytes!("../tests/fixtures/mixed.safetensors").to_vec()];
    let sets = [
        vec![
            arr("labels", &[3], ArrayData::Int(vec![0, 1, 0])),
            arr("block.1", &[3, 2], ArrayData::F32(vec![0.5; 6])),
            arr("block.2", &[3, 1], ArrayData::F64(vec![1.0; 3])),
            arr("block.3", &[2, 2], ArrayData::F32(vec![1.0; 4])),
        ],
        vec![arr("x", &[], ArrayData::F64(vec![1.0]))],
    ];
    for arrays in &sets {
        crate::write_safetensors(&p, arrays, &[("k".into(), "v".into())]).unwrap();
        seeds.push(std::fs::read(&p).unwrap());
    }
    seeds
}

const SAFETENSORS_TOKENS: &[&[u8]] = &[
    b"\"dtype\":",
    b"\"F32\"",
    b"\"F64\"",
    b"\"BF16\"",
    b"\"F16\"",
    b"\"U64\"",
    b"\"BOOL\"",
    b"\"shape\":[",
    b"\"data_offsets\":[",
    b"0,18446744073709551615]",
    b"4294967296,4294967296]",
    b"\"__metadata__\":{",
    b"{",
    b"}",
    b"\xff\xff\xff\xff\xff\xff\xff\xff",
];

#[test]
fn fuzz_safetensors() {
    let r = run(
        "safetensors",
        &safetensors_seeds(),
        SAFETENSORS_TOKENS,
        cases(SHORT_RUN),
        linear_bound,
        |b| {
            let file = FileBytes::from_vec(b.to_vec());
            match read_safetensors_bytes(path(), &file) {
                Ok((arrays, metadata)) => {
                    for a in &arrays {
                        assert_eq!(a.values.len(), a.shape.iter().product::<usize>());
                    }
                    select_case(RawFile {
                        path: path().to_path_buf(),
                        arrays,
                        metadata,
                        notes: Vec::new(),
                    });
                    true
                }
                Err(_) => false,
            }
        },
    );
    assert!(r.accepted > 0 && r.accepted < r.cases, "{r:?}");
}

/// Regressions (found by `fuzz_npz`; inputs in `tests/fixtures/fuzz/`): a 38-byte
/// end-of-central-directory record declaring 32,768 members on this disk made `zip` reserve
/// 6.8 MB; a 622-byte archive with a second record, at byte 0, declaring 49,136 members made
/// it reserve 10 MB. Both are now rejected before `zip` sees them.
#[test]
fn eocd_declaring_more_members_than_the_file_holds_is_rejected() {
    for (input, declared) in [
        (
            &include_bytes!("../tests/fixtures/fuzz/npz-eocd-32768-members.bin")[..],
            "at byte 0 declares 32768 members",
        ),
        (
            &include_bytes!("../tests/fixtures/fuzz/npz-eocd-49136-members.bin")[..],
            "at byte 0 declares 49136 members",
        ),
    ] {
        let file = FileBytes::from_vec(input.to_vec());
        let err = read_npz_bytes(path(), &file).unwrap_err();
        assert!(
            matches!(&err, crate::IoError::Corrupt { reason, .. } if reason.contains(declared)),
            "{err}"
        );
    }
    // A real archive with 0xffff counts and a zip64 locator is still read.
    let ok = zip_of(&[("a.npy", npy_seeds().remove(0))], false, true);
    assert!(read_npz_bytes(path(), &FileBytes::from_vec(ok)).is_ok());
}
