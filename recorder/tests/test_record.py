"""`tracesieve record` and the recording API: what the trace holds for each
program of the corpus (tests/programs), filters at record time, options,
and the promise that the traced program behaves as without tracesieve.

Every program runs in a subprocess, once plainly and once recorded, with
this interpreter (so the same tests exercise the sys.monitoring backend on
3.12+ and the C trace hooks on 3.11)."""

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import (
    CODETRACER_PROJECT,
    PROGRAMS,
    VALID_HEAD,
    args_of,
    assert_balanced,
    assert_same_behaviour,
    calls_of,
    clean_env,
    code_id,
    codes_by_label,
    copy_program,
    export_json,
    record,
    returns_of,
    run_python,
    trace_info,
    tracesieve_cli,
    value,
    vars_in,
    walk,
)

KINDS = ("arg", "local", "global", "ret", "attr")

CORPUS = [
    "recursion.py",
    "classes.py",
    "closures.py",
    "generators.py",
    "delegation.py",
    "async_tasks.py",
    "exceptions.py",
    "imports.py",
    "threads.py",
    "secrets_everywhere.py",
    "value_kinds.py",
    "run_path.py",
    "exit_status.py",
    "uncaught.py",
]


def recorded(tmp_path, program, *options, args=(), cwd=None, env=None, name="trace.tsieve"):
    """Records ``program`` (a path, or the program part of the command line
    when a list) and returns (the run, the canonical JSON of the trace)."""
    out = tmp_path / name
    target = list(program) if isinstance(program, (list, tuple)) else [program]
    result = record(out, *options, *target, *args, cwd=cwd or tmp_path, env=env)
    assert out.exists(), result.stderr
    return result, export_json(out)


def counted_markers(trace, marker):
    """How many values of each kind the trace shows as ``marker``
    ("redacted" or "dropped"), found by walking every slot."""
    counts = dict.fromkeys(KINDS, 0)

    def attrs(v):
        if v.get("type") == "object":
            for attr in v["attrs"]:
                if attr["value"]["slot"] == marker:
                    counts["attr"] += 1
                elif attr["value"]["slot"] == "value":
                    attrs(attr["value"]["value"])
        for item in v.get("items", []):
            attrs(item)
        for key, val in v.get("entries", []):
            attrs(key)
            attrs(val)

    def slot(kind, s):
        if s["slot"] == marker:
            counts[kind] += 1
        elif s["slot"] == "value":
            attrs(s["value"])

    for event in trace["events"]:
        for arg in event.get("args", []):
            slot("arg", arg["value"])
        for var in event.get("vars", []):
            slot(var["kind"], var["value"])
        if event["event"] in ("return", "yield", "unwind"):
            slot("ret", event["value"])
        if "exception" in event:
            slot("arg" if event["event"] == "throw" else "ret", event["exception"])
    return counts


# --- the program behaves as without tracesieve --------------------------------


@pytest.mark.parametrize("program", CORPUS)
def test_program_behaves_the_same_and_trace_is_complete(tmp_path, program):
    plain = run_python(PROGRAMS / program, cwd=tmp_path)
    result, trace = recorded(tmp_path, PROGRAMS / program)
    assert_same_behaviour(plain, result)
    info = trace_info(tmp_path / "trace.tsieve")
    assert info["exit_status"] == plain.returncode
    assert info["truncation"] is None and info["detached"] is None
    assert info["total_events"] == len(trace["events"]) > 0
    counts = {}
    for event in trace["events"]:
        counts[event["event"]] = counts.get(event["event"], 0) + 1
    assert info["events"] == counts
    assert trace["trailer"]["exit_status"] == plain.returncode
    assert_balanced(trace)
    # The script's module body is the first code recorded, as <__main__>.
    assert trace["codes"][0]["label"] == "<__main__>"
    assert trace["codes"][0]["filename"] == str(PROGRAMS / program)


def test_exit_status_is_kept(tmp_path):
    result, trace = recorded(tmp_path, PROGRAMS / "exit_status.py")
    assert result.returncode == 3
    assert result.stdout == "finishing with 3\n" and result.stderr == ""
    assert trace["trailer"]["exit_status"] == 3
    # SystemExit leaves finish() and the module body as unwinds.
    finish = code_id(trace, "finish")
    leaves = [(e["event"], c) for e, c in walk(trace) if e["event"] in ("return", "unwind")]
    assert leaves == [("unwind", finish), ("unwind", code_id(trace, "<module>"))]


def test_uncaught_exception_prints_the_same_traceback(tmp_path):
    plain = run_python(PROGRAMS / "uncaught.py", cwd=tmp_path)
    result, trace = recorded(tmp_path, PROGRAMS / "uncaught.py")
    assert plain.returncode == result.returncode == 1
    assert result.stderr == plain.stderr
    assert result.stderr.startswith("Traceback (most recent call last):\n")
    assert result.stderr.endswith("ValueError: deliberate failure\n")
    assert "tracesieve" not in result.stderr and "runpy" not in result.stderr
    fail = code_id(trace, "fail")
    raises = [(e["line"], c) for e, c in walk(trace) if e["event"] == "raise"]
    assert raises[0] == (6, fail)
    unwinds = [c for e, c in walk(trace) if e["event"] == "unwind"]
    assert unwinds == [fail, fail, fail, code_id(trace, "<module>")]
    assert trace["trailer"]["exit_status"] == 1


# --- what the trace holds for each kind of program ----------------------------


