"""os._exit skips every exit handler; the trace still ends with its status."""
import os
import sys


def work():
    return sum(range(10))


print(work())
sys.stdout.flush()
os._exit(5)
