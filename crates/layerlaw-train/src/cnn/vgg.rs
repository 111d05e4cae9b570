//! VGG11 as in kuangliu/pytorch-cifar with the LPM code's head (`docs/definitions.md`,
//! "VGG11 and ResNet18"):
//! `cfg = [64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M]` of `Conv3×3(bias) → BN2d → ReLU`
//! and 2×2 max-pools, then `fc1 512→4096 → BN1d → ReLU`, `fc2 4096→4096 → BN1d → ReLU` and the
//! classifier `4096→K`. Needs 32×32 inputs (five pools reach 1×1).

use super::forward::Forward;
use super::params::{Bn, Conv, Linear, ParamStore};
use super::Net;
use burn::tensor::activation::relu;
use burn::tensor::Tensor;
use rand_chacha::ChaCha8Rng;

/// Channel plan; `0` marks a max-pool.
const CFG: [usize; 13] = [64, 0, 128, 0, 256, 256, 0, 512, 512, 0, 512, 512, 0];
/// Width of the fully connected head.
const FC: usize = 4096;

pub(crate) struct Vgg11 {
    /// `Some((conv, bn))` or `None` for a max-pool.
    features: Vec<Option<(Conv, Bn)>>,
    fc1: (Linear, Bn),
    fc2: (Linear, Bn),
    classifier: Linear,
}

impl Vgg11 {
    pub fn new(
        store: &mut ParamStore,
        rng: &mut ChaCha8Rng,
        c_in: usize,
        num_classes: usize,
    ) -> Self {
        let mut features = Vec::new();
        let mut c = c_in;
        for &v in &CFG {
            if v == 0 {
                features.push(None);
            } else {
                let conv = store.conv(rng, c, v, 3, 1, true);
                features.push(Some((conv, store.bn(v))));
                c = v;
            }
        }
        let fc1 = (store.linear(rng, 512, FC), store.bn(FC));
        let fc2 = (store.linear(rng, FC, FC), store.bn(FC));
        let classifier = store.linear(rng, FC, num_classes);
        Vgg11 {
            features,
            fc1,
            fc2,
            classifier,
        }
    }
}

impl Net for Vgg11 {
    fn feature_layers(&self) -> Vec<(String, usize)> {
        vec![
            ("conv_out".into(), 512),
            ("fc1".into(), FC),
            ("penultimate".into(), FC),
        ]
    }

    fn classifier(&self) -> Linear {
        self.classifier
    }

    fn forward(&self, f: &mut Forward, mut x: Tensor<4>) -> (Tensor<2>, Vec<Tensor<2>>) {
        for layer in &self.features {
            x = match layer {
                Some((conv, bn)) => f.conv_bn_relu(x, conv, bn),
                None => Forward::max_pool(x),
            };
        }
        let [b, c, h, w] = x.dims();
        let conv_out: Tensor<2> = x.reshape([b, c * h * w]);
        let h1 = f.linear(conv_out.clone(), &self.fc1.0);
        let h1 = relu(f.bn1d(h1, &self.fc1.1));
        let h2 = f.linear(h1.clone(), &self.fc2.0);
        let h2 = relu(f.bn1d(h2, &self.fc2.1));
        let logits = f.linear(h2.clone(), &self.classifier);
        (logits, vec![conv_out, h1, h2])
    }
}