def test_recursion(tmp_path):
    _, trace = recorded(tmp_path, PROGRAMS / "recursion.py")
    fib, even, odd = (code_id(trace, q) for q in ("fib", "is_even", "is_odd"))
    fib_calls = calls_of(trace, fib)
    assert len(fib_calls) == 67  # fib(8) calls fib 67 times
    assert value(args_of(fib_calls[0])["n"]) == 8
    # The outermost fib returns last, with fib(8).
    assert value(returns_of(trace, fib)[-1]["value"]) == 21
    assert [value(args_of(e)["n"]) for e in calls_of(trace, even)] == [6, 4, 2, 0, 6, 4, 2, 0]
    assert [value(args_of(e)["n"]) for e in calls_of(trace, odd)] == [5, 3, 1, 7, 5, 3, 1]
    # The recursion is nested: fib(8) -> fib(7) -> ... -> fib(1).
    depth = max_depth = 0
    for event, code in walk(trace):
        if code == fib and event["event"] == "call":
            depth += 1
            max_depth = max(max_depth, depth)
        elif code == fib and event["event"] == "return":
            depth -= 1
    assert max_depth == 8


def test_classes(tmp_path):
    _, trace = recorded(tmp_path, PROGRAMS / "classes.py")
    labels = codes_by_label(trace)
    for label in ("Account", "Account.__init__", "Account.deposit", "Savings", "Savings.interest", "Point", "Point.__init__"):
        assert label in labels
    deposit = code_id(trace, "Account.deposit")
    assert value(args_of(calls_of(trace, deposit)[0])["amount"]) == 50
    assert value(returns_of(trace, deposit)[0]["value"]) == 150
    assert returns_of(trace, code_id(trace, "Savings.interest"))[0]["value"]["value"] == {"type": "float", "value": 3.0}
    # The account, once built: plain attributes kept, api_token redacted by
    # the built-in secret patterns (D6: attributes are decided as attr).
    accounts = [slot["value"] for kind, name, slot in vars_in(trace, code_id(trace, "<module>")) if name == "account"]
    first = accounts[0]
    assert first["type_name"] == "__main__.Savings"
    attrs = {a["name"]: a["value"] for a in first["attrs"]}
    assert value(attrs["owner"]) == "ada" and value(attrs["balance"]) == 100
    assert attrs["api_token"] == {"slot": "redacted"}
    assert value({a["name"]: a["value"] for a in accounts[-1]["attrs"]}["balance"]) == 150
    # __slots__ members are read as attributes.
    points = [slot["value"] for kind, name, slot in vars_in(trace, code_id(trace, "<module>")) if name == "point"]
    assert points and {a["name"]: value(a["value"]) for a in points[-1]["attrs"]} == {"x": 1, "y": 2}


def test_closures(tmp_path):
    _, trace = recorded(tmp_path, PROGRAMS / "closures.py")
    step = code_id(trace, "make_counter.<locals>.step")
    assert code_id(trace, "make_counter") in codes_by_label(trace)["make_counter"]
    assert [value(r["value"]) for r in returns_of(trace, step)] == [11, 16, 17]
    assert [value(args_of(c)["by"]) for c in calls_of(trace, step)] == [1, 5, 1]
    # The closure's free variable is seen among its locals.
    assert ("local", "count", {"slot": "value", "value": {"type": "int", "value": 10}}) in vars_in(trace, step)


def test_generators(tmp_path):
    _, trace = recorded(tmp_path, PROGRAMS / "generators.py")
    countdown, outer, inner, guarded = (code_id(trace, q) for q in ("countdown", "outer", "inner", "guarded"))
    events = [(e["event"], c) for e, c in walk(trace) if c is not None]
    yields = [value(e["value"]) for e, c in walk(trace) if e["event"] == "yield" and c == countdown]
    assert yields == [3, 2, 1, 10, 2]  # list(countdown(3)), then next(gen) and gen.send(3)
    assert [value(e["value"]) for e, c in walk(trace) if e["event"] == "yield" and c == outer] == [1, 2, 3]
    assert [value(e["value"]) for e, c in walk(trace) if e["event"] == "yield" and c == inner] == [1, 2]
    # yield from: inner runs inside outer each time outer resumes.
    assert events.count(("resume", outer)) == 3 and events.count(("resume", inner)) == 2
    # g.throw(ValueError("boom")) and g.close() are throws into guarded.
    throws = [e for e, c in walk(trace) if e["event"] == "throw" and c == guarded]
    assert [t["exception"]["value"]["type_name"] for t in throws] == ["ValueError", "GeneratorExit"]
    assert [value(e["value"]) for e, c in walk(trace) if e["event"] == "yield" and c == guarded] == ["ready", "caught boom"]
    assert events[-2:] == [("unwind", guarded), ("return", code_id(trace, "<module>"))]


def test_delegation_and_stop_iteration(tmp_path):
    _, trace = recorded(tmp_path, PROGRAMS / "delegation.py")
    delegate, loops, next_ = (code_id(trace, q) for q in ("delegate", "loops", "Countdown.__next__"))
    raises = [(c, e["line"], e["exception"]["value"]["type_name"]) for e, c in walk(trace) if e["event"] == "raise"]
    # A StopIteration raised by __next__ is a raise there and where it
    # arrives (the `yield from` at line 33, the `for` at line 41); so is the
    # one a `for` loop stops at when the generator returns a value (line 39).
    # A generator handing its value back to `yield from` (lines 31 and 32)
    # raises nothing: 3.11's trace hooks report one there, the recorder must not.
    assert raises == [
        (next_, 25, "StopIteration"),
        (delegate, 33, "StopIteration"),
        (loops, 39, "StopIteration"),
        (next_, 25, "StopIteration"),
        (loops, 41, "StopIteration"),
    ]
    result = returns_of(trace, delegate)[0]["value"]["value"]
    assert [i.get("value") for i in result["items"]] == [5, None, 9]
    assert [value(r["value"]) for r in returns_of(trace, loops)] == [4]
    assert [value(r["value"]) for r in returns_of(trace, code_id(trace, "produce"))] == [5, 5, 5]


