"""Coroutines driven by hand, without asyncio (which the built-in filter skips)."""


class Ready:
    def __await__(self):
        yield "tick"
        return 7


async def child(x):
    value = await Ready()
    return x + value


async def parent():
    a = await child(1)
    b = await child(2)
    return a * b


def run(coroutine):
    try:
        while True:
            coroutine.send(None)
    except StopIteration as done:
        return done.value


print(run(parent()))
