//! The GFNN of He & Su (papers.md §1.3) with a hand-written, fused forward/backward pass.
//!
//! Parameters live in one flat buffer in PyTorch `model.parameters()` order: for every hidden block
//! `W (h×d_in), b (h), [γ (h), β (h)]`, then the classifier `W (K×h), b (K)`.

use super::kernels::{
    add_bias, affine_activation, bn_backward, bn_eval_affine, bn_normalize_train, column_sums,
    relu_backward, softmax_cross_entropy,
};
use super::linalg::{matmul_a_wt, matmul_d_w, matmul_dt_a};
use crate::config::BnMeasureMode;
use crate::error::TrainError;
use crate::optim::Optimizer;
use crate::report::LayerFeatures;
use rand::Rng;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
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
    fn validate(&self) -> Result<(), TrainError> {
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

/// Offsets of one Linear(+BN) layer's tensors in the flat parameter buffer.
#[derive(Debug, Clone, Copy)]
struct LayerSlots {
    fan_in: usize,
    fan_out: usize,
    weight: usize,
    bias: usize,
    /// γ offset (β follows at `gamma + fan_out`); `None` without BN or for the classifier.
    gamma: Option<usize>,
}

/// Per-hidden-layer buffers kept from the forward pass for the backward pass.
#[derive(Debug, Clone, Default)]
struct LayerCache {
    /// $\hat z$ (with BN) or $z$ (without), `B × h`.
    normalized: Vec<f32>,
    /// Block output $a$, `B × h`.
    output: Vec<f32>,
    inv_std: Vec<f32>,
}

#[derive(Debug, Clone, Default)]
struct Scratch {
    caches: Vec<LayerCache>,
    logits: Vec<f32>,
    grad_a: Vec<f32>,
    grad_b: Vec<f32>,
    stats: (Vec<f64>, Vec<f64>),
}

/// Result of one optimiser step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepResult {
    /// Batch loss (class-weighted mean cross-entropy).
    pub loss: f64,
    /// Rows whose logits' argmax equals the label.
    pub correct: usize,
}

/// How batch norm is applied in a forward pass.
#[derive(Clone, Copy, PartialEq, Eq)]
enum BnUse {
    /// Batch statistics; running statistics are updated.
    TrainUpdate,
    /// Batch statistics; running statistics untouched.
    TrainFrozen,
    /// Running statistics.
    Eval,
}

/// A GFNN with its parameters, BN running statistics and gradient buffers, all plain `f32`.
#[derive(Debug, Clone)]
pub struct FnnModel {
    spec: FnnSpec,
    slots: Vec<LayerSlots>,
    params: Vec<f32>,
    grads: Vec<f32>,
    /// `(running_mean, running_var)` of each hidden BN layer.
    running: Vec<(Vec<f32>, Vec<f32>)>,
    threads: usize,
    scratch: Scratch,
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

