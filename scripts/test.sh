#!/usr/bin/env bash
# Sets up what is missing, then runs every check and test: formatting, lints,
# Rust tests (host), the engine's wasm32 build, and pytest.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

"$REPO/scripts/setup.sh"

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (host, all targets)"
with_venv "$MAIN_PYTHON_VERSION" cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo clippy (engine for wasm32)"
with_venv "$MAIN_PYTHON_VERSION" cargo clippy -p tracesieve-engine --target wasm32-unknown-unknown --locked -- -D warnings

step "cargo build (engine for wasm32)"
with_venv "$MAIN_PYTHON_VERSION" cargo build -p tracesieve-engine --target wasm32-unknown-unknown --locked

step "cargo test (host)"
with_venv "$MAIN_PYTHON_VERSION" cargo test --workspace --locked

for version in $TEST_PYTHON_VERSIONS; do
    step "pytest on Python $version"
    with_venv "$version" python -m pytest recorder/tests
done

step "pytest: cross-interpreter checks"
TRACESIEVE_PYTHONS="$(for v in $TEST_PYTHON_VERSIONS; do printf '%s=%s/bin/python ' "$v" "$(venv_dir "$v")"; done)" \
    with_venv "$MAIN_PYTHON_VERSION" python -m pytest tests
