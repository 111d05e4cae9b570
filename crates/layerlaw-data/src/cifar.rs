//! CIFAR-10 binary batches (`data_batch_{1..5}.bin`, `test_batch.bin`).
//!
//! Format (Krizhevsky 2009, <https://www.cs.toronto.edu/~kriz/cifar.html>, "binary version"):
//! a sequence of 3073-byte records, each 1 label byte (0..9) followed by 3072 pixel bytes,
//! channel-major: 1024 red, 1024 green, 1024 blue, each 32×32 row-major.

use std::path::Path;

use crate::error::DataError;
use crate::idx::{check_labels, file_name, read_file};
use crate::image_set::ImageSet;

/// Channels of a CIFAR-10 image.
pub const CIFAR_CHANNELS: usize = 3;
/// Side of a CIFAR-10 image in pixels.
pub const CIFAR_SIDE: usize = 32;
/// Bytes per record: one label byte plus $3 \cdot 32 \cdot 32 = 3072$ pixels.
pub const CIFAR_RECORD_LEN: usize = 1 + CIFAR_CHANNELS * CIFAR_SIDE * CIFAR_SIDE;
/// Number of CIFAR-10 classes.
pub const CIFAR_CLASSES: usize = 10;

/// Parses the bytes of one CIFAR-10 binary batch; `path` only names the source in errors.
///
/// Errors when the length is not a multiple of 3073 or a label is `>= 10`.
pub fn parse_cifar_batch(bytes: &[u8], path: &Path) -> Result<ImageSet, DataError> {
    if !bytes.len().is_multiple_of(CIFAR_RECORD_LEN) {
        return Err(DataError::CifarRecordLength {
            path: path.to_path_buf(),
            len: bytes.len(),
        });
    }
    let n = bytes.len() / CIFAR_RECORD_LEN;
    let mut images = Vec::with_capacity(n * (CIFAR_RECORD_LEN - 1));
    let mut labels = Vec::with_capacity(n);
    for record in bytes.chunks_exact(CIFAR_RECORD_LEN) {
        labels.push(record[0]);
        images.extend_from_slice(&record[1..]);
    }
    check_labels(&labels, path, CIFAR_CLASSES)?;
    Ok(ImageSet {
        images,
        labels,
        n,
        channels: CIFAR_CHANNELS,
        height: CIFAR_SIDE,
        width: CIFAR_SIDE,
    })
}

/// Reads CIFAR-10 binary batches and concatenates them in the order given.
///
/// Returns the set and the `(file name, SHA-256 hex)` of every file as read.
pub fn read_cifar_batches(paths: &[&Path]) -> Result<(ImageSet, Vec<(String, String)>), DataError> {
    let mut all = ImageSet {
        images: Vec::new(),
        labels: Vec::new(),
        n: 0,
        channels: CIFAR_CHANNELS,
        height: CIFAR_SIDE,
        width: CIFAR_SIDE,
    };
    let mut checksums = Vec::with_capacity(paths.len());
    for path in paths {
        let bytes = read_file(path)?;
        checksums.push((file_name(path), crate::sha256_hex(&bytes)));
        let batch = parse_cifar_batch(&bytes, path)?;
        all.images.extend_from_slice(&batch.images);
        all.labels.extend_from_slice(&batch.labels);
        all.n += batch.n;
    }
    Ok((all, checksums))
}
