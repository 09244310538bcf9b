#!/usr/bin/env bash
# Sets up what is missing, then runs every check and test: formatting, lints
# (host and wasm32), Rust tests (host, then engine-wasm's and the viewer's as
# wasm in node and headless Chromium), pytest on every tested Python, the
# cross-interpreter and trace-parity tests, CPython's own test modules plain
# and under `record` on every tested Python (scripts/cpython-tests.py), the
# parity of engine-wasm with the native engine in node and Chromium, and the
# viewer's end-to-end tests in headless Chromium (screenshots in
# target/e2e-screenshots). That is what CI runs.
#
#   scripts/test.sh                     everything
#   scripts/test.sh cpython             set-up, then only the CPython stage
#   scripts/test.sh cpython --all       the whole `python -m test` suite instead
#                                       of the stage's list (hours; not in CI)
#
# Arguments after `cpython` go to scripts/cpython-tests.py on each Python
# (a list of modules, --values none, ...); see docs/cpython-tests.md.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

# The CPython stage (issue 22): CPython's own test modules, plainly and
# under `record` (values off; values on but for two slow modules), each
# test's result compared, the known differences excepted. About 3 minutes
# on 2 cores for the three Pythons, more on a loaded machine
# (docs/cpython-tests.md).
cpython_stage() {
    local version
    for version in $TEST_PYTHON_VERSIONS; do
        step "CPython's own tests, plain and recorded, on Python $version"
        "$(venv_dir "$version")/bin/python" scripts/cpython-tests.py -j "$(nproc)" "$@"
    done
}

case "${1:-}" in
    "") ;;
    cpython)
        shift
        "$REPO/scripts/setup.sh"
        cpython_stage "$@"
        exit 0
        ;;
    *)
        echo "usage: scripts/test.sh [cpython [--all | MODULE... | scripts/cpython-tests.py options]]" >&2
        exit 2
        ;;
esac

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

cpython_stage

step "parity: engine-wasm against the native engine and refilter, in node"
node engine-wasm/parity/node.mjs

step "parity: engine-wasm against the native engine and refilter, in headless Chromium"
node engine-wasm/parity/browser.mjs

"$REPO/scripts/build-viewer.sh"

step "viewer end-to-end tests in headless Chromium (tests/browser)"
SKIP_BUILD=1 tests/browser/run.sh
