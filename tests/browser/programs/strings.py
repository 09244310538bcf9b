"""Many small calls with a string local (``label``, 7-9 bytes) and an int
local (``size``): 7 events per iteration. N iterations (first argument,
default 6000); the labels repeat every M iterations (second argument,
default 1000: M distinct texts to redact by value).

The string local is not called ``token``: the built-in default recording
filter redacts locals whose names look like secrets (``.*token.*``), so a
``local:token`` edit in the viewer would redact nothing the recording kept."""

import sys


MOD = int(sys.argv[2]) if len(sys.argv) > 2 else 1000


def work(i):
    label = "label-" + str(i % MOD)
    size = len(label)
    return size


def run(count):
    total = 0
    for i in range(count):
        total += work(i)
    return total


print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 6000))
