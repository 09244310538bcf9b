"""Trace parity: re-filtering a permissive recording gives the recording.

For every program P of the corpus and every filter chain F:

    export_json_canonical(refilter(record(P, PERMISSIVE), F))
        == export_json_canonical(record(P, F))

(../shared/spec/architecture.md, invariant 1; the rules both sides follow
are in engine/src/trace/refilter.rs). Each program is recorded once with
tests/parity/filters/permissive.toml and once per F, each recording a
`tracesieve record` subprocess (PYTHONHASHSEED=0); then one helper process
per program (tests/parity/refilter_export.py) re-filters and exports
through the Python API (`tracesieve.refilter`, `tracesieve.export`, the
functions the `refilter` and `export` commands call; a test checks that
the command writes the same bytes). Programs are processed a few at a time.

Programs: tests/programs (but long_running.py, which runs until killed,
and run_path_target.py, which run_path.py runs) and tests/parity/programs.
Filters: tests/parity/filters/*.toml, each starting with a comment saying
what it tests, and tests/parity/.codetracer/skip_file_literal.toml (a
literal `file:` pattern must stay under its filter's project root, and
that is the root holding the parity programs).

Where parity cannot hold, the pair says so (see docs/recorder.md,
"Re-filtering parity"): `XFAIL` lists the pairs that are expected to fail,
with the reason. No field of the JSON is left out of the comparison.

The test also leaves, under target/parity/traces/, for the WebAssembly
check: each program's permissive trace, the trace `refilter` wrote for each
pair, and manifest.json describing each pair (input, expected output, the
filter chain as (path, text) pairs in order, naming mode). The manifest
lists the pairs this session ran (all of them, unless pytest was told to
select some). The traces recorded with each F are in
target/parity/recorded/, and each trace's canonical JSON export is next to
it (X.tsieve, X.json), for looking at a difference.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from corpus import SCRIPTS, recording_env

import tracesieve

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "tests" / "programs"
PARITY = REPO / "tests" / "parity"
PARITY_PROGRAMS = PARITY / "programs"
FILTERS = PARITY / "filters"
PERMISSIVE = FILTERS / "permissive.toml"
OUT = REPO / "target" / "parity"
TRACES = OUT / "traces"
TRACESIEVE = Path(sys.executable).parent / "tracesieve"
HELPER = PARITY / "refilter_export.py"


# --- the corpus ---------------------------------------------------------------

# (id, the program part of the record command line, working directory)
PROGRAMS = [
    (name, [str(CORPUS / f"{name}.py")], CORPUS)
    for name in SCRIPTS
]
PROGRAMS += [("pkgdemo-m", ["-m", "pkgdemo", "x"], CORPUS)]
PROGRAMS += [
    (name, [str(PARITY_PROGRAMS / f"{name}.py")], PARITY_PROGRAMS)
    for name in (
        "syspath_layout",
        "synthetic_code",
        "decorators_context",
        "thread_helpers",
        "generator_failure",
        "secrets_deep",
        "stdlib_calls",
        "asyncio_finalizers",
    )
]
PROGRAMS += [("vault-m", ["-m", "vault", "--verbose"], PARITY_PROGRAMS)]


def _filter(name):
    return FILTERS / f"{name}.toml"


SKIP_FILE_LITERAL = PARITY / ".codetracer" / "skip_file_literal.toml"

# (id, filter files after the built-in default filter, module naming mode)
CASES = [
    # F = PERMISSIVE: the second recording equals the first (the programs are
    # deterministic), and re-filtering with the recorded chain changes nothing.
    ("permissive", [PERMISSIVE], "globals"),
    # The built-in default filter alone: its secret redaction comes back.
    ("builtin", [], "globals"),
    ("skip_pkg_glob", [_filter("skip_pkg_glob")], "globals"),
    ("skip_pkg_regex", [_filter("skip_pkg_regex")], "globals"),
    ("skip_pkg_literal", [_filter("skip_pkg_literal")], "globals"),
    ("skip_file_glob", [_filter("skip_file_glob")], "globals"),
    ("skip_file_regex", [_filter("skip_file_regex")], "globals"),
    ("skip_file_literal", [SKIP_FILE_LITERAL], "globals"),
    ("skip_obj_glob", [_filter("skip_obj_glob")], "globals"),
    ("skip_obj_regex", [_filter("skip_obj_regex")], "globals"),
    ("skip_obj_literal", [_filter("skip_obj_literal")], "globals"),
    ("redact_values", [_filter("redact_values")], "globals"),
    ("drop_values", [_filter("drop_values")], "globals"),
    ("value_default_layers", [_filter("value_default_layers")], "globals"),
    ("trace_only_listed", [_filter("trace_only_listed")], "globals"),
    ("chain_a_b", [_filter("chain_a"), _filter("chain_b")], "globals"),
    # `paths` naming: given to record, and to refilter, which otherwise keeps
    # the naming the input was recorded with (globals). Nothing else is
    # needed to relabel: the recorder stores the import state in both modes.
    ("paths_naming", [_filter("paths_naming")], "paths"),
    ("retrace_stdlib", [_filter("retrace_stdlib")], "globals"),
]

# Pairs that cannot reach parity, and why (docs/recorder.md, "Re-filtering parity").
XFAIL = {
    ("stdlib_calls", "retrace_stdlib"): "the filter traces colorsys, a standard-library module the "
    "built-in filter skips: the permissive recording keeps the built-in skips, so it never saw "
    "colorsys's code, and re-filtering cannot bring back a scope skipped at record time",
}

PAIRS = [(p, c) for p in PROGRAMS for c in CASES]


def _pair_id(program, case):
    return f"{program[0]}--{case[0]}"


def _record(program, filters, naming, out):
    _, command, cwd = program
    options = [option for path in filters for option in ("--filter", str(path))]
    run = subprocess.run(
        [str(TRACESIEVE), "record", "-q", "-o", str(out), "--module-names", naming, *options, *command],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=recording_env(),
        timeout=120,
    )
    assert out.exists(), f"no trace for {' '.join(command)}: {run.stderr}"
    return run


def _process_program(program, cases, recorded_dir):
    """Records ``program`` permissively and with each case's chain, then
    re-filters the permissive trace by each chain and exports both sides
    (in one helper process). Returns the runs by case id ("" for the
    permissive input)."""
    name = program[0]
    permissive = TRACES / f"{name}.permissive.tsieve"
    runs = {"": _record(program, [PERMISSIVE], "globals", permissive)}
    tasks = []
    for case in cases:
        pair = _pair_id(program, case)
        recorded = recorded_dir / f"{pair}.tsieve"
        runs[case[0]] = _record(program, case[1], case[2], recorded)
        refiltered = TRACES / f"{pair}.tsieve"
        job = {"input": str(permissive), "output": str(refiltered), "filters": [str(p) for p in case[1]], "module_names": case[2]}
        tasks.append({"refilter": job, "export": [str(recorded), str(refiltered)]})
    done = subprocess.run([sys.executable, str(HELPER)], input=json.dumps(tasks), capture_output=True, text=True, env=recording_env(), timeout=600)
    assert done.returncode == 0, done.stderr
    return runs


def _load(trace_file):
    return json.loads(trace_file.with_suffix(".json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def parity(request):
    """Records, re-filters and exports every selected pair once; writes the
    manifest; returns ``{pair id: (recorded JSON, refiltered JSON, runs)}``."""
    selected = {
        item.callspec.id
        for item in request.session.items
        if item.originalname == "test_refilter_matches_recording" and hasattr(item, "callspec")
    }
    pairs = [(p, c) for p, c in PAIRS if _pair_id(p, c) in selected]
    recorded_dir = OUT / "recorded"
    for folder in (TRACES, recorded_dir):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)

    by_program = {}
    for program, case in pairs:
        by_program.setdefault(program[0], (program, []))[1].append(case)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        futures = {name: pool.submit(_process_program, p, cases, recorded_dir) for name, (p, cases) in by_program.items()}
        runs = {name: future.result() for name, future in futures.items()}

    results, manifest = {}, []
    for program, case in pairs:
        pair = _pair_id(program, case)
        permissive = TRACES / f"{program[0]}.permissive.tsieve"
        refiltered = TRACES / f"{pair}.tsieve"
        program_runs = runs[program[0]]
        results[pair] = (_load(recorded_dir / f"{pair}.tsieve"), _load(refiltered), (program_runs[""], program_runs[case[0]]))
        manifest.append(
            {
                "id": pair,
                "input": str(permissive),
                "expected": str(refiltered),
                "filters": [{"path": str(p), "text": p.read_text(encoding="utf-8")} for p in case[1]],
                "builtin": True,
                "framework": None,
                "module_names": case[2],
                "roots": [],
            }
        )
    (TRACES / "manifest.json").write_text(json.dumps({"cases": manifest}, indent=1), encoding="utf-8")
    print(f"\nparity: {len(by_program) + len(pairs)} recordings, {len(pairs)} re-filters and {2 * len(pairs)} exports in {time.perf_counter() - started:.1f}s")
    return results


# --- showing a difference -----------------------------------------------------


def _short(value, limit=300):
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _first_difference(a, b, path=""):
    """The path of the first place where ``a`` and ``b`` differ, and the two
    values there (None when equal)."""
    if type(a) is not type(b):
        return path, a, b
    if isinstance(a, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if key not in a or key not in b:
                return f"{path}.{key}", a.get(key, "<missing>"), b.get(key, "<missing>")
            found = _first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            found = _first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        if len(a) != len(b):
            i = min(len(a), len(b))
            return f"{path}[{i}] (lengths {len(a)} and {len(b)})", a[i] if i < len(a) else "<end>", b[i] if i < len(b) else "<end>"
        return None
    return None if a == b else (path, a, b)


def _labels(trace):
    return {c["id"]: c["label"] for c in trace["codes"]}


def _event_text(trace, index):
    """An event, with the label of the code it names."""
    event = trace["events"][index]
    label = _labels(trace).get(event.get("code"))
    return _short(event) + (f"  [{label}]" if label else "")


def explain_difference(recorded, refiltered):
    """A few readable lines: where the two JSON documents first differ."""
    path, a, b = _first_difference(recorded, refiltered, "")
    lines = [f"first difference at {path}", f"  record(P, F):                 {_short(a)}", f"  refilter(record(P, PERM), F): {_short(b)}"]
    if path.startswith(".events["):
        index = int(path[len(".events[") :].split("]")[0])
        for name, trace in (("record(P, F)", recorded), ("refilter", refiltered)):
            lines.append(f"  {name}, events {max(0, index - 2)}..{index}:")
            for i in range(max(0, index - 2), min(index + 1, len(trace["events"]))):
                lines.append(f"    #{i} {_event_text(trace, i)}")
    return "\n".join(lines)


# --- the tests ----------------------------------------------------------------


def _params():
    params = []
    for program, case in PAIRS:
        reason = XFAIL.get((program[0], case[0]))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(program, case, id=_pair_id(program, case), marks=marks))
    return params


@pytest.mark.parametrize(("program", "case"), _params())
def test_refilter_matches_recording(parity, program, case):
    recorded, refiltered, (permissive_run, run) = parity[_pair_id(program, case)]
    # The program behaved the same under both recordings.
    assert (run.returncode, run.stdout, run.stderr) == (permissive_run.returncode, permissive_run.stdout, permissive_run.stderr)
    assert recorded["trailer"]["exit_status"] == run.returncode
    if recorded != refiltered:
        pytest.fail(explain_difference(recorded, refiltered), pytrace=False)


def test_the_corpus_is_large_enough_and_every_filter_is_used():
    assert len(PROGRAMS) >= 15 and len(CASES) >= 10
    used = {path for _, filters, _ in CASES for path in filters}
    on_disk = set(FILTERS.glob("*.toml")) | {SKIP_FILE_LITERAL}
    assert on_disk == used, f"filter files without a case: {sorted(map(str, on_disk - used))}"
    for path in on_disk:
        assert path.read_text(encoding="utf-8").startswith("# "), f"{path} must start with a comment saying what it tests"
    assert {name for name, _ in XFAIL} <= {p[0] for p in PROGRAMS} and {c for _, c in XFAIL} <= {c[0] for c in CASES}


def test_the_difference_report_is_short():
    a = {"events": [{"event": "call", "code": 0, "args": []}, {"event": "line", "line": 3, "vars": [{"name": "x"}]}], "codes": [{"id": 0, "label": "f"}]}
    b = json.loads(json.dumps(a))
    b["events"][1]["vars"][0]["name"] = "y"
    report = explain_difference(a, b)
    assert report.startswith("first difference at .events[1].vars[0].name")
    assert "#0 " in report and "[f]" in report and len(report.splitlines()) < 12
    assert _first_difference(a, json.loads(json.dumps(a))) is None


def test_every_case_changes_some_recording(parity):
    """A filter whose selectors matched nothing would make its pairs pass
    trivially: each case must record other events or codes than the
    built-in filter alone, for at least one program (the built-in case:
    than the permissive filter)."""
    if len(parity) != len(PAIRS):
        pytest.skip("needs every pair (pytest selected only some)")

    def shape(program, case):
        recorded = parity[f"{program}--{case}"][0]
        return recorded["events"], recorded["codes"]

    for case in CASES:
        baseline = "permissive" if case[0] == "builtin" else "builtin"
        changed = [name for name, _, _ in PROGRAMS if shape(name, case[0]) != shape(name, baseline)]
        assert changed, f"{case[0]} records the same as {baseline} for every program"


def test_manifest_traces_are_what_the_refilter_command_writes(parity, tmp_path):
    """The manifest's expected traces come from the Python API; the command
    writes the same bytes."""
    manifest = json.loads((TRACES / "manifest.json").read_text(encoding="utf-8"))["cases"]
    assert [c["id"] for c in manifest] == list(parity)
    wanted = [c for c in manifest if c["id"] in ("vault-m--chain_a_b", "syspath_layout--paths_naming")] or manifest[:1]
    for case in wanted:
        out = tmp_path / "out.tsieve"
        options = [o for f in case["filters"] for o in ("--filter", f["path"])]
        command = [str(TRACESIEVE), "refilter", case["input"], *options, "--module-names", case["module_names"], "-o", str(out)]
        done = subprocess.run(command, capture_output=True, text=True, env=recording_env(), timeout=120)
        assert done.returncode == 0, done.stderr
        assert out.read_bytes() == Path(case["expected"]).read_bytes(), case["id"]
        for f in case["filters"]:
            assert Path(f["path"]).is_absolute() and Path(f["path"]).read_text(encoding="utf-8") == f["text"]


SKIP_ALL = '[meta]\nname = "skip-all"\nversion = 1\n[scope]\ndefault_exec = "skip"\ndefault_value_action = "allow"\n'
TRACE_ALL = SKIP_ALL.replace('"skip"', '"trace"').replace("skip-all", "trace-all")


def test_synthetic_code_is_not_counted_as_skipped(tmp_path):
    """Code with a synthetic filename (`<string>`, `<frozen ...>`) is never
    recorded, whatever the filter says, and so is never in a trace: the
    recorder does not count it as skipped, or re-filtering (which cannot see
    it) would count differently (recorder/src/session.rs). Without the
    built-in filter, a filter skipping everything skips exactly the code
    objects a filter tracing everything records."""
    program = tmp_path / "prog.py"
    program.write_text(
        "def real(x):\n    return x + 1\n\n"
        'exec(compile("def made(y):\\n    return real(y)\\nvalue = made(1)", "<string>", "exec"))\n'
        "print(real(value))\n",
        encoding="utf-8",
    )
    counts = {}
    for name, text in (("skip", SKIP_ALL), ("trace", TRACE_ALL)):
        filter_file = tmp_path / f"{name}.toml"
        filter_file.write_text(text, encoding="utf-8")
        out = tmp_path / f"{name}.tsieve"
        run = subprocess.run(
            [str(TRACESIEVE), "record", "-q", "--no-builtin-filter", "--filter", str(filter_file), "-o", str(out), str(program)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=recording_env(),
            timeout=120,
        )
        assert run.returncode == 0 and run.stdout == "3\n", run.stderr
        counts[name] = tracesieve.info(out)
    traced = counts["trace"]
    labels = {c["label"] for c in _export_json(tmp_path / "trace.tsieve")["codes"]}
    assert {"<__main__>", "real"} <= labels and "made" not in labels
    assert counts["skip"]["stats"]["scopes_skipped"] == traced["codes"]
    assert traced["stats"]["scopes_skipped"] == 0


def _export_json(trace_file):
    out = trace_file.with_suffix(".json")
    tracesieve.export(trace_file, "json", out, canonical=True)
    return json.loads(out.read_text(encoding="utf-8"))
