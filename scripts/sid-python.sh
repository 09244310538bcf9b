#!/usr/bin/env bash
# CPython 3.14 and 3.15 for the tests, from Debian sid (issue 12). Neither
# pyenv nor Debian 12 has them, and sid's binaries need sid's C library, so
# they run in a Debian sid root made once with debootstrap (which fetches only
# Debian packages), following ../shared/reference/toolchain.md ("CPython 3.14
# and 3.15"). Needs root: debootstrap, mount and chroot do (CI runs as root).
#
#   scripts/sid-python.sh setup [X.Y...]   make what is missing: the root, and for
#                                          each version (default: SID_PYTHON_VERSIONS
#                                          of env.sh) a virtualenv with
#                                          requirements-dev.txt, the extension built
#                                          into it (maturin develop --release), and
#                                          the host-side wrappers
#   scripts/sid-python.sh run X.Y [--exe NAME] [ARGS...]
#                                          run the virtualenv's NAME (default python)
#                                          inside the root, in the current directory
#   scripts/sid-python.sh shell            a shell inside the root, for debugging
#   scripts/sid-python.sh status           what is there
#   scripts/sid-python.sh remove           delete the cached root (refuses while
#                                          anything is mounted in it)
#
# Where things are:
# * The root: ${TRACESIEVE_SID_ROOT:-~/.cache/tracesieve/sid-root}, about 850 MB,
#   shared by every checkout on the machine. It holds only Debian's packages
#   (python3.X with -dev and -venv, gcc, libc6-dev), so it is made once and
#   kept. It is not under target/: `cargo clean` deletes target/ with
#   whatever is mounted below it, and the root is where the host's ~/.cargo,
#   ~/.rustup and the checkout are bind-mounted.
# * Per checkout, under target/ (deleting them is safe, nothing is mounted
#   there): target/sid/venv-X.Y, the virtualenv, made inside the root;
#   target/pyX.Y, its cargo target directory (as env.sh's with_venv has for
#   the other interpreters); target/sid/X.Y/bin/{python,pythonX.Y,tracesieve},
#   wrappers that run the virtualenv's programs inside the root, so that
#   `target/sid/3.14/bin/python -m tracesieve record ...` on the host works
#   as a virtualenv's python does.
#
# How a program runs inside the root: in a mount namespace of its own
# (`unshare --mount`), the checkout, ~/.cargo, ~/.rustup and /tmp are
# bind-mounted at the same absolute paths (so paths given to the interpreter
# mean the same inside), with /dev, /proc and /sys; then `chroot`, the same
# working directory, and the environment passed through (with the virtualenv
# first on PATH). The mounts exist only in that namespace and vanish when the
# program ends, so nothing stays mounted in the root on the host: removing
# the root can never reach through a mount into ~/.cargo or the checkout, and
# `remove` refuses anyway if it finds a mount below the root. The program
# keeps the wrapper's process id (each step execs the next), so signals,
# exit status and standard streams are the program's.
set -euo pipefail
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
source "$(dirname "$SELF")/env.sh"

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/tracesieve"
ROOT="${TRACESIEVE_SID_ROOT:-$CACHE/sid-root}"
STAMP="$ROOT/.tracesieve-root"
SID_DIR="$REPO/target/sid"

die() { echo "sid-python: $*" >&2; exit 1; }

need_root() {
    [ "$(id -u)" = 0 ] || die "needs root (debootstrap, mount and chroot do); run it as root, as CI does"
}

# The Debian packages the root holds, for SID_PYTHON_VERSIONS.
root_packages() {
    local v packages="gcc libc6-dev"
    for v in $SID_PYTHON_VERSIONS; do
        packages="$packages python$v python$v-dev python$v-venv"
    done
    echo "$packages"
}

# Mount points at or below $1 in this mount namespace.
mounts_under() {
    local dir
    dir=$(realpath -m "$1")
    # Field 5 of mountinfo is the mount point, with spaces etc. as octal escapes.
    awk -v d="$dir" '{ p = $5; gsub(/\\040/, " ", p); if (p == d || index(p, d "/") == 1) print p }' /proc/self/mountinfo
}

# Removes a root, or refuses if anything is mounted below it.
safe_remove() {
    local dir=$1 mounted
    [ -e "$dir" ] || return 0
    mounted=$(mounts_under "$dir")
    if [ -n "$mounted" ]; then
        echo "sid-python: refusing to remove $dir: these are mounted below it:" >&2
        echo "$mounted" | sed 's/^/  /' >&2
        die "unmount them first (umount -R each), then run this again"
    fi
    rm -rf --one-file-system "$dir"
}

