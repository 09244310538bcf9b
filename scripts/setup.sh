#!/usr/bin/env bash
# Installs whatever tracesieve's build and tests need and is missing, then
# builds the Python extension into .venv. Safe to run again: each step checks
# first. Follows ../shared/reference/toolchain.md (registries only, no downloads).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

command -v cargo >/dev/null || { echo "setup: cargo is missing; install Rust with rustup first" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

if [ ! -x "$VENV/bin/python" ]; then
    step "creating .venv with ${TRACESIEVE_PYTHON:-python3}"
    "${TRACESIEVE_PYTHON:-python3}" -m venv "$VENV"
fi
if ! "$VENV/bin/python" -m pip freeze 2>/dev/null | grep -qxF -f <(grep -v '^#' requirements-dev.txt); then
    step "installing Python build and test tools"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
fi

step "building the tracesieve extension into .venv"
maturin develop --quiet --manifest-path recorder/Cargo.toml
