"""Recording: the filter chain a recording uses, the Python API, and running
a program under the recorder with its output, exceptions and exit status
unchanged."""

from __future__ import annotations

import contextlib
import os
import sys
TYPE_CHECKING = False  # importing typing costs start-up time; annotations only

from . import _native
from ._filters import existing_filter_paths

if TYPE_CHECKING:
    from typing import Iterator, List, Optional, Sequence, Union

    from ._filters import PathLike

PROJECT_FILTER = os.path.join(".codetracer", "trace-filter.toml")
ENV_FILTER = "TRACESIEVE_FILTER"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def discover_project_filter(start: Optional[str] = None) -> Optional[str]:
    """The nearest ``.codetracer/trace-filter.toml`` at or above ``start``
    (default: the directory of ``sys.argv[0]``, else the working directory)."""
    if start is None:
        program = sys.argv[0] if sys.argv and isinstance(sys.argv[0], str) else ""
        start = os.path.dirname(os.path.abspath(program)) if program.strip() else os.getcwd()
    directory = os.path.abspath(start)
    while True:
        candidate = os.path.join(directory, PROJECT_FILTER)
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent


def chain_paths(filters: Sequence[PathLike] = (), discover_from: Optional[str] = None, discover: bool = True) -> List[str]:
    """The user part of a recording's chain, after the built-in filters: the
    discovered project filter, then ``$TRACESIEVE_FILTER`` (a ``::`` chain),
    then ``filters``. Raises FileNotFoundError for a missing filter."""
    specs: List[PathLike] = []
    if discover:
        found = discover_project_filter(discover_from)
        if found:
            specs.append(found)
    env = os.environ.get(ENV_FILTER, "")
    if env.strip():
        specs.append(env)
    specs.extend(filters)
    return existing_filter_paths(specs)


def start(
    path: PathLike = "trace.tsieve",
    *,
    filters: Sequence[PathLike] = (),
    builtin: bool = True,
    framework: Optional[str] = None,
    module_names: str = "globals",
    values: str = "all",
    max_depth: int = 3,
    max_items: int = 32,
    max_string_bytes: int = 256,
    max_nodes: int = 100,
    repr: bool = False,
    sources: bool = True,
    discover: bool = True,
    discover_from: Optional[str] = None,
    argv: Optional[Sequence[str]] = None,
    max_size: Optional[Union[int, str]] = None,
) -> None:
    """Starts recording this process to ``path``.

    The chain is the built-in default filter (unless ``builtin=False``), the
    ``framework`` filter (``"pytest"`` or ``"unittest"``), the project's
    ``.codetracer/trace-filter.toml`` (unless ``discover=False``),
    ``$TRACESIEVE_FILTER``, then ``filters``. Raises FilterError for a broken
    filter, before anything is recorded. Code already running when recording
    starts is recorded from its next call on.

    ``max_size`` (bytes, or a size such as ``"500M"`` as ``--max-size``
    takes it) stops recording once the trace file reaches it: the trace is
    closed with the limit in its trailer, one warning goes to stderr, and
    the program goes on unrecorded.
    """
    max_size = _size_in_bytes(max_size)
    _warn_if_debug_build()
    _native.start(
        os.fspath(path),
        chain_paths(filters, discover_from, discover),
        builtin_filter=builtin,
        framework=framework,
        module_names=module_names,
        values=values,
        max_depth=max_depth,
        max_items=max_items,
        max_string_bytes=max_string_bytes,
        max_nodes=max_nodes,
        repr=repr,
        sources=sources,
        argv=list(argv) if argv is not None else [a for a in sys.argv if isinstance(a, str)],
        ignore_prefix=PACKAGE_DIR,
        max_size=max_size,
    )


def parse_size(text: str) -> int:
    """The bytes of a size as ``--max-size`` takes it: a number with an
    optional unit, ``k``/``M``/``G``/``T`` (powers of 1000, with or without
    ``B``) or ``KiB``/``MiB``/``GiB``/``TiB`` (powers of 1024): ``500M``,
    ``1.5GB``, ``64KiB``, ``1048576``. Raises ValueError otherwise."""
    return _native.parse_size(text)


def size_text(size: int) -> str:
    """A size in bytes for people, exact: ``200 kB``, ``1.5 GiB``, ``512 B``."""
    return _native.size_text(size)


def _size_in_bytes(size):
    """``max_size`` as bytes (None stays None); raises for a bad value."""
    if size is None:
        return None
    if isinstance(size, str):
        return parse_size(size)
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"max_size must be a number of bytes or a size such as '500M', not {type(size).__name__}")
    if size < 1:
        raise ValueError(f"max_size must be at least 1 byte (found {size})")
    return size


_warned_debug_build = False

DEBUG_BUILD_WARNING = (
    "tracesieve: warning: this recorder is a debug build, which records about ten times slower; "
    "install a release build (./scripts/setup.sh, or maturin develop --release)"
)


def _warn_if_debug_build() -> None:
    """Says once per process, on stderr, that recording runs on a debug build."""
    global _warned_debug_build
    if _native.BUILD == "debug" and not _warned_debug_build:
        _warned_debug_build = True
        print(DEBUG_BUILD_WARNING, file=sys.stderr)


