"""Swaps in its own trace function for a while and puts the previous one
back, as debuggers and coverage tools do: recording goes on after."""
import sys


def before():
    return 1


def during():
    return 2


def after():
    return 3


seen = []


def own_tracer(frame, event, arg):
    seen.append(event)


before()
previous = sys.gettrace()
sys.settrace(own_tracer)
during()
sys.settrace(previous)
after()
print("own tracer saw calls:", "call" in seen)
