//! The element types accepted for features.

pub(crate) mod sealed {
    use crate::kernels::Simd;

    /// What the kernels need of an element type, out of users' reach (it also seals
    /// [`Scalar`](super::Scalar)).
    pub trait Sealed: Copy {
        /// [`Simd::LANES`] values from `p`, widened to f64.
        ///
        /// # Safety
        /// `p` points to [`Simd::LANES`] readable values (no alignment needed).
        unsafe fn load_lanes<S: Simd>(s: S, p: *const Self) -> S::V;
    }

    impl Sealed for f32 {
        #[inline(always)]
        unsafe fn load_lanes<S: Simd>(s: S, p: *const f32) -> S::V {
            // SAFETY: forwarded from the caller.
            unsafe { s.load_f32(p) }
        }
    }

    impl Sealed for f64 {
        #[inline(always)]
        unsafe fn load_lanes<S: Simd>(s: S, p: *const f64) -> S::V {
            // SAFETY: forwarded from the caller.
            unsafe { s.load(p) }
        }
    }
}

/// A feature element type: `f32` or `f64` (sealed, so no other type can implement it).
///
/// Every computation widens features to `f64` before accumulating, whatever `T` is, so an
/// `f32` input loses nothing beyond its own 24-bit mantissa.
pub trait Scalar:
    sealed::Sealed + Copy + Send + Sync + PartialEq + std::fmt::Debug + 'static
{
    /// Widens the value to `f64` (exact for both implementors).
    fn to_f64(self) -> f64;
    /// The type's name, for reports and error messages.
    const NAME: &'static str;
    /// The slice as its concrete type (lets kernels pick type-specific SIMD code).
    fn slice_kind(s: &[Self]) -> SliceKind<'_>;
}

/// A feature slice of a concrete element type.
#[derive(Debug, Clone, Copy)]
pub enum SliceKind<'a> {
    /// Single precision.
    F32(&'a [f32]),
    /// Double precision.
    F64(&'a [f64]),
}

impl Scalar for f32 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    const NAME: &'static str = "f32";
    #[inline(always)]
    fn slice_kind(s: &[f32]) -> SliceKind<'_> {
        SliceKind::F32(s)
    }
}

impl Scalar for f64 {
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    const NAME: &'static str = "f64";
    #[inline(always)]
    fn slice_kind(s: &[f64]) -> SliceKind<'_> {
        SliceKind::F64(s)
    }
}
