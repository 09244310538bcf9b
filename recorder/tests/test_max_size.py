"""`tracesieve record --max-size SIZE` and `start(max_size=...)`: recording
stops when the trace file reaches SIZE, the trace is closed with the limit in
its trailer, one warning goes to stderr, and the program goes on as without
tracesieve (output, exceptions, exit status)."""

import json
import os
import subprocess
import sys

import pytest

from conftest import (
    assert_balanced,
    clean_env,
    export_json,
    record,
    run_python,
    trace_info,
    tracesieve_cli,
)

LIMIT = 200_000
LIMIT_TEXT = "200 kB"
CHUNK = 64 * 1024  # the records a chunk holds before it is sealed

# Lots of output and many events: recorded in full it is several times LIMIT.
PROGRAMS = {
    "exit_status": '''\
import sys

def work(i, acc):
    total = acc
    for j in range(20):
        total += i * j
    return total

acc = 0
for i in range(5000):
    acc = work(i, acc)
    if i % 50 == 0:
        print(f"step {i} acc {acc}")
        print(f"stderr {i}", file=sys.stderr)
try:
    raise KeyError("caught after the limit")
except KeyError as error:
    print("caught", error)
print("done", acc)
sys.exit(3)
''',
    "uncaught": '''\
def work(i):
    items = [i, str(i), {"i": i}]
    for item in items:
        print(i, item)
    return len(items)

for i in range(5000):
    work(i)

def fail(n):
    if n == 0:
        raise ValueError("the program's own error, after the limit")
    return fail(n - 1)

fail(3)
''',
    "threads": '''\
import threading

results = {}

def work(name, n):
    total = 0
    for i in range(n):
        for j in range(10):
            total += i ^ j
    results[name] = total

threads = [threading.Thread(target=work, args=(f"t{k}", 4000)) for k in range(3)]
for t in threads:
    t.start()
work("main", 4000)
for t in threads:
    t.join()
for name in sorted(results):
    print(name, results[name])
''',
}


def warning(out, limit_text=LIMIT_TEXT):
    return f"tracesieve: the trace reached --max-size {limit_text}; recording stopped (the program goes on; {out} is closed and readable)\n"


def without_warning(stderr, out):
    """(the number of warning lines, stderr without them)."""
    lines = stderr.splitlines(keepends=True)
    kept = [line for line in lines if line != warning(out)]
    return len(lines) - len(kept), "".join(kept)


@pytest.fixture
def program(request, tmp_path):
    path = tmp_path / f"{request.param}.py"
    path.write_text(PROGRAMS[request.param], encoding="utf-8")
    return path


@pytest.mark.parametrize("program", sorted(PROGRAMS), indirect=True)
def test_recording_stops_at_the_limit_and_the_program_goes_on(tmp_path, program):
    plain = run_python(program, cwd=tmp_path)
    out = tmp_path / "trace.tsieve"
    result = record(out, "--max-size", "200k", program, cwd=tmp_path)
    # The program's output, exceptions and exit status are as without tracesieve.
    assert result.stdout == plain.stdout
    assert result.returncode == plain.returncode
    warnings, rest = without_warning(result.stderr, out)
    assert warnings == 1, result.stderr
    assert rest == plain.stderr
    assert "Traceback" not in result.stderr or "Traceback" in plain.stderr
    assert "recorder fault" not in result.stderr

    info = trace_info(out)
    assert info["truncation"] is None  # closed, with its trailer
    assert info["size_limit"] == LIMIT
    assert info["detached"] is None  # not a fault
    assert info["exit_status"] is None  # the trace closed before the program ended
    assert info["total_events"] > 1000
    # The file counts what it has written and what it holds for the open
    # chunk before compression, so it ends at most one record (and the
    # trailer) past the limit, and less than one chunk short of it.
    size = out.stat().st_size
    assert LIMIT - CHUNK - 4096 <= size <= LIMIT + 4096, size

    trace = export_json(out)
    assert trace["trailer"]["size_limit"] == LIMIT
    assert trace["trailer"]["detached"] is None
    assert len(trace["events"]) == info["total_events"]
    assert_balanced(trace, complete=False)
    for fmt, name in (("chrome", "trace.chrome.json"), ("codetracer", "ct")):
        exported = tracesieve_cli("export", out, "--format", fmt, "-o", tmp_path / name, cwd=tmp_path)
        assert exported.returncode == 0, exported.stderr
    metadata = json.loads((tmp_path / "ct" / "trace_metadata.json").read_text(encoding="utf-8"))
    assert metadata["process_exit_status"] == {"code": None, "label": f"recording stopped at the size limit ({LIMIT_TEXT})"}


