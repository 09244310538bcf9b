#!/usr/bin/env bash
# Builds release wheels of the tracesieve package, with the viewer bundled,
# for CPython 3.11, 3.12 and 3.13 (the pyenv virtualenvs .venv-3.11, .venv,
# .venv-3.13) and 3.14 and 3.15 (target/sid/venv-3.14 and venv-3.15, inside
# the Debian sid root of scripts/sid-python.sh, which needs root). Expects
# what scripts/setup.sh makes; installs nothing.
#
#   scripts/build-wheels.sh [--build-viewer] [--out DIR] [X.Y...]
#                       one wheel per Python X.Y (default: all five, TEST_PYTHON_VERSIONS
#                       of env.sh) into DIR (default target/wheels); --build-viewer runs
#                       scripts/build-viewer.sh first
#   scripts/build-wheels.sh --check WHEEL...
#                       only the check below, on wheels built before
#
# * The viewer. The wheels bundle it from recorder/python/tracesieve/viewer/,
#   where scripts/build-viewer.sh puts it (the folder is ignored by git).
#   Without an index.html there the script refuses (exit 1) before building
#   anything: a wheel without the viewer would install a `tracesieve view`
#   that only says it has none. maturin takes the folder because it walks
#   recorder/ without the .gitignore files above it (the root one lists the
#   folder); a recorder/.gitignore naming it would drop it from the wheels,
#   which the check below would catch.
# * The check. Each wheel is built into a folder of its own under target/,
#   then opened: it must hold tracesieve/viewer/index.html, a .wasm next to
#   it, the bundled viewer's every file unchanged, the extension module for
#   its own interpreter, the typing marker py.typed and the extension's stub
#   _native.pyi, and no bytecode (__pycache__, *.pyc, which maturin
#   would take from the package folder as it takes everything there). A
#   wheel that fails is deleted and the script exits 1. Only checked wheels
#   reach DIR; building for X.Y first deletes DIR's tracesieve wheels for
#   X.Y, so DIR never holds an older wheel beside a failed build.
# * The build: `maturin build --release --locked` with the virtualenv's
#   interpreter and that interpreter's cargo target directory (target/pyX.Y,
#   as env.sh's with_venv and scripts/sid-python.sh have), so a wheel right
#   after scripts/setup.sh reuses what `maturin develop --release` compiled:
#   about a second per wheel, 6 s for all five; after a change to the Rust
#   code about 17 s per wheel; from an empty target directory 45 to 90 s per
#   wheel, 6 minutes for all five on 2 busy cores (measured 2026-12-07).
#   Two maturin runs in one target directory at the same time can trip over
#   each other's copy of the library (target/pyX.Y/maturin/): run it again.
# * The platform tag is maturin's default: the oldest manylinux the
#   library's glibc symbols allow. Built on Debian 12, 3.11 to 3.13 come out
#   manylinux_2_34 (pthread_key_create and friends, in libc since 2.34), so
#   they install on glibc 2.34 and newer (Debian 12, Ubuntu 22.04, RHEL 9).
#   3.14 and 3.15 are built against Debian sid's glibc, whose headers send
#   mimalloc's strtol to __isoc23_strtol: manylinux_2_38, so they install
#   on glibc 2.38 and newer (Debian 13, Ubuntu 24.04, the sid root), not on
#   Debian 12 itself; pip says so rather than installing a wheel that would
#   not load. These are wheels for this machine and ones like it; wheels
#   for PyPI would be built in a manylinux container.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$REPO"

die() { echo "build-wheels: $*" >&2; exit 1; }

BUNDLE="$REPO/recorder/python/tracesieve/viewer"

