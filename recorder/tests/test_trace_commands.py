"""`tracesieve info`, `refilter` and `export` on recorded traces, and the
same from Python (`tracesieve.info`, `refilter`, `export`)."""

import json
import re

import pytest

import tracesieve
from conftest import (
    PROGRAMS,
    VALID_HEAD,
    args_of,
    assert_balanced,
    calls_of,
    code_id,
    codes_by_label,
    export_json,
    record,
    trace_info,
    tracesieve_cli,
    value,
    vars_in,
)

KINDS = ("arg", "local", "global", "ret", "attr")


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def recording(tmp_path, program, *options, name="trace.tsieve", status=0):
    out = tmp_path / name
    result = record(out, *options, program, cwd=tmp_path)
    assert result.returncode == status and out.exists(), result.stderr
    return out


DROP_AND_SKIP = (
    VALID_HEAD
    + """
[[scope.rules]]
selector = "pkg:__main__"

[[scope.rules.value_patterns]]
selector = "arg:item"
action = "drop"

[[scope.rules.value_patterns]]
selector = "local:total"
action = "redact"

[[scope.rules.value_patterns]]
selector = "ret:literal:__main__.pack"
action = "drop"

[[scope.rules]]
selector = "obj:__main__.Box.__init__"
exec = "skip"
"""
)

SECRETS_RELAXED = (
    VALID_HEAD
    + """
[[scope.rules]]
selector = "obj:__main__.Session.__init__"
exec = "skip"

[[scope.rules]]
selector = "pkg:__main__"
value_default = "allow"

[[scope.rules.value_patterns]]
selector = "arg:user"
action = "drop"
"""
)

SKIP_UTIL = VALID_HEAD + '\n[[scope.rules]]\nselector = "pkg:pkgdemo.util"\nexec = "skip"\n'


# --- info ---------------------------------------------------------------------


def test_info_text_and_json(tmp_path):
    trace_file = recording(tmp_path, PROGRAMS / "threads.py")
    info = trace_info(trace_file)
    trace = export_json(trace_file)
    assert info["argv"] == [str(PROGRAMS / "threads.py")]
    assert info["cwd"] == str(tmp_path)
    assert info["naming"] == "globals" and info["values"] == "all"
    assert info["threads"] == ["MainThread", "worker-1", "worker-2"]
    assert info["codes"] == len(trace["codes"]) and info["sources"] == len(trace["sources"]) == 1
    assert info["exit_status"] == 0 and info["truncation"] is None and info["detached"] is None
    assert [f["path"] for f in info["filters"]] == ["<inline:builtin-default>"]
    assert info["filters"][0]["sha256"] == trace["header"]["filters"][0]["sha256"]
    assert info["duration_ns"] > 0
    text = tracesieve_cli("info", trace_file)
    assert text.returncode == 0
    assert f"events     {info['total_events']}: " in text.stdout
    assert "threads    0: MainThread, 1: worker-1, 2: worker-2" in text.stdout
    assert "exit       0" in text.stdout
    assert "truncated" not in text.stdout
    # The Python API returns the same summary.
    assert tracesieve.info(trace_file) == info


def test_info_rejects_what_is_not_a_readable_trace(tmp_path):
    trace_file = recording(tmp_path, PROGRAMS / "recursion.py")
    not_a_trace = write(tmp_path / "notes.tsieve", "just some text\n")
    newer = tmp_path / "newer.tsieve"
    data = bytearray(trace_file.read_bytes())
    data[8] += 1  # the format's major version (little-endian u16 after the magic)
    newer.write_bytes(bytes(data))
    cases = [
        (not_a_trace, "not a tracesieve trace"),
        (newer, "unsupported trace format version 2.1"),
        (tmp_path / "missing.tsieve", "missing.tsieve"),
    ]
    for path, message in cases:
        result = tracesieve_cli("info", path)
        assert result.returncode == 2, path
        assert result.stdout == ""
        assert result.stderr.startswith("tracesieve info: ") and message in result.stderr
        for command in (["export", path, "--format", "json", "-o", tmp_path / "x.json"], ["refilter", path, "-o", tmp_path / "x.tsieve"]):
            result = tracesieve_cli(*command)
            assert result.returncode == 2 and message in result.stderr
    with pytest.raises(tracesieve.TraceFileError, match="not a tracesieve trace"):
        tracesieve.info(not_a_trace)
    with pytest.raises(tracesieve.TraceFileError, match="upgrade tracesieve"):
        tracesieve.info(newer)


