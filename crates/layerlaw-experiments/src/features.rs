//! [`save_features`]: the measured features of a trained network, its labels and classifier, as
//! one safetensors file that `layerlaw measure` (or `safetensors.torch.load_file`) reads back.

use std::io::Read;
use std::path::Path;

use layerlaw_io::{write_safetensors, ArrayData, NamedArray};
use layerlaw_train::TrainOutcome;
use sha2::{Digest, Sha256};

use crate::error::{ExperimentError, Result};

/// The key of layer `index` in the saved file: `layer{index}.{name}`, so that the natural key
/// order is the layer order.
pub fn saved_layer_key(index: usize, name: &str) -> String {
    format!("layer{index}.{name}")
}

/// Writes every measured layer (`layer{l}.{name}`, n × p f32), `labels` (n, int64),
/// `classifier.weight` (K × p) and `classifier.bias` (K) of `outcome` to `path`, with the
/// metadata `producer = "layerlaw law"`. Returns the SHA-256 of the file written (lowercase
/// hex), for the manifest.
pub fn save_features(
    path: &Path,
    outcome: &TrainOutcome,
    labels: &[usize],
    classes: usize,
) -> Result<String> {
    let f = &outcome.features;
    let n = labels.len();
    let mut arrays: Vec<NamedArray> = f
        .names
        .iter()
        .enumerate()
        .map(|(i, name)| NamedArray {
            name: saved_layer_key(i, name),
            shape: vec![n, f.dims[i]],
            data: ArrayData::F32(f.data[i].clone()),
        })
        .collect();
    arrays.push(NamedArray {
        name: "labels".into(),
        shape: vec![n],
        data: ArrayData::Int(labels.iter().map(|&v| v as i64).collect()),
    });
    arrays.push(NamedArray {
        name: "classifier.weight".into(),
        shape: vec![classes, outcome.penultimate_dim],
        data: ArrayData::F32(outcome.classifier_weight.clone()),
    });
    arrays.push(NamedArray {
        name: "classifier.bias".into(),
        shape: vec![classes],
        data: ArrayData::F32(outcome.classifier_bias.clone()),
    });
    let meta = vec![("producer".to_string(), "layerlaw law".to_string())];
    write_safetensors(path, &arrays, &meta)?;
    sha256_file(path)
}

/// SHA-256 of a file's bytes (lowercase hex), read in 1 MiB blocks.
pub fn sha256_file(path: &Path) -> Result<String> {
    let err = |source| ExperimentError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let got = file.read(&mut buf).map_err(err)?;
        if got == 0 {
            break;
        }
        hasher.update(&buf[..got]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_hash_matches_the_known_digest() {
        // printf abc | sha256sum
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            sha256_file(&p).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(matches!(
            sha256_file(&dir.path().join("missing")),
            Err(ExperimentError::Read { .. })
        ));
        assert_eq!(saved_layer_key(2, "block2"), "layer2.block2");
    }
}
