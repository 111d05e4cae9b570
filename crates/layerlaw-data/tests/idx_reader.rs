//! IDX reader: round trips (raw and gzipped) and every corrupt-file error.

mod common;

use std::path::Path;

use common::{encode_idx, gzip, labels, pixels};
use layerlaw_data::{parse_idx, read_idx_pair, DataError, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC};

#[test]
fn raw_and_gzip_round_trip_to_the_same_array() {
    let px = pixels(5 * 4 * 3, 11);
    let raw = encode_idx(0x803, &[5, 4, 3], &px);
    for bytes in [raw.clone(), gzip(&raw)] {
        let arr = parse_idx(&bytes, Path::new("x"), IDX_IMAGES_MAGIC).unwrap();
        assert_eq!(arr.dims, vec![5, 4, 3]);
        assert_eq!(arr.data, px);
    }
}

#[test]
fn read_idx_pair_builds_image_set_and_checksums_of_file_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (ip, lp) = (dir.path().join("i.gz"), dir.path().join("l"));
    let img_bytes = gzip(&encode_idx(0x803, &[20, 2, 3], &pixels(120, 3)));
    std::fs::write(&ip, &img_bytes).unwrap();
    std::fs::write(&lp, encode_idx(0x801, &[20], &labels(20))).unwrap();
    let (set, sums) = read_idx_pair(&ip, &lp, 10).unwrap();
    assert_eq!((set.n, set.channels, set.height, set.width), (20, 1, 2, 3));
    assert_eq!(set.images, pixels(120, 3));
    assert_eq!(set.class_counts(), vec![2; 10]);
    assert_eq!(
        sums[0],
        ("i.gz".to_string(), layerlaw_data::sha256_hex(&img_bytes))
    );
    assert_eq!(sums[1].0, "l");
}

#[test]
fn bad_magic_is_rejected_with_both_numbers() {
    let bytes = encode_idx(0x801, &[4], &[0, 1, 2, 3]);
    let err = parse_idx(&bytes, Path::new("labels-as-images"), IDX_IMAGES_MAGIC).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::IdxBadMagic {
                expected: 0x803,
                found: 0x801,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("labels-as-images"), "{err}");
    // A non-u8 dtype byte (0x0D = float) is a bad magic number too.
    let err = parse_idx(
        &encode_idx(0x0D03, &[1, 1, 1], &[0; 4]),
        Path::new("f"),
        IDX_IMAGES_MAGIC,
    )
    .unwrap_err();
    assert!(
        matches!(err, DataError::IdxBadMagic { found: 0x0D03, .. }),
        "{err:?}"
    );
}

#[test]
fn truncated_header_is_rejected() {
    for bytes in [vec![0u8, 0, 8], encode_idx(0x803, &[2, 2], &[])] {
        let err = parse_idx(&bytes, Path::new("short"), IDX_IMAGES_MAGIC).unwrap_err();
        assert!(
            matches!(err, DataError::IdxHeaderTruncated { .. }),
            "{err:?}"
        );
    }
}

#[test]
fn truncated_body_and_trailing_bytes_are_rejected() {
    let short = encode_idx(0x803, &[2, 2, 2], &[1; 7]);
    let err = parse_idx(
        &gzip(&short),
        Path::new("train-images.gz"),
        IDX_IMAGES_MAGIC,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::IdxBodyLength {
                expected: 8,
                found: 7,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("truncated") && err.to_string().contains("train-images.gz"),
        "{err}"
    );
    let long = encode_idx(0x801, &[3], &[1, 2, 3, 4]);
    let err = parse_idx(&long, Path::new("labels"), IDX_LABELS_MAGIC).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::IdxBodyLength {
                expected: 3,
                found: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("trailing"), "{err}");
}

#[test]
fn corrupt_and_truncated_gzip_are_rejected_naming_the_file() {
    let gz = gzip(&encode_idx(0x803, &[10, 28, 28], &pixels(7840, 5)));
    let truncated = &gz[..gz.len() / 2];
    let mut flipped = gz.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0xff;
    let mut garbage = gz.clone();
    garbage.extend_from_slice(b"not gzip");
    for (what, bytes) in [
        ("truncated", truncated.to_vec()),
        ("flipped", flipped),
        ("garbage", garbage),
    ] {
        let err = parse_idx(&bytes, Path::new("broken.gz"), IDX_IMAGES_MAGIC).unwrap_err();
        assert!(matches!(err, DataError::Gzip { .. }), "{what}: {err:?}");
        assert!(err.to_string().contains("broken.gz"), "{what}: {err}");
    }
}

#[test]
fn count_mismatch_and_label_range_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (ip, lp) = (dir.path().join("img"), dir.path().join("lab"));
    std::fs::write(&ip, encode_idx(0x803, &[3, 1, 1], &[0, 1, 2])).unwrap();
    std::fs::write(&lp, encode_idx(0x801, &[2], &[0, 1])).unwrap();
    let err = read_idx_pair(&ip, &lp, 10).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                n_images: 3,
                n_labels: 2,
                ..
            }
        ),
        "{err:?}"
    );
    std::fs::write(&lp, encode_idx(0x801, &[3], &[0, 12, 1])).unwrap();
    let err = read_idx_pair(&ip, &lp, 10).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 1,
                label: 12,
                num_classes: 10,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let err =
        read_idx_pair(Path::new("/nonexistent/a"), Path::new("/nonexistent/b"), 10).unwrap_err();
    assert!(
        matches!(err, DataError::Io { .. }) && err.to_string().contains("/nonexistent/a"),
        "{err}"
    );
}

#[test]
fn concatenated_gzip_members_decode_like_gzip_d() {
    let raw = encode_idx(0x801, &[6], &[1, 2, 3, 4, 5, 6]);
    let mut two = gzip(&raw[..7]);
    two.extend_from_slice(&gzip(&raw[7..]));
    assert_eq!(
        layerlaw_data::maybe_gunzip(&two, Path::new("two")).unwrap(),
        raw
    );
}

#[test]
fn hand_built_arrays_with_wrong_rank_are_errors() {
    let images = layerlaw_data::IdxArray {
        dims: vec![2, 4],
        data: vec![0; 8],
    };
    let labels = layerlaw_data::IdxArray {
        dims: vec![2],
        data: vec![0, 1],
    };
    let err = layerlaw_data::image_set_from_idx(images, Path::new("i"), labels, Path::new("l"), 10)
        .unwrap_err();
    assert!(matches!(err, DataError::InvalidGeometry { .. }), "{err:?}");
}

#[test]
fn image_set_helpers() {
    let set = layerlaw_data::ImageSet {
        images: (0..12).collect(),
        labels: vec![2, 0, 2, 1, 2, 0],
        n: 6,
        channels: 1,
        height: 1,
        width: 2,
    };
    assert_eq!(set.num_classes(), 3);
    assert_eq!(set.class_counts(), vec![2, 1, 3]);
    let sub = set.subset(&[4, 1, 4, 99]);
    assert_eq!(sub.n, 3, "out-of-range index 99 is skipped");
    assert_eq!(sub.labels, vec![2, 0, 2]);
    assert_eq!(sub.images, vec![8, 9, 2, 3, 8, 9]);
}
