//! [`manifest`]: what was run, with which seed, by which versions, on which data (SHA-256 of the
//! data files, of the training indices, of the training inputs and of saved features).

use serde_json::{json, Value};

/// The run manifest:
/// `{"command", "argv", "config", "seed", "versions": {"layerlaw", "burn", "target", "os"},
/// "data"}`. `config` is the configuration as the front end took it, `data` the checksums of
/// [`crate::Prepared::checksums`] (plus saved features).
pub fn manifest(command: &str, argv: &[String], config: Value, seed: u64, data: Value) -> Value {
    json!({
        "command": command,
        "argv": argv,
        "config": config,
        "seed": seed,
        "versions": {
            "layerlaw": env!("CARGO_PKG_VERSION"),
            "burn": "0.22.1 (flex CPU backend)",
            "target": std::env::consts::ARCH,
            "os": std::env::consts::OS,
        },
        "data": data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_records_config_seed_and_versions() {
        let m = manifest(
            "law",
            &["layerlaw".into()],
            json!({"depth": 4}),
            7,
            json!({}),
        );
        assert_eq!(m["seed"], 7);
        assert_eq!(m["config"]["depth"], 4);
        assert_eq!(m["versions"]["layerlaw"], env!("CARGO_PKG_VERSION"));
        assert!(m["versions"]["burn"]
            .as_str()
            .unwrap()
            .starts_with("0.22.1"));
    }
}
