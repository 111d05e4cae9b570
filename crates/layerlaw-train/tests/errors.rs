//! Every structured error of `train` and the model constructors.

mod common;

use common::{blobs, small_fnn};
use layerlaw_train::{
    train, Architecture, BnMeasureMode, CnnModel, Dataset, Device, FnnModel, FnnSpec, NoObserver,
    Optimizer, OptimizerKind, TrainConfig, TrainError,
};

fn err(cfg: &TrainConfig, data: &Dataset) -> TrainError {
    train(cfg, data, None, &mut NoObserver).expect_err("must fail")
}

#[test]
fn dataset_errors() {
    let cfg = small_fnn(1);
    let good = blobs(12, 4, 3, 0.0);
    let empty = Dataset {
        x: vec![],
        y: vec![],
        n: 0,
        ..good.clone()
    };
    assert_eq!(
        err(&cfg, &empty),
        TrainError::EmptyDataset { dataset: "train" }
    );
    let mut short = good.clone();
    short.x.pop();
    assert!(matches!(
        err(&cfg, &short),
        TrainError::FeatureLength {
            expected: 48,
            actual: 47,
            ..
        }
    ));
    let mut labels = good.clone();
    labels.y[5] = 3;
    assert_eq!(
        err(&cfg, &labels),
        TrainError::LabelOutOfRange {
            dataset: "train",
            row: 5,
            label: 3,
            num_classes: 3
        }
    );
    let mut few = good.clone();
    few.y.pop();
    assert!(matches!(
        err(&cfg, &few),
        TrainError::LabelCount {
            n: 12,
            actual: 11,
            ..
        }
    ));
    let mut nan = good.clone();
    nan.x[4 * 2 + 1] = f32::NAN;
    assert_eq!(
        err(&cfg, &nan),
        TrainError::NonFiniteInput {
            dataset: "train",
            row: 2,
            column: 1
        }
    );
    let one_class = Dataset {
        num_classes: 1,
        y: vec![0; 12],
        ..good.clone()
    };
    assert!(matches!(err(&cfg, &one_class), TrainError::Shape { .. }));
    // A test set of another dimension.
    let test = blobs(6, 5, 3, 0.0);
    assert!(matches!(
        train(&cfg, &good, Some(&test), &mut NoObserver),
        Err(TrainError::Shape { .. })
    ));
    let mut bad_test = blobs(6, 4, 3, 0.0);
    bad_test.y[0] = 9;
    assert!(matches!(
        train(&cfg, &good, Some(&bad_test), &mut NoObserver),
        Err(TrainError::LabelOutOfRange {
            dataset: "test",
            row: 0,
            ..
        })
    ));
}

#[test]
fn config_errors_name_the_field() {
    let data = blobs(12, 4, 3, 0.0);
    let field = |cfg: TrainConfig| match err(&cfg, &data) {
        TrainError::InvalidConfig { field, .. } => field,
        other => panic!("unexpected {other:?}"),
    };
    let fnn = |width, depth| Architecture::Fnn {
        width,
        depth,
        batchnorm: true,
        relu: true,
    };
    assert_eq!(
        field(TrainConfig {
            architecture: fnn(8, 1),
            ..small_fnn(1)
        }),
        "depth"
    );
    assert_eq!(
        field(TrainConfig {
            architecture: fnn(0, 3),
            ..small_fnn(1)
        }),
        "width"
    );
    assert_eq!(
        field(TrainConfig {
            epochs: 0,
            ..small_fnn(1)
        }),
        "epochs"
    );
    assert_eq!(
        field(TrainConfig {
            lr: 0.0,
            ..small_fnn(1)
        }),
        "lr"
    );
    assert_eq!(
        field(TrainConfig {
            lr: -1.0,
            ..small_fnn(1)
        }),
        "lr"
    );
    assert_eq!(
        field(TrainConfig {
            lr: f64::NAN,
            ..small_fnn(1)
        }),
        "lr"
    );
    assert_eq!(
        field(TrainConfig {
            batch_size: 0,
            ..small_fnn(1)
        }),
        "batch_size"
    );
    assert_eq!(
        field(TrainConfig {
            momentum: 1.5,
            ..small_fnn(1)
        }),
        "momentum"
    );
    assert_eq!(
        field(TrainConfig {
            weight_decay: -1e-4,
            ..small_fnn(1)
        }),
        "weight_decay"
    );
    assert_eq!(
        field(TrainConfig {
            measure_every: Some(0),
            ..small_fnn(1)
        }),
        "measure_every"
    );
    assert_eq!(
        field(TrainConfig {
            threads: Some(0),
            ..small_fnn(1)
        }),
        "threads"
    );
    assert_eq!(
        field(TrainConfig {
            bn_measure: BnMeasureMode::Train { batch: 0 },
            ..small_fnn(1)
        }),
        "bn_measure.batch"
    );
    // CNNs need 32×32 images.
    assert!(matches!(
        err(&TrainConfig::cnn_default(Architecture::Vgg11), &data),
        TrainError::Shape { .. }
    ));
}