def test_a_trace_without_a_limit_is_unchanged(tmp_path):
    """The same program without --max-size: recorded in full, no warning, no
    size_limit in the summary or the trailer; and a limit never reached
    changes nothing either."""
    path = tmp_path / "prog.py"
    path.write_text(PROGRAMS["exit_status"], encoding="utf-8")
    plain = run_python(path, cwd=tmp_path)
    traces = {}
    for name, options in (("none", ()), ("unreached", ("--max-size", "1.5GB"))):
        out = tmp_path / f"{name}.tsieve"
        result = record(out, *options, path, cwd=tmp_path)
        assert (result.stdout, result.stderr, result.returncode) == (plain.stdout, plain.stderr, plain.returncode)
        info = trace_info(out)
        assert info["size_limit"] is None and info["detached"] is None and info["truncation"] is None
        assert info["exit_status"] == 3
        trace = export_json(out)
        assert "size_limit" not in trace["trailer"]
        traces[name] = (out.stat().st_size, trace)
    # The program records to several times the limit the other tests use.
    assert traces["none"][0] > 2 * LIMIT
    # A limit that is not reached leaves the same trace.
    assert traces["none"][1]["events"] == traces["unreached"][1]["events"]
    assert traces["none"][1]["trailer"] == traces["unreached"][1]["trailer"]


