//! Layers viewed in place in memory-mapped files: which layouts are viewed, that the views read
//! exactly what decoding reads, CRC-32 and finiteness errors on mapped data.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::arr;
use layerlaw_geometry::LayerFeatures;
use layerlaw_io::{
    encode_npy, load_feature_set, read_arrays, write_npy, write_safetensors, ArrayData, IoError,
    NamedArray, Order, Selection, MAP_THRESHOLD_BYTES,
};

/// Rows of the test layers: with 64 columns of f32, 8192 rows are 2 MiB, above the map
/// threshold.
const N: usize = 8192;
const P: usize = 64;

fn labels() -> NamedArray {
    arr(
        "labels",
        &[N],
        ArrayData::Int((0..N as i64).map(|i| i % 4).collect()),
    )
}

/// Deterministic values, distinct per layer, exact in f32.
fn values(layer: usize, len: usize) -> Vec<f32> {
    (0..len)
        .map(|i| ((i * 7 + layer * 13) % 1001) as f32 / 8.0 - 60.0)
        .collect()
}

/// A stored zip of `.npy` members (as `numpy.savez` writes), member names as given.
fn stored_npz(path: &Path, members: &[(&str, Vec<u8>)]) {
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    for (name, bytes) in members {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap();
}

fn npy(a: &NamedArray) -> Vec<u8> {
    encode_npy(Path::new("x.npy"), a).unwrap()
}

fn tmp() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().to_path_buf();
    (d, p)
}

/// Offset of the first byte of member `name`'s data in a zip file.
fn data_start(path: &Path, name: &str) -> u64 {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let start = z.by_name(name).unwrap().data_start();
    start
}

#[test]
fn stored_npz_layers_are_mapped_when_aligned_and_decoded_otherwise() {
    let (_d, dir) = tmp();
    let path = dir.join("f.npz");
    // Names of growing length shift each member's data by one more byte, so some layers are
    // aligned for their element type and some are not.
    let layers: Vec<NamedArray> = (0..6)
        .map(|l| {
            let name = format!("layer{l}{}", "x".repeat(l));
            if l % 2 == 0 {
                arr(&name, &[N, P], ArrayData::F32(values(l, N * P)))
            } else {
                let v = values(l, N * P / 2).into_iter().map(f64::from).collect();
                arr(&name, &[N, P / 2], ArrayData::F64(v))
            }
        })
        .collect();
    let mut members = vec![("labels.npy".to_string(), npy(&labels()))];
    members.extend(layers.iter().map(|a| (format!("{}.npy", a.name), npy(a))));
    let members: Vec<(&str, Vec<u8>)> = members
        .iter()
        .map(|(n, b)| (n.as_str(), b.clone()))
        .collect();
    stored_npz(&path, &members);
    assert!(std::fs::metadata(&path).unwrap().len() >= MAP_THRESHOLD_BYTES);

    let fs = load_feature_set(&path, &Selection::default()).unwrap();
    assert_eq!(fs.layers.len(), layers.len());
    let mut seen = [false, false];
    for (layer, want) in fs.layers.iter().zip(&layers) {
        assert_eq!(layer.name, want.name);
        assert_eq!(layer.data, want.data, "{}", want.name);
        let size = if matches!(want.data, ArrayData::F32(_)) {
            4
        } else {
            8
        };
        // encode_npy pads the header to 128 bytes for these shapes.
        let aligned = (data_start(&path, &format!("{}.npy", want.name)) + 128).is_multiple_of(size);
        assert_eq!(layer.data.is_memory_mapped(), aligned, "{}", want.name);
        assert_eq!(layer.data.is_viewed(), aligned, "{}", want.name);
        seen[usize::from(aligned)] = true;
    }
    assert_eq!(
        seen,
        [true, true],
        "both aligned and unaligned members occur"
    );
    assert_eq!(
        fs.layers[0].data.as_f32().unwrap()[P + 3],
        values(0, N * P)[P + 3]
    );

    // read_arrays decodes everything and agrees.
    let all = read_arrays(&path).unwrap();
    for want in &layers {
        assert_eq!(all.get(&want.name).unwrap().data, want.data);
    }
}

