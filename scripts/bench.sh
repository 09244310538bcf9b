#!/usr/bin/env bash
# Measures whole-program recording overhead (bench/overhead.py) on CPython
# 3.12 with the tracesieve build the README installs (overhead.py refuses a
# debug build), beside VizTracer and
# codetracer-python-recorder, and writes the figures into BENCHMARKS.md.
# Not part of the tests (timings do not belong in tests). Takes a few minutes.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"
venv="$REPO/.venv-bench"
if [ ! -x "$venv/bin/python" ]; then
    step "creating .venv-bench"
    "$(find_python 3.12)" -m venv "$venv"
fi
step "installing the peer tools and the library workload"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
step "setting up the README's build of tracesieve (.venv) and pointing .venv-bench at it"
# The figures are for the build a user gets: the extension scripts/setup.sh
# installs into .venv (a release build, `maturin develop --release`), not a
# build of the benchmark's own. .venv-bench only adds the peer tools, and
# imports tracesieve from the same source tree through a .pth file, as
# .venv's editable install does.
"$REPO/scripts/setup.sh" main
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$venv/bin/python" -m pip uninstall --quiet --yes tracesieve 2>/dev/null || true
echo "$REPO/recorder/python" > "$site/tracesieve-readme-build.pth"
step "measuring"
# From bench/, so that workloads.py sees no tracesieve package beside it.
(cd "$REPO/bench" && "$venv/bin/python" overhead.py --update "$REPO/BENCHMARKS.md" "$@")
