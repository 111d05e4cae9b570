//! The law-of-equi-separation experiment (He & Su, PNAS 2023, Figure 1): train a feedforward net
//! (Linear→BN→ReLU blocks) on a per-class subset and measure $D_l \approx \rho^l D_0$ on its
//! training features, with the law's emergence during training, and optionally on the test set
//! ([`LawParams::splits`]).
//!
//! [`LawParams`] (plain, every field public) is checked once by [`LawParams::check`] into a
//! [`LawConfig`] (private fields, getters), which [`LawExperiment::run`] takes: nothing after
//! `check` validates the experiment's parameters again. The training parameters proper (depth,
//! width, learning rate, `measure_every`, device, ...) are the trainer's, and
//! `layerlaw_train::TrainConfig::validate` checks them when training starts, before any
//! epoch.

use layerlaw_data::DatasetKind;
use layerlaw_geometry::FitLayers;
use layerlaw_train::{
    Architecture, BnMeasureMode, Device, EpochStats, OptimizerKind, TrainConfig, TrainOutcome,
};
use serde::Serialize;
use serde_json::Value;

use crate::builder::{DegenerateLayer, ReportBuilder};
use crate::data::{prepare_data, DataSource, Preprocess};
use crate::error::{ExperimentError, Result};
use crate::report::Report;
use crate::splits::{LawSplit, SplitReport};
use crate::training::{
    training_labels, training_layers, DynamicsPoint, MeasuringObserver, Progress,
};

/// Every parameter of a law experiment (defaults: the paper's Fashion-MNIST setting).
#[derive(Clone, Debug, PartialEq)]
pub struct LawParams {
    /// Where the data come from.
    pub data: DataSource,
    /// Number of linear layers including the classifier (the paper: 4, 8, 20).
    pub depth: usize,
    /// Width of the hidden blocks.
    pub width: usize,
    /// Training examples per class (the paper: 100).
    pub per_class: usize,
    /// Images are resized to this side length (the paper: 10, antialiased bilinear as PIL).
    pub image_size: usize,
    /// Optimiser.
    pub optimizer: OptimizerKind,
    /// Learning rate (÷10 at one third and ÷100 at two thirds of the epochs).
    pub lr: f64,
    /// Weight decay (coupled, on all parameters, as torch.optim).
    pub weight_decay: f64,
    /// Epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Seed of the subset, the initialisation and the batch order.
    pub seed: u64,
    /// Measure every layer every N epochs; `None` takes [`default_measure_every`] (about 30 points).
    pub measure_every: Option<usize>,
    /// Measure with BatchNorm in eval mode instead of the official code's train mode.
    pub bn_eval: bool,
    /// BatchNorm after every hidden Linear (`false`: the Linear→ReLU negative control).
    pub batchnorm: bool,
    /// ReLU after every hidden block (`false`: the Linear→BN negative control).
    pub relu: bool,
    /// Where to train (the FNN runs on the CPU only).
    pub device: Device,
    /// Which layers enter the law fit (default: all), at their real indices; checked against
    /// the `depth` measured layers (the input and `depth - 1` hidden blocks).
    pub fit_layers: FitLayers,
    /// The sets of points the trained network's features are measured on at the end, in order
    /// (default: the training subset alone, the paper's measurement). Listing `test` measures
    /// the test set too, with the same BatchNorm mode.
    pub splits: Vec<LawSplit>,
}

impl Default for LawParams {
    fn default() -> Self {
        LawParams {
            data: DataSource::default(),
            depth: 8,
            width: 100,
            per_class: 100,
            image_size: 10,
            optimizer: OptimizerKind::Momentum,
            lr: 0.01,
            weight_decay: 5e-4,
            epochs: 600,
            batch_size: 128,
            seed: 666,
            measure_every: None,
            bn_eval: false,
            batchnorm: true,
            relu: true,
            device: Device::Cpu,
            fit_layers: FitLayers::all(),
            splits: vec![LawSplit::Train],
        }
    }
}

