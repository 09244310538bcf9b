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
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo clippy (engine for wasm32)"
cargo clippy -p tracesieve-engine --target wasm32-unknown-unknown --locked -- -D warnings

step "cargo build (engine for wasm32)"
cargo build -p tracesieve-engine --target wasm32-unknown-unknown --locked

step "cargo test (host)"
cargo test --workspace --locked

step "pytest"
python -m pytest recorder/tests
