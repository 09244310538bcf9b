"""A secret that leaves its name (issue 13, redaction by value): held once
under a secret-looking name, then copied into an exception message, a
KeyError, `str(e)`, an f-string, a derived local, a generator's and an async
generator's yields, a keyword argument and a dict value under a plain key.
With the built-in filter each copy is redacted by value, in the recording
and in a re-filter of the permissive recording alike."""

import asyncio


def make_password():
    return "".join(chr(ord("k") + i % 7) for i in range(10))


def check(user, password):
    if user != "root":
        raise ValueError("bad password for " + user + ": " + password)


def lookup(table, key):
    return table[key]


def echo(word):
    yield word
    yield word.upper()


async def stream(word):
    for piece in (word, word[::-1]):
        yield piece


async def collect(word):
    return [piece async for piece in stream(word)]


def send(**fields):
    return len(fields)


password = make_password()
try:
    check("ada", password)
except ValueError as error:
    message = str(error)
try:
    lookup({}, password)
except KeyError as missing:
    gone = missing.args
greeting = f"hello {password}!"
copy = password[:]
words = list(echo(copy))
pieces = asyncio.run(collect(copy))
sent = send(note=copy, user="ada")
record = {"note": copy, "user": "ada"}
print(len(message), len(gone), len(greeting), len(words), len(pieces), sent, len(record))
