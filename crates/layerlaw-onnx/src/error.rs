//! Errors of loading, selecting layers from and running an ONNX model.

use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong with an ONNX model; every message names the model file.
#[derive(Debug, Error)]
pub enum OnnxError {
    /// The model file (or its external-data file) could not be read.
    #[error("{}: cannot read: {source}", .path.display())]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The bytes are not an ONNX `ModelProto`.
    #[error("{}: not an ONNX model: {reason}", .path.display())]
    NotOnnx {
        /// The model file.
        path: PathBuf,
        /// What is wrong with its bytes.
        reason: String,
    },
    /// The file ends in the middle of a field it declares.
    #[error(
        "{}: truncated ONNX file: it has {len} bytes but its {field} field extends to byte \
         {needed}; copy or export it again", .path.display()
    )]
    Truncated {
        /// The model file.
        path: PathBuf,
        /// The file's length in bytes.
        len: u64,
        /// The length the file's contents declare (at least).
        needed: u64,
        /// The top-level `ModelProto` field that runs past the end (`graph`, `opset_import`, ...).
        field: &'static str,
    },
    /// A tensor's data lives in an external file that is missing or too short.
    #[error(
        "{}: tensor `{tensor}` keeps its data in {}: {reason}",
        .path.display(),
        .data_path.display()
    )]
    ExternalData {
        /// The model file.
        path: PathBuf,
        /// The external-data file the tensor names (relative to the model's folder).
        data_path: PathBuf,
        /// The tensor (initializer) whose data is missing.
        tensor: String,
        /// What is wrong.
        reason: String,
    },
    /// A node uses an operator the engine does not implement.
    #[error("{}: node `{node}` uses operator `{op}`, which the ONNX engine (tract) does not implement", .path.display())]
    UnsupportedOp {
        /// The model file.
        path: PathBuf,
        /// The operator type (with its domain when not the default one).
        op: String,
        /// The node's name.
        node: String,
    },
    /// The graph has no input, or more than one.
    #[error(
        "{}: the model has {} graph inputs ({}); exactly one input (the images or feature \
         vectors) must be fed, so export the model with a single input", .path.display(),
        .inputs.len(),
        if .inputs.is_empty() { "none".to_string() } else { .inputs.join(", ") }
    )]
    InputCount {
        /// The model file.
        path: PathBuf,
        /// Every graph input that is not an initializer, with its declared shape.
        inputs: Vec<String>,
    },
    /// The model's input is not a float32 tensor, or its shape is not usable.
    #[error("{}: input `{input}`: {reason}", .path.display())]
    InputType {
        /// The model file.
        path: PathBuf,
        /// The graph input's name.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The data fed does not have the model's input shape.
    #[error("{}: input `{input}` expects shape {expected}, the data given has shape {given}", .path.display())]
    InputShape {
        /// The model file.
        path: PathBuf,
        /// The graph input's name.
        input: String,
        /// The model's input shape, batch axis first (`[batch, 3, 32, 32]`).
        expected: String,
        /// The shape of the data given.
        given: String,
    },
    /// The input slice's length is not the product of the shape given with it.
    #[error("{}: {len} input values do not fill the shape {shape} ({expected} values)", .path.display())]
    InputLength {
        /// The model file.
        path: PathBuf,
        /// Number of values given.
        len: usize,
        /// The shape given.
        shape: String,
        /// Product of the shape.
        expected: usize,
    },
    /// A layer spec matches no node name, tensor name or operator.
    #[error(
        "{}: no layer or operator `{spec}`{}", .path.display(),
        if .close.is_empty() { String::new() } else { format!("; close names: {}", .close.join(", ")) }
    )]
    UnknownLayer {
        /// The model file.
        path: PathBuf,
        /// The spec as given.
        spec: String,
        /// Node names and operators close to it (edit distance), best first.
        close: Vec<String>,
    },
    /// A layer spec matched something that cannot be measured.
    #[error("{}: layer `{layer}` cannot be measured: {reason}", .path.display())]
    BadLayer {
        /// The model file.
        path: PathBuf,
        /// The node name.
        layer: String,
        /// Why.
        reason: String,
    },
    /// An invalid argument to the runner (chunk size, empty selection).
    #[error("{}: {reason}", .path.display())]
    Argument {
        /// The model file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The engine failed while analysing, optimising or running the graph.
    #[error("{}: {stage} failed: {message}", .path.display())]
    Engine {
        /// The model file.
        path: PathBuf,
        /// `analysing the graph`, `optimising the graph`, `running chunk 3`, ...
        stage: String,
        /// The engine's error with its context chain.
        message: String,
    },
}

/// Result alias of this crate.
pub type Result<T, E = OnnxError> = std::result::Result<T, E>;

/// Renders a tract error with its whole context chain on one line.
pub(crate) fn engine(
    path: &std::path::Path,
    stage: impl Into<String>,
    e: anyhow_like::Error,
) -> OnnxError {
    OnnxError::Engine {
        path: path.to_path_buf(),
        stage: stage.into(),
        message: format!("{e:#}"),
    }
}

/// tract's error type (anyhow's, re-exported by tract).
pub(crate) mod anyhow_like {
    pub use tract_onnx::prelude::TractError as Error;
}