#[test]
fn npy_directory_and_safetensors_are_mapped() {
    let (_d, dir) = tmp();
    let l0 = arr("h0", &[N, P], ArrayData::F32(values(0, N * P)));
    let l1 = arr("h1", &[N, 2, P / 2], ArrayData::F32(values(1, N * P)));
    write_npy(&dir.join("labels.npy"), &labels()).unwrap();
    write_npy(&dir.join("h0.npy"), &l0).unwrap();
    write_npy(&dir.join("h1.npy"), &l1).unwrap();
    let fs = load_feature_set(&dir, &Selection::default()).unwrap();
    assert!(fs.layers.iter().all(|l| l.data.is_memory_mapped()));
    assert_eq!((fs.layers[1].rows, fs.layers[1].cols), (N, P));
    assert_eq!(fs.layers[1].data, l1.data);

    let st = dir.join("f.safetensors");
    write_safetensors(&st, &[labels(), l0.clone(), l1.clone()], &[]).unwrap();
    let fs = load_feature_set(&st, &Selection::default()).unwrap();
    assert!(fs.layers.iter().all(|l| l.data.is_memory_mapped()));
    assert_eq!(fs.layers[0].data, l0.data);
    match fs.layers[0].view().unwrap().features {
        LayerFeatures::F32(m) => {
            assert_eq!((m.nrows(), m.ncols()), (N, P));
            assert_eq!(m[(5, 7)], values(0, N * P)[5 * P + 7]);
        }
        LayerFeatures::F64(_) => panic!("f32 layer viewed as f64"),
    }
}

/// A `.npy` v1 file with `header` as its dict (padded so the data starts at byte 128).
fn raw_npy(header: &str, body: &[u8]) -> Vec<u8> {
    let mut h = header.to_string();
    while !(10 + h.len() + 1).is_multiple_of(128) {
        h.push(' ');
    }
    h.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(h.as_bytes());
    out.extend_from_slice(body);
    out
}

#[test]
fn fortran_order_2d_is_viewed_column_major_and_rank3_is_decoded() {
    let (_d, dir) = tmp();
    // Column-major storage of the n × p matrix x[i][j] = i + 1000 j (exact in f64).
    let x = |i: usize, j: usize| (i + 1000 * j) as f64;
    let body: Vec<u8> = (0..P)
        .flat_map(|j| (0..N).map(move |i| (i, j)))
        .flat_map(|(i, j)| x(i, j).to_le_bytes())
        .collect();
    let header = format!("{{'descr': '<f8', 'fortran_order': True, 'shape': ({N}, {P}), }}");
    std::fs::write(dir.join("h.npy"), raw_npy(&header, &body)).unwrap();
    write_npy(&dir.join("labels.npy"), &labels()).unwrap();
    // Rank 3 in Fortran order: flattening trailing dimensions needs a reorder, so it is decoded.
    let body3: Vec<u8> = (0..N * P).flat_map(|v| (v as f32).to_le_bytes()).collect();
    let header3 = format!(
        "{{'descr': '<f4', 'fortran_order': True, 'shape': ({N}, 2, {}), }}",
        P / 2
    );
    std::fs::write(dir.join("g.npy"), raw_npy(&header3, &body3)).unwrap();

    let fs = load_feature_set(
        &dir,
        &Selection {
            layers: Some(vec!["h".into(), "g".into()]),
            ..Selection::default()
        },
    )
    .unwrap();
    let h = &fs.layers[0];
    assert!(h.data.is_memory_mapped());
    assert_eq!(h.data.order(), Order::ColumnMajor);
    assert_eq!(h.data.get_f64(3 * P + 5), x(3, 5));
    match h.view().unwrap().features {
        LayerFeatures::F64(m) => {
            assert_eq!(m[(3, 5)], x(3, 5));
            assert_eq!(m[(N - 1, P - 1)], x(N - 1, P - 1));
            assert_eq!(m.row_stride(), 1);
        }
        LayerFeatures::F32(_) => panic!("f64 layer viewed as f32"),
    }
    let g = &fs.layers[1];
    assert!(!g.data.is_viewed());
    assert_eq!(g.data.order(), Order::RowMajor);
    // Row-major element (i, a, b) of a Fortran (N, 2, P/2) array is stored at i + N(a + 2b).
    let (i, a, b) = (7, 1, 3);
    assert_eq!(
        g.data.get_f64(i * P + a * (P / 2) + b),
        (i + N * (a + 2 * b)) as f64
    );
}

