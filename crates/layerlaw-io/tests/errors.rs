//! Every reader error: missing files, truncation, flipped bytes, bad magic, unsupported dtypes,
//! huge shapes, zip CRC failures. Each test also checks that the message names the file.

mod common;

use common::{fixture_bytes, raw_npy, raw_safetensors, write};
use layerlaw_io::{read_arrays, IoError};

/// Asserts that the error's message mentions `needle` and the file name `file`.
fn mentions(err: &IoError, file: &str, needle: &str) {
    let msg = err.to_string();
    assert!(msg.contains(file), "message {msg:?} does not name {file}");
    assert!(
        msg.contains(needle),
        "message {msg:?} does not mention {needle:?}"
    );
}

#[test]
fn missing_file_and_unsupported_extension() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_arrays(&dir.path().join("nope.npz")).unwrap_err();
    assert!(matches!(err, IoError::Io { .. }));
    mentions(&err, "nope.npz", "cannot access");
    let p = write(dir.path(), "feats.pt", b"pickle");
    let err = read_arrays(&p).unwrap_err();
    assert!(matches!(err, IoError::UnsupportedExtension { .. }));
    mentions(&err, "feats.pt", "unsupported file type");
}

#[test]
fn directory_without_npy_files() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "notes.txt", b"x");
    std::fs::create_dir(dir.path().join("sub.npy")).unwrap(); // a directory named like a file
    let err = read_arrays(dir.path()).unwrap_err();
    assert!(matches!(err, IoError::NoNpyInDirectory { .. }), "{err}");
}

#[test]
fn truncated_npy_at_every_stage() {
    let dir = tempfile::tempdir().unwrap();
    let full = fixture_bytes("fortran.npy"); // 128-byte header + 48 bytes of f64
    assert_eq!(full.len(), 176);
    let cases: [(usize, &str, u64, u64); 3] = [
        (4, "npy preamble", 10, 4),
        (60, "npy header", 128, 60),
        (175, "array data", 48, 47),
    ];
    for (cut, what_expected, needed_expected, available_expected) in cases {
        let p = write(dir.path(), "cut.npy", &full[..cut]);
        let err = read_arrays(&p).unwrap_err();
        match &err {
            IoError::Truncated {
                what,
                needed,
                available,
                entry,
                ..
            } => {
                assert_eq!(
                    (*what, *needed, *available),
                    (what_expected, needed_expected, available_expected)
                );
                assert_eq!(entry, &None);
            }
            other => panic!("cut at {cut}: unexpected {other}"),
        }
        mentions(&err, "cut.npy", "truncated");
    }
}

#[test]
fn wrong_magic_and_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = fixture_bytes("fortran.npy");
    bytes[1] = b'X';
    let err = read_arrays(&write(dir.path(), "m.npy", &bytes)).unwrap_err();
    assert!(
        matches!(err, IoError::BadMagic { format: "npy", .. }),
        "{err}"
    );
    mentions(&err, "m.npy", "bad magic");
    let err = read_arrays(&write(dir.path(), "e.npy", b"")).unwrap_err();
    assert!(matches!(err, IoError::BadMagic { .. }), "{err}");
}

