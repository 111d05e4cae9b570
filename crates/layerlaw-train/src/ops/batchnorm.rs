//! Batch-norm semantics shared by the engines (`torch.nn.BatchNorm1d/2d` defaults).
//!
//! Train mode normalises with the batch mean $\mu_B$ and the biased batch variance $\sigma_B^2$:
//! $\hat z = (z - \mu_B)/\sqrt{\sigma_B^2 + \varepsilon}$; eval mode uses the running statistics
//! $\bar\mu, \bar\sigma^2$. After a training step the running statistics move towards the batch's
//! with momentum $m$ and the UNBIASED variance (Ioffe & Szegedy 2015, as PyTorch does):
//! $\bar\mu \leftarrow (1-m)\bar\mu + m\mu_B$, $\bar\sigma^2 \leftarrow (1-m)\bar\sigma^2 + m\,\sigma_B^2\,c/(c-1)$
//! with $c$ values per channel.

use crate::config::BnMeasureMode;

/// Batch-norm $\varepsilon$ (PyTorch default).
pub(crate) const BN_EPS: f64 = 1e-5;
/// Running-statistics momentum $m$ (PyTorch default): $r \leftarrow 0.9\,r + 0.1\,s$.
pub(crate) const BN_MOMENTUM: f64 = 0.1;

/// How batch norm behaves in one forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BnUse {
    /// Batch statistics; running statistics updated (training).
    TrainUpdate,
    /// Batch statistics; running statistics untouched (measurement in train mode).
    TrainFrozen,
    /// Running statistics.
    Eval,
}

impl BnUse {
    /// The batch-norm use and chunk size of a feature measurement in `mode`: train-mode
    /// statistics of consecutive chunks of `batch` points, or running statistics over chunks of
    /// `eval_chunk` points (any chunking gives the same eval-mode result).
    pub(crate) fn for_measurement(mode: BnMeasureMode, eval_chunk: usize) -> (BnUse, usize) {
        match mode {
            BnMeasureMode::Train { batch } => (BnUse::TrainFrozen, batch.max(1)),
            BnMeasureMode::Eval => (BnUse::Eval, eval_chunk),
        }
    }
}

/// Moves one BN layer's running statistics towards a batch's mean and biased variance (`count`
/// values per channel; the variance is unbiased by $c/(c-1)$ when $c > 1$), in `f64`, stored as `f32`.
pub(crate) fn update_running<T: Copy + Into<f64>>(
    running_mean: &mut [f32],
    running_var: &mut [f32],
    mean: &[T],
    var: &[T],
    count: usize,
) {
    let unbias = if count > 1 {
        count as f64 / (count - 1) as f64
    } else {
        1.0
    };
    for ((r, s), (&m, &v)) in running_mean
        .iter_mut()
        .zip(running_var.iter_mut())
        .zip(mean.iter().zip(var))
    {
        *r = ((1.0 - BN_MOMENTUM) * f64::from(*r) + BN_MOMENTUM * m.into()) as f32;
        *s = ((1.0 - BN_MOMENTUM) * f64::from(*s) + BN_MOMENTUM * v.into() * unbias) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_update_uses_momentum_and_unbiased_variance() {
        let (mut rm, mut rv) = (vec![0.0f32, 1.0], vec![1.0f32, 2.0]);
        // Batch of c = 4 values per channel: mean (2, −1), biased variance (3, 0.75).
        update_running(&mut rm, &mut rv, &[2.0f64, -1.0], &[3.0, 0.75], 4);
        // 0.9·0 + 0.1·2, 0.9·1 + 0.1·(−1); 0.9·1 + 0.1·3·4/3, 0.9·2 + 0.1·0.75·4/3.
        assert_eq!(rm, vec![0.2f32, 0.8]);
        assert_eq!(rv, vec![1.3f32, 1.9]);
        // A single value per channel is not unbiased (c/(c−1) undefined).
        let (mut rm, mut rv) = (vec![0.0f32], vec![0.0f32]);
        update_running(&mut rm, &mut rv, &[1.0f32], &[2.0f32], 1);
        assert_eq!((rm[0], rv[0]), (0.1, 0.2));
    }

    #[test]
    fn measurement_modes() {
        let train = BnMeasureMode::Train { batch: 0 };
        assert_eq!(BnUse::for_measurement(train, 7), (BnUse::TrainFrozen, 1));
        assert_eq!(
            BnUse::for_measurement(BnMeasureMode::Eval, 7),
            (BnUse::Eval, 7)
        );
    }
}
