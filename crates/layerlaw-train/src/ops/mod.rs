//! The pieces of PyTorch semantics both engines share: batch norm (constants, modes, the
//! running-statistics update) and the (class-weighted) softmax cross-entropy.
//!
//! The FNN's fused host kernels and the CNNs' burn graph both take their constants and formulas from
//! here, so the two engines cannot drift apart.

pub(crate) mod batchnorm;
pub(crate) mod cross_entropy;