LOOP = """\
def step(i):
    return str(i) * 40


last = ""
for i in range(1500):
    last = step(i)
print(len(last))
"""


def test_truncated_trace_reads_up_to_its_last_complete_chunk(tmp_path):
    program = write(tmp_path / "loop.py", LOOP)
    trace_file = recording(tmp_path, program)
    full = export_json(trace_file)
    data = trace_file.read_bytes()
    seen = set()
    for fraction in (0.3, 0.6, 0.9):
        cut = tmp_path / f"cut{fraction}.tsieve"
        cut.write_bytes(data[: int(len(data) * fraction)])
        info = trace_info(cut)
        assert info["truncation"] is not None and info["exit_status"] is None
        assert 0 < info["truncation"]["valid_bytes"] <= int(len(data) * fraction)
        part = export_json(cut)
        # What is readable is the beginning of the complete trace.
        assert part["trailer"] is None
        assert 0 < len(part["events"]) < len(full["events"])
        assert part["events"] == full["events"][: len(part["events"])]
        assert part["codes"] == full["codes"][: len(part["codes"])]
        assert_balanced(part, complete=False)
        seen.add(len(part["events"]))
    assert len(seen) == 3  # each cut keeps more: the trace is made of many chunks


# --- refilter -----------------------------------------------------------------


@pytest.mark.parametrize(
    "program, filter_text, naming, same_stats",
    [
        ("value_kinds.py", DROP_AND_SKIP, "globals", True),
        ("imports.py", SKIP_UTIL, "globals", True),
        ("imports.py", SKIP_UTIL, "paths", True),
        # The built-in filter redacted values in Session.__init__ when the
        # input was recorded; statistics are cumulative, so those stay
        # counted after the scope is skipped (engine/src/trace/refilter.rs,
        # "Where parity cannot hold").
        ("secrets_everywhere.py", SECRETS_RELAXED, "globals", False),
    ],
)
def test_refilter_gives_what_recording_with_the_filter_gives(tmp_path, program, filter_text, naming, same_stats):
    """Parity: re-filtering the trace recorded with the built-in filter alone
    by F gives the trace recorded with F (timestamps aside)."""
    user = write(tmp_path / "user.toml", filter_text)
    naming_option = ("--module-names", naming)
    permissive = recording(tmp_path, PROGRAMS / program, *naming_option, name="permissive.tsieve")
    direct = recording(tmp_path, PROGRAMS / program, *naming_option, "--filter", user, name="direct.tsieve")
    refiltered = tmp_path / "refiltered.tsieve"
    result = tracesieve_cli("refilter", permissive, "--filter", user, "-o", refiltered)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{refiltered}: ")
    direct_json, refiltered_json = export_json(direct), export_json(refiltered)
    assert refiltered_json["events"] == direct_json["events"]
    assert refiltered_json["codes"] == direct_json["codes"]
    if same_stats:
        assert tracesieve.info(refiltered)["stats"] == tracesieve.info(direct)["stats"]
    else:
        before, after = refiltered_json["trailer"]["stats"], direct_json["trailer"]["stats"]
        assert before["scopes_skipped"] == after["scopes_skipped"]
        assert all(b >= a for b, a in zip(before["redacted"] + before["dropped"], after["redacted"] + after["dropped"]))
        for doc in (refiltered_json, direct_json):
            del doc["trailer"]["stats"]
    assert refiltered_json == direct_json
    assert len(refiltered_json["codes"]) < len(export_json(permissive)["codes"])


def test_refilter_keeps_record_time_redactions(tmp_path):
    trace_file = recording(tmp_path, PROGRAMS / "secrets_everywhere.py")
    relax = write(
        tmp_path / "relax.toml",
        VALID_HEAD + '\n[[scope.rules]]\nselector = "pkg:__main__"\n\n[[scope.rules.value_patterns]]\nselector = "arg:password"\naction = "allow"\n',
    )
    out = tmp_path / "relaxed.tsieve"
    stats = tracesieve.refilter(trace_file, out, [relax], builtin=False)
    assert stats["events"] == tracesieve.info(trace_file)["total_events"]
    trace = export_json(out)
    assert [f["path"] for f in trace["header"]["filters"]] == [str(relax)]
    login = code_id(trace, "login")
    # Redacted when recorded: no filter can bring the value back.
    assert args_of(calls_of(trace, login)[0])["password"] == {"slot": "redacted"}
    secret = "-".join(["sentinel", format(8338076, "x")]).upper()
    assert secret.encode() not in out.read_bytes() and secret not in json.dumps(trace)


