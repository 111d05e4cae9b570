//! Every layer of an ONNX classifier, for measuring its separation fuzziness layer by layer.
//!
//! ONNX runtimes return only a graph's outputs. This crate loads a model exported by PyTorch
//! (either exporter), JAX or Keras, chooses its layers, promotes those intermediate nodes to
//! outputs and runs the data through the model in chunks with the pure-Rust engine
//! [tract](https://github.com/sonos/tract), handing each chunk's rows of every layer to a
//! callback as [`layerlaw_geometry::NamedLayer`]s, ready for the two-pass statistics of
//! `layerlaw_geometry` (class sums, then projections), which need the data twice and O(pK)
//! memory.
//!
//! ```no_run
//! use layerlaw_onnx::{OnnxModel, OnnxError};
//!
//! let model = OnnxModel::load("resnet.onnx")?;
//! println!("input {}", model.input_shape());
//! let layers = model.default_layers(); // input, block outputs, penultimate features
//! let runner = model.runner(&layers)?;
//! let (n, images) = (64usize, vec![0.0f32; 64 * 3 * 32 * 32]);
//! runner.run_chunks(&images, &[n, 3, 32, 32], 32, |chunk, rows| {
//!     for layer in rows {
//!         println!("chunk {chunk}: {} has {}×{}", layer.name, layer.nrows(), layer.ncols());
//!     }
//!     Ok::<(), OnnxError>(())
//! })?;
//! # Ok::<(), OnnxError>(())
//! ```
//!
//! # Layers
//!
//! A layer is the model's input or the first output of one ONNX node, flattened per sample in
//! C·H·W order. [`OnnxModel::default_layers`] follows He & Su ("A law of data separation in
//! deep learning", PNAS 2023): the input, the output of each nonlinearity block and of each
//! residual block, and the penultimate features, without the logits.
//! [`OnnxModel::select`] takes node names or operator types (`relu`, `add` for residual sums,
//! `flatten`, `globalaveragepool`, ...). [`OnnxModel::candidate_layers`] lists every layer
//! with its shape.
//!
//! # Classifier
//!
//! [`OnnxModel::classifier`] reads the final linear layer's K×p weight and bias, for NC3/NC4
//! and the minority-collapse geometry.

mod classifier;
mod error;
mod graph;
mod model;
mod proto;
mod runner;
mod select;

pub use classifier::Classifier;
pub use error::{OnnxError, Result};
pub use model::{Dim, InputShape, LayerInfo, OnnxModel};
pub use runner::{available_threads, RunReport, Runner, DEFAULT_CHUNK};
pub use select::{Layer, INPUT_LAYER};
