#!/usr/bin/env bash
# Prints the cargo features of the test build (scripts/test.sh) and of the lints (.ci/run):
# the Python extension's `extension-module`, plus the GPU backend when a Vulkan driver is present.
set -euo pipefail
features="layerlaw-py/extension-module"
if command -v vulkaninfo >/dev/null 2>&1 && vulkaninfo --summary 2>/dev/null | grep deviceName >/dev/null; then
  features="$features,layerlaw-train/gpu"
fi
echo "$features"