def test_async_coroutines(tmp_path):
    _, trace = recorded(tmp_path, PROGRAMS / "async_tasks.py")
    child, parent, ready, run = (code_id(trace, q) for q in ("child", "parent", "Ready.__await__", "run"))
    assert [value(args_of(c)["x"]) for c in calls_of(trace, child)] == [1, 2]
    assert [value(r["value"]) for r in returns_of(trace, child)] == [8, 9]
    assert [value(r["value"]) for r in returns_of(trace, parent)] == [72]
    assert [value(r["value"]) for r in returns_of(trace, ready)] == [7, 7]
    assert [(e["event"], c) for e, c in walk(trace) if c == parent and e["event"] != "line"] == [
        ("call", parent),
        ("yield", parent),
        ("resume", parent),
        ("yield", parent),
        ("resume", parent),
        ("return", parent),
    ]
    # The only exception is the StopIteration that ends coroutine.send() in
    # run(); a coroutine handing its result to an await raises nothing
    # (3.11's trace hooks report one there: the recorder must not).
    raises = [(e, c) for e, c in walk(trace) if e["event"] == "raise"]
    assert len(raises) == 1
    event, code = raises[0]
    assert code == run and event["exception"]["value"]["type_name"] == "StopIteration"


def test_exceptions_caught_and_chained(tmp_path):
    _, trace = recorded(tmp_path, PROGRAMS / "exceptions.py")
    withdraw, careful, reraise = (code_id(trace, q) for q in ("withdraw", "careful", "reraise"))
    raised = [(c, e["line"], e["exception"]["value"]["type_name"]) for e, c in walk(trace) if e["event"] == "raise"]
    # Each raise is reported in the frame where it starts and in each frame it
    # propagates into.
    assert raised == [
        (withdraw, 10, "__main__.InsufficientFunds"),
        (careful, 16, "__main__.InsufficientFunds"),
        (withdraw, 10, "__main__.InsufficientFunds"),
        (reraise, 24, "__main__.InsufficientFunds"),
        (reraise, 26, "RuntimeError"),
        (code_id(trace, "<module>"), 31, "RuntimeError"),
    ]
    assert [c for e, c in walk(trace) if e["event"] == "unwind"] == [withdraw, withdraw, reraise]
    assert [value(r["value"]) for r in returns_of(trace, careful)] == [7, 1]


def test_imported_package_labels(tmp_path):
    _, trace = recorded(tmp_path, PROGRAMS / "imports.py")
    labels = codes_by_label(trace)
    for label in ("<__main__>", "<pkgdemo>", "<pkgdemo.shapes>", "<pkgdemo.util>", "Square", "Square.__init__", "Square.area", "scale"):
        assert label in labels, label
    names = {c["label"]: c["module_name"] for c in trace["codes"]}
    assert names["<pkgdemo.shapes>"] == names["Square.area"] == "pkgdemo.shapes"
    assert names["scale"] == "pkgdemo.util"
    scale = code_id(trace, "scale")
    assert {k: value(v) for k, v in args_of(calls_of(trace, scale)[0]).items()} == {"value": 9, "factor": 2}
    assert value(returns_of(trace, scale)[0]["value"]) == 18


def test_module_names_paths_mode(tmp_path):
    _, trace = recorded(tmp_path, PROGRAMS / "imports.py", "--module-names", "paths")
    assert trace["header"]["naming"] == "paths"
    labels = codes_by_label(trace)
    # The script body is named after its file, not after __main__.
    assert "<imports>" in labels and "<__main__>" not in labels
    assert "<pkgdemo.shapes>" in labels and "<pkgdemo.util>" in labels
    body = trace["codes"][labels["<imports>"][0]]
    assert body["filename"] == str(PROGRAMS / "imports.py") and body["dunder_name"] == "__main__"


def test_threads(tmp_path):
    _, trace = recorded(tmp_path, PROGRAMS / "threads.py")
    starts = [(e["thread"], e["name"]) for e in trace["events"] if e["event"] == "thread_start"]
    # worker-2 usually reuses worker-1's thread ident: it is still a thread of its own.
    assert starts == [(0, "MainThread"), (1, "worker-1"), (2, "worker-2")]
    work = code_id(trace, "work")
    calls = [(e["thread"], value(args_of(e)["name"])) for e in calls_of(trace, work)]
    assert calls == [(1, "first"), (2, "second")]
    assert [(r["thread"], value(r["value"])) for r in returns_of(trace, work)] == [(1, None), (2, None)]
    for thread in (1, 2):
        events = [e["event"] for e in trace["events"] if e["thread"] == thread]
        assert events[0] == "thread_start" and events[1] == "call" and events[-1] == "return"
        assert events.count("call") == events.count("return") == 1
    assert_balanced(trace)


def test_run_path_module_is_labelled_module(tmp_path):
    result, trace = recorded(tmp_path, PROGRAMS / "run_path.py")
    assert result.stdout == "__name__ is <run_path>\ntarget said 42\n"
    target = [c for c in trace["codes"] if c["filename"] == str(PROGRAMS / "run_path_target.py")]
    body = next(c for c in target if c["qualname"] == "<module>")
    # "<run_path>" is not a dotted identifier: no module name, label <module> (D8).
    assert body["dunder_name"] == "<run_path>"
    assert body["module_name"] is None and body["label"] == "<module>"
    answer = code_id(trace, "answer")
    assert value(args_of(calls_of(trace, answer)[0])["x"]) == 7
    assert value(returns_of(trace, answer)[0]["value"]) == 42
    assert trace["codes"][0]["label"] == "<__main__>"


