//! Convolutional networks (VGG11, ResNet18) on burn's `Flex` CPU backend with autodiff.
//!
//! Parameters, BN running statistics and the optimiser state stay on the host ([`ParamStore`],
//! [`Optimizer`]); each step uploads the parameters as flat leaf tensors, runs forward and backward
//! with burn, and downloads the flat gradients. This keeps PyTorch's optimiser and BN
//! running-statistics semantics exact and keeps every burn type private to this module.
//!
//! Measured features (training points, dataset order): VGG11 `conv_out` (512, the flattened conv
//! stack output), `fc1` (4096), `penultimate` (fc2 after BN+ReLU, 4096); ResNet18 `layer1_gap`,
//! `layer2_gap`, `layer3_gap` (global average of each stage's output: 64, 128, 256) and `penultimate`
//! (512, after the 4×4 average pool). The classifier input is always the last layer.

mod forward;
mod params;
mod resnet;
mod vgg;

use crate::config::{Architecture, BnMeasureMode, Dataset, TrainConfig};
use crate::error::TrainError;
use crate::fnn::kernels::softmax_cross_entropy;
use crate::fnn::StepResult;
use crate::optim::Optimizer;
use crate::report::LayerFeatures;
use crate::train::Engine;
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use forward::{apply_updates, host, BnUse, Forward};
use params::{Linear, ParamStore};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Chunk size of eval-mode inference.
const EVAL_CHUNK: usize = 256;

/// A network description: its forward pass over a [`Forward`] context.
pub(crate) trait Net: Send {
    /// Names and dimensions of the captured feature layers (the last is the classifier input).
    fn feature_layers(&self) -> Vec<(String, usize)>;
    /// The classifier layer.
    fn classifier(&self) -> Linear;
    /// Logits `[b, K]` and the captured features (one `[b, dim]` tensor per feature layer).
    fn forward(&self, f: &mut Forward, x: Tensor<4>) -> (Tensor<2>, Vec<Tensor<2>>);
}

struct CnnEngine {
    net: Box<dyn Net>,
    store: ParamStore,
    opt: Optimizer,
    grads: Vec<f32>,
    shape: [usize; 3],
    num_classes: usize,
}

/// Builds the CNN engine for `cfg.architecture` (VGG11 or ResNet18).
pub(crate) fn build_engine(
    cfg: &TrainConfig,
    data: &Dataset,
    _threads: usize,
) -> Result<Box<dyn Engine>, TrainError> {
    let mut store = ParamStore::default();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let (c, k) = (data.shape[0], data.num_classes);
    let net: Box<dyn Net> = match cfg.architecture {
        Architecture::Vgg11 => Box::new(vgg::Vgg11::new(&mut store, &mut rng, c, k)),
        Architecture::ResNet18 => Box::new(resnet::ResNet18::new(&mut store, &mut rng, c, k)),
        Architecture::Fnn { .. } => {
            return Err(TrainError::InvalidConfig {
                field: "architecture",
                value: "Fnn".into(),
                reason: "not a convolutional network",
            })
        }
    };
    let opt = Optimizer::new(
        cfg.optimizer,
        cfg.momentum,
        cfg.weight_decay,
        store.values.len(),
    );
    let grads = vec![0.0; store.values.len()];
    Ok(Box::new(CnnEngine {
        net,
        store,
        opt,
        grads,
        shape: data.shape,
        num_classes: k,
    }))
}

/// Number of trainable parameters of a CNN architecture for `c_in` input channels and `K` classes.
pub fn cnn_parameter_count(
    architecture: Architecture,
    c_in: usize,
    num_classes: usize,
) -> Option<usize> {
    let mut store = ParamStore::default();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    match architecture {
        Architecture::Vgg11 => {
            vgg::Vgg11::new(&mut store, &mut rng, c_in, num_classes);
        }
        Architecture::ResNet18 => {
            resnet::ResNet18::new(&mut store, &mut rng, c_in, num_classes);
        }
        Architecture::Fnn { .. } => return None,
    }
    Some(store.values.len())
}

impl CnnEngine {
    fn batch_shape(&self, rows: usize) -> [usize; 4] {
        [rows, self.shape[0], self.shape[1], self.shape[2]]
    }

