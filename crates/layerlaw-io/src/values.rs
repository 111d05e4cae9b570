//! [`FeatureData`]: an array's values, either decoded into memory ([`ArrayData`]) or viewed in
//! place in the file they were read from (`f32`/`f64` little-endian data, suitably aligned).

use std::fmt;

use crate::array::ArrayData;
use crate::file_bytes::FileBytes;

/// Memory order of a matrix's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// C order: element $(i, j)$ of an $n \times p$ matrix at offset $ip + j$.
    RowMajor,
    /// Fortran order: element $(i, j)$ at offset $i + jn$ (`numpy.save` of a transposed or
    /// `order="F"` array).
    ColumnMajor,
}

/// Floating-point element type of a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Float {
    F32,
    F64,
}

/// Values of one array.
///
/// *Decoded* values ([`ArrayData`], always row-major) are what a conversion produced: half
/// floats widened, integers widened, big-endian data swapped, compressed members inflated,
/// rank > 2 Fortran arrays reordered. *Viewed* values are read in place in the file (a memory
/// map for large files, see [`crate::MAP_THRESHOLD_BYTES`]): little-endian `f32`/`f64` whose
/// offset in the file is a multiple of the element size, in C order or, for rank-2 arrays,
/// Fortran order. Viewing costs no copy and no allocation; the map is shared by all the views
/// of one file and lives as long as the last of them.
#[derive(Clone)]
pub struct FeatureData {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Decoded(ArrayData),
    Viewed {
        file: FileBytes,
        /// Byte offset of the first element in `file`, a multiple of the element size.
        offset: usize,
        /// Number of elements.
        len: usize,
        float: Float,
        order: Order,
        /// Number of rows, used to reorder a column-major view.
        rows: usize,
    },
}

impl From<ArrayData> for FeatureData {
    fn from(data: ArrayData) -> Self {
        FeatureData {
            repr: Repr::Decoded(data),
        }
    }
}

impl FeatureData {
    /// A view of `len` elements of type `float` starting at byte `offset` of `file`, or `None`
    /// when that range is outside the file or its start is not aligned for the element type.
    pub(crate) fn view(
        file: &FileBytes,
        offset: usize,
        len: usize,
        float: Float,
        order: Order,
        rows: usize,
    ) -> Option<Self> {
        let size = match float {
            Float::F32 => size_of::<f32>(),
            Float::F64 => size_of::<f64>(),
        };
        let end = len.checked_mul(size)?.checked_add(offset)?;
        if end > file.bytes().len() || cfg!(target_endian = "big") {
            return None;
        }
        let addr = file.bytes().as_ptr() as usize + offset;
        if !addr.is_multiple_of(size) {
            return None;
        }
        Some(FeatureData {
            repr: Repr::Viewed {
                file: file.clone(),
                offset,
                len,
                float,
                order,
                rows,
            },
        })
    }

    /// Byte offset of a view's first element in its file; `None` for decoded values.
    pub(crate) fn view_offset(&self) -> Option<usize> {
        match &self.repr {
            Repr::Viewed { offset, .. } => Some(*offset),
            Repr::Decoded(_) => None,
        }
    }

    /// `true` when the values are read in place in the file (no copy was made).
    pub fn is_viewed(&self) -> bool {
        matches!(self.repr, Repr::Viewed { .. })
    }

    /// `true` when the values are in a memory map of the file (a view of a large file).
    pub fn is_memory_mapped(&self) -> bool {
        matches!(&self.repr, Repr::Viewed { file, .. } if file.is_mapped())
    }

    /// Memory order of the values (decoded values are always row-major).
    pub fn order(&self) -> Order {
        match &self.repr {
            Repr::Decoded(_) => Order::RowMajor,
            Repr::Viewed { order, .. } => *order,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Decoded(d) => d.len(),
            Repr::Viewed { len, .. } => *len,
        }
    }

    /// `true` when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `true` for `f32` and `f64` values.
    pub fn is_float(&self) -> bool {
        match &self.repr {
            Repr::Decoded(d) => d.is_float(),
            Repr::Viewed { .. } => true,
        }
    }

