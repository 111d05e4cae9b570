//! # layerlaw-experiments
//!
//! The experiments and reports of layerlaw, shared by every front end (the `layerlaw` CLI, the
//! Python module):
//!
//! * [`ReportBuilder`] → [`Report`]: from named layers ([`layerlaw_geometry::NamedLayer`]),
//!   labels and an optional [`Classifier`] to the one report type: every layer's He–Su
//!   separation fuzziness $D_l = \mathrm{Tr}(SS_w SS_b^+)$ with NC1/NC2 ([`LayerReport`]), the
//!   law of equi-separation $\ln D_l = \ln D_0 + l\ln\rho$ (He & Su, PNAS 2023), NC3/NC4 and the
//!   minority/majority classifier geometry ([`ClassifierReport`]), and notes.
//!   [`measure_feature_set`] does it for a feature file. A law that cannot be fitted (fewer than
//!   two layers, a layer with $D \le 0$ or non-finite) is never an error: `law` is `None` and a
//!   note `"law not fitted: <reason>"` says why.
//! * Which layers enter the fit: [`ReportBuilder::fit_layers`] and [`Report::refit`] take a
//!   [`layerlaw_geometry::FitLayers`] (`1..`, `0,2..5`); every fit carries the fitted indices
//!   and the residual of every layer. Reports side by side (training and test set, several
//!   files) are [`SplitReport`]s; [`csv`] writes per-layer tables from one column list.
//! * Data for the training experiments: [`DataSource`] (dataset, directory, the embedded
//!   Fashion-MNIST fallback), [`Preprocess`] tables and [`prepare_data`].
//! * [`LawExperiment`] (He & Su's Figure 1) and [`ImbalanceExperiment`] (Minority Collapse,
//!   Fang, He, Long & Su, PNAS 2021), each run from a config checked once, in the param-guard
//!   style: [`LawParams::check`] → [`LawConfig`], [`ImbalanceParams::check`] →
//!   [`ImbalanceConfig`]. Progress goes to a [`Progress`].
//! * [`save_features`] and the run [`manifest`] (configuration, seed, versions, SHA-256 of data
//!   files, indices and features).
//!
//! The training experiments need the default feature `training`; without it the crate is the
//! report builder alone (on `layerlaw-geometry` and `layerlaw-io`).
//!
//! Every failure is an [`ExperimentError`] naming the file, layer or parameter at fault.

#![deny(missing_docs)]

mod builder;
pub mod csv;
#[cfg(feature = "training")]
mod data;
mod error;
#[cfg(feature = "training")]
mod features;
#[cfg(feature = "training")]
mod imbalance;
#[cfg(feature = "training")]
mod imbalance_run;
#[cfg(feature = "training")]
mod law;
#[cfg(feature = "training")]
mod manifest;
mod measure;
mod report;
mod splits;
#[cfg(feature = "training")]
mod training;

pub use builder::{Classifier, DegenerateLayer, ReportBuilder};
#[cfg(feature = "training")]
pub use data::{f32_bytes, prepare_data, DataSource, Prepared, Preprocess};
pub use error::{ExperimentError, Result};
#[cfg(feature = "training")]
pub use features::{save_features, saved_layer_key, sha256_file};
#[cfg(feature = "training")]
pub use imbalance::{
    ImbalanceConfig, ImbalanceExperiment, ImbalanceOutcome, ImbalanceParams, Model,
};
#[cfg(feature = "training")]
pub use imbalance_run::{
    group_accuracy, lpm_prediction, ImbalanceRun, LastLayerCollapse, LpmPrediction,
};
#[cfg(feature = "training")]
pub use law::{default_measure_every, LawConfig, LawExperiment, LawOutcome, LawParams, LawReport};
#[cfg(feature = "training")]
pub use manifest::manifest;
pub use measure::measure_feature_set;
pub use report::{
    ClassifierReport, LayerReport, Report, LAW_INTERVALS_NOT_COMPUTED, LAW_NOT_FITTED,
};
pub use splits::{LawSplit, SplitReport};
#[cfg(feature = "training")]
pub use training::{training_labels, training_layers, DynamicsPoint, Progress, Silent};
