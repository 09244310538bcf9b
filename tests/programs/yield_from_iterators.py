"""`yield from` and `await` over iterators that are not generators, where
the StopIteration ending each one is reported as a raise in the delegating
frame at the `yield from` (CPython 3.15 reports none there; the recorder
writes the same events as on 3.11 to 3.14): an iterator class whose
__next__ raises StopIteration with a value, directly or from a function it
calls, a StopIteration subclass, an iterator answering send(), and an
awaitable whose __await__ returns an iterator class. A C iterator (iter of
a list) and itertools.chain over an iterator class raise nothing at the
`yield from`: chain takes the StopIteration itself and goes on."""

import itertools


class Finished(StopIteration):
    pass


def stop(value):
    raise StopIteration(value)


class Countdown:
    def __init__(self, n, how="raise"):
        self.n = n
        self.how = how

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == 0:
            if self.how == "call":
                stop("called")
            if self.how == "subclass":
                raise Finished("subclass")
            raise StopIteration("raised")
        self.n -= 1
        return self.n


class Echo:
    """Answers send(value) with the value doubled; done after three."""

    def __init__(self):
        self.count = 0

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(0)

    def send(self, value):
        self.count += 1
        if self.count > 3:
            raise StopIteration("echo done")
        return value * 2


class Ready:
    def __await__(self):
        return Countdown(1)


def delegate():
    a = yield from Countdown(2)
    b = yield from Countdown(1, "call")
    c = yield from Countdown(1, "subclass")
    d = yield from iter([10, 11])
    e = yield from itertools.chain(Countdown(1), [20])
    return [a, b, c, d, e]


def echoing():
    result = yield from Echo()
    return result


async def waiter():
    value = await Ready()
    return value


def drive(gen, send):
    out = []
    try:
        value = gen.send(None)
        while True:
            out.append(value)
            value = gen.send(len(out) if send else None)
    except StopIteration as done:
        return out, done.value


print(drive(delegate(), send=False))
print(drive(echoing(), send=True))
print(drive(waiter(), send=False))
