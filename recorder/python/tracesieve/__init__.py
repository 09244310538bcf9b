"""tracesieve: record what a Python program does, filter it with
CodeTracer-compatible trace filters, and look at it in a browser.

Filter checking and explaining are available now::

    import tracesieve
    problems = tracesieve.check(".codetracer/trace-filter.toml")
    decision = tracesieve.explain("app/main.py", "login", module="app.main",
                                  values=["arg:password"])
"""

from ._native import __version__
from ._filters import FilterError, Problem, builtin_filter_text, check, explain

__all__ = ["FilterError", "Problem", "__version__", "builtin_filter_text", "check", "explain"]
