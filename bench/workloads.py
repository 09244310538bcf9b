"""The benchmark workloads, run as `python workloads.py NAME` (or with
`--count-calls NAME` to print how many Python calls the workload makes).

* fib: recursive fib(25), about 243 thousand calls of one small function.
* mixed: classes, dicts, exceptions and generators over a 200-object list
  kept in scope, 20 rounds.
* library: a real library routine: Markdown (from PyPI) rendering a
  document 30 times.
* fib30: fib(30), long enough (about 2.7 million calls) to see what fully
  skipped code costs beside the tools' start-up times.
* lines: a loop of one million iterations, about three million line
  events and almost no calls: lines are most of a real recording's events.
* noop: nothing, to measure each tool's fixed start-up cost.

`--count-lines NAME` prints how many line events the workload makes.
"""

import sys


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


class Item:
    def __init__(self, name, price, tag):
        self.name = name
        self.price = price
        self.tags = {"tag": tag, "even": tag % 2 == 0}

    def discounted(self, percent):
        return self.price * (100 - percent) / 100


class OutOfStock(Exception):
    pass


def check(item):
    if item.tags["tag"] == 3:
        raise OutOfStock(item.name)
    return item.discounted(10)


def prices(items):
    for item in items:
        yield item.price


def mixed(rounds=20):
    inventory = [Item(f"item{i}", i * 1.5, i % 7) for i in range(200)]
    index = {}
    total = 0.0
    for _ in range(rounds):
        for item in inventory:
            index.setdefault(item.tags["tag"], []).append(item.name)
            try:
                total += check(item)
            except OutOfStock:
                total -= 1
        total += sum(prices(inventory))
    return round(total, 2), len(index)


DOCUMENT = """# Release notes

Some *emphasis*, some **strong** text, `code`, and a [link](https://example.invalid).

* first item with `inline code`
* second item with a [reference][ref]
* third item

> A quotation that spans
> two lines.

    indented code block
    with two lines

1. one
2. two
3. three

[ref]: https://example.invalid/ref
"""


def library(rounds=30):
    import markdown

    html = ""
    for _ in range(rounds):
        html = markdown.markdown(DOCUMENT * 4)
    return len(html)


def lines(n=1_000_000):
    """A line-heavy loop: three line events per iteration, no calls."""
    total = 0
    for i in range(n):
        total += i
        if total % 7 == 0:
            total -= 1
    return total


def noop():
    """Nothing: measures each tool's fixed start-up and shut-down cost."""
    return None


WORKLOADS = {"fib": lambda: fib(25), "fib30": lambda: fib(30), "mixed": mixed, "library": library, "lines": lines, "noop": noop}


def count_calls(name):
    calls = 0

    def profile(frame, event, arg):
        nonlocal calls
        if event == "call":
            calls += 1

    if name == "library":
        import markdown  # noqa: F401 - imported before counting, as the timed runs import it once too

    sys.setprofile(profile)
    WORKLOADS[name]()
    sys.setprofile(None)
    return calls


def count_lines(name):
    """Line events of the workload, counted as sys.monitoring reports them (3.12+)."""
    monitoring = sys.monitoring
    tool = monitoring.PROFILER_ID
    lines = 0

    def line(code, number):
        nonlocal lines
        lines += 1

    if name == "library":
        import markdown  # noqa: F401 - as in count_calls

    monitoring.use_tool_id(tool, "count-lines")
    monitoring.register_callback(tool, monitoring.events.LINE, line)
    monitoring.set_events(tool, monitoring.events.LINE)
    WORKLOADS[name]()
    monitoring.set_events(tool, 0)
    monitoring.free_tool_id(tool)
    return lines


if __name__ == "__main__":
    if sys.argv[1] == "--count-calls":
        print(count_calls(sys.argv[2]))
    elif sys.argv[1] == "--count-lines":
        print(count_lines(sys.argv[2]))
    else:
        print(WORKLOADS[sys.argv[1]]())