    /// One training step on a mini-batch (`x`: `B × d` row-major, `y`: labels) in train mode:
    /// forward with batch statistics (updating running statistics), cross-entropy (optionally
    /// class-weighted), backward, then `opt.update` at learning rate `lr`.
    /// `opt` must have been created for [`Self::parameter_count`] parameters.
    pub fn train_step(
        &mut self,
        opt: &mut Optimizer,
        x: &[f32],
        y: &[usize],
        lr: f64,
        class_weights: Option<&[f32]>,
    ) -> StepResult {
        let rows = y.len();
        let spec = self.spec;
        let hidden = spec.depth - 1;
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.caches.resize_with(hidden, LayerCache::default);
        for layer in 0..hidden {
            let (done, rest) = scratch.caches.split_at_mut(layer);
            let input = if layer == 0 {
                x
            } else {
                &done[layer - 1].output
            };
            self.forward_hidden(
                layer,
                input,
                rows,
                &mut rest[0],
                &mut scratch.stats,
                BnUse::TrainUpdate,
            );
        }
        let last = self.slots[hidden];
        scratch.logits.resize(rows * last.fan_out, 0.0);
        let penultimate = if hidden == 0 {
            x
        } else {
            &scratch.caches[hidden - 1].output
        };
        self.linear(hidden, penultimate, rows, &mut scratch.logits);
        let (loss, correct) =
            softmax_cross_entropy(&mut scratch.logits, y, spec.num_classes, class_weights);

        // Backward. `grad_a` holds ∂L/∂(layer output) going down.
        let max_cols = spec.width.max(spec.num_classes);
        scratch.grad_a.resize(rows * max_cols, 0.0);
        scratch.grad_b.resize(rows * max_cols, 0.0);
        let Scratch {
            caches,
            logits,
            grad_a,
            grad_b,
            ..
        } = &mut scratch;
        // Which buffer holds ∂L/∂z of the current layer: 0 = logits, 1 = grad_a, 2 = grad_b.
        let mut current = 0;
        for layer in (0..spec.depth).rev() {
            let slot = self.slots[layer];
            let (upstream, downstream) = match current {
                0 => (&mut *logits, &mut *grad_a),
                1 => (&mut *grad_a, &mut *grad_b),
                _ => (&mut *grad_b, &mut *grad_a),
            };
            let dz = &mut upstream[..rows * slot.fan_out];
            if layer < hidden {
                let cache = &caches[layer];
                if spec.relu {
                    relu_backward(dz, &cache.output);
                }
                if let Some(g) = slot.gamma {
                    let (before, after) = self.grads.split_at_mut(g + slot.fan_out);
                    let dgamma = &mut before[g..];
                    let dbeta = &mut after[..slot.fan_out];
                    let gamma = &self.params[g..g + slot.fan_out];
                    bn_backward(dz, &cache.normalized, gamma, &cache.inv_std, dgamma, dbeta);
                }
            }
            let input: &[f32] = if layer == 0 {
                x
            } else {
                &caches[layer - 1].output
            };
            let weight_grad = &mut self.grads[slot.weight..slot.bias];
            matmul_dt_a(
                weight_grad,
                dz,
                input,
                rows,
                slot.fan_out,
                slot.fan_in,
                self.threads,
            );
            column_sums(dz, &mut self.grads[slot.bias..slot.bias + slot.fan_out]);
            if layer > 0 {
                let weight = &self.params[slot.weight..slot.bias];
                let dst = &mut downstream[..rows * slot.fan_in];
                matmul_d_w(
                    dst,
                    dz,
                    weight,
                    rows,
                    slot.fan_out,
                    slot.fan_in,
                    self.threads,
                );
                current = if current == 1 { 2 } else { 1 };
            }
        }
        self.scratch = scratch;
        opt.update(&mut self.params, &self.grads, lr);
        StepResult { loss, correct }
    }

    /// `out = input · Wᵀ + b` for layer `layer`.
    fn linear(&self, layer: usize, input: &[f32], rows: usize, out: &mut [f32]) {
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

    fn forward_hidden(
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
    pub fn forward_all(&self, x: &[f32], n: usize, mode: BnMeasureMode) -> LayerFeatures {
        let hidden = self.spec.depth - 1;
        let mut names = vec!["input".to_string()];
        let mut dims = vec![self.spec.input_dim];
        let mut data = vec![x[..n * self.spec.input_dim].to_vec()];
        for l in 1..=hidden {
            names.push(format!("block{l}"));
            dims.push(self.spec.width);
            data.push(Vec::with_capacity(n * self.spec.width));
        }
        let (chunk, bn) = match mode {
            BnMeasureMode::Train { batch } => (batch.max(1), BnUse::TrainFrozen),
            BnMeasureMode::Eval => (1024, BnUse::Eval),
        };
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
        LayerFeatures { names, dims, data }
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
        let chunk = 1024;
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
