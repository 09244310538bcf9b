"""The recorder the README's set-up installs is an optimised build.

`scripts/setup.sh` builds the extension into `.venv` (the user's command
line) and the test virtualenvs with `maturin develop --release`. A debug
build records about ten times slower (issue 25), so this fails when any
installed extension is one: `.venv` first, then every interpreter the tests
run on (TRACESIEVE_PYTHONS, as in test_backends.py).
"""

import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYTHONS = {"main": str(REPO / ".venv" / "bin" / "python")}
for pair in os.environ.get("TRACESIEVE_PYTHONS", "").split():
    version, _, python = pair.partition("=")
    PYTHONS[version] = python


@pytest.mark.parametrize("python", PYTHONS.values(), ids=list(PYTHONS))
def test_the_installed_extension_is_a_release_build(python):
    if not os.path.exists(python):
        pytest.fail(f"{python} is missing: run ./scripts/setup.sh")
    # From outside the checkout, so the installed package is what imports.
    found = subprocess.run(
        [python, "-c", "import tracesieve._native as n; print(n.BUILD, n.__file__)"],
        capture_output=True, text=True, cwd="/", check=True,
    ).stdout.split()
    assert found[0] == "release", f"{found[1]} is a {found[0]} build: run ./scripts/setup.sh"
    version = subprocess.run([str(Path(python).parent / "tracesieve"), "--version"], capture_output=True, text=True, check=True)
    assert "(release build, CPython " in version.stdout
