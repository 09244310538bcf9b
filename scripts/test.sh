#!/usr/bin/env bash
# Sets up what is missing, then runs every check and test: formatting, lints
# (host and wasm32), Rust tests (host, then engine-wasm's and the viewer's as
# wasm in node and headless Chromium), pytest on every tested Python (3.11 to
# 3.15; 3.14 and 3.15 inside the Debian sid root of scripts/sid-python.sh),
# the cross-interpreter and trace-parity tests, CPython's own test modules
# plain and under `record` on 3.11 to 3.13 (scripts/cpython-tests.py), the
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

# The interpreters of the CPython stage: 3.14 and 3.15 are left out (their
# Debian packages hold no `test` package without libpython3.X-testsuite, and
# the stage's list of known differences is for 3.11 to 3.13).
CPYTHON_STAGE_VERSIONS=$HOST_PYTHON_VERSIONS

# The CPython stage (issue 22): CPython's own test modules, plainly and
# under `record` (values off; values on but for two slow modules), each
# test's result compared, the known differences excepted. About 3 minutes
# on 2 cores for the three Pythons, more on a loaded machine
# (docs/cpython-tests.md).
cpython_stage() {
    local version
    for version in $CPYTHON_STAGE_VERSIONS; do
        step "CPython's own tests, plain and recorded, on Python $version"
        "$(test_python "$version")" scripts/cpython-tests.py -j "$(nproc)" "$@"
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

# mypy --strict and stubtest over the Python package (the 3.12 extension
# that setup.sh built).
"$REPO/scripts/typecheck.sh"

step "cargo test (host; writes the engine-parity corpus to target/parity/engine)"
with_venv "$MAIN_PYTHON_VERSION" cargo test --workspace --locked

step "cargo test (wasm32: engine-wasm in node and headless Chromium, the viewer's models in node)"
cargo test -p tracesieve-engine-wasm --target wasm32-unknown-unknown --locked
cargo test -p tracesieve-viewer --lib --target wasm32-unknown-unknown --locked

"$REPO/scripts/build-engine-wasm.sh"

for version in $TEST_PYTHON_VERSIONS; do
    step "pytest on Python $version"
    if is_sid_version "$version"; then
        # Inside the Debian sid root, with its virtualenv active.
        "$(test_python "$version")" -m pytest recorder/tests
    else
        with_venv "$version" python -m pytest recorder/tests
    fi
done

# tests/test_wheels.py builds a wheel, which bundles the viewer.
"$REPO/scripts/build-viewer.sh"

step "pytest: cross-interpreter checks, and a wheel installed into a fresh virtualenv"
TRACESIEVE_PYTHONS="$(for v in $TEST_PYTHON_VERSIONS; do printf '%s=%s ' "$v" "$(test_python "$v")"; done)" \
    with_venv "$MAIN_PYTHON_VERSION" python -m pytest tests

cpython_stage

step "parity: engine-wasm against the native engine and refilter, in node"
node engine-wasm/parity/node.mjs

step "parity: engine-wasm against the native engine and refilter, in headless Chromium"
node engine-wasm/parity/browser.mjs

step "viewer end-to-end tests in headless Chromium (tests/browser)"
SKIP_BUILD=1 tests/browser/run.sh
