"""Which build of the extension records: `--version` and `info` say it, and
a debug build warns once when it records (issue 25)."""

import subprocess
import sys

import tracesieve
from tracesieve import _native, _recording
from conftest import PROGRAMS, clean_env, run_cli


def test_version_names_the_build_and_the_interpreter():
    result = run_cli("--version")
    assert result.returncode == 0
    python = ".".join(map(str, sys.version_info[:3]))
    assert result.stdout.strip() == f"tracesieve {_native.__version__} ({_native.BUILD} build, CPython {python})"
    assert _native.BUILD in ("release", "debug")


def test_info_names_the_build_that_recorded(tmp_path):
    out = tmp_path / "t.tsieve"
    result = run_cli("record", "-q", "-o", out, PROGRAMS / "recursion.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert tracesieve.info(out)["recorder"] == f"tracesieve {_native.__version__} ({_native.BUILD} build)"
    assert f"({_native.BUILD} build) on Python" in run_cli("info", out).stdout


def test_a_debug_build_warns_once_per_process(monkeypatch, capsys):
    monkeypatch.setattr(_native, "BUILD", "debug")
    monkeypatch.setattr(_recording, "_warned_debug_build", False)
    _recording._warn_if_debug_build()
    _recording._warn_if_debug_build()
    assert capsys.readouterr().err == _recording.DEBUG_BUILD_WARNING + "\n"
    monkeypatch.setattr(_native, "BUILD", "release")
    monkeypatch.setattr(_recording, "_warned_debug_build", False)
    _recording._warn_if_debug_build()
    assert capsys.readouterr().err == ""


def test_a_debug_build_warns_on_stderr_when_it_records(tmp_path):
    """Through the command line, as a user meets it: the warning comes first,
    once, and the program's own output is untouched."""
    out = tmp_path / "t.tsieve"
    script = (
        "import sys; from tracesieve import _native, cli; _native.BUILD = 'debug'; "
        f"sys.exit(cli.main(['record', '-q', '-o', {str(out)!r}, {str(PROGRAMS / 'recursion.py')!r}]))"
    )
    debug = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=clean_env(), cwd=tmp_path)
    plain = subprocess.run([sys.executable, str(PROGRAMS / "recursion.py")], capture_output=True, text=True, env=clean_env(), cwd=tmp_path)
    assert debug.returncode == plain.returncode == 0
    assert debug.stdout == plain.stdout
    assert debug.stderr == _recording.DEBUG_BUILD_WARNING + "\n" + plain.stderr
