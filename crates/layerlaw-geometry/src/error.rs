//! The error type of this crate.

/// Every way a computation in this crate can refuse its input.
///
/// Each variant names the row, column, class, layer or field at fault, so a caller can point
/// the user at the offending datum. No function of this crate panics on bad input or returns
/// a silent NaN; it returns one of these instead.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryError {
    /// A raw label was negative.
    #[error("label at row {row} is negative ({value})")]
    NegativeLabel {
        /// Row (sample index) of the label.
        row: usize,
        /// The offending value.
        value: i64,
    },
    /// A label was not below the declared number of classes.
    #[error("label at row {row} is {value}, but there are only {num_classes} classes")]
    LabelOutOfRange {
        /// Row (sample index) of the label.
        row: usize,
        /// The offending value.
        value: i64,
        /// The declared (or inferred) number of classes K.
        num_classes: usize,
    },
    /// Fewer than two classes: neither D nor any neural-collapse metric is defined.
    #[error("need at least 2 classes, got {num_classes}")]
    TooFewClasses {
        /// The number of classes found or declared.
        num_classes: usize,
    },
    /// A class in `0..K` has no sample, so its mean is undefined.
    #[error("class {class} has no samples (classes must be 0..{num_classes} with none empty)")]
    EmptyClass {
        /// The empty class.
        class: usize,
        /// The number of classes K.
        num_classes: usize,
    },
    /// The feature matrix and the labels disagree on the number of samples.
    #[error("features have {rows} rows but there are {labels} labels")]
    LengthMismatch {
        /// Rows of the feature matrix.
        rows: usize,
        /// Number of labels.
        labels: usize,
    },
    /// The feature matrix has no column.
    #[error("features have zero columns (feature dimension must be at least 1)")]
    ZeroDimension,
    /// A flat buffer's length is not a whole number of rows.
    #[error("layer {layer:?}: {len} values are not a whole number of rows of dimension {dim}")]
    RaggedRows {
        /// Layer name.
        layer: String,
        /// Number of values in the buffer.
        len: usize,
        /// Row length asked for.
        dim: usize,
    },
    /// A feature is NaN or infinite.
    #[error("feature at row {row}, column {col} is not finite ({value})")]
    NonFiniteFeature {
        /// Row (sample index).
        row: usize,
        /// Column (feature index).
        col: usize,
        /// The offending value, widened to f64.
        value: f64,
    },
    /// Finite inputs whose sums or squares overflowed f64.
    #[error("overflow while computing {quantity}: features too large for f64 accumulation")]
    Overflow {
        /// Which quantity overflowed.
        quantity: &'static str,
    },
    /// The between-class scatter is zero: all class means coincide, so $SS_b^+ = 0$ and D is
    /// undefined (it would be $0 \cdot \infty$).
    #[error(
        "between-class scatter is zero: all {num_classes} class means are equal (to rounding)"
    )]
    ZeroBetweenClass {
        /// The number of classes K.
        num_classes: usize,
    },
    /// An option was outside its documented range.
    #[error("invalid option {name} = {value}: {reason}")]
    InvalidOption {
        /// Name of the option.
        name: &'static str,
        /// Its value.
        value: f64,
        /// What the valid range is.
        reason: &'static str,
    },
    /// The law fit needs at least two layers.
    #[error("need at least 2 layers to fit the law, got {points}")]
    TooFewLayers {
        /// Number of D values supplied.
        points: usize,
    },
    /// A fuzziness value that cannot be logged.
    #[error("fuzziness D at layer {layer} is {value}; the law needs finite D > 0")]
    InvalidFuzziness {
        /// Layer index (0 = raw input).
        layer: usize,
        /// The offending value.
        value: f64,
    },
    /// A choice of fit layers that the layers at hand do not allow.
    #[error(transparent)]
    FitLayers(#[from] crate::fit_layers::FitLayersError),
    /// Two matrices that must agree in shape do not.
    #[error(
        "shape mismatch for {what}: expected {expected_rows}x{expected_cols}, got {rows}x{cols}"
    )]
    ShapeMismatch {
        /// Which argument.
        what: &'static str,
        /// Expected rows.
        expected_rows: usize,
        /// Expected columns.
        expected_cols: usize,
        /// Actual rows.
        rows: usize,
        /// Actual columns.
        cols: usize,
    },
    /// A class index given as argument is not below K.
    #[error("{what}: class index {class} is out of range for {num_classes} classes")]
    ClassOutOfRange {
        /// Which argument.
        what: &'static str,
        /// The offending index.
        class: usize,
        /// The number of classes K.
        num_classes: usize,
    },
    /// A class index given twice in a list that must hold distinct classes.
    #[error("{what}: class {class} is listed twice")]
    DuplicateClass {
        /// Which argument.
        what: &'static str,
        /// The repeated class.
        class: usize,
    },
    /// A non-finite value in a weight matrix, bias or other dense argument.
    #[error("{what} has a non-finite entry at ({row}, {col}): {value}")]
    NonFiniteArgument {
        /// Which argument.
        what: &'static str,
        /// Row of the entry.
        row: usize,
        /// Column of the entry (0 for vectors).
        col: usize,
        /// The value.
        value: f64,
    },
    /// The classifier weight matrix is zero, so it cannot be normalised.
    #[error("{what} is the zero matrix; it cannot be normalised")]
    ZeroMatrix {
        /// Which argument.
        what: &'static str,
    },
    /// A streaming accumulator was given a layer index it was not created for.
    #[error("layer {layer} is out of range: the accumulator tracks {num_layers} layers")]
    LayerOutOfRange {
        /// The offending layer.
        layer: usize,
        /// How many layers the accumulator tracks.
        num_layers: usize,
    },
    /// A layer received batches of different feature dimensions.
    #[error("layer {layer}: feature dimension {got} differs from the first batch's {expected}")]
    DimensionChanged {
        /// The layer.
        layer: usize,
        /// Dimension fixed by the first batch.
        expected: usize,
        /// Dimension of this batch.
        got: usize,
    },
    /// A layer's dimension is above the accumulator's limit ($p^2$ f64 per layer is stored).
    #[error("layer {layer}: dimension {dim} exceeds the accumulator limit {max_dim} (it stores a {dim}x{dim} scatter)")]
    DimensionTooLarge {
        /// The layer.
        layer: usize,
        /// Its feature dimension.
        dim: usize,
        /// The configured limit.
        max_dim: usize,
    },
    /// A streaming label is not below K.
    #[error(
        "layer {layer}: label at batch row {row} is {value}, but there are {num_classes} classes"
    )]
    BatchLabelOutOfRange {
        /// The layer.
        layer: usize,
        /// Row inside the batch.
        row: usize,
        /// The label.
        value: usize,
        /// The number of classes K.
        num_classes: usize,
    },
    /// A layer of an accumulator never received data.
    #[error("layer {layer} received no data")]
    EmptyLayer {
        /// The layer.
        layer: usize,
    },
    /// Two accumulators cannot be merged.
    #[error("cannot merge accumulators: {reason}")]
    IncompatibleMerge {
        /// Why not (class count, layer count or dimensions differ).
        reason: String,
    },
    /// A serialised accumulator is malformed.
    #[error("corrupt accumulator bytes at offset {offset}: {reason}")]
    CorruptBytes {
        /// Byte offset where the problem was found.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A streaming pass refused one batch; `source` says why (rows and columns in it count
    /// from the batch's first row).
    #[error("batch {batch}: {source}")]
    InBatch {
        /// Index of the batch in its pass (0 = first batch given to this state).
        batch: u64,
        /// What is wrong with the batch.
        source: Box<GeometryError>,
    },
    /// Pass 2 of a two-pass measurement saw other data than pass 1: a class count differs.
    #[error(
        "pass 2 saw {pass2} samples of class {class} but pass 1 saw {pass1}: the data must be the same in both passes (no shuffling, no random augmentation)"
    )]
    PassMismatch {
        /// The first class whose count differs.
        class: usize,
        /// Its count in pass 1.
        pass1: u64,
        /// Its count in pass 2.
        pass2: u64,
    },
    /// A linear-algebra routine failed to converge.
    #[error("{routine} failed to converge")]
    NoConvergence {
        /// Which routine (e.g. "thin SVD of the class means").
        routine: &'static str,
    },
    /// The bootstrap of the law fit cannot run.
    #[error("bootstrap{}: {reason}", layer.map(|l| format!(" (layer {l})")).unwrap_or_default())]
    Bootstrap {
        /// The layer at fault (index among those given), if one is.
        layer: Option<usize>,
        /// Why.
        reason: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, GeometryError>;
