"""Relative imports from a subpackage; a generator expression inside."""

from ..util import rotate


def scramble(secret, key):
    scrambled = rotate(secret, key)
    return scrambled


def unscramble(scrambled, key):
    return rotate(scrambled, -key)
