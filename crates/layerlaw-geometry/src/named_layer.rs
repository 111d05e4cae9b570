//! [`NamedLayer`]: the one view of a layer's features that every source hands to the
//! statistics (feature files, the networks trained here, live models), whatever its storage.

use faer::MatRef;

use crate::error::{GeometryError, Result};
use crate::layers::LayerFeatures;

/// One layer's features with its name: $n$ rows (samples) of dimension $p$, f32 or f64, any
/// strides. Feature readers, training runs and live-model front ends all produce this type;
/// [`crate::separation_layers`] and the streaming accumulators consume its
/// [`features`](NamedLayer::features).
#[derive(Debug, Clone, Copy)]
pub struct NamedLayer<'a> {
    /// The layer's name (file key, module name or block name).
    pub name: &'a str,
    /// The n×p features.
    pub features: LayerFeatures<'a>,
}

impl<'a> NamedLayer<'a> {
    /// A named view of `features`.
    pub fn new(name: &'a str, features: impl Into<LayerFeatures<'a>>) -> Self {
        NamedLayer {
            name,
            features: features.into(),
        }
    }

    /// Views `data` (row-major, `dim` values per row) as an n×dim layer.
    ///
    /// Errors: `dim == 0` ([`GeometryError::ZeroDimension`]) or a length that is not a multiple of
    /// `dim` ([`GeometryError::RaggedRows`]).
    pub fn row_major_f32(name: &'a str, data: &'a [f32], dim: usize) -> Result<Self> {
        let n = rows_of(name, data.len(), dim)?;
        Ok(Self::new(name, MatRef::from_row_major_slice(data, n, dim)))
    }

    /// As [`NamedLayer::row_major_f32`], for f64 data.
    pub fn row_major_f64(name: &'a str, data: &'a [f64], dim: usize) -> Result<Self> {
        let n = rows_of(name, data.len(), dim)?;
        Ok(Self::new(name, MatRef::from_row_major_slice(data, n, dim)))
    }

    /// Number of samples (rows).
    pub fn nrows(&self) -> usize {
        self.features.nrows()
    }

    /// Feature dimension (columns).
    pub fn ncols(&self) -> usize {
        self.features.ncols()
    }
}

fn rows_of(name: &str, len: usize, dim: usize) -> Result<usize> {
    if dim == 0 {
        return Err(GeometryError::ZeroDimension);
    }
    if !len.is_multiple_of(dim) {
        return Err(GeometryError::RaggedRows {
            layer: name.to_string(),
            len,
            dim,
        });
    }
    Ok(len / dim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_major_views_and_errors() {
        let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let l = NamedLayer::row_major_f32("fc1", &data, 3).unwrap();
        assert_eq!((l.name, l.nrows(), l.ncols()), ("fc1", 2, 3));
        match l.features {
            LayerFeatures::F32(x) => assert_eq!(x[(1, 0)], 4.0),
            LayerFeatures::F64(_) => panic!("f32 expected"),
        }
        let err = NamedLayer::row_major_f32("fc1", &data, 4).unwrap_err();
        assert!(err.to_string().contains("fc1"), "{err}");
        assert!(matches!(
            NamedLayer::row_major_f64("x", &[1.0], 0),
            Err(GeometryError::ZeroDimension)
        ));
    }
}
