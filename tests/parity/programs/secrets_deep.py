"""Secrets nested in containers and objects, at depths and past the
encoding bounds: a dict of objects with secret attributes, objects with
__slots__, an exception carrying a secret attribute (raised and caught),
a generator yielding objects, a long string and a long list (cut at the
bounds), and values nested deeper than the depth limit."""


def build_secret(n):
    return "".join(chr(ord("a") + (n * 7 + i) % 26) for i in range(12))


class Credential:
    __slots__ = ("user", "password", "note")

    def __init__(self, user, password):
        self.user = user
        self.password = password
        self.note = "n" * 300


class Profile:
    def __init__(self, name, credential):
        self.name = name
        self.credential = credential
        self.api_key = build_secret(len(name))
        self.tags = ["t%d" % i for i in range(40)]


class LeakError(Exception):
    def __init__(self, message, token):
        super().__init__(message)
        self.token = token
        self.code = 7


def profiles():
    for name in ("ada", "bob"):
        yield Profile(name, Credential(name, build_secret(len(name) + 1)))


def audit(directory):
    nested = {"level1": {"level2": {"level3": {"level4": directory}}}}
    try:
        raise LeakError("leak in " + str(len(nested)), build_secret(3))
    except LeakError as error:
        caught = error.code
    return caught


directory = {p.name: p for p in profiles()}
print(audit(directory), sorted(directory), len(directory["ada"].tags))
