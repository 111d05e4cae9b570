//! Hot loops of the two passes, compiled three times: portable (baseline target), AVX2+FMA and
//! AVX-512F, the widest one the CPU supports being chosen at run time ([`Isa::detect`]).
//!
//! All variants accumulate in f64 and read f32 input directly (widened in registers, no f64 copy
//! of the features). They differ only in rounding (fused versus separate multiply-add, and
//! the order in which lane partial sums are added), i.e. in the last bits of the results; on
//! one machine every run is bit-for-bit identical.
//!
//! Layout: [`isa`] (the levels and their detection), [`centre`] (centring of one row),
//! [`project`] (the packed basis and the projection kernels of pass 2) and [`class_sum`] (the
//! class-sum kernel of pass 1).

mod centre;
mod class_sum;
mod isa;
pub(crate) mod project;

pub(crate) use centre::centre_row;
pub(crate) use class_sum::{add_rows, SUM_TILE};
pub(crate) use isa::Isa;
pub(crate) use project::{PackedBasis, SCATTER_WIDTH};

/// Lanes of a packed block of the projection kernel (one AVX-512 register of f64, two AVX2).
pub(crate) const BLOCK: usize = 8;
/// Rows processed together by the projection kernel (they share the loads of Q).
pub(crate) const TILE_ROWS: usize = 2;
/// Lanes per accumulator of the elementwise kernels.
pub(crate) const LANES: usize = 8;
/// Rows per call of the fused kernel ([`PackedBasis::centre_project_rows`]).
pub(crate) const FUSED_TILE: usize = 16;
/// Columns per block of the fused kernel (a multiple of [`BLOCK`]).
pub(crate) const FUSED_COLS: usize = 256;

/// Accumulator length of the fused kernel for `g` columns: 2·g projection accumulators and 2
/// squared-norm accumulators, [`BLOCK`] lanes each.
pub(crate) const fn fused_acc_len(g: usize) -> usize {
    (2 * g + 2) * BLOCK
}
