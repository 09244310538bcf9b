"""The ``tracesieve._native`` extension (``recorder/src/``, PyO3): a thin layer
over the Rust engine. Its ``__all__`` is the export list of
``recorder/src/lib.rs``; ``scripts/typecheck.sh`` checks this stub against
the built module with ``mypy.stubtest``."""

from typing import Final, Literal, NoReturn, Optional, Sequence, Tuple, final

from tracesieve._types import ExportFormat, Framework, ModuleNames, ProblemDetails, RecordingSummary, RecordOptions

__all__ = [
    "__version__",
    "BUILD",
    "MAX_VALUE_DEPTH",
    "PROJECT_MARKERS",
    "FilterError",
    "check_filter",
    "explain_json",
    "builtin_filter_text",
    "TraceFileError",
    "trace_info",
    "refilter_trace",
    "export_trace",
    "start",
    "stop",
    "is_recording",
    "in_main_interpreter",
    "record_until_exit",
    "python_exiting",
    "_exit",
    "parse_size",
    "size_text",
]

__version__: Final[str]
"""The package's version (``Cargo.toml``)."""

BUILD: Literal["release", "debug"]
"""How the extension was compiled; a debug build records about ten times slower."""

MAX_VALUE_DEPTH: Final[int]
"""The deepest ``max_depth`` a recording takes."""

PROJECT_MARKERS: Final[list[str]]
"""File names that mark a project's root (``paths`` naming mode)."""

# --- filters (recorder/src/filters.rs) ------------------------------------------

@final
class FilterError(Exception):
    """A filter that cannot be read or is invalid."""

    problem: ProblemDetails
    """Where and what, set on every instance the extension raises."""

def check_filter(
    path: str, builtin_filter: bool = True, framework: Optional[Framework] = None
) -> Optional[ProblemDetails]:
    """Validates the filter at ``path`` as it would load after the built-in
    head; ``None`` when valid, else its first problem."""

def explain_json(
    filters: Sequence[str],
    filename: str,
    qualname: str,
    module: Optional[str] = None,
    values: Sequence[Tuple[str, str]] = ...,
    builtin_filter: bool = True,
    framework: Optional[Framework] = None,
    module_names: ModuleNames = "globals",
    sys_path: Sequence[str] = ...,
    cwd: str = ...,
    modules: Sequence[Tuple[str, str]] = ...,
    markers: Sequence[str] = ...,
) -> str:
    """The engine's decision for one scope, as JSON text (``tracesieve._types.Decision``).
    Raises FilterError for a broken filter, ValueError for an unknown value
    kind, naming mode or framework."""

def builtin_filter_text(name: str) -> str:
    """The TOML text of a built-in filter: ``default``, ``pytest`` or ``unittest``."""

# --- trace files (recorder/src/traces.rs) --------------------------------------

@final
class TraceFileError(Exception):
    """A trace file that cannot be read (or an output that cannot be written)."""

def trace_info(path: str) -> str:
    """A summary of the trace at ``path`` as JSON text (``tracesieve._types.TraceInfo``
    without ``processes``)."""

def refilter_trace(
    path: str,
    out: str,
    filters: Sequence[str],
    *,
    builtin_filter: bool = True,
    framework: Optional[Framework] = None,
    append: bool = False,
    module_names: Optional[ModuleNames] = None,
    roots: Sequence[str] = ...,
) -> str:
    """Re-filters the trace at ``path`` into ``out``; returns the statistics
    as JSON text (``tracesieve._types.RefilterStats`` without ``path`` and
    ``processes``)."""

def export_trace(
    path: str,
    format: ExportFormat,
    out: str,
    canonical: bool = False,
    members: Sequence[str] = ...,
) -> list[tuple[str, str]]:
    """Exports the trace at ``path`` (for ``chrome``, with the other traces
    ``members`` of its set); returns the members left out, each with why."""

# --- recording (recorder/src/hooks.rs, recorder/src/process_exit.rs) -----------

def start(path: str, filters: Sequence[str], options: Optional[RecordOptions] = None, /) -> None:
    """Starts recording this process to ``path``: the chain is the built-in
    head, then ``filters`` (absolute paths, in order); ``options`` holds
    every other setting, each left out taking its default. Raises
    FilterError for a broken filter, TypeError for an unknown option,
    ValueError for a bad value, RuntimeError when recording cannot start."""

def stop(exit_status: Optional[int] = None) -> Optional[RecordingSummary]:
    """Stops recording, writes the trailer with ``exit_status`` and returns
    the summary of the last recording of this process (``None`` if there
    was none)."""

def is_recording() -> bool:
    """Whether a recording is running."""

def in_main_interpreter() -> bool:
    """Whether the caller runs in the process's main interpreter."""

def record_until_exit(quiet: bool) -> None:
    """Makes the running recording end with the process (``tracesieve
    record``): trailer with the exit status, then the summary line unless
    ``quiet``."""

def python_exiting(status: Optional[int] = None) -> None:
    """Python's ``atexit``, last of the handlers: unregisters the hooks;
    ``status`` given closes the trace at once."""

def _exit(status: int) -> NoReturn:
    """``os._exit`` while ``record`` runs: closes the trace with ``status``,
    then ends the process at once."""

def parse_size(text: str) -> int:
    """The bytes of a size such as ``500M``, ``1.5GB`` or ``64KiB``; ValueError otherwise."""

def size_text(bytes: int) -> str:
    """A size for people, exact: ``200 kB``, ``1.5 GiB``, ``512 B``."""
