"""Trace files: what they hold, re-filtering, exports. The engine does the
work; this module resolves paths and turns results into Python objects."""

from __future__ import annotations

import os
TYPE_CHECKING = False  # importing typing costs start-up time; annotations only

from . import _native
from ._filters import existing_filter_paths

if TYPE_CHECKING:
    from typing import Optional, Sequence

    from ._filters import PathLike

TraceFileError = _native.TraceFileError
"""Raised for a trace file that cannot be read (not a trace, newer version, I/O)."""

EXPORT_FORMATS = ("json", "codetracer", "chrome")


def info(path: PathLike) -> dict:
    """What the trace holds: header facts, counts by event kind, code
    objects, threads, the filter chain with hashes, filter statistics, exit
    status, and ``truncation`` when the file ends early."""
    import json

    return json.loads(_native.trace_info(os.fspath(path)))


def refilter(
    path: PathLike,
    out: PathLike,
    filters: Sequence[PathLike] = (),
    *,
    builtin: bool = True,
    framework: Optional[str] = None,
    append: bool = False,
    module_names: Optional[str] = None,
    roots: Sequence[PathLike] = (),
) -> dict:
    """Writes ``path`` re-filtered to ``out``: a valid trace, as if recorded
    with the built-in filters (the framework one the trace was recorded
    with, unless ``framework`` is given) followed by ``filters`` — or, with
    ``append=True``, with the trace's own chain followed by ``filters``.
    Values redacted or dropped at record time stay so. ``module_names``
    (default: as recorded) and ``roots`` (extra ``sys.path`` roots for the
    ``paths`` mode) set the naming. Returns statistics."""
    paths = existing_filter_paths(filters)
    text = _native.refilter_trace(
        os.fspath(path),
        os.fspath(out),
        paths,
        builtin_filter=builtin,
        framework=framework,
        append=append,
        module_names=module_names,
        roots=[os.fspath(r) for r in roots],
    )
    import json

    return json.loads(text)


def export(path: PathLike, format: str, out: PathLike, canonical: bool = False) -> None:
    """Exports the trace: ``json`` (the documented JSON form; ``canonical``
    drops timestamps and other run-to-run noise), ``codetracer`` (a folder
    with CodeTracer's trace.json, trace_metadata.json, trace_paths.json) or
    ``chrome`` (Chrome Trace Event JSON for Perfetto and speedscope)."""
    if format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {format!r} (expected one of {', '.join(EXPORT_FORMATS)})")
    _native.export_trace(os.fspath(path), format, os.fspath(out), canonical)
