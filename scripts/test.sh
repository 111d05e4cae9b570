#!/usr/bin/env bash
# The whole test suite: every Rust crate of the workspace, then the Python module's pytest suite
# (when the Python crate is part of the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --no-fail-fast
if [ -f crates/layerlaw-py/pyproject.toml ]; then
  bash scripts/test-python.sh
fi