#[test]
fn flipped_header_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let good = fixture_bytes("fortran.npy");
    let header = String::from_utf8_lossy(&good[10..128]).into_owned();
    let at = |pat: &str| 10 + header.find(pat).unwrap();
    // '{' -> '[': the header is no longer a dict.
    let mut b = good.clone();
    b[10] = b'[';
    let err = read_arrays(&write(dir.path(), "a.npy", &b)).unwrap_err();
    assert!(matches!(err, IoError::BadHeader { .. }), "{err}");
    mentions(&err, "a.npy", "corrupt header");
    // shape (2, 3) -> (2, 4): the data is now too short.
    let mut b = good.clone();
    b[at("(2, 3)") + 4] = b'4';
    let err = read_arrays(&write(dir.path(), "b.npy", &b)).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::Truncated {
                needed: 64,
                available: 48,
                ..
            }
        ),
        "{err}"
    );
    // shape (2, 3) -> (1, 3): 24 bytes left over.
    let mut b = good.clone();
    b[at("(2, 3)") + 1] = b'1';
    let err = read_arrays(&write(dir.path(), "c.npy", &b)).unwrap_err();
    assert!(matches!(err, IoError::Corrupt { .. }), "{err}");
    mentions(&err, "c.npy", "24 bytes of data after the 24 announced");
    // version byte 1 -> 9.
    let mut b = good.clone();
    b[6] = 9;
    let err = read_arrays(&write(dir.path(), "d.npy", &b)).unwrap_err();
    mentions(&err, "d.npy", "unsupported npy format version 9.0");
}

#[test]
fn unsupported_dtypes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    for descr in ["|b1", "<c16", "<U5", "|O"] {
        let npy = raw_npy(
            &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': (0,), }}\n"),
            b"",
        );
        let err = read_arrays(&write(dir.path(), "t.npy", &npy)).unwrap_err();
        assert!(
            matches!(&err, IoError::UnsupportedDtype { dtype, .. } if dtype == descr),
            "{err}"
        );
        mentions(&err, "t.npy", descr);
    }
    let st = raw_safetensors(&[("mask", "BOOL", &[2], &[1, 0])]);
    let err = read_arrays(&write(dir.path(), "b.safetensors", &st)).unwrap_err();
    assert!(
        matches!(&err, IoError::UnsupportedDtype { dtype, entry: Some(e), .. } if dtype == "BOOL" && e == "mask"),
        "{err}"
    );
    mentions(&err, "b.safetensors[mask]", "unsupported dtype BOOL");
}

