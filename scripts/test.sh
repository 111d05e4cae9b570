#!/usr/bin/env bash
# The whole test suite, built once: every Rust crate of the workspace (with the tests that read
# the full Fashion-MNIST when it is installed, and the GPU path of the CNNs when a Vulkan driver
# is present: Mesa's lavapipe on a machine without a GPU, installed by scripts/setup.sh), then
# the Python module's pytest suite on the extension built from the same artifacts.
#
# One set of features for every step, so that cargo compiles each crate once:
# `layerlaw-py/extension-module` (the Python extension does not link libpython; no test binary
# links the Python crate) and, with Vulkan, `layerlaw-train/gpu` (which adds the `gpu` test).
set -euo pipefail
cd "$(dirname "$0")/.."
features=$(bash scripts/test-features.sh)
if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  ignored=(-- --include-ignored)
else
  ignored=()
  echo "skipped: the full Fashion-MNIST tests (ignored without /usr/share/datasets/fashion-mnist;" \
    "apt-get install dataset-fashion-mnist, or scripts/setup.sh)"
fi
case "$features" in
  *layerlaw-train/gpu*) ;;
  *) echo "skipped: GPU test (crates/layerlaw-train/tests/gpu.rs): no Vulkan driver found" \
       "(vulkaninfo; scripts/setup.sh installs mesa-vulkan-drivers and vulkan-tools)" ;;
esac
cargo test --workspace --no-fail-fast --features "$features" "${ignored[@]}"
if [ -f crates/layerlaw-py/pyproject.toml ]; then
  # The extension's cdylib, from the artifacts the tests just built (only the Python crate and
  # pyo3 compile here).
  cargo build --workspace --features "$features"
  LAYERLAW_EXTENSION="${CARGO_TARGET_DIR:-target}/debug/lib_layerlaw.so" bash scripts/test-python.sh
fi
