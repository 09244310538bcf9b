"""Recording from the interpreter's start: the other half of ``tracesieve
record``.

``record`` does not run the program itself: it replaces its own process
with the interpreter running the program exactly as ``python`` would
(``python app.py``, ``python -m mod``, ``python -m pytest``), with the
recording's settings in the environment variable ``TRACESIEVE_RECORD``.
The start-up hook ``tracesieve_record.pth`` (in site-packages, see
``_recording.install_startup_hook``) imports this module when that variable
is set; it starts recording before the program's first line, so nothing of
tracesieve is on the program's stack, and ``__main__``, ``sys.argv``,
tracebacks and the exit status are Python's own.

A subinterpreter runs the start-up hook too (it imports ``site``) and
sees the variable when it stays in the C environment; it is not recorded,
and goes on as under plain Python.

The variable is removed from ``os.environ`` at once: the program sees the
environment it was given. When ``record`` follows child processes (the
default), it stays in the C environment, so that a Python child started by
the program records too, into its own file of the trace set (see
``_children``); the settings then say which process started it.
"""

import os
import sys

TYPE_CHECKING = False  # importing typing costs start-up time; annotations only

if TYPE_CHECKING:
    from typing import Optional, Tuple

    from ._types import ProcessStart

ENV_RECORD = "TRACESIEVE_RECORD"


def _start_from_environment() -> None:
    import atexit
    import json

    from . import _children, _native, _recording

    settings = json.loads(os.environ[ENV_RECORD])
    children = settings.pop("children", False)
    parent = settings.pop("parent", None)
    if children:
        _children.hide_from_program()
    else:
        os.environ.pop(ENV_RECORD)
    quiet = settings.pop("quiet")
    # `record` said it already if this is a debug build.
    _recording._warned_debug_build = True
    if parent is None:
        # The program `record` ran: the first trace of the set.
        root = os.path.abspath(settings["path"])
        started: ProcessStart = "program"
        process: Optional[Tuple[int, ProcessStart]] = (os.getppid(), started) if children else None
        this = settings
    else:
        # A child: its own file, its own arguments, one summary line in all.
        root = settings.pop("path")
        started = _children.how_started(sys.orig_argv)
        process = (parent, started)
        quiet = True
        this = dict(settings, path=_children.child_path(root), argv=None)
    try:
        _recording.start(**this, process=process)
    except Exception as error:  # noqa: BLE001 - reported in one line; the program does not run
        from .cli import EXIT_USAGE, error_line

        print(error_line("record", error), file=sys.stderr, flush=True)
        os._exit(EXIT_USAGE)
    _native.record_until_exit(quiet)
    if children:
        options = {k: v for k, v in settings.items() if k not in ("path", "argv")}
        _children.follow(options, root, started)
    # Registered before the program's own handlers, so it runs after them.
    atexit.register(_at_python_exit)
    os._exit = _native._exit


def _at_python_exit() -> None:
    """Stops the hooks; the trailer is written when the process ends. An
    uncaught KeyboardInterrupt ends it by SIGINT, with no exit handler run:
    its trace is closed now, with the status a shell sees (130)."""
    from . import _native

    last = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    _native.python_exiting(130 if isinstance(last, KeyboardInterrupt) else None)


def _in_main_interpreter() -> bool:
    try:
        from . import _native
    except ImportError:  # an interpreter with its own GIL refuses the extension
        return False
    return _native.in_main_interpreter()


if ENV_RECORD in os.environ and _in_main_interpreter():
    _start_from_environment()
