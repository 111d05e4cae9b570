#!/usr/bin/env bash
# Installs what layerlaw needs on a fresh Debian/Ubuntu machine: a C toolchain and OpenBLAS
# (for the Clarabel SDP solver), the Fashion-MNIST package (for the paper reproductions), Mesa's
# Vulkan drivers and vulkaninfo (lavapipe, a CPU Vulkan driver, runs the GPU test without a GPU),
# and the Python packages the test suite and benchmarks compare against.
set -euo pipefail
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
need=""
for p in build-essential pkg-config libopenblas-dev libgfortran-12-dev dataset-fashion-mnist python3-venv \
  mesa-vulkan-drivers vulkan-tools; do
  dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $need
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust with rustup (https://rustup.rs) or apt-get install cargo" >&2
  exit 1
fi