#[test]
fn crc_mismatch_in_a_mapped_member_names_it() {
    let (_d, dir) = tmp();
    let path = dir.join("f.npz");
    let l0 = arr("layer0", &[N, P], ArrayData::F32(values(0, N * P)));
    stored_npz(
        &path,
        &[("labels.npy", npy(&labels())), ("layer0.npy", npy(&l0))],
    );
    let mut bytes = std::fs::read(&path).unwrap();
    let at = data_start(&path, "layer0.npy") as usize + 128 + 4 * (1000 * P + 3);
    bytes[at] ^= 0x10;
    std::fs::write(&path, &bytes).unwrap();
    let err = load_feature_set(&path, &Selection::default()).unwrap_err();
    assert!(
        matches!(&err, IoError::Corrupt { entry: Some(e), reason, .. } if e == "layer0.npy" && reason.contains("checksum mismatch (CRC-32)")),
        "{err}"
    );
}

#[test]
fn non_finite_values_in_mapped_layers_are_located() {
    let (_d, dir) = tmp();
    // npz: the finiteness scan shares the CRC pass.
    let mut v = values(0, N * P);
    v[5000 * P + 17] = f32::INFINITY;
    v[6000 * P + 1] = f32::NAN;
    let l0 = arr("layer0", &[N, P], ArrayData::F32(v));
    let path = dir.join("f.npz");
    stored_npz(
        &path,
        &[("labels.npy", npy(&labels())), ("layer0.npy", npy(&l0))],
    );
    let err = load_feature_set(&path, &Selection::default()).unwrap_err();
    assert!(
        matches!(&err, IoError::NonFinite { row: 5000, col: 17, layer, value, .. } if layer == "layer0" && value.is_infinite()),
        "{err}"
    );
    assert!(err.to_string().contains("f.npz"), "{err}");

    // A mapped .npy (no CRC): scanned on its own.
    let npy_dir = dir.join("d");
    std::fs::create_dir(&npy_dir).unwrap();
    write_npy(&npy_dir.join("labels.npy"), &labels()).unwrap();
    write_npy(&npy_dir.join("layer0.npy"), &l0).unwrap();
    let err = load_feature_set(&npy_dir, &Selection::default()).unwrap_err();
    assert!(
        matches!(
            &err,
            IoError::NonFinite {
                row: 5000,
                col: 17,
                ..
            }
        ),
        "{err}"
    );

    // Column-major: row and column are those of the matrix, not of the storage.
    let mut body = vec![0.5f64; N * 2];
    body[N + 4321] = f64::NAN; // column 1, row 4321
    let body: Vec<u8> = body.iter().flat_map(|x| x.to_le_bytes()).collect();
    let header = format!("{{'descr': '<f8', 'fortran_order': True, 'shape': ({N}, 2), }}");
    std::fs::write(npy_dir.join("layer0.npy"), raw_npy(&header, &body)).unwrap();
    std::fs::write(
        npy_dir.join("pad.npy"),
        npy(&arr("pad", &[N * 32], ArrayData::F32(vec![0.0; N * 32]))),
    )
    .unwrap();
    let err = load_feature_set(&npy_dir, &Selection::default()).unwrap_err();
    assert!(
        matches!(
            &err,
            IoError::NonFinite {
                row: 4321,
                col: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn big_endian_layers_are_decoded() {
    let (_d, dir) = tmp();
    let v = values(0, N * P);
    let body: Vec<u8> = v.iter().flat_map(|x| x.to_be_bytes()).collect();
    let header = format!("{{'descr': '>f4', 'fortran_order': False, 'shape': ({N}, {P}), }}");
    std::fs::write(dir.join("h.npy"), raw_npy(&header, &body)).unwrap();
    write_npy(&dir.join("labels.npy"), &labels()).unwrap();
    let fs = load_feature_set(&dir, &Selection::default()).unwrap();
    assert!(!fs.layers[0].data.is_viewed());
    assert_eq!(fs.layers[0].data, ArrayData::F32(v));
}