# The Debian mirror the host's apt uses (its first main archive), so the root
# comes from where the host's packages do; TRACESIEVE_SID_MIRROR overrides.
debian_mirror() {
    if [ -n "${TRACESIEVE_SID_MIRROR:-}" ]; then
        echo "$TRACESIEVE_SID_MIRROR"
        return
    fi
    local uri
    uri=$( { awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' /etc/apt/sources.list.d/*.sources 2>/dev/null
             awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
           } | grep -v -e security -e '^$' | grep '/debian/\?$' | head -1 || true)
    [ -n "$uri" ] || die "found no Debian mirror in the host's apt sources; set TRACESIEVE_SID_MIRROR"
    echo "$uri"
}

# Copies the host's files that networking and pip need into the root: DNS,
# pip's configuration, and the CA bundle it names (without them pip inside
# finds no packages).
copy_host_config() {
    local file
    for file in /etc/resolv.conf /etc/hosts /etc/pip.conf /etc/ssl/certs/ca-certificates.crt; do
        if [ -f "$file" ]; then
            mkdir -p "$ROOT$(dirname "$file")"
            # The root's own copy may be a symlink (ca-certificates.crt):
            # replace it, never write through it.
            rm -f "$ROOT$file"
            cp -L "$file" "$ROOT$file"
        fi
    done
}

# Makes the root once: debootstrap into ROOT.partial, then renamed into
# place with its stamp, so an interrupted run leaves no half root that looks
# ready. A root whose stamp lists other packages gets them from apt inside.
ensure_root() {
    local packages mirror started
    packages=$(root_packages)
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$packages" ]; then
        return
    fi
    need_root
    mkdir -p "$(dirname "$ROOT")"
    exec 9>"$ROOT.lock"
    flock 9
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$packages" ]; then
        exec 9>&-
        return
    fi
    started=$SECONDS
    if [ -f "$STAMP" ]; then
        step "adding to the Debian sid root: $packages"
        copy_host_config
        (enter_root / apt-get update -qq)
        (enter_root / env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $packages >/dev/null)
    else
        if ! command -v debootstrap >/dev/null; then
            step "installing debootstrap from Debian"
            apt-get install -y -qq debootstrap >/dev/null 2>&1 || {
                apt-get update -qq
                apt-get install -y -qq debootstrap >/dev/null
            }
        fi
        mirror=$(debian_mirror)
        step "making the Debian sid root for Python $SID_PYTHON_VERSIONS in $ROOT (about 2 minutes, ~850 MB; once per machine)"
        safe_remove "$ROOT.partial"
        safe_remove "$ROOT"
        # In a mount namespace of its own: the /proc and /sys debootstrap
        # mounts in the target go away with it, even if it is interrupted.
        unshare --mount --propagation private -- debootstrap --variant=minbase \
            --include="$(echo "$packages" | tr ' ' ,)" sid "$ROOT.partial" "$mirror" \
            >"$CACHE/debootstrap.log" 2>&1 || {
            tail -20 "$CACHE/debootstrap.log" >&2
            die "debootstrap failed (log: $CACHE/debootstrap.log)"
        }
        mv "$ROOT.partial" "$ROOT"
        copy_host_config
    fi
    echo "$packages" >"$STAMP"
    echo "sid-python: root ready in $((SECONDS - started)) s"
    exec 9>&-
}

