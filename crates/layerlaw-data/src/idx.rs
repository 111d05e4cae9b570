//! IDX files (the MNIST / Fashion-MNIST format), raw or gzipped.
//!
//! Layout (LeCun et al., <http://yann.lecun.com/exdb/mnist/>): a big-endian `u32` magic number
//! `0x0000 TT DD` (type byte `TT = 0x08` for `u8`, `DD` = number of dimensions), then `DD`
//! big-endian `u32` dimensions, then the body, of exactly $\prod_d \mathrm{dims}_d$ bytes.

use std::io::Read;
use std::path::Path;

use crate::checksum::sha256_hex;
use crate::error::DataError;
use crate::image_set::ImageSet;

/// Magic number of an IDX file of `u8` images, `n × rows × cols`.
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of `u8` labels, `n`.
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A decoded IDX array of `u8`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxArray {
    /// Dimensions, outermost first.
    pub dims: Vec<usize>,
    /// Row-major body, `dims.iter().product()` bytes.
    pub data: Vec<u8>,
}

/// Reads a whole file, mapping I/O errors to [`DataError::Io`] naming it.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Decompresses `bytes` when they start with the gzip magic `1f 8b`, otherwise returns them as is.
///
/// Concatenated gzip members are accepted (as `gzip -d` does); anything else after the last
/// member, a truncated stream or a CRC mismatch is a [`DataError::Gzip`] naming `path`.
pub fn maybe_gunzip(bytes: &[u8], path: &Path) -> Result<Vec<u8>, DataError> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes.to_vec());
    }
    let mut out = Vec::with_capacity(bytes.len() * 2);
    flate2::bufread::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|source| DataError::Gzip {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(out)
}

/// Parses IDX `bytes` (raw or gzipped) whose magic number must be `expected_magic`.
///
/// `path` only names the source in errors. Checks the magic number (which fixes both the
/// element type, `u8`, and the number of dimensions), the header length and that the body has
/// exactly the product of the dimensions in bytes (shorter: truncated; longer: trailing bytes).
pub fn parse_idx(bytes: &[u8], path: &Path, expected_magic: u32) -> Result<IdxArray, DataError> {
    let raw = maybe_gunzip(bytes, path)?;
    let header_err = |needed| DataError::IdxHeaderTruncated {
        path: path.to_path_buf(),
        len: raw.len(),
        needed,
    };
    let be_u32 = |at: usize| u32::from_be_bytes([raw[at], raw[at + 1], raw[at + 2], raw[at + 3]]);
    if raw.len() < 4 {
        return Err(header_err(4));
    }
    let magic = be_u32(0);
    if magic != expected_magic {
        return Err(DataError::IdxBadMagic {
            path: path.to_path_buf(),
            expected: expected_magic,
            found: magic,
        });
    }
    let ndim = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndim;
    if raw.len() < header_len {
        return Err(header_err(header_len));
    }
    let dims: Vec<usize> = (0..ndim).map(|d| be_u32(4 + 4 * d) as usize).collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| DataError::IdxDimsOverflow {
            path: path.to_path_buf(),
            dims: dims.clone(),
        })?;
    let found = raw.len() - header_len;
    if found != expected {
        return Err(DataError::IdxBodyLength {
            path: path.to_path_buf(),
            dims,
            expected,
            found,
        });
    }
    let mut data = raw;
    data.drain(..header_len);
    Ok(IdxArray { dims, data })
}

/// Builds an [`ImageSet`] from parsed IDX image (`n × rows × cols`) and label (`n`) arrays.
///
/// Errors when the arrays are not `n × rows × cols` and `n`, the counts differ, or a label is
/// `>= num_classes`. The paths only name the sources in errors.
pub fn image_set_from_idx(
    images: IdxArray,
    images_path: &Path,
    labels: IdxArray,
    labels_path: &Path,
    num_classes: usize,
) -> Result<ImageSet, DataError> {
    if images.dims.len() != 3 || labels.dims.len() != 1 {
        return Err(DataError::InvalidGeometry {
            reason: format!(
                "{} has dimensions {:?} (need n x rows x cols) and {} has {:?} (need n)",
                images_path.display(),
                images.dims,
                labels_path.display(),
                labels.dims
            ),
        });
    }
    let (n, rows, cols) = (images.dims[0], images.dims[1], images.dims[2]);
    if labels.dims[0] != n {
        return Err(DataError::CountMismatch {
            images: images_path.to_path_buf(),
            n_images: n,
            labels: labels_path.to_path_buf(),
            n_labels: labels.dims[0],
        });
    }
    check_labels(&labels.data, labels_path, num_classes)?;
    Ok(ImageSet {
        images: images.data,
        labels: labels.data,
        n,
        channels: 1,
        height: rows,
        width: cols,
    })
}

/// Errors with [`DataError::LabelOutOfRange`] on the first label `>= num_classes`.
pub(crate) fn check_labels(
    labels: &[u8],
    path: &Path,
    num_classes: usize,
) -> Result<(), DataError> {
    match labels.iter().position(|&y| usize::from(y) >= num_classes) {
        Some(index) => Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            index,
            label: labels[index],
            num_classes,
        }),
        None => Ok(()),
    }
}

/// Reads an IDX image file and its label file (each raw or gzipped) into an [`ImageSet`].
///
/// Returns the set and the `(file name, SHA-256 hex)` of both files as read from disk.
pub fn read_idx_pair(
    images_path: &Path,
    labels_path: &Path,
    num_classes: usize,
) -> Result<(ImageSet, Vec<(String, String)>), DataError> {
    let image_bytes = read_file(images_path)?;
    let label_bytes = read_file(labels_path)?;
    let checksums = vec![
        (file_name(images_path), sha256_hex(&image_bytes)),
        (file_name(labels_path), sha256_hex(&label_bytes)),
    ];
    let images = parse_idx(&image_bytes, images_path, IDX_IMAGES_MAGIC)?;
    drop(image_bytes);
    let labels = parse_idx(&label_bytes, labels_path, IDX_LABELS_MAGIC)?;
    let set = image_set_from_idx(images, images_path, labels, labels_path, num_classes)?;
    Ok((set, checksums))
}

/// The last component of `path` as a string (the whole path when it has none).
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
