//! Reading `.npz` archives written by `numpy.savez` (stored) and `numpy.savez_compressed`
//! (deflate): a zip file whose members `KEY.npy` each hold one array.
//!
//! Stored members are parsed in place in the file's bytes (a memory map for large files), so
//! their feature matrices can be viewed without a copy; their CRC-32 is verified over row
//! blocks in parallel. Deflated members are inflated (and CRC-checked) by `zip`.

use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use zip::CompressionMethod;

use crate::array::RawArray;
use crate::error::{IoError, Origin};
use crate::file_bytes::FileBytes;
use crate::npy::parse_npy_in;
use crate::values::{first_non_finite_seq, FiniteBits};

/// Largest up-front allocation trusted from a zip header (the rest grows on demand), so a lying
/// size field cannot trigger a huge allocation.
const MAX_PREALLOC: u64 = 64 << 20;

/// Bytes per block of the parallel CRC-32.
const CRC_BLOCK: usize = 4 << 20;

/// CRC-32 (ISO-HDLC, the zip checksum) of `bytes`, blocks hashed in parallel and combined in
/// order: $\mathrm{crc}(a \Vert b)$ follows from $\mathrm{crc}(a)$, $\mathrm{crc}(b)$ and $|b|$.
pub(crate) fn crc32_parallel(bytes: &[u8]) -> u32 {
    if bytes.len() <= CRC_BLOCK {
        return crc32fast::hash(bytes);
    }
    bytes
        .par_chunks(CRC_BLOCK)
        .map(|block| {
            let mut h = crc32fast::Hasher::new();
            h.update(block);
            h
        })
        .reduce(crc32fast::Hasher::new, |mut a, b| {
            a.combine(&b);
            a
        })
        .finalize()
}

/// Bytes per sub-block of the fused pass: small enough to still be in the L2 cache when the
/// finiteness scan reads what the CRC just read.
const FUSED_BLOCK: usize = 64 << 10;

/// CRC-32 of `prefix ‖ body` and the position of the first NaN or infinity of `values`, which
/// are `body` read as floats, in one parallel pass: each block of `body` is hashed and scanned
/// while it is in cache, and the blocks' CRCs are combined in order.
fn crc_and_scan<T: FiniteBits>(prefix: &[u8], body: &[u8], values: &[T]) -> (u32, Option<usize>) {
    let size = size_of::<T>();
    debug_assert_eq!(body.len(), std::mem::size_of_val(values));
    let per_block = CRC_BLOCK / size;
    let per_sub = FUSED_BLOCK / size;
    let (hasher, first) = values
        .par_chunks(per_block)
        .zip(body.par_chunks(per_block * size))
        .enumerate()
        .map(|(b, (vals, raw))| {
            let mut h = crc32fast::Hasher::new();
            let mut first = None;
            for (s, (v, r)) in vals
                .chunks(per_sub)
                .zip(raw.chunks(per_sub * size))
                .enumerate()
            {
                h.update(r);
                if first.is_none() {
                    first = first_non_finite_seq(v).map(|i| b * per_block + s * per_sub + i);
                }
            }
            (h, first)
        })
        .reduce(
            || (crc32fast::Hasher::new(), None),
            |(mut a, fa), (b, fb)| {
                a.combine(&b);
                (a, fa.or(fb))
            },
        );
    let mut total = crc32fast::Hasher::new();
    total.update(prefix);
    total.combine(&hasher);
    (total.finalize(), first)
}

/// Bytes of the fixed part of a central-directory entry: no archive of `len` bytes lists more
/// than `len / 46` members.
const CENTRAL_ENTRY_MIN: u64 = 46;

/// Rejects an end-of-central-directory record that declares more members than the file can
/// hold, before `zip` reserves memory for that many entries (it trusts the 16-bit counts up
/// to the declared directory offset, so a 38-byte file could make it reserve 13 MB).
///
/// `zip` tries every `PK\x05\x06` signature of the last 64 KiB whose comment fits in the
/// file, from the end, until one parses; so each of them is checked. A count of 0xffff with a
/// zip64 locator before it defers to the zip64 record, whose count `zip` checks itself.
fn check_declared_members(path: &Path, bytes: &[u8]) -> Result<(), IoError> {
    const EOCD_LEN: usize = 22;
    let len = bytes.len();
    if len < EOCD_LEN {
        return Ok(());
    }
    let u16_at = |i: usize| u64::from(u16::from_le_bytes([bytes[i], bytes[i + 1]]));
    let earliest = len.saturating_sub(EOCD_LEN + usize::from(u16::MAX));
    for at in (earliest..=len - EOCD_LEN).rev() {
        if bytes[at..at + 4] != *b"PK\x05\x06" || at as u64 + 22 + u16_at(at + 20) > len as u64 {
            continue;
        }
        let declared = u16_at(at + 8).max(u16_at(at + 10));
        let zip64 = declared == 0xffff && at >= 20 && bytes[at - 20..at - 16] == *b"PK\x06\x07";
        if !zip64 && declared.saturating_mul(CENTRAL_ENTRY_MIN) > len as u64 {
            return Err(IoError::Corrupt {
                path: path.to_path_buf(),
                entry: None,
                reason: format!(
                    "an end-of-central-directory record at byte {at} declares {declared} members, \
                     more than a file of {len} bytes can list"
                ),
            });
        }
    }
    Ok(())
}

/// Reads every `*.npy` member of the archive; returns the arrays and notes about ignored members.
pub(crate) fn read_npz(path: &Path) -> Result<(Vec<RawArray>, Vec<String>), IoError> {
    let file = FileBytes::open(path)?;
    read_npz_bytes(path, &file)
}

