//! [`read_arrays`]: one entry point for every supported file type.

use std::path::Path;

use crate::array::{ArrayFile, RawArray};
use crate::error::{IoError, Origin};
use crate::file_bytes::FileBytes;
use crate::natural::natural_cmp;
use crate::npy::parse_npy_in;
use crate::npz::read_npz;
use crate::safetensors_io::read_safetensors;

/// All arrays of a file, values decoded or viewed in place (see [`crate::FeatureData`]).
#[derive(Debug)]
pub(crate) struct RawFile {
    /// The file or directory read.
    pub path: std::path::PathBuf,
    /// Arrays in natural order of their keys.
    pub arrays: Vec<RawArray>,
    /// Safetensors metadata, sorted by key.
    pub metadata: Vec<(String, String)>,
    /// Things ignored while reading.
    pub notes: Vec<String>,
}

/// Reads all arrays of a feature file, dispatching on its type:
///
/// * a directory: every `*.npy` file in it (not recursive), keyed by file stem;
/// * `.safetensors`: every tensor, keyed by tensor name, with `__metadata__`;
/// * `.npz` (`numpy.savez` or `numpy.savez_compressed`): every `KEY.npy` member, keyed `KEY`;
/// * `.npy`: the single array, keyed by file stem.
///
/// Extensions are matched case-insensitively. Arrays are returned in [`natural_cmp`] order of
/// their keys. Supported element types: `f16`, `bf16` (widened to `f32`), `f32`, `f64`, and
/// `i8`–`i64`, `u8`–`u64` (widened to `i64`); both byte orders and Fortran order for `.npy`.
///
/// Every array is returned decoded into memory ([`crate::ArrayData`]);
/// [`load_feature_set`](crate::load_feature_set) reads the same files but keeps feature layers
/// in place where their layout allows.
pub fn read_arrays(path: &Path) -> Result<ArrayFile, IoError> {
    let raw = read_raw(path)?;
    Ok(ArrayFile {
        path: raw.path,
        arrays: raw.arrays.into_iter().map(RawArray::into_named).collect(),
        metadata: raw.metadata,
        notes: raw.notes,
    })
}

/// [`read_arrays`] without decoding the arrays that can be viewed in place.
pub(crate) fn read_raw(path: &Path) -> Result<RawFile, IoError> {
    let io_err = |source| IoError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    let (mut arrays, metadata, notes) = if meta.is_dir() {
        let (arrays, notes) = read_npy_dir(path)?;
        (arrays, Vec::new(), notes)
    } else {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "safetensors" => {
                let (arrays, metadata) = read_safetensors(path)?;
                (arrays, metadata, Vec::new())
            }
            "npz" => {
                let (arrays, notes) = read_npz(path)?;
                (arrays, Vec::new(), notes)
            }
            "npy" => (vec![read_npy_file(path)?], Vec::new(), Vec::new()),
            _ => {
                return Err(IoError::UnsupportedExtension {
                    path: path.to_path_buf(),
                })
            }
        }
    };
    arrays.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    Ok(RawFile {
        path: path.to_path_buf(),
        arrays,
        metadata,
        notes,
    })
}

/// Reads one `.npy` file; the key is the file stem.
fn read_npy_file(path: &Path) -> Result<RawArray, IoError> {
    let file = FileBytes::open(path)?;
    let key = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    parse_npy_in(
        file.bytes(),
        &key,
        &Origin { path, entry: None },
        Some(&file),
    )
}

/// Reads every `*.npy` directly inside `dir`; other entries are noted and ignored.
fn read_npy_dir(dir: &Path) -> Result<(Vec<RawArray>, Vec<String>), IoError> {
    let io_err = |source| IoError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    let mut notes = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err)? {
        let p = entry.map_err(io_err)?.path();
        let is_npy = p.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
        if is_npy && p.is_file() {
            paths.push(p);
        } else {
            notes.push(format!(
                "{}: ignored {:?} (not a .npy file)",
                dir.display(),
                p.file_name().unwrap_or_default()
            ));
        }
    }
    if paths.is_empty() {
        return Err(IoError::NoNpyInDirectory {
            path: dir.to_path_buf(),
        });
    }
    notes.sort();
    let mut arrays: Vec<RawArray> = Vec::with_capacity(paths.len());
    for p in paths {
        let array = read_npy_file(&p)?;
        if arrays.iter().any(|a| a.name == array.name) {
            return Err(IoError::DuplicateKey {
                path: dir.to_path_buf(),
                key: array.name,
            });
        }
        arrays.push(array);
    }
    Ok((arrays, notes))
}