def test_info_summary_line_and_refilter_show_the_limit(tmp_path):
    path = tmp_path / "prog.py"
    path.write_text(PROGRAMS["exit_status"], encoding="utf-8")
    out = tmp_path / "trace.tsieve"
    result = record(out, "--max-size=200000", path, cwd=tmp_path, quiet=False)
    assert result.returncode == 3
    lines = [line for line in result.stderr.splitlines() if line.startswith("tracesieve:")]
    assert lines[0] + "\n" == warning(out)
    assert len(lines) == 2 and lines[1].endswith(f"; stopped at --max-size {LIMIT_TEXT}"), lines
    text = tracesieve_cli("info", out, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert f"stopped    at --max-size {LIMIT_TEXT}; the program went on unrecorded" in text.stdout
    assert "exit       unknown" in text.stdout
    # Re-filtering keeps the trailer, and so the limit.
    again = tmp_path / "again.tsieve"
    refiltered = tracesieve_cli("refilter", out, "--append", "-o", again, cwd=tmp_path)
    assert refiltered.returncode == 0, refiltered.stderr
    assert trace_info(again)["size_limit"] == LIMIT


@pytest.mark.parametrize(
    "size, message",
    [
        ("10X", "invalid size '10X'"),
        ("1e9", "invalid size '1e9'"),
        ("1.5.2", "invalid size '1.5.2'"),
        ("k", "invalid size 'k'"),
        ("", "invalid size ''"),
        ("-5", "invalid size '-5'"),
        ("0", "size '0' is less than one byte"),
        ("0.1", "size '0.1' is less than one byte"),
        ("99999999999T", "size '99999999999T' is too large"),
    ],
)
def test_a_bad_size_is_a_usage_error(tmp_path, size, message):
    path = tmp_path / "prog.py"
    path.write_text("print('the program ran')\n", encoding="utf-8")
    out = tmp_path / "trace.tsieve"
    for form in (["--max-size", size], [f"--max-size={size}"]):
        result = record(out, *form, path, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        assert "argument --max-size: " + message in result.stderr, result.stderr
        assert not out.exists()
    if size == "10X":
        assert "e.g. 500M" in result.stderr


def test_a_missing_size_is_a_usage_error(tmp_path):
    result = record(tmp_path / "trace.tsieve", "--max-size", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "--max-size" in result.stderr


def test_sizes_and_their_units():
    from tracesieve import _recording

    cases = {
        "1048576": 1_048_576,
        "100k": 100_000,
        "100kB": 100_000,
        "500M": 500_000_000,
        "2G": 2_000_000_000,
        "1.5GB": 1_500_000_000,
        "64KiB": 65_536,
        "1MiB": 1_048_576,
        "2GiB": 2 * 1024**3,
        "10 MB": 10_000_000,
    }
    for text, size in cases.items():
        assert _recording.parse_size(text) == size, text
    for size, text in {200_000: "200 kB", 65_536: "64 KiB", 1_500_000_000: "1.5 GB", 512: "512 B"}.items():
        assert _recording.size_text(size) == text
        assert _recording.parse_size(text) == size
    with pytest.raises(ValueError, match="invalid size 'lots'"):
        _recording.parse_size("lots")


API_SCRIPT = '''\
import json
import sys

import tracesieve


def work(i):
    total = 0
    for j in range(20):
        total += i * j
    return total


out, limit = sys.argv[1], sys.argv[2]
limit = int(limit) if limit.isdigit() else limit
states = []
tracesieve.start(out, discover=False, max_size=limit)
for i in range(5000):
    work(i)
    if i == 4999:
        states.append(tracesieve.is_recording())
summary = tracesieve.stop()
with tracesieve.recording(out + ".with", discover=False, max_size=limit):
    for i in range(5000):
        work(i)
print(json.dumps({"states": states, "summary": summary, "again": tracesieve.stop()}))
'''


@pytest.mark.parametrize("limit", ["50000", "50k"])
def test_the_api_takes_max_size(tmp_path, limit):
    script = tmp_path / "api.py"
    script.write_text(API_SCRIPT, encoding="utf-8")
    out = tmp_path / "api.tsieve"
    result = run_python(script, out, limit, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # One warning per recording that reached its limit.
    assert result.stderr == warning(out, "50 kB") + warning(f"{out}.with", "50 kB")
    report = json.loads(result.stdout)
    assert report["states"] == [False]  # stopped before the program's own stop()
    summary = report["summary"]
    assert summary["size_limit"] == 50_000 and summary["detached"] is None
    assert summary["path"] == str(out)
    assert report["again"]["size_limit"] == 50_000
    for path in (out, f"{out}.with"):
        info = trace_info(path)
        assert info["size_limit"] == 50_000 and info["truncation"] is None
        assert os.path.getsize(path) <= 50_000 + 4096
    assert trace_info(out)["total_events"] == summary["events"]


def test_the_api_rejects_a_bad_max_size_before_recording(tmp_path):
    import tracesieve

    out = tmp_path / "t.tsieve"
    for bad, error in ((0, ValueError), (-1, ValueError), ("lots", ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error):
            tracesieve.start(out, discover=False, max_size=bad)
        assert not tracesieve.is_recording()
        assert not out.exists()


def test_the_native_start_rejects_a_zero_limit(tmp_path):
    from tracesieve import _native

    with pytest.raises(ValueError, match="at least 1 byte"):
        _native.start(str(tmp_path / "t.tsieve"), [], {"max_size": 0})
    assert not _native.is_recording()
    assert not (tmp_path / "t.tsieve").exists()


def test_a_limit_below_the_header_stops_at_the_first_event(tmp_path):
    """A limit smaller than what the trace starts with: recording stops at
    the first event, and the trace still reads."""
    path = tmp_path / "prog.py"
    path.write_text("def f():\n    return 1\n\nprint(f())\n", encoding="utf-8")
    out = tmp_path / "trace.tsieve"
    result = record(out, "--max-size", "1", path, cwd=tmp_path)
    assert result.stdout == "1\n" and result.returncode == 0
    assert result.stderr == warning(out, "1 B")
    info = trace_info(out)
    assert info["size_limit"] == 1 and info["truncation"] is None
    assert info["total_events"] <= 2


def test_help_documents_the_option():
    result = subprocess.run(
        [sys.executable, "-m", "tracesieve", "record", "--help"], capture_output=True, text=True, env=clean_env()
    )
    assert result.returncode == 0
    assert "--max-size SIZE" in result.stdout
