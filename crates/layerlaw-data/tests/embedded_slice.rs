//! The embedded Fashion-MNIST slice.

use layerlaw_data::{
    embedded_fashion_mnist, load_from_dirs, DatasetKind, DEBIAN_FASHION_MNIST_DIR,
};

#[test]
fn slice_has_100_per_class_and_the_first_1000_test_images() {
    let split = embedded_fashion_mnist();
    assert_eq!((split.train.n, split.test.n), (1000, 1000));
    assert_eq!(
        (split.train.channels, split.train.height, split.train.width),
        (1, 28, 28)
    );
    assert_eq!(split.train.class_counts(), vec![100; 10]);
    assert_eq!(&split.test.labels[..10], &[9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    // Counts of the first 1000 test labels, from numpy.bincount on the Debian file
    // (python3 -c "...np.bincount(test_y[:1000])"): [107, 105, 111, 93, 115, 87, 97, 95, 95, 95].
    assert_eq!(
        split.test.class_counts(),
        vec![107, 105, 111, 93, 115, 87, 97, 95, 95, 95]
    );
    assert_eq!(split.checksums.len(), 4);
    assert!(split.source.contains("Zalando"));
}

/// The slice is exactly the documented subset of the Debian files (`scripts/test.sh` runs it with
/// `--ignored` when the package is installed).
#[test]
#[ignore = "needs the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist); run with --ignored"]
fn slice_matches_the_debian_files_at_the_recorded_indices() {
    let dir = std::path::Path::new(DEBIAN_FASHION_MNIST_DIR);
    assert!(
        dir.join("train-images-idx3-ubyte.gz").is_file(),
        "{} absent: sudo apt-get install dataset-fashion-mnist",
        dir.display()
    );
    let full = load_from_dirs(DatasetKind::FashionMnist, &[dir.to_path_buf()]).unwrap();
    let slice = embedded_fashion_mnist();
    let recorded: Vec<usize> =
        include_str!("../embedded/fashion-mnist-slice/train-source-indices.txt")
            .lines()
            .map(|l| l.parse().unwrap())
            .collect();
    // Independently re-derive "first 100 of each class in file order".
    let mut seen = [0usize; 10];
    let derived: Vec<usize> = (0..full.train.n)
        .filter(|&i| {
            let k = usize::from(full.train.labels[i]);
            seen[k] += 1;
            seen[k] <= 100
        })
        .collect();
    assert_eq!(recorded, derived);
    assert_eq!(slice.train, full.train.subset(&derived));
    assert_eq!(slice.test, full.test.subset(&(0..1000).collect::<Vec<_>>()));
}
