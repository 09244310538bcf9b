"""The typed Python boundary (issue 15): the ``TypedDict``s of
``tracesieve._types`` describe what the extension really takes and returns.

Each dict the API returns (``info``, ``stop``, ``explain``, ``refilter``, a
filter's problem) is checked against its ``TypedDict``, key by key and value
by value, so that a field the Rust side adds, drops or retypes fails here
rather than only in a type checker's view. ``scripts/typecheck.sh`` checks
the stub against the built extension (stubtest) and the package with
``mypy --strict``."""

import collections.abc
import inspect
import sys
import types
import typing

import pytest

import tracesieve
from tracesieve import _native, _types
from conftest import record, run_python


def shape_problems(value, hint, where="value"):
    """Where ``value`` does not have the shape ``hint`` (a ``TypedDict``,
    ``Optional``, ``Union``, ``Literal``, ``List``, ``Dict``, ``Tuple``,
    ``Sequence``, ``int``, ``bool``, ``str``): a list of sentences, empty
    when it does."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if typing.is_typeddict(hint):
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not a dict ({hint.__name__})"]
        problems = [f"{where}: no key {key!r}" for key in sorted(hint.__required_keys__ - value.keys())]
        allowed = hint.__required_keys__ | hint.__optional_keys__
        problems += [f"{where}: unknown key {key!r}" for key in sorted(value.keys() - allowed)]
        fields = typing.get_type_hints(hint)
        for key in sorted(value.keys() & allowed):
            problems += shape_problems(value[key], fields[key], f"{where}[{key!r}]")
        return problems
    if origin in (typing.Union, types.UnionType):
        if any(not shape_problems(value, arm, where) for arm in args):
            return []
        return [f"{where}: {value!r} is none of {hint}"]
    if origin is typing.Literal:
        return [] if value in args else [f"{where}: {value!r} is not one of {args}"]
    if origin in (list, tuple, collections.abc.Sequence):
        expected = tuple if origin is tuple else list
        if not isinstance(value, expected):
            return [f"{where}: {type(value).__name__}, not a {expected.__name__}"]
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                return [f"{where}: {len(value)} items, not {len(args)}"]
            return [p for i, (v, a) in enumerate(zip(value, args)) for p in shape_problems(v, a, f"{where}[{i}]")]
        item = args[0] if args else object
        return [p for i, v in enumerate(value) for p in shape_problems(v, item, f"{where}[{i}]")]
    if origin is dict:
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__}, not a dict"]
        key_hint, value_hint = args
        return [
            p
            for k, v in value.items()
            for p in shape_problems(k, key_hint, f"{where} key") + shape_problems(v, value_hint, f"{where}[{k!r}]")
        ]
    if hint is object:
        return []
    if hint is int and isinstance(value, bool):
        return [f"{where}: {value!r} is a bool, not an int"]
    if hint is type(None):
        return [] if value is None else [f"{where}: {value!r} is not None"]
    return [] if isinstance(value, hint) else [f"{where}: {value!r} is not a {hint.__name__}"]


def assert_shape(value, hint):
    problems = shape_problems(value, hint)
    assert not problems, "\n".join(problems)


def test_the_checker_finds_what_differs():
    summary = {
        "path": "t.tsieve", "events": 1, "calls": 1, "lines": 0, "codes": 1, "scopes_skipped": 0,
        "redacted": 0, "dropped": 0, "detached": None, "size_limit": None,
    }
    assert_shape(summary, _types.RecordingSummary)
    assert shape_problems(dict(summary, extra=1), _types.RecordingSummary) == ["value: unknown key 'extra'"]
    assert shape_problems({k: v for k, v in summary.items() if k != "codes"}, _types.RecordingSummary) == ["value: no key 'codes'"]
    assert shape_problems(dict(summary, events=True), _types.RecordingSummary) == ["value['events']: True is a bool, not an int"]
    assert shape_problems(dict(summary, detached=3), _types.RecordingSummary)


@pytest.fixture(scope="module")
def trace_set(tmp_path_factory):
    """A trace set: a program that starts a Python child."""
    folder = tmp_path_factory.mktemp("typed")
    script = folder / "program.py"
    script.write_text(
        "import subprocess, sys\n"
        "def work(password, n):\n"
        "    total = n * 2\n"
        "    return total\n"
        "work('secret', 21)\n"
        "subprocess.run([sys.executable, '-c', 'print(1)'], check=True)\n",
        encoding="utf-8",
    )
    out = folder / "trace.tsieve"
    result = record(out, script, cwd=folder)
    assert result.returncode == 0, result.stderr
    return out


def test_info_returns_a_trace_info(trace_set):
    """With an unreadable file among the child traces, listed with its error."""
    unreadable = trace_set.parent / "trace.tsieve.d" / "99999.tsieve"
    unreadable.write_bytes(b"not a trace")
    try:
        summary = tracesieve.info(trace_set)
    finally:
        unreadable.unlink()
    assert_shape(summary, _types.TraceInfo)
    processes = summary["processes"]
    assert len(processes) == 3 and sum("error" in p for p in processes) == 1


def test_refilter_returns_refilter_stats(trace_set, tmp_path):
    stats = tracesieve.refilter(trace_set, tmp_path / "out.tsieve")
    assert_shape(stats, _types.RefilterStats)
    assert len(stats["processes"]) == 2


def test_stop_returns_a_recording_summary(tmp_path):
    def work(x):
        return [x] * 2

    tracesieve.start(tmp_path / "t.tsieve", discover=False)
    work(1)
    summary = tracesieve.stop()
    assert_shape(summary, _types.RecordingSummary)
    assert summary["size_limit"] is None and summary["events"] > 0

    tracesieve.start(tmp_path / "small.tsieve", discover=False, max_size=1)
    work(2)
    summary = tracesieve.stop()
    assert_shape(summary, _types.RecordingSummary)
    assert summary["size_limit"] == 1


def test_explain_returns_a_decision(write_filter):
    path = write_filter(
        """
        [meta]
        name = "typed"
        version = 1
        [scope]
        default_exec = "trace"
        default_value_action = "allow"
        [[scope.rules]]
        selector = "pkg:app.*"
        reason = "the app"
        [[scope.rules.value_patterns]]
        selector = "arg:password"
        action = "redact"
        reason = "secrets"
        """
    )
    decision = tracesieve.explain(
        "/proj/app/auth.py", "login", module="app.auth", filters=[path], values=["arg:password", "local:n", ("ret", "result")]
    )
    assert_shape(decision, _types.Decision)
    assert decision["values"][0]["pattern"] is not None
    assert decision["matched_rule"] is not None
    assert_shape(tracesieve.explain("<string>", "<module>", filters=[path], builtin=False), _types.Decision)


def test_a_filter_problem_is_problem_details(write_filter):
    path = write_filter("[meta]\nname = 'bad'\nversion = 1\n[scope]\ndefault_exec = 'sometimes'\n")
    problem = _native.check_filter(str(path))
    assert_shape(problem, _types.ProblemDetails)
    assert [p.code for p in tracesieve.check(path)] == [problem["code"]]
    with pytest.raises(tracesieve.FilterError) as raised:
        tracesieve.explain("/a.py", "f", filters=[path])
    assert_shape(raised.value.problem, _types.ProblemDetails)


def test_the_native_start_takes_every_record_option_and_no_other(tmp_path):
    """Every key of ``RecordOptions`` is a setting the extension reads (each
    given its default here), and a key it does not know is refused."""
    defaults = {
        "builtin_filter": True, "framework": None, "module_names": "globals", "values": "all", "max_depth": 3,
        "max_items": 32, "max_string_bytes": 256, "max_nodes": 100, "repr": False, "sources": True,
        "max_source_bytes": 1_048_576, "argv": [], "ignore_prefix": "", "max_size": None, "process": None,
    }
    assert defaults.keys() == _types.RecordOptions.__optional_keys__
    assert_shape(defaults, _types.RecordOptions)
    _native.start(str(tmp_path / "t.tsieve"), [], defaults)
    assert _native.is_recording()
    _native.stop()
    with pytest.raises(TypeError, match="unknown recording option 'max_deph'"):
        _native.start(str(tmp_path / "u.tsieve"), [], {"max_deph": 3})
    with pytest.raises(TypeError, match="recording option 'max_depth'"):
        _native.start(str(tmp_path / "u.tsieve"), [], {"max_depth": "3"})
    with pytest.raises(TypeError):
        _native.start(str(tmp_path / "u.tsieve"), [], [("max_depth", 3)])
    assert not _native.is_recording()
    assert not (tmp_path / "u.tsieve").exists()


def test_start_options_are_the_keywords_of_start():
    """``recording(**options)`` is typed with ``StartOptions``: it must name
    exactly ``start``'s keyword arguments."""
    keywords = {
        name for name, p in inspect.signature(tracesieve.start).parameters.items() if p.kind is p.KEYWORD_ONLY
    }
    assert keywords == _types.StartOptions.__optional_keys__


