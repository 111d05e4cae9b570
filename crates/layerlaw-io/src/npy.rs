//! Reading and writing single `.npy` arrays (numpy `lib/format.py`, versions 1.0–3.0):
//! magic `\x93NUMPY`, version, header length, a Python-dict header, then the raw elements.

use std::path::Path;

use crate::array::{ArrayData, NamedArray, RawArray};
use crate::dtype::{decode, ElemKind, Endian};
use crate::error::{IoError, Origin};
use crate::file_bytes::FileBytes;
use crate::npy_header::{parse_descr, parse_header};
use crate::values::{FeatureData, Float, Order};

/// The six magic bytes every `.npy` file starts with.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Parses a complete `.npy` byte buffer called `name`.
///
/// When `file` is given and `bytes` lies inside it, little-endian `f32`/`f64` data that is
/// aligned in the file, in C order or rank-2 Fortran order, is viewed in place
/// ([`FeatureData::view`]); everything else is decoded (Fortran data of rank > 2 transposed to
/// row-major, big-endian data byte-swapped, narrow types widened). The declared size is checked
/// against the bytes present before anything is allocated.
pub(crate) fn parse_npy_in(
    bytes: &[u8],
    name: &str,
    origin: &Origin<'_>,
    file: Option<&FileBytes>,
) -> Result<RawArray, IoError> {
    let avail = bytes.len() as u64;
    let prefix = bytes.len().min(MAGIC.len());
    if bytes[..prefix] != MAGIC[..prefix] || bytes.is_empty() {
        return Err(IoError::BadMagic {
            path: origin.path(),
            entry: origin.entry(),
            format: "npy",
        });
    }
    if bytes.len() < 10 {
        return Err(origin.truncated("npy preamble", 10, avail));
    }
    let (header_start, header_len) = match bytes[6] {
        1 => (10usize, u64::from(u16::from_le_bytes([bytes[8], bytes[9]]))),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(origin.truncated("npy preamble", 12, avail));
            }
            (
                12,
                u64::from(u32::from_le_bytes([
                    bytes[8], bytes[9], bytes[10], bytes[11],
                ])),
            )
        }
        v => {
            return Err(
                origin.bad_header(format!("unsupported npy format version {v}.{}", bytes[7]))
            )
        }
    };
    let header_end = header_start as u64 + header_len;
    if header_end > avail {
        return Err(origin.truncated("npy header", header_end, avail));
    }
    let header_end = header_end as usize;
    let header =
        parse_header(&bytes[header_start..header_end]).map_err(|r| origin.bad_header(r))?;
    let (kind, endian) =
        parse_descr(&header.descr).ok_or_else(|| origin.unsupported_dtype(&header.descr))?;

    let shape: Vec<usize> = header
        .shape
        .iter()
        .map(|&d| usize::try_from(d).ok())
        .collect::<Option<_>>()
        .ok_or_else(|| origin.shape_too_large(&header.shape))?;
    let numel =
        NamedArray::checked_numel(&shape).ok_or_else(|| origin.shape_too_large(&header.shape))?;
    let nbytes = numel
        .checked_mul(kind.size())
        .ok_or_else(|| origin.shape_too_large(&header.shape))?;
    let body = &bytes[header_end..];
    if (body.len() as u64) < nbytes as u64 {
        return Err(origin.truncated("array data", nbytes as u64, body.len() as u64));
    }
    if body.len() > nbytes {
        return Err(IoError::Corrupt {
            path: origin.path(),
            entry: origin.entry(),
            reason: format!(
                "{} bytes of data after the {nbytes} announced by dtype {} and shape {:?}",
                body.len() - nbytes,
                header.descr,
                header.shape
            ),
        });
    }
    let fortran = header.fortran_order && shape.len() > 1;
    let view = file.and_then(|file| {
        let float = match (kind, endian) {
            (ElemKind::F32, Endian::Little) => Float::F32,
            (ElemKind::F64, Endian::Little) => Float::F64,
            _ => return None,
        };
        let order = match (fortran, shape.len()) {
            (false, _) => Order::RowMajor,
            (true, 2) => Order::ColumnMajor,
            (true, _) => return None,
        };
        let offset = file.offset_of(body)?;
        FeatureData::view(
            file,
            offset,
            numel,
            float,
            order,
            shape.first().copied().unwrap_or(1),
        )
    });
    let values = match view {
        Some(v) => v,
        None => {
            let mut data = decode(kind, endian, body, origin)?;
            if fortran {
                data = match data {
                    ArrayData::F32(v) => ArrayData::F32(fortran_to_c(&v, &shape)),
                    ArrayData::F64(v) => ArrayData::F64(fortran_to_c(&v, &shape)),
                    ArrayData::Int(v) => ArrayData::Int(fortran_to_c(&v, &shape)),
                };
            }
            FeatureData::from(data)
        }
    };
    Ok(RawArray {
        name: name.to_owned(),
        shape,
        values,
        finite_scan: None,
    })
}

