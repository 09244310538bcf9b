#!/usr/bin/env bash
# The viewer's timings on traces of about 100 k and 1 M events (see bench.mjs).
# Builds target/dist unless SKIP_BUILD=1; traces go to target/bench-traces.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
export PATH="$repo/node_modules/.bin:$HOME/.cargo/bin:$PATH"
[ -n "${SKIP_BUILD:-}" ] || scripts/build-viewer.sh
out="$repo/target/bench-traces"
mkdir -p "$out"
for n in 17000 170000; do
    [ -f "$out/calls-$n.tsieve" ] ||
        .venv/bin/tracesieve record -o "$out/calls-$n.tsieve" tests/browser/programs/busy.py "$n" >/dev/null
done
node tests/browser/bench.mjs target/dist "$out/calls-17000.tsieve" "$out/calls-170000.tsieve"