def test_refilter_append_keeps_the_recorded_chain(tmp_path):
    redact = write(
        tmp_path / "redact.toml",
        VALID_HEAD + '\n[[scope.rules]]\nselector = "pkg:__main__"\n\n[[scope.rules.value_patterns]]\nselector = "local:total"\naction = "redact"\n',
    )
    skip = write(tmp_path / "skip.toml", VALID_HEAD + '\n[[scope.rules]]\nselector = "obj:__main__.Box.__init__"\nexec = "skip"\n')
    trace_file = recording(tmp_path, PROGRAMS / "value_kinds.py", "--filter", redact)
    appended, replaced = tmp_path / "appended.tsieve", tmp_path / "replaced.tsieve"
    assert tracesieve_cli("refilter", trace_file, "--append", "--filter", skip, "-o", appended).returncode == 0
    assert tracesieve_cli("refilter", trace_file, "--filter", skip, "-o", replaced).returncode == 0
    for out, chain in ((appended, ["<inline:builtin-default>", str(redact), str(skip)]), (replaced, ["<inline:builtin-default>", str(skip)])):
        trace = export_json(out)
        assert [f["path"] for f in trace["header"]["filters"]] == chain
        assert "Box.__init__" not in codes_by_label(trace)
        # Redacted at record time: stays so whether or not redact.toml is still in the chain.
        assert ("local", "total", {"slot": "redacted"}) in vars_in(trace, code_id(trace, "pack"))
        assert_balanced(trace)


def test_refilter_relabels_under_paths_naming(tmp_path):
    trace_file = recording(tmp_path, PROGRAMS / "imports.py")
    assert "<__main__>" in codes_by_label(export_json(trace_file))
    out = tmp_path / "paths.tsieve"
    result = tracesieve_cli("refilter", trace_file, "--module-names", "paths", "-o", out)
    assert result.returncode == 0, result.stderr
    trace = export_json(out)
    assert trace["header"]["naming"] == "paths"
    labels = codes_by_label(trace)
    assert "<imports>" in labels and "<__main__>" not in labels and "<pkgdemo.shapes>" in labels
    # The same as recording in paths mode (synthetic code such as
    # <frozen importlib._bootstrap>, never recorded, is counted by neither).
    direct = export_json(recording(tmp_path, PROGRAMS / "imports.py", "--module-names", "paths", name="direct.tsieve"))
    assert trace == direct


def test_refilter_errors(tmp_path):
    trace_file = recording(tmp_path, PROGRAMS / "recursion.py")
    bad = write(tmp_path / "bad.toml", '[meta]\nname = "bad"\nversion = 1\n\n[scope]\ndefault_exec = "sometimes"\ndefault_value_action = "allow"\n')
    result = tracesieve_cli("refilter", trace_file, "--filter", bad, "-o", tmp_path / "out.tsieve")
    assert result.returncode == 2 and "invalid filter" in result.stderr and "bad.toml" in result.stderr
    result = tracesieve_cli("refilter", trace_file, "--filter", tmp_path / "missing.toml", "-o", tmp_path / "out.tsieve")
    assert result.returncode == 2 and "missing.toml" in result.stderr
    with pytest.raises(tracesieve.FilterError):
        tracesieve.refilter(trace_file, tmp_path / "out.tsieve", [bad])
    with pytest.raises(FileNotFoundError):
        tracesieve.refilter(trace_file, tmp_path / "out.tsieve", [tmp_path / "missing.toml"])


# --- export -------------------------------------------------------------------


