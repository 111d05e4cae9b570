//! Where the training experiments' data come from and how images become network inputs:
//! dataset choice with the embedded Fashion-MNIST fallback ([`DataSource`]), and the papers'
//! preprocessing tables ([`Preprocess`], [`prepare_data`]).

use std::path::PathBuf;

use layerlaw_data::{to_normalized_f32, ChannelMode, DatasetKind, Split};
use serde_json::{json, Value};

use crate::error::{ExperimentError, Result};

/// Where the data of a training experiment come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSource {
    /// The dataset.
    pub dataset: DatasetKind,
    /// Directory holding the dataset files (IDX, gzipped or raw; CIFAR-10 binary batches);
    /// `None` searches the usual places (see `layerlaw_data::search_dirs`).
    pub data_dir: Option<PathBuf>,
    /// Use the Fashion-MNIST slice built into the binary (100 training images per class, the
    /// first 1,000 test images).
    pub embedded: bool,
}

impl Default for DataSource {
    fn default() -> Self {
        DataSource {
            dataset: DatasetKind::FashionMnist,
            data_dir: None,
            embedded: false,
        }
    }
}

impl DataSource {
    /// Checks what can be checked without reading anything: the embedded slice is Fashion-MNIST.
    pub fn check(&self) -> Result<()> {
        if self.embedded && self.dataset != DatasetKind::FashionMnist {
            return Err(ExperimentError::invalid(
                "embedded",
                "the embedded slice is Fashion-MNIST only",
            ));
        }
        Ok(())
    }

