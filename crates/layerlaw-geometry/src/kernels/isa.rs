//! Instruction-set levels of the kernels and their detection.

/// Instruction-set level of the kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// Baseline target, no explicit SIMD.
    Portable,
    /// x86-64 AVX2 with FMA (4 f64 lanes, 16 registers).
    Avx2,
    /// x86-64 AVX-512F (8 f64 lanes, 32 registers).
    Avx512,
}

impl Isa {
    /// The widest level this CPU supports.
    pub(crate) fn detect() -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2;
            }
        }
        Isa::Portable
    }

    /// Every level this CPU can run (for tests).
    #[cfg(test)]
    pub(crate) fn available() -> Vec<Isa> {
        let mut out = vec![Isa::Portable];
        let best = Isa::detect();
        if best != Isa::Portable {
            out.push(Isa::Avx2);
        }
        if best == Isa::Avx512 {
            out.push(Isa::Avx512);
        }
        out
    }

    /// Most columns of Q one pass of the projection kernel handles (bounded by registers:
    /// `TILE_ROWS * group` accumulators).
    pub(crate) fn max_group(self) -> usize {
        match self {
            Isa::Avx512 => 12,
            Isa::Avx2 | Isa::Portable => 4,
        }
    }
}
