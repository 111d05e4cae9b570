//! SHA-256 digests for run manifests.

use sha2::{Digest, Sha256};

/// Lower-case hexadecimal SHA-256 (FIPS 180-4) of `bytes`, 64 characters.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
