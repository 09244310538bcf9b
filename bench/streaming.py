"""The streaming benchmark: each trace command of the CLI on one large
synthetic trace, with its wall time and peak resident memory.

Run through scripts/bench-streaming.sh, which writes the trace
(engine/examples/synth_trace.rs) and the re-filter filter, then calls this
with the interpreter of the CLI's virtualenv. Each command runs once, as a
whole process, under `/usr/bin/time -f '%e %M'` (wall seconds, peak RSS in
KiB); without /usr/bin/time, the process's own rusage from wait4() is used.
Outputs are written into --work and deleted as soon as they are measured, so
only one is on disk at a time. With --calibrate, the commands first run on a
small trace of the same program to estimate the largest output, and the run
stops before measuring anything if the disk cannot hold it. --update
rewrites the streaming section of a Markdown file only when every command
succeeded on a release build.

Targets (issue "traces of any size"): every command within 150 MB of peak
RSS (MB = 10^6 bytes), refilter at 5 M events/s or more, JSON export at
1 M events/s or more.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import time

START, END = "<!-- streaming:start -->", "<!-- streaming:end -->"
RSS_LIMIT_MB = 150
REFILTER_RATE = 5e6
JSON_RATE = 1e6
TIME = "/usr/bin/time"
HEADING = """## Streaming: traces of any size

Every trace command of the CLI on one synthetic trace of 100 million
events, each run once as a whole process (`.venv/bin/tracesieve`, the
release build `scripts/setup.sh` installs) under `/usr/bin/time -f '%e
%M'`: wall time and peak resident set size (RSS). The trace is the
benchmarks' web-shop-like program (`engine/benches/support/trace.rs`)
written streaming by `engine/examples/synth_trace.rs`, with four threads
taking turns. Refilter uses the benchmarks' `REFILTER_FILTER` after the
built-in default. Each output is deleted once measured. Events/s is the
input trace's events over the wall time. The figures below come from:

```sh
scripts/bench-streaming.sh [EVENTS] --update BENCHMARKS.md   # EVENTS: 100000000 by default
```

