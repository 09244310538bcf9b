"""A local int of more than 4,300 digits, which str() refuses: recording it
must not call the program's unraisable hook nor print anything."""
import sys


def hook(unraisable):
    print("UNRAISABLE", unraisable.exc_type.__name__)


sys.unraisablehook = hook


def f():
    big = 10**5000
    negative = -(7**9000)
    huge = 1 << 100_000
    a = 1
    b = 2
    return a + b


print(f())
