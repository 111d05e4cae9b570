//! End-to-end FNN training: learning, determinism, measurement purity, schedule and oversampling.

mod common;

use common::{blobs, small_fnn};
use layerlaw_train::{
    steps_per_epoch, train, BnMeasureMode, EpochStats, FnnModel, FnnSpec, LayerActivations,
    NoObserver, OptimizerKind, TrainObserver, TrainOutcome,
};

/// Everything except wall-clock times.
fn strip_times(mut o: TrainOutcome) -> TrainOutcome {
    o.seconds = 0.0;
    o.seconds_per_epoch = 0.0;
    o.history.iter_mut().for_each(|h| h.seconds = 0.0);
    o
}

#[test]
fn loss_falls_and_accuracy_rises_for_every_optimizer() {
    let data = blobs(120, 10, 3, 0.0);
    let test = blobs(60, 10, 3, 1000.0);
    for (kind, lr) in [
        (OptimizerKind::Sgd, 0.1),
        (OptimizerKind::Momentum, 0.05),
        (OptimizerKind::Adam, 3e-3),
    ] {
        let cfg = layerlaw_train::TrainConfig {
            optimizer: kind,
            lr,
            ..small_fnn(30)
        };
        let out = train(&cfg, &data, Some(&test), &mut NoObserver).expect("training runs");
        let first = &out.history[0];
        let last = out.history.last().expect("history");
        assert!(
            last.loss < 0.5 * first.loss,
            "{kind:?}: loss {} -> {}",
            first.loss,
            last.loss
        );
        assert!(
            last.train_accuracy > first.train_accuracy,
            "{kind:?}: accuracy did not rise"
        );
        assert!(
            out.train_accuracy > 0.95,
            "{kind:?}: final train accuracy {}",
            out.train_accuracy
        );
        assert!(
            out.test_accuracy.expect("test given") > 0.8,
            "{kind:?}: test accuracy {:?}",
            out.test_accuracy
        );
        let per_class = out.test_per_class_accuracy.expect("test given");
        assert_eq!(per_class.len(), 3);
        let mean: f64 = per_class.iter().sum::<f64>() / 3.0;
        // 60 test points, 20 per class: the overall accuracy is the mean of the per-class ones.
        assert!((mean - out.test_accuracy.unwrap_or(0.0)).abs() < 1e-12);
    }
}

#[test]
fn same_seed_gives_bit_identical_outcome_and_other_seed_differs() {
    let data = blobs(90, 10, 3, 0.0);
    let cfg = small_fnn(5);
    let a = strip_times(train(&cfg, &data, None, &mut NoObserver).expect("run a"));
    let b = strip_times(train(&cfg, &data, None, &mut NoObserver).expect("run b"));
    assert_eq!(a, b);
    let c = strip_times(
        train(
            &layerlaw_train::TrainConfig { seed: 7, ..cfg },
            &data,
            None,
            &mut NoObserver,
        )
        .expect("c"),
    );
    assert_ne!(a.classifier_weight, c.classifier_weight);
}

#[derive(Default)]
struct Recorder {
    epochs: Vec<EpochStats>,
    measured: Vec<(usize, LayerActivations)>,
}

impl TrainObserver for Recorder {
    fn on_epoch(&mut self, stats: &EpochStats) {
        self.epochs.push(stats.clone());
    }
    fn on_measure(&mut self, epoch: usize, features: &LayerActivations) {
        self.measured.push((epoch, features.clone()));
    }
}

#[test]
fn measuring_does_not_change_the_model_and_observer_sees_everything() {
    let data = blobs(90, 10, 3, 0.0);
    let test = blobs(30, 10, 3, 500.0);
    let plain =
        strip_times(train(&small_fnn(6), &data, Some(&test), &mut NoObserver).expect("plain"));
    let mut rec = Recorder::default();
    let cfg = layerlaw_train::TrainConfig {
        measure_every: Some(2),
        ..small_fnn(6)
    };
    let measured = strip_times(train(&cfg, &data, Some(&test), &mut rec).expect("measured"));
    // Measuring every 2 epochs (BN in train mode) leaves training and the final model untouched.
    assert_eq!(plain, measured);
    assert_eq!(rec.epochs.len(), 6);
    assert_eq!(
        rec.measured.iter().map(|m| m.0).collect::<Vec<_>>(),
        vec![2, 4, 6]
    );
    let last = &rec.measured[2].1;
    assert_eq!(last, &measured.features);
    // input + 3 hidden blocks (depth 4), logits excluded; the input layer is the data itself.
    assert_eq!(last.names, vec!["input", "block1", "block2", "block3"]);
    assert_eq!(last.dims, vec![10, 16, 16, 16]);
    assert_eq!(last.data[0], data.x);
    assert!(last.data[1..]
        .iter()
        .all(|l| l.len() == 90 * 16 && l.iter().all(|&v| v >= 0.0)));
    // The same layers as geometry's named views: 90 rows each, block1 row 1 column 2 in place.
    let views = last.views().expect("consistent layers");
    let shapes: Vec<_> = views
        .iter()
        .map(|v| (v.name, v.nrows(), v.ncols()))
        .collect();
    assert_eq!(
        shapes,
        vec![
            ("input", 90, 10),
            ("block1", 90, 16),
            ("block2", 90, 16),
            ("block3", 90, 16)
        ]
    );
    match views[1].features {
        layerlaw_geometry::LayerFeatures::F32(x) => assert_eq!(x[(1, 2)], last.data[1][16 + 2]),
        layerlaw_geometry::LayerFeatures::F64(_) => panic!("the activations are f32"),
    }
    assert_eq!(measured.penultimate_dim, 16);
    assert_eq!(measured.classifier_weight.len(), 3 * 16);
}

