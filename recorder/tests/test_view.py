"""`tracesieve view`: the bundled viewer and one trace on 127.0.0.1, nothing else.

These tests serve a stand-in viewer folder ($TRACESIEVE_VIEWER_DIR), so they
check the server, not the app; the real page is driven in Chromium by
tests/browser (scripts/test.sh), through this same command.
"""

import base64
import hashlib
import http.client
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.parse
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


def test_a_trace_set_is_served_whole_and_nothing_else_beside_it(viewer, trace_file):
    """A trace with a `.d` folder (record followed child processes): each
    child's trace is served, the page is opened with all of them, and other
    files in the folder are not."""
    folder = Path(f"{trace_file}.d")
    folder.mkdir()
    children = [folder / "4242.tsieve", folder / "4243.1.tsieve"]
    for i, child in enumerate(children):
        child.write_bytes(b"\x89TSV\r\n\x1a\n" + bytes([i]) * 64)
    (folder / "notes.txt").write_text("not a trace of the set")
    server = _viewer.ViewServer(trace_file, port=0)
    server.start()
    try:
        base, query = server.url.split("?")
        assert query.count("trace=") == 3
        assert "trace=trace%2Fmy+trace.tsieve.d%2F4242.tsieve" in query
        for child in children:
            assert fetch(f"{base}trace/my%20trace.tsieve.d/{child.name}")[2] == child.read_bytes()
        assert status_of(base + "trace/my%20trace.tsieve.d/notes.txt") == 404
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


# ---------------------------------------------------------------- who may ask

