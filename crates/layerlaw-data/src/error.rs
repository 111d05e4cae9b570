//! The error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while reading, locating, preprocessing or subsetting a dataset.
///
/// Every variant names what is at fault (file, record, class, argument) so that the message alone
/// tells the user what to fix.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File that failed.
        path: PathBuf,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The file starts with the gzip magic bytes but is not a valid gzip stream
    /// (truncated, bad CRC, corrupt deflate data, or garbage after the last member).
    #[error("{path} is not a valid gzip file: {source}")]
    Gzip {
        /// File that failed.
        path: PathBuf,
        /// Error reported by the decompressor.
        source: std::io::Error,
    },
    /// The IDX header is shorter than its own declaration.
    #[error("{path}: IDX header truncated ({len} bytes, need {needed})")]
    IdxHeaderTruncated {
        /// File that failed.
        path: PathBuf,
        /// Bytes available (after decompression).
        len: usize,
        /// Bytes the header needs.
        needed: usize,
    },
    /// The IDX magic number is not the one expected for this file
    /// (`0x00000803` for images, `0x00000801` for labels).
    #[error("{path}: bad IDX magic number 0x{found:08x}, expected 0x{expected:08x}")]
    IdxBadMagic {
        /// File that failed.
        path: PathBuf,
        /// Magic number expected.
        expected: u32,
        /// Magic number found.
        found: u32,
    },
    /// The IDX body length is not the product of the declared dimensions.
    #[error(
        "{path}: IDX body has {found} bytes but the dimensions {dims:?} need {expected} \
         ({})",
        if found < expected { "file is truncated" } else { "trailing bytes after the data" }
    )]
    IdxBodyLength {
        /// File that failed.
        path: PathBuf,
        /// Declared dimensions.
        dims: Vec<usize>,
        /// Product of the dimensions.
        expected: usize,
        /// Body length found.
        found: usize,
    },
    /// The declared IDX dimensions overflow `usize`.
    #[error("{path}: IDX dimensions {dims:?} are too large")]
    IdxDimsOverflow {
        /// File that failed.
        path: PathBuf,
        /// Declared dimensions.
        dims: Vec<usize>,
    },
    /// The image and label files disagree on the number of examples.
    #[error("{images} holds {n_images} images but {labels} holds {n_labels} labels")]
    CountMismatch {
        /// Image file.
        images: PathBuf,
        /// Number of images.
        n_images: usize,
        /// Label file.
        labels: PathBuf,
        /// Number of labels.
        n_labels: usize,
    },
    /// A label is not a valid class index.
    #[error("{path}: record {index} has label {label}, but the dataset has {num_classes} classes")]
    LabelOutOfRange {
        /// File (or array) at fault.
        path: PathBuf,
        /// Index of the record.
        index: usize,
        /// Offending label.
        label: u8,
        /// Number of classes.
        num_classes: usize,
    },
    /// A CIFAR-10 binary batch is not a whole number of 3073-byte records.
    #[error("{path}: CIFAR-10 batch has {len} bytes, not a multiple of the 3073-byte record (1 label + 3x32x32)")]
    CifarRecordLength {
        /// File that failed.
        path: PathBuf,
        /// File length in bytes.
        len: usize,
    },
    /// Two parts of a dataset have images of different shapes.
    #[error("{path}: images are {found:?} (channels, height, width), expected {expected:?}")]
    ShapeMismatch {
        /// File that failed.
        path: PathBuf,
        /// Shape expected.
        expected: (usize, usize, usize),
        /// Shape found.
        found: (usize, usize, usize),
    },
    /// A directory holds some, but not all, of the files of a dataset.
    #[error("{dataset}: {dir} holds only part of the dataset; missing {missing:?}")]
    IncompleteDataset {
        /// Dataset name.
        dataset: String,
        /// Directory searched.
        dir: PathBuf,
        /// File names (without the optional `.gz`) that are missing.
        missing: Vec<String>,
    },
    /// The dataset was found nowhere.
    #[error(
        "{dataset} not found; searched: {}. To get it: {install}",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    DatasetNotFound {
        /// Dataset name.
        dataset: String,
        /// Directories searched, in order.
        searched: Vec<PathBuf>,
        /// How to install it.
        install: String,
    },
    /// An image buffer does not have the length its dimensions imply, or a size is zero.
    #[error("invalid image geometry: {reason}")]
    InvalidGeometry {
        /// What is wrong.
        reason: String,
    },
    /// Normalisation parameters do not fit the image set.
    #[error("invalid normalisation: {reason}")]
    InvalidNormalization {
        /// What is wrong.
        reason: String,
    },
    /// A class has fewer examples than the subset asks for.
    #[error("class {class} has only {available} examples, but {requested} were requested")]
    ClassTooSmall {
        /// Class index.
        class: usize,
        /// Examples available.
        available: usize,
        /// Examples requested.
        requested: usize,
    },
    /// The imbalance ratio is not a finite number >= 1.
    #[error("imbalance ratio R = {ratio} is invalid: it must be a finite number >= 1")]
    InvalidRatio {
        /// Offending ratio.
        ratio: f64,
    },
    /// More majority classes than classes.
    #[error("{majority} majority classes requested, but there are only {num_classes} classes")]
    TooManyMajorityClasses {
        /// Requested number of majority classes.
        majority: usize,
        /// Number of classes.
        num_classes: usize,
    },
    /// A class would receive no examples.
    #[error(
        "class {class} would get 0 examples (n_A = {n_majority}, R = {ratio}, n_B = floor(n_A / R)); \
         use a smaller R or a larger n_A"
    )]
    EmptyClass {
        /// First class left empty.
        class: usize,
        /// Examples per majority class.
        n_majority: usize,
        /// Imbalance ratio.
        ratio: f64,
    },
}

impl DataError {
    /// True for [`DataError::DatasetNotFound`] (no searched directory held any file of the
    /// dataset), so that a caller may fall back to the embedded slice. A partial or corrupt
    /// dataset is not "not found".
    pub fn is_not_found(&self) -> bool {
        matches!(self, DataError::DatasetNotFound { .. })
    }
}
