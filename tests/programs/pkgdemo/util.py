"""Helpers."""


def scale(value, factor):
    result = value * factor
    return result