/// Reorders column-major (Fortran) data to row-major: element $(i_0,\dots,i_{r-1})$ lives at
/// Fortran offset $\sum_k i_k \prod_{j<k} d_j$.
fn fortran_to_c<T: Copy>(src: &[T], shape: &[usize]) -> Vec<T> {
    let mut fstride = vec![1usize; shape.len()];
    for k in 1..shape.len() {
        fstride[k] = fstride[k - 1] * shape[k - 1];
    }
    let mut out = Vec::with_capacity(src.len());
    let mut idx = vec![0usize; shape.len()];
    let mut offset = 0usize;
    for _ in 0..src.len() {
        out.push(src[offset]);
        // Odometer increment, last axis fastest (row-major output order).
        for k in (0..shape.len()).rev() {
            idx[k] += 1;
            offset += fstride[k];
            if idx[k] < shape[k] {
                break;
            }
            offset -= fstride[k] * shape[k];
            idx[k] = 0;
        }
    }
    out
}

/// Serialises an array as a little-endian, C-order `.npy` (format 1.0, or 2.0 for headers
/// over 64 KiB): `F32` → `<f4`, `F64` → `<f8`, `Int` → `<i8`.
///
/// Fails with [`IoError::InvalidArray`] when `data.len()` differs from the product of `shape`
/// (`path` is only used to name the destination in that error).
pub fn encode_npy(path: &Path, array: &NamedArray) -> Result<Vec<u8>, IoError> {
    check_array(path, array)?;
    let descr = match array.data {
        ArrayData::F32(_) => "<f4",
        ArrayData::F64(_) => "<f8",
        ArrayData::Int(_) => "<i8",
    };
    let dims: Vec<String> = array.shape.iter().map(usize::to_string).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let (version, prefix_len) = if header.len() + 11 <= usize::from(u16::MAX) {
        (1u8, 10)
    } else {
        (2, 12)
    };
    // numpy pads with spaces so that the data starts on a 64-byte boundary, then a newline.
    let total = (prefix_len + header.len() + 1).div_ceil(64) * 64;
    header.push_str(&" ".repeat(total - prefix_len - header.len() - 1));
    header.push('\n');

    let mut out = Vec::with_capacity(total + array.data.len() * 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    out.extend_from_slice(header.as_bytes());
    match &array.data {
        ArrayData::F32(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        ArrayData::F64(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        ArrayData::Int(v) => v
            .iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
    }
    Ok(out)
}

/// Writes one array as a `.npy` file (see [`encode_npy`]), readable by `numpy.load`.
pub fn write_npy(path: &Path, array: &NamedArray) -> Result<(), IoError> {
    let bytes = encode_npy(path, array)?;
    std::fs::write(path, bytes).map_err(|source| IoError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Checks that an array about to be written is self-consistent.
pub(crate) fn check_array(path: &Path, array: &NamedArray) -> Result<(), IoError> {
    let invalid = |reason: String| IoError::InvalidArray {
        path: path.to_path_buf(),
        name: array.name.clone(),
        reason,
    };
    let numel = NamedArray::checked_numel(&array.shape)
        .ok_or_else(|| invalid(format!("shape {:?} overflows", array.shape)))?;
    if numel != array.data.len() {
        return Err(invalid(format!(
            "shape {:?} needs {numel} elements but data has {}",
            array.shape,
            array.data.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::fortran_to_c;

    #[test]
    fn fortran_transpose_3d() {
        // numpy: np.arange(24).reshape(2,3,4).ravel(order='F') is the Fortran storage.
        let shape = [2, 3, 4];
        let mut fortran = vec![0usize; 24];
        for i in 0..2 {
            for j in 0..3 {
                for k in 0..4 {
                    fortran[i + 2 * j + 6 * k] = i * 12 + j * 4 + k;
                }
            }
        }
        assert_eq!(fortran_to_c(&fortran, &shape), (0..24).collect::<Vec<_>>());
        assert_eq!(fortran_to_c::<u8>(&[], &[0, 3]), Vec::<u8>::new());
    }
}
