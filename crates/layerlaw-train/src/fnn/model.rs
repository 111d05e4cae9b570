//! The GFNN of He & Su (`docs/definitions.md`, "GFNN architecture") with a hand-written, fused
//! forward pass (the backward pass is in `step.rs`).
//!
//! Parameters live in one flat buffer in PyTorch `model.parameters()` order: for every hidden block
//! `W (h×d_in), b (h), [γ (h), β (h)]`, then the classifier `W (K×h), b (K)`.

use super::kernels::{add_bias, affine_activation, bn_eval_affine, bn_normalize_train};
use super::linalg::matmul_a_wt;
use super::spec::FnnSpec;
use crate::config::BnMeasureMode;
use crate::error::TrainError;
use crate::ops::batchnorm::BnUse;
use crate::report::LayerActivations;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Chunk size of eval-mode inference.
const EVAL_CHUNK: usize = 1024;

/// Offsets of one Linear(+BN) layer's tensors in the flat parameter buffer.
#[derive(Debug, Clone, Copy)]
pub(super) struct LayerSlots {
    pub fan_in: usize,
    pub fan_out: usize,
    pub weight: usize,
    pub bias: usize,
    /// γ offset (β follows at `gamma + fan_out`); `None` without BN or for the classifier.
    pub gamma: Option<usize>,
}

/// Per-hidden-layer buffers kept from the forward pass for the backward pass.
#[derive(Debug, Clone, Default)]
pub(super) struct LayerCache {
    /// $\hat z$ (with BN) or $z$ (without), `B × h`.
    pub normalized: Vec<f32>,
    /// Block output $a$, `B × h`.
    pub output: Vec<f32>,
    /// $1/\sqrt{\sigma_B^2+\varepsilon}$ per column (train-mode BN).
    pub inv_std: Vec<f32>,
}

/// Buffers reused from one training step to the next.
#[derive(Debug, Clone, Default)]
pub(super) struct Scratch {
    pub caches: Vec<LayerCache>,
    pub logits: Vec<f32>,
    pub grad_a: Vec<f32>,
    pub grad_b: Vec<f32>,
    pub stats: (Vec<f64>, Vec<f64>),
}

/// A GFNN with its parameters, BN running statistics and gradient buffers, all plain `f32`.
#[derive(Debug, Clone)]
pub struct FnnModel {
    pub(super) spec: FnnSpec,
    pub(super) slots: Vec<LayerSlots>,
    pub(super) params: Vec<f32>,
    pub(super) grads: Vec<f32>,
    /// `(running_mean, running_var)` of each hidden BN layer.
    pub(super) running: Vec<(Vec<f32>, Vec<f32>)>,
    pub(super) threads: usize,
    pub(super) scratch: Scratch,
}

impl FnnModel {
    /// A model with PyTorch's default initialisation drawn from `ChaCha8Rng::seed_from_u64(seed)`:
    /// Linear weight and bias $\sim U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})$ (kaiming-uniform with
    /// $a=\sqrt5$), BN $\gamma = 1$, $\beta = 0$, running mean 0 and variance 1.
    pub fn new(spec: FnnSpec, seed: u64) -> Result<Self, TrainError> {
        spec.validate()?;
        let mut model = Self::zeros(spec);
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        for slot in model.slots.clone() {
            let bound = 1.0 / (slot.fan_in as f32).sqrt();
            for v in &mut model.params[slot.weight..slot.weight + slot.fan_in * slot.fan_out] {
                *v = rng.random_range(-bound..bound);
            }
            for v in &mut model.params[slot.bias..slot.bias + slot.fan_out] {
                *v = rng.random_range(-bound..bound);
            }
            if let Some(g) = slot.gamma {
                model.params[g..g + slot.fan_out].fill(1.0);
            }
        }
        Ok(model)
    }

