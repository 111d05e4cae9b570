//! `to_normalized_f32` against torchvision's pipeline written in PIL + numpy float32.
//!
//! Fixture `fixtures/normalize.txt` from `fixtures/make_normalize_fixture.py` (Python 3.11.7,
//! Pillow 13.0.0, numpy 2.4), pasted here:
//!
//! ```python
//! #!/usr/bin/env python3
//! # Reference for tests/normalize.rs: torchvision's Resize(s) -> ToTensor -> Normalize(mean, std),
//! # written with PIL + numpy float32 (ToTensor: uint8 -> float32 / 255; Normalize: (x - mean) / std,
//! # all in float32). Python 3.11.7, Pillow 13.0.0, numpy 2.4. Run: python3 make_normalize_fixture.py
//! import gzip, struct
//! import numpy as np
//! from PIL import Image
//!
//! def pipeline(hwc, mode, size, mean, std):
//!     im = Image.fromarray(hwc if mode == "RGB" else hwc[:, :, 0], mode=mode).resize((size, size), Image.BILINEAR)
//!     x = np.asarray(im, dtype=np.uint8).reshape(size, size, -1).transpose(2, 0, 1).astype(np.float32) / np.float32(255)
//!     m = np.asarray(mean, np.float32)[:, None, None]
//!     s = np.asarray(std, np.float32)[:, None, None]
//!     return (x - m) / s  # float32, c x s x s
//!
//! lines = []
//! data = gzip.open("../../embedded/fashion-mnist-slice/t10k-images-idx3-ubyte.gz", "rb").read()
//! imgs = np.frombuffer(data, np.uint8, offset=16).reshape(-1, 28, 28)
//! for size, mean, std in [(10, [0.5], [0.5]), (32, [0.2860], [0.3530])]:
//!     out = np.stack([pipeline(imgs[i][:, :, None], "L", size, mean, std) for i in range(4)])
//!     lines.append(f"fmnist {size} {mean[0]} {std[0]} " + " ".join("%.9g" % v for v in out.ravel()))
//! # Synthetic CIFAR-like RGB images (no CIFAR-10 offline): PIL resizes RGB per band, the GFNN keeps channel 1.
//! rng = np.random.default_rng(7)
//! rgb = rng.integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)  # n x H x W x C
//! mean, std = [0.4914, 0.4822, 0.4465], [0.247, 0.243, 0.261]
//! lines.append("cifar_input " + rgb.transpose(0, 3, 1, 2).tobytes().hex())  # n x C x H x W, as in the .bin files
//! out = np.stack([pipeline(im, "RGB", 10, mean, std) for im in rgb])
//! lines.append("cifar_all " + " ".join("%.9g" % v for v in out.ravel()))
//! lines.append("cifar_green " + " ".join("%.9g" % v for v in out[:, 1].ravel()))
//! open("normalize.txt", "w").write("\n".join(lines) + "\n")
//! ```

use layerlaw_data::{embedded_fashion_mnist, to_normalized_f32, ChannelMode, DataError, ImageSet};

const FIXTURE: &str = include_str!("fixtures/normalize.txt");

fn fixture_line(key: &str) -> Vec<&str> {
    FIXTURE
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap()
        .split(' ')
        .collect()
}

fn assert_close(got: &[f32], expected: &[f32], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: length");
    for (i, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!((g - e).abs() <= 1e-6, "{what}[{i}]: {g} vs numpy {e}");
    }
}

#[test]
fn fashion_mnist_matches_numpy_float32() {
    let test = embedded_fashion_mnist().test.subset(&[0, 1, 2, 3]);
    for (key, size) in [("fmnist 10 ", 10usize), ("fmnist 32 ", 32)] {
        let f = fixture_line(key);
        let (mean, std): (f32, f32) = (f[2].parse().unwrap(), f[3].parse().unwrap());
        let expected: Vec<f32> = f[4..].iter().map(|v| v.parse().unwrap()).collect();
        let got = to_normalized_f32(&test, size, &[mean], &[std], ChannelMode::All).unwrap();
        assert_close(&got, &expected, key);
    }
}

#[test]
fn cifar_like_rgb_all_channels_and_green_only_match_numpy() {
    let f = fixture_line("cifar_input ");
    let images: Vec<u8> = (0..f[1].len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&f[1][i..i + 2], 16).unwrap())
        .collect();
    let set = ImageSet {
        images,
        labels: vec![0, 1, 2],
        n: 3,
        channels: 3,
        height: 32,
        width: 32,
    };
    let (mean, std) = ([0.4914f32, 0.4822, 0.4465], [0.247f32, 0.243, 0.261]);
    for (key, mode) in [
        ("cifar_all ", ChannelMode::All),
        ("cifar_green ", ChannelMode::Only(1)),
    ] {
        let expected: Vec<f32> = fixture_line(key)[1..]
            .iter()
            .map(|v| v.parse().unwrap())
            .collect();
        let got = to_normalized_f32(&set, 10, &mean, &std, mode).unwrap();
        assert_close(&got, &expected, key);
    }
}

#[test]
fn invalid_parameters_are_errors_not_nans() {
    let set = embedded_fashion_mnist().test.subset(&[0]);
    for (mean, std, mode) in [
        (vec![0.5f32, 0.5], vec![0.5f32], ChannelMode::All),
        (vec![0.5], vec![0.0], ChannelMode::All),
        (vec![f32::NAN], vec![0.5], ChannelMode::All),
        (vec![0.5], vec![0.5], ChannelMode::Only(1)),
    ] {
        let err = to_normalized_f32(&set, 10, &mean, &std, mode).unwrap_err();
        assert!(
            matches!(err, DataError::InvalidNormalization { .. }),
            "{mean:?} {std:?} {mode:?}: {err:?}"
        );
    }
}
