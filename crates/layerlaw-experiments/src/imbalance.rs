//! The Minority Collapse experiment (Fang, He, Long & Su, PNAS 2021): train on step-imbalanced
//! (or arbitrary) class counts, report per-class accuracy, the minority/majority classifier
//! geometry, NC1–NC4 and $D_l$ over all layers, with the Layer-Peeled Model's prediction for the
//! same counts beside it.
//!
//! [`ImbalanceParams`] is checked once by [`ImbalanceParams::check`] into an
//! [`ImbalanceConfig`]; the class counts of every run are checked against the dataset before the
//! first run trains; the training parameters proper are checked by the trainer when each run
//! starts.

use layerlaw_data::Split;
use layerlaw_geometry::FitLayers;
use layerlaw_train::{Architecture, BnMeasureMode, Device, OptimizerKind, TrainConfig};
use serde_json::Value;

use crate::builder::{Classifier, DegenerateLayer, ReportBuilder};
use crate::data::{prepare_data, DataSource, Preprocess};
use crate::error::{ExperimentError, Result};
use crate::imbalance_run::{group_accuracy, lpm_prediction, ImbalanceRun, LastLayerCollapse};
use crate::training::{training_labels, training_layers, MeasuringObserver, Progress};

/// Network families of the paper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Model {
    /// Feedforward Linear→BN→ReLU net (`depth`, `width`), 10×10 inputs by default.
    Fnn,
    /// VGG11 with BN (kuangliu style, fc 4096-4096), 32×32 input.
    Vgg11,
    /// ResNet18 (kuangliu style), 32×32 input.
    Resnet18,
}

/// Every parameter of an imbalance experiment (defaults: the paper's Fashion-MNIST setting).
#[derive(Clone, Debug, PartialEq)]
pub struct ImbalanceParams {
    /// Where the data come from.
    pub data: DataSource,
    /// Network.
    pub model: Model,
    /// Number of majority classes $K_A$ (the first $K_A$ labels).
    pub majority: usize,
    /// Training examples per majority class $n_A$.
    pub n_majority: usize,
    /// Imbalance ratio $R$: minority classes keep $n_B = \lfloor n_A / R\rfloor$ examples.
    pub ratio: f64,
    /// A sweep over ratios instead of `ratio` (one run each).
    pub ratios: Option<Vec<f64>>,
    /// Arbitrary per-class training counts instead of `majority`/`n_majority`/`ratio`; the
    /// classes with fewer than the largest count are the minority.
    pub counts: Option<Vec<usize>>,
    /// Show every minority example this many times per epoch (≥ 1).
    pub oversample: usize,
    /// Multiply the minority classes' loss terms by this weight (> 0).
    pub minority_loss_weight: f64,
    /// FNN depth (linear layers including the classifier).
    pub depth: usize,
    /// FNN width.
    pub width: usize,
    /// Image side length (default: 10 for the FNN, 32 for the CNNs).
    pub image_size: Option<usize>,
    /// Optimiser.
    pub optimizer: OptimizerKind,
    /// Learning rate, ÷10 at one third and ÷100 at two thirds of the epochs.
    pub lr: f64,
    /// Weight decay.
    pub weight_decay: f64,
    /// Epochs.
    pub epochs: usize,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Seed of the subset, initialisation and batch order.
    pub seed: u64,
    /// Measure features with BatchNorm in eval mode (default: train mode on batches of 100).
    pub bn_eval: bool,
    /// Where to train (the GPU runs VGG11 and ResNet18).
    pub device: Device,
    /// $E_W$ of the Layer-Peeled Model shown beside the network.
    pub ew: f64,
    /// $E_H$ of the Layer-Peeled Model shown beside the network.
    pub eh: f64,
    /// Which layers enter each run's law fit (default: all), at their real indices; checked
    /// against the FNN's `depth` measured layers before training, against the layers a CNN
    /// reports after it.
    pub fit_layers: FitLayers,
}

