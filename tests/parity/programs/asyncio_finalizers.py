"""asyncio.run, and objects whose __del__ shows when they die: a local of a
function that caught an exception on its last line, and an event loop.
Reading a frame's locals (3.11, 3.12 keep a copy on the frame) once made
them die later under the recorder, at a moment that depended on which code
the filter traced, so record(P, F) and refilter(record(P, permissive), F)
saw different code run while recording (issue "one decision path")."""

import asyncio


class Noisy:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        print("deleted", self.name)


def catches(name):
    item = Noisy(name)
    try:
        raise ValueError(item.name)
    except ValueError as error:
        print("caught", type(error).__name__)


async def fetch(x):
    catches("in a coroutine")
    return x + 1


catches("at the top")
print(asyncio.run(fetch(41)))
print("done")
