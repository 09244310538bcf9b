"""Multi-process programs (issue 14): `record` follows every Python child
process into a trace set, `TRACE` for the program and `TRACE.d/PID.tsieve`
for each child, with its parent's pid and how it started; the program
behaves as under plain Python; `info` lists the set as a process tree."""

import json
import re
import time
from pathlib import Path

from conftest import (
    calls_of,
    clean_env,
    code_id,
    export_json,
    record,
    run_python,
    trace_info,
    tracesieve_cli,
)

POOLS = """\
import multiprocessing as mp
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def square(n):
    time.sleep(0.01)
    return n * n


def forked(tag):
    return tag.upper()


if __name__ == "__main__":
    ctx = mp.get_context(sys.argv[1])
    with ctx.Pool(2) as pool:
        print(sorted(pool.map(square, range(4), chunksize=1)))
    with ProcessPoolExecutor(2, mp_context=ctx) as executor:
        print(list(executor.map(square, [5, 6])))
    child = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child.py")
    done = subprocess.run([sys.executable, child, "7"], capture_output=True, text=True)
    print(done.stdout.strip(), done.returncode)
    pid = os.fork()
    if pid == 0:
        forked("forked")
        os._exit(3)
    _, status = os.waitpid(pid, 0)
    print("fork exit", os.waitstatus_to_exitcode(status))
"""

CHILD = """\
import os
import sys


def triple(n):
    return 3 * n


print("child", triple(int(sys.argv[1])), sorted(k for k in os.environ if k.startswith("TRACESIEVE")))
sys.exit(4)
"""


def write_programs(tmp_path):
    (tmp_path / "pools.py").write_text(POOLS, encoding="utf-8")
    (tmp_path / "child.py").write_text(CHILD, encoding="utf-8")
    return tmp_path / "pools.py"