def test_export_json_canonical_and_not(tmp_path):
    trace_file = recording(tmp_path, PROGRAMS / "generators.py")
    full, canonical = export_json(trace_file, canonical=False), export_json(trace_file)
    assert full["format"] == canonical["format"] == "tracesieve-json"
    assert full["canonical"] is False and canonical["canonical"] is True
    assert "start_unix_ms" in full["header"] and "start_unix_ms" not in canonical["header"]
    assert all("t" in e for e in full["events"]) and not any("t" in e for e in canonical["events"])
    times = [e["t"] for e in full["events"]]
    assert times == sorted(times)
    # Apart from timestamps, the same document; and the same from Python.
    strip = [{k: v for k, v in e.items() if k != "t"} for e in full["events"]]
    assert strip == canonical["events"]
    out = tmp_path / "api.json"
    tracesieve.export(trace_file, "json", out, canonical=True)
    assert json.loads(out.read_text(encoding="utf-8")) == canonical
    with pytest.raises(ValueError, match="unknown export format"):
        tracesieve.export(trace_file, "yaml", tmp_path / "x")
    # A second recording of the same deterministic program gives the same
    # canonical document.
    again = recording(tmp_path, PROGRAMS / "generators.py", name="again.tsieve")
    assert export_json(again) == canonical


def test_export_codetracer_folder(tmp_path):
    trace_file = recording(tmp_path, PROGRAMS / "exit_status.py", status=3)
    folder = tmp_path / "ct"
    result = tracesieve_cli("export", trace_file, "--format", "codetracer", "-o", folder)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["trace.json", "trace_metadata.json", "trace_paths.json"]
    events = json.loads((folder / "trace.json").read_text(encoding="utf-8"))
    kinds = {next(iter(e)) for e in events}
    assert {"Path", "Function", "Call", "Return"} <= kinds
    functions = [e["Function"]["name"] for e in events if "Function" in e]
    assert "finish" in functions
    metadata = json.loads((folder / "trace_metadata.json").read_text(encoding="utf-8"))
    assert metadata["process_exit_status"]["code"] == 3
    assert metadata["program"] == str(PROGRAMS / "exit_status.py")
    paths = json.loads((folder / "trace_paths.json").read_text(encoding="utf-8"))
    assert str(PROGRAMS / "exit_status.py") in paths


def test_export_chrome(tmp_path):
    trace_file = recording(tmp_path, PROGRAMS / "threads.py")
    out = tmp_path / "chrome.json"
    result = tracesieve_cli("export", trace_file, "--format", "chrome", "-o", out)
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    events = doc["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    assert sorted(names.values()) == ["MainThread", "worker-1", "worker-2"]
    processes = [e["args"]["name"] for e in events if e["name"] == "process_name"]
    assert processes == [str(PROGRAMS / "threads.py")]
    depth = {}
    for e in events:
        if e["ph"] == "B":
            depth[e["tid"]] = depth.get(e["tid"], 0) + 1
        elif e["ph"] == "E":
            depth[e["tid"]] -= 1
            assert depth[e["tid"]] >= 0
    assert set(depth.values()) == {0}
    # Short, readable names with their place, and no per-call args.
    work = [e for e in events if e["ph"] == "B" and e["name"] == "work (threads.py:16)"]
    assert sorted(names[e["tid"]] for e in work) == ["worker-1", "worker-2"]
    assert {e["name"] for e in events if e["ph"] == "B"} >= {"<__main__> (threads.py:1)", "run_worker (threads.py:23)"}
    assert all("args" not in e for e in events if e["ph"] != "M")
    # Every track (each thread with slices) is named.
    assert {e["tid"] for e in events if e["ph"] == "B"} <= set(names)


def test_chrome_raise_events_name_the_exception_and_where(tmp_path):
    trace_file = recording(tmp_path, PROGRAMS / "exceptions.py")
    out = tmp_path / "chrome.json"
    result = tracesieve_cli("export", trace_file, "--format", "chrome", "-o", out)
    assert result.returncode == 0, result.stderr
    raises = [e for e in json.loads(out.read_text(encoding="utf-8"))["traceEvents"] if e["ph"] == "i"]
    assert raises and all(re.fullmatch(r"raise \w[\w.]* \(exceptions\.py:\d+\)", e["name"]) for e in raises), raises


def test_value_helpers_agree_with_info(tmp_path):
    """The trailer statistics in the JSON export, in `info --json` and from
    the Python API are the same numbers."""
    trace_file = recording(tmp_path, PROGRAMS / "secrets_everywhere.py")
    trace, info = export_json(trace_file), trace_info(trace_file)
    stats = trace["trailer"]["stats"]
    assert info["stats"]["redacted"] == dict(zip(KINDS, stats["redacted"]))
    assert info["stats"]["dropped"] == dict(zip(KINDS, stats["dropped"]))
    assert info["stats"]["scopes_skipped"] == stats["scopes_skipped"]
    assert value(args_of(calls_of(trace, code_id(trace, "login"))[0])["user"]) == "ada"
