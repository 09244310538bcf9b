"""A small package for the import tests."""

VERSION = "1.0"
