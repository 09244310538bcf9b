"""Wheels a user can install (issue 12): `scripts/build-wheels.sh` builds a
release wheel with the viewer bundled, and that wheel, installed into a fresh
virtualenv without the network, records a program and serves the viewer.

The wheel is for the interpreter running these tests, built into a temporary
folder (seconds when scripts/setup.sh has just built the extension for it:
the build reuses target/pyX.Y). With TRACESIEVE_WHEEL_DIR set, the wheel for
this interpreter in that folder is tested instead (target/wheels after
`scripts/build-wheels.sh`). Building needs the viewer built first
(scripts/build-viewer.sh): without it the script refuses, and so these fail.

That a development install without a viewer says how to build it is
recorder/tests/test_view.py's (test_a_missing_viewer_or_trace_is_a_clear_error).
"""

import os
import re
import select
import shutil
import subprocess
import sys
import zipfile
from http.client import HTTPConnection
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUILD_WHEELS = REPO / "scripts" / "build-wheels.sh"
VERSION = "%d.%d" % sys.version_info[:2]
ABI = "cp%d%d" % sys.version_info[:2]

PROGRAM = """\
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

print("fib(10) =", fib(10))
"""


def clean_env():
    """This environment without what points Python or tracesieve elsewhere:
    the installed package must stand on its own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TRACESIEVE_", "PYTHON", "PIP_")) and key not in ("VIRTUAL_ENV", "CARGO_TARGET_DIR", "PYO3_PYTHON")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    folder = os.environ.get("TRACESIEVE_WHEEL_DIR")
    if folder:
        found = sorted(Path(folder).glob(f"tracesieve-*-{ABI}-{ABI}-*.whl"))
        if not found:
            pytest.fail(f"TRACESIEVE_WHEEL_DIR={folder} holds no tracesieve wheel for {ABI}: run scripts/build-wheels.sh {VERSION}")
        return found[-1]
    out = tmp_path_factory.mktemp("wheels")
    result = subprocess.run(
        ["bash", str(BUILD_WHEELS), "--out", str(out), VERSION],
        capture_output=True, text=True, timeout=1800, cwd=REPO,
    )
    assert result.returncode == 0, f"scripts/build-wheels.sh {VERSION} failed:\n{result.stdout}\n{result.stderr}"
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh virtualenv with only the wheel installed (pip, no index)."""
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=clean_env(), timeout=300)
    python = venv / "bin" / "python"
    result = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-index", "--no-deps", str(wheel)],
        capture_output=True, text=True, env=clean_env(), timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return venv


def viewer_files(wheel):
    """{name under tracesieve/viewer/: bytes} of the wheel."""
    prefix = "tracesieve/viewer/"
    with zipfile.ZipFile(wheel) as archive:
        return {
            name[len(prefix):]: archive.read(name)
            for name in archive.namelist()
            if name.startswith(prefix) and not name.endswith("/")
        }


