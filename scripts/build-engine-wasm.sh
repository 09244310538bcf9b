#!/usr/bin/env bash
# Builds engine-wasm for JavaScript: the wasm32 library with the small-code
# `wasm-release` profile, then wasm-bindgen's glue and TypeScript definitions
# for node (target/engine-wasm/node) and for browsers as an ES module
# (target/engine-wasm/web), then wasm-opt -Oz on both. Expects the tools
# setup.sh installs (wasm-bindgen matching Cargo.lock, node_modules/.bin/wasm-opt).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

step "building engine-wasm (wasm32, wasm-release)"
cargo build -p tracesieve-engine-wasm --target wasm32-unknown-unknown --profile wasm-release --locked
wasm="target/wasm32-unknown-unknown/wasm-release/tracesieve_engine_wasm.wasm"
for target in nodejs web; do
    out="target/engine-wasm/${target/nodejs/node}"
    rm -rf "$out"
    wasm-bindgen --target "$target" --out-dir "$out" "$wasm"
    "$REPO/node_modules/.bin/wasm-opt" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
        --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
        "$out/tracesieve_engine_wasm_bg.wasm" -o "$out/tracesieve_engine_wasm_bg.wasm"
done
# The root package.json makes .js files ES modules; the node glue is CommonJS.
printf '{"type": "commonjs"}\n' > target/engine-wasm/node/package.json
ls -l target/engine-wasm/web/tracesieve_engine_wasm_bg.wasm