    /// Loads the data. Without `data_dir`, a Fashion-MNIST that is not found falls back to the
    /// embedded slice, and the returned note says so (a partial or corrupt dataset is an error).
    pub fn load(&self) -> Result<(Split, Option<String>)> {
        self.check()?;
        if self.embedded {
            return Ok((layerlaw_data::embedded_fashion_mnist(), None));
        }
        match layerlaw_data::load(self.dataset, self.data_dir.as_deref()) {
            Ok(split) => Ok((split, None)),
            Err(e)
                if self.dataset == DatasetKind::FashionMnist
                    && self.data_dir.is_none()
                    && e.is_not_found() =>
            {
                let note = format!(
                    "{e}\nfalling back to the embedded Fashion-MNIST slice (100 per class, 1,000 test images)"
                );
                Ok((layerlaw_data::embedded_fashion_mnist(), Some(note)))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// How images become network inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preprocess {
    /// The official GFNN code (He & Su): Normalize(0.5, 0.5) for MNIST-like data; CIFAR-10 keeps
    /// only channel 1 with the CIFAR mean/std.
    Fnn,
    /// The official Minority-Collapse CNN code (Fang et al.): every channel, per-dataset
    /// mean/std.
    Cnn,
}

/// CIFAR-10 channel means (torchvision convention, as the official codes).
const CIFAR_MEAN: [f32; 3] = [0.4914, 0.4822, 0.4465];
/// CIFAR-10 channel standard deviations.
const CIFAR_STD: [f32; 3] = [0.247, 0.243, 0.261];

impl Preprocess {
    /// Per-channel mean, standard deviation and channels kept for `dataset`.
    pub fn table(self, dataset: DatasetKind) -> (Vec<f32>, Vec<f32>, ChannelMode) {
        match (dataset, self) {
            (DatasetKind::Cifar10, Preprocess::Fnn) => (
                CIFAR_MEAN.to_vec(),
                CIFAR_STD.to_vec(),
                ChannelMode::Only(1),
            ),
            (DatasetKind::Cifar10, Preprocess::Cnn) => {
                (CIFAR_MEAN.to_vec(), CIFAR_STD.to_vec(), ChannelMode::All)
            }
            (_, Preprocess::Fnn) => (vec![0.5], vec![0.5], ChannelMode::All),
            (DatasetKind::FashionMnist, Preprocess::Cnn) => {
                (vec![0.2860], vec![0.3530], ChannelMode::All)
            }
            (DatasetKind::Mnist, Preprocess::Cnn) => (vec![0.1307], vec![0.3081], ChannelMode::All),
        }
    }
}

/// The data after the paper's preprocessing: resized, normalised, subset per class.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// Training set for the trainer.
    pub train: layerlaw_train::Dataset,
    /// Test set.
    pub test: layerlaw_train::Dataset,
    /// Source and SHA-256 of the data files, of the training indices and of the training
    /// inputs, for the manifest: `{"source", "files": [{"file", "sha256"}],
    /// "train_indices_sha256", "train_features_sha256"}`.
    pub checksums: Value,
}

/// Preprocesses `split`: resize to `size` (PIL bilinear), ToTensor, Normalize per
/// [`Preprocess::table`], and take `train_idx` of the training set.
pub fn prepare_data(
    split: &Split,
    dataset: DatasetKind,
    size: usize,
    train_idx: &[usize],
    how: Preprocess,
) -> Result<Prepared> {
    let (mean, std, mode) = how.table(dataset);
    let channels = if matches!(mode, ChannelMode::All) {
        split.train.channels
    } else {
        1
    };
    let sub = split.train.subset(train_idx);
    let k = split.train.num_classes();
    let train = layerlaw_train::Dataset {
        x: to_normalized_f32(&sub, size, &mean, &std, mode)?,
        y: sub.labels.iter().map(|&v| v as usize).collect(),
        n: sub.n,
        shape: [channels, size, size],
        num_classes: k,
    };
    let test = layerlaw_train::Dataset {
        x: to_normalized_f32(&split.test, size, &mean, &std, mode)?,
        y: split.test.labels.iter().map(|&v| v as usize).collect(),
        n: split.test.n,
        shape: [channels, size, size],
        num_classes: k,
    };
    let idx_bytes: Vec<u8> = train_idx
        .iter()
        .flat_map(|&i| (i as u64).to_le_bytes())
        .collect();
    let checksums = json!({
        "source": split.source,
        "files": split.checksums.iter().map(|(f, h)| json!({"file": f, "sha256": h})).collect::<Vec<_>>(),
        "train_indices_sha256": layerlaw_data::sha256_hex(&idx_bytes),
        "train_features_sha256": layerlaw_data::sha256_hex(&f32_bytes(&train.x)),
    });
    Ok(Prepared {
        train,
        test,
        checksums,
    })
}

/// Little-endian bytes of an f32 slice (for checksums).
pub fn f32_bytes(x: &[f32]) -> Vec<u8> {
    x.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_is_fashion_mnist_only() {
        let src = DataSource {
            dataset: DatasetKind::Mnist,
            embedded: true,
            ..DataSource::default()
        };
        let err = src.load().unwrap_err();
        assert!(matches!(
            err,
            ExperimentError::InvalidParam {
                param: "embedded",
                ..
            }
        ));
    }

    #[test]
    fn embedded_slice_prepares_with_checksums() {
        let src = DataSource {
            embedded: true,
            ..DataSource::default()
        };
        let (split, note) = src.load().unwrap();
        assert!(note.is_none());
        let idx: Vec<usize> = (0..20).collect();
        let p = prepare_data(&split, DatasetKind::FashionMnist, 10, &idx, Preprocess::Fnn).unwrap();
        assert_eq!((p.train.n, p.train.shape), (20, [1, 10, 10]));
        assert_eq!(p.test.n, 1000);
        // Normalize(0.5, 0.5) maps [0, 1] to [-1, 1].
        assert!(p.train.x.iter().all(|v| (-1.0..=1.0).contains(v)));
        assert_eq!(
            p.checksums["train_features_sha256"],
            layerlaw_data::sha256_hex(&f32_bytes(&p.train.x))
        );
        assert_eq!(
            p.checksums["train_indices_sha256"].as_str().unwrap().len(),
            64
        );
    }
}
