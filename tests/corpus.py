"""The program corpus of tests/programs that the cross-part tests record.

Every program there but long_running.py (which runs until killed) and
run_path_target.py (which run_path.py runs), in one order; see
tests/programs/README.md for what each one exercises.
"""

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
