#!/usr/bin/env python3
"""Runs CPython's own test modules plainly and under `tracesieve record`
and compares the result of every test (issue 22); scripts/test.sh runs it
as its CPython stage.

Each module runs as `python -m test --junit-xml FILE MODULE`, once plainly
and once under `record` per values mode (a permissive filter, so the tests'
own code is recorded), in this interpreter or `--python`'s, which must have
tracesieve installed. A test's result is `ok`, `skipped`, `failure` or
`error`. A recorded run passes when its results and exit status are the
plain run's, but for the known differences listed in
scripts/cpython-known-differences.toml for this interpreter, values mode
and module. The stage fails (exit status 1) on any other difference, and on
a known difference that no longer occurs, so the list stays true. See
docs/cpython-tests.md for the list of modules, why, and the differences.

    .venv/bin/python scripts/cpython-tests.py -j2                  # the default list (the CI stage)
    .venv-3.11/bin/python scripts/cpython-tests.py --values none    # values off only
    .venv/bin/python scripts/cpython-tests.py test_descr test_frame # chosen modules, every mode
    .venv/bin/python scripts/cpython-tests.py --all -j2             # the whole `python -m test` suite
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PERMISSIVE = REPO / "tests" / "parity" / "filters" / "permissive.toml"
KNOWN_DIFFERENCES = Path(__file__).with_name("cpython-known-differences.toml")

# Chosen for breadth of language and interpreter features, each a few
# seconds plain (see docs/cpython-tests.md).
DEFAULT_MODULES = [
    # The slowest recorded first, so that parallel runs end together.
    "test_unicode",  # str methods, formatting, codecs, big strings as values
    "test_itertools",
    "test_set",
    "test_weakref",  # weak references, finalizers, callbacks during gc
    "test_dict",
    "test_grammar",  # the whole grammar
    "test_scope",  # closures, nonlocal, class scopes
    "test_generators",  # generators closed and thrown into from outside
    "test_coroutines",  # async def, await, coroutine wrappers
    "test_exceptions",  # raising, chaining, tracebacks, frames of exceptions
    "test_exception_group",  # except*
    "test_with",  # context managers
    "test_contextlib",
    "test_class",  # special methods
    "test_descr",  # descriptors, slots, metaclasses, gc counting (test_slots)
    "test_dataclasses",
    "test_enum",  # metaclass __prepare__
    "test_functools",
    "test_threading",  # threads started and joined, subinterpreters
    "test_list",
    "test_inspect",  # getattr_static, metaclass __dict__ property, frames
    "test_frame",  # frame objects, incomplete frames
    "test_sys_settrace",  # the program's own tracing
    "test_cprofile",  # sys.monitoring PROFILER_ID
    "test_profile",
    "test_gc",  # collection, gc.callbacks, finalizers, resurrection
]

# Not recorded with values on in the default run (the CI stage): their many
# large containers are encoded at every line, 100 to 215 s each with values
# on (2 cores, loaded), more than all the other values-on runs together,
# against 3 to 26 s with values off. Named modules and --all record them
# with values on too.
SLOW_WITH_VALUES = {"test_set", "test_weakref"}

# Modules of the list renamed in a later CPython: (from version, new name).
RENAMED = {"test_unicode": ("3.13", "test_str")}

# regrtest's exit status when tests failed.
TESTS_FAILED = 2


def results(xml_path):
    """``{test id: outcome}`` from a JUnit XML file written by regrtest."""
    out = {}
    if not xml_path.exists() or xml_path.stat().st_size == 0:
        return out
    for case in ET.parse(xml_path).iter("testcase"):
        name, classname = case.get("name", ""), case.get("classname", "")
        key = f"{classname}.{name}" if classname else name
        outcome = "ok"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = child.tag
        out[key] = outcome
    return out


def load_known(path=KNOWN_DIFFERENCES):
    """``{(python, values, module): {test id: reason}}`` from the table."""
    with open(path, "rb") as f:
        table = tomllib.load(f)
    known = {}
    for i, entry in enumerate(table.get("difference", [])):
        where = f"{path.name}: difference {i + 1}"
        missing = {"python", "values", "module", "tests", "reason"} - entry.keys()
        if missing:
            raise SystemExit(f"{where}: missing {', '.join(sorted(missing))}")
        module = entry["module"]
        prefix = (module if module.startswith("test.") else f"test.{module}") + "."
        for test in entry["tests"]:
            if not test.startswith(prefix):
                raise SystemExit(f"{where}: test {test!r} is not in module {module}")
        for python in entry["python"]:
            for values in entry["values"]:
                tests = known.setdefault((python, values, module), {})
                for test in entry["tests"]:
                    if test in tests:
                        raise SystemExit(f"{where}: {test} ({python}, values {values}) is listed twice")
                    tests[test] = entry["reason"].strip()
    return known


# The built-in filter skips the standard library, `test` included; this
# traces CPython's tests again (their helpers in test.support too).
TRACE_TESTS = """\
[meta]
name = "cpython-tests"
version = 1

