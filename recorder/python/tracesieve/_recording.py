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
    from typing import Iterator, List, Optional, Sequence, Tuple, Union, Unpack

    from ._filters import PathLike
    from ._types import Framework, ModuleNames, ProcessStart, RecordingSummary, RecordOptions, StartOptions, Values

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
    framework: Optional[Framework] = None,
    module_names: ModuleNames = "globals",
    values: Values = "all",
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
    process: Optional[Tuple[int, ProcessStart]] = None,
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

    ``process``, ``(parent pid, how it started)``, is set by ``record`` for
    the processes of a trace set (see ``_children``).
    """
    _warn_if_debug_build()
    size_limit = _size_in_bytes(max_size)
    trace = os.fspath(path)
    chain = chain_paths(filters, discover_from, discover)
    options: RecordOptions = {
        "builtin_filter": builtin,
        "framework": framework,
        "module_names": module_names,
        "values": values,
        "max_depth": max_depth,
        "max_items": max_items,
        "max_string_bytes": max_string_bytes,
        "max_nodes": max_nodes,
        "repr": repr,
        "sources": sources,
        "argv": list(argv) if argv is not None else [a for a in sys.argv if isinstance(a, str)],
        "ignore_prefix": PACKAGE_DIR,
        "max_size": size_limit,
        "process": process,
    }
    _native.start(trace, chain, options)


def parse_size(text: str) -> int:
    """The bytes of a size as ``--max-size`` takes it: a number with an
    optional unit, ``k``/``M``/``G``/``T`` (powers of 1000, with or without
    ``B``) or ``KiB``/``MiB``/``GiB``/``TiB`` (powers of 1024): ``500M``,
    ``1.5GB``, ``64KiB``, ``1048576``. Raises ValueError otherwise."""
    return _native.parse_size(text)


def size_text(size: int) -> str:
    """A size in bytes for people, exact: ``200 kB``, ``1.5 GiB``, ``512 B``."""
    return _native.size_text(size)


def _size_in_bytes(size: Optional[Union[int, str]]) -> Optional[int]:
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


def stop(exit_status: Optional[int] = None) -> Optional[RecordingSummary]:
    """Stops recording, closes the trace and returns a summary dict (or None
    if nothing was recording): the trace's path, its counts (events, calls,
    lines, codes), the filters' (scopes_skipped, redacted, dropped), and
    why recording stopped early, if it did (detached, size_limit)."""
    return _native.stop(exit_status)


def is_recording() -> bool:
    """Whether a recording is running in this process."""
    return _native.is_recording()


@contextlib.contextmanager
def recording(path: PathLike = "trace.tsieve", **options: Unpack[StartOptions]) -> Iterator[None]:
    """``with tracesieve.recording("trace.tsieve"):`` records the block;
    takes the options of :func:`start`."""
    start(path, **options)
    try:
        yield
    finally:
        stop()


STARTUP_HOOK = "tracesieve_record.pth"
# A .pth line that starts with "import" is run by `site` at every start of
# the interpreter: it costs a dictionary lookup unless `record` set the
# variable (see _startup). A subinterpreter runs it too, and there the
# extension refuses to load ("does not support loading in subinterpreters"):
# that one error is let pass, so the subinterpreter runs as under plain
# Python; any other is reported by `site`.
STARTUP_HOOK_LINE = (
    "import os; 'TRACESIEVE_RECORD' in os.environ and exec("
    + repr("try:\n import tracesieve._startup\nexcept ImportError as e:\n if 'subinterpreter' not in str(e): raise")
    + ")\n"
)


def _site_packages_of_this_install() -> str:
    """The site-packages folder tracesieve is installed in: the one holding
    the package, or, for an editable install, the one holding its ``.pth``
    or metadata; else the environment's own."""
    import site
    import sysconfig

    folders = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        folders.append(site.getusersitepackages())
    package_parent = os.path.dirname(PACKAGE_DIR.rstrip(os.sep))
    for folder in folders:
        if os.path.abspath(folder) == package_parent:
            return folder
    for folder in folders:
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        if any(n == "tracesieve.pth" or (n.startswith("tracesieve-") and n.endswith(".dist-info")) for n in names):
            return folder
    return sysconfig.get_path("purelib")


