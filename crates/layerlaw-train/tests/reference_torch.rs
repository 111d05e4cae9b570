//! Exact agreement with PyTorch: a tiny GFNN (input 6, width 5, depth 3, K = 3, 10 samples,
//! batches of 4, 4, 2 in order) with fixed initial parameters, three optimiser steps.
//! Parameters, running statistics and losses after the steps must equal PyTorch's to 1e-5.
//!
//! Expected values generated with torch 2.15.0 (CPU, float32), numpy 2.4.6, Python 3.11 by the
//! script below (its output is pasted as the constants at the end of this file):
//!
//! ```python
//! # Reference for tests/reference_torch.rs: tiny GFNN, 3 optimiser steps, torch CPU float32.
//! import math, torch, numpy as np
//! torch.set_num_threads(1)
//! IN, H, K, N, B = 6, 5, 3, 10, 4
//! def val(i, layer, salt):  # deterministic initial values, mirrored in the Rust test
//!     return 0.4 * math.sin(0.37 * i + 1.1 * layer + salt)
//! X = torch.tensor([[math.cos(0.5 * r + 0.3 * c) + 0.1 * c for c in range(IN)] for r in range(N)], dtype=torch.float32)
//! Y = torch.tensor([r % K for r in range(N)])
//! def build():
//!     layers = [torch.nn.Linear(IN, H), torch.nn.BatchNorm1d(H), torch.nn.ReLU(),
//!               torch.nn.Linear(H, H), torch.nn.BatchNorm1d(H), torch.nn.ReLU(), torch.nn.Linear(H, K)]
//!     m = torch.nn.Sequential(*layers)
//!     with torch.no_grad():
//!         for li, p in enumerate(m.parameters()):
//!             flat = torch.tensor([val(i, li, 0.2) for i in range(p.numel())], dtype=torch.float32)
//!             if li in (2, 6):   # BN weights: around 1
//!                 flat = flat + 1.0
//!             p.copy_(flat.reshape(p.shape))
//!     return m
//! cases = [("sgd", lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=5e-4), None),
//!          ("momentum", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=5e-4), None),
//!          ("adam", lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=5e-4), None),
//!          ("momentum_weighted", lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=5e-4), [1.0, 3.0, 0.5])]
//! for name, mk, w in cases:
//!     m = build(); m.train(); opt = mk(m.parameters())
//!     lossf = torch.nn.CrossEntropyLoss(weight=None if w is None else torch.tensor(w))
//!     losses = []
//!     for s in range(3):
//!         xb, yb = X[s * B:(s + 1) * B], Y[s * B:(s + 1) * B]
//!         opt.zero_grad(); loss = lossf(m(xb), yb); loss.backward(); opt.step(); losses.append(loss.item())
//!     params = np.concatenate([p.detach().numpy().ravel() for p in m.parameters()])
//!     stats = np.concatenate([m[1].running_mean.numpy(), m[1].running_var.numpy(), m[4].running_mean.numpy(), m[4].running_var.numpy()])
//!     print(f"// {name}")
//!     print(f"const {name.upper()}_LOSSES: [f32; 3] = [" + ", ".join(f"{v:.8e}" for v in losses) + "];")
//!     print(f"const {name.upper()}_PARAMS: [f32; {params.size}] = [" + ", ".join(f"{v:.8e}" for v in params) + "];")
//!     print(f"const {name.upper()}_RUNNING: [f32; {stats.size}] = [" + ", ".join(f"{v:.8e}" for v in stats) + "];")
//! ```

// The constants are torch's float32 values printed with 9 significant digits.
#![allow(clippy::excessive_precision)]

use layerlaw_train::{FnnModel, FnnSpec, Optimizer, OptimizerKind};

const IN: usize = 6;
const H: usize = 5;
const K: usize = 3;
const N: usize = 10;
const B: usize = 4;

fn val(i: usize, layer: usize, salt: f64) -> f32 {
    (0.4 * (0.37 * i as f64 + 1.1 * layer as f64 + salt).sin()) as f32
}

fn data() -> (Vec<f32>, Vec<usize>) {
    let mut x = Vec::new();
    for r in 0..N {
        for c in 0..IN {
            x.push(((0.5 * r as f64 + 0.3 * c as f64).cos() + 0.1 * c as f64) as f32);
        }
    }
    (x, (0..N).map(|r| r % K).collect())
}

