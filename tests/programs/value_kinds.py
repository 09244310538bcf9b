"""One value of each kind under plain (not secret-looking) names, for the
redact and drop tests: an argument (item), a local (total), a global
(LIMIT), a return (pack's) and an attribute (Box.content)."""

LIMIT = 10


class Box:
    def __init__(self, content):
        self.content = content
        self.label = "box"


def pack(item, count):
    box = Box(item)
    total = count * 2 + LIMIT
    return total


print(pack("apple", 3))
