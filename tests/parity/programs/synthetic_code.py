"""Code with synthetic file names (`<string>`), which is never recorded:
functions compiled from a string call real functions and are called by
them, and a string is run with exec() in this module's globals (so its
module body runs as `__main__` too)."""


def real_helper(x):
    doubled = x * 2
    return doubled


SOURCE = """
def generated(n):
    return real_helper(n) + 1

result = generated(20)
"""

namespace = {"real_helper": real_helper, "__name__": "generated_mod"}
exec(compile(SOURCE, "<string>", "exec"), namespace)


def call_generated(n):
    return namespace["generated"](n)


exec(compile("twice = real_helper(21)", "<string>", "exec"), globals())
square = eval(compile("lambda v: real_helper(v) * v", "<string>", "eval"))
print(namespace["result"], call_generated(3), twice, square(4))  # noqa: F821
