# Sourced by the scripts: paths and helpers every step shares.
# shellcheck shell=bash
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# The main interpreter (recording with sys.monitoring, the CLI, the demo),
# and the interpreters the recorder is tested on.
MAIN_PYTHON_VERSION=3.12
# 3.11–3.13 (HOST_PYTHON_VERSIONS) come from pyenv and get a virtualenv
# here; 3.14 and 3.15 (SID_PYTHON_VERSIONS), which neither pyenv nor Debian 12
# has, come from a Debian sid root that scripts/sid-python.sh makes once and
# caches (it needs root), and run inside it through wrappers.
HOST_PYTHON_VERSIONS="3.11 3.12 3.13"
SID_PYTHON_VERSIONS="3.14 3.15"
TEST_PYTHON_VERSIONS="$HOST_PYTHON_VERSIONS $SID_PYTHON_VERSIONS"
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

# The virtualenv for Python X.Y: .venv for the main one, .venv-X.Y otherwise.
venv_dir() {
    if [ "$1" = "$MAIN_PYTHON_VERSION" ]; then echo "$REPO/.venv"; else echo "$REPO/.venv-$1"; fi
}

# A CPython X.Y interpreter: pyenv's newest X.Y, else python X.Y on PATH
# (checked by running it: a pyenv shim for an inactive version fails).
find_python() {
    local version=$1 candidate
    for candidate in $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}/versions/$version."* 2>/dev/null | sort -V -r); do
        if [ -x "$candidate/bin/python$version" ]; then
            echo "$candidate/bin/python$version"
            return
        fi
    done
    if candidate=$(command -v "python$version") && "$candidate" -c 'import sys' >/dev/null 2>&1; then
        echo "$candidate"
        return
    fi
    echo "setup: no CPython $version found (looked in pyenv and for python$version on PATH)" >&2
    return 1
}

# Whether the interpreter $1 has every pin of requirements-dev.txt (each
# `name==version` line is a line of its `pip freeze`).
has_dev_requirements() {
    local frozen
    frozen=$("$1" -m pip freeze 2>/dev/null) || return 1
    ! grep -v -e '^#' -e '^$' "$REPO/requirements-dev.txt" | grep -qvxF -f <(printf '%s\n' "$frozen")
}

# Whether Python X.Y runs in the Debian sid root (scripts/sid-python.sh).
is_sid_version() {
    case " $SID_PYTHON_VERSIONS " in *" $1 "*) return 0 ;; *) return 1 ;; esac
}

# The interpreter the tests run for Python X.Y, with tracesieve installed:
# its virtualenv's python, or for 3.14 and 3.15 the wrapper that runs its
# virtualenv's python inside the sid root, in the current directory, as if
# it ran here (scripts/sid-python.sh).
test_python() {
    if is_sid_version "$1"; then echo "$REPO/target/sid/$1/bin/python"; else echo "$(venv_dir "$1")/bin/python"; fi
}

# Runs a command with the venv of Python X.Y active for maturin and cargo.
# Each interpreter gets its own cargo target directory, so switching between
# them does not rebuild pyo3.
with_venv() {
    local version=$1
    shift
    local venv
    venv=$(venv_dir "$version")
    VIRTUAL_ENV="$venv" PYO3_PYTHON="$venv/bin/python" CARGO_TARGET_DIR="$REPO/target/py$version" \
        PATH="$venv/bin:$PATH" "$@"
}
