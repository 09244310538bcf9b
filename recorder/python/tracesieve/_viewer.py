"""``tracesieve view``: serves the bundled viewer on 127.0.0.1 with one trace.

The viewer (the Yew app, built by trunk) is bundled in this package as
static files under ``tracesieve/viewer/`` (``$TRACESIEVE_VIEWER_DIR``
serves another build instead). The server answers only with
those files and with the one trace, at ``/trace/<name>``; the page is
opened at ``/?trace=trace/<name>``, so the viewer fetches it from this
server and nothing leaves the machine. No directory listings, no other
files, and only the loopback interface.
"""

from __future__ import annotations

import http.server
import os
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


def _handler(root: Path, trace: Path) -> type:
    trace_url = TRACE_PREFIX + urllib.parse.quote(trace.name)

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "tracesieve-view"

        def do_GET(self) -> None:  # noqa: N802 (the http.server API)
            self._serve(send_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(send_body=False)

        def _serve(self, send_body: bool) -> None:
            path = urllib.parse.urlsplit(self.path).path
            if path == trace_url:
                self._send_file(trace, "application/octet-stream", send_body)
                return
            relative = "index.html" if path in ("", "/") else urllib.parse.unquote(path).lstrip("/")
            target = (root / relative).resolve()
            if root not in target.parents or not target.is_file():
                self.send_error(404)
                return
            self._send_file(target, _TYPES.get(target.suffix, "application/octet-stream"), send_body)

        def _send_file(self, path: Path, content_type: str, send_body: bool) -> None:
            try:
                body = path.read_bytes()
            except OSError as error:
                self.send_error(500, str(error))
                return
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the command prints its URL and nothing else

    return Handler


class ViewServer:
    """The viewer and one trace, served on 127.0.0.1:``port`` (0: any free port)."""

    def __init__(self, trace: "os.PathLike[str] | str", port: int = 0) -> None:
        self.trace = Path(trace).resolve()
        if not self.trace.is_file():
            raise FileNotFoundError(f"{trace}: no such trace file")
        root = viewer_dir()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _handler(root, self.trace))
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        """The page's address with the trace preloaded."""
        host, port = self._server.server_address[:2]
        query = urllib.parse.urlencode({"trace": TRACE_PREFIX.lstrip("/") + self.trace.name})
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