# check_wheels [--viewer DIR] WHEEL...: the check above, in Python (any 3.x).
check_wheels() {
    python3 - "$@" <<'EOF'
import re
import sys
import zipfile
from pathlib import Path

args = sys.argv[1:]
viewer = None
if args[:1] == ["--viewer"]:
    viewer, args = Path(args[1]), args[2:]
failed = False
for wheel in map(Path, args):
    problems = []
    try:
        with zipfile.ZipFile(wheel) as archive:
            names = set(archive.namelist())
            if "tracesieve/viewer/index.html" not in names:
                problems.append("no tracesieve/viewer/index.html (the viewer is not bundled)")
            if not any(re.fullmatch(r"tracesieve/viewer/[^/]+\.wasm", name) for name in names):
                problems.append("no .wasm in tracesieve/viewer/")
            if viewer is not None:
                for path in sorted(p for p in viewer.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
                    name = "tracesieve/viewer/" + path.relative_to(viewer).as_posix()
                    if name not in names:
                        problems.append(f"{name} of the bundled viewer is missing")
                    elif archive.read(name) != path.read_bytes():
                        problems.append(f"{name} differs from the bundled viewer's")
            # tracesieve-0.1.0-cp312-cp312-manylinux_2_34_x86_64.whl: the module for cp312.
            tag = re.match(r"[^-]+-[^-]+-cp(\d)(\d+)-", wheel.name)
            if tag is None:
                problems.append("its name names no CPython interpreter (cpXY)")
            else:
                module = re.compile(rf"tracesieve/_native\.cpython-{tag[1]}{tag[2]}-[^/]+\.so")
                if not any(module.fullmatch(name) for name in names):
                    problems.append(f"no extension module for CPython {tag[1]}.{tag[2]}")
            for typed in ("tracesieve/py.typed", "tracesieve/_native.pyi"):
                if typed not in names:
                    problems.append(f"no {typed} (type checkers would not see the package's types)")
            stray = sorted(n for n in names if "__pycache__/" in n or n.endswith((".pyc", ".pyo")))
            if stray:
                problems.append(
                    f"bytecode taken from the package folder: {', '.join(stray[:3])}"
                    + (f" and {len(stray) - 3} more" if len(stray) > 3 else "")
                    + " (remove recorder/python/tracesieve's __pycache__ folders and build again)"
                )
    except (OSError, zipfile.BadZipFile) as error:
        problems.append(str(error))
    if problems:
        failed = True
        print(f"build-wheels: {wheel.name}: " + "; ".join(problems), file=sys.stderr)
    else:
        print(f"build-wheels: {wheel.name}: viewer, extension module, typing: ok")
sys.exit(1 if failed else 0)
EOF
}

out="$REPO/target/wheels"
build_viewer=
versions=()
while [ $# -gt 0 ]; do
    case "$1" in
        --check)
            shift
            [ $# -gt 0 ] || die "--check needs wheels to check"
            check_wheels "$@"
            exit
            ;;
        --build-viewer) build_viewer=1 ;;
        --out)
            [ $# -gt 1 ] || die "--out needs a folder"
            out=$2
            shift
            ;;
        --out=*) out=${1#--out=} ;;
        [0-9]*.[0-9]*)
            case " $TEST_PYTHON_VERSIONS " in
                *" $1 "*) versions+=("$1") ;;
                *) die "no virtualenv for Python $1: the wheels are for $TEST_PYTHON_VERSIONS" ;;
            esac
            ;;
        *)
            sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
            exit 2
            ;;
    esac
    shift
done
[ ${#versions[@]} -gt 0 ] || read -r -a versions <<<"$TEST_PYTHON_VERSIONS"

if [ -n "$build_viewer" ]; then
    "$REPO/scripts/build-viewer.sh"
fi
if [ ! -f "$BUNDLE/index.html" ]; then
    die "refusing to build wheels without the viewer: no ${BUNDLE#"$REPO/"}/index.html; run scripts/build-viewer.sh first, or pass --build-viewer"
fi

# Everything missing, said before the first build starts.
for version in "${versions[@]}"; do
    if is_sid_version "$version"; then
        [ "$(id -u)" = 0 ] || die "Python $version is built inside the Debian sid root, which needs root (scripts/sid-python.sh); run as root or name only $HOST_PYTHON_VERSIONS"
        [ -x "$REPO/target/sid/venv-$version/bin/maturin" ] || die "no maturin in target/sid/venv-$version: run scripts/setup.sh"
    else
        [ -x "$(venv_dir "$version")/bin/maturin" ] || die "no maturin in $(venv_dir "$version"): run scripts/setup.sh"
    fi
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
# Built here first, inside the checkout so that the sid root sees it too.
staging="$REPO/target/wheels-staging/$$"
trap 'rm -rf "$staging"; rmdir "$REPO/target/wheels-staging" 2>/dev/null || true' EXIT

built=()
for version in "${versions[@]}"; do
    step "building the wheel for Python $version"
    started=$SECONDS
    dir="$staging/$version"
    mkdir -p "$dir"
    # This interpreter's wheels from before go first: after a failed build
    # DIR holds none for it rather than an older one.
    rm -f "$out"/tracesieve-*-"cp${version/./}-cp${version/./}"-*.whl
    if is_sid_version "$version"; then
        venv="$REPO/target/sid/venv-$version"
        PYO3_PYTHON="$venv/bin/python" CARGO_TARGET_DIR="$REPO/target/py$version" \
            "$REPO/scripts/sid-python.sh" run "$version" --exe maturin build --release --locked --quiet \
            --manifest-path recorder/Cargo.toml --interpreter "$venv/bin/python" --out "$dir"
    else
        with_venv "$version" maturin build --release --locked --quiet \
            --manifest-path recorder/Cargo.toml --interpreter "$(venv_dir "$version")/bin/python" --out "$dir"
    fi
    wheels=("$dir"/*.whl)
    [ ${#wheels[@]} = 1 ] && [ -f "${wheels[0]}" ] || die "maturin left ${#wheels[@]} files in ${dir#"$REPO/"}, not one wheel"
    wheel=${wheels[0]}
    if ! check_wheels --viewer "$BUNDLE" "$wheel"; then
        rm -f "$wheel"
        die "deleted $(basename "$wheel"): it is not a wheel to install"
    fi
    mv "$wheel" "$out/"
    built+=("$out/$(basename "$wheel")")
    echo "build-wheels: Python $version in $((SECONDS - started)) s"
done

step "wheels in ${out#"$REPO/"}"
for wheel in "${built[@]}"; do
    printf '%s  (%s KiB)\n' "$(basename "$wheel")" "$(( $(stat -c %s "$wheel") / 1024 ))"
done
