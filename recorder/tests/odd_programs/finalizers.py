"""Objects die when they would under plain Python: reading a frame's locals
keeps nothing alive (3.11 and 3.12 keep a copy of a function's locals on its
frame object once they are read, which an exception caught on the
function's last line would otherwise tie into a cycle only the garbage
collector breaks). Each __del__ prints, so the order shows any difference."""
import asyncio


class Noisy:
    def __init__(self, name):
        self.name = name

    def __del__(self):
        print("deleted", self.name, flush=True)


def catches():
    item = Noisy("a local of a frame whose exception was caught")
    try:
        raise ValueError(item.name)
    except ValueError as error:
        print("caught", type(error).__name__)


catches()
print("after catches")


def deletes_on_its_last_line():
    item = Noisy("deleted on the last line")
    del item


deletes_on_its_last_line()
print("after the last-line del")


def generator():
    item = Noisy("a generator's local, deleted before it yields")
    yield 1
    del item
    yield 2


steps = generator()
next(steps)
next(steps)
print("after the generator's del")


class Loop(asyncio.SelectorEventLoop):
    def __del__(self):
        print("deleted the event loop", flush=True)
        super().__del__()


async def fetch(x):
    return x + 1


with asyncio.Runner(loop_factory=Loop) as runner:
    print(runner.run(fetch(41)))
print("after the runner")