def test_record_module(tmp_path):
    plain = run_python("-m", "pkgdemo", "x", "y", cwd=PROGRAMS)
    result, trace = recorded(tmp_path, ["-m", "pkgdemo"], args=("x", "y"), cwd=PROGRAMS)
    assert plain.returncode == 0 and plain.stdout == "pkgdemo 4 12\n"
    assert_same_behaviour(plain, result)
    assert trace["header"]["argv"] == ["-m", "pkgdemo", "x", "y"]
    labels = codes_by_label(trace)
    assert trace["codes"][labels["<pkgdemo>"][0]]["filename"] == str(PROGRAMS / "pkgdemo" / "__init__.py")
    assert trace["codes"][labels["<__main__>"][0]]["filename"] == str(PROGRAMS / "pkgdemo" / "__main__.py")
    assert "<pkgdemo.shapes>" in labels and "<pkgdemo.util>" in labels
    assert_balanced(trace)


def test_record_module_failures_are_reported_as_python_m_does(tmp_path):
    (tmp_path / "boom.py").write_text('import sys\n\n\ndef f():\n    raise ValueError(sys.argv[1:])\n\n\nf()\n', encoding="utf-8")
    expected = {"boom": "ValueError: ['arg']\n", "no_such_module": "No module named no_such_module\n"}
    for module, ending in expected.items():
        plain = run_python("-m", module, "arg", cwd=tmp_path)
        out = tmp_path / f"{module}.tsieve"
        result = record(out, "-m", module, "arg", cwd=tmp_path)
        assert plain.returncode == 1 and plain.stderr.endswith(ending)
        # The same traceback (runpy's frames included, as python -m shows
        # them), or the same "python: No module named ..." line.
        assert_same_behaviour(plain, result)
        assert "tracesieve" not in result.stderr
        assert trace_info(out)["exit_status"] == 1


# --- filters at record time ---------------------------------------------------


@pytest.fixture
def imports_project(tmp_path):
    """imports.py and pkgdemo copied into tmp_path (a filter written to
    tmp_path/.codetracer/ is then the script's project filter)."""
    copy_program("imports.py", tmp_path)
    copy_program("pkgdemo", tmp_path)
    return tmp_path


SKIP_RULE = """
[[scope.rules]]
selector = "{selector}"
exec = "skip"
"""


@pytest.mark.parametrize(
    "selector, skipped",
    [
        ("pkg:pkgdemo.util", {"<pkgdemo.util>", "scale"}),
        ("file:pkgdemo/shapes.py", {"<pkgdemo.shapes>", "Square", "Square.__init__", "Square.area"}),
        ("obj:pkgdemo.shapes.Square.area", {"Square.area"}),
    ],
)
def test_skip_by_selector(imports_project, write_filter, selector, skipped):
    tmp = imports_project
    script = tmp / "imports.py"
    _, baseline = recorded(tmp, script, name="baseline.tsieve")
    base_info = trace_info(tmp / "baseline.tsieve")
    assert skipped <= set(codes_by_label(baseline))
    filter_path = write_filter(VALID_HEAD + SKIP_RULE.format(selector=selector))
    result, trace = recorded(tmp, script)
    assert result.returncode == 0 and result.stdout == "9 18\n"
    # The project filter is found above the script; its root is tmp (D2).
    recorded_filter = trace["header"]["filters"][-1]
    assert recorded_filter["path"] == str(filter_path)
    assert recorded_filter["project_root"] == str(tmp)
    assert set(codes_by_label(trace)) == set(codes_by_label(baseline)) - skipped
    info = trace_info(tmp / "trace.tsieve")
    assert info["stats"]["scopes_skipped"] == base_info["stats"]["scopes_skipped"] + len(skipped)
    assert_balanced(trace)


def kinds_filter(action):
    """A filter applying ``action`` to one value of each kind in value_kinds.py."""
    patterns = ["arg:item", "local:total", "global:LIMIT", "ret:literal:__main__.pack", "attr:content"]
    text = VALID_HEAD + '\n[[scope.rules]]\nselector = "pkg:__main__"\n'
    for pattern in patterns:
        text += f'\n[[scope.rules.value_patterns]]\nselector = "{pattern}"\naction = "{action}"\n'
    return text


def kinds_trace(tmp_path, action):
    path = tmp_path / f"{action}.toml"
    path.write_text(kinds_filter(action), encoding="utf-8")
    result, trace = recorded(tmp_path, PROGRAMS / "value_kinds.py", "--filter", path, name=f"{action}.tsieve")
    assert result.returncode == 0 and result.stdout == "16\n"
    return trace, trace_info(tmp_path / f"{action}.tsieve")


def attr_slots(obj):
    return {a["name"]: a["value"] for a in obj["attrs"]}


def test_redact_each_value_kind(tmp_path):
    trace, info = kinds_trace(tmp_path, "redact")
    redacted = {"slot": "redacted"}
    pack, init, module = (code_id(trace, q) for q in ("pack", "Box.__init__", "<module>"))
    args = args_of(calls_of(trace, pack)[0])
    assert args["item"] == redacted and value(args["count"]) == 3
    assert returns_of(trace, pack)[0]["value"] == redacted
    pack_vars = vars_in(trace, pack)
    assert ("local", "total", redacted) in pack_vars
    assert ("global", "LIMIT", redacted) in pack_vars
    box = [slot["value"] for kind, name, slot in pack_vars if name == "box"][-1]
    assert attr_slots(box)["content"] == redacted and value(attr_slots(box)["label"]) == "box"
    # At module level a global is also a local: the stricter action applies (D7).
    assert ("local", "LIMIT", redacted) in vars_in(trace, module)
    self_value = [slot["value"] for kind, name, slot in vars_in(trace, init) if name == "self"][-1]
    assert attr_slots(self_value)["content"] == redacted
    # Patterns name values: Box.__init__'s argument `content` is not `item`.
    assert value(args_of(calls_of(trace, init)[0])["content"]) == "apple"
    # The trailer counts what the trace shows.
    markers = counted_markers(trace, "redacted")
    assert all(markers[k] > 0 for k in KINDS), markers
    assert info["stats"]["redacted"] == markers
    assert info["stats"]["dropped"] == dict.fromkeys(KINDS, 0)
    assert trace["trailer"]["stats"]["redacted"] == [markers[k] for k in KINDS]


