//! Element types shared by the npy and safetensors readers, and their decoding to
//! [`ArrayData`] (half floats widened to `f32`, integers widened to `i64`).

use crate::array::ArrayData;
use crate::error::{IoError, Origin};

/// Byte order of the stored elements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endian {
    Little,
    Big,
}

/// Element types layerlaw can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ElemKind {
    F16,
    BF16,
    F32,
    F64,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
}

impl ElemKind {
    /// Size of one element in bytes.
    pub(crate) fn size(self) -> usize {
        match self {
            ElemKind::I8 | ElemKind::U8 => 1,
            ElemKind::F16 | ElemKind::BF16 | ElemKind::I16 | ElemKind::U16 => 2,
            ElemKind::F32 | ElemKind::I32 | ElemKind::U32 => 4,
            ElemKind::F64 | ElemKind::I64 | ElemKind::U64 => 8,
        }
    }
}

/// Converts IEEE 754 binary16 bits to `f32` exactly (subnormals, infinities and NaN included).
pub(crate) fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exp = u32::from((bits >> 10) & 0x1f);
    let mant = u32::from(bits & 0x3ff);
    let magnitude = match exp {
        // Zero or subnormal: mant * 2^-24, exact in f32.
        0 => (mant as f32) * f32::from_bits(0x3380_0000),
        0x1f => return f32::from_bits(sign | 0x7f80_0000 | (mant << 13)),
        _ => return f32::from_bits(sign | ((exp + 127 - 15) << 23) | (mant << 13)),
    };
    f32::from_bits(sign | magnitude.to_bits())
}

/// Converts bfloat16 bits (the top half of an `f32`) to `f32` exactly.
pub(crate) fn bf16_to_f32(bits: u16) -> f32 {
    f32::from_bits(u32::from(bits) << 16)
}

/// Collects `len` values into a buffer backed by huge pages when large (see
/// [`crate::huge_pages`]): feature matrices are streamed twice by the separation passes.
fn collect_large<T>(values: impl Iterator<Item = T>, len: usize) -> Vec<T> {
    let mut out = crate::huge_pages::vec_with_capacity(len);
    out.extend(values);
    out
}

/// Decodes `bytes` (exactly `numel * kind.size()` long) into typed data.
pub(crate) fn decode(
    kind: ElemKind,
    endian: Endian,
    bytes: &[u8],
    origin: &Origin<'_>,
) -> Result<ArrayData, IoError> {
    macro_rules! words {
        ($t:ty, $n:literal) => {
            bytes.chunks_exact($n).map(|c| {
                let arr: [u8; $n] = c.try_into().expect("chunks_exact yields full chunks");
                match endian {
                    Endian::Little => <$t>::from_le_bytes(arr),
                    Endian::Big => <$t>::from_be_bytes(arr),
                }
            })
        };
    }
    Ok(match kind {
        ElemKind::F16 => ArrayData::F32(words!(u16, 2).map(f16_to_f32).collect()),
        ElemKind::BF16 => ArrayData::F32(words!(u16, 2).map(bf16_to_f32).collect()),
        ElemKind::F32 => ArrayData::F32(collect_large(words!(f32, 4), bytes.len() / 4)),
        ElemKind::F64 => ArrayData::F64(collect_large(words!(f64, 8), bytes.len() / 8)),
        ElemKind::I8 => ArrayData::Int(bytes.iter().map(|&b| i64::from(b as i8)).collect()),
        ElemKind::U8 => ArrayData::Int(bytes.iter().map(|&b| i64::from(b)).collect()),
        ElemKind::I16 => ArrayData::Int(words!(i16, 2).map(i64::from).collect()),
        ElemKind::U16 => ArrayData::Int(words!(u16, 2).map(i64::from).collect()),
        ElemKind::I32 => ArrayData::Int(words!(i32, 4).map(i64::from).collect()),
        ElemKind::U32 => ArrayData::Int(words!(u32, 4).map(i64::from).collect()),
        ElemKind::I64 => ArrayData::Int(words!(i64, 8).collect()),
        ElemKind::U64 => {
            let mut out = Vec::with_capacity(bytes.len() / 8);
            for (index, value) in words!(u64, 8).enumerate() {
                let v = i64::try_from(value).map_err(|_| IoError::IntegerOutOfRange {
                    path: origin.path(),
                    entry: origin.entry(),
                    value,
                    index,
                })?;
                out.push(v);
            }
            ArrayData::Int(out)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_special_values() {
        // Reference bit patterns from IEEE 754-2008 binary16.
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24)); // smallest subnormal
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24)); // largest subnormal
        assert_eq!(f16_to_f32(0x0400), 2f32.powi(-14)); // smallest normal
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95); // nearest f16 to 1/3
    }

    #[test]
    fn bf16_is_top_half_of_f32() {
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_to_f32(0xc040), -3.0);
        assert_eq!(bf16_to_f32(0x7f80), f32::INFINITY);
    }
}
