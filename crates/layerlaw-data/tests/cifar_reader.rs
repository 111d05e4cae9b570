//! CIFAR-10 binary batches on generated files (no CIFAR-10 is available offline).

mod common;

use std::path::Path;

use common::{cifar_batch, pixels};
use layerlaw_data::{parse_cifar_batch, read_cifar_batches, DataError};

#[test]
fn batch_round_trip_is_channel_major_per_record() {
    let bytes = cifar_batch(7, 4);
    let set = parse_cifar_batch(&bytes, Path::new("b.bin")).unwrap();
    assert_eq!((set.n, set.channels, set.height, set.width), (7, 3, 32, 32));
    assert_eq!(set.labels, vec![0, 1, 2, 3, 4, 5, 6]);
    let px = pixels(7 * 3072, 4);
    assert_eq!(set.images, px);
    // Image 2, green channel, row 5, column 9 is byte 1 + 1024 + 5*32 + 9 of record 2.
    assert_eq!(
        set.image(2).unwrap()[1024 + 5 * 32 + 9],
        bytes[2 * 3073 + 1 + 1024 + 5 * 32 + 9]
    );
}

#[test]
fn wrong_record_length_is_rejected() {
    let mut bytes = cifar_batch(2, 1);
    bytes.pop();
    let err = parse_cifar_batch(&bytes, Path::new("data_batch_3.bin")).unwrap_err();
    assert!(
        matches!(err, DataError::CifarRecordLength { len: 6145, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("data_batch_3.bin"), "{err}");
}

#[test]
fn label_of_ten_or_more_is_rejected_naming_the_record() {
    let mut bytes = cifar_batch(3, 1);
    bytes[2 * 3073] = 10;
    let err = parse_cifar_batch(&bytes, Path::new("test_batch.bin")).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                index: 2,
                label: 10,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn batches_concatenate_in_order_with_checksums() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        dir.path().join("data_batch_1.bin"),
        dir.path().join("data_batch_2.bin"),
    );
    std::fs::write(&a, cifar_batch(2, 1)).unwrap();
    std::fs::write(&b, cifar_batch(3, 2)).unwrap();
    let (set, sums) = read_cifar_batches(&[&a, &b]).unwrap();
    assert_eq!(set.n, 5);
    assert_eq!(set.labels, vec![0, 1, 0, 1, 2]);
    assert_eq!(&set.images[2 * 3072..], &pixels(3 * 3072, 2)[..]);
    assert_eq!(sums.len(), 2);
    assert_eq!(sums[1].1, layerlaw_data::sha256_hex(&cifar_batch(3, 2)));
}
