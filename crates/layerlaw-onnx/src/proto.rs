//! Reading an ONNX file: telling "not ONNX" from "truncated" before decoding, and checking
//! that external-data files are there.
//!
//! An ONNX file is one protobuf `ModelProto`. Before decoding it, [`check_wire`] walks its
//! top-level fields: every exporter writes `ir_version` (field 1, a varint, so the first byte is
//! `0x08`) first; a file that does not start so, or whose field tags are not valid protobuf, is
//! *not ONNX*; a file whose last field declares more bytes than remain is *truncated*.

use std::path::{Path, PathBuf};

use tract_onnx::pb;
use tract_onnx::prelude::Framework;

use crate::error::{OnnxError, Result};

/// Name of a top-level `ModelProto` field, for messages.
fn field_name(field: u64) -> &'static str {
    match field {
        1 => "ir_version",
        2 => "producer_name",
        3 => "producer_version",
        4 => "domain",
        5 => "model_version",
        6 => "doc_string",
        7 => "graph",
        8 => "opset_import",
        14 => "metadata_props",
        20 => "training_info",
        25 => "functions",
        _ => "unknown",
    }
}

/// Reads a base-128 varint at `*pos`; `None` when the bytes end inside it.
fn varint(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        value |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    Some(value)
}

/// Walks the top-level fields of a `ModelProto` without decoding them.
pub(crate) fn check_wire(path: &Path, bytes: &[u8]) -> Result<()> {
    let not_onnx = |reason: String| OnnxError::NotOnnx {
        path: path.to_path_buf(),
        reason,
    };
    let len = bytes.len() as u64;
    if bytes.is_empty() {
        return Err(not_onnx("the file is empty".into()));
    }
    if bytes[0] != 0x08 {
        return Err(not_onnx(format!(
            "it does not start with an ONNX header (ir_version field, byte 0x08), first bytes are {:02x?}",
            &bytes[..bytes.len().min(8)]
        )));
    }
    let mut pos = 0usize;
    let mut seen_graph = false;
    while pos < bytes.len() {
        let start = pos;
        let Some(tag) = varint(bytes, &mut pos) else {
            return Err(OnnxError::Truncated {
                path: path.to_path_buf(),
                len,
                needed: len + 1,
                field: "unknown",
            });
        };
        let (field, wire) = (tag >> 3, tag & 7);
        let name = field_name(field);
        if field == 0 || field > 1 << 20 {
            return Err(not_onnx(format!(
                "invalid protobuf field number {field} at byte {start}"
            )));
        }
        let end = match wire {
            0 => match varint(bytes, &mut pos) {
                Some(_) => pos as u64,
                None => len + 1,
            },
            1 => pos as u64 + 8,
            2 => match varint(bytes, &mut pos) {
                Some(n) => (pos as u64).saturating_add(n),
                None => len + 1,
            },
            5 => pos as u64 + 4,
            _ => {
                return Err(not_onnx(format!(
                    "invalid protobuf wire type {wire} for field {field} at byte {start}"
                )))
            }
        };
        if end > len {
            if name == "unknown" {
                return Err(not_onnx(format!(
                    "field {field} at byte {start} declares {} bytes past the end of the file",
                    end - len
                )));
            }
            return Err(OnnxError::Truncated {
                path: path.to_path_buf(),
                len,
                needed: end,
                field: name,
            });
        }
        seen_graph |= field == 7 && wire == 2;
        pos = end as usize;
    }
    if !seen_graph {
        return Err(not_onnx("it has no graph".into()));
    }
    Ok(())
}

/// Reads and decodes `path` into a `ModelProto`, with the checks of [`check_wire`].
pub(crate) fn read_model(path: &Path) -> Result<pb::ModelProto> {
    let bytes = std::fs::read(path).map_err(|source| OnnxError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    check_wire(path, &bytes)?;
    let proto = tract_onnx::onnx()
        .proto_model_for_read(&mut bytes.as_slice())
        .map_err(|e| OnnxError::NotOnnx {
            path: path.to_path_buf(),
            reason: format!("protobuf decoding failed: {e:#}"),
        })?;
    if !(1..=64).contains(&proto.ir_version) {
        return Err(OnnxError::NotOnnx {
            path: path.to_path_buf(),
            reason: format!("implausible ir_version {}", proto.ir_version),
        });
    }
    if proto.opset_import.is_empty() {
        return Err(OnnxError::NotOnnx {
            path: path.to_path_buf(),
            reason:
                "it imports no operator set (opset_import is empty); the file may be incomplete"
                    .into(),
        });
    }
    Ok(proto)
}

/// Checks that every external-data initializer's file exists and is long enough.
///
/// External data (`data_location = EXTERNAL`) names a file relative to the model's folder and an
/// optional `offset` and `length` in bytes; PyTorch and `onnx.save_model(...,
/// save_as_external_data=True)` write one `model.onnx.data` beside `model.onnx`.
pub(crate) fn check_external_data(path: &Path, graph: &pb::GraphProto) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    for t in &graph.initializer {
        if t.data_location != Some(1) {
            continue;
        }
        let get = |key: &str| {
            t.external_data
                .iter()
                .find(|e| e.key == key)
                .map(|e| e.value.as_str())
        };
        let err = |data_path: PathBuf, reason: String| OnnxError::ExternalData {
            path: path.to_path_buf(),
            data_path,
            tensor: t.name.clone(),
            reason,
        };
        let Some(location) = get("location") else {
            return Err(err(PathBuf::new(), "no `location` entry".into()));
        };
        let data_path = dir.join(location);
        let number = |key: &str| -> Result<u64> {
            match get(key) {
                None => Ok(0),
                Some(v) => v
                    .parse()
                    .map_err(|_| err(data_path.clone(), format!("`{key}` is not a number: {v:?}"))),
            }
        };
        let (offset, length) = (number("offset")?, number("length")?);
        let size = std::fs::metadata(&data_path)
            .map_err(|e| err(data_path.clone(), format!("cannot open it: {e}")))?
            .len();
        if offset + length > size {
            return Err(err(
                data_path.clone(),
                format!(
                    "it has {size} bytes, the tensor needs bytes {offset}..{}",
                    offset + length
                ),
            ));
        }
    }
    Ok(())
}
