#!/usr/bin/env bash
# The viewer's browser end-to-end tests, in one command:
#   1. builds the viewer into target/dist with scripts/build-viewer.sh
#      (SKIP_BUILD=1 reuses it; DIST=DIR tests another build),
#   2. records the test traces into target/e2e-traces (make-traces.sh),
#   3. runs run.mjs in headless Chromium; screenshots in target/e2e-screenshots.
# Needs trunk, wasm-bindgen (~/.cargo/bin), wasm-opt 132 and playwright-core
# (node_modules), /usr/bin/chromium and the recorder in .venv.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
# wasm-opt 132 from npm must shadow any other (Debian's cannot read Rust 1.95 output).
export PATH="$repo/node_modules/.bin:$HOME/.cargo/bin:$PATH"
dist="${DIST:-$repo/target/dist}"
traces="$repo/target/e2e-traces"
if [ -z "${SKIP_BUILD:-}" ] && [ -z "${DIST:-}" ]; then
    scripts/build-viewer.sh
fi
tests/browser/make-traces.sh "$traces" >/dev/null
node tests/browser/run.mjs "$dist" "$traces"
