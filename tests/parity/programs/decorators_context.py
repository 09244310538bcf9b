"""Decorators (a wrapper taking *args and **kwargs, functools.wraps from
the skipped standard library), context managers (a class whose __exit__
swallows an exception, a contextlib.contextmanager generator driven by
skipped standard-library frames), properties, static and class methods,
lambdas, comprehensions and a generator expression, and user callbacks
called from C (sorted's key)."""

import contextlib
import functools

calls = []


def logged(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        calls.append(function.__name__)
        result = function(*args, **kwargs)
        return result

    return wrapper


@logged
def area(width, height=1):
    return width * height


class Temperature:
    unit = "C"

    def __init__(self, degrees):
        self._degrees = degrees

    @property
    def fahrenheit(self):
        return self._degrees * 9 / 5 + 32

    @staticmethod
    def freezing():
        return Temperature(0)

    @classmethod
    def boiling(cls):
        return cls(100)


class Suppress:
    def __init__(self, kind):
        self.kind = kind
        self.seen = None

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        self.seen = kind.__name__ if kind else None
        return kind is not None and issubclass(kind, self.kind)


@contextlib.contextmanager
def tagged(tag):
    calls.append("enter " + tag)
    try:
        yield tag.upper()
    finally:
        calls.append("exit " + tag)


print(area(3, height=4), area(5))
temps = [Temperature(d) for d in (30, 10, 20)]
ordered = sorted(temps, key=lambda t: t.fahrenheit)
print([t.fahrenheit for t in ordered], Temperature.freezing().fahrenheit, Temperature.boiling().fahrenheit)
with Suppress(ZeroDivisionError) as guard:
    1 / 0
with tagged("block") as label:
    squares = {n: n * n for n in range(4)}
    evens = sum(n for n in squares.values() if n % 2 == 0)
print(guard.seen, label, squares, evens, calls)
