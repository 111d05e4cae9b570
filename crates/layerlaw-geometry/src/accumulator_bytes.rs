//! Versioned, checksummed binary form of [`MultiLayerAccumulator`].
//!
//! Layout (all integers and floats little-endian):
//!
//! | field | type |
//! |---|---|
//! | magic `LLGEOACC` | 8 bytes |
//! | format version (= 1) | u32 |
//! | K, number of layers, max_dim | 3 × u64 |
//! | per layer: tag (0 = no data, 1 = data) | u8 |
//! | per layer with data: p, counts $n_k$ | u64, K × u64 |
//! | class means (row-major K×p), lower triangle of the scatter (column by column) | f64 … |
//! | FNV-1a-64 checksum of everything before it | u64 |
//!
//! [`MultiLayerAccumulator::from_bytes`] verifies the magic, version, checksum and lengths
//! before allocating, then that every float is finite, every scatter diagonal is ≥ 0 and each
//! layer with data has samples. Any violation is a [`GeometryError::CorruptBytes`] naming the
//! byte offset, never a panic.

use faer::Mat;

use crate::accumulator::{LayerState, MultiLayerAccumulator};
use crate::error::{GeometryError, Result};

const MAGIC: &[u8; 8] = b"LLGEOACC";
const VERSION: u32 = 1;

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl MultiLayerAccumulator {
    /// Serialises the accumulator (format in the `accumulator_bytes` module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        for v in [self.num_classes, self.layers.len(), self.max_dim] {
            out.extend_from_slice(&(v as u64).to_le_bytes());
        }
        for layer in &self.layers {
            match layer {
                None => out.push(0),
                Some(s) => {
                    out.push(1);
                    out.extend_from_slice(&(s.dim as u64).to_le_bytes());
                    for &c in &s.counts {
                        out.extend_from_slice(&c.to_le_bytes());
                    }
                    for c in 0..self.num_classes {
                        for j in 0..s.dim {
                            out.extend_from_slice(&s.means[(c, j)].to_le_bytes());
                        }
                    }
                    for j in 0..s.dim {
                        for i in j..s.dim {
                            out.extend_from_slice(&s.scatter[(i, j)].to_le_bytes());
                        }
                    }
                }
            }
        }
        let sum = fnv1a(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Reads bytes written by [`MultiLayerAccumulator::to_bytes`], validating them fully.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() < MAGIC.len() + 4 + 24 + 8 {
            return Err(corrupt(
                0,
                format!("{} bytes is shorter than any valid buffer", bytes.len()),
            ));
        }
        if &bytes[..8] != MAGIC {
            return Err(corrupt(0, "bad magic (not a layerlaw accumulator)".into()));
        }
        let body_len = bytes.len() - 8;
        let stored = u64::from_le_bytes(bytes[body_len..].try_into().unwrap_or([0; 8]));
        let mut r = Reader {
            bytes: &bytes[..body_len],
            pos: 8,
        };
        let version = u32::from_le_bytes(r.take::<4>()?);
        if version != VERSION {
            return Err(corrupt(
                8,
                format!("unsupported format version {version} (expected {VERSION})"),
            ));
        }
        if fnv1a(&bytes[..body_len]) != stored {
            return Err(corrupt(body_len, "checksum mismatch".into()));
        }
        let k = r.usize_field("number of classes")?;
        let num_layers = r.usize_field("number of layers")?;
        let max_dim = r.usize_field("max_dim")?;
        if k < 2 {
            return Err(corrupt(12, format!("{k} classes (need at least 2)")));
        }
        // Each layer needs at least its tag byte: bound allocations by the buffer size.
        if num_layers > r.remaining() {
            return Err(corrupt(
                20,
                format!("{num_layers} layers cannot fit in {} bytes", r.remaining()),
            ));
        }
        let mut layers = Vec::with_capacity(num_layers);
        for layer in 0..num_layers {
            let tag_at = r.pos;
            match r.take::<1>()?[0] {
                0 => layers.push(None),
                1 => layers.push(Some(read_layer(&mut r, k, max_dim, layer)?)),
                t => return Err(corrupt(tag_at, format!("layer {layer}: invalid tag {t}"))),
            }
        }
        if r.remaining() != 0 {
            return Err(corrupt(r.pos, format!("{} trailing bytes", r.remaining())));
        }
        Ok(MultiLayerAccumulator {
            num_classes: k,
            max_dim,
            layers,
        })
    }
}

fn read_layer(r: &mut Reader<'_>, k: usize, max_dim: usize, layer: usize) -> Result<LayerState> {
    let at = r.pos;
    let dim = r.usize_field("layer dimension")?;
    if dim == 0 || dim > max_dim {
        return Err(corrupt(
            at,
            format!("layer {layer}: dimension {dim} outside 1..={max_dim}"),
        ));
    }
    let floats = k
        .checked_mul(dim)
        .and_then(|m| m.checked_add(dim.checked_mul(dim + 1)? / 2))
        .and_then(|f| f.checked_mul(8))
        .and_then(|b| b.checked_add(8 * k));
    match floats {
        Some(need) if need <= r.remaining() => {}
        _ => {
            return Err(corrupt(
                at,
                format!("layer {layer}: buffer too short for dimension {dim}"),
            ))
        }
    }
    let mut counts = Vec::with_capacity(k);
    for _ in 0..k {
        counts.push(u64::from_le_bytes(r.take::<8>()?));
    }
    if counts
        .iter()
        .try_fold(0u64, |a, &c| a.checked_add(c))
        .is_none_or(|total| total == 0)
    {
        return Err(corrupt(
            at,
            format!("layer {layer}: class counts are zero or overflow"),
        ));
    }
    let mut means = Mat::<f64>::zeros(k, dim);
    for c in 0..k {
        for j in 0..dim {
            means[(c, j)] = r.finite(layer)?;
        }
    }
    let mut scatter = Mat::<f64>::zeros(dim, dim);
    for j in 0..dim {
        for i in j..dim {
            let diag_at = r.pos;
            let v = r.finite(layer)?;
            if i == j && v < 0.0 {
                return Err(corrupt(
                    diag_at,
                    format!("layer {layer}: negative scatter diagonal {v}"),
                ));
            }
            scatter[(i, j)] = v;
            scatter[(j, i)] = v;
        }
    }
    Ok(LayerState {
        dim,
        counts,
        means,
        scatter,
    })
}

fn corrupt(offset: usize, reason: String) -> GeometryError {
    GeometryError::CorruptBytes { offset, reason }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        let end = self.pos.checked_add(N).filter(|&e| e <= self.bytes.len());
        let end =
            end.ok_or_else(|| corrupt(self.pos, format!("truncated: need {N} more bytes")))?;
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[self.pos..end]);
        self.pos = end;
        Ok(out)
    }

    fn usize_field(&mut self, what: &str) -> Result<usize> {
        let at = self.pos;
        let v = u64::from_le_bytes(self.take::<8>()?);
        usize::try_from(v).map_err(|_| corrupt(at, format!("{what} {v} does not fit in usize")))
    }

    fn finite(&mut self, layer: usize) -> Result<f64> {
        let at = self.pos;
        let v = f64::from_le_bytes(self.take::<8>()?);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(corrupt(at, format!("layer {layer}: non-finite value {v}")))
        }
    }
}