def test_drop_each_value_kind(tmp_path):
    trace, info = kinds_trace(tmp_path, "drop")
    redacted_trace, redacted_info = kinds_trace(tmp_path, "redact")
    pack, init, module = (code_id(trace, q) for q in ("pack", "Box.__init__", "<module>"))
    # Dropped arguments, locals, globals and attributes are left out ...
    assert list(args_of(calls_of(trace, pack)[0])) == ["count"]
    names = {(kind, name) for kind, name, _ in vars_in(trace, pack) + vars_in(trace, module)}
    assert ("local", "total") not in names and ("global", "LIMIT") not in names and ("local", "LIMIT") not in names
    assert ("local", "box") in names
    box = [slot["value"] for kind, name, slot in vars_in(trace, pack) if name == "box"][-1]
    assert set(attr_slots(box)) == {"label"} and box["length"] == 2
    self_value = [slot["value"] for kind, name, slot in vars_in(trace, init) if name == "self"][-1]
    assert "content" not in attr_slots(self_value)
    # ... a dropped return leaves a marker, since the event itself stays.
    assert returns_of(trace, pack)[0]["value"] == {"slot": "dropped"}
    assert counted_markers(trace, "redacted") == dict.fromkeys(KINDS, 0)
    # The same values were dropped as were redacted in the redact run.
    assert info["stats"]["dropped"] == redacted_info["stats"]["redacted"]
    assert info["stats"]["redacted"] == dict.fromkeys(KINDS, 0)
    assert counted_markers(trace, "dropped")["ret"] == info["stats"]["dropped"]["ret"]
    assert all(info["stats"]["dropped"][k] > 0 for k in KINDS)


def sentinel():
    """What secrets_everywhere.py computes at run time (never a literal in its source)."""
    return "-".join(["sentinel", format(8338076, "x")]).upper()


RELAXED_USER_FILTER = """\
[meta]
name = "relaxed"
version = 1

[scope]
default_exec = "trace"
default_value_action = "allow"

[[scope.rules]]
selector = "pkg:__main__"
exec = "trace"
value_default = "allow"
reason = "Everything in the script, values allowed."

[[scope.rules]]
selector = "obj:__main__.*"
value_default = "allow"

[[scope.rules.value_patterns]]
selector = "arg:user"
action = "allow"
"""


@pytest.mark.parametrize("user_filter", [False, True], ids=["builtin", "builtin+relaxed-user-rule"])
def test_secret_never_reaches_the_trace(tmp_path, user_filter):
    secret = sentinel()
    assert secret.encode() not in (PROGRAMS / "secrets_everywhere.py").read_bytes()
    options = []
    if user_filter:
        path = tmp_path / "relaxed.toml"
        path.write_text(RELAXED_USER_FILTER, encoding="utf-8")
        options = ["--filter", path]
    result, trace = recorded(tmp_path, PROGRAMS / "secrets_everywhere.py", *options)
    assert result.returncode == 0 and result.stdout == f"ada:ok {len(secret)} {len(secret)}\n"
    trace_file = tmp_path / "trace.tsieve"
    assert secret.encode() not in trace_file.read_bytes()
    for fmt, out in (("json", "all.json"), ("chrome", "chrome.json"), ("codetracer", "ct")):
        done = tracesieve_cli("export", trace_file, "--format", fmt, "-o", tmp_path / out)
        assert done.returncode == 0, done.stderr
    texts = [(tmp_path / "all.json").read_text(), (tmp_path / "chrome.json").read_text()]
    texts += [p.read_text() for p in (tmp_path / "ct").iterdir()]
    texts.append(json.dumps(trace))
    for text in texts:
        assert secret not in text
    # Each kind of value holding it shows as redacted (D1: a later default
    # cannot relax a built-in secret pattern).
    redacted = {"slot": "redacted"}
    login, init, get_secret, make_secret = (code_id(trace, q) for q in ("login", "Session.__init__", "get_secret", "make_secret"))
    args = args_of(calls_of(trace, login)[0])
    assert args["password"] == redacted and value(args["user"]) == "ada"
    assert ("local", "token", redacted) in vars_in(trace, login)
    assert ("global", "API_KEY", redacted) in vars_in(trace, code_id(trace, "uses_global"))
    assert ("local", "API_KEY", redacted) in vars_in(trace, code_id(trace, "<module>"))
    assert all(r["value"] == redacted for r in returns_of(trace, get_secret) + returns_of(trace, make_secret))
    self_value = [slot["value"] for kind, name, slot in vars_in(trace, init) if name == "self"][-1]
    assert attr_slots(self_value)["password"] == redacted
    assert ("local", "session", redacted) in vars_in(trace, login)  # "session" looks secret too
    stats = trace_info(trace_file)["stats"]
    assert all(stats["redacted"][k] > 0 for k in KINDS), stats


