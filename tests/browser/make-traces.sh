#!/usr/bin/env bash
# Records the traces the browser tests drop on the page, into OUT_DIR:
#   sample.tsieve    the bundled sample (its .codetracer filter redacts card data)
#   hostile.tsieve   hostile strings in values and in a file name
#   threads.tsieve   two worker threads
#   busy.tsieve      6,000 calls, several chunks (cut short by the truncation test)
#   secrets.tsieve   a secret that travels, recorded with every value allowed
#   forking.tsieve   a trace set: the program, and in forking.tsieve.d/ its forked child
#   failing-test.tsieve  the failing test of programs/cart_checks.py, recorded by the pytest plugin
#   codetracer/      a CodeTracer JSON trace folder (a foreign format)
# Usage: tests/browser/make-traces.sh OUT_DIR [TRACESIEVE]
set -euo pipefail
out=${1:?usage: make-traces.sh OUT_DIR [TRACESIEVE]}
repo="$(cd "$(dirname "$0")/../.." && pwd)"
tracesieve=${2:-$repo/.venv/bin/tracesieve}
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$repo/sample"
"$tracesieve" record -o "$out/sample.tsieve" main.py >/dev/null
cd "$repo"
"$tracesieve" record -o "$out/hostile.tsieve" tests/browser/programs/hostile.py >/dev/null
"$tracesieve" record -o "$out/threads.tsieve" tests/programs/threads.py >/dev/null
"$tracesieve" record -o "$out/busy.tsieve" tests/browser/programs/busy.py >/dev/null
"$tracesieve" record --filter tests/parity/filters/permissive.toml -o "$out/secrets.tsieve" \
    tests/browser/programs/secrets.py >/dev/null
"$tracesieve" record -o "$out/forking.tsieve" tests/browser/programs/forking.py >/dev/null
rm -rf "$out/pytest" "$out/failing-test.tsieve"
# The plugin keeps the failing test's trace only; pytest's exit status is 1.
"$(dirname "$tracesieve")/python" -m pytest -q -p no:cacheprovider --rootdir tests/browser/programs \
    --tracesieve "$out/pytest" tests/browser/programs/cart_checks.py >/dev/null || true
mv "$out"/pytest/*test_total_with_discount*.tsieve "$out/failing-test.tsieve"
rm -rf "$out/pytest"
rm -rf "$out/codetracer"
"$tracesieve" export "$out/sample.tsieve" --format codetracer -o "$out/codetracer" >/dev/null
ls "$out"
