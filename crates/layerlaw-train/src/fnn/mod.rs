//! Feedforward networks (GFNN) with an exact, fused CPU implementation.

pub(crate) mod kernels;
mod linalg;
mod model;

pub use model::{FnnModel, FnnSpec, StepResult};
