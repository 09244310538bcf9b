"""The program corpus of tests/programs that the cross-part tests record,
and the environment they record in.

Every program there but long_running.py (which runs until killed),
run_path_target.py (which run_path.py runs) and the programs of
INTERPRETER_SCRIPTS, in one order; see tests/programs/README.md for what
each one exercises.
"""

import os
from pathlib import Path

PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"

SCRIPTS = (
    "recursion",
    "classes",
    "closures",
    "generators",
    "delegation",
    "async_tasks",
    "exceptions",
    "imports",
    "threads",
    "secrets_everywhere",
    "value_kinds",
    "run_path",
    "exit_status",
    "uncaught",
)

# Programs only the cross-interpreter comparison (tests/test_backends.py)
# records: where CPython versions report events differently (issue 12).
INTERPRETER_SCRIPTS = (
    "raise_sites",
    "yield_from_iterators",
)


def recording_env():
    """A recording's environment: no filter or fault injection inherited,
    string hashing fixed, UTF-8 output, no __pycache__ in the corpus."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACESIEVE_")}
    env.update(PYTHONHASHSEED="0", PYTHONIOENCODING="utf-8", PYTHONDONTWRITEBYTECODE="1")
    return env
