//! ResNet18 as in kuangliu/pytorch-cifar (`docs/definitions.md`, "VGG11 and
//! ResNet18"): a 3×3 stem `Conv(c_in→64) → BN → ReLU`,
//! four stages of two `BasicBlock`s (64, 128/2, 256/2, 512/2 channels/stride), a 4×4 average pool
//! and `Linear(512, K)`. `BasicBlock`: `relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))` with a
//! `Conv1×1 → BN` shortcut when the shape changes; convolutions have no bias.

use super::forward::Forward;
use super::params::{Bn, Conv, Linear, ParamStore};
use super::Net;
use burn::tensor::activation::relu;
use burn::tensor::Tensor;
use rand_chacha::ChaCha8Rng;

struct BasicBlock {
    conv1: (Conv, Bn),
    conv2: (Conv, Bn),
    shortcut: Option<(Conv, Bn)>,
}

pub(crate) struct ResNet18 {
    stem: (Conv, Bn),
    stages: Vec<Vec<BasicBlock>>,
    classifier: Linear,
}

/// `(channels, first stride)` of the four stages.
const STAGES: [(usize, usize); 4] = [(64, 1), (128, 2), (256, 2), (512, 2)];

impl ResNet18 {
    pub fn new(
        store: &mut ParamStore,
        rng: &mut ChaCha8Rng,
        c_in: usize,
        num_classes: usize,
    ) -> Self {
        let stem = (store.conv(rng, c_in, 64, 3, 1, false), store.bn(64));
        let mut c = 64;
        let mut stages = Vec::new();
        for &(planes, stride) in &STAGES {
            let mut blocks = Vec::new();
            for s in [stride, 1] {
                let conv1 = (store.conv(rng, c, planes, 3, s, false), store.bn(planes));
                let conv2 = (
                    store.conv(rng, planes, planes, 3, 1, false),
                    store.bn(planes),
                );
                let shortcut = (s != 1 || c != planes)
                    .then(|| (store.conv(rng, c, planes, 1, s, false), store.bn(planes)));
                blocks.push(BasicBlock {
                    conv1,
                    conv2,
                    shortcut,
                });
                c = planes;
            }
            stages.push(blocks);
        }
        let classifier = store.linear(rng, 512, num_classes);
        ResNet18 {
            stem,
            stages,
            classifier,
        }
    }
}

impl Net for ResNet18 {
    fn feature_layers(&self) -> Vec<(String, usize)> {
        vec![
            ("layer1_gap".into(), 64),
            ("layer2_gap".into(), 128),
            ("layer3_gap".into(), 256),
            ("penultimate".into(), 512),
        ]
    }

    fn classifier(&self) -> Linear {
        self.classifier
    }

    fn forward(&self, f: &mut Forward, x: Tensor<4>) -> (Tensor<2>, Vec<Tensor<2>>) {
        let mut x = f.conv_bn_relu(x, &self.stem.0, &self.stem.1);
        let mut captured = Vec::new();
        for (i, stage) in self.stages.iter().enumerate() {
            for block in stage {
                let out = f.conv_bn_relu(x.clone(), &block.conv1.0, &block.conv1.1);
                let out = f.conv(out, &block.conv2.0);
                let out = f.bn2d(out, &block.conv2.1);
                let short = match &block.shortcut {
                    Some((conv, bn)) => {
                        let s = f.conv(x, conv);
                        f.bn2d(s, bn)
                    }
                    None => x,
                };
                x = relu(out + short);
            }
            if i < 3 {
                // Global average pool of the stage output (a compact summary, not used by the net).
                let [b, c, _, _] = x.dims();
                captured.push(x.clone().detach().mean_dims(&[2, 3]).reshape([b, c]));
            }
        }
        let pooled = Forward::avg_pool(x, 4);
        let [b, c, _, _] = pooled.dims();
        let penultimate: Tensor<2> = pooled.reshape([b, c]);
        let logits = f.linear(penultimate.clone(), &self.classifier);
        captured.push(penultimate);
        (logits, captured)
    }
}
