//! Helpers shared by the integration tests: writing IDX and CIFAR files.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

/// Encodes an uncompressed IDX file.
pub fn encode_idx(magic: u32, dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// Gzips `bytes` (flate2, default level).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Deterministic pseudo-random pixels (a simple LCG; content only needs to be arbitrary).
pub fn pixels(len: usize, seed: u32) -> Vec<u8> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 24) as u8
        })
        .collect()
}

/// Labels `i % 10`.
pub fn labels(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 10) as u8).collect()
}

/// Writes a complete IDX dataset (train n_train, test n_test, rows×cols) into `dir`.
pub fn write_idx_dataset(
    dir: &Path,
    n_train: usize,
    n_test: usize,
    rows: usize,
    cols: usize,
    gz: bool,
) {
    std::fs::create_dir_all(dir).unwrap();
    let suffix = if gz { ".gz" } else { "" };
    for (prefix, n, seed) in [("train", n_train, 1), ("t10k", n_test, 2)] {
        let img = encode_idx(
            0x803,
            &[n as u32, rows as u32, cols as u32],
            &pixels(n * rows * cols, seed),
        );
        let lab = encode_idx(0x801, &[n as u32], &labels(n));
        let (img, lab) = if gz {
            (gzip(&img), gzip(&lab))
        } else {
            (img, lab)
        };
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte{suffix}")), img).unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte{suffix}")), lab).unwrap();
    }
}

/// Encodes a CIFAR-10 binary batch of `n` records with labels `i % 10` and the given pixels.
pub fn cifar_batch(n: usize, seed: u32) -> Vec<u8> {
    let px = pixels(n * 3072, seed);
    let mut out = Vec::with_capacity(n * 3073);
    for i in 0..n {
        out.push((i % 10) as u8);
        out.extend_from_slice(&px[i * 3072..(i + 1) * 3072]);
    }
    out
}

/// Writes the six CIFAR-10 batch files (`per_batch` records each) into `dir`.
pub fn write_cifar_dataset(dir: &Path, per_batch: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for b in 1..=5 {
        std::fs::write(
            dir.join(format!("data_batch_{b}.bin")),
            cifar_batch(per_batch, b),
        )
        .unwrap();
    }
    std::fs::write(dir.join("test_batch.bin"), cifar_batch(per_batch, 99)).unwrap();
}
