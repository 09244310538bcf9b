#!/usr/bin/env python3
"""Runs CPython's own test modules plainly and under `tracesieve record`
and compares the result of every test (issue 22).

Each module runs as `python -m test --junit-xml FILE MODULE`, once plainly
and once under `record` per values mode (a permissive filter, so the tests'
own code is recorded), in this interpreter or `--python`'s, which must have
tracesieve installed. A test's result is `ok`, `skipped`, `failure` or
`error`; a module whose results differ between the plain run and a
recorded one is reported with the tests that differ, and the exit status
is 1. Not wired into scripts/test.sh (yet); see docs/cpython-tests.md for
the list and what it found.

    .venv/bin/python scripts/cpython-tests.py                    # the default list
    .venv/bin/python scripts/cpython-tests.py test_descr test_frame --values none
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PERMISSIVE = REPO / "tests" / "parity" / "filters" / "permissive.toml"

# Chosen for breadth of language and interpreter features, each a few
# seconds plain (see docs/cpython-tests.md).
DEFAULT_MODULES = [
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
    "test_itertools",
    "test_dict",
    "test_list",
    "test_set",
    "test_unicode",
    "test_inspect",  # getattr_static, metaclass __dict__ property, frames
    "test_frame",  # frame objects, incomplete frames
    "test_sys_settrace",  # the program's own tracing
    "test_cprofile",  # sys.monitoring PROFILER_ID
    "test_profile",
    "test_gc",
    "test_weakref",
]


def results(xml_path):
    """``{test id: outcome}`` from a JUnit XML file written by regrtest."""
    out = {}
    if not xml_path.exists() or xml_path.stat().st_size == 0:
        return out
    for case in ET.parse(xml_path).iter("testcase"):
        key = f"{case.get('classname', '')}.{case.get('name', '')}"
        outcome = "ok"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = child.tag
        out[key] = outcome
    return out


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


def run(python, module, workdir, record_values=None, timeout=900):
    """Runs ``module``; returns (results, exit status, seconds, stderr tail)."""
    xml = workdir / f"{module}-{record_values or 'plain'}.xml"
    command = [python]
    if record_values:
        trace = workdir / f"{module}-{record_values}.tsieve"
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
        status, tail = "timeout", ""
    return results(xml), status, time.monotonic() - started, tail


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("modules", nargs="*", default=DEFAULT_MODULES)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--values", default="none,all", help="comma-separated values modes to record with")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per run")
    args = parser.parse_args()
    modes = [m for m in args.values.split(",") if m]
    differing = []
    with tempfile.TemporaryDirectory(prefix="tracesieve-cpython-") as tmp:
        workdir = Path(tmp)
        (workdir / "trace-tests.toml").write_text(TRACE_TESTS, encoding="utf-8")
        for module in args.modules:
            plain, plain_status, plain_s, _ = run(args.python, module, workdir, timeout=args.timeout)
            line = f"{module:<24} plain {plain_status} ({len(plain)} tests, {plain_s:.1f}s)"
            for mode in modes:
                got, status, seconds, tail = run(args.python, module, workdir, mode, args.timeout)
                diff = sorted(k for k in set(plain) | set(got) if plain.get(k) != got.get(k))
                same = not diff and status == plain_status
                line += f" | values {mode}: {'same' if same else 'DIFFERS'} ({seconds:.1f}s)"
                if not same:
                    differing.append((module, mode, status, plain_status, diff, plain, got, tail))
            print(line, flush=True)
    for module, mode, status, plain_status, diff, plain, got, tail in differing:
        print(f"\n{module}, values {mode}: exit {status} (plain {plain_status})")
        for key in diff[:20]:
            print(f"  {key}: plain {plain.get(key, 'absent')}, recorded {got.get(key, 'absent')}")
        if len(diff) > 20:
            print(f"  … {len(diff) - 20} more")
        if not diff:
            print("  " + tail.strip().replace("\n", "\n  ")[-1500:])
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
