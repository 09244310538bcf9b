"""Runs until killed; prints a line once it is well under way."""

import sys


def step(i):
    return i * 2


i = 0
while True:
    step(i)
    i += 1
    if i == 20000:
        print("running", flush=True)
        sys.stdout.flush()
