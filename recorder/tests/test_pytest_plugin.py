"""The pytest plugin (issue 17, item 1): `pytest --tracesieve DIR` records
each test into a trace of its own, keeps the failing tests' traces (or all
with `--tracesieve-keep all`), and lists them with the command that opens
each. Run on a small project with fixtures, parametrised tests and a
unittest case, as pytest runs it (the plugin loads from its entry point)."""

import re
import subprocess
import sys
from pathlib import Path

from conftest import calls_of, clean_env, code_id, export_json, record, trace_info

PROJECT = """\
import unittest

import pytest


def total(items):
    s = 0
    for i in items:
        s += i
    return s


@pytest.fixture
def basket():
    items = [1, 2, 3]
    yield items
    items.clear()


def test_passes(basket):
    assert total(basket) == 6


def test_fails(basket):
    result = total(basket) + 1
    assert result == 6


@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    assert total([n]) == 1


class Case(unittest.TestCase):
    def test_unit(self):
        self.assertEqual(total([2, 2]), 5)
"""

FAILING = ["test_app.py::test_fails", "test_app.py::test_param[2]", "test_app.py::Case::test_unit"]


def pytest_run(tmp_path, *args):
    (tmp_path / "test_app.py").write_text(PROJECT, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
        timeout=120,
    )


def kept(result):
    """(node id, trace path) of each trace the summary lists."""
    lines = result.stdout.splitlines()
    return [
        (line.strip().removeprefix("FAILED "), lines[i + 1].strip().removeprefix("tracesieve view "))
        for i, line in enumerate(lines)
        if i + 1 < len(lines) and lines[i + 1].strip().startswith("tracesieve view ")
    ]


def test_failing_tests_keep_their_traces_and_the_summary_says_how_to_open_them(tmp_path):
    result = pytest_run(tmp_path, "--tracesieve", "traces")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "3 failed, 2 passed" in result.stdout
    listed = kept(result)
    assert [nodeid for nodeid, _ in listed] == FAILING
    assert sorted(p.name for p in (tmp_path / "traces").iterdir()) == sorted(Path(path).name for _, path in listed)
    for nodeid, path in listed:
        info = trace_info(path)
        assert info["exit_status"] == 1 and info["truncation"] is None
        assert info["argv"] == ["pytest", nodeid]
        assert [f["path"] for f in info["filters"]][:2] == ["<inline:builtin-default>", "<inline:builtin-pytest>"]
    # The failing test, its fixture (setup and teardown) and what it called;
    # none of pytest's own code.
    trace = export_json(dict(listed)["test_app.py::test_fails"])
    assert {c["qualname"] for c in trace["codes"]} == {"basket", "test_fails", "total"}
    assert len(calls_of(trace, code_id(trace, "total"))) == 1
    result_var = [e for e in trace["events"] if e["event"] == "line" for v in e["vars"] if v["name"] == "result"]
    assert result_var, "the local that failed the assertion is recorded"
    raises = [e for e in trace["events"] if e["event"] == "raise"]
    assert raises and "AssertionError" in str(raises[0])


def test_keep_all_keeps_the_passing_tests_too(tmp_path):
    result = pytest_run(tmp_path, "--tracesieve", "traces", "--tracesieve-keep", "all")
    listed = dict(kept(result))
    assert len(listed) == 5
    assert trace_info(listed["test_app.py::test_passes"])["exit_status"] == 0
    assert trace_info(listed["test_app.py::test_param[1]"])["exit_status"] == 0


def test_x_and_k_record_the_tests_that_run(tmp_path):
    result = pytest_run(tmp_path, "--tracesieve", "traces", "-x")
    assert [nodeid for nodeid, _ in kept(result)] == FAILING[:1]
    result = pytest_run(tmp_path, "--tracesieve", "selected", "-k", "param")
    assert [nodeid for nodeid, _ in kept(result)] == ["test_app.py::test_param[2]"]


def test_without_the_option_nothing_is_recorded_and_a_missing_filter_is_a_usage_error(tmp_path):
    result = pytest_run(tmp_path)
    assert "tracesieve" not in result.stdout and not list(tmp_path.glob("*.tsieve"))
    result = pytest_run(tmp_path, "--tracesieve", "traces", "--tracesieve-filter", "missing.toml")
    assert result.returncode == 4
    assert f"--tracesieve-filter: trace filter '{tmp_path / 'missing.toml'}' does not exist" in result.stderr


def test_under_record_the_plugin_steps_aside(tmp_path):
    (tmp_path / "test_app.py").write_text(PROJECT, encoding="utf-8")
    out = tmp_path / "whole.tsieve"
    result = record(out, "--pytest", "-p", "no:cacheprovider", "-q", "--tracesieve", "traces", cwd=tmp_path)
    assert result.returncode == 1
    assert "tracesieve: nothing recorded: this process is already being recorded" in result.stdout
    assert not (tmp_path / "traces").exists()
    assert re.search(r"3 failed, 2 passed", result.stdout)
    assert trace_info(out)["exit_status"] == 1


def test_a_filter_edited_between_two_recordings_is_read_again(tmp_path):
    """The recorder keeps the chain it loaded last (a recording per test
    would parse it again for each); a filter whose text changed is loaded
    anew."""
    import tracesieve

    filter_file = tmp_path / "f.toml"
    program = "def secretive(value):\n    return value\n"
    namespace = {}
    exec(compile(program, str(tmp_path / "mod.py"), "exec"), namespace)
    traces = []
    for action in ("allow", "redact"):
        filter_file.write_text(
            '[meta]\nname = "f"\nversion = 1\n\n[scope]\ndefault_exec = "inherit"\ndefault_value_action = "inherit"\n\n'
            f'[[scope.rules]]\nselector = "file:glob:**"\n\n[[scope.rules.value_patterns]]\nselector = "arg:value"\naction = "{action}"\n',
            encoding="utf-8",
        )
        out = tmp_path / f"{action}.tsieve"
        tracesieve.start(out, filters=[filter_file], discover=False)
        namespace["secretive"]("abc")
        tracesieve.stop()
        traces.append(trace_info(out)["stats"]["redacted"].get("arg", 0))
    assert traces == [0, 1]
