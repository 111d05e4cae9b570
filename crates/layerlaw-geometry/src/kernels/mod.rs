//! Hot loops of the two passes, each written once, generic over the vector operations of
//! [`isa::Simd`], and compiled three times: portable (baseline target), AVX2+FMA and AVX-512F.
//!
//! The level is chosen once per process ([`Isa::selected`]): the widest this CPU supports, or
//! the one named by the environment variable `LAYERLAW_ISA` (`portable`, `avx2` or `avx512`);
//! every kernel call then dispatches on it ([`Isa::dispatch`]) into a function compiled for that
//! level's features.
//!
//! All levels accumulate in f64 and read f32 input directly (widened in registers, no f64 copy
//! of the features), with the same tiling: pass 1 sums the rows of each class within a tile of
//! rows in registers ([`class_sum`]); pass 2 centres and projects tiles of rows on the packed
//! between-class basis in one go, over blocks of columns, with the accumulators in registers
//! ([`project`]). Both prefetch the next tile while computing this one. The class sums are
//! bit-for-bit the same on every level; the projections differ between levels only in
//! rounding (fused versus separate multiply-add, and the order in which lane partial sums
//! are added). On one machine with one level every run is bit-for-bit identical.

mod basis;
mod class_sum;
pub(crate) mod isa;
mod project;

use std::fmt;
use std::sync::OnceLock;

pub(crate) use basis::PackedBasis;
pub(crate) use class_sum::{add_rows, SUM_TILE};
pub(crate) use isa::Simd;
use isa::{Kernel, Portable};
pub(crate) use project::TILE;

/// Environment variable that overrides the instruction-set level of the kernels.
pub const ISA_ENV: &str = "LAYERLAW_ISA";

/// Instruction-set level of the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Isa {
    /// Baseline target, no explicit SIMD (vectors of four f64 in plain Rust).
    Portable,
    /// x86-64 AVX2 with FMA (4 f64 lanes, 16 registers).
    Avx2,
    /// x86-64 AVX-512F (8 f64 lanes, 32 registers).
    Avx512,
}

impl Isa {
    /// Every level, narrowest first.
    pub const ALL: [Isa; 3] = [Isa::Portable, Isa::Avx2, Isa::Avx512];

    /// The level the kernels run at in this process: the one named by `LAYERLAW_ISA` if it is
    /// set, else the widest this CPU supports. Decided once, on first use. A value that is not
    /// a level's name, or names a level this CPU lacks, is reported on stderr (once) and the
    /// widest supported level is used instead.
    pub fn selected() -> Isa {
        static SELECTED: OnceLock<Isa> = OnceLock::new();
        *SELECTED.get_or_init(|| {
            let value = std::env::var(ISA_ENV).ok();
            let (isa, warning) = choose(value.as_deref(), Isa::widest_supported(), Isa::supported);
            if let Some(warning) = warning {
                eprintln!("layerlaw: {warning}");
            }
            isa
        })
    }

    /// The widest level this CPU supports.
    pub fn widest_supported() -> Isa {
        *Isa::ALL
            .iter()
            .rev()
            .find(|isa| isa.supported())
            .unwrap_or(&Isa::Portable)
    }

    /// Whether this CPU can run the level.
    pub fn supported(self) -> bool {
        match self {
            Isa::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => isa::Avx2::new().is_some(),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => isa::Avx512::new().is_some(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The level's name, as `LAYERLAW_ISA` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Portable => "portable",
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
        }
    }

    /// Every level this CPU can run (for tests).
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Isa> {
        Isa::ALL.into_iter().filter(|isa| isa.supported()).collect()
    }

    /// f64 lanes of the level's vectors.
    pub(crate) fn lanes(self) -> usize {
        match self {
            Isa::Portable => Portable::LANES,
            Isa::Avx2 => 4,
            Isa::Avx512 => 8,
        }
    }

    /// Most basis columns one projection-kernel call handles ([`Simd::MAX_GROUP`]).
    pub(crate) fn max_group(self) -> usize {
        match self {
            Isa::Portable => Portable::MAX_GROUP,
            Isa::Avx2 => 5,
            Isa::Avx512 => 12,
        }
    }

    /// Runs `k` compiled for this level. A level this CPU lacks (which [`Isa::selected`] never
    /// returns) runs the portable code, which gives the same results to rounding.
    #[inline]
    pub(crate) fn dispatch<K: Kernel>(self, k: K) -> K::Output {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => {
                if let Some(s) = isa::Avx512::new() {
                    return s.vectorize(k);
                }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                if let Some(s) = isa::Avx2::new() {
                    return s.vectorize(k);
                }
            }
            _ => {}
        }
        debug_assert!(
            self.supported() || self == Isa::Portable,
            "{self} is not supported"
        );
        Portable.vectorize(k)
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The level for a `LAYERLAW_ISA` value (`None`: unset), given the widest supported level and
/// a support test; with a warning when the value cannot be honoured.
fn choose(
    value: Option<&str>,
    widest: Isa,
    supported: impl Fn(Isa) -> bool,
) -> (Isa, Option<String>) {
    let Some(value) = value else {
        return (widest, None);
    };
    let wanted = value.trim().to_ascii_lowercase();
    match Isa::ALL.into_iter().find(|isa| isa.name() == wanted) {
        Some(isa) if supported(isa) => (isa, None),
        Some(isa) => (
            widest,
            Some(format!(
                "{ISA_ENV}={value}: this CPU does not support {isa}; using {widest}"
            )),
        ),
        None => (
            widest,
            Some(format!(
                "{ISA_ENV}={value} is not one of portable, avx2, avx512; using {widest}"
            )),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_choice_honours_the_variable_or_warns() {
        let only_avx2 = |isa: Isa| isa != Isa::Avx512;
        assert_eq!(choose(None, Isa::Avx2, only_avx2), (Isa::Avx2, None));
        assert_eq!(
            choose(Some("portable"), Isa::Avx2, only_avx2),
            (Isa::Portable, None)
        );
        assert_eq!(
            choose(Some(" AVX2 "), Isa::Avx2, only_avx2),
            (Isa::Avx2, None)
        );
        let (isa, warning) = choose(Some("avx512"), Isa::Avx2, only_avx2);
        assert_eq!(isa, Isa::Avx2);
        assert_eq!(
            warning.as_deref(),
            Some("LAYERLAW_ISA=avx512: this CPU does not support avx512; using avx2")
        );
        let (isa, warning) = choose(Some("sse9"), Isa::Avx2, only_avx2);
        assert_eq!(isa, Isa::Avx2);
        assert_eq!(
            warning.as_deref(),
            Some("LAYERLAW_ISA=sse9 is not one of portable, avx2, avx512; using avx2")
        );
    }

    #[test]
    fn levels_match_their_operations() {
        #[cfg(target_arch = "x86_64")]
        {
            use isa::{Avx2, Avx512};
            assert_eq!(Isa::Avx2.lanes(), Avx2::LANES);
            assert_eq!(Isa::Avx2.max_group(), Avx2::MAX_GROUP);
            assert_eq!(Isa::Avx512.lanes(), Avx512::LANES);
            assert_eq!(Isa::Avx512.max_group(), Avx512::MAX_GROUP);
        }
        assert!(Isa::Portable.supported());
        assert!(Isa::available().contains(&Isa::widest_supported()));
        assert!(Isa::selected().supported());
    }
}
