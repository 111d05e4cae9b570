//! The error type of `layerlaw-io`: every variant names the file, and the key, entry, row or
//! column at fault where there is one.

use std::path::{Path, PathBuf};

/// Everything that can go wrong while reading or writing a feature file.
///
/// `entry` fields name the member of an archive (`layer1.npy` inside an `.npz`) or the tensor
/// key of a safetensors file; they are `None` for a stand-alone `.npy`.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The file or directory is missing or cannot be read (or written).
    #[error("cannot access {}: {source}", .path.display())]
    Io {
        /// File or directory at fault.
        path: PathBuf,
        /// Underlying operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// The extension is not one of `.safetensors`, `.npz`, `.npy` (and the path is no directory).
    #[error(
        "{}: unsupported file type (expected .safetensors, .npz, .npy or a directory of .npy files)",
        .path.display()
    )]
    UnsupportedExtension {
        /// File at fault.
        path: PathBuf,
    },
    /// A directory was given but it holds no `.npy` file.
    #[error("{}: directory contains no .npy files", .path.display())]
    NoNpyInDirectory {
        /// Directory at fault.
        path: PathBuf,
    },
    /// The file does not start with the magic bytes of its format.
    #[error("{}: bad magic bytes, not a {format} file", at(.path, .entry))]
    BadMagic {
        /// File at fault.
        path: PathBuf,
        /// Archive member, if any.
        entry: Option<String>,
        /// Expected format (`"npy"`).
        format: &'static str,
    },
    /// The header promises more bytes than the file holds.
    #[error(
        "{}: truncated {what}: the header says {needed} bytes, only {available} are present",
        at(.path, .entry)
    )]
    Truncated {
        /// File at fault.
        path: PathBuf,
        /// Archive member or tensor key, if any.
        entry: Option<String>,
        /// Which part is short (`"header"`, `"array data"`, ...).
        what: &'static str,
        /// Bytes the header announces.
        needed: u64,
        /// Bytes actually present.
        available: u64,
    },
    /// The header exists but cannot be understood (bad dict, bad JSON, bad offsets, trailing bytes).
    #[error("{}: corrupt header: {reason}", at(.path, .entry))]
    BadHeader {
        /// File at fault.
        path: PathBuf,
        /// Archive member or tensor key, if any.
        entry: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// The container itself is damaged (zip central directory, CRC mismatch, inflate error,
    /// safetensors validation failure).
    #[error("{}: corrupt file: {reason}", at(.path, .entry))]
    Corrupt {
        /// File at fault.
        path: PathBuf,
        /// Archive member, if any.
        entry: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// The product of the dimensions in a header overflows the address space.
    #[error("{}: shape {shape:?} is too large (element count overflows)", at(.path, .entry))]
    ShapeTooLarge {
        /// File at fault.
        path: PathBuf,
        /// Archive member or tensor key, if any.
        entry: Option<String>,
        /// Declared shape.
        shape: Vec<u64>,
    },
    /// An element type layerlaw cannot use (bool, complex, strings, structured, 8-bit floats...).
    #[error("{}: unsupported dtype {dtype}", at(.path, .entry))]
    UnsupportedDtype {
        /// File at fault.
        path: PathBuf,
        /// Archive member or tensor key, if any.
        entry: Option<String>,
        /// The dtype as the file spells it (`'|b1'`, `BOOL`, ...).
        dtype: String,
    },
    /// An unsigned 64-bit value does not fit in `i64`.
    #[error("{}: integer value {value} at element {index} does not fit in i64", at(.path, .entry))]
    IntegerOutOfRange {
        /// File at fault.
        path: PathBuf,
        /// Archive member or tensor key, if any.
        entry: Option<String>,
        /// Offending value.
        value: u64,
        /// Flat (row-major) index of the value.
        index: usize,
    },
    /// Two arrays in one file (or directory) share a key.
    #[error("{}: duplicate key {key:?}", .path.display())]
    DuplicateKey {
        /// File at fault.
        path: PathBuf,
        /// Repeated key.
        key: String,
    },
    /// A requested key is not in the file.
    #[error("{}: no array named {key:?} (available: {}){hint}", .path.display(), .available.join(", "))]
    UnknownKey {
        /// File at fault.
        path: PathBuf,
        /// Requested key.
        key: String,
        /// Keys present, in natural order.
        available: Vec<String>,
        /// Extra advice (may be empty).
        hint: String,
    },
    /// The labels array holds values that are not integers.
    #[error(
        "{}: labels are not integers: {key:?} has dtype {dtype} and value {value} at row {row}",
        .path.display()
    )]
    LabelsNotInteger {
        /// File at fault.
        path: PathBuf,
        /// Labels key.
        key: String,
        /// Dtype of the labels array.
        dtype: &'static str,
        /// First offending row.
        row: usize,
        /// Its value.
        value: f64,
    },
    /// The labels array is not one-dimensional.
    #[error("{}: labels {key:?} must be a 1-D array, found shape {shape:?}", .path.display())]
    LabelsShape {
        /// File at fault.
        path: PathBuf,
        /// Labels key.
        key: String,
        /// Shape found.
        shape: Vec<usize>,
    },
    /// The number of labels differs from the number of samples of a layer.
    #[error(
        "{}: {labels_key:?} has {labels_len} labels but layer {layer:?} has {rows} rows",
        .path.display()
    )]
    LabelLengthMismatch {
        /// File at fault.
        path: PathBuf,
        /// Labels key.
        labels_key: String,
        /// Number of labels.
        labels_len: usize,
        /// Layer key.
        layer: String,
        /// Its number of rows (samples).
        rows: usize,
    },
    /// When layers are not named: an array that looks like a layer (float, rank ≥ 2, the name
    /// pattern of a selected layer) has another number of rows than there are labels.
    #[error(
        "{}: array {key:?} looks like a layer, as {like:?} does, but has {rows} rows while {labels_key:?} has {labels_len} labels; \
         name the layers to measure (--layers) or skip such arrays (--skip-mismatched)",
        .path.display()
    )]
    MismatchedLayer {
        /// File at fault.
        path: PathBuf,
        /// Key of the array with the wrong row count.
        key: String,
        /// Its number of rows.
        rows: usize,
        /// A selected layer whose name follows the same pattern.
        like: String,
        /// Labels key.
        labels_key: String,
        /// Number of labels.
        labels_len: usize,
    },
    /// Two selected layers have a different number of samples.
    #[error(
        "{}: layers have different numbers of samples: {first:?} has {first_rows} rows, {second:?} has {second_rows}",
        .path.display()
    )]
    LayerRowsMismatch {
        /// File at fault.
        path: PathBuf,
        /// First layer key.
        first: String,
        /// Its rows.
        first_rows: usize,
        /// Second layer key.
        second: String,
        /// Its rows.
        second_rows: usize,
    },
    /// An explicitly requested layer cannot be used as an `n × p` feature matrix.
    #[error("{}: array {key:?} cannot be used as a feature layer: {reason}", .path.display())]
    NotALayer {
        /// File at fault.
        path: PathBuf,
        /// Key at fault.
        key: String,
        /// Why (rank 0, ...).
        reason: String,
    },
    /// The classifier weight or bias has the wrong shape or dtype.
    #[error("{}: classifier array {key:?} has shape {shape:?}: {reason}", .path.display())]
    ClassifierShape {
        /// File at fault.
        path: PathBuf,
        /// Key at fault.
        key: String,
        /// Shape found.
        shape: Vec<usize>,
        /// What was expected.
        reason: String,
    },
    /// A feature (or classifier) value is NaN or infinite.
    #[error("{}: non-finite value {value} in {layer:?} at row {row}, column {col}", .path.display())]
    NonFinite {
        /// File at fault.
        path: PathBuf,
        /// Layer (or classifier) key.
        layer: String,
        /// Row (sample) index, 0-based.
        row: usize,
        /// Column (flattened feature) index, 0-based.
        col: usize,
        /// The value (NaN, inf or -inf).
        value: f64,
    },
    /// The predictions array holds another number of values than the labels.
    #[error("{}: the predictions {key:?} hold {len} values but there are {labels} labels", .path.display())]
    PredictionsLength {
        /// File at fault.
        path: PathBuf,
        /// Key of the predictions array.
        key: String,
        /// Its length.
        len: usize,
        /// Number of labels.
        labels: usize,
    },
    /// Nothing usable was selected.
    #[error("{}: no feature layers selected ({reason})", .path.display())]
    EmptySelection {
        /// File at fault.
        path: PathBuf,
        /// Why nothing remained.
        reason: String,
    },
    /// An array handed to a writer is inconsistent (data length ≠ product of shape, empty name).
    #[error("cannot write {}: array {name:?}: {reason}", .path.display())]
    InvalidArray {
        /// Destination file.
        path: PathBuf,
        /// Array name.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// `file` or `file[entry]`, for error messages.
pub(crate) fn at(path: &Path, entry: &Option<String>) -> String {
    match entry {
        Some(e) => format!("{}[{e}]", path.display()),
        None => path.display().to_string(),
    }
}

/// Context shared by the parsers: which file and which member an error belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Origin<'a> {
    /// File on disk.
    pub path: &'a Path,
    /// Archive member or tensor key.
    pub entry: Option<&'a str>,
}

impl Origin<'_> {
    pub(crate) fn path(&self) -> PathBuf {
        self.path.to_path_buf()
    }
    pub(crate) fn entry(&self) -> Option<String> {
        self.entry.map(str::to_owned)
    }
    pub(crate) fn bad_header(&self, reason: impl Into<String>) -> IoError {
        IoError::BadHeader {
            path: self.path(),
            entry: self.entry(),
            reason: reason.into(),
        }
    }
    pub(crate) fn truncated(&self, what: &'static str, needed: u64, available: u64) -> IoError {
        IoError::Truncated {
            path: self.path(),
            entry: self.entry(),
            what,
            needed,
            available,
        }
    }
    pub(crate) fn unsupported_dtype(&self, dtype: impl Into<String>) -> IoError {
        IoError::UnsupportedDtype {
            path: self.path(),
            entry: self.entry(),
            dtype: dtype.into(),
        }
    }
    pub(crate) fn shape_too_large(&self, shape: &[u64]) -> IoError {
        IoError::ShapeTooLarge {
            path: self.path(),
            entry: self.entry(),
            shape: shape.to_vec(),
        }
    }
}
