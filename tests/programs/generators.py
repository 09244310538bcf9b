"""Generators: yield, send, throw, close, yield from."""


def countdown(n):
    while n > 0:
        received = yield n
        if received:
            n = received
        n -= 1


def inner():
    yield 1
    yield 2


def outer():
    yield from inner()
    yield 3


def guarded():
    try:
        yield "ready"
    except ValueError as error:
        yield f"caught {error}"


print(list(countdown(3)))
gen = countdown(10)
next(gen)
print(gen.send(3))
print(list(outer()))
g = guarded()
next(g)
print(g.throw(ValueError("boom")))
g.close()