def stop(exit_status: Optional[int] = None) -> Optional[dict]:
    """Stops recording, closes the trace and returns a summary dict (or None
    if nothing was recording)."""
    return _native.stop(exit_status)


def is_recording() -> bool:
    """Whether a recording is running in this process."""
    return _native.is_recording()


@contextlib.contextmanager
def recording(path: PathLike = "trace.tsieve", **options) -> Iterator[None]:
    """``with tracesieve.recording("trace.tsieve"):`` records the block;
    takes the options of :func:`start`."""
    start(path, **options)
    try:
        yield
    finally:
        stop()


def summary_line(summary: dict) -> str:
    """The one-line summary printed on stderr after ``tracesieve record``."""
    size = os.path.getsize(summary["path"]) if os.path.exists(summary["path"]) else 0
    line = (
        f"tracesieve: {summary['events']} events ({summary['calls']} calls, {summary['lines']} lines) "
        f"from {summary['codes']} code objects -> {summary['path']} ({size / 1024:.1f} KiB); "
        f"skipped {summary['scopes_skipped']} scopes, redacted {summary['redacted']} values, "
        f"dropped {summary['dropped']}"
    )
    if summary.get("detached"):
        line += f"; detached early: {summary['detached']}"
    if summary.get("size_limit"):
        line += f"; stopped at --max-size {size_text(summary['size_limit'])}"
    return line


def _exit_code(code) -> int:
    """The process exit status Python derives from ``SystemExit(code)``."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def _own_frames_trimmed(tb, keep_runpy=False):
    """The traceback without tracesieve's and runpy's frames on top, as
    Python itself would print it (``python -m`` shows runpy's frames: with
    ``keep_runpy``, only tracesieve's are left out)."""
    import runpy

    # runpy is a frozen module on 3.11+: its frames are named "<frozen runpy>",
    # not after runpy.__file__.
    runpy_files = {os.path.abspath(runpy.__file__), "<frozen runpy>"}
    while tb is not None:
        raw = tb.tb_frame.f_code.co_filename
        filename = os.path.abspath(raw)
        is_runpy = raw in runpy_files or filename in runpy_files
        if not (filename.startswith(PACKAGE_DIR) or (is_runpy and not keep_runpy)):
            break
        tb = tb.tb_next
    return tb


def run_program(kind: str, target: Optional[str], args: List[str]) -> int:
    """Runs a script, module, pytest or unittest in this process, the way
    ``python`` would, and returns its exit status. Uncaught exceptions are
    printed as Python prints them."""
    import runpy

    try:
        if kind == "script":
            script = os.path.abspath(target)
            sys.argv = [target, *args]
            sys.path[0] = os.path.dirname(script)
            runpy.run_path(script, run_name="__main__")
        elif kind == "module":
            sys.argv = [target, *args]
            sys.path[0] = os.getcwd()
            # What `python -m` itself calls, so that a missing module and an
            # uncaught exception are reported exactly as python -m reports
            # them (runpy's frames included). It runs the module in the
            # namespace of sys.modules["__main__"]: a fresh module, as with
            # python -m, not tracesieve's own __main__.
            main = sys.modules.get("__main__")
            sys.modules["__main__"] = type(sys)("__main__")
            try:
                runpy._run_module_as_main(target, alter_argv=True)
            finally:
                if main is not None:
                    sys.modules["__main__"] = main
        elif kind == "pytest":
            import pytest

            sys.argv = ["pytest", *args]
            return int(pytest.main(args))
        elif kind == "unittest":
            import unittest

            sys.argv = ["python -m unittest", *args]
            unittest.main(module=None, argv=sys.argv)
        return 0
    except SystemExit as exit_:
        return _exit_code(exit_.code)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - reported exactly as Python would
        # The default excepthook prints the exception's own __traceback__
        # when it has one (ignoring the traceback argument), so the trimmed
        # traceback has to be set on the exception itself.
        trimmed = _own_frames_trimmed(error.__traceback__, keep_runpy=kind == "module")
        error.__traceback__ = trimmed
        sys.excepthook(type(error), error, trimmed)
        return 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()


def record_program(kind: str, target: Optional[str], args: List[str], out: str, quiet: bool, **options) -> int:
    """``tracesieve record``: records the program, prints the summary line,
    returns the program's exit status."""
    discover_from = os.path.dirname(os.path.abspath(target)) if kind == "script" else os.getcwd()
    framework = kind if kind in ("pytest", "unittest") else None
    program = {"module": ["-m", target], "pytest": ["pytest"], "unittest": ["unittest"]}.get(kind, [target])
    try:
        start(out, framework=framework, discover_from=discover_from, argv=[*program, *args], **options)
    except RuntimeError as error:
        # Recording cannot start (no free sys.monitoring tool id, the trace
        # file cannot be written): the program does not run.
        print(f"tracesieve record: {error}", file=sys.stderr)
        return 2
    status = 1
    try:
        status = run_program(kind, target, args)
    finally:
        summary = stop(status)
        if summary and not quiet:
            print(summary_line(summary), file=sys.stderr)
    return status


