"""A package run with `python -m vault` (from tests/parity/programs): its
body runs as <vault>, __main__.py as <__main__>, and the secrets it handles
are built at run time and held under secret-looking and plain names."""

from .store import Store

VERSION = "2.1"
__all__ = ["Store", "VERSION"]
