//! The byte form of `layerlaw.Accumulator` ([`Envelope`]): the geometry crate's checksummed
//! accumulator bytes wrapped with the layer names and class counts. It knows nothing of the
//! Python class, which holds an [`Envelope`] and delegates its bytes here.
//!
//! Layout (little-endian): magic `LLPYACC1` (8 bytes) | format version u32 (= 1) | max_dim u64 |
//! number of layers L u64 | K u64 | L × (name length u64, UTF-8 name) | L × K class counts u64 |
//! length of the geometry bytes u64 | the bytes of
//! `layerlaw_geometry::MultiLayerAccumulator::to_bytes`.
//! Decoding checks every length before reading and that the counts agree with the geometry
//! section; any problem is a `ValueError` naming the byte offset.

use layerlaw_geometry::MultiLayerAccumulator;
use pyo3::exceptions::PyValueError;
use pyo3::PyResult;

use crate::errors::geometry_error;

/// Everything `layerlaw.Accumulator` keeps: the streaming statistics and what the geometry
/// crate does not expose.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// The per-layer statistics.
    pub inner: MultiLayerAccumulator,
    /// Layer names, in order.
    pub names: Vec<String>,
    /// $n_k$ per layer.
    pub counts: Vec<Vec<u64>>,
    /// The largest accepted feature dimension (also inside `inner`, which does not expose it).
    pub max_dim: usize,
}

const MAGIC: &[u8; 8] = b"LLPYACC1";
const VERSION: u32 = 1;

/// Serialises `acc` (see the module docs).
pub fn encode(acc: &Envelope) -> Vec<u8> {
    let geometry = acc.inner.to_bytes();
    let mut out = Vec::with_capacity(geometry.len() + 64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    for v in [acc.max_dim, acc.names.len(), acc.inner.num_classes()] {
        out.extend_from_slice(&(v as u64).to_le_bytes());
    }
    for name in &acc.names {
        out.extend_from_slice(&(name.len() as u64).to_le_bytes());
        out.extend_from_slice(name.as_bytes());
    }
    for &c in acc.counts.iter().flatten() {
        out.extend_from_slice(&c.to_le_bytes());
    }
    out.extend_from_slice(&(geometry.len() as u64).to_le_bytes());
    out.extend_from_slice(&geometry);
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn corrupt(offset: usize, reason: impl std::fmt::Display) -> pyo3::PyErr {
    PyValueError::new_err(format!(
        "corrupt accumulator bytes at offset {offset}: {reason}"
    ))
}

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize, what: &str) -> PyResult<&'a [u8]> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                corrupt(
                    self.pos,
                    format!(
                        "{what} needs {len} bytes, only {} left",
                        self.bytes.len() - self.pos
                    ),
                )
            })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u64(&mut self, what: &str) -> PyResult<u64> {
        let b = self.take(8, what)?;
        Ok(u64::from_le_bytes(b.try_into().expect("8 bytes")))
    }

    fn size(&mut self, what: &str) -> PyResult<usize> {
        let at = self.pos;
        let v = self.u64(what)?;
        usize::try_from(v)
            .ok()
            .filter(|&v| v <= self.bytes.len())
            .ok_or_else(|| corrupt(at, format!("{what} {v} is larger than the buffer")))
    }
}

/// Reads bytes written by [`encode`], validating them.
pub fn decode(bytes: &[u8]) -> PyResult<Envelope> {
    let mut r = Reader { bytes, pos: 0 };
    if r.take(8, "magic")? != MAGIC {
        return Err(corrupt(
            0,
            "bad magic (not bytes from layerlaw.Accumulator.to_bytes)",
        ));
    }
    let version = u32::from_le_bytes(r.take(4, "version")?.try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(corrupt(
            8,
            format!("format version {version}, this build reads {VERSION}"),
        ));
    }
    let max_dim = usize::try_from(r.u64("max_dim")?)
        .map_err(|_| corrupt(12, "max_dim does not fit in usize"))?;
    let num_layers = r.size("number of layers")?;
    let k = r.size("number of classes")?;
    let mut names = Vec::with_capacity(num_layers);
    for _ in 0..num_layers {
        let len = r.size("layer name length")?;
        let at = r.pos;
        let raw = r.take(len, "layer name")?;
        names.push(
            String::from_utf8(raw.to_vec()).map_err(|_| corrupt(at, "layer name is not UTF-8"))?,
        );
    }
    let counts_at = r.pos;
    let cells = num_layers
        .checked_mul(k)
        .ok_or_else(|| corrupt(counts_at, "layer x class count overflows"))?;
    let mut flat = Vec::with_capacity(cells.min(bytes.len() / 8));
    for _ in 0..cells {
        flat.push(r.u64("class count")?);
    }
    let counts: Vec<Vec<u64>> = if k == 0 {
        vec![Vec::new(); num_layers]
    } else {
        flat.chunks(k).map(<[u64]>::to_vec).collect()
    };
    let len = r.size("geometry section length")?;
    let geometry_at = r.pos;
    let geometry = r.take(len, "geometry section")?;
    if r.pos != bytes.len() {
        return Err(corrupt(
            r.pos,
            format!("{} trailing bytes", bytes.len() - r.pos),
        ));
    }
    let inner = MultiLayerAccumulator::from_bytes(geometry).map_err(|e| {
        geometry_error(
            e,
            Some(&format!("geometry section starting at byte {geometry_at}")),
        )
    })?;
    if inner.num_classes() != k || inner.num_layers() != num_layers {
        return Err(corrupt(
            geometry_at,
            format!(
                "geometry section has {} classes x {} layers, header says {k} x {num_layers}",
                inner.num_classes(),
                inner.num_layers()
            ),
        ));
    }
    for (l, c) in counts.iter().enumerate() {
        let seen: u64 = c.iter().sum();
        if seen != inner.num_samples(l) {
            return Err(corrupt(
                counts_at,
                format!(
                    "layer '{}' counts sum to {seen} but the geometry section has {} samples",
                    names[l],
                    inner.num_samples(l)
                ),
            ));
        }
    }
    Ok(Envelope {
        inner,
        names,
        counts,
        max_dim,
    })
}
