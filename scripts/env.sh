# Sourced by the scripts: paths and variables every step shares.
# shellcheck shell=bash
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
# Build the extension and run cargo against the same interpreter, so cargo
# does not rebuild pyo3 when switching between them.
export VIRTUAL_ENV="$VENV"
export PYO3_PYTHON="$VENV/bin/python"
export PATH="$VENV/bin:$HOME/.cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }
