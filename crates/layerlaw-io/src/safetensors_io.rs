//! Reading and writing `.safetensors` files (Hugging Face format: an 8-byte little-endian header
//! length, a JSON header mapping keys to `{dtype, shape, data_offsets}`, then the raw data).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::array::{ArrayData, NamedArray, RawArray};
use crate::dtype::{decode, ElemKind, Endian};
use crate::error::{IoError, Origin};
use crate::file_bytes::FileBytes;
use crate::npy::check_array;
use crate::values::{FeatureData, Float, Order};

/// Key under which safetensors stores free-text metadata.
const METADATA_KEY: &str = "__metadata__";

/// Arrays and sorted metadata of one safetensors file.
pub(crate) type SafetensorsContents = (Vec<RawArray>, Vec<(String, String)>);

/// Reads every tensor of a safetensors file: `f32`/`f64` tensors aligned in the file are viewed
/// in place, the others decoded (`f16`/`bf16` widened to `f32`, integers to `i64`).
pub(crate) fn read_safetensors(path: &Path) -> Result<SafetensorsContents, IoError> {
    let file = FileBytes::open(path)?;
    read_safetensors_bytes(path, &file)
}

/// [`read_safetensors`] on bytes already opened.
pub(crate) fn read_safetensors_bytes(
    path: &Path,
    file: &FileBytes,
) -> Result<SafetensorsContents, IoError> {
    let bytes = file.bytes();
    let metadata = precheck(path, bytes)?;
    let tensors = SafeTensors::deserialize(bytes).map_err(|e| IoError::Corrupt {
        path: path.to_path_buf(),
        entry: None,
        reason: e.to_string(),
    })?;
    let mut arrays = Vec::with_capacity(tensors.len());
    for (name, view) in tensors.iter() {
        let origin = Origin {
            path,
            entry: Some(name),
        };
        let kind = match view.dtype() {
            Dtype::F16 => ElemKind::F16,
            Dtype::BF16 => ElemKind::BF16,
            Dtype::F32 => ElemKind::F32,
            Dtype::F64 => ElemKind::F64,
            Dtype::I8 => ElemKind::I8,
            Dtype::I16 => ElemKind::I16,
            Dtype::I32 => ElemKind::I32,
            Dtype::I64 => ElemKind::I64,
            Dtype::U8 => ElemKind::U8,
            Dtype::U16 => ElemKind::U16,
            Dtype::U32 => ElemKind::U32,
            Dtype::U64 => ElemKind::U64,
            other => return Err(origin.unsupported_dtype(format!("{other:?}"))),
        };
        let shape = view.shape().to_vec();
        let float = match kind {
            ElemKind::F32 => Some(Float::F32),
            ElemKind::F64 => Some(Float::F64),
            _ => None,
        };
        let numel = view.data().len() / kind.size();
        let rows = shape.first().copied().unwrap_or(1);
        let viewed = float.and_then(|float| {
            let offset = file.offset_of(view.data())?;
            FeatureData::view(file, offset, numel, float, Order::RowMajor, rows)
        });
        let values = match viewed {
            Some(v) => v,
            None => FeatureData::from(decode(kind, Endian::Little, view.data(), &origin)?),
        };
        arrays.push(RawArray {
            name: name.to_owned(),
            shape,
            values,
            finite_scan: None,
        });
    }
    Ok((arrays, metadata))
}