#[test]
fn repeat_and_weight_errors() {
    let data = blobs(12, 4, 3, 0.0);
    let cfg = |repeats: Option<Vec<usize>>, weights: Option<Vec<f32>>| TrainConfig {
        sample_repeats: repeats,
        class_loss_weights: weights,
        ..small_fnn(1)
    };
    assert_eq!(
        err(&cfg(Some(vec![1; 11]), None), &data),
        TrainError::SampleRepeats {
            reason: "length differs from n",
            row: None
        }
    );
    let mut zero = vec![1; 12];
    zero[7] = 0;
    assert_eq!(
        err(&cfg(Some(zero), None), &data),
        TrainError::SampleRepeats {
            reason: "entry is 0",
            row: Some(7)
        }
    );
    assert!(matches!(
        err(&cfg(None, Some(vec![1.0; 2])), &data),
        TrainError::ClassLossWeights { class: None, .. }
    ));
    assert!(matches!(
        err(&cfg(None, Some(vec![1.0, -1.0, 1.0])), &data),
        TrainError::ClassLossWeights { class: Some(1), .. }
    ));
    assert!(matches!(
        err(&cfg(None, Some(vec![0.0; 3])), &data),
        TrainError::ClassLossWeights { class: None, .. }
    ));
    // 17 examples with batch 16 leave a batch of one, which batch norm cannot train on.
    let odd = blobs(17, 4, 3, 0.0);
    assert_eq!(
        err(&small_fnn(1), &odd),
        TrainError::SingletonBatch {
            epoch_len: 17,
            batch_size: 16
        }
    );
}