# The directories bind-mounted into the root at their own paths, parents
# before children, a directory inside one already listed left out: the
# checkout, ~/.cargo, ~/.rustup, /tmp, and local folders in PIP_FIND_LINKS.
bind_dirs() {
    local dir seen=() s skip
    # PIP_FIND_LINKS may name local folders of wheels: pip inside sees them too.
    for dir in $(printf '%s\n' "$REPO" "$HOME/.cargo" "$HOME/.rustup" /tmp ${PIP_FIND_LINKS:-} | grep '^/' | awk '{ print length, $0 }' | sort -n | cut -d' ' -f2-); do
        [ -d "$dir" ] || continue
        skip=
        for s in "${seen[@]}"; do
            case "$dir/" in "$s"/*) skip=1 ;; esac
        done
        [ -n "$skip" ] || { seen+=("$dir"); echo "$dir"; }
    done
}

# enter_root DIR CMD...: runs CMD inside the root in DIR, in a new mount
# namespace (see the top of this file). Execs: does not return, so call it
# in a subshell to go on afterwards.
enter_root() {
    [ -f "$STAMP" ] || die "no Debian sid root at $ROOT: run scripts/sid-python.sh setup"
    [ "$(id -u)" = 0 ] || die "needs root (mount and chroot do); run it as root, as CI does"
    exec unshare --mount --propagation private -- "$BASH" "$SELF" __enter "$@"
}

# Inside the new mount namespace: mount, chroot, run.
enter_namespace() {
    local cwd=$1 dir
    shift
    while read -r dir; do
        mkdir -p "$ROOT$dir"
        mount --bind "$dir" "$ROOT$dir"
    done < <(bind_dirs)
    for dir in /dev /proc /sys; do
        mkdir -p "$ROOT$dir"
        mount --rbind "$dir" "$ROOT$dir"
    done
    [ -d "$ROOT$cwd" ] || die "$cwd is not visible inside the root (only the checkout, ~/.cargo, ~/.rustup and /tmp are)"
    unset PYTHONHOME
    exec chroot "$ROOT" /usr/bin/env --chdir="$cwd" "$@"
}

venv_of() { echo "$SID_DIR/venv-$1"; }

# run X.Y [--exe NAME] [ARGS...]: the virtualenv's NAME (default python) inside
# the root, with the virtualenv active (first on PATH, VIRTUAL_ENV set).
run_venv() {
    local version=${1:?usage: sid-python.sh run X.Y [--exe NAME] [ARGS...]} venv name=python
    shift
    venv=$(venv_of "$version")
    if [ "${1:-}" = --exe ]; then
        name=$2
        shift 2
    fi
    [ -e "$venv/bin/python" ] || [ -L "$venv/bin/python" ] || die "no virtualenv for Python $version at $venv: run scripts/sid-python.sh setup $version"
    VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" enter_root "$PWD" "$venv/bin/$name" "$@"
}

# A wrapper on the host for the virtualenv's NAME.
write_wrapper() {
    local version=$1 name=$2 file=$3
    cat >"$file.tmp" <<EOF
#!/bin/sh
# Made by scripts/sid-python.sh: runs $(venv_of "$version")/bin/$name
# (CPython $version from Debian sid) inside $ROOT, in the current directory.
exec "$SELF" run $version --exe $name "\$@"
EOF
    chmod +x "$file.tmp"
    mv "$file.tmp" "$file"
}

# The virtualenv of one version, its tools, the extension, the wrappers.
setup_version() {
    local version=$1 venv bin
    case " $SID_PYTHON_VERSIONS " in *" $version "*) ;; *) die "Python $version is not in SID_PYTHON_VERSIONS ($SID_PYTHON_VERSIONS)" ;; esac
    venv=$(venv_of "$version")
    bin="$SID_DIR/$version/bin"
    mkdir -p "$bin"
    for name in python "python$version" tracesieve; do
        write_wrapper "$version" "$name" "$bin/$name"
    done
    if [ ! -f "$venv/pyvenv.cfg" ]; then
        step "creating target/sid/venv-$version with Debian sid's python$version"
        rm -rf "$venv"
        (cd "$REPO" && enter_root "$REPO" "python$version" -m venv "$venv")
    fi
    if ! has_dev_requirements "$bin/python"; then
        step "installing Python build and test tools into target/sid/venv-$version"
        copy_host_config
        "$bin/python" -m pip install --quiet --disable-pip-version-check -r "$REPO/requirements-dev.txt"
    fi
    step "building the tracesieve extension for Python $version (in the Debian sid root)"
    (
        cd "$REPO"
        VIRTUAL_ENV="$venv" PYO3_PYTHON="$venv/bin/python" CARGO_TARGET_DIR="$REPO/target/py$version" \
            PATH="$venv/bin:$PATH" enter_root "$REPO" maturin develop --release --quiet --manifest-path recorder/Cargo.toml
    )
}

status() {
    local version venv
    if [ -f "$STAMP" ]; then
        echo "root: $ROOT ($(cat "$STAMP"))"
    else
        echo "root: none at $ROOT"
    fi
    mounts_under "$ROOT" | sed 's/^/  mounted: /'
    for version in $SID_PYTHON_VERSIONS; do
        venv=$(venv_of "$version")
        if [ -f "$venv/pyvenv.cfg" ] && [ -f "$STAMP" ]; then
            echo "$version: $SID_DIR/$version/bin/python ($("$SID_DIR/$version/bin/python" -c 'import sys; print(sys.version.split()[0])' 2>&1))"
        else
            echo "$version: not set up"
        fi
    done
}

case "${1:-}" in
    setup)
        shift
        need_root
        ensure_root
        for version in ${*:-$SID_PYTHON_VERSIONS}; do
            setup_version "$version"
        done
        ;;
    run)
        shift
        run_venv "$@"
        ;;
    shell)
        enter_root "$PWD" "${SHELL_IN_ROOT:-/bin/bash}"
        ;;
    status)
        status
        ;;
    remove)
        need_root
        safe_remove "$ROOT.partial"
        safe_remove "$ROOT"
        rm -f "$ROOT.lock"
        echo "sid-python: removed $ROOT"
        ;;
    __enter)
        shift
        enter_namespace "$@"
        ;;
    *)
        sed -n '2,/^set -euo/p' "$SELF" | sed '$d; s/^# \{0,1\}//' >&2
        exit 2
        ;;
esac
