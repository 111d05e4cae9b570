//! Structured errors of the training crate.

/// Everything that can go wrong when configuring or running a training job.
///
/// Every variant names the field, row, class or epoch at fault; bad input never panics.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    /// The dataset has no examples.
    #[error("dataset `{dataset}` is empty (n = 0)")]
    EmptyDataset {
        /// Which dataset ("train" or "test").
        dataset: &'static str,
    },
    /// `x.len()` is not `n · c · h · w`.
    #[error("dataset `{dataset}`: x has {actual} values, expected n·dim = {n}·{dim} = {expected}")]
    FeatureLength {
        /// Which dataset.
        dataset: &'static str,
        /// Number of examples.
        n: usize,
        /// Input dimension `c·h·w`.
        dim: usize,
        /// `n · dim`.
        expected: usize,
        /// `x.len()`.
        actual: usize,
    },
    /// `y.len()` is not `n`.
    #[error("dataset `{dataset}`: y has {actual} labels, expected n = {n}")]
    LabelCount {
        /// Which dataset.
        dataset: &'static str,
        /// Number of examples.
        n: usize,
        /// `y.len()`.
        actual: usize,
    },
    /// A label is outside `0..num_classes`.
    #[error("dataset `{dataset}`: row {row} has label {label}, but num_classes = {num_classes}")]
    LabelOutOfRange {
        /// Which dataset.
        dataset: &'static str,
        /// Row index of the offending example.
        row: usize,
        /// The label found.
        label: usize,
        /// Number of classes.
        num_classes: usize,
    },
    /// A feature value is NaN or infinite.
    #[error("dataset `{dataset}`: row {row}, column {column} is not finite")]
    NonFiniteInput {
        /// Which dataset.
        dataset: &'static str,
        /// Row index.
        row: usize,
        /// Column (flattened `c·h·w` index).
        column: usize,
    },
    /// Fewer than two classes, or train and test disagree on shape or class count.
    #[error("invalid dataset shape: {reason}")]
    Shape {
        /// What is wrong.
        reason: String,
    },
    /// A configuration field has an invalid value.
    #[error("invalid config field `{field}` = {value}: {reason}")]
    InvalidConfig {
        /// The field at fault (e.g. `"lr"`, `"depth"`).
        field: &'static str,
        /// Its value, printed.
        value: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// `sample_repeats` has the wrong length or a zero entry.
    #[error("sample_repeats: {reason} (row {row:?})")]
    SampleRepeats {
        /// What is wrong.
        reason: &'static str,
        /// Offending row, if any.
        row: Option<usize>,
    },
    /// `class_loss_weights` has the wrong length or a negative/non-finite entry.
    #[error("class_loss_weights: {reason} (class {class:?})")]
    ClassLossWeights {
        /// What is wrong.
        reason: &'static str,
        /// Offending class, if any.
        class: Option<usize>,
    },
    /// A batch-norm network would see a training batch of one example (PyTorch refuses this too).
    #[error(
        "a training batch of size 1 occurs (epoch length {epoch_len}, batch size {batch_size}); \
         batch norm needs at least 2 examples per batch: change batch_size"
    )]
    SingletonBatch {
        /// Number of examples shown per epoch.
        epoch_len: usize,
        /// Configured batch size.
        batch_size: usize,
    },
    /// The loss became NaN or infinite.
    #[error(
        "loss is not finite at epoch {epoch}, step {step} (lr = {lr}); try a smaller learning rate"
    )]
    NonFiniteLoss {
        /// Epoch index (from 0).
        epoch: usize,
        /// Step within the epoch.
        step: usize,
        /// Learning rate in use.
        lr: f64,
    },
    /// The loss of one mini-batch is NaN or infinite (a model's own `train_step`; the training
    /// loop reports [`TrainError::NonFiniteLoss`] with the epoch instead). The parameters and the
    /// optimiser state are left as they were.
    #[error(
        "loss of the mini-batch at optimiser step {step} ({rows} rows) is {loss} (lr = {lr}); \
         parameters not updated; try a smaller learning rate"
    )]
    NonFiniteBatchLoss {
        /// The loss value found.
        loss: f64,
        /// Optimiser steps taken before this one (the index of this step, from 0).
        step: u64,
        /// Rows in the mini-batch.
        rows: usize,
        /// Learning rate of the step.
        lr: f64,
    },
    /// The names, dimensions and data buffers of a [`crate::LayerActivations`] differ in length.
    #[error(
        "layer activations list {names} names, {dims} dimensions and {data} data buffers; \
         they must be equal"
    )]
    LayerTable {
        /// Number of names.
        names: usize,
        /// Number of dimensions.
        dims: usize,
        /// Number of data buffers.
        data: usize,
    },
    /// A layer of a [`crate::LayerActivations`] has another number of rows than the first layer.
    #[error("layer `{layer}` has {rows} rows, but layer `{first}` has {expected}")]
    LayerRows {
        /// The layer at fault.
        layer: String,
        /// Its number of rows.
        rows: usize,
        /// The first layer.
        first: String,
        /// The first layer's number of rows.
        expected: usize,
    },
    /// A layer of a [`crate::LayerActivations`] cannot be viewed as an n×dim feature matrix.
    #[error("layer `{layer}` is not an n×dim feature matrix: {source}")]
    LayerView {
        /// The layer at fault.
        layer: String,
        /// Why (zero dimension, or a length that is not a multiple of it).
        #[source]
        source: layerlaw_geometry::GeometryError,
    },
    /// Parameters passed to a `from_parameters` constructor do not fit the architecture.
    #[error("parameter tensor {index}: {reason} (expected {expected} values, got {actual})")]
    ParameterShape {
        /// Index of the tensor in PyTorch `model.parameters()` order.
        index: usize,
        /// What is wrong.
        reason: &'static str,
        /// Expected number of values.
        expected: usize,
        /// Actual number of values.
        actual: usize,
    },
    /// [`crate::Device::Gpu`] was requested from a build without the `gpu` feature.
    #[error(
        "this build has no GPU support: rebuild with \
         `cargo build --release -p layerlaw-cli --features gpu` (burn's wgpu runtime on Vulkan; \
         it needs a Vulkan driver at run time)"
    )]
    GpuNotBuilt,
    /// [`crate::Device::Gpu`] was requested for an architecture that runs on the CPU only.
    #[error(
        "{architecture} runs on the CPU only (hand-written on CPU gemm kernels); the GPU runs \
         the CNNs (VGG11, ResNet18: `layerlaw imbalance --model vgg11|resnet18 --device gpu`)"
    )]
    GpuUnsupported {
        /// The architecture, in words.
        architecture: &'static str,
    },
    /// The GPU (wgpu on Vulkan) could not be initialised.
    #[error(
        "cannot initialise the GPU (wgpu on Vulkan): {reason}; is a Vulkan driver installed \
         (`vulkaninfo --summary`; NVIDIA's driver, or `apt-get install mesa-vulkan-drivers`)?"
    )]
    GpuInit {
        /// What wgpu reported.
        reason: String,
    },
    /// The thread pool could not be built.
    #[error("could not build a thread pool with {threads} threads: {reason}")]
    ThreadPool {
        /// Requested threads.
        threads: usize,
        /// The underlying error.
        reason: String,
    },
}