fn initial_model() -> FnnModel {
    let spec = FnnSpec {
        input_dim: IN,
        width: H,
        depth: 3,
        num_classes: K,
        batchnorm: true,
        relu: true,
    };
    let tensors: Vec<Vec<f32>> = spec
        .parameter_sizes()
        .iter()
        .enumerate()
        .map(|(li, &size)| {
            let shift = if li == 2 || li == 6 { 1.0 } else { 0.0 };
            (0..size).map(|i| val(i, li, 0.2) + shift).collect()
        })
        .collect();
    FnnModel::from_parameters(spec, &tensors).expect("valid parameters")
}

fn check(
    kind: OptimizerKind,
    lr: f64,
    weights: Option<&[f32]>,
    losses: &[f32],
    params: &[f32],
    running: &[f32],
) {
    let (x, y) = data();
    let mut model = initial_model();
    let mut opt = Optimizer::new(kind, 0.9, 5e-4, model.parameter_count());
    for (s, &expected) in losses.iter().enumerate() {
        let rows = s * B..((s + 1) * B).min(N);
        let xb = &x[rows.start * IN..rows.end * IN];
        let r = model
            .train_step(&mut opt, xb, &y[rows], lr, weights)
            .expect("valid step");
        assert!(
            (r.loss as f32 - expected).abs() < 1e-5,
            "{kind:?} step {s}: loss {} vs torch {}",
            r.loss,
            expected
        );
    }
    let ours: Vec<f32> = model.parameters().concat();
    assert_eq!(ours.len(), params.len());
    for (i, (a, b)) in ours.iter().zip(params).enumerate() {
        assert!(
            (a - b).abs() < 1e-5,
            "{kind:?} parameter {i}: ours {a} vs torch {b}"
        );
    }
    let stats: Vec<f32> = model
        .running_statistics()
        .iter()
        .flat_map(|(m, v)| m.iter().chain(v).copied())
        .collect();
    for (i, (a, b)) in stats.iter().zip(running).enumerate() {
        assert!(
            (a - b).abs() < 1e-5,
            "{kind:?} running stat {i}: ours {a} vs torch {b}"
        );
    }
}

#[test]
fn sgd_matches_torch() {
    check(
        OptimizerKind::Sgd,
        0.1,
        None,
        &SGD_LOSSES,
        &SGD_PARAMS,
        &SGD_RUNNING,
    );
}

#[test]
fn momentum_matches_torch() {
    check(
        OptimizerKind::Momentum,
        0.1,
        None,
        &MOMENTUM_LOSSES,
        &MOMENTUM_PARAMS,
        &MOMENTUM_RUNNING,
    );
}

#[test]
fn adam_matches_torch() {
    check(
        OptimizerKind::Adam,
        0.01,
        None,
        &ADAM_LOSSES,
        &ADAM_PARAMS,
        &ADAM_RUNNING,
    );
}

#[test]
fn class_weighted_momentum_matches_torch() {
    let w = [1.0, 3.0, 0.5];
    check(
        OptimizerKind::Momentum,
        0.1,
        Some(&w),
        &MOMENTUM_WEIGHTED_LOSSES,
        &MOMENTUM_WEIGHTED_PARAMS,
        &MOMENTUM_WEIGHTED_RUNNING,
    );
}

