//! `layerlaw next-token` end to end on an .npz written here (stored zip members, CRC-32 computed
//! below), against numpy `lstsq` references, and its bad inputs.
//!
//! Reference values (numpy 2.4.6), least squares with an intercept column:
//! ```python
//! import numpy as np
//! n, p, V = 40, 5, 7
//! i = np.arange(n)[:, None]; j = np.arange(p)[None, :]
//! y = (3 * np.arange(n) + np.arange(n) ** 2 // 5) % V
//! x = np.sin(0.37 * i + 1.3 * j) + 0.5 * np.cos(0.9 * y[:, None] + j)
//! def pr(x, t):
//!     a = np.hstack([x, np.ones((len(x), 1))])
//!     coef = np.linalg.lstsq(a, t, rcond=None)[0]
//!     r = t - a @ coef
//!     return (r ** 2).sum() / ((t - t.mean(0)) ** 2).sum()
//! onehot = np.eye(V)[y]
//! for layer in (x[:, :2], x[:, :3], x):
//!     print(repr(pr(layer, onehot)), repr(pr(layer, y.astype(float))))
//! # 0.864044716851262 0.8563285800414233
//! # 0.7211021468725931 0.6439919138242338
//! # 0.5417474844713134 0.27711371904515003
//! ```

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use layerlaw_io::{write_npy, ArrayData, NamedArray};
use serde_json::Value;

const N: usize = 40;
const V: usize = 7;
const WIDTHS: [usize; 3] = [2, 3, 5];
const ONE_HOT: [f64; 3] = [0.864044716851262, 0.7211021468725931, 0.5417474844713134];
const TOKEN_ID: [f64; 3] = [0.8563285800414233, 0.6439919138242338, 0.27711371904515003];

fn tokens() -> Vec<i64> {
    (0..N).map(|i| ((3 * i + i * i / 5) % V) as i64).collect()
}

fn layer(width: usize) -> Vec<f64> {
    let y = tokens();
    let mut x = Vec::with_capacity(N * width);
    for (i, &t) in y.iter().enumerate() {
        for j in 0..width {
            x.push(
                (0.37 * i as f64 + 1.3 * j as f64).sin() + 0.5 * (0.9 * t as f64 + j as f64).cos(),
            );
        }
    }
    x
}

fn arrays(tokens: Vec<i64>) -> Vec<NamedArray> {
    let mut v: Vec<NamedArray> = ["emb", "h1", "h2"]
        .iter()
        .zip(WIDTHS)
        .map(|(name, w)| NamedArray {
            name: name.to_string(),
            shape: vec![N, w],
            data: ArrayData::F64(layer(w)),
        })
        .collect();
    v.push(NamedArray {
        name: "next".into(),
        shape: vec![tokens.len()],
        data: ArrayData::Int(tokens),
    });
    v
}

/// CRC-32 (IEEE), bit by bit.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// An .npz (a zip of `.npy` members, stored without compression) of `arrays`.
fn write_npz(dir: &Path, name: &str, arrays: &[NamedArray]) -> PathBuf {
    let (mut body, mut central) = (Vec::new(), Vec::new());
    for a in arrays {
        let tmp = dir.join(format!("{}.npy", a.name));
        write_npy(&tmp, a).unwrap();
        let data = std::fs::read(&tmp).unwrap();
        std::fs::remove_file(&tmp).unwrap();
        let member = format!("{}.npy", a.name);
        let (crc, size, offset) = (crc32(&data), data.len() as u32, body.len() as u32);
        let common = |out: &mut Vec<u8>| {
            for v in [20u16, 0, 0, 0, 0] {
                out.extend_from_slice(&v.to_le_bytes()); // version, flags, method, time, date
            }
            for v in [crc, size, size] {
                out.extend_from_slice(&v.to_le_bytes());
            }
            out.extend_from_slice(&(member.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes()); // extra length
        };
        body.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        common(&mut body);
        body.extend_from_slice(member.as_bytes());
        body.extend_from_slice(&data);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        common(&mut central);
        for v in [0u16, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes()); // comment, disk, internal attributes
        }
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(member.as_bytes());
    }
    let mut out = body.clone();
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    let count = arrays.len() as u16;
    for v in [0u16, 0, count, count] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    let path = dir.join(name);
    std::fs::write(&path, out).unwrap();
    path
}

