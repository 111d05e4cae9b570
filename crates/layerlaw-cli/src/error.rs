//! The CLI's error type: every failure of a subcommand, with the file, layer or field at fault.

use std::path::PathBuf;

/// Everything a `layerlaw` subcommand can fail with. Printed as `error: ...`, exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Reading a feature file failed.
    #[error(transparent)]
    Io(#[from] layerlaw_io::IoError),
    /// A geometry computation failed on one layer.
    #[error("layer '{layer}' of {file}: {source}")]
    Geometry {
        /// The file the layer came from.
        file: String,
        /// The layer's name.
        layer: String,
        /// What went wrong.
        source: layerlaw_geometry::GeometryError,
    },
    /// A geometry computation that is not tied to one layer failed (labels, law fit, classifier).
    #[error("{context}: {source}")]
    Analysis {
        /// What was being computed.
        context: String,
        /// What went wrong.
        source: layerlaw_geometry::GeometryError,
    },
    /// The Layer-Peeled Model problem was invalid.
    #[error(transparent)]
    Lpm(#[from] layerlaw_lpm::LpmError),
    /// Loading or preparing a dataset failed.
    #[error(transparent)]
    Data(#[from] layerlaw_data::DataError),
    /// Training failed.
    #[error(transparent)]
    Train(#[from] layerlaw_train::TrainError),
    /// A plot could not be written.
    #[error("cannot write plot {path}: {reason}")]
    Plot {
        /// The plot file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// An output file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The output file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A command-line value is invalid.
    #[error("invalid --{flag}: {reason}")]
    Usage {
        /// The flag at fault (without the dashes).
        flag: String,
        /// Why it is invalid.
        reason: String,
    },
}

impl CliError {
    /// Shorthand for a [`CliError::Usage`].
    pub fn usage(flag: &str, reason: impl Into<String>) -> Self {
        CliError::Usage {
            flag: flag.to_string(),
            reason: reason.into(),
        }
    }
}
