//! What the training experiments share: the features of a trained network as named layers,
//! training labels, progress reporting ([`Progress`]) and the measurement of $D_l$ during
//! training ([`DynamicsPoint`]).

use layerlaw_geometry::{FitLayers, Labels, LawFit, NamedLayer};
use layerlaw_train::{EpochStats, LayerActivations, TrainError, TrainObserver};
use serde::Serialize;

use crate::builder::{DegenerateLayer, ReportBuilder};
use crate::error::{ExperimentError, Result};

/// What a front end hears while an experiment runs (every method does nothing by default).
pub trait Progress {
    /// A training run of `epochs` epochs starts (`label`: e.g. `"training"`, `"R = 100"`).
    fn run_started(&mut self, _label: &str, _epochs: usize) {}
    /// One epoch ended.
    fn epoch(&mut self, _stats: &EpochStats) {}
    /// The training run ended (successfully or not).
    fn run_finished(&mut self) {}
    /// A remark worth showing at once (e.g. the fallback to the embedded dataset); it is also
    /// kept in the report's notes.
    fn note(&mut self, _note: &str) {}
}

/// A [`Progress`] that shows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {}

/// $D_l$ of every layer at one epoch of training.
#[derive(Clone, Debug, Serialize)]
pub struct DynamicsPoint {
    /// Epoch (1-based: after that many epochs).
    pub epoch: usize,
    /// $D_l$ for every measured layer.
    pub fuzziness: Vec<f64>,
    /// The law fit at that epoch (`None` when it cannot be fitted).
    pub law: Option<LawFit>,
}

/// The features of a trained network (train's row-major f32 layers) as named views
/// ([`LayerActivations::views`]); a layer that cannot be viewed is an error naming it.
pub fn training_layers(features: &LayerActivations) -> Result<Vec<NamedLayer<'_>>> {
    features.views().map_err(|e| match e {
        TrainError::LayerView { layer, source } => ExperimentError::Layer {
            origin: Some("training features".into()),
            layer,
            source,
        },
        other => other.into(),
    })
}

/// Training labels `y` (classes `0..k`) as validated geometry labels.
pub fn training_labels(y: &[usize], k: usize) -> Result<Labels> {
    let raw: Vec<i64> = y.iter().map(|&v| v as i64).collect();
    Labels::new(&raw, Some(k)).map_err(|source| ExperimentError::Labels {
        what: "training labels".into(),
        source,
    })
}

/// The trainer's observer: forwards epochs to a [`Progress`] and, when `measure` is on,
/// measures every layer at each measurement epoch.
pub(crate) struct MeasuringObserver<'a> {
    labels: &'a Labels,
    progress: &'a mut dyn Progress,
    measure: bool,
    fit_layers: FitLayers,
    want_test: bool,
    /// The test set's features at the end of training, when asked for
    /// ([`MeasuringObserver::with_test_features`]).
    pub test_features: Option<LayerActivations>,
    /// $D_l$ at each measurement.
    pub dynamics: Vec<DynamicsPoint>,
    /// The first measurement error, if any.
    pub error: Option<ExperimentError>,
}

impl<'a> MeasuringObserver<'a> {
    /// An observer reporting to `progress`; `measure` turns the measurements on.
    pub fn new(labels: &'a Labels, progress: &'a mut dyn Progress, measure: bool) -> Self {
        MeasuringObserver {
            labels,
            progress,
            measure,
            fit_layers: FitLayers::all(),
            want_test: false,
            test_features: None,
            dynamics: Vec::new(),
            error: None,
        }
    }

    /// Fits the law of each measurement over these layers.
    pub fn with_fit_layers(mut self, fit: FitLayers) -> Self {
        self.fit_layers = fit;
        self
    }

    /// Keeps the test set's features at the end of training in `test_features`.
    pub fn with_test_features(mut self, want: bool) -> Self {
        self.want_test = want;
        self
    }

    fn point(&self, epoch: usize, features: &LayerActivations) -> Result<DynamicsPoint> {
        let layers = training_layers(features)?;
        let report = ReportBuilder::new(self.labels)
            .origin("training features")
            .degenerate(DegenerateLayer::EndReport)
            .fit_layers(self.fit_layers.clone())
            .build(&layers)?;
        Ok(DynamicsPoint {
            epoch,
            fuzziness: report.fuzziness(),
            law: report.law,
        })
    }
}

impl TrainObserver for MeasuringObserver<'_> {
    fn on_epoch(&mut self, s: &EpochStats) {
        self.progress.epoch(s);
    }

    fn on_measure(&mut self, epoch: usize, features: &LayerActivations) {
        if !self.measure || self.error.is_some() {
            return;
        }
        match self.point(epoch, features) {
            Ok(p) => self.dynamics.push(p),
            Err(e) => self.error = Some(e),
        }
    }

    fn wants_test_features(&self) -> bool {
        self.want_test
    }

    fn on_test_measure(&mut self, features: &LayerActivations) {
        self.test_features = Some(features.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_features_become_named_views() {
        let f = LayerActivations {
            names: vec!["input".into(), "block1".into()],
            dims: vec![2, 1],
            data: vec![vec![0.0, 1.0, 2.0, 3.0], vec![5.0, 6.0]],
        };
        let layers = training_layers(&f).unwrap();
        assert_eq!(layers[0].name, "input");
        assert_eq!((layers[0].nrows(), layers[0].ncols()), (2, 2));
        assert_eq!((layers[1].nrows(), layers[1].ncols()), (2, 1));
        let bad = LayerActivations {
            names: vec!["x".into()],
            dims: vec![3],
            data: vec![vec![0.0; 4]],
        };
        let err = training_layers(&bad).unwrap_err();
        assert!(
            err.to_string().contains("'x' of training features"),
            "{err}"
        );
        let err = training_labels(&[0, 3], 2).unwrap_err();
        assert!(err.to_string().starts_with("training labels"), "{err}");
    }
}
