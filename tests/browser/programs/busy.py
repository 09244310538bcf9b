"""Many small calls: 6 events per iteration (6,000 by default, or the count
given as the first argument). The browser tests cut its trace short; the
benchmark records it with 17,000 and 170,000 iterations (about 100 k and
1 M events)."""

import sys


def square(n):
    result = n * n
    return result


def run(count):
    total = 0
    for i in range(count):
        total += square(i)
    return total


print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 6000))
