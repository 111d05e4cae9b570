#!/usr/bin/env bash
# He & Su (PNAS 2023), Figure 1 on the full Fashion-MNIST: depth 4/8/20 × SGD, momentum, Adam at the official
# learning rates, plus the two negative controls (no BatchNorm, no ReLU; depth 20, Adam 3e-5).
# Writes out/figure1/<run>/{law.json,law.svg,dynamics.svg,manifest.json} and out/figure1/table.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# LAYERLAW_BIN=path/to/layerlaw skips the release build.
bin=${LAYERLAW_BIN:-target/release/layerlaw}
[ -n "${LAYERLAW_BIN:-}" ] || cargo build --release -p layerlaw-cli
out=${OUT:-out/figure1}
epochs=${EPOCHS:-600}
mkdir -p "$out"
run() { # name, args...
  local name=$1; shift
  echo "== $name"
  "$bin" law --epochs "$epochs" --measure-every "$((epochs / 10))" --out "$out/$name" "$@" > "$out/$name.log"
  tail -n 3 "$out/$name.log"
}
for cfg in "4 0.3 0.3 3e-3" "8 0.03 0.01 1e-3" "20 0.01 0.001 3e-4"; do
  set -- $cfg
  run "depth$1-sgd-$2" --depth "$1" --optimizer sgd --lr "$2"
  run "depth$1-momentum-$3" --depth "$1" --optimizer momentum --lr "$3"
  run "depth$1-adam-$4" --depth "$1" --optimizer adam --lr "$4"
done
run "control-no-batchnorm" --depth 20 --optimizer adam --lr 3e-5 --no-batchnorm
run "control-no-relu" --depth 20 --optimizer adam --lr 3e-5 --no-relu
python3 scripts/figure1_table.py "$out" > "$out/table.md"
cat "$out/table.md"