impl LawParams {
    /// Checks the experiment's own parameters (data source, `per_class`, `image_size`) and
    /// builds the training configuration.
    pub fn check(self) -> Result<LawConfig> {
        self.data.check()?;
        if self.per_class == 0 {
            return Err(ExperimentError::invalid("per_class", "must be at least 1"));
        }
        if self.image_size == 0 {
            return Err(ExperimentError::invalid("image_size", "must be at least 1"));
        }
        if self.depth >= 2 && !self.fit_layers.is_all() {
            self.fit_layers.resolve(self.depth)?;
        }
        if self.splits.is_empty() {
            return Err(ExperimentError::invalid(
                "splits",
                "give at least one split",
            ));
        }
        if let Some(dup) =
            (1..self.splits.len()).find(|&i| self.splits[..i].contains(&self.splits[i]))
        {
            return Err(ExperimentError::invalid(
                "splits",
                format!("`{}` is listed twice", self.splits[dup]),
            ));
        }
        let train = TrainConfig {
            architecture: Architecture::Fnn {
                width: self.width,
                depth: self.depth,
                batchnorm: self.batchnorm,
                relu: self.relu,
            },
            optimizer: self.optimizer,
            lr: self.lr,
            momentum: 0.9,
            weight_decay: self.weight_decay,
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed: self.seed,
            measure_every: self
                .measure_every
                .or(Some(default_measure_every(self.epochs))),
            bn_measure: if self.bn_eval {
                BnMeasureMode::Eval
            } else {
                BnMeasureMode::Train { batch: 100 }
            },
            class_loss_weights: None,
            sample_repeats: None,
            threads: None,
            device: self.device,
        };
        Ok(LawConfig {
            params: self,
            train,
        })
    }
}

/// A checked [`LawParams`] with its training configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct LawConfig {
    params: LawParams,
    train: TrainConfig,
}

impl LawConfig {
    /// The parameters it was checked from.
    pub fn params(&self) -> &LawParams {
        &self.params
    }

    /// The trainer's configuration.
    pub fn train_config(&self) -> &TrainConfig {
        &self.train
    }

    /// The dataset.
    pub fn dataset(&self) -> DatasetKind {
        self.params.data.dataset
    }

    /// Number of epochs.
    pub fn epochs(&self) -> usize {
        self.params.epochs
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.params.seed
    }
}

/// The report of a law experiment.
#[derive(Clone, Debug, Serialize)]
pub struct LawReport {
    /// Per-layer geometry of the training features at the end of training and the law fit
    /// (no classifier); its notes hold the data source and remarks.
    #[serde(flatten)]
    pub report: Report,
    /// Accuracy on the training points (BN in eval mode).
    pub train_accuracy: f64,
    /// Accuracy on the test set.
    pub test_accuracy: Option<f64>,
    /// Loss, accuracy and learning rate per epoch.
    pub history: Vec<EpochStats>,
    /// $D_l$ during training (every `measure_every` epochs, and at the end).
    pub dynamics: Vec<DynamicsPoint>,
    /// Wall-clock training time in seconds.
    pub train_seconds: f64,
    /// The report of every split asked for, in order, when they are not the training subset
    /// alone (empty otherwise, and then not serialised); the `train` entry repeats `report`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub splits: Vec<SplitReport>,
}

/// Everything a law experiment produced.
#[derive(Clone, Debug)]
pub struct LawOutcome {
    /// The report.
    pub report: LawReport,
    /// The trained network's outcome (features, classifier, history).
    pub training: TrainOutcome,
    /// Training labels, one per measured row.
    pub labels: Vec<usize>,
    /// Number of classes.
    pub classes: usize,
    /// Checksums of the data for the manifest ([`crate::Prepared::checksums`]).
    pub data_checksums: Value,
}