#[test]
fn huge_shapes_do_not_overflow_or_allocate() {
    let dir = tempfile::tempdir().unwrap();
    for shape in [
        "(18446744073709551615, 4)",
        "(4611686018427387904, 4)",
        "(4294967296, 4294967296, 2)",
    ] {
        let npy = raw_npy(
            &format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}\n"),
            &[0; 16],
        );
        let err = read_arrays(&write(dir.path(), "h.npy", &npy)).unwrap_err();
        assert!(
            matches!(err, IoError::ShapeTooLarge { .. }),
            "{shape}: {err}"
        );
    }
    // Large but representable: reported as truncated, not attempted.
    let npy = raw_npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }\n",
        &[0; 16],
    );
    let err = read_arrays(&write(dir.path(), "g.npy", &npy)).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::Truncated {
                needed: 4_000_000_000_000,
                available: 16,
                ..
            }
        ),
        "{err}"
    );
    // Header length field larger than the file.
    let mut npy = raw_npy("{}", b"");
    npy[8] = 0xff;
    npy[9] = 0xff;
    let err = read_arrays(&write(dir.path(), "l.npy", &npy)).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::Truncated {
                what: "npy header",
                needed: 65545,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn u64_values_beyond_i64_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = 7u64.to_le_bytes().to_vec();
    body.extend_from_slice(&(1u64 << 63).to_le_bytes());
    let npy = raw_npy(
        "{'descr': '<u8', 'fortran_order': False, 'shape': (2,), }\n",
        &body,
    );
    let err = read_arrays(&write(dir.path(), "u.npy", &npy)).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::IntegerOutOfRange {
                value: 9_223_372_036_854_775_808,
                index: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn truncated_and_corrupted_npz() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["plain.npz", "compressed.npz"] {
        let full = fixture_bytes(name);
        for cut in [0, 10, full.len() / 2, full.len() - 1] {
            let err = read_arrays(&write(dir.path(), name, &full[..cut])).unwrap_err();
            assert!(
                matches!(err, IoError::Corrupt { .. }),
                "{name} cut at {cut}: {err}"
            );
            mentions(&err, name, "zip archive");
        }
    }
    // A flipped byte inside the stored data of the first member fails its CRC-32.
    let mut b = fixture_bytes("plain.npz");
    let start = b.windows(6).position(|w| w == b"\x93NUMPY").unwrap();
    b[start + 150] ^= 0x40;
    let err = read_arrays(&write(dir.path(), "crc.npz", &b)).unwrap_err();
    assert!(
        matches!(&err, IoError::Corrupt { entry: Some(e), .. } if e == "layer2.npy"),
        "{err}"
    );
    mentions(&err, "crc.npz[layer2.npy]", "checksum");
    // A flipped byte inside a deflate stream: either an inflate error or a CRC failure.
    let mut b = fixture_bytes("compressed.npz");
    let name_at = b
        .windows(17)
        .position(|w| w == b"block.12.relu.npy")
        .unwrap();
    b[name_at + 17 + 20 + 40] ^= 0xff;
    let err = read_arrays(&write(dir.path(), "deflate.npz", &b)).unwrap_err();
    assert!(
        matches!(
            &err,
            IoError::Corrupt { entry: Some(_), .. }
                | IoError::BadMagic { .. }
                | IoError::BadHeader { .. }
        ),
        "{err}"
    );
    mentions(&err, "deflate.npz", "");
}

#[test]
fn truncated_and_corrupted_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    let full = fixture_bytes("mixed.safetensors");
    let header_len = u64::from_le_bytes(full[..8].try_into().unwrap());
    let data_len = full.len() as u64 - 8 - header_len;
    assert_eq!(data_len, 168);
    let p = write(dir.path(), "s.safetensors", &full[..full.len() - 10]);
    let err = read_arrays(&p).unwrap_err();
    // feat.f16 occupies the last bytes [144, 168) of the data section.
    assert!(
        matches!(&err, IoError::Truncated { what: "tensor data", needed: 168, available: 158, entry: Some(e), .. } if e == "feat.f16"),
        "{err}"
    );
    mentions(&err, "s.safetensors[feat.f16]", "truncated tensor data");
    let err = read_arrays(&write(dir.path(), "s.safetensors", &full[..5])).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::Truncated {
                needed: 8,
                available: 5,
                ..
            }
        ),
        "{err}"
    );
    let err = read_arrays(&write(dir.path(), "s.safetensors", &full[..100])).unwrap_err();
    assert!(
        matches!(
            err,
            IoError::Truncated {
                what: "safetensors header",
                available: 92,
                ..
            }
        ),
        "{err}"
    );
    // Flip the opening brace of the JSON header.
    let mut b = full.clone();
    b[8] = b'!';
    let err = read_arrays(&write(dir.path(), "s.safetensors", &b)).unwrap_err();
    assert!(matches!(err, IoError::BadHeader { .. }), "{err}");
    mentions(&err, "s.safetensors", "JSON");
    // Offsets that do not match dtype × shape are caught by the safetensors validator.
    let st = raw_safetensors(&[("x", "F32", &[3], &[0; 8])]);
    let err = read_arrays(&write(dir.path(), "o.safetensors", &st)).unwrap_err();
    assert!(matches!(err, IoError::Corrupt { .. }), "{err}");
    // Trailing bytes after the last tensor.
    let mut b = full.clone();
    b.extend_from_slice(&[0; 4]);
    let err = read_arrays(&write(dir.path(), "t.safetensors", &b)).unwrap_err();
    assert!(matches!(err, IoError::Corrupt { .. }), "{err}");
}

#[test]
fn duplicate_stems_in_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let npy = fixture_bytes("fortran.npy");
    write(dir.path(), "a.npy", &npy);
    write(dir.path(), "a.NPY", &npy);
    let err = read_arrays(dir.path()).unwrap_err();
    assert!(
        matches!(&err, IoError::DuplicateKey { key, .. } if key == "a"),
        "{err}"
    );
}
