"""What a script can see of how it was started: compared between plain
Python and `tracesieve record` by test_behaves_as_python.py."""
import inspect
import os
import sys
import warnings

print("builtins", type(__builtins__).__name__, __builtins__ is __import__("builtins").__dict__ or __builtins__ is __import__("builtins"))
print("package", repr(__package__))
print("loader", type(__loader__).__name__)
print("spec", repr(__spec__))
print("file", __file__ == sys.argv[0])
print("argv", sys.argv)
print("orig_argv tail", sys.orig_argv[1:])
print("path0", sys.path[0] == os.path.dirname(os.path.abspath(__file__)))
print("stack", len(inspect.stack()))
print("environment", sorted(k for k in os.environ if k.startswith("TRACESIEVE")))
__builtins__.print("via __builtins__.print")


def deeper(n):
    try:
        return deeper(n + 1)
    except RecursionError:
        return n


print("recursion limit reached at", deeper(0))
warnings.warn("top-level warning", stacklevel=2)
warnings.warn("own warning")
