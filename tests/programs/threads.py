"""Work on two threads, joined in order so the output is deterministic.

The Thread objects are never bound to a variable of recorded code: their
attributes (ident, native id, and fields that differ between Python
versions) would make the recorded values differ from run to run and from
one interpreter to another. Only their bound methods are kept, and those
are recorded by name.
"""

import operator
import threading

results = {}


def work(name, n):
    total = 0
    for i in range(n):
        total += i
    results[name] = total


def run_worker(label, name, n):
    start, join = operator.attrgetter("start", "join")(threading.Thread(target=work, args=(name, n), name=label))
    # On one line, so the main thread records no event while the worker
    # runs, and the order of events in the trace does not depend on how the
    # two threads are scheduled.
    start(); join()  # noqa: E702


run_worker("worker-1", "first", 5)
run_worker("worker-2", "second", 7)
print(sorted(results.items()))
