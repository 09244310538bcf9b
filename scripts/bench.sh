#!/usr/bin/env bash
# Measures whole-program recording overhead (bench/overhead.py) on CPython
# 3.12 with tracesieve built in release mode, beside VizTracer and
# codetracer-python-recorder, and writes the figures into BENCHMARKS.md.
# Not part of the tests (timings do not belong in tests). Takes a few minutes.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"
venv="$REPO/.venv-bench"
if [ ! -x "$venv/bin/python" ]; then
    step "creating .venv-bench"
    "$(find_python 3.12)" -m venv "$venv"
fi
step "installing the peer tools and the library workload"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
step "building tracesieve (release) and installing it into .venv-bench"
# A real wheel, not an editable install: an editable install puts the
# extension in the source tree, where the test venvs' debug builds of the
# same Python version would replace it.
rm -rf "$REPO/target/bench/wheels"
VIRTUAL_ENV="$venv" PYO3_PYTHON="$venv/bin/python" CARGO_TARGET_DIR="$REPO/target/bench" \
    "$venv/bin/maturin" build --release --quiet --manifest-path recorder/Cargo.toml \
    --interpreter "$venv/bin/python" --out "$REPO/target/bench/wheels"
"$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps "$REPO"/target/bench/wheels/tracesieve-*.whl
step "measuring"
# Run from outside the source tree so `import tracesieve` finds the wheel.
(cd "$REPO/bench" && "$venv/bin/python" overhead.py --update "$REPO/BENCHMARKS.md" "$@")
