"""User callbacks called from skipped standard-library frames (json's
default, functools.reduce, a textwrap-built string), and a pure-Python
standard-library module (colorsys) that the built-in filter skips, so that
a filter tracing it again needs what the permissive recording never saw."""

import colorsys
import functools
import json


class Money:
    def __init__(self, cents):
        self.cents = cents


def encode(value):
    if isinstance(value, Money):
        return {"cents": value.cents}
    raise TypeError(type(value).__name__)


def add(total, item):
    return total + item


text = json.dumps({"price": Money(250), "tax": Money(20)}, default=encode, sort_keys=True)
total = functools.reduce(add, [1, 2, 3, 4], 0)
hue = colorsys.rgb_to_hsv(0.2, 0.4, 0.4)
print(text, total, [round(c, 3) for c in hue])