    /// A model with the given parameter tensors, in PyTorch `model.parameters()` order (see the
    /// module documentation); running statistics start at mean 0, variance 1.
    pub fn from_parameters(spec: FnnSpec, tensors: &[Vec<f32>]) -> Result<Self, TrainError> {
        spec.validate()?;
        let sizes = spec.parameter_sizes();
        if tensors.len() != sizes.len() {
            return Err(TrainError::ParameterShape {
                index: tensors.len().min(sizes.len()),
                reason: "wrong number of parameter tensors (`expected`/`actual` count tensors)",
                expected: sizes.len(),
                actual: tensors.len(),
            });
        }
        for (index, (t, &size)) in tensors.iter().zip(&sizes).enumerate() {
            if t.len() != size {
                return Err(TrainError::ParameterShape {
                    index,
                    reason: "wrong length",
                    expected: size,
                    actual: t.len(),
                });
            }
            if t.iter().any(|v| !v.is_finite()) {
                return Err(TrainError::ParameterShape {
                    index,
                    reason: "non-finite value",
                    expected: size,
                    actual: size,
                });
            }
        }
        let mut model = Self::zeros(spec);
        model.params = tensors.concat();
        Ok(model)
    }

    fn zeros(spec: FnnSpec) -> Self {
        let mut slots = Vec::with_capacity(spec.depth);
        let mut offset = 0;
        let mut fan_in = spec.input_dim;
        for layer in 0..spec.depth {
            let last = layer + 1 == spec.depth;
            let fan_out = if last { spec.num_classes } else { spec.width };
            let weight = offset;
            let bias = weight + fan_in * fan_out;
            offset = bias + fan_out;
            let gamma = (!last && spec.batchnorm).then(|| {
                let g = offset;
                offset += 2 * fan_out;
                g
            });
            slots.push(LayerSlots {
                fan_in,
                fan_out,
                weight,
                bias,
                gamma,
            });
            fan_in = fan_out;
        }
        let running = if spec.batchnorm {
            (0..spec.depth - 1)
                .map(|_| (vec![0.0; spec.width], vec![1.0; spec.width]))
                .collect()
        } else {
            Vec::new()
        };
        FnnModel {
            spec,
            slots,
            params: vec![0.0; offset],
            grads: vec![0.0; offset],
            running,
            threads: 1,
            scratch: Scratch::default(),
        }
    }

    /// The architecture.
    pub fn spec(&self) -> FnnSpec {
        self.spec
    }

    /// Total number of trainable parameters.
    pub fn parameter_count(&self) -> usize {
        self.params.len()
    }

    /// Parameter tensors (flattened, row-major) in PyTorch `model.parameters()` order.
    pub fn parameters(&self) -> Vec<Vec<f32>> {
        let mut out = Vec::new();
        let mut offset = 0;
        for size in self.spec.parameter_sizes() {
            out.push(self.params[offset..offset + size].to_vec());
            offset += size;
        }
        out
    }

    /// `(running_mean, running_var)` of every hidden BN layer (empty without BN).
    pub fn running_statistics(&self) -> &[(Vec<f32>, Vec<f32>)] {
        &self.running
    }

    /// Threads used by large matrix products (1 = sequential; results depend only on this number).
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Classifier `(W, b)`: `K × h` row-major weight and bias.
    pub fn classifier(&self) -> (Vec<f32>, Vec<f32>) {
        let s = self.slots[self.spec.depth - 1];
        (
            self.params[s.weight..s.bias].to_vec(),
            self.params[s.bias..s.bias + s.fan_out].to_vec(),
        )
    }

    /// `out = input · Wᵀ + b` for layer `layer`.
    pub(super) fn linear(&self, layer: usize, input: &[f32], rows: usize, out: &mut [f32]) {
        let s = self.slots[layer];
        matmul_a_wt(
            out,
            input,
            &self.params[s.weight..s.bias],
            rows,
            s.fan_in,
            s.fan_out,
            self.threads,
        );
        add_bias(
            &mut out[..rows * s.fan_out],
            &self.params[s.bias..s.bias + s.fan_out],
        );
    }

