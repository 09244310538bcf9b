"""Closes sys.stderr and ends normally: exit status 0."""
import sys

sys.stderr.close()
print("stderr closed")
