//! Versioned, checksummed binary forms of [`Pass1`] and [`Pass2`].
//!
//! Layouts (all integers and floats little-endian), each followed by the FNV-1a-64 checksum
//! (u64) of every byte before it:
//!
//! | [`Pass1`] | type |
//! |---|---|
//! | magic `LLGEOPS1` | 8 bytes |
//! | format version (= 1) | u32 |
//! | K, p, batches | 3 × u64 |
//! | counts $n_k$ | K × u64 |
//! | class sums, row-major K×p | f64 … |
//!
//! | [`Pass2`] | type |
//! |---|---|
//! | magic `LLGEOPS2` | 8 bytes |
//! | format version (= 2; version 1, without the per-class part, is still read) | u32 |
//! | K, p, r, basis fingerprint, batches | 5 × u64 |
//! | counts $n_k$ | K × u64 |
//! | $\sum_i\|z_i\|^2$, lower triangle of the scatter (row by row) | f64 … |
//! | per-class part present (0 or 1) | u64 |
//! | if present: per-class $\sum\|z_i\|^2$, then $\sum\|LQ^\top z_i\|^2$ | 2K × f64 |
//! | NCC correct, rows with a prediction, NCC agreeing with it | 3 × u64 |
//! | bootstrap groups G (0: none) | u64 |
//! | if G > 0: counts, sums (r each), packed scatter (r(r+1)/2 each) per (class, group) | KG × u64, f64 … |
//!
//! Reading checks the magic, version, checksum and every length before allocating, then that
//! K ≥ 2, p ≥ 1, r ≤ min(p, K−1), every float is finite, the scatter diagonal and the sum of
//! squares are ≥ 0 and the counts do not overflow. Any violation is a
//! [`GeometryError::CorruptBytes`] naming the byte offset, never a panic.

use super::{Pass1, Pass2};
use crate::class_stats::ClassStats;
use crate::error::{GeometryError, Result};

const MAGIC1: &[u8; 8] = b"LLGEOPS1";
const MAGIC2: &[u8; 8] = b"LLGEOPS2";
const VERSION: u32 = 1;
/// Version of the pass-2 layout written now.
const VERSION2: u32 = 2;

/// FNV-1a, 64 bits.
pub(crate) struct Fnv(u64);

impl Fnv {
    pub(crate) fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

fn seal(mut out: Vec<u8>) -> Vec<u8> {
    let mut h = Fnv::new();
    h.bytes(&out);
    out.extend_from_slice(&h.finish().to_le_bytes());
    out
}

fn push_u64s(out: &mut Vec<u8>, values: impl IntoIterator<Item = u64>) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn push_f64s(out: &mut Vec<u8>, values: impl IntoIterator<Item = f64>) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

impl Pass1 {
    /// Serialises the state (format in the `two_pass::bytes` module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48 + 8 * (self.counts.len() + self.sums.len()));
        out.extend_from_slice(MAGIC1);
        out.extend_from_slice(&VERSION.to_le_bytes());
        push_u64s(
            &mut out,
            [self.num_classes as u64, self.dim as u64, self.batches],
        );
        push_u64s(&mut out, self.counts.iter().copied());
        push_f64s(&mut out, self.sums.iter().copied());
        seal(out)
    }

    /// Reads bytes written by [`Pass1::to_bytes`], validating them fully.
    pub fn from_bytes(bytes: &[u8]) -> Result<Pass1> {
        let mut r = Reader::open(bytes, MAGIC1, "pass-1", &[VERSION])?;
        let k = r.size("number of classes")?;
        let dim = r.size("dimension")?;
        let batches = r.u64()?;
        if k < 2 || dim == 0 {
            return Err(corrupt(12, format!("{k} classes x dimension {dim}")));
        }
        let floats = k.checked_mul(dim).filter(|&f| {
            f.checked_add(k)
                .and_then(|v| v.checked_mul(8))
                .is_some_and(|need| need == r.remaining())
        });
        let floats = floats.ok_or_else(|| {
            corrupt(
                r.pos,
                format!(
                    "{} bytes left, not {k} counts and {k}x{dim} sums",
                    r.remaining()
                ),
            )
        })?;
        let counts = r.counts(k)?;
        let sums = (0..floats).map(|_| r.finite()).collect::<Result<_>>()?;
        Ok(Pass1 {
            num_classes: k,
            dim,
            counts,
            sums,
            batches,
        })
    }
}

