#!/usr/bin/env bash
# Builds the viewer (`trunk build --release`: the Yew app and its worker,
# profile wasm-release, wasm-opt -Oz) into target/dist, then bundles it into
# the Python package (recorder/python/tracesieve/viewer/), where
# `tracesieve view` serves it from. Expects the tools setup.sh installs.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"
# npm's wasm-opt 132 must shadow any other (Debian's cannot read Rust 1.95 output).
export PATH="$REPO/node_modules/.bin:$PATH"

step "trunk build --release (the viewer, into target/dist)"
trunk build --release --locked
bundle="$REPO/recorder/python/tracesieve/viewer"
rm -rf "$bundle"
cp -r target/dist "$bundle"
echo "bundled the viewer into ${bundle#"$REPO/"}"
