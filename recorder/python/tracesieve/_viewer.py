"""``tracesieve view``: serves the bundled viewer on 127.0.0.1 with one trace
(or one trace set).

The viewer (the Yew app, built by trunk) is bundled in this package as
static files under ``tracesieve/viewer/`` (``$TRACESIEVE_VIEWER_DIR``
serves another build instead). The server answers only with
those files and with the one trace, at ``/trace/<name>``; the page is
opened at ``/?trace=trace/<name>``, so the viewer fetches it from this
server and nothing leaves the machine. A trace with a ``<name>.d`` folder
is a trace set: the child processes' traces found there when the server
starts are served too, at ``/trace/<name>.d/<pid>.tsieve``, and the page
is opened with one ``trace=`` per file, which it opens as a set. No
directory listings, no other files, and only the loopback interface.

A page on another site must not read the trace either. DNS rebinding points
a name of the attacker's at 127.0.0.1, so the server answers only requests
whose ``Host`` names the address it serves on (``127.0.0.1``, ``localhost``
or ``[::1]``, with the port: Vite's CVE-2025-24010, webpack-dev-server's
``allowedHosts``, Jupyter's ``local_hostnames``), and no other site's
subresource requests (``Sec-Fetch-Site``); every answer forbids embedding
elsewhere (``Cross-Origin-Resource-Policy``, ``frame-ancestors``) and
sniffing, and the page runs under a Content-Security-Policy that lets it
load and talk to this server only.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import os
import re
import sys
import threading
import urllib.parse
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Optional

VIEWER_DIR = Path(__file__).resolve().parent / "viewer"
TRACE_PREFIX = "/trace/"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".wasm": "application/wasm",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".ico": "image/x-icon",
}

# The page's policy: its scripts, stylesheet, icon and wasm from this server
# (trunk's inline loader by hash, computed from the served index.html);
# WebAssembly compiled ('wasm-unsafe-eval'); the worker started from a blob
# URL (it importScripts this server's worker.js, under this same policy);
# fetch() to this server only (the trace, the wasm); inline style attributes
# (Yew's computed heights and offsets), but no inline <style> or script.
_PAGE_POLICY = (
    "default-src 'none'",
    "script-src 'self' 'wasm-unsafe-eval'{hashes}",
    "worker-src 'self' blob:",
    "connect-src 'self'",
    "style-src 'self'",
    "style-src-attr 'unsafe-inline'",
    "img-src 'self'",
    "base-uri 'self'",
    "form-action 'none'",
    "frame-ancestors 'none'",
)
# Everything else (the trace, scripts, wasm, errors) is never a document.
_OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"
_INLINE_SCRIPT = re.compile(rb"<script\b([^>]*)>(.*?)</script", re.IGNORECASE | re.DOTALL)
_SRC_ATTRIBUTE = re.compile(rb"\ssrc\s*=", re.IGNORECASE)


def page_policy(html: bytes) -> str:
    """The Content-Security-Policy for the page ``html``: `_PAGE_POLICY` with
    the hash of each of its inline scripts."""
    hashes = ""
    for match in _INLINE_SCRIPT.finditer(html):
        if _SRC_ATTRIBUTE.search(match.group(1)):
            continue
        # What the browser hashes: the script's text after HTML's newline normalization.
        text = match.group(2).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        digest = base64.b64encode(hashlib.sha256(text).digest()).decode("ascii")
        hashes += f" 'sha256-{digest}'"
    return "; ".join(_PAGE_POLICY).replace("{hashes}", hashes)


def allowed_hosts(host: str, port: int) -> "frozenset[str]":
    """The ``Host`` values a browser sends for a server on ``host``:``port``
    (lowercase): the bound address and the loopback names, with the port, and
    also without it on port 80 (a browser leaves the default port out)."""
    names = {"localhost", "127.0.0.1", "[::1]", f"[{host}]" if ":" in host else host}
    hosts = {f"{name.lower()}:{port}" for name in names}
    if port == 80:
        hosts |= {name.lower() for name in names}
    return frozenset(hosts)


class ViewerMissing(RuntimeError):
    """This installation has no built viewer."""


def viewer_dir() -> Path:
    """The viewer's folder ($TRACESIEVE_VIEWER_DIR, else the bundled one);
    raises ViewerMissing when it has no built viewer."""
    folder = Path(os.environ.get("TRACESIEVE_VIEWER_DIR") or VIEWER_DIR).resolve()
    if not (folder / "index.html").is_file():
        raise ViewerMissing(
            f"no built viewer in {folder} (no index.html); "
            "in a checkout, ./scripts/build-viewer.sh builds the viewer and bundles it here"
        )
    return folder


def trace_paths(trace: Path) -> "dict[str, Path]":
    """The URL path of each file of the set whose first trace is ``trace``:
    ``/trace/<name>``, and ``/trace/<name>.d/<child>`` for each child
    process's trace (the ``set_members`` of ``trace``, as listed now)."""
    from ._traces import set_members

    paths = {TRACE_PREFIX + urllib.parse.quote(trace.name): trace}
    for member in set_members(trace):
        child = Path(member)
        paths[TRACE_PREFIX + urllib.parse.quote(f"{trace.name}.d/{child.name}")] = child
    return paths