def install_startup_hook() -> str:
    """Makes sure the start-up hook ``tracesieve_record.pth`` is in the
    site-packages folder tracesieve is installed in (a wheel brings it; an
    editable install gets it here) and returns its path. Raises OSError
    when it is missing and cannot be written."""
    path = os.path.join(_site_packages_of_this_install(), STARTUP_HOOK)
    try:
        with open(path, encoding="utf-8") as existing:
            if existing.read() == STARTUP_HOOK_LINE:
                return path
    except OSError:
        pass
    partial = f"{path}.partial-{os.getpid()}"
    try:
        with open(partial, "w", encoding="utf-8") as hook:
            hook.write(STARTUP_HOOK_LINE)
        os.replace(partial, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(partial)
        raise OSError(f"cannot install the start-up hook {path} that recording needs: {error.strerror or error}") from None
    return path


def program_command(kind: str, target: str, args: List[str]) -> List[str]:
    """The interpreter's arguments that run the program as ``python`` would:
    ``app.py ...``, ``-m mod ...``, ``-m pytest ...``, ``-m unittest ...``
    (``target`` is the script or the module; empty for the last two)."""
    if kind == "script":
        return [target, *args]
    if kind == "module":
        return ["-m", target, *args]
    return ["-m", kind, *args]


def interpreter_options(orig_argv: List[str]) -> List[str]:
    """The options the interpreter was started with (``-X dev``, ``-W
    error``, ``-O``, ...), up to what it ran (``-m tracesieve``, the
    ``tracesieve`` script): the program runs with the same. Options set
    through the environment (``PYTHONDEVMODE``, ...) reach it by the
    environment."""
    options: List[str] = []
    arguments = iter(orig_argv[1:])
    for argument in arguments:
        if argument == "-" or not argument.startswith("-") or argument.startswith(("-m", "-c")):
            break
        options.append(argument)
        if argument in ("-X", "-W", "--check-hash-based-pycs"):
            options.append(next(arguments, ""))
    return options


def record_program(
    kind: str, target: str, args: List[str], out: str, quiet: bool, children: bool = True, **options: Unpack[StartOptions]
) -> None:
    """``tracesieve record``: replaces this process with the interpreter
    running the program as ``python`` would, recording from its start (see
    ``_startup``); returns only by raising. ``kind`` is ``script``,
    ``module``, ``pytest`` or ``unittest``; ``target`` the script or the
    module (empty for the last two). The filter chain is resolved
    here, so a missing filter is reported before anything runs; the rest
    (a broken filter, a trace file that cannot be written) is reported by
    the new process before the program's first line, with exit status 2.
    With ``children``, the program's Python child processes record too,
    into ``OUT.d/`` (see ``_children``); an earlier run's child traces
    there are removed first, with or without it."""
    import json

    from . import _children

    if sys.flags.no_site:
        raise RuntimeError("recording needs the site module, which python -S turns off")
    install_startup_hook()
    _warn_if_debug_build()
    discover_from = os.path.dirname(os.path.abspath(target)) if kind == "script" else os.getcwd()
    framework = kind if kind in ("pytest", "unittest") else None
    command = program_command(kind, target, args)
    header_argv = {"module": ["-m", target], "pytest": ["pytest"], "unittest": ["unittest"]}.get(kind, [target])
    settings = dict(
        options,
        path=out,
        filters=chain_paths(options.get("filters", ()), discover_from),
        discover=False,
        framework=framework,
        argv=[*header_argv, *args],
        quiet=quiet,
        children=children,
    )
    _children.clear_set(os.path.abspath(out))
    env = dict(os.environ)
    env["TRACESIEVE_RECORD"] = json.dumps(settings)
    interpreter = [sys.executable, *interpreter_options(sys.orig_argv)]
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os.execve(sys.executable, [*interpreter, *command], env)
