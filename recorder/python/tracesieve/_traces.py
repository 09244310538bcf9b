"""Trace files: what they hold, re-filtering, exports. The engine does the
work; this module resolves paths and turns results into Python objects."""

from __future__ import annotations

import os
TYPE_CHECKING = False  # importing typing costs start-up time; annotations only

from . import _children, _native
from ._filters import existing_filter_paths

if TYPE_CHECKING:
    from typing import Dict, List, Optional, Sequence, Tuple

    from ._filters import PathLike
    from ._types import ExportFormat, Framework, ModuleNames, Process, ProcessEntry, RefilterStats, TraceInfo

TraceFileError = _native.TraceFileError
"""Raised for a trace file that cannot be read (not a trace, newer version, I/O)."""

EXPORT_FORMATS = ("json", "codetracer", "chrome", "speedscope")


def info(path: PathLike) -> TraceInfo:
    """What the trace holds: header facts, counts by event kind, code
    objects, threads, the filter chain with hashes, filter statistics, exit
    status, and ``truncation`` when the file ends early. For the first trace
    of a trace set (``record`` followed child processes into
    ``TRACE.d/``), ``processes`` lists every process of the set (see
    :func:`processes`)."""
    import json

    summary: TraceInfo = json.loads(_native.trace_info(os.fspath(path)))
    if os.path.isdir(_children.set_folder(os.fspath(path))):
        summary["processes"] = processes(path, summary)
    return summary


def processes(path: PathLike, first: Optional[TraceInfo] = None) -> List[Process]:
    """The processes of the trace set whose first trace is ``path``, in the
    order they started: for each, its file, pid, parent pid, how it started
    (``program``, ``fork``, ``spawn``, ``forkserver``, ``exec``), argv,
    events, exit status, whether its file is complete, and ``depth`` in the
    process tree (a process whose parent was not recorded hangs under the
    first). A file of the set that is not a readable trace is listed with
    its ``error``. ``first`` is ``path``'s own summary, if already read."""
    import json

    path = os.fspath(path)
    entries: List[Process] = [_process_entry(path, first or json.loads(_native.trace_info(path)))]
    for child in set_members(path):
        try:
            entries.append(_process_entry(child, json.loads(_native.trace_info(child))))
        except TraceFileError as error:
            entries.append({"path": child, "error": str(error), "depth": 0})
    return _as_tree(entries)


def _process_entry(path: str, summary: TraceInfo) -> ProcessEntry:
    """A process's entry, its ``depth`` yet to be set by :func:`_as_tree`."""
    process = summary.get("process")
    return {
        "path": path,
        "pid": process["pid"] if process else None,
        "parent": process["parent"] if process else None,
        "started": process["started"] if process else "program",
        "start_unix_ms": summary["start_unix_ms"],
        "argv": summary["argv"],
        "events": summary["total_events"],
        "exit_status": summary["exit_status"],
        "complete": summary["truncation"] is None,
        "depth": 0,
    }


def _with_depth(entry: Process, depth: int) -> Process:
    """A copy of ``entry`` at ``depth`` in the process tree."""
    copy = entry.copy()
    copy["depth"] = depth
    return copy


def _as_tree(entries: List[Process]) -> List[Process]:
    """``entries`` (the first process first) in tree order, each with its
    ``depth``: children after their parent, by start time."""
    first, rest = entries[0], entries[1:]
    by_pid = {pid: e for e in entries if (pid := e.get("pid")) is not None}
    children: Dict[int, List[Process]] = {}
    for entry in sorted(rest, key=lambda e: (e.get("start_unix_ms", 0), e["path"])):
        parent = by_pid.get(entry.get("parent"))
        parent = first if parent is None or parent is entry else parent
        children.setdefault(id(parent), []).append(entry)
    ordered: List[Process] = []
    stack = [(first, 0)]
    while stack:
        entry, depth = stack.pop()
        ordered.append(_with_depth(entry, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(id(entry), [])))
    # Parents that name each other (a reused pid) are not reached from the
    # first process: they are listed under it.
    reached = {e["path"] for e in ordered}
    ordered += [_with_depth(e, 1) for e in rest if e["path"] not in reached]
    return ordered


def refilter(
    path: PathLike,
    out: PathLike,
    filters: Sequence[PathLike] = (),
    *,
    builtin: bool = True,
    framework: Optional[Framework] = None,
    append: bool = False,
    module_names: Optional[ModuleNames] = None,
    roots: Sequence[PathLike] = (),
    children: bool = True,
) -> RefilterStats:
    """Writes ``path`` re-filtered to ``out``: a valid trace, as if recorded
    with the built-in filters (the framework one the trace was recorded
    with, unless ``framework`` is given) followed by ``filters`` — or, with
    ``append=True``, with the trace's own chain followed by ``filters``.
    Values redacted or dropped at record time stay so. ``module_names``
    (default: as recorded) and ``roots`` (extra ``sys.path`` roots for the
    ``paths`` mode) set the naming. Returns statistics.

    For the first trace of a trace set, each child process's trace is
    re-filtered too (unless ``children`` is false), from ``path.d/NAME``
    into ``out.d/NAME`` (the child traces an earlier run left there are
    removed first), each with the chain it would have been recorded with;
    the statistics then have ``processes``: each file's own."""
    import json

    def one(source: str, target: str) -> RefilterStats:
        text = _native.refilter_trace(
            source,
            target,
            paths,
            builtin_filter=builtin,
            framework=framework,
            append=append,
            module_names=module_names,
            roots=[os.fspath(r) for r in roots],
        )
        stats: RefilterStats = json.loads(text)
        return stats

    paths = existing_filter_paths(filters)
    path, out = os.fspath(path), os.fspath(out)
    members = set_members(path) if children else []
    result = one(path, out)
    if not members:
        return result
    _children.clear_set(os.path.abspath(out))
    folder = _children.set_folder(out)
    os.makedirs(folder, exist_ok=True)
    result["processes"] = [{**result, "path": out}]
    for member in members:
        target = os.path.join(folder, os.path.basename(member))
        result["processes"].append({**one(member, target), "path": target})
    return result


def export(path: PathLike, format: ExportFormat, out: PathLike, canonical: bool = False, children: bool = True) -> List[Tuple[str, str]]:
    """Exports the trace: ``json`` (the documented JSON form; ``canonical``
    drops timestamps and other run-to-run noise), ``codetracer`` (a folder
    with CodeTracer's trace.json, trace_metadata.json, trace_paths.json),
    ``chrome`` (Chrome Trace Event JSON for Perfetto and chrome://tracing)
    or ``speedscope`` (speedscope's own file format: a profile per thread).
    The ``chrome`` and ``speedscope`` exports of the first trace of a trace
    set hold every process of the set on one clock (unless ``children`` is
    false); the other formats export one trace. Returns the traces of the
    set left out because they could not be read, each with why."""
    if format not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {format!r} (expected one of {', '.join(EXPORT_FORMATS)})")
    path = os.fspath(path)
    members = set_members(path) if format in ("chrome", "speedscope") and children else []
    return _native.export_trace(path, format, os.fspath(out), canonical, members)


def set_members(path: PathLike) -> List[str]:
    """The traces of the child processes of the set whose first trace is
    ``path`` (none when it has no ``.d`` folder), by file name."""
    folder = _children.set_folder(os.fspath(path))
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [os.path.join(folder, n) for n in sorted(names) if _children.CHILD_FILE.match(n)]
