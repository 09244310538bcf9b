#!/usr/bin/env bash
# The main job: sets up what is missing, records the bundled sample program
# (sample/main.py, with sample/.codetracer/trace-filter.toml found above it)
# to sample.tsieve, shows what the trace holds and why the filter decided as
# it did, then builds the viewer and serves it with the trace loaded
# (`tracesieve view`, http://127.0.0.1:8765/; Ctrl-C stops it). Extra
# arguments go to `tracesieve view`, e.g. --no-browser or --port N.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

"$REPO/scripts/setup.sh" main
export PATH="$REPO/.venv/bin:$PATH"
TRACE="$REPO/sample.tsieve"
FILTER=sample/.codetracer/trace-filter.toml

step "tracesieve check $FILTER"
tracesieve check "$FILTER"

step "tracesieve record -o sample.tsieve sample/main.py"
tracesieve record -o "$TRACE" sample/main.py

step "tracesieve info sample.tsieve"
tracesieve info "$TRACE"

step "why is the card number never recorded?"
tracesieve explain --filter "$FILTER" --file "$REPO/sample/shop/payment.py" --qualname charge \
    --module shop.payment --value arg:card_number --value arg:amount --value arg:api_key

step "re-filtered without the sample's filter (the built-in default alone)"
tracesieve refilter "$TRACE" -o "$REPO/sample-builtin-only.tsieve"

step "exports: JSON, CodeTracer folder, Chrome trace (open in Perfetto or speedscope)"
tracesieve export "$TRACE" --format json -o "$REPO/sample.json"
tracesieve export "$TRACE" --format codetracer -o "$REPO/sample-codetracer"
tracesieve export "$TRACE" --format chrome -o "$REPO/sample-chrome.json"
echo "wrote sample.json, sample-codetracer/, sample-chrome.json"

"$REPO/scripts/build-viewer.sh"

step "tracesieve view sample.tsieve (the viewer, with the sample trace loaded)"
exec tracesieve view "$TRACE" --port 8765 "$@"
