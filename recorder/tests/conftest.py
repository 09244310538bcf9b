"""Shared fixtures for the tracesieve Python tests."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample"
CODETRACER_PROJECT = REPO / "tests" / "fixtures" / "codetracer-project"

VALID_HEAD = """\
[meta]
name = "t"
version = 1

[scope]
default_exec = "trace"
default_value_action = "allow"
"""


@pytest.fixture
def write_filter(tmp_path):
    """Writes a filter under ``tmp_path/.codetracer/`` and returns its path."""

    def write(text, name="trace-filter.toml"):
        path = tmp_path / ".codetracer" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


def run_cli(*args, cwd=None, module=False):
    """Runs the tracesieve command (or ``python -m tracesieve``) and returns the result."""
    if module:
        command = [sys.executable, "-m", "tracesieve", *map(str, args)]
    else:
        command = [str(Path(sys.executable).parent / "tracesieve"), *map(str, args)]
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, env=env, timeout=60)


# --- recording helpers (test_record.py, test_trace_commands.py) -------------

PROGRAMS = REPO / "tests" / "programs"
ENTER = ("call", "resume", "throw")
LEAVE = ("return", "yield", "unwind")


def clean_env(**extra):
    """The environment for a traced program: no filter or fault injection
    inherited from the caller, UTF-8 output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESIEVE_")}
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in the corpus folder
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_python(*args, cwd=None, env=None, timeout=60):
    """Runs this interpreter with ``args`` (plain, not recorded)."""
    return subprocess.run(
        [sys.executable, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env or clean_env(),
        timeout=timeout,
    )


def record(out, *args, cwd=None, env=None, quiet=True, timeout=60):
    """``python -m tracesieve record -o OUT [-q] ARGS...``: ``args`` are
    record's options followed by the program (script, -m, --pytest...)."""
    command = ["-m", "tracesieve", "record", "-o", out, *(["-q"] if quiet else []), *args]
    return run_python(*command, cwd=cwd, env=env, timeout=timeout)


def tracesieve_cli(*args, cwd=None, env=None):
    """``python -m tracesieve ARGS...``."""
    return run_python("-m", "tracesieve", *args, cwd=cwd, env=env)


def trace_info(trace):
    """``tracesieve info --json TRACE`` as a dict (the command must succeed)."""
    result = tracesieve_cli("info", "--json", trace)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def export_json(trace, canonical=True):
    """``tracesieve export --format json [--canonical]`` as a dict."""
    out = Path(str(trace) + (".canonical.json" if canonical else ".json"))
    result = tracesieve_cli("export", trace, "--format", "json", "-o", out, *(["--canonical"] if canonical else []))
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def assert_same_behaviour(plain, recorded):
    """The recorded run printed exactly what the plain run printed and ended
    with the same status (the recording used -q: no summary line)."""
    assert recorded.stdout == plain.stdout
    assert recorded.stderr == plain.stderr
    assert recorded.returncode == plain.returncode


def walk(trace):
    """Yields ``(event, code_id)`` for each event, ``code_id`` being the
    code object of the frame the event belongs to (the frame entered or left
    for call/resume/throw/return/yield/unwind; the running frame for
    line/raise; None for thread_start)."""
    stacks = defaultdict(list)
    for event in trace["events"]:
        kind, stack = event["event"], stacks[event["thread"]]
        if kind in ENTER:
            stack.append(event["code"])
            yield event, event["code"]
        elif kind in LEAVE:
            yield event, (stack.pop() if stack else None)
        elif kind in ("line", "raise"):
            yield event, (stack[-1] if stack else None)
        else:
            yield event, None


def assert_balanced(trace, complete=True):
    """Per thread: a ThreadStart before anything else, never more leaves
    than enters, lines and raises only inside a frame, and (for a complete
    trace) every frame entered is left."""
    depth = {}
    for event in trace["events"]:
        kind, thread = event["event"], event["thread"]
        if kind == "thread_start":
            assert thread not in depth, f"second thread_start for thread {thread}"
            depth[thread] = 0
            continue
        assert thread in depth, f"event before thread_start: {event}"
        if kind in ENTER:
            depth[thread] += 1
        elif kind in LEAVE:
            depth[thread] -= 1
            assert depth[thread] >= 0, f"leave without enter on thread {thread}: {event}"
        else:
            assert depth[thread] > 0, f"{kind} outside any frame on thread {thread}: {event}"
    if complete:
        assert all(d == 0 for d in depth.values()), depth


def codes_by_label(trace):
    """``{label: [code ids]}``."""
    out = defaultdict(list)
    for code in trace["codes"]:
        out[code["label"]].append(code["id"])
    return dict(out)


def code_id(trace, qualname, filename=None):
    """The id of the one code object with this qualname (and file name)."""
    ids = [
        c["id"]
        for c in trace["codes"]
        if c["qualname"] == qualname and (filename is None or Path(c["filename"]).name == filename)
    ]
    assert len(ids) == 1, (qualname, ids)
    return ids[0]


def calls_of(trace, code):
    """The call events of a code object, in order."""
    return [e for e, c in walk(trace) if e["event"] == "call" and c == code]


def returns_of(trace, code):
    """The return events of a code object, in order."""
    return [e for e, c in walk(trace) if e["event"] == "return" and c == code]


def vars_in(trace, code):
    """The ``(kind, name, slot)`` of every variable written at a line of a
    frame of ``code``."""
    return [(v["kind"], v["name"], v["value"]) for e, c in walk(trace) if e["event"] == "line" and c == code for v in e["vars"]]


def args_of(event):
    """``{name: slot}`` of a call event's arguments."""
    return {a["name"]: a["value"] for a in event["args"]}


def value(slot):
    """The plain Python value of a ``{"slot": "value"}`` holding an int,
    str, bool or None."""
    assert slot["slot"] == "value", slot
    v = slot["value"]
    return None if v["type"] == "none" else v["value"]


def copy_program(name, dest):
    """Copies a corpus program (a file, or a package folder) into ``dest``."""
    source = PROGRAMS / name
    if source.is_dir():
        shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        shutil.copy(source, dest / name)
    return dest / name
