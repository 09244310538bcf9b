"""Shared fixtures for the tracesieve Python tests."""

import os
import subprocess
import sys
import textwrap
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
