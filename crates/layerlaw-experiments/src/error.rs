//! [`ExperimentError`]: every way building a report or running an experiment can fail, naming
//! the file, layer, parameter or class at fault.

use std::path::PathBuf;

use layerlaw_geometry::GeometryError;

/// Everything the experiments and the report builder can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// A parameter of an experiment is invalid (found by `check()`, before any data is read).
    #[error("invalid {param}: {reason}")]
    InvalidParam {
        /// The parameter at fault, as spelled in the params struct (e.g. `"oversample"`).
        param: &'static str,
        /// Why it is invalid, with the value given.
        reason: String,
    },
    /// The separation of one layer could not be computed.
    #[error("layer '{layer}'{}: {source}", .origin.as_ref().map(|o| format!(" of {o}")).unwrap_or_default())]
    Layer {
        /// Where the layers came from (a file, "training features"); `None` when the caller
        /// named nothing.
        origin: Option<String>,
        /// The layer's name.
        layer: String,
        /// What went wrong.
        source: GeometryError,
    },
    /// A layer of a feature set is not an f32/f64 array of `rows × cols` values (integer data,
    /// or a length that does not match its shape), so it cannot be measured.
    #[error("layer '{layer}' is not a float32/float64 array of rows x cols values; it cannot be measured")]
    UnviewableLayer {
        /// The layer's name.
        layer: String,
    },
    /// NC3/NC4 or the classifier geometry could not be computed.
    #[error("classifier against layer '{layer}': {source}")]
    Classifier {
        /// The layer the classifier was checked against (the last one).
        layer: String,
        /// What went wrong.
        source: GeometryError,
    },
    /// The class labels are invalid (negative, out of range, an empty class, fewer than two).
    #[error("{what}: {source}")]
    Labels {
        /// Which labels (e.g. `"labels of f.npz"`, `"training labels"`).
        what: String,
        /// What went wrong.
        source: GeometryError,
    },
    /// No layer could be measured (the first layer already has all class means equal).
    #[error("no layer of {origin} could be measured: {reason}")]
    NoLayer {
        /// Where the layers came from.
        origin: String,
        /// Why.
        reason: String,
    },
    /// The layers chosen for the law fit do not fit the layers at hand.
    #[error(transparent)]
    FitLayers(#[from] layerlaw_geometry::FitLayersError),
    /// Reading or writing a feature file failed.
    #[error(transparent)]
    Io(#[from] layerlaw_io::IoError),
    #[cfg(feature = "training")]
    /// Loading or preparing a dataset failed.
    #[error(transparent)]
    Data(#[from] layerlaw_data::DataError),
    #[cfg(feature = "training")]
    /// Training failed (including an invalid training configuration).
    #[error(transparent)]
    Train(#[from] layerlaw_train::TrainError),
    #[cfg(feature = "training")]
    /// The Layer-Peeled Model beside an imbalance run could not be set up or solved.
    #[error(transparent)]
    Lpm(#[from] layerlaw_lpm::LpmError),
    /// A file could not be read back (e.g. for its checksum).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl ExperimentError {
    /// Shorthand for [`ExperimentError::InvalidParam`].
    pub fn invalid(param: &'static str, reason: impl Into<String>) -> Self {
        ExperimentError::InvalidParam {
            param,
            reason: reason.into(),
        }
    }

    /// The geometry error underneath, if this error comes from a geometry computation.
    pub fn geometry(&self) -> Option<&GeometryError> {
        match self {
            ExperimentError::Layer { source, .. }
            | ExperimentError::Classifier { source, .. }
            | ExperimentError::Labels { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Results of this crate.
pub type Result<T, E = ExperimentError> = std::result::Result<T, E>;
