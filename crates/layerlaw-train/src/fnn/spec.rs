//! [`FnnSpec`]: the shape of a GFNN and the layout of its parameters.

use crate::error::TrainError;
use serde::Serialize;

/// Shape of a GFNN: `depth` Linear layers, the first `depth − 1` followed by optional BN and ReLU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FnnSpec {
    /// Input dimension $d$.
    pub input_dim: usize,
    /// Hidden width $h$.
    pub width: usize,
    /// Number of Linear layers including the classifier ($\ge 2$).
    pub depth: usize,
    /// Number of classes $K$.
    pub num_classes: usize,
    /// `BatchNorm1d` after each hidden Linear.
    pub batchnorm: bool,
    /// ReLU after each hidden block.
    pub relu: bool,
}

impl FnnSpec {
    pub(crate) fn validate(&self) -> Result<(), TrainError> {
        let bad = |field, value: usize, reason| {
            Err(TrainError::InvalidConfig {
                field,
                value: value.to_string(),
                reason,
            })
        };
        if self.depth < 2 {
            return bad("depth", self.depth, "an FNN needs at least 2 Linear layers");
        }
        if self.width == 0 {
            return bad("width", 0, "must be positive");
        }
        if self.input_dim == 0 {
            return bad("input_dim", 0, "must be positive");
        }
        if self.num_classes < 2 {
            return bad("num_classes", self.num_classes, "must be at least 2");
        }
        Ok(())
    }

    /// Shapes (element counts) of the parameter tensors, in PyTorch order.
    pub fn parameter_sizes(&self) -> Vec<usize> {
        let mut sizes = Vec::new();
        let mut fan_in = self.input_dim;
        for _ in 0..self.depth - 1 {
            sizes.extend([self.width * fan_in, self.width]);
            if self.batchnorm {
                sizes.extend([self.width, self.width]);
            }
            fan_in = self.width;
        }
        sizes.extend([self.num_classes * fan_in, self.num_classes]);
        sizes
    }
}
