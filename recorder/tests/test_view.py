"""`tracesieve view`: the bundled viewer and one trace on 127.0.0.1, nothing else.

These tests serve a stand-in viewer folder ($TRACESIEVE_VIEWER_DIR), so they
check the server, not the app; the real page is driven in Chromium by
tests/browser (scripts/test.sh), through this same command.
"""

import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tracesieve import _viewer


@pytest.fixture
def viewer(tmp_path, monkeypatch):
    folder = tmp_path / "viewer"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>viewer</title>")
    (folder / "assets" / "app_bg.wasm").write_bytes(b"\0asm\1\0\0\0")
    (tmp_path / "secret.txt").write_text("not for the browser")
    monkeypatch.setenv("TRACESIEVE_VIEWER_DIR", str(folder))
    return folder


@pytest.fixture
def trace_file(tmp_path):
    path = tmp_path / "my trace.tsieve"
    path.write_bytes(b"\x89TSV\r\n\x1a\n" + bytes(range(256)))
    return path


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.headers.get("Content-Type"), response.read()


def status_of(url):
    try:
        return fetch(url)[0]
    except urllib.error.HTTPError as error:
        return error.code


def test_serves_the_page_its_files_and_the_trace(viewer, trace_file):
    server = _viewer.ViewServer(trace_file, port=0)
    server.start()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert "?trace=trace%2Fmy+trace.tsieve" in server.url
        base = server.url.split("?")[0]
        assert fetch(server.url)[2].startswith(b"<!doctype html>")
        assert fetch(base + "assets/app_bg.wasm")[1] == "application/wasm"
        assert fetch(base + "trace/my%20trace.tsieve")[2] == trace_file.read_bytes()
    finally:
        server.close()


def test_serves_nothing_else(viewer, trace_file):
    server = _viewer.ViewServer(trace_file, port=0)
    server.start()
    try:
        base = server.url.split("?")[0]
        for path in ("secret.txt", "../secret.txt", "%2e%2e/secret.txt", "trace/other.tsieve", "assets/"):
            assert status_of(base + path) == 404, path
    finally:
        server.close()


def test_a_missing_viewer_or_trace_is_a_clear_error(tmp_path, trace_file, monkeypatch):
    monkeypatch.setenv("TRACESIEVE_VIEWER_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(_viewer.ViewerMissing, match="build-viewer.sh"):
        _viewer.ViewServer(trace_file)
    result = subprocess.run(
        [sys.executable, "-m", "tracesieve", "view", "--no-browser", str(trace_file)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "no built viewer" in result.stderr


def test_the_command_prints_where_it_serves(viewer, trace_file):
    process = subprocess.Popen(
        [sys.executable, "-m", "tracesieve", "view", "--no-browser", "--port", "0", str(trace_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("tracesieve view: serving"), line + process.stderr.read()
        url = line.split(" at ")[1].split(" ")[0]
        assert fetch(url)[0] == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
