"""sys.exit with a message: printed on stderr, exit status 1."""
import sys


def leave():
    sys.exit("leaving with a message")


leave()