    /// Short name of the element type: `"f32"`, `"f64"` or `"int"`.
    pub fn dtype_name(&self) -> &'static str {
        match &self.repr {
            Repr::Decoded(ArrayData::F32(_))
            | Repr::Viewed {
                float: Float::F32, ..
            } => "f32",
            Repr::Decoded(ArrayData::F64(_))
            | Repr::Viewed {
                float: Float::F64, ..
            } => "f64",
            Repr::Decoded(ArrayData::Int(_)) => "int",
        }
    }

    /// The `f32` values in storage order ([`FeatureData::order`]), if they are `f32`.
    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.repr {
            Repr::Decoded(ArrayData::F32(v)) => Some(v),
            Repr::Viewed {
                file,
                offset,
                len,
                float: Float::F32,
                ..
            } => {
                let bytes = &file.bytes()[*offset..*offset + *len * size_of::<f32>()];
                // SAFETY: `view` checked that the range lies inside the file's bytes and that
                // its start is aligned for f32; every bit pattern is a valid f32; the bytes
                // are immutable for as long as `file` (borrowed through `self`) lives (see the
                // assumption in `file_bytes`).
                Some(unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), *len) })
            }
            _ => None,
        }
    }

    /// The `f64` values in storage order ([`FeatureData::order`]), if they are `f64`.
    pub fn as_f64(&self) -> Option<&[f64]> {
        match &self.repr {
            Repr::Decoded(ArrayData::F64(v)) => Some(v),
            Repr::Viewed {
                file,
                offset,
                len,
                float: Float::F64,
                ..
            } => {
                let bytes = &file.bytes()[*offset..*offset + *len * size_of::<f64>()];
                // SAFETY: as in `as_f32`, for f64 (alignment 8 checked by `view`).
                Some(unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f64>(), *len) })
            }
            _ => None,
        }
    }

    /// The decoded values, when they were decoded rather than viewed.
    pub fn as_decoded(&self) -> Option<&ArrayData> {
        match &self.repr {
            Repr::Decoded(d) => Some(d),
            Repr::Viewed { .. } => None,
        }
    }

    /// Element `i` in row-major order, as `f64` (see [`ArrayData::get_f64`]).
    /// Panics if `i` is out of bounds, like slice indexing.
    pub fn get_f64(&self, i: usize) -> f64 {
        assert!(i < self.len(), "index {i} out of bounds ({})", self.len());
        self.stored_f64(self.storage_index(i))
    }

    /// Storage position of row-major element `i`.
    fn storage_index(&self, i: usize) -> usize {
        match &self.repr {
            Repr::Viewed {
                order: Order::ColumnMajor,
                rows,
                len,
                ..
            } if *rows > 0 => {
                let cols = len / rows;
                let (r, c) = (i / cols, i % cols);
                r + c * rows
            }
            _ => i,
        }
    }

    /// Storage position of the first NaN or infinity, if any (blocks scanned in parallel).
    pub(crate) fn first_non_finite(&self) -> Option<usize> {
        match (self.as_f32(), self.as_f64(), &self.repr) {
            (Some(v), _, _) => first_non_finite_par(v),
            (_, Some(v), _) => first_non_finite_par(v),
            _ => None,
        }
    }

    /// `(row, column)` of storage position `j` in an array of `rows` rows (column = flattened
    /// trailing index).
    pub(crate) fn row_col(&self, j: usize, rows: usize) -> (usize, usize) {
        let rows = rows.max(1);
        let cols = (self.len() / rows).max(1);
        match self.order() {
            Order::RowMajor => (j / cols, j % cols),
            Order::ColumnMajor => (j % rows, j / rows),
        }
    }

    /// Element at storage position `j`, as `f64`.
    pub(crate) fn stored_f64(&self, j: usize) -> f64 {
        match (self.as_f32(), self.as_f64(), &self.repr) {
            (Some(v), _, _) => f64::from(v[j]),
            (_, Some(v), _) => v[j],
            (_, _, Repr::Decoded(d)) => d.get_f64(j),
            _ => unreachable!("a view is f32 or f64"),
        }
    }

    /// The values as row-major [`ArrayData`], copying a view (and reordering a column-major one).
    pub fn to_array_data(&self) -> ArrayData {
        match &self.repr {
            Repr::Decoded(d) => d.clone(),
            Repr::Viewed { .. } => self.copy_view(),
        }
    }

    /// As [`FeatureData::to_array_data`], without copying decoded values.
    pub fn into_array_data(self) -> ArrayData {
        match self.repr {
            Repr::Decoded(d) => d,
            Repr::Viewed { .. } => self.copy_view(),
        }
    }

    /// A row-major copy of the values.
    fn copy_view(&self) -> ArrayData {
        let row_major = self.order() == Order::RowMajor;
        match (self.as_f32(), self.as_f64()) {
            (Some(v), _) if row_major => ArrayData::F32(v.to_vec()),
            (_, Some(v)) if row_major => ArrayData::F64(v.to_vec()),
            (Some(_), _) => {
                ArrayData::F32((0..self.len()).map(|i| self.get_f64(i) as f32).collect())
            }
            _ => ArrayData::F64((0..self.len()).map(|i| self.get_f64(i)).collect()),
        }
    }

    /// All elements converted to `f64`, row-major.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        (0..self.len()).map(|i| self.get_f64(i)).collect()
    }

    /// Converts integer values to `f64` (no-op for floats); returns whether it converted.
    pub(crate) fn integers_to_f64(&mut self) -> bool {
        if let Repr::Decoded(ArrayData::Int(v)) = &self.repr {
            self.repr = Repr::Decoded(ArrayData::F64(v.iter().map(|&x| x as f64).collect()));
            return true;
        }
        false
    }
}

