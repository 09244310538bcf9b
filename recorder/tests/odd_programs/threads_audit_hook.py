"""Threads started all at once while an audit hook written in Python runs
on every `sys.settrace` and the GIL changes hands every microsecond, as
under CPython's `python -m test` (test_functools.test_lru_cache_threaded).
On 3.11 one thread at a time may install a trace function, process-wide:
a tracer that makes new threads install one where `threading` starts them
(`threading.settrace`) kills some of them at start."""

import sys
import threading

sys.addaudithook(lambda event, args: None)
sys.setswitchinterval(1e-6)

finished = []


def work(n):
    finished.append(sum(range(n)))


for _round in range(40):
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
print("threads finished:", len(finished))