def test_secret_check_can_fail(tmp_path):
    """Without the built-in secret patterns the sentinel shows up, so the
    check above looks at the right bytes. With them, a later filter that
    relaxes one name (D1) does not bring the text back: it was redacted
    under another name first (`API_KEY`), so it is redacted by value there
    too (issue 13)."""
    allow = tmp_path / "allow.toml"
    allow.write_text(VALID_HEAD, encoding="utf-8")
    _, plain = recorded(tmp_path, PROGRAMS / "secrets_everywhere.py", "--no-builtin-filter", "--filter", allow, name="plain.tsieve")
    assert value(args_of(calls_of(plain, code_id(plain, "login"))[0])["password"]) == sentinel()
    assert sentinel() in json.dumps(plain)
    relax = tmp_path / "relax.toml"
    relax.write_text(
        VALID_HEAD + '\n[[scope.rules]]\nselector = "obj:__main__.login"\n'
        '\n[[scope.rules.value_patterns]]\nselector = "arg:password"\naction = "allow"\n',
        encoding="utf-8",
    )
    _, trace = recorded(tmp_path, PROGRAMS / "secrets_everywhere.py", "--filter", relax)
    assert args_of(calls_of(trace, code_id(trace, "login"))[0])["password"] == {"slot": "redacted"}
    assert sentinel() not in json.dumps(trace)


