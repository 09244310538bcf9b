"""Whole-process overhead of recording, side by side in one run: plain
CPython, tracesieve (--values none, --values all, and with every scope
skipped), VizTracer and codetracer-python-recorder, over the workloads in
workloads.py. Each configuration runs --repeat times; the median wall time
counts. Each tool's fixed start-up cost is measured on an empty workload
(`noop`) and reported apart: per-call cost = ((median - start-up) - (plain
median - plain start-up)) / Python calls made, and the "work" ratio compares
the times without start-up.

Run through scripts/bench.sh, which prepares the interpreter (CPython 3.12,
tracesieve built in release mode, the peer tools from bench/requirements.txt)
and writes the table into BENCHMARKS.md.

scripts/bench-interpreters.sh compares interpreters instead: it runs this
file once per interpreter with --tools (a subset of the configurations) and
--interpreter-json (the results with the interpreter's details), then once
with --side-by-side over those files, which writes the interpreter-overhead
section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = os.path.join(HERE, "workloads.py")
SKIP_ALL = os.path.join(HERE, "skip-all.toml")
NOOP_MONITORING = os.path.join(HERE, "noop_monitoring.py")
NOOP_LABEL = "no-op sys.monitoring LINE"
START, END = "<!-- recorder-overhead:start -->", "<!-- recorder-overhead:end -->"
INTERPRETERS_START, INTERPRETERS_END = "<!-- interpreter-overhead:start -->", "<!-- interpreter-overhead:end -->"


def configurations(out):
    """(label, argv before the workload script, trace path) for each tool."""
    py = sys.executable
    ts = [py, "-m", "tracesieve", "record", "-q"]
    return [
        ("python", [py], None),
        (NOOP_LABEL, [py, NOOP_MONITORING], None),
        ("tracesieve --values none", [*ts, "--values", "none", "-o", f"{out}/none.tsieve"], f"{out}/none.tsieve"),
        ("tracesieve --values all", [*ts, "--values", "all", "-o", f"{out}/all.tsieve"], f"{out}/all.tsieve"),
        ("tracesieve, all skipped", [*ts, "--filter", SKIP_ALL, "-o", f"{out}/skip.tsieve"], f"{out}/skip.tsieve"),
        ("viztracer 1.1.1", [py, "-m", "viztracer", "--quiet", "-o", f"{out}/viz.json"], f"{out}/viz.json"),
        ("codetracer 0.3.0", [py, "-m", "codetracer_python_recorder", "--trace-dir", f"{out}/ct"], f"{out}/ct"),
    ]


# The short names --tools takes, by configuration label.
TOOL_KEYS = {
    "python": "python",
    NOOP_LABEL: "noop",
    "tracesieve --values none": "none",
    "tracesieve --values all": "all",
    "tracesieve, all skipped": "skip",
    "viztracer 1.1.1": "viztracer",
    "codetracer 0.3.0": "codetracer",
}


def selected_configurations(out, tools):
    """configurations(out), only those whose TOOL_KEYS name is in tools (all if None)."""
    return [c for c in configurations(out) if tools is None or TOOL_KEYS[c[0]] in tools]


# fib30 only compares tracesieve with plain Python: CodeTracer's recorder
# would take about five minutes a run on it, and VizTracer's default buffer
# (one million entries) would wrap.
TRACESIEVE_ONLY = {"fib30"}


def size_of(path):
    if path is None or not os.path.exists(path):
        return None
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)
    return os.path.getsize(path)


def clear(path):
    if path and os.path.isdir(path):
        shutil.rmtree(path)
    elif path and os.path.exists(path):
        os.remove(path)


# A run longer than this is stopped and reported as "more than" the limit.
RUN_LIMIT_S = 600


class RunFailed(Exception):
    """A tool exited with an error (or was killed) on a workload."""


def run_once(argv, workload, trace):
    clear(trace)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [*argv, WORKLOADS, workload], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=RUN_LIMIT_S
        )
    except subprocess.TimeoutExpired:
        return float(RUN_LIMIT_S)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        killed = " (killed: out of memory?)" if done.returncode == -9 else ""
        raise RunFailed(f"exit status {done.returncode}{killed}", done.stderr[-2000:])
    return elapsed


def count_of(what, workload):
    """Python calls (`calls`) or line events (`lines`) the workload makes."""
    out = subprocess.run([sys.executable, WORKLOADS, f"--count-{what}", workload], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def require_release_build():
    """Refuses to measure a debug build: its figures would say nothing about
    what users get (scripts/setup.sh installs a release build)."""
    out = subprocess.run([sys.executable, "-c", "import tracesieve._native as n; print(n.BUILD, n.__file__)"],
                         capture_output=True, text=True, check=True).stdout.split()
    if out[0] != "release":
        raise SystemExit(f"overhead.py: {out[1]} is a {out[0]} build; measure the release build scripts/setup.sh installs")


def measure(workloads, repeat, tools=None):
    results = []
    with tempfile.TemporaryDirectory(prefix="tracesieve-bench-") as out:
        startup = {}
        for label, argv, trace in selected_configurations(out, tools):
            startup[label] = statistics.median([run_once(argv, "noop", trace) for _ in range(repeat)])
            print(f"{'noop':8} {label:26} {startup[label]:8.3f} s", file=sys.stderr)
        for workload in workloads:
            calls, lines = count_of("calls", workload), count_of("lines", workload)
            rows = []
            for label, argv, trace in selected_configurations(out, tools):
                if workload in TRACESIEVE_ONLY and not (label in ("python", NOOP_LABEL) or label.startswith("tracesieve")):
                    continue
                # CodeTracer's recorder takes minutes on the larger workloads: once is enough.
                runs = 1 if label.startswith("codetracer") else repeat
                try:
                    times = [run_once(argv, workload, trace) for _ in range(runs)]
                except RunFailed as failure:
                    # A peer that cannot record a workload is a result, not
                    # a reason to stop; tracesieve's own failures are.
                    if label.startswith("tracesieve"):
                        raise SystemExit(f"{label} {workload} failed: {failure.args[0]}\n{failure.args[1]}")
                    rows.append({"tool": label, "failed": failure.args[0]})
                    print(f"{workload:8} {label:26} failed: {failure.args[0]}", file=sys.stderr)
                    continue
                rows.append({"tool": label, "median_s": statistics.median(times), "runs": times, "size": size_of(trace)})
                print(f"{workload:8} {label:26} {statistics.median(times):8.3f} s", file=sys.stderr)
            plain = rows[0]["median_s"]
            plain_work = plain - startup["python"]
            for row in rows:
                if "failed" in row:
                    continue
                row["startup_s"] = startup[row["tool"]]
                row["ratio"] = row["median_s"] / plain
                row["work_ratio"] = (row["median_s"] - row["startup_s"]) / plain_work
                extra = (row["median_s"] - row["startup_s"]) - plain_work
                row["us_per_call"] = extra / calls * 1e6
                row["ns_per_line"] = extra / lines * 1e9
            results.append({"workload": workload, "calls": calls, "lines": lines, "rows": rows})
    return results


def human_size(size):
    if size is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000


def row_of(result, tool):
    return next(r for r in result["rows"] if r["tool"] == tool)


def verdicts(results):
    """The issue's targets, checked against these figures."""
    by = {r["workload"]: r for r in results}
    lines = []
    if "lines" in by:
        noop = row_of(by["lines"], NOOP_LABEL)["ns_per_line"]
        for tool in ("tracesieve --values none", "tracesieve --values all"):
            cost = row_of(by["lines"], tool)["ns_per_line"]
            lines.append(f"* `{tool.split(' ', 1)[1]}` on lines: {cost:.0f} ns per line event, "
                         f"{cost / noop:.1f}× a no-op sys.monitoring LINE callback ({noop:.0f} ns).")
    if "fib" in by:
        none = row_of(by["fib"], "tracesieve --values none")["us_per_call"]
        viz = row_of(by["fib"], "viztracer 1.1.1")["us_per_call"]
        lines.append(f"* `--values none` on fib: {none:.2f} µs per call (target below 1 µs: {'met' if none < 1 else 'missed'}); "
                     f"VizTracer {viz:.2f} µs (faster than VizTracer: {'yes' if none < viz else 'no'}).")
    skips = []
    for r in results:
        skipped = next((row for row in r["rows"] if row["tool"] == "tracesieve, all skipped"), None)
        plain = row_of(r, "python")
        # Below 0.1 s of work, start-up noise outweighs the work itself.
        if skipped and plain["median_s"] - plain["startup_s"] >= 0.1:
            skips.append(f"{r['workload']} {skipped['work_ratio']:.2f}× ({'met' if skipped['work_ratio'] <= 1.10 else 'missed'})")
    if skips:
        lines.append("* Fully skipped code, as a multiple of plain Python's work with start-up aside, on the workloads "
                     f"with at least 0.1 s of work (target within 10 %): {', '.join(skips)}.")
    for name in ("mixed", "library"):
        if name in by and "failed" not in row_of(by[name], "codetracer 0.3.0"):
            ts = row_of(by[name], "tracesieve --values all")
            ct = row_of(by[name], "codetracer 0.3.0")
            speed = ct["us_per_call"] / ts["us_per_call"] if ts["us_per_call"] > 0 else float("inf")
            smaller = (ct["size"] or 0) / ts["size"] if ts["size"] else float("inf")
            lines.append(f"* `--values all` on {name}: {speed:.1f}× faster per call than CodeTracer's recorder "
                         f"(target ≥ 20×: {'met' if speed >= 20 else 'missed'}), traces {smaller:.1f}× smaller "
                         f"(target ≥ 10×: {'met' if smaller >= 10 else 'missed'}).")
    return lines


