#!/usr/bin/env bash
# The viewer's timings on traces of about 100 k, 1 M and 10 M events (and
# 50 M with BIG=1; see bench.mjs). Builds target/dist unless SKIP_BUILD=1;
# traces go to target/bench-traces (recorded once: 10 M events take about
# 15 s and 70 MB, 50 M about 75 s and 350 MB).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo"
export PATH="$repo/node_modules/.bin:$HOME/.cargo/bin:$PATH"
[ -n "${SKIP_BUILD:-}" ] || scripts/build-viewer.sh
out="$repo/target/bench-traces"
mkdir -p "$out"
sizes="17000 170000 1700000"
[ -z "${BIG:-}" ] || sizes="$sizes 8500000"
traces=()
for n in $sizes; do
    [ -f "$out/calls-$n.tsieve" ] ||
        .venv/bin/tracesieve record -o "$out/calls-$n.tsieve" tests/browser/programs/busy.py "$n" >/dev/null
    traces+=("$out/calls-$n.tsieve")
done
node tests/browser/bench.mjs target/dist "${traces[@]}"