def test_the_wheel_passes_the_scripts_check(wheel):
    result = subprocess.run(["bash", str(BUILD_WHEELS), "--check", str(wheel)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    files = viewer_files(wheel)
    assert "index.html" in files
    assert any(name.endswith(".wasm") for name in files)


def test_the_installed_package_is_the_wheels_and_records(installed, tmp_path):
    python = installed / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import tracesieve, tracesieve._native as n; print(tracesieve.__file__); print(n.BUILD)"],
        capture_output=True, text=True, cwd=tmp_path, env=clean_env(), check=True,
    ).stdout.split("\n")
    assert Path(where[0]).is_relative_to(installed), f"tracesieve imported from {where[0]}, not from the fresh virtualenv"
    assert where[1] == "release"

    (tmp_path / "prog.py").write_text(PROGRAM)
    result = subprocess.run(
        [str(installed / "bin" / "tracesieve"), "record", "-o", "t.tsieve", "prog.py"],
        capture_output=True, text=True, cwd=tmp_path, env=clean_env(), timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "fib(10) = 55\n"
    assert "-> t.tsieve" in result.stderr
    info = subprocess.run(
        [str(installed / "bin" / "tracesieve"), "info", "t.tsieve"],
        capture_output=True, text=True, cwd=tmp_path, env=clean_env(), check=True,
    ).stdout
    assert f"(release build) on Python {VERSION}." in info


def get(port, path):
    """(status, Content-Type, body) of GET ``path``, asked as a browser on the page would."""
    connection = HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path, headers={"Host": f"127.0.0.1:{port}"})
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        connection.close()


def test_view_serves_the_bundled_page_its_wasm_and_the_trace(installed, wheel, tmp_path):
    (tmp_path / "prog.py").write_text(PROGRAM)
    tracesieve = str(installed / "bin" / "tracesieve")
    subprocess.run([tracesieve, "record", "-q", "-o", "t.tsieve", "prog.py"], cwd=tmp_path, env=clean_env(), check=True, timeout=120)
    server = subprocess.Popen(
        [tracesieve, "view", "--no-browser", "--port", "0", "t.tsieve"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path, env=clean_env(),
    )
    try:
        ready, _, _ = select.select([server.stdout], [], [], 60)
        assert ready, "tracesieve view printed nothing in 60 s"
        line = server.stdout.readline()
        if not line:  # it stopped: say why
            server.wait(timeout=30)
        found = re.search(r" at (http://127\.0\.0\.1:(\d+)(/\S*)) ", line)
        assert found, f"no address in {line!r}; stderr: {server.stderr.read() if server.poll() is not None else ''}"
        port, page = int(found[2]), found[3]
        assert page == "/?trace=trace%2Ft.tsieve"

        files = viewer_files(wheel)
        status, content_type, body = get(port, page)
        assert (status, content_type) == (200, "text/html; charset=utf-8")
        assert body == files["index.html"]
        assert b"<title>tracesieve viewer</title>" in body

        # What the page loads, then every file of the viewer (the worker's too).
        referenced = set(re.findall(rb"""["']/([\w.-]+\.(?:js|wasm|css|svg))["']""", body))
        assert any(name.endswith(b".wasm") for name in referenced), body
        assert {name.decode() for name in referenced} <= set(files)
        for name, data in files.items():
            status, content_type, served = get(port, "/" + name)
            assert status == 200, name
            assert served == data, name
            if name.endswith(".wasm"):
                assert content_type == "application/wasm"

        status, content_type, served = get(port, "/trace/t.tsieve")
        assert (status, content_type) == (200, "application/octet-stream")
        assert served == (tmp_path / "t.tsieve").read_bytes()
        assert server.poll() is None, "the server stopped"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()
        server.stderr.close()


def test_build_wheels_refuses_without_the_viewer(tmp_path):
    """The script in a checkout without recorder/python/tracesieve/viewer/:
    one line saying what to do, exit status 1, no wheel."""
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name in ("build-wheels.sh", "env.sh"):
        shutil.copy(REPO / "scripts" / name, scripts / name)
    (tmp_path / "recorder" / "python" / "tracesieve").mkdir(parents=True)
    out = tmp_path / "out"
    result = subprocess.run(["bash", str(scripts / "build-wheels.sh"), "--out", str(out), VERSION], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "refusing to build wheels without the viewer" in result.stderr
    assert "scripts/build-viewer.sh" in result.stderr and "--build-viewer" in result.stderr
    assert not out.exists()


def fake_wheel(path, names):
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, b"\0asm" if name.endswith(".wasm") else b"")
    return path


@pytest.mark.parametrize(
    "left_out, added, problem",
    [
        ("tracesieve/viewer/index.html", None, "the viewer is not bundled"),
        ("tracesieve/viewer/app_bg.wasm", None, "no .wasm in tracesieve/viewer/"),
        ("tracesieve/_native.cpython-312-x86_64-linux-gnu.so", None, "no extension module for CPython 3.12"),
        (None, "tracesieve/__pycache__/cli.cpython-312.pyc", "bytecode taken from the package folder"),
        ("tracesieve/py.typed", None, "no tracesieve/py.typed"),
        ("tracesieve/_native.pyi", None, "no tracesieve/_native.pyi"),
    ],
)
def test_the_check_refuses_an_incomplete_wheel(tmp_path, left_out, added, problem):
    names = {
        "tracesieve/__init__.py",
        "tracesieve/_native.cpython-312-x86_64-linux-gnu.so",
        "tracesieve/_native.pyi",
        "tracesieve/py.typed",
        "tracesieve/viewer/index.html",
        "tracesieve/viewer/app_bg.wasm",
        "tracesieve-0.1.0.dist-info/RECORD",
    }
    (tmp_path / "good").mkdir()
    good = fake_wheel(tmp_path / "good" / "tracesieve-0.1.0-cp312-cp312-manylinux_2_34_x86_64.whl", sorted(names))
    check = subprocess.run(["bash", str(BUILD_WHEELS), "--check", str(good)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    names = (names - {left_out}) | ({added} - {None})
    bad = fake_wheel(tmp_path / "tracesieve-0.1.0-cp312-cp312-manylinux_2_34_x86_64.whl", sorted(names))
    check = subprocess.run(["bash", str(BUILD_WHEELS), "--check", str(bad)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 1
    assert problem in check.stderr
