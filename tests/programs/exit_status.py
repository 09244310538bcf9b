"""Exits with status 3 through sys.exit."""

import sys


def finish(code):
    print("finishing with", code)
    sys.exit(code)


finish(3)
