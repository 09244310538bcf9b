"""An exception raised deep in a chain of generators (`yield from`),
caught once and re-raised, then left uncaught: exit status 1 and a
traceback on stderr."""


class ParseError(ValueError):
    def __init__(self, line, reason):
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


def tokens(lines):
    for number, line in enumerate(lines, 1):
        if not line:
            raise ParseError(number, "empty")
        yield from line.split()


def checked(lines):
    try:
        yield from tokens(lines)
    except ParseError as error:
        print("retrying after", error.reason)
        yield from tokens(lines[: error.line - 1] + ["fixed"] + lines[error.line :])


def parse(lines):
    words = []
    for word in checked(lines):
        words.append(word)
    return words


print(parse(["a b", "", "c"]))
print(parse(["x", "", ""]))