def markdown_table(results, repeat):
    lines = [
        START,
        f"Measured {time.strftime('%Y-%m-%d')} on CPython {platform.python_version()} ({platform.machine()}, "
        f"{os.cpu_count()} CPUs), median of {repeat} runs each (one run of CodeTracer's recorder), whole-process wall time. "
        "tracesieve is the release build `scripts/setup.sh` installs into `.venv` (the README's; overhead.py refuses a debug build).",
        "",
    ]
    for result in results:
        lines += [
            f"**{result['workload']}** ({result['calls']:,} Python calls, {result.get('lines', 0):,} line events)",
            "",
            "| tool | wall time | × plain | start-up | work × plain | µs per call | ns per line event | trace size |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for row in result["rows"]:
            if "failed" in row:
                lines.append(f"| {row['tool']} | failed: {row['failed']} | | | | | | |")
                continue
            per_call = "–" if row["tool"] == "python" else f"{row['us_per_call']:.2f}"
            per_line = "–" if row["tool"] == "python" or "ns_per_line" not in row else f"{row['ns_per_line']:.0f}"
            capped = ">" if row["median_s"] >= RUN_LIMIT_S else ""
            lines.append(
                f"| {row['tool']} | {capped}{row['median_s']:.3f} s | {row['ratio']:.2f} | {row['startup_s'] * 1000:.0f} ms "
                f"| {row['work_ratio']:.2f} | {per_call} | {per_line} | {human_size(row['size'])} |"
            )
        lines.append("")
    lines += verdicts(results)
    lines.append(END)
    return "\n".join(lines)


def interpreter_record(results, repeat, tools, missing, notes):
    """What --interpreter-json saves: the results with the interpreter that
    produced them, for --side-by-side."""
    import sysconfig

    return {
        "python": platform.python_version(),
        "version": sys.version.replace("\n", " "),
        "config_args": sysconfig.get_config_var("CONFIG_ARGS") or "",
        "executable": sys.executable,
        "date": time.strftime("%Y-%m-%d"),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "repeat": repeat,
        "tools": [label for label in TOOL_KEYS if tools is None or TOOL_KEYS[label] in tools],
        "missing": missing,
        "notes": notes,
        "results": results,
    }


def version_key(record):
    return tuple(int(part) for part in re.findall(r"\d+", record["python"])[:3])


def build_of(record):
    """Where the interpreter comes from and how it was built, in a few words."""
    args = record["config_args"]
    where = "pyenv" if ".pyenv/" in args else ("Debian sid" if "--prefix=/usr" in args else "")
    flags = [flag for flag in ("--enable-optimizations", "--with-lto", "--enable-experimental-jit", "--disable-gil") if flag in args]
    jit = re.search(r"--enable-experimental-jit(=[\w-]+)?", args)
    if jit:
        flags = [f for f in flags if f != "--enable-experimental-jit"] + [jit.group(0)]
    described = ", ".join(f"`{flag}`" for flag in flags) if flags else "no `--enable-optimizations` / `--with-lto`"
    return f"{where}; {described}" if where else described


def cell(row, per):
    """One tool on one interpreter: wall time, × plain and the per-event cost."""
    if row is None:
        return "–"
    if "failed" in row:
        return f"failed: {row['failed']}"
    capped = ">" if row["median_s"] >= RUN_LIMIT_S else ""
    if row["tool"] == "python":
        return f"{capped}{row['median_s']:.3f} s"
    cost = f"{row['us_per_call']:.2f} µs" if per == "call" else f"{row['ns_per_line']:.0f} ns"
    return f"{capped}{row['median_s']:.3f} s · {row['ratio']:.2f}× · {cost}"


def side_by_side_table(records):
    """The interpreter-overhead section: one table per workload, a row per
    interpreter, a column per tool."""
    records = sorted(records, key=version_key)
    labels = [label for label in TOOL_KEYS if any(label in r["tools"] or label in r["missing"] for r in records)]
    repeats = sorted({r["repeat"] for r in records})
    dates = sorted({r["date"] for r in records})
    lines = [
        INTERPRETERS_START,
        f"Measured {' to '.join(dict.fromkeys([dates[0], dates[-1]]))} with `scripts/bench-interpreters.sh` on "
        f"{records[0]['machine']} ({records[0]['cpus']} CPUs), median of {'/'.join(map(str, repeats))} runs each, "
        "whole-process wall time. tracesieve is the release build `scripts/setup.sh` installs for each interpreter "
        "(overhead.py refuses a debug build).",
        "",
        "| interpreter | from, configured with | measured | notes |",
        "|---|---|---|---|",
    ]
    notes = []
    for r in records:
        refs = []
        for label, reason in r["missing"].items():
            notes.append(f"{label} on {r['python']}: {reason}")
            refs.append(f"{label} not measured [{len(notes)}]")
        for note in r.get("notes", []):
            notes.append(f"{r['python']}: {note}")
            refs.append(f"[{len(notes)}]")
        lines.append(f"| CPython {r['python']} | {build_of(r)} | {r['date']} | {', '.join(refs) or '–'} |")
    lines.append("")
    lines += [
        "Start-up (the empty workload `noop`, taken out of the per-call and per-line figures):",
        "",
        "| interpreter | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    for r in records:
        first = r["results"][0]["rows"] if r["results"] else []
        startup = {row["tool"]: row.get("startup_s") for row in first}
        lines.append(f"| {r['python']} | " + " | ".join(
            "not installed" if label in r["missing"] else
            (f"{startup[label] * 1000:.0f} ms" if startup.get(label) is not None else "–") for label in labels) + " |")
    lines.append("")
    workloads = list(dict.fromkeys(res["workload"] for r in records for res in r["results"]))
    for workload in workloads:
        per = "line" if workload == "lines" else "call"
        by = {r["python"]: next((res for res in r["results"] if res["workload"] == workload), None) for r in records}
        calls = sorted({res["calls"] for res in by.values() if res})
        events = sorted({res["lines"] for res in by.values() if res})
        span = lambda values: f"{values[0]:,}" if len(values) == 1 else f"{values[0]:,}–{values[-1]:,}"
        counted = f"{span(calls)} Python call{'' if calls == [1] else 's'}, {span(events)} line events"
        if len(calls) > 1 or len(events) > 1:
            counted += ", depending on the interpreter"
        if workload in TRACESIEVE_ONLY:
            counted += "; tracesieve and the no-op callback only, as above"
        unit = "ns per line event" if per == "line" else "µs per call"
        lines += [
            f"**{workload}** ({counted}): wall time · × plain · {unit}",
            "",
            "| interpreter | " + " | ".join(labels) + " |",
            "|---|" + "---|" * len(labels),
        ]
        for r in records:
            res = by[r["python"]]
            if res is None:
                continue
            cells = []
            for label in labels:
                row = next((row for row in res["rows"] if row["tool"] == label), None)
                if row is None:
                    cells.append("not installed" if label in r["missing"] else "not run")
                else:
                    cells.append(cell(row, per))
            lines.append(f"| {r['python']} | " + " | ".join(cells) + " |")
        lines.append("")
    lines += [f"[{i}] {note}" + ("" if i == len(notes) else "  ") for i, note in enumerate(notes, 1)]
    if not notes:
        lines.pop()
    lines.append(INTERPRETERS_END)
    return "\n".join(lines)


def update(path, table, start=START, end=END):
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    if start in text and end in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: table, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + table + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workloads", default="fib,mixed,library,lines,fib30")
    parser.add_argument("--tools", help="comma-separated configurations to measure, of: " + ", ".join(TOOL_KEYS.values())
                        + " (default: all; python is always measured)")
    parser.add_argument("--update", metavar="MARKDOWN", help="replace the recorder-overhead section of this file "
                        "(with --side-by-side, the interpreter-overhead section)")
    parser.add_argument("--json", metavar="FILE", help="also write the raw results as JSON")
    parser.add_argument("--from-json", metavar="FILE", help="render results saved with --json instead of measuring")
    parser.add_argument("--interpreter-json", metavar="FILE",
                        help="measure, and write the results with this interpreter's version and build, for --side-by-side")
    parser.add_argument("--missing", metavar="TOOL=REASON", action="append", default=[],
                        help="with --interpreter-json: a tool (its --tools name) that could not be measured here, and why")
    parser.add_argument("--note", metavar="TEXT", action="append", default=[],
                        help="with --interpreter-json: a remark on this interpreter's figures, shown under the tables")
    parser.add_argument("--side-by-side", metavar="FILE", nargs="+",
                        help="render files written by --interpreter-json as one table per workload, an interpreter a row")
    args = parser.parse_args()
    if args.side_by_side:
        records = []
        for name in args.side_by_side:
            with open(name) as f:
                records.append(json.load(f))
        table = side_by_side_table(records)
        print(table)
        if args.update:
            update(args.update, table, INTERPRETERS_START, INTERPRETERS_END)
        return
    tools = None
    if args.tools:
        tools = {"python", *args.tools.split(",")}
        unknown = tools - set(TOOL_KEYS.values())
        if unknown:
            parser.error(f"unknown --tools {', '.join(sorted(unknown))}; known: {', '.join(TOOL_KEYS.values())}")
    if tools is not None and not args.interpreter_json:
        parser.error("--tools goes with --interpreter-json (the recorder-overhead section needs every configuration)")
    if args.from_json:
        with open(args.from_json) as f:
            results = json.load(f)
    else:
        require_release_build()
        results = measure(args.workloads.split(","), args.repeat, tools)
    if args.interpreter_json:
        labels = {key: label for label, key in TOOL_KEYS.items()}
        missing = {labels[key]: reason for key, _, reason in (m.partition("=") for m in args.missing)}
        with open(args.interpreter_json, "w") as f:
            json.dump(interpreter_record(results, args.repeat, tools, missing, args.note), f, indent=2)
        return
    table = markdown_table(results, args.repeat)
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    if args.update:
        update(args.update, table)


if __name__ == "__main__":
    main()
