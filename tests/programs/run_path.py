"""Runs another file with runpy.run_path: that file's module body runs with
__name__ == "<run_path>", which is not a dotted identifier."""

import os
import runpy

here = os.path.dirname(os.path.abspath(__file__))
# Only one value of the module's globals is kept: the whole dict holds
# objects (__builtins__, __loader__) that differ between Python versions.
answer = runpy.run_path(os.path.join(here, "run_path_target.py"))["ANSWER"]
print("target said", answer)
