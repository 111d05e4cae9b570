//! [`FileBytes`]: the bytes of a whole feature file, memory-mapped when it is large, shared by
//! every array viewed in place in it.
//!
//! # The assumption behind viewing a mapped file
//!
//! A memory map shows the file's pages as they are on disk *now*: if another process rewrites
//! the file while a [`FeatureSet`](crate::FeatureSet) is alive, the values seen through it
//! change, and if it truncates the file, touching a page past the new end raises `SIGBUS`.
//! `numpy.load(..., mmap_mode="r")` and `safetensors.safe_open` make the same assumption: a
//! feature file is written once, then only read. layerlaw never writes through a map (the
//! mapping is read-only), and its writers ([`write_safetensors`](crate::write_safetensors))
//! replace a file by renaming a new one over it, which leaves existing maps of the old file
//! intact. Files smaller than [`MAP_THRESHOLD_BYTES`] and anything that is not a regular file
//! (pipes, character devices) are read into memory instead.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::error::IoError;

/// Regular files at least this large are memory-mapped; smaller ones are read (a map costs a
/// few system calls and page-table entries, more than reading a small file).
pub const MAP_THRESHOLD_BYTES: u64 = 1 << 20;

enum Backing {
    Map(memmap2::Mmap),
    Heap(Vec<u8>),
}

/// The bytes of one file, cheap to clone (reference-counted).
#[derive(Clone)]
pub(crate) struct FileBytes(Arc<Backing>);

impl fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &*self.0 {
            Backing::Map(_) => "mapped",
            Backing::Heap(_) => "read",
        };
        write!(f, "FileBytes({kind}, {} bytes)", self.bytes().len())
    }
}

impl FileBytes {
    /// Maps (or, when small or not a regular file, reads) the whole file at `path`.
    pub(crate) fn open(path: &Path) -> Result<Self, IoError> {
        let io_err = |source| IoError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        if !meta.is_file() || meta.len() < MAP_THRESHOLD_BYTES {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(io_err)?;
            return Ok(FileBytes(Arc::new(Backing::Heap(bytes))));
        }
        // SAFETY: the map is read-only and private to this process; what it shows stays valid
        // only while no other process modifies or truncates the file, the assumption of the
        // module documentation (the same as numpy's memmap and safetensors' safe_open). Under
        // it, the bytes behind the returned slice do not change for the map's lifetime, which
        // the `Arc` ties to every view taken from it. `populate` pre-faults the pages so the
        // first pass does not take one page fault per 4 KiB.
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file) }.map_err(io_err)?;
        Ok(FileBytes(Arc::new(Backing::Map(map))))
    }

    /// Wraps bytes already in memory (used by tests and the fuzz harness).
    #[cfg(test)]
    pub(crate) fn from_vec(bytes: Vec<u8>) -> Self {
        FileBytes(Arc::new(Backing::Heap(bytes)))
    }

    /// All bytes of the file.
    pub(crate) fn bytes(&self) -> &[u8] {
        match &*self.0 {
            Backing::Map(m) => m,
            Backing::Heap(v) => v,
        }
    }

    /// `true` when the file is memory-mapped rather than read.
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(&*self.0, Backing::Map(_))
    }

    /// Byte offset of `part` inside [`FileBytes::bytes`], or `None` when `part` is not a
    /// sub-slice of it.
    pub(crate) fn offset_of(&self, part: &[u8]) -> Option<usize> {
        let all = self.bytes();
        let start = (part.as_ptr() as usize).checked_sub(all.as_ptr() as usize)?;
        (start.checked_add(part.len())? <= all.len()).then_some(start)
    }
}
