//! The CLI's error type: every failure of a subcommand, with the file, layer or flag at fault.

use std::path::PathBuf;

use layerlaw_experiments::ExperimentError;
use layerlaw_train::TrainError;

/// Everything a `layerlaw` subcommand can fail with. Printed as `error: ...`, exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Reading a feature file failed.
    #[error(transparent)]
    Io(#[from] layerlaw_io::IoError),
    /// Building a report or running an experiment failed.
    #[error(transparent)]
    Experiment(ExperimentError),
    /// Loading or running an ONNX model failed.
    #[error(transparent)]
    Onnx(#[from] layerlaw_onnx::OnnxError),
    /// The Layer-Peeled Model problem was invalid.
    #[error(transparent)]
    Lpm(#[from] layerlaw_lpm::LpmError),
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

/// Training-configuration fields that are command-line flags of the same name (with dashes).
const TRAIN_FLAGS: [&str; 7] = [
    "depth",
    "width",
    "epochs",
    "lr",
    "weight_decay",
    "batch_size",
    "measure_every",
];

/// Names the flag at fault where the error is about one: an experiment parameter, or a training
/// field that is a flag (`measure_every` → `--measure-every`).
impl From<ExperimentError> for CliError {
    fn from(e: ExperimentError) -> Self {
        match e {
            ExperimentError::InvalidParam { param, reason } => CliError::Usage {
                flag: param.replace('_', "-"),
                reason,
            },
            ExperimentError::Train(TrainError::InvalidConfig {
                field,
                value,
                reason,
            }) if TRAIN_FLAGS.contains(&field) => CliError::Usage {
                flag: field.replace('_', "-"),
                reason: format!("got {value}; {reason}"),
            },
            other => CliError::Experiment(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_and_training_fields_name_their_flag() {
        let e: CliError =
            ExperimentError::invalid("minority_loss_weight", "must be positive").into();
        assert_eq!(
            e.to_string(),
            "invalid --minority-loss-weight: must be positive"
        );
        let e: CliError = ExperimentError::Train(TrainError::InvalidConfig {
            field: "measure_every",
            value: "0".into(),
            reason: "must be positive",
        })
        .into();
        assert_eq!(
            e.to_string(),
            "invalid --measure-every: got 0; must be positive"
        );
        let e: CliError = ExperimentError::Train(TrainError::InvalidConfig {
            field: "momentum",
            value: "2".into(),
            reason: "must be in [0, 1)",
        })
        .into();
        assert!(matches!(e, CliError::Experiment(_)));
    }
}