impl Pass2 {
    /// Serialises the state (format in the `two_pass::bytes` module docs).
    pub fn to_bytes(&self) -> Vec<u8> {
        let r = self.rank;
        let mut out = Vec::with_capacity(72 + 8 * (self.counts.len() + r * (r + 1) / 2));
        out.extend_from_slice(MAGIC2);
        out.extend_from_slice(&VERSION2.to_le_bytes());
        push_u64s(
            &mut out,
            [
                self.num_classes as u64,
                self.dim as u64,
                r as u64,
                self.fingerprint,
                self.batches,
            ],
        );
        push_u64s(&mut out, self.counts.iter().copied());
        out.extend_from_slice(&self.sum_squares.to_le_bytes());
        for a in 0..r {
            push_f64s(&mut out, (0..=a).map(|b| self.scatter[a * r + b]));
        }
        match &self.class_stats {
            None => push_u64s(&mut out, [0]),
            Some(st) => {
                push_u64s(&mut out, [1]);
                push_f64s(&mut out, st.sum_squares.iter().copied());
                push_f64s(&mut out, st.fuzziness.iter().copied());
                push_u64s(&mut out, [st.ncc_correct, st.predicted, st.ncc_agree]);
                match &st.bootstrap {
                    None => push_u64s(&mut out, [0]),
                    Some(b) => {
                        push_u64s(&mut out, [b.groups as u64]);
                        push_u64s(&mut out, b.counts.iter().copied());
                        push_f64s(&mut out, b.sums.iter().copied());
                        push_f64s(&mut out, b.scatter.iter().copied());
                    }
                }
            }
        }
        seal(out)
    }

    /// Reads bytes written by [`Pass2::to_bytes`], validating them fully.
    pub fn from_bytes(bytes: &[u8]) -> Result<Pass2> {
        let mut rd = Reader::open(bytes, MAGIC2, "pass-2", &[VERSION, VERSION2])?;
        let k = rd.size("number of classes")?;
        let dim = rd.size("dimension")?;
        let r = rd.size("rank")?;
        let fingerprint = rd.u64()?;
        let batches = rd.u64()?;
        if k < 2 || dim == 0 || r > dim.min(k - 1) {
            return Err(corrupt(
                12,
                format!("{k} classes x dimension {dim} with rank {r}"),
            ));
        }
        // r < K, so none of these products can overflow.
        let need = 8 * (k + 1 + r * (r + 1) / 2);
        let fits = if rd.version == VERSION {
            need == rd.remaining()
        } else {
            need < rd.remaining()
        };
        if !fits {
            return Err(corrupt(
                rd.pos,
                format!("{} bytes left, expected {need}", rd.remaining()),
            ));
        }
        let counts = rd.counts(k)?;
        let at = rd.pos;
        let sum_squares = rd.finite()?;
        if sum_squares < 0.0 {
            return Err(corrupt(
                at,
                format!("negative sum of squares {sum_squares}"),
            ));
        }
        let mut scatter = vec![0.0; r * r];
        for a in 0..r {
            for b in 0..=a {
                let at = rd.pos;
                let v = rd.finite()?;
                if a == b && v < 0.0 {
                    return Err(corrupt(at, format!("negative scatter diagonal {v}")));
                }
                scatter[a * r + b] = v;
                scatter[b * r + a] = v;
            }
        }
        let class_stats = if rd.version == VERSION {
            None
        } else {
            read_class_stats(&mut rd, k, r)?
        };
        if rd.remaining() != 0 {
            return Err(corrupt(
                rd.pos,
                format!("{} bytes left after the pass-2 state", rd.remaining()),
            ));
        }
        Ok(Pass2 {
            class_stats,
            num_classes: k,
            dim,
            rank: r,
            fingerprint,
            counts,
            scatter,
            sum_squares,
            batches,
        })
    }
}

