"""Captures its own stderr in a StringIO while running: whatever the
recorder has to say goes to the process's stderr, not into the program's
data."""
import io
import sys


def work(n):
    total = 0
    for i in range(n):
        total += i
    return total


captured = io.StringIO()
sys.stderr = captured
print(work(200))
sys.stderr = sys.__stderr__
print("captured", repr(captured.getvalue()))
