//! Reading `.npz` archives written by `numpy.savez` (stored) and `numpy.savez_compressed`
//! (deflate): a zip file whose members `KEY.npy` each hold one array.

use std::io::Read;
use std::path::Path;

use crate::array::NamedArray;
use crate::error::{IoError, Origin};
use crate::npy::parse_npy;

/// Largest up-front allocation trusted from a zip header (the rest grows on demand), so a lying
/// size field cannot trigger a huge allocation.
const MAX_PREALLOC: u64 = 64 << 20;

/// Reads every `*.npy` member of the archive; returns the arrays and notes about ignored members.
pub(crate) fn read_npz(path: &Path) -> Result<(Vec<NamedArray>, Vec<String>), IoError> {
    let file = std::fs::File::open(path).map_err(|source| IoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let corrupt = |entry: Option<String>, reason: String| IoError::Corrupt {
        path: path.to_path_buf(),
        entry,
        reason,
    };
    let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| {
        corrupt(
            None,
            format!("not a readable zip archive (truncated or damaged?): {e}"),
        )
    })?;
    let mut arrays: Vec<NamedArray> = Vec::with_capacity(archive.len());
    let mut notes = Vec::new();
    for i in 0..archive.len() {
        let mut member = archive
            .by_index(i)
            .map_err(|e| corrupt(None, format!("zip member #{i} is unreadable: {e}")))?;
        let entry = member.name().to_owned();
        if member.is_dir() {
            continue;
        }
        let Some(key) = entry.strip_suffix(".npy") else {
            notes.push(format!(
                "{}: ignored non-.npy member {entry:?}",
                path.display()
            ));
            continue;
        };
        let mut bytes = Vec::with_capacity(member.size().min(MAX_PREALLOC) as usize);
        member.read_to_end(&mut bytes).map_err(|e| {
            corrupt(
                Some(entry.clone()),
                format!("cannot decompress member: {e}"),
            )
        })?;
        if arrays.iter().any(|a| a.name == key) {
            return Err(IoError::DuplicateKey {
                path: path.to_path_buf(),
                key: key.to_owned(),
            });
        }
        let origin = Origin {
            path,
            entry: Some(&entry),
        };
        arrays.push(parse_npy(&bytes, key, &origin)?);
    }
    Ok((arrays, notes))
}
