"""Loaded by syspath_layout.py from its file as `plugins.greeter`."""

GREETING = "hi"


def greet(name):
    return f"{GREETING} {name}"