def _handler(root: Path, traces: "dict[str, Path]") -> type:

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "tracesieve-view"
        policy = _OTHER_POLICY
        server: _Server

        def do_GET(self) -> None:  # noqa: N802 (the http.server API)
            self._serve(send_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(send_body=False)

        def _serve(self, send_body: bool) -> None:
            self.policy = _OTHER_POLICY
            refusal = self._refusal()
            if refusal is not None:
                self._refuse(refusal, send_body)
                return
            path = urllib.parse.urlsplit(self.path).path
            trace = traces.get(path)
            if trace is not None:
                self._send_file(trace, "application/octet-stream", send_body)
                return
            relative = "index.html" if path in ("", "/") else urllib.parse.unquote(path).lstrip("/")
            target = (root / relative).resolve()
            if root not in target.parents or not target.is_file():
                self.send_error(404)
                return
            self._send_file(target, _TYPES.get(target.suffix, "application/octet-stream"), send_body)

        def _refusal(self) -> "Optional[str]":
            """Why this request is not answered (None: it is)."""
            allowed = self.server.allowed_hosts
            if self.path.startswith("/"):
                hosts = self.headers.get_all("Host") or []
                if len(hosts) != 1:
                    return "a request needs one Host header"
                host = hosts[0].strip()
            else:  # absolute-form ("GET http://host/ HTTP/1.1"): its host counts, not Host's
                target = urllib.parse.urlsplit(self.path)
                if target.scheme.lower() != "http":
                    return "only http:// addresses are served"
                host = target.netloc
            if host.lower() not in allowed:
                address = "%s:%s" % self.server.server_address[:2]
                return f"this server answers only as {address} or localhost, not as {host[:100]!r}"
            # A fetch, script or image of another site's page (a navigation is fine).
            site = self.headers.get("Sec-Fetch-Site", "")
            if site in ("cross-site", "same-site") and self.headers.get("Sec-Fetch-Mode") != "navigate":
                return "a page of another site cannot read from this server"
            return None

        def _refuse(self, reason: str, send_body: bool) -> None:
            body = f"403 Forbidden: tracesieve view: {reason}\n".encode("utf-8", "replace")
            self.send_response(403)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.close_connection = True
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def _send_file(self, path: Path, content_type: str, send_body: bool) -> None:
            try:
                body = path.read_bytes()
            except OSError as error:
                self.send_error(500, str(error))
                return
            if content_type.startswith("text/html"):
                self.policy = page_policy(body)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def end_headers(self) -> None:
            # On every answer, errors included.
            self.send_header("Content-Security-Policy", self.policy)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
            super().end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the command prints its URL and nothing else

    return Handler


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # An IPv4 server's address, and the Host values it answers to.
    server_address: "tuple[str, int]"
    allowed_hosts: "frozenset[str]"

    def server_bind(self) -> None:
        super().server_bind()
        host, port = self.server_address[:2]
        self.allowed_hosts = allowed_hosts(host, port)

    def handle_error(self, request: object, client_address: object) -> None:
        # A browser that hangs up (a closed tab, a reload, a cancelled fetch)
        # is not an error; anything else is reported, with its traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class ViewServer:
    """The viewer and one trace (with the child processes' traces of its
    set, if any), served on 127.0.0.1:``port`` (0: any free port)."""

    def __init__(self, trace: "os.PathLike[str] | str", port: int = 0) -> None:
        self.trace = Path(trace).resolve()
        if not self.trace.is_file():
            raise FileNotFoundError(f"{trace}: no such trace file")
        root = viewer_dir()
        self._traces = trace_paths(self.trace)
        self._server = _Server(("127.0.0.1", port), _handler(root, self._traces))

    @property
    def url(self) -> str:
        """The page's address with the trace (every file of its set) preloaded."""
        host, port = self._server.server_address[:2]
        paths = [urllib.parse.unquote(path).lstrip("/") for path in self._traces]
        query = urllib.parse.urlencode([("trace", path) for path in paths])
        return f"http://{host}:{port}/?{query}"

    def serve_forever(self) -> None:
        """Serves until ``close()`` (from another thread) or Ctrl-C, then frees the port."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def start(self) -> None:
        """Serves from a background thread."""
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        """Stops a ``serve_forever`` running in another thread."""
        self._server.shutdown()


def view(trace: str, port: int = 0, open_browser: bool = True, announce: "Optional[Callable[[str], None]]" = None) -> None:
    """Serves the viewer with ``trace`` until interrupted; opens a browser unless told not to."""
    server = ViewServer(trace, port)
    if announce is not None:
        announce(server.url)
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
