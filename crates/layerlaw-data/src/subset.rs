//! Seeded, deterministic class-balanced and step-imbalanced subsets.
//!
//! The official code (He & Su 2023, `data.py` l.36-44; Fang et al. 2021, `train_models.py`
//! l.97-116) walks a shuffled torch `DataLoader` (seed 666) and keeps the first $n_k$ examples
//! of each class $k$. Torch's Mersenne-Twister stream and `randperm` cannot be reproduced bit for
//! bit here, so we do the same walk over a Fisher–Yates shuffle driven by `ChaCha8Rng` seeded
//! with the same seed: the subsets have the same law (uniform among subsets with the
//! requested class counts) but not the same members.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::DataError;

/// Selects `per_class` examples of each class `0..num_classes`, uniformly at random given `seed`.
///
/// Equivalent to [`counts_subset`] with `counts = [per_class; num_classes]`; see there for the
/// order of the result and the errors.
pub fn per_class_subset(
    labels: &[u8],
    per_class: usize,
    num_classes: usize,
    seed: u64,
) -> Result<Vec<usize>, DataError> {
    counts_subset(labels, &vec![per_class; num_classes], seed)
}

/// Selects `counts[k]` examples of each class `k`, uniformly at random given `seed`.
///
/// Shuffles `0..labels.len()` with `ChaCha8Rng::seed_from_u64(seed)` and keeps, in shuffled order,
/// every index whose class still needs examples. The result is in that (random) order, like the
/// official subsample; sort it if file order is wanted. The official code draws this shuffle from
/// torch's RNG (seed 666), which cannot be reproduced bit for bit: we use `ChaCha8Rng` with the same
/// seed, so the subsets follow the same law but contain different examples.
///
/// Errors: a label `>= counts.len()` ([`DataError::LabelOutOfRange`]), a class with fewer than
/// `counts[k]` examples ([`DataError::ClassTooSmall`], naming the first such class).
pub fn counts_subset(labels: &[u8], counts: &[usize], seed: u64) -> Result<Vec<usize>, DataError> {
    crate::idx::check_labels(labels, std::path::Path::new("<labels>"), counts.len())?;
    let mut available = vec![0usize; counts.len()];
    for &y in labels {
        available[usize::from(y)] += 1;
    }
    if let Some(class) = (0..counts.len()).find(|&k| available[k] < counts[k]) {
        return Err(DataError::ClassTooSmall {
            class,
            available: available[class],
            requested: counts[class],
        });
    }
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut still_needed = counts.to_vec();
    let total: usize = counts.iter().sum();
    let mut chosen = Vec::with_capacity(total);
    for i in order {
        let need = &mut still_needed[usize::from(labels[i])];
        if *need > 0 {
            *need -= 1;
            chosen.push(i);
            if chosen.len() == total {
                break;
            }
        }
    }
    Ok(chosen)
}

/// Class counts of a step-imbalanced dataset (Fang, He, Long & Su 2021): the first `majority`
/// classes ($K_A$) get $n_A$ = `n_majority` examples, the other $K - K_A$ get
/// $n_B = \lfloor n_A / R \rfloor$, with imbalance ratio $R \ge 1$.
///
/// Errors: `ratio` not finite or `< 1`; `majority > num_classes`; a class left with 0 examples
/// (naming it, with the advice to lower $R$ or raise $n_A$).
pub fn step_imbalance_counts(
    num_classes: usize,
    majority: usize,
    n_majority: usize,
    ratio: f64,
) -> Result<Vec<usize>, DataError> {
    if !ratio.is_finite() || ratio < 1.0 {
        return Err(DataError::InvalidRatio { ratio });
    }
    if majority > num_classes {
        return Err(DataError::TooManyMajorityClasses {
            majority,
            num_classes,
        });
    }
    let n_minority = (n_majority as f64 / ratio).floor() as usize;
    let counts: Vec<usize> = (0..num_classes)
        .map(|k| if k < majority { n_majority } else { n_minority })
        .collect();
    if let Some(class) = counts.iter().position(|&c| c == 0) {
        return Err(DataError::EmptyClass {
            class,
            n_majority,
            ratio,
        });
    }
    Ok(counts)
}
