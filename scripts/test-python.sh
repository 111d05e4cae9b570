#!/usr/bin/env bash
# Builds the Python module `layerlaw` (crates/layerlaw-py, PyO3 + maturin) into a virtual
# environment and runs its pytest suite, torch tests included.
#
# The venv lives outside the checkout, in ${LAYERLAW_VENV:-$HOME/.cache/layerlaw/venv}: created
# when missing, reused when present, so nothing is cached inside the repository. pip installs
# maturin, numpy, scipy, pytest, torch (the default PyPI wheel; `layerlaw.torch` and its
# tests need it) and torchvision when they are missing, then builds the wheel in place with that maturin
# (`pip install --no-build-isolation ./crates/layerlaw-py`, release profile, target dir
# $CARGO_TARGET_DIR or target/), or, with LAYERLAW_EXTENSION=path/to/lib_layerlaw.so (what
# scripts/test.sh passes: the extension cargo built for the Rust tests), stages that instead.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${LAYERLAW_VENV:-$HOME/.cache/layerlaw/venv}
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv"
fi
py="$venv/bin/python"
# maturin's build backend runs the `maturin` executable: the venv's, found on PATH.
export PATH="$venv/bin:$PATH"
"$py" -m pip install --quiet --upgrade "pip>=23.1"
"$py" -m pip install --quiet "maturin>=1.9,<2" numpy scipy pytest
if ! "$py" -c "import torch" 2>/dev/null; then
  "$py" -m pip install --quiet "torch>=2.1"
fi
# A torchvision ResNet18 is one of the models the torch tests measure.
if ! "$py" -c "import torchvision" 2>/dev/null; then
  "$py" -m pip install --quiet torchvision
fi
if [ -n "${LAYERLAW_EXTENSION:-}" ]; then
  # An extension built by cargo (scripts/test.sh): the package sources and it, staged outside
  # the checkout, first on the import path.
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  cp -r crates/layerlaw-py/python/layerlaw "$stage/layerlaw"
  cp "$LAYERLAW_EXTENSION" "$stage/layerlaw/_layerlaw.so"
  export PYTHONPATH="$stage${PYTHONPATH:+:$PYTHONPATH}"
else
  "$py" -m pip install --quiet --force-reinstall --no-deps --no-build-isolation ./crates/layerlaw-py
fi
# Run from the tests folder so `import layerlaw` resolves to the staged or installed package.
cd crates/layerlaw-py/tests
"$py" -m pytest -q -p no:cacheprovider .