/// The law-of-equi-separation experiment.
#[derive(Clone, Copy, Debug, Default)]
pub struct LawExperiment;

impl LawExperiment {
    /// Loads and prepares the data, trains, measures the features during and after training and
    /// fits the law. `progress` hears the epochs and the data-source note.
    pub fn run(config: &LawConfig, progress: &mut dyn Progress) -> Result<LawOutcome> {
        let p = &config.params;
        let mut notes = Vec::new();
        let (split, fallback) = p.data.load()?;
        if let Some(note) = fallback {
            progress.note(&note);
            notes.push(note);
        }
        notes.push(format!("data: {}", split.source));
        let k = split.train.num_classes();
        let idx = layerlaw_data::per_class_subset(&split.train.labels, p.per_class, k, p.seed)?;
        let prep = prepare_data(&split, p.data.dataset, p.image_size, &idx, Preprocess::Fnn)?;
        let labels = training_labels(&prep.train.y, k)?;
        progress.run_started("training", p.epochs);
        let want_test = p.splits.contains(&LawSplit::Test);
        let mut obs = MeasuringObserver::new(&labels, progress, true)
            .with_fit_layers(p.fit_layers.clone())
            .with_test_features(want_test);
        let outcome = layerlaw_train::train(&config.train, &prep.train, Some(&prep.test), &mut obs);
        let (dynamics, error) = (std::mem::take(&mut obs.dynamics), obs.error.take());
        let test_features = obs.test_features.take();
        drop(obs);
        progress.run_finished();
        let outcome = outcome?;
        if let Some(e) = error {
            return Err(e);
        }
        let layers = training_layers(&outcome.features)?;
        let report = ReportBuilder::new(&labels)
            .origin("final training features")
            .degenerate(DegenerateLayer::EndReport)
            .fit_layers(p.fit_layers.clone())
            .notes(notes)
            .build(&layers)?;
        let test = match test_features {
            Some(features) => Some(test_report(&features, &prep.test.y, k, &p.fit_layers)?),
            None => None,
        };
        let splits = if p.splits == [LawSplit::Train] {
            Vec::new()
        } else {
            p.splits
                .iter()
                .map(|s| SplitReport {
                    split: s.as_str().to_string(),
                    report: match s {
                        LawSplit::Train => report.clone(),
                        LawSplit::Test => test.clone().unwrap_or_else(|| report.clone()),
                    },
                })
                .collect()
        };
        let mut dynamics = dynamics;
        if dynamics.last().map(|d| d.epoch) != Some(p.epochs) {
            dynamics.push(DynamicsPoint {
                epoch: p.epochs,
                fuzziness: report.fuzziness(),
                law: report.law.clone(),
            });
        }
        let report = LawReport {
            report,
            train_accuracy: outcome.train_accuracy,
            test_accuracy: outcome.test_accuracy,
            history: outcome.history.clone(),
            dynamics,
            train_seconds: outcome.seconds,
            splits,
        };
        Ok(LawOutcome {
            report,
            training: outcome,
            labels: prep.train.y,
            classes: k,
            data_checksums: prep.checksums,
        })
    }
}

/// The report of the test set's features of the trained network (`y`: test labels, `k` classes).
fn test_report(
    features: &layerlaw_train::LayerActivations,
    y: &[usize],
    k: usize,
    fit: &FitLayers,
) -> Result<Report> {
    let labels = training_labels(y, k).map_err(|e| match e {
        ExperimentError::Labels { source, .. } => ExperimentError::Labels {
            what: "test labels".into(),
            source,
        },
        other => other,
    })?;
    let layers = training_layers(features)?;
    ReportBuilder::new(&labels)
        .origin("final test features")
        .degenerate(DegenerateLayer::EndReport)
        .fit_layers(fit.clone())
        .notes(vec!["features of the test set".into()])
        .build(&layers)
}

