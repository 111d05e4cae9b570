//! Separation fuzziness, the law of equi-separation and neural-collapse metrics, computed
//! exactly and fast.
//!
//! # D versus NC1
//!
//! With $n$ samples in $K$ classes of sizes $n_k$, class means $\bar x_k$, global mean
//! $\bar x$ and mean of class means $\mu_G = \frac1K\sum_k\bar x_k$:
//!
//! * **He–Su separation fuzziness** ([`Separation::fuzziness`]),
//!   $D = \mathrm{Tr}(SS_w SS_b^+)$ with
//!   $SS_w = \frac1n\sum_i(x_i-\bar x_{y_i})(x_i-\bar x_{y_i})^\top$ and the $n_k$-weighted
//!   $SS_b = \frac1n\sum_k n_k(\bar x_k-\bar x)(\bar x_k-\bar x)^\top$
//!   (He & Su, "A law of data separation in deep learning", PNAS 120(36) e2221704120, 2023).
//! * **Papyan NC1** ([`Separation::nc1`]), $\frac1K\mathrm{Tr}(\Sigma_W\Sigma_B^+)$ with
//!   $\Sigma_W = SS_w$ and the unweighted $\Sigma_B = \frac1K\sum_k(\bar x_k-\mu_G)(\bar x_k-\mu_G)^\top$
//!   (Papyan, Han & Donoho, "Prevalence of neural collapse during the terminal phase of deep
//!   learning training", PNAS 117(40) 24652, 2020; the $1/K$ follows the paper's plots and
//!   Zhu et al. 2021).
//!
//! For **balanced** classes $\bar x = \mu_G$ and $SS_b = \Sigma_B$, so $D = K\cdot\mathrm{NC1}$
//! exactly. For imbalanced classes they differ; D is the quantity of the law of
//! equi-separation ([`fit_law`]).
//!
//! # How D is computed
//!
//! [`separation`] never forms a p×p matrix: $SS_b$ and $\Sigma_B$ live in the ≤(K−1)-dimensional
//! span of the class-mean differences, so with an orthonormal basis $Q$ of that span
//! $D = \mathrm{Tr}\big((Q^\top SS_w Q)(Q^\top SS_b Q)^+\big)$, which needs one GEMM of the
//! centred features with $Q$: $O(npK)$ time, $O(pK)$ memory. [`separation_layers`] measures
//! every layer of a network at once, running pass 2 (projections, arithmetic-bound) of one
//! layer beside pass 1 (class sums, memory-bound) of the next, with results bit-identical to
//! [`separation`] layer by layer. [`reference`](mod@reference) holds the dense
//! textbook computation that the tests compare against. The streaming
//! [`MultiLayerAccumulator`] keeps a p×p pooled scatter per layer instead (exact in one pass,
//! mergeable; see its docs).
//!
//! # Instruction sets
//!
//! The hot loops of both passes are compiled for three levels, portable, AVX2 + FMA and
//! AVX-512F, and the widest one the CPU supports is used. The environment variable
//! `LAYERLAW_ISA` ([`ISA_ENV`]) set to `portable`, `avx2` or `avx512` picks a level instead
//! (read once per process; [`Isa::selected`] tells which level runs). A value that names no
//! level, or a level the CPU lacks, is reported on stderr and the widest supported level is
//! used. Class means are bit-for-bit the same on every level; the projected within-class
//! scatter, hence D, differs between levels only in the last bits (fused multiply-add and
//! the order of lane sums).
//!
//! # Data that arrives in batches, of any width
//!
//! [`two_pass`](mod@two_pass) keeps $O(pK)$ per layer instead: [`Pass1`] (class counts and
//! sums) closes to a [`Basis`] (means and $Q$), [`Pass2`] accumulates the r×r projected
//! within-class scatter, and [`finish`] gives the [`Separation`] that [`separation`] gives on
//! the same rows. Every state merges by adding and serialises, so shards, threads, processes
//! and ranks (and sums computed on a GPU) combine exactly; the data must be read twice,
//! identically. Use it for wide layers ($p = 65{,}536$ takes 5 MB at $K = 10$); use the
//! one-pass [`MultiLayerAccumulator`] when the data can be seen only once and $p$ is small.
//!
//! # Also here
//!
//! NC2 (equinorm, equiangularity, simplex-ETF distance) in [`Separation`]; NC3/NC4 in
//! [`neural_collapse_classifier`]; minority-collapse classifier geometry (Fang, He, Long & Su,
//! PNAS 2021) in [`classifier_geometry`].

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod accumulator;
mod accumulator_bytes;
mod between;
mod blocks;
mod bootstrap;
mod class_means;
mod class_stats;
mod classifier;
mod definitions;
mod error;
mod fit_layers;
mod kernels;
mod labels;
mod law;
mod layers;
mod named_layer;
mod nc2;
mod nc_family;
mod projection;
pub mod reference;
mod scalar;
mod separation;
pub mod two_pass;

pub use accumulator::{MultiLayerAccumulator, DEFAULT_MAX_DIM};
pub use bootstrap::{bootstrap_law, BootstrapOptions, Interval, LawIntervals};
pub use class_stats::{
    bootstrap_group, bootstrap_groups_for, BootstrapGroups, ClassStats, GroupParts,
    BOOTSTRAP_BUDGET_BYTES, MAX_BOOTSTRAP_GROUPS, MIN_BOOTSTRAP_GROUPS,
};
pub use classifier::{
    classifier_geometry, neural_collapse_classifier, ClassifierCollapse, ClassifierGeometry,
    GroupGeometry,
};
pub use definitions::{Definitions, DEFINITIONS};
pub use error::{GeometryError, Result};
pub use fit_layers::{FitLayers, FitLayersError};
pub use kernels::{Isa, ISA_ENV};
pub use labels::Labels;
pub use law::{fit_law, fit_law_at, LawFit};
pub use layers::{separation_layers, separation_layers_with_predictions, LayerFeatures};
pub use named_layer::NamedLayer;
pub use scalar::{Scalar, SliceKind};
pub use separation::{separation, Separation, SeparationOptions};
pub use two_pass::{classifier_collapse, finish, Basis, CentreAgreement, Pass1, Pass2};
