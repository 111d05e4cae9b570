//! In-memory arrays: a name, a row-major shape and typed data.

use std::path::PathBuf;

use crate::values::FeatureData;

/// Element storage of an array, always row-major (C order).
///
/// Half-precision inputs (`f16`, `bf16`) are widened to `F32` exactly; every integer dtype
/// (`i8`..`i64`, `u8`..`u64`) is widened to `Int` (`i64`).
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayData {
    /// 32-bit floats (also holds widened `f16` / `bf16`).
    F32(Vec<f32>),
    /// 64-bit floats.
    F64(Vec<f64>),
    /// Integers of any width, widened to `i64`.
    Int(Vec<i64>),
}

impl ArrayData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            ArrayData::F32(v) => v.len(),
            ArrayData::F64(v) => v.len(),
            ArrayData::Int(v) => v.len(),
        }
    }

    /// `true` when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `true` for `F32` and `F64`.
    pub fn is_float(&self) -> bool {
        !matches!(self, ArrayData::Int(_))
    }

    /// Element `i` as `f64` (exact for `F32`/`F64`, exact for integers up to $2^{53}$).
    /// Panics if `i` is out of bounds, like slice indexing.
    pub fn get_f64(&self, i: usize) -> f64 {
        match self {
            ArrayData::F32(v) => f64::from(v[i]),
            ArrayData::F64(v) => v[i],
            ArrayData::Int(v) => v[i] as f64,
        }
    }

    /// All elements converted to `f64` (see [`ArrayData::get_f64`]).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match self {
            ArrayData::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            ArrayData::F64(v) => v.clone(),
            ArrayData::Int(v) => v.iter().map(|&x| x as f64).collect(),
        }
    }
}

/// One named array of a feature file, e.g. the activations of one layer (`n × …`) or the labels.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedArray {
    /// Key in the file (`npz` member name without `.npy`, safetensors key, or `.npy` file stem).
    pub name: String,
    /// Dimensions, outermost first; empty for a scalar.
    pub shape: Vec<usize>,
    /// Elements in row-major order; `data.len()` equals the product of `shape`.
    pub data: ArrayData,
}

impl NamedArray {
    /// Number of rows: `shape[0]` (samples), or 1 for a scalar.
    pub fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// Number of columns after flattening each sample: $\prod_{i \ge 1} \text{shape}_i$,
    /// 1 for rank 0 and rank 1.
    pub fn cols(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    /// Short name of the stored element type: `"f32"`, `"f64"` or `"int"`.
    pub fn dtype_name(&self) -> &'static str {
        match self.data {
            ArrayData::F32(_) => "f32",
            ArrayData::F64(_) => "f64",
            ArrayData::Int(_) => "int",
        }
    }

    /// Product of the shape, or `None` on overflow.
    pub(crate) fn checked_numel(shape: &[usize]) -> Option<usize> {
        shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
    }
}

/// All arrays of one feature file (or directory of `.npy` files).
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayFile {
    /// The file or directory read.
    pub path: PathBuf,
    /// Arrays sorted by [`natural_cmp`](crate::natural_cmp) of their names.
    pub arrays: Vec<NamedArray>,
    /// Free-text metadata (safetensors `__metadata__`), sorted by key; empty for numpy files.
    pub metadata: Vec<(String, String)>,
    /// Things that were ignored while reading (non-`.npy` members or files), one note each.
    pub notes: Vec<String>,
}

impl ArrayFile {
    /// The array named `key`, if present.
    pub fn get(&self, key: &str) -> Option<&NamedArray> {
        self.arrays.iter().find(|a| a.name == key)
    }

    /// All keys, in natural order.
    pub fn keys(&self) -> Vec<String> {
        self.arrays.iter().map(|a| a.name.clone()).collect()
    }
}

/// An array as the readers produce it: values decoded or viewed in place in the file.
#[derive(Debug, Clone)]
pub(crate) struct RawArray {
    /// Key in the file.
    pub name: String,
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Elements (row-major when decoded; see [`FeatureData::order`] for views).
    pub values: FeatureData,
    /// Storage position of the first NaN or infinity, when a pass that read the values anyway
    /// (the CRC-32 of a stored `.npz` member) already looked; `None` when nobody looked yet.
    pub finite_scan: Option<Option<usize>>,
}

impl RawArray {
    /// Number of rows: `shape[0]`, or 1 for a scalar.
    pub(crate) fn rows(&self) -> usize {
        self.shape.first().copied().unwrap_or(1)
    }

    /// Product of the trailing dimensions (1 for rank 0 and 1).
    pub(crate) fn cols(&self) -> usize {
        self.shape.iter().skip(1).product()
    }

    /// The array with its values decoded (a view is copied).
    pub(crate) fn into_named(self) -> NamedArray {
        NamedArray {
            name: self.name,
            shape: self.shape,
            data: self.values.into_array_data(),
        }
    }
}