#[test]
fn train_mode_measurement_uses_chunk_statistics_and_leaves_running_stats() {
    let spec = FnnSpec {
        input_dim: 10,
        width: 8,
        depth: 3,
        num_classes: 3,
        batchnorm: true,
        relu: false,
    };
    let model = FnnModel::new(spec, 1).expect("model");
    let data = blobs(40, 10, 3, 0.0);
    let before = model.running_statistics().to_vec();
    let f = model.forward_all(&data.x, 40, BnMeasureMode::Train { batch: 20 });
    assert_eq!(model.running_statistics(), before.as_slice());
    // Without ReLU, block 1 is γ·x̂ + β with γ = 1, β = 0: every chunk of 20 has mean 0, variance ≈ 1.
    for chunk in f.data[1].chunks(20 * 8) {
        for j in 0..8 {
            let col: Vec<f64> = chunk
                .iter()
                .skip(j)
                .step_by(8)
                .map(|&v| f64::from(v))
                .collect();
            let mean = col.iter().sum::<f64>() / 20.0;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 20.0;
            assert!(
                mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-3,
                "column {j}: mean {mean}, var {var}"
            );
        }
    }
    // Eval mode with fresh running stats (mean 0, var 1) is the plain affine map z/sqrt(1+eps).
    let e = model.forward_all(&data.x, 40, BnMeasureMode::Eval);
    assert_ne!(e.data[1], f.data[1]);
}

#[test]
fn learning_rate_schedule_and_step_counts() {
    let data = blobs(30, 6, 3, 0.0);
    let cfg = layerlaw_train::TrainConfig {
        epochs: 7,
        batch_size: 8,
        lr: 0.04,
        ..small_fnn(7)
    };
    let out = train(&cfg, &data, None, &mut NoObserver).expect("runs");
    let lrs: Vec<f64> = out.history.iter().map(|h| h.lr).collect();
    // ⌊7/3⌋ = 2, ⌊14/3⌋ = 4.
    let expected = [0.04, 0.04, 0.004, 0.004, 0.0004, 0.0004, 0.0004];
    for (a, b) in lrs.iter().zip(expected) {
        assert!((a - b).abs() < 1e-15, "{lrs:?}");
    }
    assert!(out.history.iter().all(|h| h.steps == 4)); // ⌈30/8⌉

    // Oversampling: rows 0..3 shown 4 times → 30 + 3·3 = 39 examples, ⌈39/8⌉ = 5 steps.
    let mut repeats = vec![1; 30];
    repeats[..3].fill(4);
    assert_eq!(steps_per_epoch(30, Some(&repeats), 8), 5);
    let cfg = layerlaw_train::TrainConfig {
        sample_repeats: Some(repeats),
        ..cfg
    };
    let out = train(&cfg, &data, None, &mut NoObserver).expect("oversampled run");
    assert!(out.history.iter().all(|h| h.steps == 5));
}

#[test]
fn epoch_plan_shows_each_row_its_repeat_count() {
    use rand::SeedableRng;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let repeats = [1, 3, 1, 2, 1];
    let plan = layerlaw_train::epoch_plan(5, Some(&repeats), 3, &mut rng);
    assert_eq!(plan.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 3, 2]);
    let mut counts = [0; 5];
    plan.iter().flatten().for_each(|&i| counts[i] += 1);
    assert_eq!(counts, repeats);
}

#[test]
fn class_weights_and_negative_controls_train() {
    let data = blobs(60, 8, 3, 0.0);
    let mut cfg = small_fnn(10);
    cfg.class_loss_weights = Some(vec![1.0, 2.0, 0.5]);
    let out = train(&cfg, &data, None, &mut NoObserver).expect("weighted");
    assert!(out.history.last().expect("h").loss < out.history[0].loss);
    for (batchnorm, relu) in [(false, true), (true, false)] {
        let cfg = layerlaw_train::TrainConfig {
            architecture: layerlaw_train::Architecture::Fnn {
                width: 16,
                depth: 4,
                batchnorm,
                relu,
            },
            ..small_fnn(10)
        };
        let out = train(&cfg, &data, None, &mut NoObserver).expect("control");
        assert!(
            out.history.last().expect("h").loss < out.history[0].loss,
            "bn {batchnorm} relu {relu}"
        );
        if !relu {
            assert!(
                out.features.data[1].iter().any(|&v| v < 0.0),
                "no ReLU: negative features expected"
            );
        }
    }
}
