"""Recording a multi-process program (issue "multi-process programs"): a
`multiprocessing` pool of 4 workers mapping a small pure-Python function
over 4,000 items, run plainly, under `tracesieve record` (every process
recorded: the program and each worker into TRACE.d/), with `--values none`,
with `--no-children` (the program alone), and under VizTracer (which
follows multiprocessing into one JSON file). Each configuration runs
--repeat times; the median wall time counts.

    .venv-bench/bin/python bench/pool.py [--repeat N] [--method fork|spawn|forkserver] [--tasks N]

Prints a Markdown table; scripts/bench.sh prepares .venv-bench (the
README's release build of tracesieve and the peer tools).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PROGRAM = """\
import multiprocessing as mp
import sys


def score(n):
    total = 0
    for i in range(40):
        total += (n * i) % 7
    return total


if __name__ == "__main__":
    with mp.get_context(sys.argv[1]).Pool(4) as pool:
        print(sum(pool.map(score, range(int(sys.argv[2])), chunksize=50)))
"""


def configurations(out: str) -> list:
    py = sys.executable
    trace = os.path.join(out, "pool.tsieve")
    return [
        ("python", [py], []),
        ("tracesieve record (every process)", [py, "-m", "tracesieve", "record", "-q", "-o", trace], [trace]),
        ("tracesieve record --values none", [py, "-m", "tracesieve", "record", "-q", "--values", "none", "-o", trace], [trace]),
        ("tracesieve record --no-children", [py, "-m", "tracesieve", "record", "-q", "--no-children", "-o", trace], [trace]),
        ("viztracer 1.1.1", [py, "-m", "viztracer", "--quiet", "-o", os.path.join(out, "viz.json")], [os.path.join(out, "viz.json")]),
    ]


def size_of(paths: list) -> int:
    """Bytes of the outputs: each file, and a trace set's .d folder."""
    total = 0
    for path in paths:
        for candidate in (path, path + ".d"):
            if os.path.isfile(candidate):
                total += os.path.getsize(candidate)
            elif os.path.isdir(candidate):
                total += sum(os.path.getsize(os.path.join(candidate, f)) for f in os.listdir(candidate))
    return total


def clear(paths: list) -> None:
    for path in paths:
        for candidate in (path, path + ".d"):
            if os.path.isdir(candidate):
                shutil.rmtree(candidate)
            elif os.path.exists(candidate):
                os.unlink(candidate)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--method", default="fork", choices=["fork", "spawn", "forkserver"])
    parser.add_argument("--tasks", type=int, default=40000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        program = os.path.join(out, "pool_program.py")
        with open(program, "w", encoding="utf-8") as f:
            f.write(PROGRAM)
        rows = []
        for label, command, outputs in configurations(out):
            times, size, failed = [], 0, None
            for _ in range(args.repeat):
                clear(outputs)
                start = time.perf_counter()
                done = subprocess.run([*command, program, args.method, str(args.tasks)], capture_output=True, text=True)
                times.append(time.perf_counter() - start)
                if done.returncode != 0:
                    failed = f"failed: exit status {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"
                    break
                size = size_of(outputs)
            rows.append((label, statistics.median(times), size, failed))
        plain = rows[0][1]
        print(f"Pool of 4 ({args.method} start method), {args.tasks:,} tasks; median of {args.repeat} runs; Python {sys.version.split()[0]}\n")
        print("| run | wall time | × plain | output |")
        print("|---|---|---|---|")
        for label, seconds, size, failed in rows:
            if failed:
                print(f"| {label} | {failed} | | |")
            else:
                output = f"{size / 1e6:.1f} MB" if size else "–"
                print(f"| {label} | {seconds:.2f} s | {seconds / plain:.1f} | {output} |")


if __name__ == "__main__":
    main()