Targets: each command at most 150 MB of peak RSS (MB = 10^6 bytes);
refilter at 5 M events/s or more; JSON export at 1 M events/s or more.
"""


def commands(tracesieve, trace, filter_path, work):
    """(label, argv, output path or None, rate target or None) for each
    measured command; `label` is what the table shows."""
    out = lambda name: os.path.join(work, name)  # noqa: E731
    ts = [tracesieve]
    return [
        ("info", [*ts, "info", trace], None, None),
        ("refilter", [*ts, "refilter", trace, "--filter", filter_path, "-o", out("refiltered.tsieve")],
         out("refiltered.tsieve"), REFILTER_RATE),
        ("export --format json", [*ts, "export", trace, "--format", "json", "-o", out("export.json")],
         out("export.json"), JSON_RATE),
        ("export --format json --canonical",
         [*ts, "export", trace, "--format", "json", "--canonical", "-o", out("export-canonical.json")],
         out("export-canonical.json"), JSON_RATE),
        ("export --format chrome", [*ts, "export", trace, "--format", "chrome", "-o", out("export-chrome.json")],
         out("export-chrome.json"), None),
        ("export --format speedscope",
         [*ts, "export", trace, "--format", "speedscope", "-o", out("export-speedscope.json")],
         out("export-speedscope.json"), None),
        ("export --format codetracer",
         [*ts, "export", trace, "--format", "codetracer", "-o", out("export-codetracer")],
         out("export-codetracer"), None),
    ]


def size_of(path):
    """Bytes of a file, or of every file under a folder; None if absent."""
    if path is None or not os.path.lexists(path):
        return None
    if not os.path.isdir(path):
        return os.path.getsize(path)
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.path.getsize(os.path.join(root, name))
    return total


def remove(path):
    if path is None or not os.path.lexists(path):
        return
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.remove(path)


def run_measured(argv, stdout_path, work):
    """Runs argv once; returns (exit status, wall seconds, peak RSS in bytes)."""
    with open(stdout_path, "wb") as out:
        if os.access(TIME, os.X_OK):
            times = os.path.join(work, "time.txt")
            status = subprocess.run([TIME, "-f", "%e %M", "-o", times, *argv], stdout=out).returncode
            with open(times) as f:
                # The last line: GNU time writes "Command exited with non-zero status N" first on failure.
                fields = f.read().strip().splitlines()[-1].split()
            os.remove(times)
            return status, float(fields[0]), int(fields[1]) * 1024
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out)
        _, wait_status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(wait_status)
        # Linux reports ru_maxrss in KiB.
        return proc.returncode, wall, usage.ru_maxrss * 1024


def human_bytes(n):
    if n is None:
        return "–"
    n = round(n)
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def human_rate(r):
    return f"{r / 1e6:.2f} M/s"


def free_bytes(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def calibrate(cmds_for, small_trace, small_events, events, work):
    """Runs the commands on a small trace; returns the largest output
    extrapolated to `events` events (bytes) and its label."""
    largest, which = 0, None
    for label, argv, output, _ in cmds_for(small_trace):
        remove(output)
        try:
            status = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
            size = size_of(output) if status == 0 else None
        finally:
            remove(output)
        if size is not None and size * events / small_events > largest:
            largest, which = size * events / small_events, label
    return largest, which


def machine():
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = None
    try:
        with open("/proc/meminfo") as f:
            kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
            memory = f"{kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, AttributeError):
        pass
    parts = [f"{os.cpu_count()} cores (`nproc`)"]
    if model:
        parts.append(f'"{model}"')
    if memory:
        parts.append(memory)
    return ", ".join(parts)


def native_build(python):
    """(build kind, path) of the tracesieve extension the CLI imports."""
    out = subprocess.run([python, "-c", "import tracesieve._native as n; print(n.BUILD); print(n.__file__)"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    return out[0], out[1]


def stale_sources(extension, repo):
    """Engine and recorder sources newer than the built extension."""
    built = os.path.getmtime(extension)
    newer = []
    for folder in ("engine/src", "recorder/src"):
        for root, _, files in os.walk(os.path.join(repo, folder)):
            for name in files:
                path = os.path.join(root, name)
                if name.endswith(".rs") and os.path.getmtime(path) > built:
                    newer.append(os.path.relpath(path, repo))
    return sorted(newer)


def verdicts(rows):
    """The targets, each met or missed, as Markdown bullets."""
    lines = []
    failed = [r for r in rows if r["status"] != 0]
    ok = [r for r in rows if r["status"] == 0]
    over = [r for r in ok if r["rss"] > RSS_LIMIT_MB * 1e6]
    if ok:
        worst = max(ok, key=lambda r: r["rss"])
        if over:
            names = ", ".join(f"`{r['label']}` {human_bytes(r['rss'])}" for r in over)
            lines.append(f"* Peak RSS ≤ {RSS_LIMIT_MB} MB: missed by {names}.")
        else:
            lines.append(f"* Peak RSS ≤ {RSS_LIMIT_MB} MB: met by all {len(ok)} commands measured "
                         f"(highest: `{worst['label']}`, {human_bytes(worst['rss'])}).")
    for target, name in ((REFILTER_RATE, "refilter"), (JSON_RATE, "JSON export")):
        measured = [r for r in ok if r["target"] == target]
        if not measured:
            continue
        figures = ", ".join(f"`{r['label']}` {human_rate(r['rate'])}" for r in measured)
        met = all(r["rate"] >= target for r in measured)
        lines.append(f"* {name} ≥ {target / 1e6:g} M events/s: {'met' if met else 'missed'} ({figures}).")
    for r in failed:
        lines.append(f"* `{r['label']}` failed (exit status {r['status']}): no figures.")
    return lines


def written(row):
    """The output's size, and how fast it was written (the disk may be
    what bounds a large export)."""
    size = row["output_size"]
    if size is None:
        return "–"
    return f"{human_bytes(size)} ({human_bytes(size / row['wall'])}/s)" if row["wall"] > 0 else human_bytes(size)


def table(rows):
    lines = ["| command | wall time | events/s | peak RSS | ≤ 150 MB | rate target | output (written at) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["status"] != 0:
            lines.append(f"| `tracesieve {r['label']}` | failed (exit status {r['status']}) | – | – | – | – | – |")
            continue
        rss_ok = "yes" if r["rss"] <= RSS_LIMIT_MB * 1e6 else "**no**"
        if r["target"] is None:
            rate_ok = "–"
        else:
            rate_ok = f"≥ {r['target'] / 1e6:g} M/s: " + ("yes" if r["rate"] >= r["target"] else "**no**")
        lines.append(f"| `tracesieve {r['label']}` | {r['wall']:.2f} s | {human_rate(r['rate'])} | "
                     f"{human_bytes(r['rss'])} | {rss_ok} | {rate_ok} | {written(r)} |")
    return lines


def section(rows, args, trace_size):
    today = datetime.date.today().isoformat()
    lines = [
        START,
        f"Measured {today} with `{args.invocation}` on {machine()}; "
        f"tracesieve {args.revision}, extension built `{args.build}`, Python {args.python_version}.",
        "",
        f"Trace: {args.events:,} events, {human_bytes(trace_size)} ({trace_size:,} bytes), "
        f"{args.threads} threads, written by `{args.generator}`"
        + (f" in {args.generated}" if args.generated else "") + ".",
        "",
        *table(rows),
        "",
        *verdicts(rows),
        END,
    ]
    return "\n".join(lines)


def update(path, text):
    old = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    if START in old and END in old:
        new = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: text, old, flags=re.S)
    else:
        new = old.rstrip() + "\n\n" + HEADING + "\n" + text + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(new)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracesieve", required=True, help="the tracesieve command")
    parser.add_argument("--trace", required=True)
    parser.add_argument("--events", required=True, type=int, help="events in the trace")
    parser.add_argument("--threads", type=int, default=4, help="threads in the trace (for the report)")
    parser.add_argument("--filter", required=True, help="the filter refilter uses")
    parser.add_argument("--work", required=True, help="folder for the outputs (each deleted once measured)")
    parser.add_argument("--calibrate", nargs=2, metavar=("TRACE", "EVENTS"),
                        help="a small trace of the same program, to estimate the disk the outputs need")
    parser.add_argument("--update", metavar="MARKDOWN", help="replace the streaming section of this file")
    parser.add_argument("--invocation", default="scripts/bench-streaming.sh", help="the command, for the report")
    parser.add_argument("--generator", default="engine/examples/synth_trace.rs")
    parser.add_argument("--generated", default="", help="how long writing the trace took (\"12.7 s (7.87 M events/s)\"), for the report")
    parser.add_argument("--repo", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = parser.parse_args()

    os.makedirs(args.work, exist_ok=True)
    python = os.path.join(os.path.dirname(args.tracesieve), "python")
    args.build, extension = native_build(python)
    args.python_version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                                         capture_output=True, text=True, check=True).stdout.strip()
    args.revision = subprocess.run(["git", "-C", args.repo, "describe", "--always", "--dirty"],
                                   capture_output=True, text=True).stdout.strip() or "(unknown revision)"
    warnings = []
    if args.build != "release":
        warnings.append(f"{extension} is a {args.build} build: the figures say nothing about the release build")
    stale = stale_sources(extension, args.repo)
    if stale:
        shown = ", ".join(stale[:5]) + (f" and {len(stale) - 5} more" if len(stale) > 5 else "")
        warnings.append(f"{len(stale)} sources are newer than {os.path.relpath(extension, args.repo)} "
                        f"({shown}): run scripts/setup.sh main (or this script without --no-setup) to rebuild it")
    for w in warnings:
        print(f"streaming.py: warning: {w}", file=sys.stderr)

    def cmds_for(trace):
        return commands(args.tracesieve, trace, args.filter, args.work)

    for _, _, output, _ in cmds_for(args.trace):
        remove(output)  # left over from an interrupted run
    free = free_bytes(args.work)
    if args.calibrate:
        small_trace, small_events = args.calibrate[0], int(args.calibrate[1])
        print(f"estimating the outputs' sizes on {small_events:,} events ...", file=sys.stderr)
        need, which = calibrate(cmds_for, small_trace, small_events, args.events, args.work)
        print(f"largest output: about {human_bytes(need)} ({which}); {human_bytes(free)} free", file=sys.stderr)
        if need * 1.2 > free:
            sys.exit(f"streaming.py: not enough disk space under {args.work}: the largest output ({which}) "
                     f"needs about {human_bytes(need)}, {human_bytes(free)} free")

    trace_size = os.path.getsize(args.trace)
    rows = []
    for label, argv, output, target in cmds_for(args.trace):
        print(f"\n--- tracesieve {label}", file=sys.stderr)
        stdout_path = os.path.join(args.work, "stdout.txt")
        try:
            status, wall, rss = run_measured(argv, stdout_path, args.work)
            output_size = size_of(output)
        finally:
            remove(output)
        with open(stdout_path, encoding="utf-8", errors="replace") as f:
            printed = f.read().splitlines()
        os.remove(stdout_path)
        for line in printed[:40]:
            print(f"    {line}", file=sys.stderr)
        if len(printed) > 40:
            print(f"    … ({len(printed) - 40} more lines)", file=sys.stderr)
        rate = args.events / wall if wall > 0 else float("inf")
        print(f"exit status {status}, {wall:.2f} s, {human_rate(rate)}, peak RSS {human_bytes(rss)}, "
              f"output {human_bytes(output_size)}", file=sys.stderr)
        rows.append({"label": label, "status": status, "wall": wall, "rss": rss, "rate": rate,
                     "target": target, "output_size": output_size})

    text = section(rows, args, trace_size)
    print()
    print(text)
    for w in warnings:
        print(f"\nwarning: {w}")
    failed = [r["label"] for r in rows if r["status"] != 0]
    if args.update:
        if failed:
            print(f"\nnot updating {args.update}: {len(failed)} commands failed ({', '.join(failed)})")
        elif args.build != "release":
            print(f"\nnot updating {args.update}: the extension is a {args.build} build")
        else:
            update(args.update, text)
            print(f"\nupdated the streaming section of {args.update}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