/// [`read_npz`] on bytes already opened.
pub(crate) fn read_npz_bytes(
    path: &Path,
    file: &FileBytes,
) -> Result<(Vec<RawArray>, Vec<String>), IoError> {
    let bytes = file.bytes();
    let corrupt = |entry: Option<String>, reason: String| IoError::Corrupt {
        path: path.to_path_buf(),
        entry,
        reason,
    };
    check_declared_members(path, bytes)?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| {
        corrupt(
            None,
            format!("not a readable zip archive (truncated or damaged?): {e}"),
        )
    })?;
    let mut arrays: Vec<RawArray> = Vec::with_capacity(archive.len().min(1 << 16));
    let mut notes = Vec::new();
    for i in 0..archive.len() {
        let member = archive
            .by_index_raw(i)
            .map_err(|e| corrupt(None, format!("zip member #{i} is unreadable: {e}")))?;
        let entry = member.name().to_owned();
        if member.is_dir() {
            continue;
        }
        let Some(key) = entry.strip_suffix(".npy").map(str::to_owned) else {
            notes.push(format!(
                "{}: ignored non-.npy member {entry:?}",
                path.display()
            ));
            continue;
        };
        if arrays.iter().any(|a| a.name == key) {
            return Err(IoError::DuplicateKey {
                path: path.to_path_buf(),
                key,
            });
        }
        let origin = Origin {
            path,
            entry: Some(&entry),
        };
        let stored = member.compression() == CompressionMethod::Stored && !member.encrypted();
        if stored {
            let (start, size, crc) = (member.data_start(), member.size(), member.crc32());
            if member.compressed_size() != size {
                return Err(corrupt(
                    Some(entry.clone()),
                    format!(
                        "stored member declares {} bytes compressed but {size} uncompressed",
                        member.compressed_size()
                    ),
                ));
            }
            drop(member);
            let end = start.checked_add(size).filter(|&e| e <= bytes.len() as u64);
            let Some(end) = end else {
                return Err(origin.truncated(
                    "zip member data",
                    start.saturating_add(size),
                    bytes.len() as u64,
                ));
            };
            let data = &bytes[start as usize..end as usize];
            let crc_error = |found: u32| {
                corrupt(
                    Some(entry.clone()),
                    format!(
                        "checksum mismatch (CRC-32): the archive says {crc:08x}, the data has {found:08x}"
                    ),
                )
            };
            let mut array = match parse_npy_in(data, &key, &origin, Some(file)) {
                Ok(array) => array,
                // A damaged member is reported as such rather than as a bad npy header.
                Err(e) => {
                    let found = crc32_parallel(data);
                    return Err(if found != crc { crc_error(found) } else { e });
                }
            };
            let (found, scan) = match array.values.view_offset() {
                Some(body_start) => {
                    let (prefix, body) =
                        bytes[start as usize..end as usize].split_at(body_start - start as usize);
                    let (found, scan) = match (array.values.as_f32(), array.values.as_f64()) {
                        (Some(v), _) => crc_and_scan(prefix, body, v),
                        (_, Some(v)) => crc_and_scan(prefix, body, v),
                        _ => (crc32_parallel(data), None),
                    };
                    (found, Some(scan))
                }
                None => (crc32_parallel(data), None),
            };
            if found != crc {
                return Err(crc_error(found));
            }
            array.finite_scan = scan;
            arrays.push(array);
        } else {
            drop(member);
            let mut member = archive
                .by_index(i)
                .map_err(|e| corrupt(Some(entry.clone()), format!("cannot read member: {e}")))?;
            // Trust the declared size only up to the archive's own length: inflated data may be
            // larger, but then it grows with what the stream really yields.
            let prealloc = member.size().min(bytes.len() as u64).min(MAX_PREALLOC);
            let mut data = Vec::with_capacity(prealloc as usize);
            member.read_to_end(&mut data).map_err(|e| {
                corrupt(
                    Some(entry.clone()),
                    format!("cannot decompress member: {e}"),
                )
            })?;
            arrays.push(parse_npy_in(&data, &key, &origin, None)?);
        }
    }
    Ok((arrays, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic bytes (a 64-bit LCG), so blocks differ from each other.
    fn bytes(len: usize) -> Vec<u8> {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (x >> 56) as u8
            })
            .collect()
    }

    #[test]
    fn parallel_crc_equals_sequential_crc() {
        for len in [
            0,
            1,
            CRC_BLOCK - 1,
            CRC_BLOCK,
            CRC_BLOCK + 1,
            2 * CRC_BLOCK + 12_345,
        ] {
            let b = bytes(len);
            assert_eq!(crc32_parallel(&b), crc32fast::hash(&b), "{len}");
        }
        // The standard check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32_parallel(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn fused_pass_gives_the_crc_and_the_first_non_finite() {
        let prefix = bytes(128);
        let n = 3 * CRC_BLOCK / 4 + 77; // f32 values over four blocks
        let mut values: Vec<f32> = (0..n).map(|i| (i % 1000) as f32 - 500.0).collect();
        let as_bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let check = |values: &[f32], want: Option<usize>| {
            let body = as_bytes(values);
            let (crc, first) = crc_and_scan(&prefix, &body, values);
            assert_eq!(crc, crc32fast::hash(&[&prefix[..], &body].concat()));
            assert_eq!(first, want);
        };
        check(&values, None);
        values[2 * CRC_BLOCK / 4 + 5] = f32::NEG_INFINITY;
        values[n - 1] = f32::NAN;
        check(&values, Some(2 * CRC_BLOCK / 4 + 5));
        values[3] = f32::NAN;
        check(&values, Some(3));
        let v64: Vec<f64> = (0..1000).map(f64::from).collect();
        let body: Vec<u8> = v64.iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(
            crc_and_scan(&[], &body, &v64),
            (crc32fast::hash(&body), None)
        );
    }
}
