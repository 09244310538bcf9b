#!/usr/bin/env bash
# Type-checks the Python package against its typed boundary (issue 15):
# `mypy --strict` over recorder/python/tracesieve (settings in
# recorder/pyproject.toml, [tool.mypy]), then `mypy.stubtest`, which
# compares tracesieve/_native.pyi with the built extension: every name it
# exports, every signature. Runs with the Python 3.12 virtualenv (.venv),
# which needs the extension built from these sources (scripts/setup.sh, or
# `maturin develop --release --manifest-path recorder/Cargo.toml` with the
# venv active); mypy is installed into it at the version requirements-dev.txt
# pins if it is not there. Exits non-zero on any error.
#
#   scripts/typecheck.sh
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

python="$(venv_dir "$MAIN_PYTHON_VERSION")/bin/python"
[ -x "$python" ] || {
    echo "typecheck: no virtualenv at $(venv_dir "$MAIN_PYTHON_VERSION"); run scripts/setup.sh" >&2
    exit 2
}

pinned=$(grep -E '^mypy==' requirements-dev.txt)
# (grep reads the whole list: with -q it would stop at the match, and the
# pipe's writer would fail under pipefail.)
if ! "$python" -m pip freeze 2>/dev/null | grep -xF "$pinned" >/dev/null; then
    step "installing $pinned into $(basename "$(venv_dir "$MAIN_PYTHON_VERSION")")"
    "$python" -m pip install --quiet --disable-pip-version-check "$pinned"
fi

# From the package's folder, so that the checkout's sources and stub are
# the ones checked (and imported, for stubtest), whatever is installed.
cd "$REPO/recorder/python"
if ! "$python" -c 'import tracesieve._native' 2>/dev/null; then
    echo "typecheck: the extension is not built for $python; run scripts/setup.sh" >&2
    exit 2
fi

step "mypy --strict (recorder/python/tracesieve)"
"$python" -m mypy --config-file ../pyproject.toml

step "stubtest (tracesieve/_native.pyi against the built extension)"
"$python" -m mypy.stubtest tracesieve._native --mypy-config-file ../pyproject.toml
