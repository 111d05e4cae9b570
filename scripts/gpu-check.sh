#!/usr/bin/env bash
# GPU check, from the repository root, on a machine with an NVIDIA GPU (or any Vulkan driver) and no
# internet: builds layerlaw with the `gpu` feature (burn's wgpu runtime on Vulkan), runs the GPU test
# (two SGD steps of VGG11 and ResNet18 on the GPU against the CPU, and GPU determinism), then times a
# short VGG11 and ResNet18 training on Fashion-MNIST (the slice built into the binary: 1,000 training
# images, 8 steps of 128 per epoch) on the GPU and on the CPU and prints images/s. About 8 minutes
# on a 16-core machine with the crates already in ~/.cargo (run `cargo fetch` once while online).
#
#   bash scripts/gpu-check.sh            # GPU_EPOCHS=10 CPU_EPOCHS=2 by default
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_NET_OFFLINE=true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/gpu-check}"
GPU_EPOCHS="${GPU_EPOCHS:-10}"
CPU_EPOCHS="${CPU_EPOCHS:-2}"
OUT="${OUT_DIR:-out/gpu-check}"
mkdir -p "$OUT"

echo "== Vulkan"
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan\.so\.1'; then
  echo "no Vulkan loader (libvulkan.so.1): install libvulkan1 (and the NVIDIA driver's Vulkan ICD)" >&2
  exit 1
fi
if command -v vulkaninfo >/dev/null 2>&1; then
  vulkaninfo --summary 2>/dev/null | grep -E 'deviceName|deviceType|driverName' || true
fi
command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true

echo "== build (release, --features gpu)"
start=$(date +%s)
cargo build --release -p layerlaw-cli --features gpu
cargo test --release -p layerlaw-train --features gpu --test gpu --no-run
echo "build: $(( $(date +%s) - start )) s"

echo "== GPU test (GPU against CPU, determinism)"
start=$(date +%s)
cargo test --release -p layerlaw-train --features gpu --test gpu -- --nocapture --test-threads 1
echo "GPU test: $(( $(date +%s) - start )) s"

echo "== timed training on the embedded Fashion-MNIST slice (balanced, 100 images per class)"
bin="$CARGO_TARGET_DIR/release/layerlaw"
for model in vgg11 resnet18; do
  for device in gpu cpu; do
    epochs=$GPU_EPOCHS
    [ "$device" = cpu ] && epochs=$CPU_EPOCHS
    json="$OUT/$model-$device.json"
    "$bin" imbalance --embedded --model "$model" --device "$device" --ratio 1 --n-majority 100 \
      --epochs "$epochs" --bn-eval --out "$OUT/$model-$device" --json > "$json"
    python3 - "$json" "$model" "$device" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))["runs"][0]
n, hist = sum(run["counts"]), run["history"]
first = n / hist[0]["seconds"]
warm = [n / h["seconds"] for h in hist[1:]] or [first]
print(f"{sys.argv[2]:8s} {sys.argv[3]}: {len(hist)} epochs x {hist[0]['steps']} steps of <=128 images; "
      f"first epoch {first:.1f} images/s, later epochs {sum(warm) / len(warm):.1f} images/s; "
      f"test accuracy {run['test_accuracy']:.3f}")
PY
  done
done