[scope]
default_exec = "inherit"
default_value_action = "inherit"

[[scope.rules]]
selector = "pkg:test.*"
exec = "trace"
reason = "CPython's own tests are the program here."
"""


def run(python, module, workdir, record_values, timeout):
    """Runs ``module`` plainly (``record_values`` None) or recorded; returns
    (results, exit status, seconds, output tail)."""
    mode = record_values or "plain"
    xml = workdir / f"{module}-{mode}.xml"
    command = [python]
    if record_values:
        trace = workdir / f"{module}-{mode}.tsieve"
        command += ["-m", "tracesieve", "record", "-q", "-o", str(trace), "--no-sources",
                    "--filter", str(PERMISSIVE), "--filter", str(workdir / "trace-tests.toml"),
                    "--values", record_values]
    command += ["-m", "test", "--junit-xml", str(xml), module]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESIEVE_")}
    env["PYTHONHASHSEED"] = "0"
    started = time.monotonic()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, cwd=workdir, env=env, timeout=timeout)
        status, tail = proc.returncode, (proc.stdout + proc.stderr)[-2000:]
    except subprocess.TimeoutExpired:
        status, tail = "timeout", f"timed out after {timeout} s"
    seconds = time.monotonic() - started
    got = results(xml)
    # The trace is not looked at; a whole module's can be large.
    if record_values:
        trace.unlink(missing_ok=True)
    xml.unlink(missing_ok=True)
    return got, status, seconds, tail


def judge(plain, plain_status, got, status, known):
    """Compares a recorded run with the plain one. Returns (the known
    differences seen, the unexpected ones, the known ones missing, whether
    the exit status is unexplained)."""
    diff = {k for k in set(plain) | set(got) if plain.get(k) != got.get(k)}
    seen = sorted(diff & known.keys())
    unexpected = sorted(diff - known.keys())
    missing = sorted(known.keys() - diff)
    # Failing tests change regrtest's status to 2, and nothing else may.
    status_ok = status == plain_status or (seen and not unexpected and status == TESTS_FAILED)
    return seen, unexpected, missing, not status_ok


def interpreter_version(python):
    """X.Y of ``python``, which must have CPython's test package and tracesieve."""
    check = "import sys, test.libregrtest, tracesieve; print('%d.%d' % sys.version_info[:2])"
    out = subprocess.run([python, "-c", check], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{python} cannot run this (it needs CPython's `test` package, which some "
                         f"distributions package apart, and tracesieve):\n{out.stderr.strip()}")
    return out.stdout.strip()


def all_modules(python):
    """Every module `python -m test` runs, as it names them."""
    out = subprocess.run([python, "-m", "test", "--list-tests"], capture_output=True, text=True, check=True)
    return [line.strip() for line in out.stdout.splitlines() if line.strip().startswith("test")]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", help="test modules (default: the list in this script)")
    parser.add_argument("--all", action="store_true", help="every module of `python -m test --list-tests`")
    parser.add_argument("--python", default=sys.executable, help="the interpreter (default: this one)")
    parser.add_argument("--values", default="none,all", help="comma-separated values modes to record with")
    parser.add_argument("-j", "--jobs", type=int, default=1, help="runs at a time (default 1)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per run (default 900)")
    parser.add_argument("--list", action="store_true", help="print the runs it would make, and stop")
    args = parser.parse_args()
    if args.all and args.modules:
        parser.error("--all and named modules exclude each other")
    modes = [m for m in args.values.split(",") if m]
    for mode in modes:
        if mode not in ("none", "args", "all"):
            parser.error(f"unknown values mode {mode!r} (none, args, all)")
    version = interpreter_version(args.python)
    default_list = not args.all and not args.modules
    if args.all:
        modules = all_modules(args.python)
    elif args.modules:
        modules = args.modules
    else:
        at = tuple(map(int, version.split(".")))
        modules = [new if at >= tuple(map(int, since.split("."))) else m
                   for m in DEFAULT_MODULES for since, new in [RENAMED.get(m, ("99.0", m))]]

    def modes_for(module):
        return [m for m in modes if not (default_list and m != "none" and module in SLOW_WITH_VALUES)]

    # Each module's slowest run (values all) first.
    runs = [(module, mode) for module in modules for mode in [*reversed(modes_for(module)), None]]
    if args.list:
        for module, mode in runs:
            print(module, mode or "plain")
        return 0
    known = load_known()
    print(f"CPython {version} ({args.python}): {len(modules)} modules, values {', '.join(modes)}; "
          f"{len(runs)} runs, {args.jobs} at a time", flush=True)

    started = time.monotonic()
    problems = []
    seen_known = []
    with tempfile.TemporaryDirectory(prefix="tracesieve-cpython-") as tmp, \
            ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        workdir = Path(tmp)
        (workdir / "trace-tests.toml").write_text(TRACE_TESTS, encoding="utf-8")
        futures = {key: pool.submit(run, args.python, key[0], workdir, key[1], args.timeout) for key in runs}
        # Lines come in the list's order, whatever order the runs end in.
        for module in modules:
            plain, plain_status, plain_s, plain_tail = futures[(module, None)].result()
            line = f"{module:<24} plain {plain_status} ({len(plain)} tests, {plain_s:.1f}s)"
            if not plain:
                # A module that does not exist here, or ran nothing: nothing to compare.
                problems.append((module, "plain", plain, plain_status, {}, plain_status, [], [], plain_tail))
            for mode in modes:
                if mode not in modes_for(module):
                    line += f" | {mode}: not run"
                    continue
                got, status, seconds, tail = futures[(module, mode)].result()
                expected = known.get((version, mode, module), {})
                seen, unexpected, missing, bad_status = judge(plain, plain_status, got, status, expected)
                verdict = "same" if not (seen or unexpected or missing or bad_status) else (
                    "DIFFERS" if unexpected or missing or bad_status else f"{len(seen)} known")
                line += f" | {mode}: {verdict} ({seconds:.1f}s)"
                seen_known += [(module, mode, test, expected[test]) for test in seen]
                if unexpected or missing or bad_status:
                    problems.append((module, mode, plain, plain_status, got, status, unexpected,
                                     missing, tail if bad_status or not got else plain_tail if not plain else ""))
            print(line, flush=True)

    elapsed = time.monotonic() - started
    if seen_known:
        print(f"\nKnown differences on {version} (scripts/cpython-known-differences.toml):")
        for module, mode, test, reason in seen_known:
            print(f"  values {mode}: {test}: {reason.replace(chr(10), ' ').split('. ')[0]}.")
    for module, mode, plain, plain_status, got, status, unexpected, missing, tail in problems:
        if mode == "plain":
            print(f"\n{module}: the plain run ran no tests (exit {plain_status})")
        else:
            print(f"\n{module}, values {mode}: exit {status} (plain {plain_status})")
        for key in unexpected[:20]:
            print(f"  {key}: plain {plain.get(key, 'absent')}, recorded {got.get(key, 'absent')}  (not a known difference)")
        if len(unexpected) > 20:
            print(f"  … {len(unexpected) - 20} more")
        for key in missing:
            print(f"  {key}: listed as a known difference, but the same now ({plain.get(key, 'absent')});"
                  " remove it from the table")
        if tail:
            print("  " + tail.strip().replace("\n", "\n  ")[-1500:])
    summary = "passed" if not problems else (
        f"FAILED: {len(problems)} runs not as expected (a difference not in the table, or a listed one gone)")
    print(f"\nCPython {version}: {summary} ({elapsed:.0f} s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