/// The per-class part of a version-2 pass-2 state.
fn read_class_stats(rd: &mut Reader<'_>, k: usize, r: usize) -> Result<Option<ClassStats>> {
    let at = rd.pos;
    match rd.u64()? {
        0 => return Ok(None),
        1 => {}
        v => {
            return Err(corrupt(
                at,
                format!("per-class flag {v} is neither 0 nor 1"),
            ))
        }
    }
    let non_negative = |rd: &mut Reader<'_>, len: usize| -> Result<Vec<f64>> {
        rd.need(8 * len)?;
        (0..len)
            .map(|_| {
                let at = rd.pos;
                let v = rd.finite()?;
                if v < 0.0 {
                    return Err(corrupt(at, format!("negative per-class sum {v}")));
                }
                Ok(v)
            })
            .collect()
    };
    let sum_squares = non_negative(rd, k)?;
    let fuzziness = non_negative(rd, k)?;
    let (ncc_correct, predicted, ncc_agree) = (rd.u64()?, rd.u64()?, rd.u64()?);
    let at = rd.pos;
    let groups = rd.size("bootstrap groups")?;
    let bootstrap = if groups == 0 {
        None
    } else {
        if !groups.is_power_of_two() || groups > crate::MAX_BOOTSTRAP_GROUPS {
            return Err(corrupt(at, format!("{groups} bootstrap groups")));
        }
        let kg = k * groups;
        let tri = r * (r + 1) / 2;
        rd.need(8 * kg * (1 + r + tri))?;
        let counts = rd.counts(kg)?;
        let sums = (0..kg * r)
            .map(|_| rd.finite())
            .collect::<Result<Vec<f64>>>()?;
        let scatter = (0..kg * tri)
            .map(|_| rd.finite())
            .collect::<Result<Vec<f64>>>()?;
        Some((groups, counts, sums, scatter))
    };
    ClassStats::from_parts(
        r,
        sum_squares,
        fuzziness,
        ncc_correct,
        predicted,
        ncc_agree,
        bootstrap,
    )
    .map(Some)
    .map_err(|e| corrupt(at, e.to_string()))
}

fn corrupt(offset: usize, reason: String) -> GeometryError {
    GeometryError::CorruptBytes { offset, reason }
}

/// A cursor over the checksummed body of a buffer.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    version: u32,
}

impl<'a> Reader<'a> {
    /// Checks magic, version and checksum; the reader then starts after the version.
    fn open(bytes: &'a [u8], magic: &[u8; 8], what: &str, versions: &[u32]) -> Result<Reader<'a>> {
        if bytes.len() < 8 + 4 + 8 {
            return Err(corrupt(
                0,
                format!("{} bytes is shorter than any valid buffer", bytes.len()),
            ));
        }
        if &bytes[..8] != magic {
            return Err(corrupt(
                0,
                format!("bad magic (not a layerlaw {what} state)"),
            ));
        }
        let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        if !versions.contains(&version) {
            return Err(corrupt(
                8,
                format!("unsupported format version {version} (expected one of {versions:?})"),
            ));
        }
        let body = bytes.len() - 8;
        let mut stored = [0u8; 8];
        stored.copy_from_slice(&bytes[body..]);
        let mut h = Fnv::new();
        h.bytes(&bytes[..body]);
        if h.finish() != u64::from_le_bytes(stored) {
            return Err(corrupt(body, "checksum mismatch".into()));
        }
        Ok(Reader {
            bytes: &bytes[..body],
            pos: 12,
            version,
        })
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// Checks that `len` more bytes are there before anything that size is allocated.
    fn need(&self, len: usize) -> Result<()> {
        if self.remaining() < len {
            return Err(corrupt(
                self.pos,
                format!(
                    "truncated: need {len} more bytes, {} left",
                    self.remaining()
                ),
            ));
        }
        Ok(())
    }

    fn take8(&mut self) -> Result<[u8; 8]> {
        if self.remaining() < 8 {
            return Err(corrupt(self.pos, "truncated: need 8 more bytes".into()));
        }
        let mut out = [0u8; 8];
        out.copy_from_slice(&self.bytes[self.pos..self.pos + 8]);
        self.pos += 8;
        Ok(out)
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take8()?))
    }

    fn size(&mut self, what: &str) -> Result<usize> {
        let at = self.pos;
        let v = self.u64()?;
        usize::try_from(v).map_err(|_| corrupt(at, format!("{what} {v} does not fit in usize")))
    }

    fn counts(&mut self, k: usize) -> Result<Vec<u64>> {
        let at = self.pos;
        let counts = (0..k).map(|_| self.u64()).collect::<Result<Vec<u64>>>()?;
        if counts
            .iter()
            .try_fold(0u64, |a, &c| a.checked_add(c))
            .is_none()
        {
            return Err(corrupt(at, "class counts overflow".into()));
        }
        Ok(counts)
    }

    fn finite(&mut self) -> Result<f64> {
        let at = self.pos;
        let v = f64::from_le_bytes(self.take8()?);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(corrupt(at, format!("non-finite value {v}")))
        }
    }
}
