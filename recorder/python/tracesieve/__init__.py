"""tracesieve: record what a Python program does, filter it with
CodeTracer-compatible trace filters, and look at it in a browser.

Record a block, check and explain filters::

    import tracesieve

    with tracesieve.recording("trace.tsieve"):
        main()

    problems = tracesieve.check(".codetracer/trace-filter.toml")
    decision = tracesieve.explain("app/main.py", "login", module="app.main",
                                  values=["arg:password"])
"""

from ._native import __version__
from ._filters import FilterError, Problem, builtin_filter_text, check, explain
from ._recording import is_recording, recording, start, stop
from ._traces import TraceFileError, export, info, refilter

__all__ = [
    "FilterError",
    "Problem",
    "TraceFileError",
    "__version__",
    "builtin_filter_text",
    "check",
    "explain",
    "export",
    "info",
    "is_recording",
    "recording",
    "refilter",
    "start",
    "stop",
]
