#!/usr/bin/env bash
# The engine's whole-trace benchmarks, natively and in WebAssembly: writes
# the synthetic trace of one million events (target/bench-trace), runs the
# criterion benchmarks `trace/*` (native), then engine-wasm/bench/bench.mjs
# (engine-wasm's node build, V8) on the same trace and filter, and prints
# the wasm bundle's sizes. Figures go into BENCHMARKS.md by hand.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

"$REPO/scripts/setup.sh" main
"$REPO/scripts/build-engine-wasm.sh"

step "the synthetic trace"
cargo run --release --locked -q -p tracesieve-engine --example synthetic_trace -- target/bench-trace

step "native: cargo bench -p tracesieve-engine --bench trace"
with_venv "$MAIN_PYTHON_VERSION" cargo bench --locked -p tracesieve-engine --bench trace

step "wasm (node $(node --version)): engine-wasm/bench/bench.mjs"
node engine-wasm/bench/bench.mjs target/bench-trace 7

step "bundle size (target/engine-wasm/web)"
for file in target/engine-wasm/web/tracesieve_engine_wasm_bg.wasm target/engine-wasm/web/tracesieve_engine_wasm.js; do
    printf '%s: %s bytes raw, %s gzipped (-9)\n' "$file" "$(wc -c <"$file")" "$(gzip -9 -c "$file" | wc -c)"
done
