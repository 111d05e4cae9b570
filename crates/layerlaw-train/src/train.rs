//! The training loop shared by all architectures. It drives an [`Engine`]; each model's engine
//! lives beside the model (`fnn::engine`, `cnn::engine`).

use crate::cnn::engine::CnnEngine;
use crate::config::{Architecture, Dataset, TrainConfig};
use crate::engine::{Batch, Classifier, Engine};
use crate::error::TrainError;
use crate::fnn::engine::FnnEngine;
use crate::fnn::FnnSpec;
use crate::plan::epoch_plan;
use crate::report::{EpochStats, TrainObserver, TrainOutcome};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// Stream of the ChaCha8 generator used for shuffling (stream 0 initialises the weights).
const SHUFFLE_STREAM: u64 = 1;

/// The engine of `cfg.architecture`: the model beside its optimiser.
fn build_engine(
    cfg: &TrainConfig,
    data: &Dataset,
    threads: usize,
) -> Result<Box<dyn Engine>, TrainError> {
    match cfg.architecture {
        Architecture::Fnn {
            width,
            depth,
            batchnorm,
            relu,
        } => {
            let spec = FnnSpec {
                input_dim: data.dim(),
                width,
                depth,
                num_classes: data.num_classes,
                batchnorm,
                relu,
            };
            Ok(Box::new(FnnEngine::new(cfg, spec, threads)?))
        }
        Architecture::Vgg11 | Architecture::ResNet18 => Ok(Box::new(CnnEngine::new(cfg, data)?)),
    }
}

/// Argmax of each row of `logits` (`n × k`); ties go to the first maximum.
fn argmax_rows(logits: &[f32], k: usize) -> Vec<usize> {
    logits
        .chunks_exact(k)
        .map(|row| {
            let mut best = 0;
            for (c, &v) in row.iter().enumerate() {
                if v > row[best] {
                    best = c;
                }
            }
            best
        })
        .collect()
}

/// Overall and per-class accuracy of eval-mode predictions (a class without points gets 0).
fn accuracy(engine: &mut dyn Engine, data: &Dataset) -> (f64, Vec<f64>) {
    let pred = argmax_rows(&engine.logits(&data.x, data.n), data.num_classes);
    let mut hits = vec![0usize; data.num_classes];
    let mut counts = vec![0usize; data.num_classes];
    for (&p, &y) in pred.iter().zip(&data.y) {
        counts[y] += 1;
        hits[y] += usize::from(p == y);
    }
    let overall = hits.iter().sum::<usize>() as f64 / data.n as f64;
    let per_class = hits
        .iter()
        .zip(&counts)
        .map(|(&h, &c)| if c == 0 { 0.0 } else { h as f64 / c as f64 })
        .collect();
    (overall, per_class)
}

/// Number of worker threads for `cfg`: the configured value, else 1 for FNNs (deterministic and
/// fastest at GFNN sizes) and all available cores for CNNs.
pub fn effective_threads(cfg: &TrainConfig) -> usize {
    cfg.threads.unwrap_or_else(|| match cfg.architecture {
        Architecture::Fnn { .. } => 1,
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    })
}

/// Trains `cfg.architecture` on `train` and reports history, final features, classifier and
/// accuracies (the settings of `docs/definitions.md`, "GFNN training" and "Deep-net training").
///
/// Each epoch reshuffles the (oversampled, see [`crate::plan::epoch_plan`]) training rows with
/// `ChaCha8Rng` (seed `cfg.seed`, stream 1), takes one optimiser step per mini-batch of
/// `cfg.batch_size` (last partial batch kept) at learning rate [`TrainConfig::lr_at`], and calls
/// `observer.on_epoch`. Features are measured every `measure_every` epochs and at the end, on the
/// training points in dataset order, without changing the model (and once, at the end, on the test
/// points when the observer asks for them). The same seed and thread count give
/// a bit-identical outcome.
pub fn train(
    cfg: &TrainConfig,
    train: &Dataset,
    test: Option<&Dataset>,
    observer: &mut dyn TrainObserver,
) -> Result<TrainOutcome, TrainError> {
    cfg.validate(train)?;
    if let Some(t) = test {
        t.validate("test")?;
        if t.shape != train.shape || t.num_classes != train.num_classes {
            return Err(TrainError::Shape {
                reason: format!(
                    "test set has shape {:?} and {} classes, train set {:?} and {}",
                    t.shape, t.num_classes, train.shape, train.num_classes
                ),
            });
        }
    }
    let threads = effective_threads(cfg);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| TrainError::ThreadPool {
            threads,
            reason: e.to_string(),
        })?;
    run(cfg, train, test, observer, threads, &pool)
}

