"""Helpers shared by the package (imported relatively by vault.crypto)."""


def rotate(text, by):
    return "".join(chr((ord(c) - 32 + by) % 95 + 32) for c in text)


def checksum(text):
    total = 0
    for c in text:
        total = (total * 31 + ord(c)) % 65521
    return total