impl Default for ImbalanceParams {
    fn default() -> Self {
        ImbalanceParams {
            data: DataSource::default(),
            model: Model::Fnn,
            majority: 5,
            n_majority: 6000,
            ratio: 100.0,
            ratios: None,
            counts: None,
            oversample: 1,
            minority_loss_weight: 1.0,
            depth: 4,
            width: 100,
            image_size: None,
            optimizer: OptimizerKind::Momentum,
            lr: 0.1,
            weight_decay: 5e-4,
            epochs: 350,
            batch_size: 128,
            seed: 666,
            bn_eval: false,
            device: Device::Cpu,
            ew: 1.0,
            eh: 5.0,
            fit_layers: FitLayers::all(),
        }
    }
}

impl ImbalanceParams {
    /// Checks the experiment's own parameters (data source, ratios against counts, oversampling,
    /// minority weight, image size).
    pub fn check(self) -> Result<ImbalanceConfig> {
        self.data.check()?;
        let ratios = match (&self.ratios, &self.counts) {
            (Some(_), Some(_)) => {
                return Err(ExperimentError::invalid(
                    "ratios",
                    "cannot be combined with counts",
                ))
            }
            (Some(r), None) if r.is_empty() => {
                return Err(ExperimentError::invalid(
                    "ratios",
                    "give at least one ratio",
                ))
            }
            (Some(r), None) => r.clone(),
            (None, _) => vec![self.ratio],
        };
        if self.oversample == 0 {
            return Err(ExperimentError::invalid("oversample", "must be at least 1"));
        }
        if !(self.minority_loss_weight.is_finite() && self.minority_loss_weight > 0.0) {
            return Err(ExperimentError::invalid(
                "minority_loss_weight",
                "must be a positive number",
            ));
        }
        if self.image_size == Some(0) {
            return Err(ExperimentError::invalid("image_size", "must be at least 1"));
        }
        if self.model == Model::Fnn && self.depth >= 2 && !self.fit_layers.is_all() {
            self.fit_layers.resolve(self.depth)?;
        }
        Ok(ImbalanceConfig {
            params: self,
            ratios,
        })
    }
}

/// A checked [`ImbalanceParams`].
#[derive(Clone, Debug, PartialEq)]
pub struct ImbalanceConfig {
    params: ImbalanceParams,
    ratios: Vec<f64>,
}

impl ImbalanceConfig {
    /// The parameters it was checked from.
    pub fn params(&self) -> &ImbalanceParams {
        &self.params
    }

    /// The ratio of each run, in order (one entry, unused, with explicit counts).
    pub fn ratios(&self) -> &[f64] {
        &self.ratios
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.params.seed
    }

    /// The architecture trained.
    pub fn architecture(&self) -> Architecture {
        match self.params.model {
            Model::Fnn => Architecture::Fnn {
                width: self.params.width,
                depth: self.params.depth,
                batchnorm: true,
                relu: true,
            },
            Model::Vgg11 => Architecture::Vgg11,
            Model::Resnet18 => Architecture::ResNet18,
        }
    }

    /// Training counts per class and the minority classes for ratio `ratio` on `k` classes.
    pub fn training_counts(&self, ratio: f64, k: usize) -> Result<(Vec<usize>, Vec<usize>)> {
        let p = &self.params;
        match &p.counts {
            Some(c) => {
                if c.len() != k {
                    return Err(ExperimentError::invalid(
                        "counts",
                        format!("has {} entries but the dataset has {k} classes", c.len()),
                    ));
                }
                let max = c.iter().copied().max().unwrap_or(0);
                Ok((c.clone(), (0..k).filter(|&i| c[i] < max).collect()))
            }
            None => {
                let counts =
                    layerlaw_data::step_imbalance_counts(k, p.majority, p.n_majority, ratio)?;
                Ok((counts, (p.majority..k).collect()))
            }
        }
    }
}

/// Everything an imbalance experiment produced.
#[derive(Debug)]
pub struct ImbalanceOutcome {
    /// One report per ratio (or the one run with explicit counts).
    pub runs: Vec<ImbalanceRun>,
    /// Where the data came from.
    pub data_source: String,
    /// Remarks on the data (e.g. the fallback to the embedded slice).
    pub notes: Vec<String>,
    /// Checksums of each run's prepared data, for the manifest.
    pub data_checksums: Vec<Value>,
}

