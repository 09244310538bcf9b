"""Following the recorded program's child processes (``record``, unless
``--no-children``): every Python process the program starts records into a
file of its own in the trace set, ``TRACE.d/PID.tsieve`` beside the first
process's ``TRACE``, with the same filter chain, naming and value options.

* A fork (``os.fork()``, ``multiprocessing``'s fork start method, the
  workers a forkserver forks) is followed by an ``os.register_at_fork``
  handler: in the child, after the parent's recording was let go without a
  byte written (see the native ``forget_after_fork``), a new recording
  starts.
* A new interpreter (``subprocess`` of a Python, ``multiprocessing``'s
  spawn and forkserver start methods, ``os.exec*``, ``os.system``) records
  through the start-up hook (``_startup``), which finds the recording's
  settings in the process environment. The variable stays in the C
  environment, which children inherit, but not in ``os.environ``: the
  program sees the environment it was given. A child started with an
  environment of the program's own (``subprocess.run(..., env=...)``) is
  therefore not recorded unless that environment has the variable.

A child that is not Python runs as it is (and passes the variable on).
"""

from __future__ import annotations

import json
import os
import re
import sys

TYPE_CHECKING = False  # importing typing costs start-up time; annotations only

if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional

    from ._types import ProcessStart

ENV_RECORD = "TRACESIEVE_RECORD"
CHILD_FILE = re.compile(r"^\d+(\.\d+)?\.tsieve$")

# The recording options children record with (those of `_recording.start`
# but the path and argv), once this process follows them; the set's first
# trace (absolute); how this process started ("forkserver" makes the
# workers it forks say so too).
_options: Optional[Dict[str, Any]] = None
_root = ""
_started: ProcessStart = "program"


def set_folder(root: str) -> str:
    """The folder holding the child processes' traces of the set ``root``."""
    return root + ".d"


def clear_set(root: str) -> None:
    """Removes the child traces an earlier recording to ``root`` left (files
    named ``PID.tsieve`` or ``PID.N.tsieve`` only), so that the set is this
    run's; the folder goes too when that leaves it empty."""
    folder = set_folder(root)
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        if CHILD_FILE.match(name):
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass
    try:
        os.rmdir(folder)
    except OSError:
        pass


def child_path(root: str) -> str:
    """A new file for this process in the set ``root``: ``PID.tsieve``, or
    ``PID.N.tsieve`` when the process already has one (a forked child that
    then ran ``exec``)."""
    folder = set_folder(root)
    os.makedirs(folder, exist_ok=True)
    pid = os.getpid()
    path = os.path.join(folder, f"{pid}.tsieve")
    n = 1
    while os.path.exists(path):
        path = os.path.join(folder, f"{pid}.{n}.tsieve")
        n += 1
    return path


def how_started(orig_argv: List[str]) -> ProcessStart:
    """How a new interpreter started, from its command line
    (``sys.orig_argv``, which holds the code of ``-c``): a
    ``multiprocessing`` spawn worker, a forkserver, or any other ``exec``."""
    if "--multiprocessing-fork" in orig_argv:
        return "spawn"
    if any("from multiprocessing.forkserver import main" in a for a in orig_argv):
        return "forkserver"
    return "exec"


def hide_from_program() -> None:
    """Takes the settings variable out of ``os.environ`` but leaves it in
    the C environment, which child processes inherit."""
    data = getattr(os.environ, "_data", None)
    key = os.environ.encodekey(ENV_RECORD) if hasattr(os.environ, "encodekey") else ENV_RECORD
    if isinstance(data, dict):
        data.pop(key, None)
    else:
        os.environ.pop(ENV_RECORD, None)


def follow(options: Dict[str, Any], root: str, started: ProcessStart) -> None:
    """Makes this process's children record with ``options`` (those of
    ``_recording.start`` but the path and argv) into the set whose first
    trace is ``root`` (absolute); ``started`` says how this process
    started. An exec'd child finds the settings in the C environment; a
    forked one is started by the handler the first process of the set
    registered (forked children inherit it)."""
    global _options, _root, _started
    first = _options is None
    _options, _root, _started = dict(options), root, started
    settings = dict(_options, path=root, quiet=True, children=True, parent=os.getpid())
    os.putenv(ENV_RECORD, json.dumps(settings))
    if first:
        os.register_at_fork(after_in_child=_record_forked_child)


def _record_forked_child() -> None:
    """``after_in_child`` of a fork: starts this child's own recording."""
    from . import _native, _recording

    if _options is None:
        return
    started: ProcessStart = "forkserver" if _started == "forkserver" else "fork"
    try:
        _recording.start(
            child_path(_root),
            **_options,
            argv=[a for a in sys.argv if isinstance(a, str)],
            process=(os.getppid(), started),
        )
    except Exception as error:  # noqa: BLE001 - the child runs unrecorded, the program unchanged
        try:
            # To the process's stderr, never through the program's sys.stderr.
            os.write(2, f"tracesieve: warning: the forked child {os.getpid()} is not recorded: {error}\n".encode())
        except OSError:
            pass
        return
    _native.record_until_exit(True)
    follow(_options, _root, started)
