"""Reading a frame's locals to record them leaves no trace the program can
see: on 3.11 and 3.12 the read fills the frame's `f_locals` dict, which the
recorder lets go of when the frame exits (CPython's test_gc.test_frame and
test_frame.ClearTest check the same)."""

import gc
import sys


def makes_a_cycle():
    frame = sys._getframe()
    return None


def keeps_its_locals():
    x = 1
    return locals()


def reads_its_frame_later():
    y = [2]
    return sys._getframe()


gc.disable()
gc.collect()
makes_a_cycle()
# Only the frame, which refers to itself through `frame`.
print("collected", gc.collect())
# The dict the program holds is the program's, as it left it.
print("locals", sorted(keeps_its_locals().items()))
print("f_locals after exit", reads_its_frame_later().f_locals)