/// The Minority Collapse experiment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ImbalanceExperiment;

impl ImbalanceExperiment {
    /// Loads the data, checks every run's class counts, then trains and reports each run.
    pub fn run(config: &ImbalanceConfig, progress: &mut dyn Progress) -> Result<ImbalanceOutcome> {
        let mut notes = Vec::new();
        let (split, fallback) = config.params.data.load()?;
        if let Some(note) = fallback {
            progress.note(&note);
            notes.push(note);
        }
        let k = split.train.num_classes();
        for &r in config.ratios() {
            config.training_counts(r, k)?;
        }
        let mut runs = Vec::with_capacity(config.ratios().len());
        let mut data_checksums = Vec::with_capacity(config.ratios().len());
        for &r in config.ratios() {
            runs.push(one_run(config, &split, r, &mut data_checksums, progress)?);
        }
        Ok(ImbalanceOutcome {
            runs,
            data_source: split.source.clone(),
            notes,
            data_checksums,
        })
    }
}

fn one_run(
    config: &ImbalanceConfig,
    split: &Split,
    ratio: f64,
    data_log: &mut Vec<Value>,
    progress: &mut dyn Progress,
) -> Result<ImbalanceRun> {
    let p = &config.params;
    let k = split.train.num_classes();
    let (counts, minority) = config.training_counts(ratio, k)?;
    let idx = layerlaw_data::counts_subset(&split.train.labels, &counts, p.seed)?;
    let (how, default_size) = match p.model {
        Model::Fnn => (Preprocess::Fnn, 10),
        Model::Vgg11 | Model::Resnet18 => (Preprocess::Cnn, 32),
    };
    let size = p.image_size.unwrap_or(default_size);
    let prep = prepare_data(split, p.data.dataset, size, &idx, how)?;
    data_log.push(prep.checksums.clone());
    let is_minority = |c: usize| minority.contains(&c);
    let sample_repeats = (p.oversample > 1).then(|| {
        prep.train
            .y
            .iter()
            .map(|&c| if is_minority(c) { p.oversample } else { 1 })
            .collect()
    });
    let class_loss_weights = (p.minority_loss_weight != 1.0).then(|| {
        (0..k)
            .map(|c| {
                if is_minority(c) {
                    p.minority_loss_weight as f32
                } else {
                    1.0
                }
            })
            .collect()
    });
    let cfg = TrainConfig {
        architecture: config.architecture(),
        optimizer: p.optimizer,
        lr: p.lr,
        momentum: 0.9,
        weight_decay: p.weight_decay,
        epochs: p.epochs,
        batch_size: p.batch_size,
        seed: p.seed,
        measure_every: None,
        bn_measure: if p.bn_eval {
            BnMeasureMode::Eval
        } else {
            BnMeasureMode::Train { batch: 100 }
        },
        class_loss_weights,
        sample_repeats,
        threads: None,
        device: p.device,
    };
    let labels = training_labels(&prep.train.y, k)?;
    progress.run_started(&format!("R = {ratio}"), p.epochs);
    let mut obs = MeasuringObserver::new(&labels, progress, false);
    let outcome = layerlaw_train::train(&cfg, &prep.train, Some(&prep.test), &mut obs);
    drop(obs);
    progress.run_finished();
    let outcome = outcome?;
    let w: Vec<f64> = outcome
        .classifier_weight
        .iter()
        .map(|&v| v as f64)
        .collect();
    let b: Vec<f64> = outcome.classifier_bias.iter().map(|&v| v as f64).collect();
    let layers = training_layers(&outcome.features)?;
    let report = ReportBuilder::new(&labels)
        .origin("training features")
        .degenerate(DegenerateLayer::EndReport)
        .fit_layers(p.fit_layers.clone())
        .classifier(Some(Classifier {
            weight: faer::MatRef::from_row_major_slice(&w, k, outcome.penultimate_dim),
            bias: Some(&b),
            minority: &minority,
        }))
        .build(&layers)?;
    let (Some(classifier), Some(last)) = (report.classifier.clone(), report.layers.last()) else {
        return Err(ExperimentError::NoLayer {
            origin: "training features".into(),
            reason: "the network reported no layer".into(),
        });
    };
    let last = last.separation.clone();
    let per_class = outcome.test_per_class_accuracy.clone().unwrap_or_default();
    let test_counts = split.test.class_counts();
    let majority: Vec<usize> = (0..k).filter(|c| !is_minority(*c)).collect();
    let groups = classifier.groups;
    Ok(ImbalanceRun {
        ratio: p.counts.is_none().then_some(ratio),
        minority_classes: minority.clone(),
        oversample: p.oversample,
        minority_loss_weight: p.minority_loss_weight,
        test_accuracy: outcome.test_accuracy.unwrap_or(f64::NAN),
        majority_accuracy: group_accuracy(&per_class, &test_counts, &majority),
        minority_accuracy: group_accuracy(&per_class, &test_counts, &minority),
        per_class_accuracy: per_class,
        minority_cosine: groups.minority.mean_cosine,
        majority_cosine: groups.majority.mean_cosine,
        minority_norm: groups.minority.mean_norm,
        majority_norm: groups.majority.mean_norm,
        minority_distance: groups.minority.mean_distance,
        classifier: groups,
        neural_collapse: LastLayerCollapse {
            separation: last,
            classifier: classifier.collapse,
        },
        definitions: report.definitions,
        layers: report.layers,
        law: report.law,
        lpm: lpm_prediction(
            &counts,
            &minority,
            p.oversample as f64 * p.minority_loss_weight,
            p.ew,
            p.eh,
        )?,
        counts,
        train_accuracy: outcome.train_accuracy,
        seconds_per_epoch: outcome.seconds_per_epoch,
        history: outcome.history,
        notes: report.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ImbalanceParams {
        ImbalanceParams {
            data: DataSource {
                embedded: true,
                ..DataSource::default()
            },
            n_majority: 20,
            ratio: 10.0,
            epochs: 1,
            width: 16,
            ..ImbalanceParams::default()
        }
    }

    #[test]
    fn check_refuses_bad_combinations() {
        let both = ImbalanceParams {
            ratios: Some(vec![1.0]),
            counts: Some(vec![1; 10]),
            ..tiny()
        };
        assert!(matches!(
            both.check(),
            Err(ExperimentError::InvalidParam {
                param: "ratios",
                ..
            })
        ));
        let none = ImbalanceParams {
            ratios: Some(vec![]),
            ..tiny()
        };
        assert!(none.check().is_err());
        let zero = ImbalanceParams {
            oversample: 0,
            ..tiny()
        };
        assert!(zero.check().is_err());
        let w = ImbalanceParams {
            minority_loss_weight: f64::NAN,
            ..tiny()
        };
        assert!(w.check().is_err());
        let cfg = ImbalanceParams {
            counts: Some(vec![3, 1, 3]),
            ..tiny()
        }
        .check()
        .unwrap();
        assert!(cfg.training_counts(1.0, 10).is_err());
        let (c, minority) = cfg.training_counts(1.0, 3).unwrap();
        assert_eq!((c, minority), (vec![3, 1, 3], vec![1]));
    }

    #[test]
    fn one_tiny_run_reports_the_groups_and_the_lpm() {
        let cfg = tiny().check().unwrap();
        let out = ImbalanceExperiment::run(&cfg, &mut crate::Silent).unwrap();
        assert_eq!(out.runs.len(), 1);
        let r = &out.runs[0];
        assert_eq!(r.counts, vec![20, 20, 20, 20, 20, 2, 2, 2, 2, 2]);
        assert_eq!(r.minority_classes, vec![5, 6, 7, 8, 9]);
        assert_eq!(r.layers.len(), 4);
        assert_eq!(r.classifier.minority.classes, r.minority_classes);
        assert_eq!(r.neural_collapse.separation.dim, 16);
        assert!(
            r.lpm.status.contains("Solved") || r.lpm.status.contains("Almost"),
            "{}",
            r.lpm.status
        );
        assert_eq!(out.data_checksums.len(), 1);
    }
}
