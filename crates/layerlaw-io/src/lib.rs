//! # layerlaw-io
//!
//! Reads the per-layer features that a PyTorch, JAX or numpy user saves in one line —
//! `safetensors.torch.save_file`, `numpy.savez`, `numpy.savez_compressed`, `numpy.save` (one
//! `.npy`, or a directory of them) — and turns them into the `n × p` matrices plus integer labels
//! from which layerlaw computes the separation fuzziness
//! $D = \mathrm{Tr}(SS_w SS_b^{+})$ of each layer (He & Su 2023, "A law of data separation",
//! PNAS 120(36)). It also writes features back with [`write_safetensors`] and [`write_npy`].
//!
//! * [`read_arrays`] reads every array of a file (dtype conversion, Fortran order, byte order);
//! * [`load_feature_set`] applies a [`Selection`] (labels key, layer order, classifier keys) and
//!   validates shapes, labels and finiteness;
//! * [`natural_cmp`] orders keys so that `layer2` precedes `layer10`.
//!
//! Feature layers are not copied when the file allows it: `.npy` files, stored `.npz` members
//! (`numpy.savez`) and `.safetensors` tensors of little-endian `f32`/`f64`, aligned in the file,
//! are viewed in place ([`FeatureData`]), in a read-only memory map for files of
//! [`MAP_THRESHOLD_BYTES`] or more (the file must not change while it is mapped, the same
//! assumption as `numpy.load(mmap_mode="r")`). [`FeatureLayer::view`] hands such a layer to the
//! statistics as an $n \times p$ matrix, row- or column-major as stored. The finiteness check
//! shares its pass with the CRC-32 of a stored `.npz` member (blocks in parallel).
//!
//! The `.npy` parser is our own (numpy `lib/format.py` v1–3), so that truncated or corrupt files
//! are reported precisely; `.npz` members are listed with `zip` (every member CRC-checked), safetensors files
//! are validated by the `safetensors` crate. Every error is an [`IoError`] naming the file and the
//! key, row or column at fault; no input makes these functions panic.
//!
//! ```
//! use layerlaw_io::{load_feature_set, write_safetensors, ArrayData, NamedArray, Selection};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("features.safetensors");
//! let layer = |name: &str, p: usize| NamedArray {
//!     name: name.into(),
//!     shape: vec![4, p],
//!     data: ArrayData::F32((0..4 * p).map(|i| i as f32).collect()),
//! };
//! let labels = NamedArray { name: "labels".into(), shape: vec![4], data: ArrayData::Int(vec![0, 1, 0, 1]) };
//! write_safetensors(&path, &[layer("layer10", 2), layer("layer2", 3), labels], &[])?;
//!
//! let features = load_feature_set(&path, &Selection::default())?;
//! let names: Vec<&str> = features.layers.iter().map(|l| l.name.as_str()).collect();
//! assert_eq!(names, ["layer2", "layer10"]); // natural order, not "layer10" < "layer2"
//! assert_eq!(features.labels, [0, 1, 0, 1]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod array;
mod dtype;
mod error;
mod features;
mod file_bytes;
#[cfg(test)]
mod fuzz_engine;
#[cfg(test)]
mod fuzz_tests;
pub mod huge_pages;
mod natural;
mod npy;
mod npy_header;
mod npz;
mod read;
mod safetensors_io;
mod select;
mod values;

pub use array::{ArrayData, ArrayFile, NamedArray};
pub use error::IoError;
pub use features::{load_feature_set, FeatureLayer, FeatureSet, Selection};
pub use file_bytes::MAP_THRESHOLD_BYTES;
pub use natural::natural_cmp;
pub use npy::{encode_npy, write_npy};
pub use read::read_arrays;
pub use safetensors_io::write_safetensors;
pub use values::{FeatureData, Order};