fn run(
    cfg: &TrainConfig,
    train: &Dataset,
    test: Option<&Dataset>,
    observer: &mut dyn TrainObserver,
    threads: usize,
    pool: &rayon::ThreadPool,
) -> Result<TrainOutcome, TrainError> {
    let start = Instant::now();
    let mut engine = build_engine(cfg, train, threads)?;
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(SHUFFLE_STREAM);
    let dim = train.dim();
    let mut xb = Vec::with_capacity(cfg.batch_size * dim);
    let mut yb = Vec::with_capacity(cfg.batch_size);
    let mut history = Vec::with_capacity(cfg.epochs);
    let mut train_seconds = 0.0;
    for epoch in 0..cfg.epochs {
        let epoch_start = Instant::now();
        let lr = cfg.lr_at(epoch);
        let batches = epoch_plan(
            train.n,
            cfg.sample_repeats.as_deref(),
            cfg.batch_size,
            &mut rng,
        );
        let (mut loss_sum, mut correct, mut shown) = (0.0, 0usize, 0usize);
        for (step, batch) in batches.iter().enumerate() {
            xb.clear();
            yb.clear();
            for &i in batch {
                xb.extend_from_slice(train.row(i));
                yb.push(train.y[i]);
            }
            let mini = Batch {
                x: &xb,
                y: &yb,
                weights: cfg.class_loss_weights.as_deref(),
            };
            let r = pool
                .install(|| engine.train_step(&mini, lr))
                .map_err(|e| match e {
                    TrainError::NonFiniteBatchLoss { .. } => {
                        TrainError::NonFiniteLoss { epoch, step, lr }
                    }
                    other => other,
                })?;
            loss_sum += r.loss * batch.len() as f64;
            correct += r.correct;
            shown += batch.len();
        }
        let seconds = epoch_start.elapsed().as_secs_f64();
        train_seconds += seconds;
        let stats = EpochStats {
            epoch,
            loss: loss_sum / shown as f64,
            train_accuracy: correct as f64 / shown as f64,
            lr,
            steps: batches.len(),
            seconds,
        };
        observer.on_epoch(&stats);
        history.push(stats);
        let done = epoch + 1;
        if cfg.measure_every.is_some_and(|k| done.is_multiple_of(k)) && done < cfg.epochs {
            let features = pool.install(|| engine.features(&train.x, train.n, cfg.bn_measure));
            observer.on_measure(done, &features);
        }
    }
    let features = pool.install(|| engine.features(&train.x, train.n, cfg.bn_measure));
    observer.on_measure(cfg.epochs, &features);
    if let Some(t) = test.filter(|_| observer.wants_test_features()) {
        let test_features = pool.install(|| engine.features(&t.x, t.n, cfg.bn_measure));
        observer.on_test_measure(&test_features);
    }
    let (train_accuracy, _) = pool.install(|| accuracy(engine.as_mut(), train));
    let (test_accuracy, test_per_class_accuracy) = match test {
        Some(t) => {
            let (acc, per_class) = pool.install(|| accuracy(engine.as_mut(), t));
            (Some(acc), Some(per_class))
        }
        None => (None, None),
    };
    let Classifier {
        weight: classifier_weight,
        bias: classifier_bias,
        fan_in: penultimate_dim,
    } = engine.classifier();
    Ok(TrainOutcome {
        history,
        train_accuracy,
        test_accuracy,
        test_per_class_accuracy,
        features,
        classifier_weight,
        classifier_bias,
        penultimate_dim,
        seconds: start.elapsed().as_secs_f64(),
        seconds_per_epoch: train_seconds / cfg.epochs as f64,
    })
}