    /// Eval/frozen forward of `x` in chunks; returns host logits and features.
    fn infer(
        &self,
        x: &[f32],
        n: usize,
        bn: BnUse,
        chunk: usize,
        want_features: bool,
    ) -> (Vec<f32>, Vec<Vec<f32>>) {
        let dim: usize = self.shape.iter().product();
        let layers = self.net.feature_layers();
        let mut logits = Vec::with_capacity(n * self.num_classes);
        let mut feats: Vec<Vec<f32>> = layers
            .iter()
            .map(|(_, d)| Vec::with_capacity(if want_features { n * d } else { 0 }))
            .collect();
        for start in (0..n).step_by(chunk) {
            let rows = chunk.min(n - start);
            let mut f = Forward::new(&self.store, Device::flex(), false, bn);
            let input = f.input(
                &x[start * dim..(start + rows) * dim],
                self.batch_shape(rows),
            );
            let (out, captured) = self.net.forward(&mut f, input);
            logits.extend(host(out));
            if want_features {
                for (dst, t) in feats.iter_mut().zip(captured) {
                    dst.extend(host(t));
                }
            }
        }
        (logits, feats)
    }
}

impl Engine for CnnEngine {
    fn train_step(
        &mut self,
        x: &[f32],
        y: &[usize],
        lr: f64,
        weights: Option<&[f32]>,
    ) -> StepResult {
        let rows = y.len();
        let k = self.num_classes;
        let device = Device::flex().autodiff();
        let mut f = Forward::new(&self.store, device.clone(), true, BnUse::TrainUpdate);
        let input = f.input(x, self.batch_shape(rows));
        let (logits, _) = self.net.forward(&mut f, input);
        // Loss value, accuracy and the per-row loss weights w_{y_i}/Σw on the host (f64).
        let mut dlogits = host(logits.clone().detach());
        let (loss, correct) = softmax_cross_entropy(&mut dlogits, y, k, weights);
        let w_of = |c: usize| weights.map_or(1.0, |w| f64::from(w[c]));
        let total: f64 = y.iter().map(|&c| w_of(c)).sum();
        let mut target = vec![0.0f32; rows * k];
        for (i, &c) in y.iter().enumerate() {
            target[i * k + c] = if total > 0.0 {
                (w_of(c) / total) as f32
            } else {
                0.0
            };
        }
        let target = Tensor::<2>::from_data(TensorData::new(target, [rows, k]), &device);
        // L = −Σ_i (w_{y_i}/Σw) log softmax(z_i)_{y_i}, i.e. torch's weighted-mean cross-entropy.
        let objective = (log_softmax(logits, 1) * target).sum().neg();
        let grads = objective.backward();
        for (slot, leaf) in self.store.slots.iter().zip(&f.leaves) {
            let dst = &mut self.grads[slot.offset..slot.offset + slot.len];
            match leaf.grad(&grads) {
                Some(g) => dst.copy_from_slice(&host(g)),
                None => dst.fill(0.0),
            }
        }
        let updates = f.take_updates();
        drop(f);
        apply_updates(&mut self.store, updates);
        self.opt.update(&mut self.store.values, &self.grads, lr);
        StepResult { loss, correct }
    }

    fn features(&mut self, x: &[f32], n: usize, mode: BnMeasureMode) -> LayerFeatures {
        let (bn, chunk) = match mode {
            BnMeasureMode::Train { batch } => (BnUse::TrainFrozen, batch.max(1)),
            BnMeasureMode::Eval => (BnUse::Eval, EVAL_CHUNK),
        };
        let (_, data) = self.infer(x, n, bn, chunk, true);
        let layers = self.net.feature_layers();
        LayerFeatures {
            names: layers.iter().map(|(s, _)| s.clone()).collect(),
            dims: layers.iter().map(|&(_, d)| d).collect(),
            data,
        }
    }

    fn logits(&mut self, x: &[f32], n: usize) -> Vec<f32> {
        self.infer(x, n, BnUse::Eval, EVAL_CHUNK, false).0
    }

    fn classifier(&self) -> (Vec<f32>, Vec<f32>, usize) {
        let c = self.net.classifier();
        (
            self.store.slot(c.weight).to_vec(),
            self.store.slot(c.bias).to_vec(),
            c.fan_in,
        )
    }
}