// Output of the script above.
// sgd
#[rustfmt::skip]
const SGD_LOSSES: [f32; 3] = [
    1.64506364e+00, 1.70851684e+00, 1.10935700e+00,
];
#[rustfmt::skip]
const SGD_PARAMS: [f32; 103] = [
    6.99588507e-02, 2.08871767e-01, 3.19195062e-01, 3.86142880e-01, 4.00815517e-01, 3.61389548e-01,
    2.62062401e-01, 1.35250539e-01, -9.98128299e-03, -1.53982729e-01, -2.77259260e-01, -3.63111019e-01,
    -4.12983447e-01, -3.84355932e-01, -3.03799570e-01, -1.81652501e-01, -3.39243487e-02, 1.19824208e-01,
    2.20443383e-01, 3.26100171e-01, 3.87691051e-01, 3.96836460e-01, 3.52252871e-01, 2.59930283e-01,
    1.36272952e-01, -9.14858747e-03, -1.53288752e-01, -2.76650101e-01, -3.62550288e-01, -3.99378955e-01,
    3.85365427e-01, 3.97973657e-01, 3.56717944e-01, 2.67182171e-01, 1.41484499e-01, 1.30048406e+00,
    1.12662244e+00, 9.76211607e-01, 8.54065597e-01, 7.33549118e-01, -8.58682692e-02, -3.03966373e-01,
    -3.88586164e-01, -3.89601469e-01, -3.71603042e-01, -3.97681713e-01, -4.00905579e-01, -3.09274495e-01,
    -2.12311640e-01, -9.15137604e-02, 8.87697563e-02, 1.84138730e-01, 3.20490092e-01, 3.94444972e-01,
    3.90299648e-01, 3.84854853e-01, 2.59312004e-01, 1.05115682e-01, 1.48284649e-02, -1.54840529e-01,
    -2.77789593e-01, -3.42444628e-01, -3.98736686e-01, -3.85453850e-01, -3.26347113e-01, -3.00877512e-01,
    -3.72892283e-02, 1.89221092e-02, 1.68309391e-01, 3.03395122e-01, -2.20241174e-01, -8.46169814e-02,
    6.24597445e-02, 2.01082811e-01, 3.12490284e-01, 1.18755090e+00, 1.28526807e+00, 1.34068120e+00,
    1.36862755e+00, 1.34732604e+00, 3.83966535e-01, 3.40551406e-01, 2.47192740e-01, 1.28034636e-01,
    1.36361001e-02, 1.28619075e-01, 3.47230881e-02, -2.41928753e-02, -1.95166379e-01, -3.24225634e-01,
    -3.67025197e-01, -3.31054002e-01, -2.88017750e-01, -2.09385261e-01, -8.72743502e-02, 6.08038716e-02,
    1.21331543e-01, 1.63499445e-01, 3.02256078e-01, 3.69465172e-01, -2.03812286e-01, -3.06140572e-01,
    -4.81110215e-01,
];
#[rustfmt::skip]
const SGD_RUNNING: [f32; 20] = [
    2.04122111e-01, 4.67204303e-03, 1.37313038e-01, 1.41477317e-01, -7.67777935e-02, 8.48953366e-01,
    7.50898421e-01, 7.84114301e-01, 8.65811884e-01, 7.87258387e-01, -1.99776262e-01, 7.29644448e-02,
    1.02920488e-01, -8.93152058e-02, 6.50729015e-02, 7.49457717e-01, 7.39425123e-01, 7.45234966e-01,
    7.48542368e-01, 7.43188918e-01,
];
// momentum
#[rustfmt::skip]
const MOMENTUM_LOSSES: [f32; 3] = [
    1.64506364e+00, 1.70851684e+00, 1.12278461e+00,
];
#[rustfmt::skip]
const MOMENTUM_PARAMS: [f32; 103] = [
    6.20977245e-02, 2.03099981e-01, 3.16029489e-01, 3.85868222e-01, 4.03458685e-01, 3.66716772e-01,
    2.48337522e-01, 1.20907269e-01, -2.36608759e-02, -1.65776715e-01, -2.86115050e-01, -3.68239194e-01,
    -4.26214129e-01, -3.86192799e-01, -2.94080824e-01, -1.61248222e-01, -4.65835677e-03, 1.55337274e-01,
    2.24241242e-01, 3.28559518e-01, 3.88594121e-01, 3.96104962e-01, 3.49954456e-01, 2.56272435e-01,
    1.40470594e-01, -5.52509259e-03, -1.50563151e-01, -2.75066793e-01, -3.62252325e-01, -4.00395155e-01,
    3.85315150e-01, 3.97921771e-01, 3.56671393e-01, 2.67147273e-01, 1.41466036e-01, 1.36100101e+00,
    1.08285642e+00, 9.35975909e-01, 8.53560567e-01, 7.33011723e-01, 1.33878214e-03, -3.70081991e-01,
    -4.40988779e-01, -3.71608853e-01, -3.55370224e-01, -4.11166489e-01, -3.99583906e-01, -2.95172721e-01,
    -2.10946217e-01, -9.98610109e-02, 1.06103845e-01, 1.67224571e-01, 3.26027334e-01, 4.03705329e-01,
    3.82956982e-01, 4.28051144e-01, 2.28158891e-01, 3.09973378e-02, 3.11337039e-02, -1.84115455e-01,
    -3.22228432e-01, -3.02060872e-01, -3.95314246e-01, -3.93469006e-01, -3.25046867e-01, -4.49877441e-01,
    2.50763688e-02, -6.21270686e-02, 1.01392068e-01, 2.78181165e-01, -2.20212415e-01, -8.46059620e-02,
    6.24515936e-02, 2.01056585e-01, 3.12449425e-01, 1.16901183e+00, 1.25437307e+00, 1.30760634e+00,
    1.35599351e+00, 1.30032229e+00, 3.61605883e-01, 3.09183896e-01, 2.14665100e-01, 1.15480863e-01,
    -8.31110310e-03, 9.57655534e-02, 1.19312383e-01, 4.97240834e-02, -2.19787627e-01, -2.47053802e-01,
    -3.06785166e-01, -2.75388986e-01, -2.44635880e-01, -1.54577896e-01, -7.84575716e-02, 3.34405154e-02,
    -1.88999232e-02, 4.62200642e-02, 2.72083312e-01, 2.83482075e-01, -1.66260898e-01, -2.47920156e-01,
    -5.76752663e-01,
];
#[rustfmt::skip]
const MOMENTUM_RUNNING: [f32; 20] = [
    2.03991979e-01, 2.77531892e-03, 1.37817934e-01, 1.41012207e-01, -7.68682286e-02, 8.48989844e-01,
    7.51166642e-01, 7.84035742e-01, 8.65864038e-01, 7.87082493e-01, -1.99978679e-01, 7.23396018e-02,
    1.02938965e-01, -8.93339068e-02, 5.80636002e-02, 7.50210583e-01, 7.39145339e-01, 7.49133706e-01,
    7.47913420e-01, 7.49372184e-01,
];
// adam
#[rustfmt::skip]
const ADAM_LOSSES: [f32; 3] = [
    1.64506364e+00, 1.74422836e+00, 1.09903216e+00,
];
#[rustfmt::skip]
const ADAM_PARAMS: [f32; 103] = [
    9.21528712e-02, 2.28290811e-01, 3.34864229e-01, 3.83877903e-01, 3.83691639e-01, 3.41672659e-01,
    2.54026800e-01, 1.27400190e-01, -1.78790726e-02, -1.62207827e-01, -2.86173999e-01, -3.73513550e-01,
    -4.23123270e-01, -4.06844288e-01, -2.90008426e-01, -1.79181710e-01, -4.08492871e-02, 1.06276080e-01,
    2.40485042e-01, 3.46831501e-01, 4.08837080e-01, 3.73935133e-01, 3.30965996e-01, 2.39606857e-01,
    1.39014915e-01, -6.31579198e-03, -1.50306121e-01, -2.73544580e-01, -3.60365242e-01, -4.03631955e-01,
    3.55453491e-01, 3.68061841e-01, 3.26804310e-01, 2.37268150e-01, 1.11607492e-01, 1.29042459e+00,
    1.12490523e+00, 9.75337982e-01, 8.38914514e-01, 7.56774127e-01, -1.19259015e-01, -2.91701883e-01,
    -3.81438375e-01, -3.73365641e-01, -3.58312994e-01, -4.04838175e-01, -3.83729160e-01, -2.99792409e-01,
    -2.17936784e-01, -8.25868547e-02, 6.40192777e-02, 2.06635162e-01, 3.22018147e-01, 3.81426394e-01,
    3.98253947e-01, 3.80461127e-01, 2.59640008e-01, 1.26681030e-01, 2.46476661e-02, -1.57523707e-01,
    -2.92607039e-01, -3.27795893e-01, -4.24469292e-01, -4.12626803e-01, -3.19909334e-01, -2.37099305e-01,
    -5.06419241e-02, 4.30519469e-02, 1.84328064e-01, 3.01085949e-01, -1.90332502e-01, -5.48422337e-02,
    3.28053012e-02, 1.71177760e-01, 2.82576650e-01, 1.17902660e+00, 1.28584754e+00, 1.35117114e+00,
    1.37080085e+00, 1.34230959e+00, 3.72665435e-01, 3.41759473e-01, 2.52856284e-01, 1.33885190e-01,
    -3.88399861e-03, 1.49278760e-01, 3.70960869e-02, -1.02208026e-01, -2.57080555e-01, -3.27956378e-01,
    -3.74340922e-01, -3.88195455e-01, -3.30528468e-01, -2.11011901e-01, -9.54869241e-02, 3.39513682e-02,
    1.68046087e-01, 2.76658505e-01, 3.50224108e-01, 3.77122462e-01, -2.24773049e-01, -3.21048588e-01,
    -4.24395084e-01,
];
#[rustfmt::skip]
const ADAM_RUNNING: [f32; 20] = [
    1.94862455e-01, -1.81280077e-03, 1.31044969e-01, 1.32332146e-01, -8.15323964e-02, 8.49671066e-01,
    7.51373887e-01, 7.85207748e-01, 8.65451217e-01, 7.86694586e-01, -1.95879355e-01, 7.64552504e-02,
    1.00187108e-01, -9.44011360e-02, 7.26903230e-02, 7.48446584e-01, 7.41392672e-01, 7.41820991e-01,
    7.48044550e-01, 7.36551642e-01,
];
// momentum_weighted
#[rustfmt::skip]
const MOMENTUM_WEIGHTED_LOSSES: [f32; 3] = [
    1.97498584e+00, 2.14126444e+00, 1.28721452e+00,
];
#[rustfmt::skip]
const MOMENTUM_WEIGHTED_PARAMS: [f32; 103] = [
    8.95764381e-02, 2.23207787e-01, 3.26970220e-01, 3.86664659e-01, 3.94039512e-01, 3.47923547e-01,
    2.05357611e-01, 7.65245482e-02, -6.54818267e-02, -2.01300159e-01, -3.12167823e-01, -3.82494003e-01,
    -4.09285992e-01, -3.83760601e-01, -3.06361824e-01, -1.87145412e-01, -4.18583974e-02, 1.10157333e-01,
    2.26196438e-01, 3.29837531e-01, 3.89080793e-01, 3.95756811e-01, 3.48802596e-01, 2.54419684e-01,
    1.17181130e-01, -2.55502239e-02, -1.65535167e-01, -2.83648252e-01, -3.63676786e-01, -3.94535273e-01,
    3.85315150e-01, 3.97921681e-01, 3.56671363e-01, 2.67147273e-01, 1.41466022e-01, 1.36636031e+00,
    1.05329418e+00, 9.14565146e-01, 9.10743535e-01, 6.80372536e-01, -9.38397087e-03, -3.97201329e-01,
    -4.94336635e-01, -3.05186778e-01, -4.28067446e-01, -4.63094443e-01, -3.50298166e-01, -2.88207680e-01,
    -2.22864375e-01, -9.48486626e-02, 1.48641646e-01, 1.26355976e-01, 3.36534649e-01, 4.26517785e-01,
    3.66921633e-01, 4.04952317e-01, 2.53487051e-01, 5.69756515e-02, 2.17567142e-02, -1.66883990e-01,
    -3.71406078e-01, -2.74415016e-01, -3.72850031e-01, -4.07565743e-01, -3.22703153e-01, -3.55730742e-01,
    -6.37838021e-02, 2.03359537e-02, 1.39715269e-01, 2.79569685e-01, -2.20212430e-01, -8.46058726e-02,
    6.24516048e-02, 2.01056585e-01, 3.12449455e-01, 1.12236965e+00, 1.23439205e+00, 1.28975129e+00,
    1.31093192e+00, 1.31125450e+00, 3.16241235e-01, 2.87896723e-01, 2.09984541e-01, 6.80246502e-02,
    -1.69982873e-02, 6.86447471e-02, 6.41064048e-02, 1.27415638e-02, -2.45642141e-01, -2.80405492e-01,
    -1.45632878e-01, -1.92481354e-01, -1.81131348e-01, -1.31250164e-02, -5.34724593e-02, -1.00590952e-01,
    -4.66015339e-02, 1.96980685e-02, 1.56484976e-01, 2.91848719e-01, -2.06136376e-01, -1.19030751e-01,
    -6.65766537e-01,
];
#[rustfmt::skip]
const MOMENTUM_WEIGHTED_RUNNING: [f32; 20] = [
    2.01198429e-01, 1.64359808e-03, 1.31589428e-01, 1.40628919e-01, -7.55930692e-02, 8.49647880e-01,
    7.52595663e-01, 7.84999609e-01, 8.65862727e-01, 7.87752748e-01, -2.00071633e-01, 7.22547397e-02,
    1.03006274e-01, -8.72852355e-02, 6.45248145e-02, 7.53988445e-01, 7.38072395e-01, 7.46366501e-01,
    7.48106480e-01, 7.41032302e-01,
];