def record_set(tmp_path, method, *options):
    """Records pools.py with `method` as `python` would run it; returns the
    set's processes (as `info` lists them) after checking the program's
    output against a plain run."""
    program = write_programs(tmp_path)
    plain = run_python(program, method, cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    out = tmp_path / "set.tsieve"
    recorded = record(out, *options, program, method, cwd=tmp_path)
    assert (recorded.returncode, recorded.stdout, recorded.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert "child 21 [] 4" in plain.stdout
    return out, trace_info(out).get("processes")


def calls_in(path, qualname):
    trace = export_json(path)
    ids = [c["id"] for c in trace["codes"] if c["qualname"] == qualname]
    return sum(len(calls_of(trace, i)) for i in ids)


def test_fork_pools_subprocess_and_os_fork_each_record_their_own_file(tmp_path):
    out, processes = record_set(tmp_path, "fork")
    first, children = processes[0], processes[1:]
    assert (first["path"], first["started"], first["depth"]) == (str(out), "program", 0)
    assert first["pid"] and first["exit_status"] == 0
    # Every child hangs under the program, and each file is its own.
    assert children and all(c["parent"] == first["pid"] and c["depth"] == 1 for c in children)
    assert sorted({c["started"] for c in children}) == ["exec", "fork"]
    assert all(Path(c["path"]).parent == Path(str(out) + ".d") for c in children)
    assert all(Path(c["path"]).name == f"{c['pid']}.tsieve" for c in children)
    # The work of the workers is in their files (not in the program's): six
    # squares, the pool's workers ended by SIGTERM included.
    assert calls_in(out, "square") == 0
    assert sum(calls_in(c["path"], "square") for c in children if c["started"] == "fork") == 6
    # The exec'd child: its own argv, its exit status, its call.
    (execd,) = [c for c in children if c["started"] == "exec"]
    assert execd["argv"][1:] == ["7"] and execd["exit_status"] == 4 and execd["complete"]
    assert calls_in(execd["path"], "triple") == 1
    # os.fork() and os._exit(3) in the child.
    forks = [c for c in children if calls_in(c["path"], "forked")]
    assert len(forks) == 1 and forks[0]["exit_status"] == 3 and forks[0]["complete"]
    # The header says it too (the canonical form keeps only how it started).
    header = export_json(forks[0]["path"], canonical=False)["header"]
    assert header["process"] == {"pid": forks[0]["pid"], "parent": first["pid"], "started": "fork"}
    assert export_json(forks[0]["path"])["header"]["process"] == {"started": "fork"}
    # The program's own trace has no process record of another process.
    assert export_json(out, canonical=False)["header"]["process"]["started"] == "program"


def test_spawn_workers_are_new_interpreters_that_record(tmp_path):
    out, processes = record_set(tmp_path, "spawn")
    spawned = [p for p in processes if p["started"] == "spawn"]
    assert len(spawned) >= 3  # the pool's two and the executor's (at least one)
    assert all("--multiprocessing-fork" in p["argv"] for p in spawned)
    assert sum(calls_in(p["path"], "square") for p in spawned) == 6


def test_forkserver_workers_hang_under_the_server(tmp_path):
    out, processes = record_set(tmp_path, "forkserver")
    servers = [p for p in processes if p["started"] == "forkserver" and p["depth"] == 1]
    assert len(servers) == 1
    workers = [p for p in processes if p["parent"] == servers[0]["pid"]]
    assert workers and all(p["started"] == "forkserver" and p["depth"] == 2 for p in workers)
    assert sum(calls_in(p["path"], "square") for p in workers) == 6


def test_info_prints_the_process_tree(tmp_path):
    out, processes = record_set(tmp_path, "fork")
    done = tracesieve_cli("info", out)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert f"processes  {len(processes)} in the set" in text
    assert re.search(rf"\n  {processes[0]['pid']} program  \S*pools.py fork  \(\d+ events, exit 0\)\n", text), text
    child = processes[1]
    assert re.search(rf"\n    {child['pid']} {child['started']}  .* {re.escape(child['path'])}\n", text), text


def test_no_children_records_the_program_alone_and_a_new_recording_clears_the_set(tmp_path):
    out, processes = record_set(tmp_path, "fork")
    stale = Path(str(out) + ".d")
    assert len(list(stale.iterdir())) == len(processes) - 1
    keep = stale / "notes.txt"
    keep.write_text("mine", encoding="utf-8")
    out, processes = record_set(tmp_path, "fork", "--no-children")
    assert processes is None or len(processes) == 1
    # Only files the set names are removed.
    assert [p.name for p in stale.iterdir()] == ["notes.txt"]


def test_a_child_given_an_environment_of_its_own_is_not_recorded(tmp_path):
    program = tmp_path / "own_env.py"
    write_programs(tmp_path)
    program.write_text(
        "import subprocess, sys\n"
        "env = {'PATH': '/usr/bin:/bin', 'PYTHONDONTWRITEBYTECODE': '1'}\n"
        "done = subprocess.run([sys.executable, 'child.py', '1'], env=env, capture_output=True, text=True)\n"
        "print(done.stdout.strip())\n",
        encoding="utf-8",
    )
    out = tmp_path / "own.tsieve"
    done = record(out, program, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "child 3 [] 4\n" or done.stdout == "child 3 []\n"
    assert not Path(str(out) + ".d").exists()


def test_children_refilter_as_their_recording_would(tmp_path):
    """Parity per process: a child's trace recorded permissively and
    re-filtered with the default chain equals the child recorded with it."""
    program = tmp_path / "secret_fork.py"
    program.write_text(
        "import os\n"
        "def login(user, password):\n"
        "    return len(user) + len(password)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    login('ada', 'hunter2-' + str(7 * 6))\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n",
        encoding="utf-8",
    )
    permissive = tmp_path / "permissive.toml"
    permissive.write_text(
        '[meta]\nname = "permissive"\nversion = 1\n\n[scope]\ndefault_exec = "trace"\ndefault_value_action = "allow"\n',
        encoding="utf-8",
    )
    children = {}
    for name, options in (("all", ["--no-builtin-filter", "--filter", permissive]), ("default", [])):
        out = tmp_path / f"{name}.tsieve"
        done = record(out, *options, program, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        (child,) = list(Path(str(out) + ".d").iterdir())
        children[name] = child
    refiltered = tmp_path / "refiltered.tsieve"
    done = tracesieve_cli("refilter", children["all"], "-o", refiltered)
    assert done.returncode == 0, done.stderr
    got, want = export_json(refiltered), export_json(children["default"])
    assert got["events"] == want["events"]
    assert got["header"]["process"] == want["header"]["process"] == {"started": "fork"}
    assert "hunter2-42" not in json.dumps(got)


def test_the_chrome_export_of_a_set_has_a_process_per_pid(tmp_path):
    out, processes = record_set(tmp_path, "fork")
    (Path(str(out) + ".d") / "99.tsieve").write_text("not a trace\n", encoding="utf-8")
    chrome = tmp_path / "set.json"
    done = tracesieve_cli("export", out, "--format", "chrome", "-o", chrome)
    assert done.returncode == 0, done.stderr
    assert "99.tsieve is left out: not a tracesieve trace" in done.stderr
    events = json.loads(chrome.read_text(encoding="utf-8"))["traceEvents"]
    names = {e["pid"]: e["args"]["name"] for e in events if e["name"] == "process_name"}
    assert set(names) == {p["pid"] for p in processes if "error" not in p}
    assert names[processes[0]["pid"]].endswith("pools.py fork")
    assert all(names[p["pid"]].endswith(f"({p['started']})") for p in processes[1:] if "error" not in p)
    # Balanced on every thread of every process.
    open_slices = {}
    for e in events:
        key = (e["pid"], e["tid"])
        if e["ph"] == "B":
            open_slices[key] = open_slices.get(key, 0) + 1
        elif e["ph"] == "E":
            open_slices[key] -= 1
    assert all(n == 0 for n in open_slices.values())
    squares = [e for e in events if e["ph"] == "B" and e["name"].startswith("square (")]
    assert len(squares) == 6 and {e["pid"] for e in squares} <= set(names) - {processes[0]["pid"]}
    # --no-children: the program's process alone (under its pid).
    alone = tmp_path / "alone.json"
    done = tracesieve_cli("export", out, "--format", "chrome", "--no-children", "-o", alone)
    assert done.returncode == 0, done.stderr
    assert {e["pid"] for e in json.loads(alone.read_text(encoding="utf-8"))["traceEvents"]} == {processes[0]["pid"]}


def test_the_speedscope_export_of_a_set_has_profiles_per_process(tmp_path):
    out, processes = record_set(tmp_path, "fork")
    (Path(str(out) + ".d") / "99.tsieve").write_text("not a trace\n", encoding="utf-8")
    target = tmp_path / "set.speedscope.json"
    done = tracesieve_cli("export", out, "--format", "speedscope", "-o", target)
    assert done.returncode == 0, done.stderr
    assert "99.tsieve is left out: not a tracesieve trace" in done.stderr
    doc = json.loads(target.read_text(encoding="utf-8"))
    names = [p["name"] for p in doc["profiles"]]
    recorded = [p for p in processes if "error" not in p]
    first = recorded[0]
    assert any(f"(pid {first['pid']}) · " in n for n in names)
    for child in recorded[1:]:
        assert any(f"(pid {child['pid']}, {child['started']})" in n for n in names), (child, names)
    frames = doc["shared"]["frames"]
    squares = [
        p["name"]
        for p in doc["profiles"]
        for e in p["events"]
        if e["type"] == "O" and frames[e["frame"]]["name"] == "square"
    ]
    assert len(squares) == 6 and all(f"(pid {first['pid']})" not in n for n in squares)
    # --no-children: the program's process alone.
    alone = tmp_path / "alone.speedscope.json"
    done = tracesieve_cli("export", out, "--format", "speedscope", "--no-children", "-o", alone)
    assert done.returncode == 0, done.stderr
    alone_names = [p["name"] for p in json.loads(alone.read_text(encoding="utf-8"))["profiles"]]
    assert alone_names and all(f"(pid {first['pid']})" in n for n in alone_names)


FAULTS = """\
import multiprocessing as mp
import os
import signal
import sys
import time


def work(n):
    # Longer than the 2 ms within which a worker's seals at rest are left to
    # the timer: the pool's SIGTERM can come sooner than that after a task.
    time.sleep(0.003)
    return n + 1


def killed():
    work(1)
    time.sleep(60)


def outlives():
    time.sleep(0.5)
    work(2)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    victim = os.fork()
    if victim == 0:
        killed()
    time.sleep(0.5)
    os.kill(victim, signal.SIGKILL)
    os.waitpid(victim, 0)
    with mp.get_context("fork").Pool(8) as pool:
        print(sum(pool.map(work, range(64), chunksize=8)))
    if os.fork() == 0:
        outlives()
    print("parent done")
"""


def test_killed_children_orphans_and_a_pool_of_eight_leave_readable_files(tmp_path):
    program = tmp_path / "faults.py"
    program.write_text(FAULTS, encoding="utf-8")
    plain = run_python(program, cwd=tmp_path)
    out = tmp_path / "faults.tsieve"
    recorded = record(out, program, cwd=tmp_path)
    assert (recorded.returncode, recorded.stdout, recorded.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert recorded.stdout == "2080\nparent done\n"
    # The orphan ends half a second after its parent: wait for its trailer.
    deadline = time.monotonic() + 30
    while True:
        processes = trace_info(out)["processes"]
        if any(calls_in(p["path"], "outlives") for p in processes if "error" not in p) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert all("error" not in p for p in processes), processes
    first, children = processes[0], processes[1:]
    assert first["exit_status"] == 0 and first["complete"]
    assert calls_in(out, "work") == 0, "nothing of a child is in the parent's file"
    by_function = {name: [c for c in children if calls_in(c["path"], name)] for name in ("killed", "outlives")}
    (victim,) = by_function["killed"]
    assert not victim["complete"] and calls_in(victim["path"], "work") == 1
    (orphan,) = by_function["outlives"]
    assert orphan["complete"] and orphan["exit_status"] == 0
    workers = [c for c in children if c not in (victim, orphan)]
    assert len(workers) <= 8
    assert sum(calls_in(c["path"], "work") for c in workers) == 64


def test_refilter_of_a_set_refilters_every_process_into_a_set(tmp_path):
    out, processes = record_set(tmp_path, "fork")
    refiltered = tmp_path / "refiltered.tsieve"
    skip = tmp_path / "skip-square.toml"
    skip.write_text(
        '[meta]\nname = "skip"\nversion = 1\n\n[scope]\ndefault_exec = "inherit"\ndefault_value_action = "inherit"\n\n'
        '[[scope.rules]]\nselector = "obj:__mp_main__.square"\nexec = "skip"\n\n'
        '[[scope.rules]]\nselector = "obj:__main__.square"\nexec = "skip"\n',
        encoding="utf-8",
    )
    done = tracesieve_cli("refilter", out, "--filter", skip, "-o", refiltered)
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == len(processes)
    again = trace_info(refiltered)["processes"]
    assert [(p["pid"], p["parent"], p["started"]) for p in again] == [(p["pid"], p["parent"], p["started"]) for p in processes]
    assert all(calls_in(p["path"], "square") == 0 for p in again)
    assert sum(calls_in(p["path"], "forked") for p in again) == 1
    # --no-children: the first trace alone.
    alone = tmp_path / "alone.tsieve"
    done = tracesieve_cli("refilter", out, "--no-children", "-o", alone)
    assert done.returncode == 0, done.stderr
    assert not Path(str(alone) + ".d").exists()
