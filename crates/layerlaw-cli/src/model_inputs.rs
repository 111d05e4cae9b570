//! The inputs `layerlaw measure-model` feeds a model: a dataset's images, resized and normalised
//! to the model's input, or an array from a file; with their labels and checksums.

use std::path::Path;

use layerlaw_data::{per_class_subset, sha256_hex, to_normalized_f32, ChannelMode, ImageSet};
use layerlaw_experiments::{f32_bytes, DataSource, ExperimentError, Preprocess};
use layerlaw_io::{read_arrays, ArrayData};
use serde_json::{json, Value};

use crate::error::CliError;

/// Inputs ready for the model: `x` holds `shape[0]` samples in row-major order.
pub struct ModelInputs {
    /// The values, `shape.iter().product()` of them.
    pub x: Vec<f32>,
    /// Batch axis first: `[n, c, h, w]` or `[n, d]`.
    pub shape: Vec<usize>,
    /// One label per sample, in `0..num_classes`.
    pub labels: Vec<usize>,
    /// Number of classes K.
    pub num_classes: usize,
    /// Where the inputs came from and their SHA-256, for the manifest.
    pub checksums: Value,
    /// Remarks (a dataset fallback, the preprocessing used).
    pub notes: Vec<String>,
}

/// How dataset images become model inputs.
pub struct ImagePrep<'a> {
    /// Train or test split.
    pub train_split: bool,
    /// Examples per class (a seeded subset), or every example.
    pub per_class: Option<usize>,
    /// Seed of the subset.
    pub seed: u64,
    /// Side of the square image the model takes.
    pub size: usize,
    /// Channels the model takes (`None`: the dataset's).
    pub channels: Option<usize>,
    /// Per-channel mean and standard deviation (`None`: the dataset's, as the papers' CNN code).
    pub mean: Option<&'a [f32]>,
    /// See `mean`.
    pub std: Option<&'a [f32]>,
    /// Flatten each image into one row (a model whose input is `[batch, d]`).
    pub flatten: bool,
}

/// Reads, subsets, resizes and normalises a dataset's images.
pub fn from_dataset(source: &DataSource, prep: &ImagePrep<'_>) -> Result<ModelInputs, CliError> {
    let (split, fallback) = source.load()?;
    let mut notes: Vec<String> = fallback.into_iter().collect();
    let set: &ImageSet = if prep.train_split {
        &split.train
    } else {
        &split.test
    };
    let k = set.num_classes();
    let set = match prep.per_class {
        Some(m) => {
            let mut idx =
                per_class_subset(&set.labels, m, k, prep.seed).map_err(ExperimentError::from)?;
            idx.sort_unstable();
            set.subset(&idx)
        }
        None => set.clone(),
    };
    let (table_mean, table_std, _) = Preprocess::Cnn.table(source.dataset);
    let mode = match prep.channels {
        None => ChannelMode::All,
        Some(c) if c == set.channels => ChannelMode::All,
        Some(1) => {
            notes.push("the model takes 1 channel: channel 1 of each image is used".into());
            ChannelMode::Only(1)
        }
        Some(c) => {
            return Err(CliError::usage(
                "channels",
                format!(
                    "the model takes {c} channels but the images have {}",
                    set.channels
                ),
            ))
        }
    };
    let channels = match mode {
        ChannelMode::All => set.channels,
        ChannelMode::Only(_) => 1,
    };
    let pick = |given: Option<&[f32]>, table: &[f32], flag: &str| -> Result<Vec<f32>, CliError> {
        let v = match (given, mode) {
            (Some(v), _) => v.to_vec(),
            (None, ChannelMode::Only(c)) if table.len() > 1 => vec![table[c]],
            (None, _) => table.to_vec(),
        };
        if v.len() != channels && v.len() != 1 {
            return Err(CliError::usage(
                flag,
                format!("{} values for {channels} channels", v.len()),
            ));
        }
        Ok(if v.len() == channels {
            v
        } else {
            vec![v[0]; channels]
        })
    };
    let mean = pick(prep.mean, &table_mean, "mean")?;
    let std = pick(prep.std, &table_std, "std")?;
    if let Some(c) = std.iter().position(|&s| !(s > 0.0 && s.is_finite())) {
        return Err(CliError::usage(
            "std",
            format!("channel {c} has std {}", std[c]),
        ));
    }
    notes.push(format!(
        "inputs: {} images of the {} split resized to {s}×{s}, normalised with mean {mean:?}, std {std:?}",
        set.n,
        if prep.train_split { "training" } else { "test" },
        s = prep.size,
    ));
    let x = to_normalized_f32(&set, prep.size, &mean, &std, mode).map_err(ExperimentError::from)?;
    let shape = if prep.flatten {
        vec![set.n, channels * prep.size * prep.size]
    } else {
        vec![set.n, channels, prep.size, prep.size]
    };
    let checksums = json!({
        "source": split.source,
        "files": split.checksums.iter().map(|(f, h)| json!({"file": f, "sha256": h})).collect::<Vec<_>>(),
        "inputs_sha256": sha256_hex(&f32_bytes(&x)),
    });
    Ok(ModelInputs {
        x,
        shape,
        labels: set.labels.iter().map(|&v| v as usize).collect(),
        num_classes: k,
        checksums,
        notes,
    })
}

/// Reads the float array `input_key` (batch axis first) and the integer array `labels_key` of
/// a `.npz`, `.npy` directory or `.safetensors` file.
pub fn from_file(path: &Path, input_key: &str, labels_key: &str) -> Result<ModelInputs, CliError> {
    let file = read_arrays(path)?;
    let keys = || {
        file.arrays
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing = |flag: &str, key: &str| {
        CliError::usage(
            flag,
            format!(
                "{} has no array {key:?} (it has: {})",
                path.display(),
                keys()
            ),
        )
    };
    let inputs = file
        .get(input_key)
        .ok_or_else(|| missing("input-key", input_key))?;
    let labels = file
        .get(labels_key)
        .ok_or_else(|| missing("labels", labels_key))?;
    let x: Vec<f32> = match &inputs.data {
        ArrayData::F32(v) => v.clone(),
        ArrayData::F64(v) => v.iter().map(|&a| a as f32).collect(),
        ArrayData::Int(_) => {
            return Err(CliError::usage(
                "input-key",
                format!(
                    "{:?} in {} holds integers, not model inputs",
                    input_key,
                    path.display()
                ),
            ))
        }
    };
    let ArrayData::Int(y) = &labels.data else {
        return Err(CliError::usage(
            "labels",
            format!(
                "{labels_key:?} in {} is not an integer array",
                path.display()
            ),
        ));
    };
    if inputs.shape.len() < 2 || inputs.rows() != y.len() {
        return Err(CliError::usage(
            "input-key",
            format!(
                "{input_key:?} has shape {:?}; it needs a batch axis of {} rows (one per label) and a sample shape",
                inputs.shape,
                y.len()
            ),
        ));
    }
    let mut labels = Vec::with_capacity(y.len());
    for (i, &v) in y.iter().enumerate() {
        labels.push(usize::try_from(v).map_err(|_| {
            CliError::usage("labels", format!("label {v} at position {i} is negative"))
        })?);
    }
    let num_classes = labels.iter().max().map_or(0, |&m| m + 1);
    Ok(ModelInputs {
        checksums: json!({
            "source": path.display().to_string(),
            "inputs_sha256": sha256_hex(&f32_bytes(&x)),
        }),
        x,
        shape: inputs.shape.clone(),
        labels,
        num_classes,
        notes: Vec::new(),
    })
}