/// Validates the header ourselves before handing the buffer to the `safetensors` crate, so that
/// truncation is reported with byte counts and the tensor it cuts; returns the sorted metadata.
fn precheck(path: &Path, bytes: &[u8]) -> Result<Vec<(String, String)>, IoError> {
    let origin = Origin { path, entry: None };
    let avail = bytes.len() as u64;
    if bytes.len() < 8 {
        return Err(origin.truncated("safetensors header length", 8, avail));
    }
    let header_len = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if header_len > avail - 8 {
        return Err(origin.truncated("safetensors header", header_len, avail - 8));
    }
    let header_end = 8 + header_len as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..header_end])
            .map_err(|e| origin.bad_header(format!("header is not a JSON object: {e}")))?;
    let data_avail = avail - header_end as u64;
    let mut furthest: Option<(u64, &str)> = None;
    let mut metadata = Vec::new();
    for (key, value) in &header {
        if key == METADATA_KEY {
            let map = value
                .as_object()
                .ok_or_else(|| origin.bad_header("__metadata__ is not an object"))?;
            for (k, v) in map {
                let v = v
                    .as_str()
                    .ok_or_else(|| origin.bad_header(format!("metadata {k:?} is not a string")))?;
                metadata.push((k.clone(), v.to_owned()));
            }
            continue;
        }
        let end = value
            .get("data_offsets")
            .and_then(|o| o.get(1))
            .and_then(serde_json::Value::as_u64)
            .ok_or_else(|| IoError::BadHeader {
                path: path.to_path_buf(),
                entry: Some(key.clone()),
                reason: "missing or invalid data_offsets".into(),
            })?;
        if furthest.is_none_or(|(e, _)| end > e) {
            furthest = Some((end, key));
        }
    }
    if let Some((end, key)) = furthest {
        if end > data_avail {
            return Err(IoError::Truncated {
                path: path.to_path_buf(),
                entry: Some(key.to_owned()),
                what: "tensor data",
                needed: end,
                available: data_avail,
            });
        }
    }
    metadata.sort();
    Ok(metadata)
}

/// Writes `arrays` to a safetensors file readable by `safetensors.torch.load_file` /
/// `safetensors.numpy.load_file`: `F32` → `F32`, `F64` → `F64`, `Int` → `I64`; `metadata`
/// becomes the `__metadata__` string map.
///
/// The file is written to a temporary sibling and renamed into place, so a crash never leaves
/// a half-written file under `path`. Fails on duplicate or empty names, the reserved name
/// `__metadata__`, or an array whose data length differs from the product of its shape.
pub fn write_safetensors(
    path: &Path,
    arrays: &[NamedArray],
    metadata: &[(String, String)],
) -> Result<(), IoError> {
    let mut buffers: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = Vec::with_capacity(arrays.len());
    for array in arrays {
        check_array(path, array)?;
        if array.name.is_empty() || array.name == METADATA_KEY {
            return Err(IoError::InvalidArray {
                path: path.to_path_buf(),
                name: array.name.clone(),
                reason: "name is empty or reserved".into(),
            });
        }
        if buffers.iter().any(|(n, ..)| *n == array.name) {
            return Err(IoError::DuplicateKey {
                path: path.to_path_buf(),
                key: array.name.clone(),
            });
        }
        let (dtype, bytes) = match &array.data {
            ArrayData::F32(v) => (Dtype::F32, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            ArrayData::F64(v) => (Dtype::F64, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
            ArrayData::Int(v) => (Dtype::I64, v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        };
        buffers.push((array.name.clone(), dtype, array.shape.clone(), bytes));
    }
    let corrupt = |reason: String| IoError::Corrupt {
        path: path.to_path_buf(),
        entry: None,
        reason,
    };
    let mut views = Vec::with_capacity(buffers.len());
    for (name, dtype, shape, bytes) in &buffers {
        let view =
            TensorView::new(*dtype, shape.clone(), bytes).map_err(|e| corrupt(e.to_string()))?;
        views.push((name.as_str(), view));
    }
    let info: Option<HashMap<String, String>> =
        (!metadata.is_empty()).then(|| metadata.iter().cloned().collect());
    let serialized =
        safetensors::tensor::serialize(views, info).map_err(|e| corrupt(e.to_string()))?;
    let tmp = temporary_sibling(path);
    let io_err = |p: &Path| {
        let p = p.to_path_buf();
        move |source| IoError::Io { path: p, source }
    };
    std::fs::write(&tmp, serialized).map_err(io_err(&tmp))?;
    std::fs::rename(&tmp, path).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        IoError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// `dir/.name.tmp-PID`, next to `path` so that the final rename stays on one file system.
fn temporary_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}
