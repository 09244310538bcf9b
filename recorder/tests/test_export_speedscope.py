"""`tracesieve export --format speedscope`: every program of the corpus
(tests/programs, threads included) exported to speedscope's own file
format, checked against the JSON schema that speedscope's npm package
ships (the version package-lock.json pins; `npm ci` installs it), and
against the trace itself: a profile per thread, each frame named by its
code's label, file and first line, opened and closed as the trace enters
and leaves it."""

import importlib.util
import json
from collections import defaultdict
from pathlib import Path

import pytest

from conftest import ENTER, LEAVE, PROGRAMS, REPO, export_json, record, tracesieve_cli

SCHEMA = REPO / "node_modules" / "speedscope" / "dist" / "release" / "file-format-schema.json"


def corpus_scripts():
    spec = importlib.util.spec_from_file_location("corpus", REPO / "tests" / "corpus.py")
    corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(corpus)
    return corpus.SCRIPTS


@pytest.fixture(scope="module")
def validator():
    try:
        import jsonschema
    except ImportError:
        pytest.fail("jsonschema is missing: pip install -r requirements-dev.txt (scripts/setup.sh does)")
    if not SCHEMA.exists():
        pytest.fail(f"{SCHEMA} is missing: run `npm ci` at the repository root (scripts/setup.sh does)")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def recorded(tmp_path, name):
    out = tmp_path / f"{name}.tsieve"
    result = record(out, PROGRAMS / f"{name}.py", cwd=tmp_path)
    assert out.exists(), result.stderr
    return out


def exported(trace_file, *options):
    out = Path(str(trace_file) + ".speedscope.json")
    result = tracesieve_cli("export", trace_file, "--format", "speedscope", "-o", out, *options)
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def expected_profiles(trace):
    """From the JSON export: per thread that enters a frame (in the order
    of their first entries), its name and the `O`/`C` steps with the
    (label, file, line) of the frame, innermost closed first at the end."""
    codes = {c["id"]: (c["label"] or c["qualname"], c["filename"], c["first_line"]) for c in trace["codes"]}
    names, steps, stacks = {}, defaultdict(list), defaultdict(list)
    for event in trace["events"]:
        kind, thread = event["event"], event["thread"]
        if kind == "thread_start":
            names.setdefault(thread, event["name"])
        elif kind in ENTER:
            steps[thread].append(("O", codes[event["code"]]))
            stacks[thread].append(codes[event["code"]])
        elif kind in LEAVE and stacks[thread]:
            steps[thread].append(("C", stacks[thread].pop()))
    for thread, stack in stacks.items():
        steps[thread] += [("C", frame) for frame in reversed(stack)]
    return [(names.get(thread, f"thread {thread}"), steps[thread]) for thread in steps]


def profiles_of(doc):
    """Per profile: its name and the `O`/`C` steps with the (name, file,
    line) of the frame; checks that frames close innermost first and that
    `at` never decreases."""
    frames = doc["shared"]["frames"]
    out = []
    for profile in doc["profiles"]:
        steps, stack, last = [], [], profile["startValue"]
        for event in profile["events"]:
            assert last <= event["at"] <= profile["endValue"], event
            last = event["at"]
            frame = frames[event["frame"]]
            steps.append((event["type"], (frame["name"], frame.get("file"), frame.get("line"))))
            if event["type"] == "O":
                stack.append(event["frame"])
            else:
                assert stack.pop() == event["frame"], "closes the innermost open frame"
        assert not stack
        out.append((profile["name"], steps))
    return out


@pytest.mark.parametrize("name", corpus_scripts())
def test_corpus_exports_are_valid_speedscope_files(tmp_path, validator, name):
    trace_file = recorded(tmp_path, name)
    doc = exported(trace_file)
    errors = sorted(validator.iter_errors(doc), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    program = str(PROGRAMS / f"{name}.py")
    assert doc["name"] == program
    assert doc["exporter"].startswith("tracesieve ")
    expected = expected_profiles(export_json(trace_file))
    got = profiles_of(doc)
    assert [n for n, _ in got] == [f"{doc['profiles'][0]['name'].split(' · ')[0]} · {n}" for n, _ in expected]
    assert all(n.startswith(program) for n, _ in got)
    assert [s for _, s in got] == [s for _, s in expected]


def test_threads_get_a_profile_each_with_nested_frames(tmp_path, validator):
    doc = exported(recorded(tmp_path, "threads"))
    profiles = dict((n.split(" · ")[-1], steps) for n, steps in profiles_of(doc))
    assert sorted(profiles) == ["MainThread", "worker-1", "worker-2"]
    threads = str(PROGRAMS / "threads.py")
    for worker in ("worker-1", "worker-2"):
        opened = [frame for kind, frame in profiles[worker] if kind == "O"]
        assert ("work", threads, 16) in opened
    main = [frame for kind, frame in profiles["MainThread"] if kind == "O"]
    assert main[:2] == [("<__main__>", threads, 1), ("run_worker", threads, 23)]


def test_recursion_nests_fib_in_fib(tmp_path, validator):
    doc = exported(recorded(tmp_path, "recursion"))
    ((_, steps),) = profiles_of(doc)
    depth = deepest = 0
    for kind, (frame, _, _) in steps:
        if frame == "fib":
            depth += 1 if kind == "O" else -1
            deepest = max(deepest, depth)
    assert deepest >= 7
    assert {f["name"] for f in doc["shared"]["frames"]} >= {"<__main__>", "fib", "is_even", "is_odd"}