def test_the_shapes_are_public_and_load_only_when_asked_for():
    assert tracesieve.TraceInfo is _types.TraceInfo
    assert {"TraceInfo", "RecordingSummary", "Decision", "ProblemDetails"} <= set(tracesieve.__all__)
    with pytest.raises(AttributeError):
        tracesieve.NoSuchShape  # noqa: B018
    # Importing tracesieve (what every recorded program does) imports no typing.
    result = run_python(
        "-c",
        "import sys; before = 'typing' in sys.modules; import tracesieve; "
        "print(before or 'typing' not in sys.modules, 'tracesieve._types' in sys.modules)",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False"]


def test_the_stub_names_what_the_extension_exports():
    """``_native.pyi``'s ``__all__`` is the extension's (stubtest checks the
    signatures; this keeps the test suite honest without mypy)."""
    import ast
    from pathlib import Path

    stub = Path(_native.__file__).with_name("_native.pyi")
    if not stub.exists():  # an installed wheel without the stub fails here
        stub = Path(tracesieve.__file__).with_name("_native.pyi")
    tree = ast.parse(stub.read_text(encoding="utf-8"))
    names = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets)
    )
    assert names == _native.__all__
    assert Path(tracesieve.__file__).with_name("py.typed").exists()
    assert sys.modules["tracesieve._native"] is _native
