"""Exceptions raised at different kinds of instruction, each reported as a
raise at its line: by a Python raise, by a C function (`int`), a list index
and a dict key, an attribute lookup, a constructor, in a call spread over several
lines (reported at the line the call starts on), in a loop, and while
another exception is handled. (No generator expression: 3.11 reports a line
each time one resumes, and 3.15 passes it the iterable where earlier
versions pass an iterator, see docs/recorder.md.)"""


class Account:
    def __init__(self, balance):
        if balance < 0:
            raise ValueError("negative balance")
        self.balance = balance


def lookup(table, key):
    return table[key]


def pick(items, index):
    return items[index]


def parse(text):
    return int(text)


def nested(depth):
    if depth == 0:
        return parse("not a number")
    return nested(
        depth - 1,
    )


def attempt(label, action, *args):
    try:
        result = action(*args)
    except (ValueError, KeyError, IndexError, AttributeError) as error:
        print(label, "failed:", type(error).__name__)
        return None
    print(label, "gave", result)
    return result


def missing_attribute(account):
    return account.no_such_attribute


def raised_while_handling():
    try:
        pick([], 0)
    except IndexError:
        raise KeyError("while handling")


def returns_through_finally():
    try:
        return lookup({"a": 1}, "a")
    finally:
        print("finally runs")


attempt("lookup", lookup, {"a": 1}, "b")
attempt("pick", pick, [1, 2], 5)
attempt("parse", parse, "x1")
attempt("nested", nested, 3)
attempt("account", Account, -5)
attempt("attribute", missing_attribute, Account(3))
attempt("while handling", raised_while_handling)
attempt("finally", returns_through_finally)
total = 0
for n in (1, 2, 3):
    total += attempt("again", pick, [5, 6], n - 2) or 0
print("total", total)
