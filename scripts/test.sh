#!/usr/bin/env bash
# Sets up what is missing, then runs every check and test: formatting, lints
# (host and wasm32), Rust tests (host, then engine-wasm's and the viewer's as
# wasm in node and headless Chromium), pytest on every tested Python, the
# cross-interpreter and trace-parity tests, the parity of engine-wasm with the
# native engine in node and Chromium, and the viewer's end-to-end tests in
# headless Chromium (screenshots in target/e2e-screenshots).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

"$REPO/scripts/setup.sh"

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (host, all targets)"
with_venv "$MAIN_PYTHON_VERSION" cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo clippy (wasm32: the engine, and engine-wasm with its wasm tests)"
cargo clippy -p tracesieve-engine --target wasm32-unknown-unknown --locked -- -D warnings
cargo clippy -p tracesieve-engine-wasm -p tracesieve-viewer --all-targets --target wasm32-unknown-unknown --locked -- -D warnings

step "cargo test (host; writes the engine-parity corpus to target/parity/engine)"
with_venv "$MAIN_PYTHON_VERSION" cargo test --workspace --locked

step "cargo test (wasm32: engine-wasm in node and headless Chromium, the viewer's models in node)"
cargo test -p tracesieve-engine-wasm --target wasm32-unknown-unknown --locked
cargo test -p tracesieve-viewer --lib --target wasm32-unknown-unknown --locked

"$REPO/scripts/build-engine-wasm.sh"

for version in $TEST_PYTHON_VERSIONS; do
    step "pytest on Python $version"
    with_venv "$version" python -m pytest recorder/tests
done

step "pytest: cross-interpreter checks"
TRACESIEVE_PYTHONS="$(for v in $TEST_PYTHON_VERSIONS; do printf '%s=%s/bin/python ' "$v" "$(venv_dir "$v")"; done)" \
    with_venv "$MAIN_PYTHON_VERSION" python -m pytest tests

step "parity: engine-wasm against the native engine and refilter, in node"
node engine-wasm/parity/node.mjs

step "parity: engine-wasm against the native engine and refilter, in headless Chromium"
node engine-wasm/parity/browser.mjs

"$REPO/scripts/build-viewer.sh"

step "viewer end-to-end tests in headless Chromium (tests/browser)"
SKIP_BUILD=1 tests/browser/run.sh
