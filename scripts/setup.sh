#!/usr/bin/env bash
# Installs whatever tracesieve's build and tests need and is missing, then
# builds the Python extension into a virtualenv per tested interpreter
# (.venv for Python 3.12, .venv-3.11, .venv-3.13, and for 3.14 and 3.15
# target/sid/venv-3.14 and target/sid/venv-3.15 inside a Debian sid root, see
# scripts/sid-python.sh). Safe to run again: each step checks first. Follows
# ../shared/reference/toolchain.md (registries only, no downloads): the
# wasm32 target; wasm-bindgen-cli at the version Cargo.lock pins; trunk; node
# tools from package-lock.json (wasm-opt, playwright-core); Debian's Chromium
# and ChromeDriver; debootstrap and, once per machine, the sid root with
# python3.14 and python3.15 (about 1 minute, ~740 MB in
# ~/.cache/tracesieve/sid-root; needs root). `setup.sh main` prepares only
# what the main job needs (Python 3.12, no sid root).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

command -v cargo >/dev/null || { echo "setup: cargo is missing; install Rust with rustup first" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $bindgen_version" ]; then
    step "installing wasm-bindgen-cli $bindgen_version (about 2 minutes)"
    # Not --locked: the CLI's lock file names a crate version the registry lacks.
    cargo install --quiet wasm-bindgen-cli --version "$bindgen_version"
fi

# trunk builds the viewer; 0.22 needs a newer rustc than these machines have.
TRUNK_VERSION=0.21.14
if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    step "installing trunk $TRUNK_VERSION (about 6 minutes)"
    cargo install --quiet --locked trunk --version "$TRUNK_VERSION"
fi

command -v npm >/dev/null || { echo "setup: npm is missing; install node 20 and npm first" >&2; exit 1; }
# node_modules/.installed-lock is the package-lock.json the tools came from.
if ! cmp -s package-lock.json node_modules/.installed-lock 2>/dev/null; then
    step "installing node tools (npm ci: binaryen for wasm-opt, playwright-core, speedscope for its file-format schema)"
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json node_modules/.installed-lock
fi

if [ "${1:-}" != main ] && ! { command -v chromium && command -v chromedriver; } >/dev/null; then
    step "installing Chromium and ChromeDriver from Debian (for browser tests)"
    sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
fi

versions=$HOST_PYTHON_VERSIONS
[ "${1:-}" = main ] && versions=$MAIN_PYTHON_VERSION

for version in $versions; do
    venv=$(venv_dir "$version")
    if [ ! -x "$venv/bin/python" ]; then
        python=$(find_python "$version")
        step "creating $(basename "$venv") with $python"
        "$python" -m venv "$venv"
    fi
    if ! has_dev_requirements "$venv/bin/python"; then
        step "installing Python build and test tools into $(basename "$venv")"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
    fi
    step "building the tracesieve extension for Python $version"
    # --release: a debug build records about ten times slower (issue 25), and
    # the tests run faster on the optimised build too.
    with_venv "$version" maturin develop --release --quiet --manifest-path recorder/Cargo.toml
done

# CPython 3.14 and 3.15, for the tests only: run from a Debian sid root.
if [ "${1:-}" != main ]; then
    "$REPO/scripts/sid-python.sh" setup $SID_PYTHON_VERSIONS
fi
