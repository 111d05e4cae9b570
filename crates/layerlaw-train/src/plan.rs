//! Epoch plans: which training rows go into which mini-batch.
//!
//! Mirrors PyTorch's `DataLoader(shuffle=True, drop_last=False)` and the LPM code's oversampling
//! (`utils.get_weighted_minibatches_idx`; `docs/definitions.md`,
//! "Oversampling and weighted minibatches"): every row `i` appears `repeats[i]` times per
//! epoch (the extra copies appended after `0..n`), the list is shuffled, then cut into batches of
//! `batch_size` with the last partial batch kept. PyTorch's RNG cannot be reproduced, so the shuffles
//! come from `ChaCha8Rng` instead.

use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Number of examples shown per epoch: $\sum_i r_i$ (or $n$ without repeats).
pub fn epoch_len(n: usize, repeats: Option<&[usize]>) -> usize {
    repeats.map_or(n, |r| r.iter().sum())
}

/// Number of optimiser steps per epoch: $\lceil \text{epoch\_len} / \text{batch} \rceil$.
pub fn steps_per_epoch(n: usize, repeats: Option<&[usize]>, batch_size: usize) -> usize {
    epoch_len(n, repeats).div_ceil(batch_size.max(1))
}

/// The mini-batches of one epoch: row indices, shuffled with `rng`, cut into chunks of
/// `batch_size` (the last one possibly shorter).
pub fn epoch_plan(
    n: usize,
    repeats: Option<&[usize]>,
    batch_size: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    if let Some(r) = repeats {
        for (i, &times) in r.iter().enumerate() {
            order.extend(std::iter::repeat_n(i, times.saturating_sub(1)));
        }
    }
    order.shuffle(rng);
    order
        .chunks(batch_size.max(1))
        .map(<[usize]>::to_vec)
        .collect()
}
