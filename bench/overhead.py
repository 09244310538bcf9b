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


def measure(workloads, repeat):
    results = []
    with tempfile.TemporaryDirectory(prefix="tracesieve-bench-") as out:
        startup = {}
        for label, argv, trace in configurations(out):
            startup[label] = statistics.median([run_once(argv, "noop", trace) for _ in range(repeat)])
            print(f"{'noop':8} {label:26} {startup[label]:8.3f} s", file=sys.stderr)
        for workload in workloads:
            calls, lines = count_of("calls", workload), count_of("lines", workload)
            rows = []
            for label, argv, trace in configurations(out):
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


def update(path, table):
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: table, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + table + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workloads", default="fib,mixed,library,lines,fib30")
    parser.add_argument("--update", metavar="MARKDOWN", help="replace the recorder-overhead section of this file")
    parser.add_argument("--json", metavar="FILE", help="also write the raw results as JSON")
    parser.add_argument("--from-json", metavar="FILE", help="render results saved with --json instead of measuring")
    args = parser.parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            results = json.load(f)
    else:
        require_release_build()
        results = measure(args.workloads.split(","), args.repeat)
    table = markdown_table(results, args.repeat)
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    if args.update:
        update(args.update, table)


if __name__ == "__main__":
    main()
