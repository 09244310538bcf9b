"""tracesieve.check and `tracesieve check` on real filter files."""

import pytest

import tracesieve
from conftest import CODETRACER_PROJECT, SAMPLE, VALID_HEAD, run_cli


def test_bundled_and_codetracer_filters_are_valid():
    assert tracesieve.check(SAMPLE / ".codetracer" / "trace-filter.toml") == []
    assert tracesieve.check(CODETRACER_PROJECT / ".codetracer" / "trace-filter.toml") == []


@pytest.mark.parametrize(
    "body, line, column, fragment",
    [
        ('[[scope.rules]]\nselector = "pkg:foo:bar"\n', 10, 17, "unsupported selector match type 'foo'"),
        ('[[scope.rules]]\nselector = "pkg:x"\nexec = "skipp"\n', 11, 8, "unsupported value 'skipp' for 'exec'"),
        ('[[scope.rules]]\nselector = "local:x"\n', 10, 13, "selector kind 'local' is not allowed"),
        (
            '[[scope.rules]]\nselector = "pkg:x"\n[[scope.rules.value_patterns]]\nselector = "arg:regex:["\naction = "drop"\n',
            12,
            23,
            "unclosed character class",
        ),
        ('[[scope.rules]]\nselector = "pkg:x"\nmatch = "glob"\n', 11, 1, "unknown field `match`"),
        ('[[scope.rules]]\nselector = "file:../x.py"\n', 10, 18, "escapes the project root"),
    ],
)
def test_problems_name_line_column_and_rule(write_filter, body, line, column, fragment):
    path = write_filter(VALID_HEAD + "\n" + body)
    [problem] = tracesieve.check(path)
    assert (problem.line, problem.column) == (line, column), problem
    assert fragment in problem.message
    assert problem.path == str(path)
    assert problem.rule == 0
    assert problem.code == "ERR_INVALID_POLICY_VALUE"
    assert str(problem).startswith(f"{path}:{line}:{column}: scope.rules[0]")


def test_version_and_io_problems(write_filter):
    [problem] = tracesieve.check(write_filter(VALID_HEAD.replace("version = 1", "version = 2")))
    assert problem.code == "ERR_UNSUPPORTED_SCHEMA_VERSION"
    assert (problem.line, problem.column) == (3, 11)
    missing = tracesieve.check("/nonexistent/filter.toml")
    assert missing[0].code == "ERR_IO" and missing[0].line is None


def test_inherit_needs_a_previous_filter_only_without_builtins(write_filter):
    path = write_filter(VALID_HEAD.replace('default_exec = "trace"', 'default_exec = "inherit"'))
    assert tracesieve.check(path) == []
    [problem] = tracesieve.check(path, builtin=False)
    assert "cannot inherit without a previous filter" in problem.message
    assert (problem.line, problem.column) == (6, 16)


def test_chains_report_each_file(write_filter):
    good = write_filter(VALID_HEAD, "good.toml")
    bad = write_filter(VALID_HEAD + "[extra]\n", "bad.toml")
    problems = tracesieve.check(f"{good} :: {bad}", good)
    assert [p.path for p in problems] == [str(bad)]


def test_cli_exit_status_and_stderr_format(write_filter):
    good = write_filter(VALID_HEAD, "good.toml")
    ok = run_cli("check", good)
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == ""
    bad = write_filter(VALID_HEAD + '\n[[scope.rules]]\nselector = "pkg::x"\n', "bad.toml")
    result = run_cli("check", good, bad)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{bad}:10:17: scope.rules[0]: invalid selector 'pkg::x': selector match type cannot be empty "
        "(expected glob, regex or literal)"
    ]


def test_cli_as_module(write_filter):
    result = run_cli("check", "--quiet", SAMPLE / ".codetracer" / "trace-filter.toml", module=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    missing = run_cli("check", "/nonexistent.toml", module=True)
    assert missing.returncode == 1
    assert missing.stderr.startswith("/nonexistent.toml: failed to read trace filter")
