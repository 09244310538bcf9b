"""Every interpreter writes the same events.

CPython 3.12+ is recorded through sys.monitoring, 3.11 through the C trace
hooks (recorder/src/legacy.rs), which map the older hook's events onto the
same trace events; 3.14 and 3.15 report some events differently again, and
recorder/src/monitoring.rs maps those onto 3.12's (see docs/recorder.md,
"Supported interpreters"). For each program of the corpus (tests/programs),
this records it with every interpreter listed in TRACESIEVE_PYTHONS and
checks that the canonical JSON export's `events` (and the code table, and
what the program printed) are those of the 3.12 recording, the
sys.monitoring reference.

TRACESIEVE_PYTHONS lists `VERSION=PYTHON` pairs separated by spaces, each
PYTHON an interpreter with tracesieve installed; scripts/test.sh sets it, with
3.14 and 3.15 as the wrappers scripts/sid-python.sh makes (they run the
interpreter in a Debian sid root):

    TRACESIEVE_PYTHONS="3.11=.venv-3.11/bin/python 3.12=.venv/bin/python 3.13=.venv-3.13/bin/python 3.14=target/sid/3.14/bin/python 3.15=target/sid/3.15/bin/python"

Every program of the corpus behaves the same on 3.11 to 3.15 and is
compared (but long_running.py, which runs until killed); none needed
excluding. The bundled sample (sample/main.py) is compared too. (threads.py keeps its Thread objects out of
recorded variables: their attributes differ between versions. That is the
program's choice, documented there, not an exclusion.) raise_sites.py and
yield_from_iterators.py are recorded only here: they hold the cases where
the interpreters' reports differ (issue 12).
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from corpus import INTERPRETER_SCRIPTS, SCRIPTS, recording_env

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = REPO / "tests" / "programs"
REFERENCE = "3.12"


def _pythons():
    pairs = {}
    for item in os.environ.get("TRACESIEVE_PYTHONS", "").split():
        version, sep, python = item.partition("=")
        if sep and python:
            pairs[version] = python
    return pairs


PYTHONS = _pythons()
OTHERS = sorted(v for v in PYTHONS if v != REFERENCE)

if not PYTHONS:
    pytestmark = pytest.mark.skip(
        reason="TRACESIEVE_PYTHONS is not set (e.g. '3.11=.venv-3.11/bin/python 3.12=.venv/bin/python'; scripts/test.sh sets it)"
    )
elif REFERENCE not in PYTHONS or not OTHERS:
    pytestmark = pytest.mark.skip(
        reason=f"TRACESIEVE_PYTHONS must list {REFERENCE} (the sys.monitoring reference) and at least one other version; it has {sorted(PYTHONS)}"
    )

# (id, command-line part naming the program, working directory)
CASES = [
    (name, [str(PROGRAMS / f"{name}.py")], None)
    for name in SCRIPTS + INTERPRETER_SCRIPTS
] + [
    ("imports-paths-naming", ["--module-names", "paths", str(PROGRAMS / "imports.py")], None),
    ("module-pkgdemo", ["-m", "pkgdemo", "x"], PROGRAMS),
    # The bundled sample, as the README's main job records it (its
    # .codetracer filter found from the script's folder).
    ("bundled-sample", [str(REPO / "sample" / "main.py")], REPO / "sample"),
]


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """Records (and exports) each case with each interpreter, once."""
    cache = {}
    root = tmp_path_factory.mktemp("backends")

    def get(version, case):
        key = (version, case[0])
        if key not in cache:
            name, program, cwd = case
            python = PYTHONS[version]
            out = root / f"{name}-{version}.tsieve"
            run = subprocess.run(
                [python, "-m", "tracesieve", "record", "-q", "-o", str(out), *program],
                capture_output=True,
                text=True,
                cwd=cwd or root,
                env=recording_env(),
                timeout=120,
            )
            assert out.exists(), f"{python}: {run.stderr}"
            exported = root / f"{name}-{version}.json"
            done = subprocess.run(
                [python, "-m", "tracesieve", "export", str(out), "--format", "json", "--canonical", "-o", str(exported)],
                capture_output=True,
                text=True,
                env=recording_env(),
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
            cache[key] = (run, json.loads(exported.read_text(encoding="utf-8")))
        return cache[key]

    return get


def _code_table(trace):
    # `inputs` counts sys.modules entries, which differ between versions.
    return [(c["filename"], c["qualname"], c["first_line"], c["dunder_name"], c["module_name"], c["label"]) for c in trace["codes"]]


def _first_difference(expected, actual):
    for i, (a, b) in enumerate(zip(expected, actual)):
        if a != b:
            return f"event #{i}:\n  {REFERENCE}: {json.dumps(a)[:400]}\n  other: {json.dumps(b)[:400]}"
    return f"lengths differ: {len(expected)} vs {len(actual)}"


@pytest.mark.parametrize("version", OTHERS or ["-"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_same_events_as_sys_monitoring(recordings, case, version):
    reference_run, reference = recordings(REFERENCE, case)
    run, trace = recordings(version, case)
    assert run.stdout == reference_run.stdout
    assert run.returncode == reference_run.returncode
    assert trace["header"]["python"].startswith(version + ".")
    assert reference["header"]["python"].startswith(REFERENCE + ".")
    assert len(reference["events"]) > 0
    assert trace["events"] == reference["events"], _first_difference(reference["events"], trace["events"])
    assert _code_table(trace) == _code_table(reference)
    assert trace["trailer"]["exit_status"] == reference["trailer"]["exit_status"] == run.returncode
    assert trace["trailer"]["stats"]["redacted"] == reference["trailer"]["stats"]["redacted"]
    assert trace["trailer"]["stats"]["dropped"] == reference["trailer"]["stats"]["dropped"]
