#!/usr/bin/env bash
# Recorder overhead per interpreter (issue 12): bench/overhead.py's workloads
# on CPython 3.12, 3.13, 3.14 and 3.15 side by side, for python, a no-op
# sys.monitoring LINE callback, tracesieve --values none and --values all,
# and VizTracer where it installs; writes the interpreter-overhead section of
# BENCHMARKS.md. Not part of the tests. About 3 minutes per interpreter with
# --repeat 5 (of which tracesieve --values all on library and fib30, most).
#
#   scripts/bench-interpreters.sh [--pythons "3.12 3.13 3.14 3.15"] [--repeat N]
#                                 [--workloads fib,mixed,library,lines,fib30] [--no-setup]
#
# For each interpreter it (unless --no-setup) builds the extension in
# release mode into its test virtualenv as scripts/setup.sh does (.venv,
# .venv-3.13; for 3.14 and 3.15 target/sid/venv-X.Y in the Debian sid root,
# scripts/sid-python.sh), then makes a bench virtualenv with the peer tools
# of bench/requirements.txt except codetracer-python-recorder, which supports
# only Python < 3.14 and takes minutes a workload (its 3.12 figures are in
# the recorder-overhead section): .venv-bench for 3.12 (scripts/bench.sh's),
# .venv-bench-3.13, and target/sid/venv-bench-X.Y made and run inside the sid
# root. The bench virtualenv imports tracesieve from the source tree through
# a .pth file, as scripts/bench.sh does, so the figures are for the build the
# README installs. If VizTracer does not install on an interpreter, the
# reason goes into the section and the rest is measured anyway. Each
# interpreter's results are kept in target/bench-interpreters/python-X.Y.json;
# the section is rendered from every such file there (the date of each is in
# the section), so measuring one interpreter again keeps the others.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

pythons="3.12 3.13 3.14 3.15"
repeat=5
workloads=fib,mixed,library,lines,fib30
setup=1
while [ $# -gt 0 ]; do
    case "$1" in
        --pythons) pythons=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        --workloads) workloads=$2; shift 2 ;;
        --no-setup) setup=; shift ;;
        *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
    esac
done

out="$REPO/target/bench-interpreters"
mkdir -p "$out"
viztracer=$(grep -i '^viztracer==' bench/requirements.txt)
markdown=$(grep -i '^markdown==' bench/requirements.txt)

# The bench virtualenv of Python X.Y, as seen by its python.
bench_venv() {
    if is_sid_version "$1"; then echo "$REPO/target/sid/venv-bench-$1"
    elif [ "$1" = "$MAIN_PYTHON_VERSION" ]; then echo "$REPO/.venv-bench"
    else echo "$REPO/.venv-bench-$1"; fi
}

# Runs the bench virtualenv's python of X.Y, in the current directory: for
# 3.14 and 3.15 inside the sid root (sid-python.sh runs a program of the
# test virtualenv target/sid/venv-X.Y; ../../venv-bench-X.Y/bin/python from
# its bin/ is the bench one), so overhead.py and every run it times start
# there directly, without a wrapper's start-up.
bench_python() {
    local version=$1
    shift
    if is_sid_version "$version"; then
        "$REPO/scripts/sid-python.sh" run "$version" --exe "../../venv-bench-$version/bin/python" "$@"
    else
        "$(bench_venv "$version")/bin/python" "$@"
    fi
}

for version in $pythons; do
    started=$SECONDS
    venv=$(bench_venv "$version")
    if [ -n "$setup" ]; then
        step "Python $version: building the tracesieve extension (release) into its test virtualenv"
        if is_sid_version "$version"; then
            "$REPO/scripts/sid-python.sh" setup "$version"
        elif [ "$version" = "$MAIN_PYTHON_VERSION" ]; then
            "$REPO/scripts/setup.sh" main
        else
            [ -x "$(venv_dir "$version")/bin/python" ] || { echo "bench-interpreters: no $(venv_dir "$version"); run scripts/setup.sh first" >&2; exit 1; }
            with_venv "$version" maturin develop --release --quiet --manifest-path recorder/Cargo.toml
        fi
    fi
    if [ ! -f "$venv/pyvenv.cfg" ]; then
        step "Python $version: creating ${venv#"$REPO"/}"
        if is_sid_version "$version"; then
            # The test virtualenv's python makes it, on Debian sid's python$version.
            "$REPO/scripts/sid-python.sh" run "$version" -m venv "$venv"
        else
            "$(find_python "$version")" -m venv "$venv"
        fi
    fi
    step "Python $version: installing $markdown and $viztracer into ${venv#"$REPO"/}"
    bench_python "$version" -m pip install --quiet --disable-pip-version-check "$markdown"
    missing=()
    tools=python,noop,none,all
    notes=()
    if bench_python "$version" -m pip install --quiet --disable-pip-version-check "$viztracer" >"$out/pip-viztracer-$version.log" 2>&1; then
        tools=$tools,viztracer
        # A wheel pip built here (from the sdist) is tagged linux_x86_64, PyPI's manylinux.
        tag=$(bench_python "$version" -c 'import importlib.metadata as m; print(m.distribution("viztracer").read_text("WHEEL"))' | awk '/^Tag:/ { print $2; exit }')
        case "$tag" in
            *-linux_*) notes=(--note "${viztracer/==/ } has no wheel for this interpreter on PyPI; pip built it from the sdist here (wheel tag \`$tag\`).") ;;
        esac
    else
        # The last error line pip printed (a failed build prints the compiler's).
        reason=$(grep -E 'error:|ERROR:' "$out/pip-viztracer-$version.log" | grep -v -E 'subprocess-exited-with-error|metadata-generation-failed|failed-wheel-build' | head -3 | tr '\n' ' ' | sed 's/  */ /g; s/ *$//')
        echo "bench-interpreters: $viztracer does not install on Python $version (log: ${out#"$REPO"/}/pip-viztracer-$version.log): $reason" >&2
        missing=(--missing "viztracer=\`pip install $viztracer\` fails: ${reason:-see the pip log}")
    fi
    site=$(bench_python "$version" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    bench_python "$version" -m pip uninstall --quiet --yes tracesieve 2>/dev/null || true
    echo "$REPO/recorder/python" >"$site/tracesieve-readme-build.pth"
    step "Python $version: measuring ($tools; --repeat $repeat)"
    # From bench/, so that workloads.py sees no tracesieve package beside it.
    (cd "$REPO/bench" && bench_python "$version" overhead.py --repeat "$repeat" --workloads "$workloads" \
        --tools "$tools" "${missing[@]}" "${notes[@]}" --interpreter-json "$out/python-$version.json")
    echo "bench-interpreters: Python $version took $((SECONDS - started)) s"
done

step "writing the interpreter-overhead section of BENCHMARKS.md"
"$(find_python "$MAIN_PYTHON_VERSION")" bench/overhead.py --side-by-side "$out"/python-*.json --update "$REPO/BENCHMARKS.md"
