//! A burn forward pass over host parameters: every parameter becomes a flat leaf tensor (tracked by
//! autodiff when training), layers reshape it as needed, so gradients come back flat.

use super::params::{Bn, Conv, Linear, ParamStore};
use crate::ops::batchnorm::{update_running, BnUse, BN_EPS};
use burn::tensor::activation::relu;
use burn::tensor::module::{avg_pool2d, conv2d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};

/// Batch statistics recorded for a running-statistics update: `(bn index, mean, biased var, count)`.
pub(crate) type StatUpdate = (usize, Tensor<1>, Tensor<1>, usize);

/// One forward pass.
pub(crate) struct Forward<'a> {
    pub device: Device,
    pub store: &'a ParamStore,
    pub leaves: Vec<Tensor<1>>,
    pub bn: BnUse,
    pub updates: Vec<StatUpdate>,
}

/// Copies a float tensor to the host.
pub(crate) fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    let data = t.into_data();
    match data.as_slice::<f32>() {
        Ok(s) => s.to_vec(),
        Err(_) => data.iter::<f32>().collect(),
    }
}

impl<'a> Forward<'a> {
    /// Builds leaves from `store`; with `track` they require gradients (device must be autodiff).
    pub fn new(store: &'a ParamStore, device: Device, track: bool, bn: BnUse) -> Self {
        let leaves = (0..store.slots.len())
            .map(|i| {
                let v = store.slot(i);
                let t = Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), &device);
                if track {
                    t.require_grad()
                } else {
                    t
                }
            })
            .collect();
        Forward {
            device,
            store,
            leaves,
            bn,
            updates: Vec::new(),
        }
    }

    /// An input batch `[b, c, h, w]` from host data.
    pub fn input(&self, x: &[f32], shape: [usize; 4]) -> Tensor<4> {
        Tensor::<4>::from_data(TensorData::new(x.to_vec(), shape), &self.device)
    }

    fn leaf(&self, i: usize) -> Tensor<1> {
        self.leaves[i].clone()
    }

    /// `Conv2d` (3×3 padding 1 or 1×1 padding 0, given stride).
    pub fn conv(&self, x: Tensor<4>, c: &Conv) -> Tensor<4> {
        let w = self
            .leaf(c.weight)
            .reshape([c.c_out, c.c_in, c.kernel, c.kernel]);
        let b = c.bias.map(|i| self.leaf(i));
        let opts = ConvOptions::new([c.stride, c.stride], [c.padding, c.padding], [1, 1], 1);
        conv2d(x, w, b, opts)
    }

    /// Batch norm over all dims but 1 of a `[b, c, h, w]` tensor (BatchNorm2d).
    pub fn bn2d(&mut self, x: Tensor<4>, bn: &Bn) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let gamma = self.leaf(bn.gamma).reshape([1, c, 1, 1]);
        let beta = self.leaf(bn.beta).reshape([1, c, 1, 1]);
        let (mean, var) = match self.bn {
            BnUse::Eval => self.running(bn),
            train => {
                let mean = x.clone().mean_dims(&[0, 2, 3]);
                let var = (x.clone() - mean.clone()).square().mean_dims(&[0, 2, 3]);
                let (mean, var) = (mean.reshape([c]), var.reshape([c]));
                if train == BnUse::TrainUpdate {
                    self.updates.push((
                        bn.stats,
                        mean.clone().detach(),
                        var.clone().detach(),
                        b * h * w,
                    ));
                }
                (mean, var)
            }
        };
        let inv_std = var.add_scalar(BN_EPS).sqrt().recip().reshape([1, c, 1, 1]);
        (x - mean.reshape([1, c, 1, 1])) * inv_std * gamma + beta
    }

    /// Batch norm of a `[b, f]` tensor (BatchNorm1d).
    pub fn bn1d(&mut self, x: Tensor<2>, bn: &Bn) -> Tensor<2> {
        let [b, f] = x.dims();
        let gamma = self.leaf(bn.gamma).reshape([1, f]);
        let beta = self.leaf(bn.beta).reshape([1, f]);
        let (mean, var) = match self.bn {
            BnUse::Eval => self.running(bn),
            train => {
                let (var, mean) = x.clone().var_mean_bias(0);
                let (mean, var) = (mean.reshape([f]), var.reshape([f]));
                if train == BnUse::TrainUpdate {
                    self.updates
                        .push((bn.stats, mean.clone().detach(), var.clone().detach(), b));
                }
                (mean, var)
            }
        };
        let inv_std = var.add_scalar(BN_EPS).sqrt().recip().reshape([1, f]);
        (x - mean.reshape([1, f])) * inv_std * gamma + beta
    }

    fn running(&self, bn: &Bn) -> (Tensor<1>, Tensor<1>) {
        let (m, v) = &self.store.running[bn.stats];
        let t = |d: &Vec<f32>| {
            Tensor::<1>::from_data(TensorData::new(d.clone(), [bn.channels]), &self.device)
        };
        (t(m), t(v))
    }

    /// `Conv → BN2d → ReLU`.
    pub fn conv_bn_relu(&mut self, x: Tensor<4>, c: &Conv, bn: &Bn) -> Tensor<4> {
        let y = self.conv(x, c);
        relu(self.bn2d(y, bn))
    }

    /// `x Wᵀ + b`.
    pub fn linear(&self, x: Tensor<2>, l: &Linear) -> Tensor<2> {
        let w = self.leaf(l.weight).reshape([l.fan_out, l.fan_in]);
        let b = self.leaf(l.bias).reshape([1, l.fan_out]);
        x.matmul(w.transpose()) + b
    }

    /// 2×2 max pool, stride 2.
    pub fn max_pool(x: Tensor<4>) -> Tensor<4> {
        max_pool2d(x, MaxPoolOptions::new([2, 2]).with_stride([2, 2]))
    }

    /// `k×k` average pool, stride `k`.
    pub fn avg_pool(x: Tensor<4>, k: usize) -> Tensor<4> {
        avg_pool2d(x, AvgPoolOptions::new([k, k]).with_stride([k, k]))
    }

    /// The recorded running-statistics updates, to apply with [`apply_updates`] once the pass
    /// is over.
    pub fn take_updates(&mut self) -> Vec<StatUpdate> {
        std::mem::take(&mut self.updates)
    }
}

/// Applies running-statistics updates (see [`Forward::take_updates`]) with
/// [`update_running`] (momentum 0.1, unbiased variance).
pub(crate) fn apply_updates(store: &mut ParamStore, updates: Vec<StatUpdate>) {
    for (idx, mean, var, count) in updates {
        let (mean, var) = (host(mean), host(var));
        let (rm, rv) = &mut store.running[idx];
        update_running(rm, rv, &mean, &var, count);
    }
}
