#!/usr/bin/env bash
# Installs whatever tracesieve's build and tests need and is missing, then
# builds the Python extension into a virtualenv per tested interpreter
# (.venv for Python 3.12, .venv-3.11, .venv-3.13). Safe to run again: each
# step checks first. Follows ../shared/reference/toolchain.md (registries
# only, no downloads). `setup.sh main` prepares only the main interpreter.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

command -v cargo >/dev/null || { echo "setup: cargo is missing; install Rust with rustup first" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

versions=$TEST_PYTHON_VERSIONS
[ "${1:-}" = main ] && versions=$MAIN_PYTHON_VERSION

for version in $versions; do
    venv=$(venv_dir "$version")
    if [ ! -x "$venv/bin/python" ]; then
        python=$(find_python "$version")
        step "creating $(basename "$venv") with $python"
        "$python" -m venv "$venv"
    fi
    if ! "$venv/bin/python" -m pip freeze 2>/dev/null | grep -qxF -f <(grep -v '^#' requirements-dev.txt); then
        step "installing Python build and test tools into $(basename "$venv")"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    fi
    step "building the tracesieve extension for Python $version"
    with_venv "$version" maturin develop --quiet --manifest-path recorder/Cargo.toml
done
