//! VGG11 and ResNet18 (`docs/definitions.md`, "VGG11 and ResNet18"): parameter counts against
//! PyTorch, and tiny training runs.
//!
//! Parameter counts from this script (torch 2.15.0, Python 3.11), output pasted below it:
//!
//! ```python
//! # Parameter counts of the LPM-code CNNs (kuangliu/pytorch-cifar style), torch 2.15.0.
//! import torch, torch.nn as nn, torch.nn.functional as F
//! class VGG11(nn.Module):
//!     def __init__(s, c, K):
//!         super().__init__(); L=[]; i=c
//!         for v in [64,'M',128,'M',256,256,'M',512,512,'M',512,512,'M']:
//!             if v=='M': L.append(nn.MaxPool2d(2,2))
//!             else: L += [nn.Conv2d(i,v,3,padding=1), nn.BatchNorm2d(v), nn.ReLU()]; i=v
//!         s.features=nn.Sequential(*L)
//!         s.fc1=nn.Linear(512,4096); s.bn1=nn.BatchNorm1d(4096); s.fc2=nn.Linear(4096,4096); s.bn2=nn.BatchNorm1d(4096); s.fc=nn.Linear(4096,K)
//! class BB(nn.Module):
//!     def __init__(s,i,p,st):
//!         super().__init__(); s.c1=nn.Conv2d(i,p,3,st,1,bias=False); s.b1=nn.BatchNorm2d(p); s.c2=nn.Conv2d(p,p,3,1,1,bias=False); s.b2=nn.BatchNorm2d(p)
//!         s.sh=nn.Sequential(nn.Conv2d(i,p,1,st,bias=False),nn.BatchNorm2d(p)) if st!=1 or i!=p else nn.Sequential()
//! class R18(nn.Module):
//!     def __init__(s,c,K):
//!         super().__init__(); s.c1=nn.Conv2d(c,64,3,1,1,bias=False); s.b1=nn.BatchNorm2d(64); L=[]; i=64
//!         for p,st in [(64,1),(128,2),(256,2),(512,2)]:
//!             for t in [st,1]: L.append(BB(i,p,t)); i=p
//!         s.layers=nn.Sequential(*L); s.fc=nn.Linear(512,K)
//! for c in (1,3):
//!     for name,M in (("vgg11",VGG11),("resnet18",R18)):
//!         print(name, c, sum(p.numel() for p in M(c,10).parameters()))
//! ```
//! Output: `vgg11 1 28164746`, `resnet18 1 11172810`, `vgg11 3 28165898`, `resnet18 3 11173962`.

use layerlaw_train::{
    cnn_parameter_count, train, Architecture, BnMeasureMode, Dataset, NoObserver, TrainConfig,
};

#[test]
fn parameter_counts_match_torch() {
    assert_eq!(
        cnn_parameter_count(Architecture::Vgg11, 1, 10),
        Some(28_164_746)
    );
    assert_eq!(
        cnn_parameter_count(Architecture::ResNet18, 1, 10),
        Some(11_172_810)
    );
    assert_eq!(
        cnn_parameter_count(Architecture::Vgg11, 3, 10),
        Some(28_165_898)
    );
    assert_eq!(
        cnn_parameter_count(Architecture::ResNet18, 3, 10),
        Some(11_173_962)
    );
}

/// `n` one-channel 32×32 images of 2 classes: class 0 bright on the left half, class 1 on the right.
fn images(n: usize) -> Dataset {
    let mut x = Vec::with_capacity(n * 1024);
    let y: Vec<usize> = (0..n).map(|i| i % 2).collect();
    for (i, &c) in y.iter().enumerate() {
        for r in 0..32 {
            for col in 0..32 {
                let bright = (col < 16) == (c == 0);
                let noise = ((i * 1024 + r * 32 + col) as f64 * 0.618).fract() as f32 - 0.5;
                x.push(if bright { 1.0 } else { -1.0 } + 0.3 * noise);
            }
        }
    }
    Dataset {
        x,
        y,
        n,
        shape: [1, 32, 32],
        num_classes: 2,
    }
}

fn tiny(architecture: Architecture) -> TrainConfig {
    TrainConfig {
        lr: 0.01,
        epochs: 2,
        batch_size: 4,
        bn_measure: BnMeasureMode::Eval,
        threads: Some(1),
        ..TrainConfig::cnn_default(architecture)
    }
}

fn run(architecture: Architecture, names: &[&str], dims: &[usize]) {
    // One full batch of 4 images per epoch: the second epoch's loss (after one step) must be lower.
    let data = images(4);
    let cfg = tiny(architecture);
    let out = train(&cfg, &data, None, &mut NoObserver).expect("trains");
    assert_eq!(out.history.len(), 2);
    assert!(out
        .history
        .iter()
        .all(|h| h.loss.is_finite() && h.steps == 1));
    assert!(
        out.history[1].loss < out.history[0].loss,
        "{architecture:?}: loss {} -> {}",
        out.history[0].loss,
        out.history[1].loss
    );
    assert_eq!(out.features.names, names);
    assert_eq!(out.features.dims, dims);
    for (layer, d) in out.features.data.iter().zip(dims) {
        assert_eq!(layer.len(), 4 * d);
        assert!(layer.iter().all(|v| v.is_finite()));
    }
    let p = *dims.last().expect("penultimate");
    assert_eq!(out.penultimate_dim, p);
    assert_eq!(out.classifier_weight.len(), 2 * p);
    assert_eq!(out.classifier_bias.len(), 2);
    // Same seed, same threads: bit-identical.
    let again = train(&cfg, &data, None, &mut NoObserver).expect("trains again");
    assert_eq!(again.features, out.features);
    assert_eq!(again.classifier_weight, out.classifier_weight);
}

#[test]
fn vgg11_trains_and_exposes_features() {
    run(
        Architecture::Vgg11,
        &["conv_out", "fc1", "penultimate"],
        &[512, 4096, 4096],
    );
}

#[test]
fn resnet18_trains_and_exposes_features() {
    run(
        Architecture::ResNet18,
        &["layer1_gap", "layer2_gap", "layer3_gap", "penultimate"],
        &[64, 128, 256, 512],
    );
}
