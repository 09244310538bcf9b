#!/usr/bin/env bash
# The main job: sets up what is missing, then shows tracesieve on the bundled
# sample project. Until the recorder and viewer exist this checks the
# sample's filter and explains what it decides for the sample's code.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

"$REPO/scripts/setup.sh" main
export PATH="$REPO/.venv/bin:$PATH"

FILTER=sample/.codetracer/trace-filter.toml

step "tracesieve check $FILTER"
tracesieve check "$FILTER"

step "why is the card number never recorded?"
tracesieve explain --filter "$FILTER" --file "$REPO/sample/shop/payment.py" --qualname charge \
    --module shop.payment --value arg:card_number --value arg:amount --value arg:api_key \
    --value local:last4

step "the script body, named by __name__ (globals) and by path (paths)"
tracesieve explain --filter "$FILTER" --file "$REPO/sample/main.py" --qualname '<module>' \
    --module __main__ --value local:API_KEY
tracesieve explain --filter "$FILTER" --file "$REPO/sample/main.py" --qualname '<module>' \
    --module-names paths --root "$REPO/sample"