def request(url, path, headers=None):
    """(status, headers, body) of GET ``path`` at ``url``'s server with ``headers`` as given
    (a Host among them replaces the usual one)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.headers, response.read()
    finally:
        connection.close()


def raw_request(url, text):
    """The whole answer to the request ``text``, sent as is."""
    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall(text.encode("latin-1"))
        answer = b""
        while True:
            data = connection.recv(65536)
            if not data:
                return answer
            answer += data


TRACE_PATH = "/trace/my%20trace.tsieve"


@pytest.fixture
def served(viewer, trace_file):
    server = _viewer.ViewServer(trace_file, port=0)
    server.start()
    try:
        yield server, urllib.parse.urlsplit(server.url).port
    finally:
        server.close()


def test_a_request_for_another_host_gets_403_and_nothing_served(served, trace_file):
    # DNS rebinding: evil.example resolves to 127.0.0.1, the browser sends its own name.
    server, port = served
    for path in ("/", "/index.html", TRACE_PATH, "/assets/app_bg.wasm"):
        for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.nip.io:{port}",
                     f"localhost.evil.example:{port}", "127.0.0.1", "localhost", f"127.0.0.1:{port + 1}"):
            status, headers, body = request(server.url, path, {"Host": host})
            assert status == 403, (path, host)
            assert headers["Content-Type"] == "text/plain; charset=utf-8"
            assert body.startswith(b"403 Forbidden: tracesieve view: "), body
            assert trace_file.read_bytes()[:8] not in body and b"<title>" not in body and b"asm" not in body


def test_requests_without_one_right_host_are_refused(served, trace_file):
    server, port = served
    trace = trace_file.read_bytes()
    refused = [
        f"GET {TRACE_PATH} HTTP/1.0\r\n\r\n",  # HTTP/1.0 with no Host: nothing to check, refused
        f"GET {TRACE_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: evil.example\r\n\r\n",
        # absolute-form: its authority counts, not Host (RFC 9112, 3.2.2)
        f"GET http://evil.example{TRACE_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n",
        f"GET https://127.0.0.1:{port}{TRACE_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n",
        f"HEAD {TRACE_PATH} HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    ]
    for text in refused:
        answer = raw_request(server.url, text)
        assert answer.startswith(b"HTTP/1.0 403 "), (text, answer[:100])
        assert trace[:8] not in answer
    answer = raw_request(server.url, f"GET http://127.0.0.1:{port}{TRACE_PATH} HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.0 200 ") and answer.endswith(trace)


def test_another_sites_pages_cannot_fetch_or_embed_the_trace(served, trace_file):
    # Even with the right Host (a page elsewhere fetching http://127.0.0.1:PORT/...).
    server, port = served
    host = {"Host": f"127.0.0.1:{port}"}
    for site in ("cross-site", "same-site"):
        for mode, dest in (("cors", "empty"), ("no-cors", "script"), ("no-cors", "image"), ("no-cors", "empty")):
            status, _, body = request(server.url, TRACE_PATH, {**host, "Sec-Fetch-Site": site, "Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": dest})
            assert status == 403, (site, mode, dest)
            assert trace_file.read_bytes()[:8] not in body
    # A link from elsewhere opens the page; the page's own requests are same-origin.
    assert request(server.url, "/", {**host, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})[0] == 200
    status, _, body = request(server.url, TRACE_PATH, {**host, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"})
    assert (status, body) == (200, trace_file.read_bytes())


def test_a_request_for_this_server_is_answered(served, trace_file):
    server, port = served
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LocalHost:{port}", f"[::1]:{port}"):
        status, _, body = request(server.url, TRACE_PATH, {"Host": host})
        assert (status, body) == (200, trace_file.read_bytes()), host
        assert request(server.url, "/", {"Host": host})[2].startswith(b"<!doctype html>")


def test_the_hosts_a_browser_sends():
    # A browser leaves the port out of Host only when it is the scheme's default.
    assert _viewer.allowed_hosts("127.0.0.1", 8123) == {"127.0.0.1:8123", "localhost:8123", "[::1]:8123"}
    assert _viewer.allowed_hosts("127.0.0.1", 80) >= {"127.0.0.1", "localhost", "[::1]", "127.0.0.1:80"}
    assert "192.168.1.5:8123" in _viewer.allowed_hosts("192.168.1.5", 8123)
    assert "[fe80::1]:8123" in _viewer.allowed_hosts("fe80::1", 8123)


# ---------------------------------------------------------------- what answers say

INLINE = "\nimport init from '/app.js';\nawait init();\n"


def test_the_page_has_a_content_security_policy_it_can_run_under(served, viewer):
    server, port = served
    (viewer / "index.html").write_text(
        f'<!doctype html><title>viewer</title><script type="module">{INLINE}</script>'
        '<script src="/other.js"></script><link rel="stylesheet" href="/app.css">'
    )
    status, headers, _ = request(server.url, "/?trace=trace%2Fmy+trace.tsieve", {"Host": f"127.0.0.1:{port}"})
    assert status == 200
    policy = dict(
        (directive.split(" ", 1) + [""])[:2] for directive in headers["Content-Security-Policy"].split("; ")
    )
    digest = base64.b64encode(hashlib.sha256(INLINE.encode()).digest()).decode()
    assert policy["default-src"] == "'none'"
    # trunk's inline loader by hash, WebAssembly.compile, nothing inline or eval'd besides.
    assert policy["script-src"] == f"'self' 'wasm-unsafe-eval' 'sha256-{digest}'"
    assert "blob:" in policy["worker-src"]  # the viewer starts its worker from a blob URL
    assert policy["connect-src"] == "'self'"  # the trace and the wasm; nothing leaves the machine
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["form-action"] == "'none'" and policy["base-uri"] == "'self'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"


def test_every_answer_forbids_sniffing_embedding_and_referrers(served):
    server, port = served
    for path, host, expected in (
        (TRACE_PATH, f"127.0.0.1:{port}", 200),
        ("/assets/app_bg.wasm", f"127.0.0.1:{port}", 200),
        ("/missing.js", f"127.0.0.1:{port}", 404),
        (TRACE_PATH, "evil.example", 403),
    ):
        status, headers, _ = request(server.url, path, {"Host": host})
        assert status == expected, path
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
        assert headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'; sandbox"


# ---------------------------------------------------------------- hanging up

def test_a_client_that_hangs_up_leaves_no_traceback(viewer, tmp_path):
    # Bigger than the loopback socket buffers, so the server is still writing when the client goes.
    big = tmp_path / "big.tsieve"
    big.write_bytes(os.urandom(1 << 20) * 48)
    process = subprocess.Popen(
        [sys.executable, "-m", "tracesieve", "view", "--no-browser", "--port", "0", str(big)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("tracesieve view: serving"), line + process.stderr.read()
        url = line.split(" at ")[1].split(" ")[0]
        parts = urllib.parse.urlsplit(url)
        for reset in (True, False, None):
            with socket.create_connection((parts.hostname, parts.port), timeout=10) as client:
                if reset is None:
                    continue  # connects, says nothing, goes
                client.sendall(f"GET /trace/big.tsieve HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
                assert client.recv(100).startswith(b"HTTP/1.0 200 ")
                if reset:  # a RST (ECONNRESET) rather than a FIN (EPIPE)
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        assert fetch(url)[0] == 200  # still serving
        time.sleep(1)  # the server's writes fail at once; give its threads time to report
        assert process.poll() is None
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert "Traceback" not in stderr and "Exception" not in stderr, stderr
    assert stderr == ""


def test_other_errors_in_a_request_are_still_reported(served, monkeypatch, capsys):
    server, port = served

    def broken(html):
        raise ValueError("a bug in the server")

    monkeypatch.setattr(_viewer, "page_policy", broken)
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        request(server.url, "/", {"Host": f"127.0.0.1:{port}"})
    # The server reports before it closes the connection the client saw closed.
    err = capsys.readouterr().err
    assert "Traceback" in err and "ValueError: a bug in the server" in err
