#!/usr/bin/env bash
# The whole test suite: every Rust crate of the workspace, the GPU path of the CNNs when a Vulkan
# driver is present (Mesa's lavapipe on a machine without a GPU, installed by scripts/setup.sh),
# then the Python module's pytest suite (when the Python crate is part of the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --workspace --no-fail-fast
# The tests that read the full Fashion-MNIST are ignored without it; run them when it is installed.
if [ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  cargo test -p layerlaw-data --no-fail-fast -- --ignored
else
  echo "skipped: the full Fashion-MNIST tests (cargo test -p layerlaw-data -- --ignored): no" \
    "/usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist; scripts/setup.sh does)"
fi
if command -v vulkaninfo >/dev/null 2>&1 && vulkaninfo --summary 2>/dev/null | grep deviceName >/dev/null; then
  cargo test -p layerlaw-train --features gpu --test gpu
else
  echo "skipped: GPU test (cargo test -p layerlaw-train --features gpu --test gpu): no Vulkan driver found" \
    "(vulkaninfo; scripts/setup.sh installs mesa-vulkan-drivers and vulkan-tools)"
fi
if [ -f crates/layerlaw-py/pyproject.toml ]; then
  bash scripts/test-python.sh
fi
