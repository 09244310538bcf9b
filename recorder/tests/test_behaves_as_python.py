"""A recorded program behaves as it does under plain ``python``.

Each program of the corpus (tests/programs and the deliberately odd ones in
odd_programs/) runs twice, plainly and under ``tracesieve record``; stdout,
stderr (addresses masked) and the exit status must be the same, including
what the program sees of its own start (``__builtins__``, ``__spec__``,
``sys.argv``, its stack depth, where recursion stops, where a warning is
attributed). Then the trace must be whole: read to its trailer, with the
exit status the process really ended with.

The other trust checks follow: a recording killed with SIGKILL keeps what
happened more than a second before, a deleted trace file is reported, and
mistakes on the command line get one line and exit status 2.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import PROGRAMS, args_of, calls_of, clean_env, code_id, export_json, record, run_python, trace_info, vars_in

ODD = Path(__file__).resolve().parent / "odd_programs"
ADDRESS = re.compile(r"0x[0-9a-fA-F]+")

CORPUS = sorted(p.name for p in PROGRAMS.glob("*.py") if p.name not in ("long_running.py", "run_path_target.py"))
ODD_PROGRAMS = sorted(p.name for p in ODD.glob("*.py"))

# The status each odd program ends with (plain Python's), so a change in
# the program itself is noticed too; -2 is death by SIGINT.
ODD_EXIT = {"keyboard_interrupt.py": -signal.SIGINT, "exits.py": 1, "os_exit.py": 5}


def masked(text):
    return ADDRESS.sub("0x?", text)


def run_both(tmp_path, folder, name, env=None):
    program = folder / name
    plain = run_python(program, cwd=tmp_path, env=env)
    out = tmp_path / f"{name}.tsieve"
    recorded = record(out, program, cwd=tmp_path, env=env)
    return plain, recorded, out


def assert_same(plain, recorded):
    assert masked(recorded.stdout) == masked(plain.stdout)
    assert masked(recorded.stderr) == masked(plain.stderr)
    assert recorded.returncode == plain.returncode


def shell_status(returncode):
    """The status a shell reports: 128 + N for death by signal N."""
    return 128 - returncode if returncode < 0 else returncode


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_program_behaves_as_plain_python(tmp_path, name):
    plain, recorded, out = run_both(tmp_path, PROGRAMS, name)
    assert_same(plain, recorded)
    info = trace_info(out)
    assert info["truncation"] is None
    assert info["exit_status"] == shell_status(plain.returncode)


@pytest.mark.parametrize("name", ODD_PROGRAMS)
def test_odd_program_behaves_as_plain_python(tmp_path, name):
    plain, recorded, out = run_both(tmp_path, ODD, name)
    assert_same(plain, recorded)
    assert plain.returncode == ODD_EXIT.get(name, 0), plain.stderr
    info = trace_info(out)
    assert info["truncation"] is None, info["truncation"]
    assert info["exit_status"] == shell_status(plain.returncode)
    assert info["total_events"] > 0


def test_script_sees_what_python_makes(tmp_path):
    """The values behind the comparison above, so that a change to both
    runs (say, the runner leaking into plain runs) is caught too."""
    plain = run_python(ODD / "environment.py", cwd=tmp_path)
    lines = plain.stdout.splitlines()
    assert "builtins module True" in lines
    assert "package None" in lines
    assert "loader SourceFileLoader" in lines
    assert "stack 1" in lines
    assert "environment []" in lines
    # Attributed past the top of the stack: `sys:1` (3.11, 3.12) or `<sys>:0`.
    assert re.match(r"(sys:1|<sys>:0): UserWarning: top-level warning", plain.stderr), plain.stderr


def test_big_ints_are_recorded_without_str(tmp_path):
    _, recorded, out = run_both(tmp_path, ODD, "big_int.py")
    assert "UNRAISABLE" not in recorded.stdout
    trace = export_json(out)
    values = {name: slot["value"] for _, name, slot in vars_in(trace, code_id(trace, "f"))}
    assert values["big"] == {"type": "big_int", "digits": "1" + "0" * 5000}
    # 7**9000 has 7,606 digits: more than str() gives, worked out exactly.
    sys.set_int_max_str_digits(0)
    assert values["negative"] == {"type": "big_int", "digits": str(-(7**9000))}
    # Over 65,536 bits: hexadecimal.
    assert values["huge"] == {"type": "big_int", "digits": "0x1" + "0" * 25000}


def test_code_with_a_fifo_or_device_filename_is_not_read(tmp_path):
    _, recorded, out = run_both(tmp_path, ODD, "odd_code_filenames.py")
    assert recorded.returncode == 0, recorded.stderr
    sources = {s["path"]: s for s in export_json(out)["sources"]}
    assert sources["/dev/zero"]["text"] is None
    assert sources["/dev/zero"]["omitted"] == "not a regular file"
    fifo = [s for path, s in sources.items() if path.endswith("source.fifo")]
    assert fifo and fifo[0]["omitted"] == "not a regular file"


def test_a_fault_warning_goes_to_the_process_stderr_not_the_programs(tmp_path):
    env = clean_env(TRACESIEVE_TEST_FAULT_AFTER=20)
    plain, recorded, out = run_both(tmp_path, ODD, "captures_stderr.py", env=env)
    assert recorded.stdout == plain.stdout
    assert "captured ''" in recorded.stdout
    warning = recorded.stderr.splitlines()
    assert len(warning) == 1 and warning[0].startswith("tracesieve: recorder fault"), recorded.stderr
    assert trace_info(out)["detached"]


def test_os_exit_status_and_summary(tmp_path):
    out = tmp_path / "trace.tsieve"
    result = record(out, ODD / "os_exit.py", cwd=tmp_path, quiet=False)
    assert result.returncode == 5
    assert result.stderr.startswith("tracesieve: ") and " events " in result.stderr
    info = trace_info(out)
    assert info["exit_status"] == 5
    trace = export_json(out)
    assert len(calls_of(trace, code_id(trace, "work"))) == 1


def test_forked_children_never_write_into_the_parents_trace(tmp_path):
    out = tmp_path / "trace.tsieve"
    result = record(out, ODD / "forks.py", cwd=tmp_path, quiet=False)
    assert result.returncode == 0, result.stderr
    # One summary line: the parent's.
    assert result.stderr.count("tracesieve: ") == 1, result.stderr
    trace = export_json(out)
    assert trace["trailer"]["exit_status"] == 0
    # The parent's call only: the children's are not in its file.
    works = calls_of(trace, code_id(trace, "work"))
    assert [args_of(c)["who"]["value"]["value"] for c in works] == ["parent"]


def test_killed_recordings_keep_what_is_older_than_a_second(tmp_path):
    """SIGKILL two seconds in: a slow program (20 ticks a second) and one
    that bursts then sleeps keep every event from before the last second."""
    slow = tmp_path / "slow.py"
    slow.write_text(
        "import sys, time\n"
        "def tick(i):\n    return i + 1\n"
        "i = 0\n"
        "while True:\n"
        "    i = tick(i)\n"
        "    print(time.monotonic(), flush=True)\n"
        "    time.sleep(0.05)\n",
        encoding="utf-8",
    )
    burst = tmp_path / "burst.py"
    burst.write_text(
        "import time\n"
        "def tick(i):\n    return i + 1\n"
        "for i in range(5000):\n    tick(i)\n"
        "print(time.monotonic(), flush=True)\n"
        "time.sleep(60)\n",
        encoding="utf-8",
    )
    for program in (slow, burst):
        out = tmp_path / f"{program.stem}.tsieve"
        command = [sys.executable, "-m", "tracesieve", "record", "-q", "-o", str(out), str(program)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=tmp_path, env=clean_env())
        time.sleep(2)
        killed_at = time.monotonic()
        process.kill()
        stdout, _ = process.communicate(timeout=30)
        ticks_before = [float(t) for t in stdout.split()]
        older = sum(1 for t in ticks_before if t < killed_at - 1.0)
        if program is burst:
            older = 5000 if ticks_before and ticks_before[0] < killed_at - 1.0 else 0
        info = trace_info(out)
        assert info["truncation"] is not None
        recorded_ticks = info["events"]["call"] - 1  # the module's own call
        assert recorded_ticks >= older > 0, (program.name, recorded_ticks, older)


def test_deleted_trace_file_is_reported(tmp_path):
    program = tmp_path / "deletes.py"
    out = tmp_path / "trace.tsieve"
    program.write_text(
        "import os, time\n"
        "def step(i):\n    return i\n"
        f"os.unlink({str(out)!r})\n"
        "for i in range(20):\n    step(i)\n    time.sleep(0.05)\n"
        "print('done')\n",
        encoding="utf-8",
    )
    result = record(out, program, cwd=tmp_path, quiet=False)
    assert result.returncode == 0
    assert result.stdout == "done\n"
    lines = result.stderr.splitlines()
    assert len(lines) == 2, result.stderr
    assert "was deleted or replaced while recording" in lines[0]
    assert "(deleted)" in lines[1]
    assert not out.exists()


@pytest.mark.parametrize(
    "options, expected",
    [
        (["-o", "{tmp}/missing/trace.tsieve"], "No such file or directory"),
        (["-o", "{tmp}"], "Is a directory"),
        (["-o", "/proc/version"], "cannot write the trace"),
        (["-o", "/dev/full"], "No space left on device"),
        (["--max-depth", "-1"], "argument --max-depth: -1 is not between 1 and 30"),
        (["--max-depth", "x"], "argument --max-depth: 'x' is not a whole number"),
        (["--max-string-bytes", "99999999999"], "argument --max-string-bytes: 99999999999 is not between"),
    ],
)
def test_record_mistakes_get_one_line_and_status_2(tmp_path, options, expected):
    program = tmp_path / "app.py"
    program.write_text("print('ran')\n", encoding="utf-8")
    options = [o.replace("{tmp}", str(tmp_path)) for o in options]
    result = run_python("-m", "tracesieve", "record", *options, program, cwd=tmp_path)
    assert result.returncode == 2
    assert "ran" not in result.stdout
    assert "Traceback" not in result.stderr
    assert expected in result.stderr, result.stderr


def test_info_into_a_closed_pipe_stops_quietly(tmp_path):
    out = tmp_path / "trace.tsieve"
    record(out, PROGRAMS / "recursion.py", cwd=tmp_path)
    command = [sys.executable, "-m", "tracesieve", "info", str(out)]
    # The reading end is closed before the command writes: its first write
    # fails as it does when `head` has read enough and gone.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(command, stdout=write_end, stderr=subprocess.PIPE, env=clean_env(), timeout=30)
    finally:
        os.close(write_end)
    assert result.returncode == 1
    assert result.stderr == b""


def test_unittest_names_resolve_as_python_m_unittest(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "sub" / "__init__.py").write_text("", encoding="utf-8")
    (package / "sub" / "test_things.py").write_text(
        "import unittest\n"
        "class Things(unittest.TestCase):\n"
        "    def test_one(self):\n        self.assertEqual(1 + 1, 2)\n"
        "    def test_two(self):\n        self.assertTrue(True)\n"
        "class Others(unittest.TestCase):\n"
        "    def test_three(self):\n        pass\n",
        encoding="utf-8",
    )
    names = ["pkg.sub.test_things.Things", "pkg.sub.test_things.Others.test_three"]
    plain = run_python("-m", "unittest", *names, cwd=tmp_path)
    recorded = record(tmp_path / "t.tsieve", "--unittest", *names, cwd=tmp_path)
    assert plain.returncode == 0 and "Ran 3 tests" in plain.stderr, plain.stderr
    assert recorded.returncode == plain.returncode
    assert re.sub(r"in [\d.]+s", "", recorded.stderr) == re.sub(r"in [\d.]+s", "", plain.stderr)


def test_recording_goes_on_after_the_program_restores_the_trace_function(tmp_path):
    """On 3.11 the recorder is the thread's trace function; restoring what
    sys.gettrace() returned puts it back. (3.12+ records through
    sys.monitoring, which sys.settrace does not touch.)"""
    _, recorded, out = run_both(tmp_path, ODD, "settrace_restore.py")
    assert recorded.stdout == "own tracer saw calls: True\n"
    trace = export_json(out)
    assert len(calls_of(trace, code_id(trace, "before"))) == 1
    assert len(calls_of(trace, code_id(trace, "after"))) == 1
