#!/usr/bin/env bash
# The streaming benchmark (issue "traces of any size"): writes a synthetic
# trace of EVENTS events (100,000,000 by default) with
# engine/examples/synth_trace.rs into target/bench-streaming/ (kept, and
# reused by the next run with the same EVENTS; delete the folder to write
# it afresh), then times each trace command of .venv/bin/tracesieve on it
# with its peak RSS (bench/streaming.py): info, refilter, export --format
# json, json --canonical, chrome, speedscope and codetracer. Prints a Markdown table;
# with --update FILE, replaces the section between <!-- streaming:start -->
# and <!-- streaming:end --> of FILE (adding it if missing), unless a
# command failed or the extension is a debug build.
#
#   scripts/bench-streaming.sh [EVENTS] [--update BENCHMARKS.md] [--no-setup]
#
# First runs scripts/setup.sh main, so that the CLI is a release build of
# the current sources; --no-setup measures .venv as it is. Outputs go to
# target/bench-streaming/ too, one at a time, each deleted once measured.
# For large traces the commands first run on a 200,000-event trace to
# estimate the largest output, and the run stops if the disk cannot hold it.
# 100M events: about 15 s to write the trace (256 MiB).
set -euo pipefail
caller_pwd=$PWD
source "$(dirname "$0")/env.sh"
cd "$REPO"

usage() { sed -n 's/^#   /usage: /p' "$0" >&2; exit 2; }
invocation="scripts/bench-streaming.sh${*:+ $*}"
events=100000000
update=""
setup=1
threads=4
while [ $# -gt 0 ]; do
    case "$1" in
        --update) [ $# -ge 2 ] || usage; update=$2; shift 2 ;;
        --update=*) update=${1#--update=}; shift ;;
        --no-setup) setup=0; shift ;;
        -h|--help) usage ;;
        -*) echo "bench-streaming: unknown option $1" >&2; usage ;;
        *) events=${1//[_,]/}; shift ;;
    esac
done
[[ "$events" =~ ^[0-9]+$ ]] || { echo "bench-streaming: EVENTS must be a number, not '$events'" >&2; exit 2; }
if [ -n "$update" ]; then
    # A relative path is the caller's, not the repository root's.
    case "$update" in /*) ;; *) update="$caller_pwd/$update" ;; esac
fi

if [ "$setup" = 1 ]; then
    "$REPO/scripts/setup.sh" main
fi
tracesieve="$REPO/.venv/bin/tracesieve"
[ -x "$tracesieve" ] || { echo "bench-streaming: $tracesieve is missing; run scripts/setup.sh main first" >&2; exit 1; }

dir="$REPO/target/bench-streaming"
mkdir -p "$dir"
step "disk space"
df -h "$dir"

step "building the trace generator (engine/examples/synth_trace.rs)"
cargo build --release --locked -q -p tracesieve-engine --example synth_trace
synth() { cargo run --release --locked -q -p tracesieve-engine --example synth_trace -- "$@"; }

# Writes target/bench-streaming/synthetic-N.tsieve unless it is there;
# synthetic-N.txt, written last, holds the generator's report (the event count
# first), so a trace cut short by an interrupted run is never reused.
trace_for() {
    local n=$1 trace="$dir/synthetic-$1.tsieve" report="$dir/synthetic-$1.txt"
    if [ -s "$trace" ] && [ -s "$report" ] && [ -s "$dir/refilter.toml" ]; then
        echo "reusing $trace: $(cat "$report")" >&2
    else
        rm -f "$report"
        synth --events "$n" --threads "$threads" -o "$trace" --refilter-filter "$dir/refilter.toml" >"$report.tmp"
        mv "$report.tmp" "$report"
        cat "$report" >&2
    fi
}

step "the synthetic trace ($events events)"
trace_for "$events"
trace="$dir/synthetic-$events.tsieve"
# The generator's report: "N events, B bytes (… MiB), T threads -> FILE in S s (R M events/s)".
report=$(cat "$dir/synthetic-$events.txt")
count=${report%% events*}

calibrate=()
calibration_events=200000
if [ "$events" -gt $((calibration_events * 5)) ]; then
    step "the calibration trace ($calibration_events events)"
    trace_for "$calibration_events"
    small=$(cat "$dir/synthetic-$calibration_events.txt")
    calibrate=(--calibrate "$dir/synthetic-$calibration_events.tsieve" "${small%% events*}")
fi

step "measuring ($tracesieve)"
status=0
"$REPO/.venv/bin/python" "$REPO/bench/streaming.py" \
    --tracesieve "$tracesieve" --trace "$trace" --events "$count" --threads "$threads" \
    --filter "$dir/refilter.toml" --work "$dir" "${calibrate[@]}" \
    --invocation "$invocation" --generated "${report#*-> * in }" \
    ${update:+--update "$update"} || status=$?
exit "$status"
