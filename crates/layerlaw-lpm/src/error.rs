//! Errors raised while building a Layer-Peeled Model problem or a sweep.

/// Everything that can be wrong with the inputs of a Layer-Peeled Model problem.
///
/// Solver trouble (iteration limits, numerical failure, infeasibility) is *not* an error: it is
/// reported through [`crate::SolveStatus`] in the solution.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LpmError {
    /// The model needs at least two classes.
    #[error("the Layer-Peeled Model needs at least 2 classes, got K = {classes}")]
    TooFewClasses {
        /// The number of classes given.
        classes: usize,
    },
    /// A step-imbalance problem with an empty majority or minority group.
    #[error("step imbalance needs at least one class in each group, got {group} = 0")]
    EmptyGroup {
        /// `"k_a"` (majority group) or `"k_b"` (minority group).
        group: &'static str,
    },
    /// An energy budget ($E_W$ or $E_H$) that is zero or negative.
    #[error("{field} must be > 0, got {value}")]
    NonPositiveBudget {
        /// `"e_w"` or `"e_h"`.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// An imbalance ratio $R = n_A / n_B$ below 1.
    #[error("imbalance ratio R = n_A / n_B must be >= 1, got {ratio}")]
    RatioBelowOne {
        /// The ratio given.
        ratio: f64,
    },
    /// A class count $n_k$ that is zero or negative.
    #[error("class {class} has count {count}; every count must be > 0")]
    NonPositiveCount {
        /// Index of the class at fault (0-based).
        class: usize,
        /// The count given.
        count: f64,
    },
    /// A minority loss weight $w_r$ that is zero or negative.
    #[error("minority_weight must be > 0, got {value}")]
    NonPositiveWeight {
        /// The weight given.
        value: f64,
    },
    /// A minority class index outside `0..K`, or listed twice.
    #[error("minority class index {class} is out of range or repeated (K = {classes})")]
    BadMinorityClass {
        /// The offending index.
        class: usize,
        /// The number of classes.
        classes: usize,
    },
    /// A NaN or infinite input.
    #[error("{field} must be finite, got {value}")]
    NonFinite {
        /// Which input (`"e_w"`, `"e_h"`, `"ratio"`, `"count[3]"`, `"minority_weight"`, ...).
        field: String,
        /// The value given.
        value: f64,
    },
    /// An empty ratio list given to a sweep.
    #[error("a sweep needs at least one ratio")]
    EmptySweep,
    /// Solver options that cannot be used (e.g. a nonconvex dimension of 0).
    #[error("invalid solver option {field}: {reason}")]
    BadOption {
        /// The option at fault.
        field: &'static str,
        /// Why it is rejected.
        reason: String,
    },
}
