"""Ends with an uncaught exception: exit status 1 and a traceback on stderr."""


def fail(depth):
    if depth == 0:
        raise ValueError("deliberate failure")
    fail(depth - 1)


print("before")
fail(2)
