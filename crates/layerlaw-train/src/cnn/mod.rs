//! Convolutional networks (VGG11, ResNet18) on burn with autodiff: the `Flex` CPU backend, or with
//! the `gpu` feature burn's wgpu runtime on Vulkan ([`crate::Device`]).
//!
//! Parameters, BN running statistics and the optimiser state stay on the host (`ParamStore`,
//! [`crate::Optimizer`]); each step uploads the parameters as flat leaf tensors, runs forward and
//! backward with burn, and downloads the flat gradients. This keeps PyTorch's optimiser and BN
//! running-statistics semantics exact and keeps every burn type private to this module.
//!
//! Measured features (training points, dataset order): VGG11 `conv_out` (512, the flattened conv
//! stack output), `fc1` (4096), `penultimate` (fc2 after BN+ReLU, 4096); ResNet18 `layer1_gap`,
//! `layer2_gap`, `layer3_gap` (global average of each stage's output: 64, 128, 256) and `penultimate`
//! (512, after the 4×4 average pool). The classifier input is always the last layer.

mod device;
pub(crate) mod engine;
mod forward;
mod model;
mod params;
mod resnet;
mod vgg;

use crate::config::Architecture;
use burn::tensor::Tensor;
use forward::Forward;
use params::{Linear, ParamStore};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use device::gpu_adapter;
pub use model::CnnModel;

/// A network description: its forward pass over a [`Forward`] context.
pub(crate) trait Net: Send {
    /// Names and dimensions of the captured feature layers (the last is the classifier input).
    fn feature_layers(&self) -> Vec<(String, usize)>;
    /// The classifier layer.
    fn classifier(&self) -> Linear;
    /// Logits `[b, K]` and the captured features (one `[b, dim]` tensor per feature layer).
    fn forward(&self, f: &mut Forward, x: Tensor<4>) -> (Tensor<2>, Vec<Tensor<2>>);
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
