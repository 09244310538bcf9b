"""tracesieve: record what a Python program does, filter it with
CodeTracer-compatible trace filters, and look at it in a browser.

Record a block, check and explain filters::

    import tracesieve

    with tracesieve.recording("trace.tsieve"):
        main()

    problems = tracesieve.check(".codetracer/trace-filter.toml")
    decision = tracesieve.explain("app/main.py", "login", module="app.main",
                                  values=["arg:password"])

Supported: CPython 3.11 to 3.15, not free-threaded builds; importing it
elsewhere raises ImportError with one line saying why (docs/recorder.md,
"Supported interpreters").
"""

import sys as _sys

# Refused here, before the extension loads, with one line instead of a
# traceback from it (this file stays readable by any Python 3: no f-strings).
if _sys.version_info < (3, 11):
    raise ImportError(
        "tracesieve needs CPython 3.11 or newer (this is Python %d.%d.%d, %s)"
        % (_sys.version_info[:3] + (_sys.executable or "?",))
    )


def _free_threaded() -> bool:
    """Whether this is a free-threaded build of CPython (3.13t and later)."""
    if "t" in getattr(_sys, "abiflags", ""):
        return True
    if not hasattr(_sys, "abiflags"):  # Windows: ask the build configuration
        import sysconfig

        return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    return False


# The recorder relies on the GIL: its interpreter callbacks share one
# recording and read the program's objects while no other thread runs.
# Loading the extension would turn the GIL back on with a warning (or, with
# PYTHON_GIL=0, run it without one), so tracesieve refuses before it loads.
if _free_threaded():
    raise ImportError(
        "tracesieve does not support free-threaded CPython (this is %d.%d%s, built "
        "without the GIL): its recorder relies on the GIL; use the regular build "
        "of CPython 3.11 to 3.15" % (_sys.version_info[0], _sys.version_info[1], "t")
    )

from ._native import __version__
from ._filters import FilterError, Problem, builtin_filter_text, check, explain
from ._recording import is_recording, recording, start, stop
from ._traces import TraceFileError, export, info, refilter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._types import (
        Decision as Decision,
        ProblemDetails as ProblemDetails,
        RecordingSummary as RecordingSummary,
        RecordOptions as RecordOptions,
        RefilterStats as RefilterStats,
        StartOptions as StartOptions,
        TraceInfo as TraceInfo,
    )

# The shapes of the dicts the API takes and returns (``TypedDict``s, in
# ``tracesieve._types``) load when first asked for: importing ``typing`` at
# start-up would cost every recorded program.
_TYPES = frozenset(
    ("Decision", "ProblemDetails", "RecordingSummary", "RecordOptions", "RefilterStats", "StartOptions", "TraceInfo")
)

if not TYPE_CHECKING:

    def __getattr__(name):
        """``tracesieve.TraceInfo`` and the other shapes, loaded on first use."""
        if name in _TYPES:
            from . import _types

            return getattr(_types, name)
        raise AttributeError("module 'tracesieve' has no attribute %r" % (name,))


__all__ = [
    "Decision",
    "FilterError",
    "Problem",
    "ProblemDetails",
    "RecordOptions",
    "RecordingSummary",
    "RefilterStats",
    "StartOptions",
    "TraceFileError",
    "TraceInfo",
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
