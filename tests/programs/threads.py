"""Work on two threads, joined in order so the output is deterministic."""

import threading

results = {}


def work(name, n):
    total = 0
    for i in range(n):
        total += i
    results[name] = total


first = threading.Thread(target=work, args=("first", 5), name="worker-1")
first.start()
first.join()
second = threading.Thread(target=work, args=("second", 7), name="worker-2")
second.start()
second.join()
print(sorted(results.items()))