    pub(super) fn forward_hidden(
        &mut self,
        layer: usize,
        input: &[f32],
        rows: usize,
        cache: &mut LayerCache,
        stats: &mut (Vec<f64>, Vec<f64>),
        bn: BnUse,
    ) {
        let s = self.slots[layer];
        let cols = s.fan_out;
        cache.normalized.resize(rows * cols, 0.0);
        cache.output.resize(rows * cols, 0.0);
        cache.inv_std.resize(cols, 0.0);
        self.linear(layer, input, rows, &mut cache.normalized);
        let affine = s.gamma.map(|g| {
            (
                &self.params[g..g + cols],
                &self.params[g + cols..g + 2 * cols],
            )
        });
        match (affine, bn) {
            (Some((gamma, beta)), BnUse::Eval) => {
                let (rm, rv) = &self.running[layer];
                bn_eval_affine(&mut cache.normalized, gamma, beta, rm, rv);
                affine_activation(&mut cache.output, &cache.normalized, None, self.spec.relu);
            }
            (Some(_), train_mode) => {
                let running = if train_mode == BnUse::TrainUpdate {
                    let (rm, rv) = &mut self.running[layer];
                    Some((rm.as_mut_slice(), rv.as_mut_slice()))
                } else {
                    None
                };
                bn_normalize_train(
                    &mut cache.normalized,
                    cols,
                    &mut cache.inv_std,
                    stats,
                    running,
                );
                let g = s.gamma.unwrap_or_default();
                let (gamma, beta) = (
                    &self.params[g..g + cols],
                    &self.params[g + cols..g + 2 * cols],
                );
                affine_activation(
                    &mut cache.output,
                    &cache.normalized,
                    Some((gamma, beta)),
                    self.spec.relu,
                );
            }
            (None, _) => {
                affine_activation(&mut cache.output, &cache.normalized, None, self.spec.relu)
            }
        }
    }

    /// Features of `n` points (`x`: `n × d`): layer 0 `"input"` is `x` itself, layer `l ≥ 1`
    /// `"block{l}"` is the output of hidden block `l` (after BN and ReLU); logits are excluded.
    /// With [`BnMeasureMode::Train`] BN uses the statistics of consecutive chunks of `batch` points,
    /// with [`BnMeasureMode::Eval`] the running statistics. The model is not changed.
    pub fn forward_all(&self, x: &[f32], n: usize, mode: BnMeasureMode) -> LayerActivations {
        let hidden = self.spec.depth - 1;
        let mut names = vec!["input".to_string()];
        let mut dims = vec![self.spec.input_dim];
        let mut data = vec![x[..n * self.spec.input_dim].to_vec()];
        for l in 1..=hidden {
            names.push(format!("block{l}"));
            dims.push(self.spec.width);
            data.push(Vec::with_capacity(n * self.spec.width));
        }
        let (bn, chunk) = BnUse::for_measurement(mode, EVAL_CHUNK);
        let mut model = self.clone_for_inference();
        let mut caches = vec![LayerCache::default(); hidden];
        let mut stats = (Vec::new(), Vec::new());
        let d = self.spec.input_dim;
        for start in (0..n).step_by(chunk) {
            let rows = chunk.min(n - start);
            let xs = &x[start * d..(start + rows) * d];
            for layer in 0..hidden {
                let (done, rest) = caches.split_at_mut(layer);
                let input = if layer == 0 {
                    xs
                } else {
                    &done[layer - 1].output
                };
                model.forward_hidden(layer, input, rows, &mut rest[0], &mut stats, bn);
                data[layer + 1].extend_from_slice(&rest[0].output);
            }
        }
        LayerActivations { names, dims, data }
    }

    /// Eval-mode logits (`n × K`) of `n` points.
    pub fn logits(&self, x: &[f32], n: usize) -> Vec<f32> {
        let hidden = self.spec.depth - 1;
        let mut model = self.clone_for_inference();
        let mut caches = vec![LayerCache::default(); hidden];
        let mut stats = (Vec::new(), Vec::new());
        let d = self.spec.input_dim;
        let k = self.spec.num_classes;
        let mut out = vec![0.0; n * k];
        for start in (0..n).step_by(EVAL_CHUNK) {
            let rows = EVAL_CHUNK.min(n - start);
            let xs = &x[start * d..(start + rows) * d];
            for layer in 0..hidden {
                let (done, rest) = caches.split_at_mut(layer);
                let input = if layer == 0 {
                    xs
                } else {
                    &done[layer - 1].output
                };
                model.forward_hidden(layer, input, rows, &mut rest[0], &mut stats, BnUse::Eval);
            }
            let pen = if hidden == 0 {
                xs
            } else {
                &caches[hidden - 1].output
            };
            model.linear(hidden, pen, rows, &mut out[start * k..(start + rows) * k]);
        }
        out
    }

    /// A copy sharing nothing mutable with `self`, without gradient or scratch buffers.
    fn clone_for_inference(&self) -> Self {
        FnnModel {
            spec: self.spec,
            slots: self.slots.clone(),
            params: self.params.clone(),
            grads: Vec::new(),
            running: self.running.clone(),
            threads: self.threads,
            scratch: Scratch::default(),
        }
    }
}
