//! Feedforward networks (GFNN) with an exact, fused CPU implementation, and their engine.

pub(crate) mod engine;
mod kernels;
mod linalg;
mod model;
mod spec;
mod step;

pub use model::FnnModel;
pub use spec::FnnSpec;
