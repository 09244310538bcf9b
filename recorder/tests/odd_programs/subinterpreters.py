"""A program that runs code in subinterpreters, as CPython's own
test_threading does: each one imports `site` and so runs tracesieve's
start-up hook, which must leave it alone (it is not recorded)."""

import importlib

CODE = "import sys; sys.stdout.write('in a subinterpreter\\n'); sys.stdout.flush()"


def available(name):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


testcapi = available("_testcapi")
if testcapi is not None and hasattr(testcapi, "run_in_subinterp"):
    # The legacy kind, sharing the main interpreter's GIL.
    print("legacy subinterpreter:", testcapi.run_in_subinterp(CODE))

low_level = available("_interpreters") or available("_xxsubinterpreters")
if low_level is not None:
    # One with its own GIL, where single-phase extensions refuse to load.
    interp = low_level.create()
    low_level.run_string(interp, CODE)
    low_level.destroy(interp)
    print("isolated subinterpreter ran")
print("main interpreter done")
