//! Optimisers with exact PyTorch semantics, applied to flat `f32` parameter and gradient buffers.
//!
//! All updates use coupled L2 weight decay on every parameter (weights, biases, BN affine), as
//! `weight_decay=` in `torch.optim` does: $g \leftarrow \nabla_\theta L + \lambda\theta$.

use crate::config::OptimizerKind;

/// Adam's $\beta_1$ (PyTorch default).
pub const ADAM_BETA1: f64 = 0.9;
/// Adam's $\beta_2$ (PyTorch default).
pub const ADAM_BETA2: f64 = 0.999;
/// Adam's $\varepsilon$ (PyTorch default).
pub const ADAM_EPS: f64 = 1e-8;

/// Optimiser state for one flat parameter buffer.
#[derive(Debug, Clone)]
pub struct Optimizer {
    kind: OptimizerKind,
    momentum: f32,
    weight_decay: f32,
    step: u64,
    /// Number of parameters.
    len: usize,
    /// Momentum buffer $b$ or Adam first moment $m$.
    first: Vec<f32>,
    /// Adam second moment $v$.
    second: Vec<f32>,
}

impl Optimizer {
    /// A fresh optimiser (zero state) for `len` parameters.
    pub fn new(kind: OptimizerKind, momentum: f64, weight_decay: f64, len: usize) -> Self {
        let first = if kind == OptimizerKind::Sgd {
            Vec::new()
        } else {
            vec![0.0; len]
        };
        let second = if kind == OptimizerKind::Adam {
            vec![0.0; len]
        } else {
            Vec::new()
        };
        Optimizer {
            kind,
            momentum: momentum as f32,
            weight_decay: weight_decay as f32,
            step: 0,
            len,
            first,
            second,
        }
    }

    /// Number of parameters this optimiser was created for.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when created for zero parameters.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// One update of `params` with gradient `grads` at learning rate `lr`.
    ///
    /// - SGD: $\theta \leftarrow \theta - \eta g$.
    /// - Momentum (dampening 0): $b_1 = g_1$, $b_t = \mu b_{t-1} + g_t$, $\theta \leftarrow \theta - \eta b_t$.
    /// - Adam (`torch.optim.Adam`, `_single_tensor_adam`): $m \leftarrow m + (1-\beta_1)(g - m)$,
    ///   $v \leftarrow \beta_2 v + (1-\beta_2) g^2$,
    ///   $\theta \leftarrow \theta - \frac{\eta}{1-\beta_1^t}\, m / (\sqrt{v}/\sqrt{1-\beta_2^t} + \varepsilon)$.
    pub fn update(&mut self, params: &mut [f32], grads: &[f32], lr: f64) {
        debug_assert_eq!(params.len(), grads.len());
        self.step += 1;
        let wd = self.weight_decay;
        let lr32 = lr as f32;
        match self.kind {
            OptimizerKind::Sgd => {
                for (p, &g) in params.iter_mut().zip(grads) {
                    let g = g + wd * *p;
                    *p -= lr32 * g;
                }
            }
            OptimizerKind::Momentum => {
                let mu = self.momentum;
                let first_step = self.step == 1;
                for ((p, &g), b) in params.iter_mut().zip(grads).zip(self.first.iter_mut()) {
                    let g = g + wd * *p;
                    *b = if first_step { g } else { mu * *b + g };
                    *p -= lr32 * *b;
                }
            }
            OptimizerKind::Adam => {
                let t = self.step as i32;
                let bc1 = 1.0 - ADAM_BETA1.powi(t);
                let bc2_sqrt = (1.0 - ADAM_BETA2.powi(t)).sqrt() as f32;
                let step_size = (lr / bc1) as f32;
                let one_minus_b1 = (1.0 - ADAM_BETA1) as f32;
                let b2 = ADAM_BETA2 as f32;
                let one_minus_b2 = (1.0 - ADAM_BETA2) as f32;
                let eps = ADAM_EPS as f32;
                for (((p, &g), m), v) in params
                    .iter_mut()
                    .zip(grads)
                    .zip(self.first.iter_mut())
                    .zip(self.second.iter_mut())
                {
                    let g = g + wd * *p;
                    *m += one_minus_b1 * (g - *m);
                    *v = b2 * *v + one_minus_b2 * g * g;
                    let denom = v.sqrt() / bc2_sqrt + eps;
                    *p -= step_size * (*m / denom);
                }
            }
        }
    }
}
