#!/usr/bin/env bash
# Fang, He, Long & Su (PNAS 2021), Minority Collapse in a trained network on the full Fashion-MNIST (CPU):
# FNN depth 4, width 100, 10x10 inputs; classes 0-4 keep 6,000 training images, classes 5-9 keep 6000 // R;
# SGD lr 0.1, momentum 0.9, weight decay 5e-4, batch 128, EPOCHS epochs (the paper: 350) with lr /10 at 1/3 and
# /100 at 2/3. Then oversampling at R = 1000 (each minority example shown 10 times per epoch).
# Writes out/minority-collapse/{sweep,oversample}/ and prints both tables.
set -euo pipefail
cd "$(dirname "$0")/.."
# LAYERLAW_BIN=path/to/layerlaw skips the release build.
bin=${LAYERLAW_BIN:-target/release/layerlaw}
[ -n "${LAYERLAW_BIN:-}" ] || cargo build --release -p layerlaw-cli
out=${OUT:-out/minority-collapse}
epochs=${EPOCHS:-30}
"$bin" imbalance --ratios 1,10,100,1000 --epochs "$epochs" --out "$out/sweep"
"$bin" imbalance --ratio 1000 --oversample 10 --epochs "$epochs" --out "$out/oversample"