/// Values compare equal when they have the same element type and the same row-major values,
/// whether decoded or viewed.
impl PartialEq for FeatureData {
    fn eq(&self, other: &Self) -> bool {
        self.dtype_name() == other.dtype_name()
            && self.len() == other.len()
            && match (self.order(), other.order()) {
                (Order::RowMajor, Order::RowMajor) => match (&self.repr, &other.repr) {
                    (Repr::Decoded(a), Repr::Decoded(b)) => a == b,
                    _ => match (self.as_f32(), other.as_f32()) {
                        (Some(a), Some(b)) => a == b,
                        _ => self.as_f64() == other.as_f64(),
                    },
                },
                _ => (0..self.len()).all(|i| self.get_f64(i) == other.get_f64(i)),
            }
    }
}

impl PartialEq<ArrayData> for FeatureData {
    fn eq(&self, other: &ArrayData) -> bool {
        if let Repr::Decoded(d) = &self.repr {
            return d == other;
        }
        let row_major = self.order() == Order::RowMajor;
        match (self.as_f32(), self.as_f64(), other) {
            (Some(a), _, ArrayData::F32(b)) if row_major => a == b.as_slice(),
            (_, Some(a), ArrayData::F64(b)) if row_major => a == b.as_slice(),
            (Some(_), _, ArrayData::F32(b)) => {
                b.len() == self.len() && (0..b.len()).all(|i| self.get_f64(i) == f64::from(b[i]))
            }
            (_, Some(_), ArrayData::F64(b)) => {
                b.len() == self.len() && (0..b.len()).all(|i| self.get_f64(i) == b[i])
            }
            _ => false,
        }
    }
}

impl fmt::Debug for FeatureData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Decoded(d) => f.debug_tuple("Decoded").field(d).finish(),
            Repr::Viewed {
                file,
                offset,
                len,
                float,
                order,
                ..
            } => f
                .debug_struct("Viewed")
                .field("file", file)
                .field("offset", offset)
                .field("len", len)
                .field("dtype", float)
                .field("order", order)
                .finish(),
        }
    }
}

/// Elements per block of the parallel finiteness scan (256 KiB of f32).
const SCAN_BLOCK: usize = 1 << 16;

/// A float whose NaN/infinity test compiles to a branch-free mask (so blocks vectorise).
pub(crate) trait FiniteBits: Copy + Send + Sync {
    /// `true` for NaN and ±infinity (all exponent bits set).
    fn is_non_finite(self) -> bool;
}

impl FiniteBits for f32 {
    #[inline]
    fn is_non_finite(self) -> bool {
        self.to_bits() & 0x7f80_0000 == 0x7f80_0000
    }
}

impl FiniteBits for f64 {
    #[inline]
    fn is_non_finite(self) -> bool {
        self.to_bits() & 0x7ff0_0000_0000_0000 == 0x7ff0_0000_0000_0000
    }
}

/// Position of the first NaN or infinity in `v`, if any: branch-free per block, then a
/// search inside the first block that has one.
pub(crate) fn first_non_finite_seq<T: FiniteBits>(v: &[T]) -> Option<usize> {
    v.chunks(SCAN_BLOCK).enumerate().find_map(|(b, block)| {
        let any = block.iter().fold(false, |acc, x| acc | x.is_non_finite());
        any.then(|| b * SCAN_BLOCK + block.iter().position(|x| x.is_non_finite()).unwrap_or(0))
    })
}

/// [`first_non_finite_seq`] with blocks scanned in parallel (same result).
pub(crate) fn first_non_finite_par<T: FiniteBits>(v: &[T]) -> Option<usize> {
    use rayon::prelude::*;
    if v.len() <= SCAN_BLOCK * 16 {
        return first_non_finite_seq(v);
    }
    v.par_chunks(SCAN_BLOCK * 16)
        .enumerate()
        .find_map_first(|(b, block)| first_non_finite_seq(block).map(|i| b * SCAN_BLOCK * 16 + i))
}