#[test]
fn diverging_training_reports_the_epoch() {
    let data = blobs(32, 4, 3, 0.0);
    let cfg = TrainConfig {
        architecture: Architecture::Fnn {
            width: 16,
            depth: 3,
            batchnorm: false,
            relu: true,
        },
        lr: 1e30,
        ..small_fnn(3)
    };
    match err(&cfg, &data) {
        TrainError::NonFiniteLoss { epoch, lr, .. } => {
            assert!(epoch < 3);
            assert!(lr > 1e20);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn parameter_errors() {
    let spec = FnnSpec {
        input_dim: 3,
        width: 4,
        depth: 2,
        num_classes: 2,
        batchnorm: false,
        relu: true,
    };
    // W0 (4×3), b0 (4), W1 (2×4), b1 (2)
    assert_eq!(spec.parameter_sizes(), vec![12, 4, 8, 2]);
    let good: Vec<Vec<f32>> = spec
        .parameter_sizes()
        .iter()
        .map(|&s| vec![0.1; s])
        .collect();
    assert!(FnnModel::from_parameters(spec, &good).is_ok());
    let mut wrong = good.clone();
    wrong[2].pop();
    assert_eq!(
        FnnModel::from_parameters(spec, &wrong)
            .expect_err("length")
            .to_string(),
        TrainError::ParameterShape {
            index: 2,
            reason: "wrong length",
            expected: 8,
            actual: 7
        }
        .to_string()
    );
    assert!(matches!(
        FnnModel::from_parameters(spec, &good[..3]),
        Err(TrainError::ParameterShape { .. })
    ));
    let bad_spec = FnnSpec { depth: 1, ..spec };
    assert!(matches!(
        FnnModel::new(bad_spec, 0),
        Err(TrainError::InvalidConfig { field: "depth", .. })
    ));
}

#[test]
fn fnn_train_step_errors_change_nothing() {
    // Without ReLU a NaN input reaches the loss (`f32::max` would turn it into 0).
    let spec = FnnSpec {
        input_dim: 3,
        width: 4,
        depth: 3,
        num_classes: 3,
        batchnorm: true,
        relu: false,
    };
    let mut model = FnnModel::new(spec, 0).expect("valid spec");
    let n = model.parameter_count();
    let mut opt = Optimizer::new(OptimizerKind::Momentum, 0.9, 5e-4, n);
    let (params, running) = (model.parameters(), model.running_statistics().to_vec());
    let x = [0.5f32, -1.0, 2.0, 1.5, 0.0, -0.5];
    assert!(matches!(
        model.train_step(&mut opt, &x[..5], &[0, 1], 0.1, None),
        Err(TrainError::FeatureLength {
            dataset: "batch",
            expected: 6,
            actual: 5,
            ..
        })
    ));
    assert_eq!(
        model.train_step(&mut opt, &[], &[], 0.1, None),
        Err(TrainError::EmptyDataset { dataset: "batch" })
    );
    assert!(matches!(
        model.train_step(&mut opt, &x[..3], &[0], 0.1, None),
        Err(TrainError::SingletonBatch { .. })
    ));
    assert_eq!(
        model.train_step(&mut opt, &x, &[0, 3], 0.1, None),
        Err(TrainError::LabelOutOfRange {
            dataset: "batch",
            row: 1,
            label: 3,
            num_classes: 3
        })
    );
    assert!(matches!(
        model.train_step(&mut opt, &x, &[0, 1], 0.1, Some(&[1.0, 2.0])),
        Err(TrainError::ClassLossWeights { class: None, .. })
    ));
    assert!(matches!(
        model.train_step(&mut opt, &x, &[0, 1], 0.1, Some(&[1.0, -2.0, 1.0])),
        Err(TrainError::ClassLossWeights { class: Some(1), .. })
    ));
    let mut small = Optimizer::new(OptimizerKind::Momentum, 0.9, 5e-4, n - 1);
    assert!(matches!(
        model.train_step(&mut small, &x, &[0, 1], 0.1, None),
        Err(TrainError::ParameterShape { .. })
    ));
    assert_eq!(opt.steps(), 0);
    assert_eq!(model.parameters(), params);
    assert_eq!(model.running_statistics(), running.as_slice());
    // A NaN input makes the loss NaN: reported with the step index, parameters untouched.
    let nan = [f32::NAN, -1.0, 2.0, 1.5, 0.0, -0.5];
    match model.train_step(&mut opt, &nan, &[0, 1], 0.1, None) {
        Err(TrainError::NonFiniteBatchLoss {
            loss,
            step: 0,
            rows: 2,
            lr,
        }) => assert!(loss.is_nan() && lr == 0.1),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!((opt.steps(), model.parameters()), (0, params.clone()));
    let step = model
        .train_step(&mut opt, &x, &[0, 1], 0.1, None)
        .expect("valid step");
    assert!(step.loss.is_finite() && step.correct <= 2);
    assert_ne!(model.parameters(), params);
    assert!(matches!(
        model.train_step(&mut opt, &nan, &[0, 1], 0.1, None),
        Err(TrainError::NonFiniteBatchLoss { step: 1, .. })
    ));
}

#[test]
fn cnn_model_errors() {
    let fnn = Architecture::Fnn {
        width: 4,
        depth: 2,
        batchnorm: true,
        relu: true,
    };
    assert!(matches!(
        CnnModel::new(fnn, [1, 32, 32], 10, 0),
        Err(TrainError::InvalidConfig {
            field: "architecture",
            ..
        })
    ));
    assert!(matches!(
        CnnModel::new(Architecture::ResNet18, [1, 28, 28], 10, 0),
        Err(TrainError::Shape { .. })
    ));
    assert!(matches!(
        CnnModel::new(Architecture::ResNet18, [1, 32, 32], 1, 0),
        Err(TrainError::Shape { .. })
    ));
    let mut model = CnnModel::new(Architecture::ResNet18, [1, 32, 32], 3, 0).expect("valid");
    let n = model.parameter_count();
    let mut opt = Optimizer::new(OptimizerKind::Momentum, 0.9, 5e-4, n);
    let x = vec![0.0f32; 2 * 1024];
    assert!(matches!(
        model.train_step(&mut opt, &x[..2047], &[0, 1], 0.1, None),
        Err(TrainError::FeatureLength { actual: 2047, .. })
    ));
    assert!(matches!(
        model.train_step(&mut opt, &x[..1024], &[0], 0.1, None),
        Err(TrainError::SingletonBatch { .. })
    ));
    assert!(matches!(
        model.train_step(&mut opt, &x, &[0, 3], 0.1, None),
        Err(TrainError::LabelOutOfRange {
            row: 1,
            label: 3,
            ..
        })
    ));
    assert!(matches!(
        model.train_step(&mut opt, &x, &[0, 1], 0.1, Some(&[1.0, 2.0])),
        Err(TrainError::ClassLossWeights { .. })
    ));
    let mut small = Optimizer::new(OptimizerKind::Momentum, 0.9, 5e-4, n - 1);
    assert!(matches!(
        model.train_step(&mut small, &x, &[0, 1], 0.1, None),
        Err(TrainError::ParameterShape { .. })
    ));
    assert_eq!(
        model.train_step(&mut opt, &[], &[], 0.1, None),
        Err(TrainError::EmptyDataset { dataset: "batch" })
    );
    let mut nan = x.clone();
    nan[5] = f32::NAN;
    assert!(matches!(
        model.train_step(&mut opt, &nan, &[0, 1], 0.1, None),
        Err(TrainError::NonFiniteBatchLoss {
            step: 0,
            rows: 2,
            ..
        })
    ));
    // Nothing was changed by the rejected steps.
    assert_eq!(opt.steps(), 0);
    assert_eq!(model.running_statistics()[0].1[0], 1.0);
}

#[test]
fn device_errors() {
    // The FNN is CPU-only, with or without the `gpu` feature.
    let cfg = TrainConfig {
        device: Device::Gpu,
        ..small_fnn(1)
    };
    let e = err(&cfg, &blobs(12, 4, 3, 0.0));
    assert_eq!(
        e,
        TrainError::GpuUnsupported {
            architecture: "the FNN"
        }
    );
    assert!(e.to_string().contains("CPU only"), "{e}");
    assert_eq!(
        Device::Gpu.check(Architecture::Vgg11).is_ok(),
        Device::GPU_BUILT
    );
    assert!(Device::Cpu.check(Architecture::ResNet18).is_ok());
    if !Device::GPU_BUILT {
        let e = Device::Gpu
            .check(Architecture::ResNet18)
            .expect_err("no gpu feature");
        assert_eq!(e, TrainError::GpuNotBuilt);
        assert!(
            e.to_string()
                .contains("cargo build --release -p layerlaw-cli --features gpu"),
            "{e}"
        );
        let mut model = CnnModel::new(Architecture::ResNet18, [1, 32, 32], 10, 0).expect("valid");
        assert_eq!(model.set_device(Device::Gpu), Err(TrainError::GpuNotBuilt));
        assert_eq!(model.device(), Device::Cpu);
        assert_eq!(layerlaw_train::gpu_adapter(), Err(TrainError::GpuNotBuilt));
    }
}
