//! Fuzzing the IDX (raw and gzipped) and CIFAR-10 binary readers with the mutation fuzzer of
//! layerlaw-io (`src/fuzz_engine.rs`, shared as a source file): no panic, no hang, no single
//! allocation beyond a bound linear in the input's real length (gzip inputs: the deflate
//! ratio limit times the length).
//!
//! A plain `cargo test` runs a few thousand cases per parser; the long run is
//! `LAYERLAW_FUZZ_CASES=1000000 cargo test --release -p layerlaw-data --test fuzz -- --nocapture`.

#[allow(dead_code)]
#[path = "../../layerlaw-io/src/fuzz_engine.rs"]
mod fuzz_engine;

use std::io::Write;
use std::path::Path;

use fuzz_engine::{cases, run, CountingAlloc};
use layerlaw_data::{
    image_set_from_idx, parse_cifar_batch, parse_idx, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC,
};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const SHORT_RUN: u64 = 3_000;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn idx(magic: u32, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// Raw inputs are copied once (plus the image set); gzipped ones may inflate up to the
/// deflate limit of ~1032×.
fn bound(input: &[u8]) -> usize {
    let factor = if input.starts_with(&[0x1f, 0x8b]) {
        2 * 1032
    } else {
        2
    };
    factor * input.len() + (64 << 10)
}

#[test]
fn fuzz_idx() {
    let images = idx(IDX_IMAGES_MAGIC, &[2, 3, 3], &(0..18).collect::<Vec<u8>>());
    let labels = idx(IDX_LABELS_MAGIC, &[2], &[1, 9]);
    let seeds = vec![
        images.clone(),
        labels.clone(),
        gzip(&images),
        gzip(&labels),
        [gzip(&labels[..5]), gzip(&labels[5..])].concat(),
        idx(IDX_IMAGES_MAGIC, &[0, 28, 28], &[]),
    ];
    let tokens: &[&[u8]] = &[
        &[0, 0, 8, 3],
        &[0, 0, 8, 1],
        &[0, 0, 8, 0xff],
        &[0xff, 0xff, 0xff, 0xff],
        &[0x1f, 0x8b, 8, 0],
    ];
    let path = Path::new("fuzz-idx");
    let r = run("idx", &seeds, tokens, cases(SHORT_RUN), bound, |b| {
        let im = parse_idx(b, path, IDX_IMAGES_MAGIC);
        let lb = parse_idx(b, path, IDX_LABELS_MAGIC);
        if let Ok(a) = &im {
            assert_eq!(a.data.len(), a.dims.iter().product::<usize>());
            let labels = parse_idx(&seeds[1], path, IDX_LABELS_MAGIC).unwrap();
            if let Ok(set) = image_set_from_idx(a.clone(), path, labels, path, 10) {
                assert_eq!(set.images.len(), set.n * set.height * set.width);
            }
        }
        if let Ok(a) = &lb {
            assert_eq!(a.data.len(), a.dims.iter().product::<usize>());
        }
        im.is_ok() || lb.is_ok()
    });
    assert!(
        r.accepted > 0 && r.accepted < r.cases,
        "accepted {} of {}",
        r.accepted,
        r.cases
    );
}

#[test]
fn fuzz_cifar() {
    let record = |label: u8| {
        let mut r = vec![label];
        r.extend((0..3072u32).map(|i| (i * 7 % 251) as u8));
        r
    };
    let seeds = vec![record(3), [record(0), record(9)].concat(), Vec::new()];
    let tokens: &[&[u8]] = &[&[10], &[255], &[0; 16]];
    let r = run(
        "cifar",
        &seeds,
        tokens,
        cases(SHORT_RUN),
        bound,
        |b| match parse_cifar_batch(b, Path::new("fuzz-cifar")) {
            Ok(set) => {
                assert_eq!(set.images.len(), set.n * 3072);
                assert!(set.labels.iter().all(|&y| y < 10));
                true
            }
            Err(_) => false,
        },
    );
    assert!(
        r.accepted > 0 && r.accepted < r.cases,
        "accepted {} of {}",
        r.accepted,
        r.cases
    );
}
