//! Host-side parameter store of the CNNs: one flat `f32` buffer (PyTorch default initialisation),
//! BN running statistics, and slot descriptors used by the burn forward pass.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Location of one parameter tensor in the flat buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub offset: usize,
    pub len: usize,
}

/// A convolution: weight `[c_out, c_in, k, k]`, optional bias `[c_out]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Conv {
    pub weight: usize,
    pub bias: Option<usize>,
    pub c_in: usize,
    pub c_out: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

/// A batch norm: affine γ, β (parameter slots) and running-statistics index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bn {
    pub gamma: usize,
    pub beta: usize,
    pub stats: usize,
    pub channels: usize,
}

/// A fully connected layer: weight `[out, in]`, bias `[out]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Linear {
    pub weight: usize,
    pub bias: usize,
    pub fan_in: usize,
    pub fan_out: usize,
}

/// All parameters (flat, in registration order, which is PyTorch's `parameters()` order for the
/// kuangliu-style modules), their slots and shapes, and the BN running statistics.
#[derive(Debug, Clone, Default)]
pub(crate) struct ParamStore {
    pub values: Vec<f32>,
    pub slots: Vec<Slot>,
    /// PyTorch shape of each slot (`[c_out, c_in, k, k]`, `[out, in]` or `[len]`).
    pub shapes: Vec<Vec<usize>>,
    /// `(running_mean, running_var)` per BN layer.
    pub running: Vec<(Vec<f32>, Vec<f32>)>,
}

impl ParamStore {
    fn push(&mut self, shape: &[usize], mut fill: impl FnMut() -> f32) -> usize {
        let len = shape.iter().product();
        let offset = self.values.len();
        self.values.extend((0..len).map(|_| fill()));
        self.slots.push(Slot { offset, len });
        self.shapes.push(shape.to_vec());
        self.slots.len() - 1
    }

    /// Values of slot `i`.
    pub fn slot(&self, i: usize) -> &[f32] {
        let s = self.slots[i];
        &self.values[s.offset..s.offset + s.len]
    }

    /// `Conv2d` with PyTorch's default init: weight and bias $\sim U(\pm 1/\sqrt{c_\text{in} k^2})$.
    pub fn conv(
        &mut self,
        rng: &mut ChaCha8Rng,
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        bias: bool,
    ) -> Conv {
        let bound = 1.0 / ((c_in * kernel * kernel) as f32).sqrt();
        let weight = self.push(&[c_out, c_in, kernel, kernel], || {
            rng.random_range(-bound..bound)
        });
        let bias = bias.then(|| self.push(&[c_out], || rng.random_range(-bound..bound)));
        Conv {
            weight,
            bias,
            c_in,
            c_out,
            kernel,
            stride,
            padding: kernel / 2,
        }
    }

    /// `BatchNorm{1,2}d(channels)`: γ = 1, β = 0, running mean 0, running variance 1.
    pub fn bn(&mut self, channels: usize) -> Bn {
        let gamma = self.push(&[channels], || 1.0);
        let beta = self.push(&[channels], || 0.0);
        self.running
            .push((vec![0.0; channels], vec![1.0; channels]));
        Bn {
            gamma,
            beta,
            stats: self.running.len() - 1,
            channels,
        }
    }

    /// `Linear(fan_in, fan_out)` with PyTorch's default init $U(\pm 1/\sqrt{\text{fan\_in}})$.
    pub fn linear(&mut self, rng: &mut ChaCha8Rng, fan_in: usize, fan_out: usize) -> Linear {
        let bound = 1.0 / (fan_in as f32).sqrt();
        let weight = self.push(&[fan_out, fan_in], || rng.random_range(-bound..bound));
        let bias = self.push(&[fan_out], || rng.random_range(-bound..bound));
        Linear {
            weight,
            bias,
            fan_in,
            fan_out,
        }
    }
}