/// Epochs between measurements when none is asked for: about 30 points over the run (every
/// epoch for runs of up to 30 epochs), so the emergence of the law is visible in the dynamics.
pub fn default_measure_every(epochs: usize) -> usize {
    (epochs / 30).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> LawParams {
        LawParams {
            data: DataSource {
                embedded: true,
                ..DataSource::default()
            },
            depth: 3,
            width: 16,
            per_class: 10,
            epochs: 2,
            measure_every: Some(1),
            ..LawParams::default()
        }
    }

    #[test]
    fn check_refuses_what_training_would_not_catch() {
        let bad = LawParams {
            per_class: 0,
            ..tiny()
        };
        assert!(matches!(
            bad.check(),
            Err(ExperimentError::InvalidParam {
                param: "per_class",
                ..
            })
        ));
        let mnist = LawParams {
            data: DataSource {
                dataset: DatasetKind::Mnist,
                embedded: true,
                data_dir: None,
            },
            ..tiny()
        };
        assert!(mnist.check().is_err());
    }

    #[test]
    fn a_short_run_reports_every_layer_and_the_dynamics() {
        let cfg = tiny().check().unwrap();
        let out = LawExperiment::run(&cfg, &mut crate::Silent).unwrap();
        let r = &out.report;
        // Input + 2 hidden blocks (depth 3 = 2 blocks + the classifier).
        assert_eq!(r.report.layers.len(), 3);
        assert_eq!((r.report.n, r.report.classes), (100, 10));
        assert_eq!(r.history.len(), 2);
        // Measured after epochs 1 and 2 (the last one is the final measurement).
        let epochs: Vec<usize> = r.dynamics.iter().map(|d| d.epoch).collect();
        assert_eq!(epochs, vec![1, 2]);
        assert_eq!(r.dynamics[1].fuzziness, r.report.fuzziness());
        assert!(r.report.notes.iter().any(|n| n.starts_with("data: ")));
        assert_eq!(out.labels.len(), 100);
        assert!(r.splits.is_empty());
        assert!(serde_json::to_value(r).unwrap().get("splits").is_none());
        // The depth is the trainer's to check, when training starts.
        let deep = LawParams { depth: 1, ..tiny() }.check().unwrap();
        let err = LawExperiment::run(&deep, &mut crate::Silent).unwrap_err();
        assert!(err.to_string().contains("depth"), "{err}");
    }

    #[test]
    fn the_test_split_is_measured_with_the_same_fit_layers() {
        let cfg = LawParams {
            epochs: 1,
            fit_layers: "1..".parse().unwrap(),
            splits: vec![LawSplit::Train, LawSplit::Test],
            ..tiny()
        }
        .check()
        .unwrap();
        let out = LawExperiment::run(&cfg, &mut crate::Silent).unwrap();
        let r = &out.report;
        let names: Vec<&str> = r.splits.iter().map(|s| s.split.as_str()).collect();
        assert_eq!(names, ["train", "test"]);
        let test = &r.splits[1].report;
        // The embedded slice's first 1,000 test images.
        assert_eq!((test.n, test.layers.len()), (1000, 3));
        assert_ne!(test.fuzziness(), r.report.fuzziness());
        assert_eq!(r.splits[0].report.fuzziness(), r.report.fuzziness());
        for law in [&r.report.law, &test.law, &r.dynamics[0].law] {
            assert_eq!(law.as_ref().unwrap().fit_layers, vec![1, 2]);
        }
        // Fit layers beyond the depth, or a split listed twice, are refused before training.
        let err = LawParams {
            fit_layers: "1..5".parse().unwrap(),
            ..tiny()
        }
        .check()
        .unwrap_err();
        assert!(err.to_string().contains("0..2"), "{err}");
        let twice = LawParams {
            splits: vec![LawSplit::Test, LawSplit::Test],
            ..tiny()
        };
        assert!(twice.check().unwrap_err().to_string().contains("twice"));
    }
}
