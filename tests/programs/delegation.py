"""Values handed back through `yield from` and `await`-like delegation, and
StopIteration in its various roles: a generator returning a value to the
generator delegating to it, an iterator class raising StopIteration, a
`for` loop over a generator that returns a value."""


def produce():
    yield 1
    return 5


def produce_nothing():
    yield 2


class Countdown:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == 0:
            raise StopIteration(9)
        self.n -= 1
        return self.n


def delegate():
    first = yield from produce()
    second = yield from produce_nothing()
    third = yield from Countdown(2)
    return (first, second, third)


def loops():
    total = 0
    for x in produce():
        total += x
    for y in Countdown(3):
        total += y
    return total


print(list(delegate()), loops())
gen = delegate()
next(gen)
print(gen.send("ignored"))
