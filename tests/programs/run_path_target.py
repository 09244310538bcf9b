"""Run by run_path.py through runpy.run_path (also runs on its own)."""


def answer(x):
    return x * 6


ANSWER = answer(7)
print("__name__ is", __name__)
