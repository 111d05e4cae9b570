#!/usr/bin/env bash
# Builds the Python module `layerlaw` (crates/layerlaw-py, PyO3 + maturin) into a virtual
# environment and runs its pytest suite.
#
# The venv lives in target/python-venv (reused between runs). It sees the system site-packages,
# so an installed torch enables the tests that need it; without torch they skip. pip installs
# maturin, numpy, scipy and pytest from PyPI when they are missing, then builds the wheel in
# place with that maturin (`pip install --no-build-isolation ./crates/layerlaw-py`, release profile, target dir $CARGO_TARGET_DIR or
# target/).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/python-venv
python=${PYTHON:-python3}
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv --system-site-packages "$venv"
fi
py="$PWD/$venv/bin/python"
# maturin's build backend runs the `maturin` executable: the venv's, found on PATH.
export PATH="$PWD/$venv/bin:$PATH"
"$py" -m pip install --quiet --upgrade "pip>=23.1"
"$py" -m pip install --quiet "maturin>=1.9,<2" numpy scipy pytest
"$py" -m pip install --quiet --force-reinstall --no-deps --no-build-isolation ./crates/layerlaw-py
# Run from the tests folder so `import layerlaw` resolves to the installed wheel.
cd crates/layerlaw-py/tests
"$py" -m pytest -q -p no:cacheprovider .
