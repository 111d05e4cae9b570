//! A small real slice of Fashion-MNIST compiled into the binary.
//!
//! Cut by `embedded/make_slice.py` from the Debian package `dataset-fashion-mnist`: the first
//! 100 training images of each class (file order kept, n = 1000; source indices in
//! `embedded/fashion-mnist-slice/train-source-indices.txt`) and the first 1000 test images.
//! Fashion-MNIST is Copyright (c) 2017 Zalando SE, MIT licence (`embedded/LICENSE-fashion-mnist.txt`).
//! This matches the papers' subsample size (100 per class, He & Su 2023) and lets every test and
//! demo run offline.

use std::path::Path;

use crate::checksum::sha256_hex;
use crate::error::DataError;
use crate::idx::{image_set_from_idx, parse_idx, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC};
use crate::image_set::{ImageSet, Split};
use crate::locate::check_same_shape;

macro_rules! slice_file {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../embedded/fashion-mnist-slice/", $name)).as_slice(),
        )
    };
}

const TRAIN_IMAGES: (&str, &[u8]) = slice_file!("train-images-idx3-ubyte.gz");
const TRAIN_LABELS: (&str, &[u8]) = slice_file!("train-labels-idx1-ubyte.gz");
const TEST_IMAGES: (&str, &[u8]) = slice_file!("t10k-images-idx3-ubyte.gz");
const TEST_LABELS: (&str, &[u8]) = slice_file!("t10k-labels-idx1-ubyte.gz");

/// Description stored in [`Split::source`] of the embedded slice.
pub const EMBEDDED_SOURCE: &str =
    "embedded Fashion-MNIST slice (first 100 training images per class, \
     first 1000 test images; (c) 2017 Zalando SE, MIT)";

/// The embedded Fashion-MNIST slice: 1000 training images (100 per class), 1000 test images.
///
/// Parsed through the same IDX reader as files on disk; the checksums are of the embedded
/// gzipped files.
pub fn embedded_fashion_mnist() -> Split {
    // The bytes are fixed at compile time and checked by the crate's tests, so a parse error
    // here would be a build defect, not bad input.
    try_embedded_fashion_mnist()
        .expect("the embedded Fashion-MNIST slice is valid IDX (checked by tests)")
}

fn try_embedded_fashion_mnist() -> Result<Split, DataError> {
    let train = parse_pair(TRAIN_IMAGES, TRAIN_LABELS)?;
    let test = parse_pair(TEST_IMAGES, TEST_LABELS)?;
    check_same_shape(&train, &test, Path::new(TEST_IMAGES.0))?;
    let checksums = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS]
        .iter()
        .map(|(name, bytes)| ((*name).to_string(), sha256_hex(bytes)))
        .collect();
    Ok(Split {
        train,
        test,
        source: EMBEDDED_SOURCE.to_string(),
        checksums,
    })
}

fn parse_pair(images: (&str, &[u8]), labels: (&str, &[u8])) -> Result<ImageSet, DataError> {
    let (ipath, lpath) = (Path::new(images.0), Path::new(labels.0));
    let img = parse_idx(images.1, ipath, IDX_IMAGES_MAGIC)?;
    let lab = parse_idx(labels.1, lpath, IDX_LABELS_MAGIC)?;
    image_set_from_idx(img, ipath, lab, lpath, 10)
}