def test_existing_codetracer_filter(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(CODETRACER_PROJECT, project, ignore=shutil.ignore_patterns("__pycache__"))
    script = project / "main.py"
    script.write_text('from app.auth import login\n\nprint(login("ada", "hunter2"))\n', encoding="utf-8")
    plain = run_python(script, cwd=project)
    result, trace = recorded(tmp_path, script, cwd=project)
    assert_same_behaviour(plain, result)
    assert result.stdout == "{'user': 'ada'}\n"
    chain = trace["header"]["filters"]
    assert chain[-1]["path"] == str(project / ".codetracer" / "trace-filter.toml")
    assert chain[-1]["project_root"] == str(project)
    login = code_id(trace, "login", "auth.py")
    assert trace["codes"][login]["module_name"] == "app.auth"
    args = args_of(calls_of(trace, login)[0])
    assert value(args["username"]) == "ada"
    assert args["password"] == {"slot": "redacted"}
    assert returns_of(trace, login)[0]["value"] == {"slot": "dropped"}


BROKEN_FILTER = """\
[meta]
name = "broken"
version = 1

[scope]
default_exec = "sometimes"
default_value_action = "allow"
"""


def test_broken_filter_stops_before_the_program_runs(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(BROKEN_FILTER, encoding="utf-8")
    out = tmp_path / "trace.tsieve"
    result = record(out, "--filter", bad, PROGRAMS / "recursion.py", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""  # the program did not run
    assert "invalid filter" in result.stderr and "bad.toml" in result.stderr and "sometimes" in result.stderr
    assert not out.exists()
    missing = record(out, "--filter", tmp_path / "missing.toml", PROGRAMS / "recursion.py", cwd=tmp_path)
    assert missing.returncode == 2 and missing.stdout == "" and "missing.toml" in missing.stderr


def test_broken_project_filter_stops_before_the_program_runs(imports_project, write_filter):
    write_filter(BROKEN_FILTER)
    out = imports_project / "trace.tsieve"
    result = record(out, imports_project / "imports.py", cwd=imports_project)
    assert result.returncode == 2 and result.stdout == ""
    assert "trace-filter.toml" in result.stderr
    assert not out.exists()


# --- options ------------------------------------------------------------------


def test_values_none_args_all(tmp_path):
    traces = {}
    for mode in ("none", "args", "all"):
        _, traces[mode] = recorded(tmp_path, PROGRAMS / "value_kinds.py", "--values", mode, name=f"{mode}.tsieve")
        assert traces[mode]["header"]["values"] == mode
    # The same events in every mode; only the values differ.
    shapes = {m: [(e["event"], c) for e, c in walk(t)] for m, t in traces.items()}
    assert shapes["none"] == shapes["args"] == shapes["all"]
    none, args, all_ = traces["none"], traces["args"], traces["all"]
    assert all(e.get("args", []) == [] and e.get("vars", []) == [] for e in none["events"])
    assert all(e["value"] == {"slot": "absent"} for e in none["events"] if e["event"] in ("return", "yield", "unwind"))
    pack = code_id(args, "pack")
    assert {k: value(v) for k, v in args_of(calls_of(args, pack)[0]).items()} == {"item": "apple", "count": 3}
    assert value(returns_of(args, pack)[0]["value"]) == 16
    assert all(e["vars"] == [] for e in args["events"] if e["event"] == "line")
    assert ("local", "total", {"slot": "value", "value": {"type": "int", "value": 16}}) in vars_in(all_, code_id(all_, "pack"))


def test_sources_embedded_unless_no_sources(tmp_path):
    _, with_sources = recorded(tmp_path, PROGRAMS / "imports.py", name="with.tsieve")
    embedded = {s["path"]: s["text"] for s in with_sources["sources"]}
    for path in (PROGRAMS / "imports.py", PROGRAMS / "pkgdemo" / "shapes.py", PROGRAMS / "pkgdemo" / "util.py"):
        assert embedded[str(path)] == path.read_text(encoding="utf-8")
    # Only the files of recorded code are embedded (not the standard library).
    assert set(embedded) == {c["filename"] for c in with_sources["codes"]}
    _, without = recorded(tmp_path, PROGRAMS / "imports.py", "--no-sources", name="without.tsieve")
    assert without["sources"] == []
    assert trace_info(tmp_path / "without.tsieve")["sources"] == 0
    assert [e for e in without["events"]] == with_sources["events"]


# --- robustness ---------------------------------------------------------------


def warning_split(stderr):
    lines = stderr.splitlines(keepends=True)
    warnings = [line for line in lines if line.startswith("tracesieve: recorder fault")]
    return warnings, "".join(line for line in lines if not line.startswith("tracesieve: recorder fault"))


@pytest.mark.parametrize("program", ["recursion.py", "uncaught.py", "threads.py"])
def test_recorder_fault_detaches_without_harm(tmp_path, program):
    after = 50 if program != "uncaught.py" else 5
    plain = run_python(PROGRAMS / program, cwd=tmp_path)
    out = tmp_path / "trace.tsieve"
    result = record(out, PROGRAMS / program, cwd=tmp_path, env=clean_env(TRACESIEVE_TEST_FAULT_AFTER=after))
    assert result.stdout == plain.stdout
    assert result.returncode == plain.returncode
    warnings, rest = warning_split(result.stderr)
    assert len(warnings) == 1, result.stderr
    assert "injected fault" in warnings[0] and str(out) in warnings[0]
    assert rest == plain.stderr
    info = trace_info(out)
    assert info["detached"] and "injected fault" in info["detached"]
    assert info["truncation"] is None  # closed properly, with a trailer
    assert 0 < info["total_events"] <= after
    trace = export_json(out)
    assert trace["trailer"]["detached"] == info["detached"]
    assert_balanced(trace, complete=False)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_kill_9_leaves_a_readable_trace(tmp_path):
    out = tmp_path / "trace.tsieve"
    # Without values the program reaches its "running" line sooner; the
    # chunks are written and read back the same way.
    command = [sys.executable, "-m", "tracesieve", "record", "-q", "--values", "none", "-o", str(out), str(PROGRAMS / "long_running.py")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, env=clean_env())
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        assert ready, "long_running.py printed nothing within 60 s"
        assert process.stdout.readline() == b"running\n"
        time.sleep(1.5)  # the recorder seals a chunk at least every second
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()
    info = trace_info(out)
    assert info["truncation"] is not None and info["truncation"]["valid_bytes"] > 0
    assert info["exit_status"] is None and info["detached"] is None
    # info decodes every complete chunk. (Not exported here: a second of
    # this program is about a million events; test_trace_commands.py
    # exports truncated traces.)
    assert info["total_events"] > 0 and info["events"]["call"] > 0
    assert info["codes"] == 2  # the module body and step()


# --- test runners and the Python API ------------------------------------------

TINY_TESTS = '''\
import unittest


def add(a, b):
    return a + b


def test_add():
    assert add(2, 3) == 5


class AddTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(1, 1), 2)
'''


def runner_codes(trace):
    return {(os.path.basename(c["filename"]), c["qualname"]) for c in trace["codes"]}


# pytest imports pygments, which the built-in pytest filter does not skip:
# with every value captured, its module and class bodies (large nested
# containers, re-encoded at each line) take seconds to record. Arguments and
# returns are enough here.
PYTEST_VALUES = ("--values", "args")


def test_record_pytest(tmp_path):
    (tmp_path / "test_tiny.py").write_text(TINY_TESTS, encoding="utf-8")
    result, trace = recorded(tmp_path, [*PYTEST_VALUES, "--pytest", "-q", "-p", "no:cacheprovider", "test_tiny.py"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert trace["header"]["framework"] == "pytest"
    assert [f["path"] for f in trace["header"]["filters"]][:2] == ["<inline:builtin-default>", "<inline:builtin-pytest>"]
    codes = runner_codes(trace)
    assert {("test_tiny.py", "test_add"), ("test_tiny.py", "add"), ("test_tiny.py", "AddTest.test_add")} <= codes
    # pytest and its plugin system are skipped by the built-in pytest filter.
    for c in trace["codes"]:
        parts = c["filename"].split(os.sep)
        assert not {"pytest", "_pytest", "pluggy"} & set(parts), c["filename"]
    add = code_id(trace, "add")
    assert sorted(value(r["value"]) for r in returns_of(trace, add)) == [2, 5]
    assert_balanced(trace)


def test_record_pytest_failure_status(tmp_path):
    (tmp_path / "test_failing.py").write_text("def test_fails():\n    assert 1 + 1 == 3\n", encoding="utf-8")
    plain = run_python("-m", "pytest", "-q", "-p", "no:cacheprovider", "test_failing.py", cwd=tmp_path)
    result, trace = recorded(tmp_path, [*PYTEST_VALUES, "--pytest", "-q", "-p", "no:cacheprovider", "test_failing.py"])
    assert plain.returncode == result.returncode == 1
    assert trace["trailer"]["exit_status"] == 1
    fails = code_id(trace, "test_fails")
    assert [e["event"] for e, c in walk(trace) if c == fails and e["event"] in ("call", "raise", "unwind")] == ["call", "raise", "unwind"]


def test_record_unittest(tmp_path):
    (tmp_path / "test_tiny.py").write_text(TINY_TESTS, encoding="utf-8")
    result, trace = recorded(tmp_path, ["--unittest", "test_tiny"])
    assert result.returncode == 0
    assert "Ran 1 test" in result.stderr and "OK" in result.stderr
    assert trace["header"]["framework"] == "unittest"
    assert runner_codes(trace) == {
        ("test_tiny.py", "<module>"),
        ("test_tiny.py", "AddTest"),
        ("test_tiny.py", "AddTest.test_add"),
        ("test_tiny.py", "add"),
    }
    assert codes_by_label(trace)["<test_tiny>"]
    add = code_id(trace, "add")
    assert [value(r["value"]) for r in returns_of(trace, add)] == [2]
    assert_balanced(trace)


API_SCRIPT = '''\
import json
import sys

import tracesieve


def work(x):
    return x + 1


work(0)
states = [tracesieve.is_recording()]
with tracesieve.recording(sys.argv[1], discover=False):
    states.append(tracesieve.is_recording())
    work(1)
work(2)
states.append(tracesieve.is_recording())

tracesieve.start(sys.argv[2], discover=False, values="args")
work(3)
summary = tracesieve.stop()
print(json.dumps({"calls": summary["calls"], "path": summary["path"], "codes": summary["codes"], "states": states}))
'''


def test_recording_api(tmp_path):
    script = tmp_path / "api.py"
    script.write_text(API_SCRIPT, encoding="utf-8")
    first, second = tmp_path / "with.tsieve", tmp_path / "startstop.tsieve"
    result = run_python(script, first, second, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"calls": 1, "path": str(second), "codes": 1, "states": [False, True, False]}
    for path, x in ((first, 1), (second, 3)):
        trace = export_json(path)
        # Only the call made while recording; the module body was already
        # running when recording started, so it is not recorded.
        assert [c["qualname"] for c in trace["codes"]] == ["work"]
        work = code_id(trace, "work")
        assert [value(args_of(c)["x"]) for c in calls_of(trace, work)] == [x]
        assert [value(r["value"]) for r in returns_of(trace, work)] == [x + 1]
        assert trace["trailer"] is not None
        assert_balanced(trace)
    assert export_json(second)["header"]["values"] == "args"


def test_api_broken_filter_raises_before_recording(tmp_path):
    import tracesieve

    bad = tmp_path / "bad.toml"
    bad.write_text(BROKEN_FILTER, encoding="utf-8")
    with pytest.raises(tracesieve.FilterError):
        tracesieve.start(tmp_path / "t.tsieve", filters=[bad], discover=False)
    assert not (tmp_path / "t.tsieve").exists()
    with pytest.raises(FileNotFoundError):
        tracesieve.start(tmp_path / "t.tsieve", filters=[tmp_path / "missing.toml"], discover=False)


def test_summary_line(tmp_path):
    out = tmp_path / "trace.tsieve"
    result = record(out, PROGRAMS / "recursion.py", cwd=tmp_path, quiet=False)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tracesieve: ")
    info = trace_info(out)
    assert f"{info['total_events']} events ({info['events']['call']} calls, {info['events']['line']} lines)" in lines[0]
    assert str(out) in lines[0]


BOUNDS_PROGRAM = '''
class Wide:
    def __init__(self):
        for i in range(5):
            setattr(self, f"a{i}", i)


class Slotted:
    __slots__ = ("s0", "s1", "s2", "s3")

    def __init__(self):
        self.s0, self.s2, self.s3 = 0, 2, 3  # s1 is never set


class Failure(Exception):
    pass


def hold():
    wide, slotted, numbers, table = Wide(), Slotted(), list(range(10)), {i: i for i in range(10)}
    failure = Failure("x", "y")
    failure.note = "n"
    return wide, slotted, numbers, table, failure


hold()
'''


def test_value_bounds_cut_containers_and_objects(tmp_path):
    program = tmp_path / "bounds.py"
    program.write_text(BOUNDS_PROGRAM, encoding="utf-8")
    _, trace = recorded(tmp_path, program, "--max-items", "2")
    last = {name: slot["value"] for kind, name, slot in vars_in(trace, code_id(trace, "hold"))}
    wide, slotted, numbers, table, failure = (last[n] for n in ("wide", "slotted", "numbers", "table", "failure"))
    # The first two attributes in order; the length counts them all.
    assert [a["name"] for a in wide["attrs"]] == ["a0", "a1"] and wide["length"] == 5
    # Unset slots are not there at all, so the length counts the three set ones.
    assert [a["name"] for a in slotted["attrs"]] == ["s0", "s2"] and slotted["length"] == 3
    # An exception's instance dict comes before its `args`.
    assert [a["name"] for a in failure["attrs"]] == ["note", "args"] and failure["length"] == 2
    assert len(numbers["items"]) == 2 and numbers["length"] == 10
    assert len(table["entries"]) == 2 and table["length"] == 10


POOL_THREADS = """\
from concurrent.futures import ThreadPoolExecutor


def work(n):
    return n * 2


with ThreadPoolExecutor(2, thread_name_prefix="pool") as executor:
    print(list(executor.map(work, range(4))))
"""

TRACE_THREADING = """\
[meta]
name = "trace-threading"
version = 1

[scope]
default_exec = "inherit"
default_value_action = "inherit"

[[scope.rules]]
selector = "pkg:threading"
exec = "trace"

[[scope.rules]]
selector = "pkg:concurrent.*"
exec = "trace"
"""


def test_thread_names_do_not_depend_on_tracing_threading(tmp_path):
    """A thread's first events come from threading's own start-up code when
    the filter traces it, before threading knows the thread's name: its
    thread_start waits for the name, so a recording that traces threading,
    re-filtered to skip it, names the thread as a recording that skips it."""
    program = tmp_path / "pool_threads.py"
    program.write_text(POOL_THREADS, encoding="utf-8")
    traced = tmp_path / "trace-threading.toml"
    traced.write_text(TRACE_THREADING, encoding="utf-8")
    with_threading, without = tmp_path / "with.tsieve", tmp_path / "without.tsieve"
    for out, options in ((with_threading, ["--filter", traced]), (without, [])):
        done = record(out, *options, program, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    names = trace_info(with_threading)["threads"]
    assert names[0] == "MainThread" and all(n.startswith("pool_") for n in names[1:]), names
    refiltered = tmp_path / "refiltered.tsieve"
    done = tracesieve_cli("refilter", with_threading, "-o", refiltered)
    assert done.returncode == 0, done.stderr
    # Which workers get tasks is up to the scheduler: the names, not the
    # number of threads, are compared.
    for trace in (refiltered, without):
        names = trace_info(trace)["threads"]
        assert names[0] == "MainThread" and len(names) > 1 and all(n.startswith("pool_") for n in names[1:]), names