fn layerlaw(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_layerlaw"))
        .args(args)
        .output()
        .unwrap()
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn assert_fails(o: &Output, needles: &[&str]) {
    assert!(!o.status.success(), "expected failure");
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(!e.contains("panicked"), "panic: {e}");
    for n in needles {
        assert!(e.contains(n), "stderr {e:?} lacks {n:?}");
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

#[test]
fn json_matches_numpy_for_both_targets() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_npz(dir.path(), "f.npz", &arrays(tokens()));
    let file = path.to_str().unwrap();
    for (target, want) in [("one-hot", ONE_HOT), ("token-id", TOKEN_ID)] {
        let v = json(&layerlaw(&[
            "next-token",
            file,
            "--tokens",
            "next",
            "--target",
            target,
            "--json",
        ]));
        assert_eq!(v["target"], target);
        assert_eq!(
            (v["rows"].as_u64(), v["vocab"].as_u64()),
            (Some(N as u64), Some(V as u64))
        );
        assert_eq!(v["tokens"], "next");
        let layers = v["layers"].as_array().unwrap();
        let names: Vec<&str> = layers
            .iter()
            .map(|l| l["layer"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["emb", "h1", "h2"]);
        for (l, w) in layers.iter().zip(want) {
            let pr = l["pr"].as_f64().unwrap();
            assert!(rel(pr, w) < 1e-12, "{target} {}: {pr} vs {w}", l["layer"]);
        }
        // The law over layers 1 and 2 (the embeddings left out).
        let law = &v["law"];
        assert_eq!(law["layers"], serde_json::json!([1, 2]));
        let slope = (want[2] / want[1]).ln();
        assert!((law["fit"]["slope"].as_f64().unwrap() - slope).abs() < 1e-12);
        assert!(rel(law["ratio_last_first"].as_f64().unwrap(), want[2] / want[1]) < 1e-12);
    }
    // All layers, an explicit vocabulary and layer order.
    let v = json(&layerlaw(&[
        "next-token",
        file,
        "--tokens",
        "next",
        "--layers",
        "h2,emb",
        "--vocab-size",
        "100",
        "--fit",
        "all",
        "--json",
    ]));
    assert_eq!(v["vocab"], 100);
    assert_eq!(v["law"]["layers"], serde_json::json!([0, 1]));
    assert!(rel(v["layers"][0]["pr"].as_f64().unwrap(), ONE_HOT[2]) < 1e-12);
}

#[test]
fn table_lists_layers_and_the_law() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_npz(dir.path(), "f.npz", &arrays(tokens()));
    let o = layerlaw(&["next-token", path.to_str().unwrap(), "--tokens", "next"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("40 token positions, vocabulary 7, target one-hot"),
        "{out}"
    );
    assert!(out.contains("layer  dim  rank"), "{out}");
    assert!(out.contains("h2"), "{out}");
    assert!(out.contains(&format!("{:.4}", ONE_HOT[2])), "{out}");
    assert!(out.contains("over layers 1..=2"), "{out}");
}

#[test]
fn bad_inputs_fail_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = write_npz(d, "f.npz", &arrays(tokens()));
    let file = path.to_str().unwrap();
    assert_fails(
        &layerlaw(&["next-token", file, "--tokens", "nope"]),
        &["nope"],
    );
    assert_fails(
        &layerlaw(&["next-token", file, "--tokens", "next", "--vocab-size", "5"]),
        &[
            "layer 'emb'",
            "next-token id at row",
            "vocabulary has 5 tokens",
        ],
    );
    assert_fails(
        &layerlaw(&["next-token", file, "--tokens", "next", "--target", "logits"]),
        &["one-hot or token-id"],
    );
    // A fit range past the last layer is no failure: the law is missing, with a note.
    let v = json(&layerlaw(&[
        "next-token",
        file,
        "--tokens",
        "next",
        "--fit",
        "2..9",
        "--json",
    ]));
    assert!(v["law"].is_null());
    let note = v["notes"][0].as_str().unwrap();
    assert!(note.contains("layers 2..9: there are 3 layers"), "{note}");
    assert_fails(
        &layerlaw(&["next-token", file, "--tokens", "next", "--fit", "two"]),
        &["auto, all or START..END"],
    );
    let mut negative = tokens();
    negative[3] = -2;
    let neg = write_npz(d, "neg.npz", &arrays(negative));
    assert_fails(
        &layerlaw(&["next-token", neg.to_str().unwrap(), "--tokens", "next"]),
        &["row 3", "negative"],
    );
    let constant = write_npz(d, "const.npz", &arrays(vec![4; N]));
    assert_fails(
        &layerlaw(&["next-token", constant.to_str().unwrap(), "--tokens", "next"]),
        &["S_yy = 0"],
    );
}
