"""The pytest plugin: ``pytest --tracesieve DIR`` records each test (its
setup, call and teardown) into a trace of its own in DIR, and keeps the
traces of the tests that failed (``--tracesieve-keep all`` keeps every
one). The terminal summary lists the kept traces with the command that
opens each. Installed with tracesieve as a ``pytest11`` entry point; where
plugins are not loaded automatically, ``-p tracesieve._pytest``.

Each trace is recorded with the chain ``tracesieve record --pytest`` uses:
the built-in default and pytest filters, the project's
``.codetracer/trace-filter.toml`` found from pytest's rootdir,
``$TRACESIEVE_FILTER``, then each ``--tracesieve-filter``. Its trailer's
exit status is the test's outcome: 0 passed (or skipped), 1 failed. Its
header's argv is ``pytest NODEID``.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex

import pytest

TYPE_CHECKING = False  # importing typing costs start-up time; annotations only

if TYPE_CHECKING:
    from types import ModuleType
    from typing import Iterator, List, Optional, Tuple

    from ._types import Values

KEEP_CHOICES = ("failed", "all")
# The longest file name stem made from a node id (the rest is a hash).
MAX_STEM = 120


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("tracesieve", "recording tests with tracesieve")
    group.addoption("--tracesieve", metavar="DIR", help="record each test into DIR/NODEID.tsieve (kept for failing tests)")
    group.addoption(
        "--tracesieve-keep",
        choices=KEEP_CHOICES,
        default="failed",
        help="which tests' traces to keep: failed (default) or all",
    )
    group.addoption("--tracesieve-filter", action="append", default=[], metavar="PATH", help="a filter file after the built-in ones, repeatable")
    group.addoption("--tracesieve-values", choices=["none", "args", "all"], default="all", help="values to capture (default: all)")


def pytest_configure(config: pytest.Config) -> None:
    directory = config.getoption("tracesieve")
    if not directory:
        return
    from ._filters import existing_filter_paths

    try:
        existing_filter_paths(config.getoption("tracesieve_filter"))
    except FileNotFoundError as error:
        raise pytest.UsageError(f"--tracesieve-filter: {error}") from None
    config.pluginmanager.register(TestRecorder(config, directory), "tracesieve-recorder")


def trace_name(nodeid: str) -> str:
    """The file name of a test's trace: its node id with every character
    but letters, digits, ``.``, ``_`` and ``-`` made ``_``, cut to
    ``MAX_STEM`` characters, and a short hash of the whole id (two ids that
    read the same once cleaned stay apart)."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", nodeid).strip("._")[:MAX_STEM]
    digest = hashlib.sha256(nodeid.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{stem}-{digest}.tsieve"


class TestRecorder:
    """Records each test of the session into a trace of its own."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, config: pytest.Config, directory: str) -> None:
        self.config = config
        self.directory = os.path.abspath(directory)
        self.keep_all = config.getoption("tracesieve_keep") == "all"
        self.filters: List[str] = list(config.getoption("tracesieve_filter"))
        self.values: Values = config.getoption("tracesieve_values")
        # (node id, trace path, failed) of each trace kept.
        self.kept: List[Tuple[str, str, bool]] = []
        # Why nothing is recorded, once recording could not start.
        self.disabled: Optional[str] = None
        # The test being recorded, and whether a phase of it failed.
        self.current: Optional[str] = None
        self.failed = False

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: Optional[pytest.Item]) -> Iterator[None]:
        from . import _recording

        path = self._start(item, _recording)
        try:
            yield
        finally:
            if path is not None:
                self._finish(item, path, _recording)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid == self.current and report.failed:
            self.failed = True

    def _start(self, item: pytest.Item, recording: ModuleType) -> Optional[str]:
        if self.disabled is not None:
            return None
        if recording.is_recording():
            # `tracesieve record --pytest` (or the test's own recording)
            # already records this process: one recording at a time.
            self.disabled = "this process is already being recorded (tracesieve record?)"
            return None
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, trace_name(item.nodeid))
        try:
            recording.start(
                path,
                filters=self.filters,
                framework="pytest",
                values=self.values,
                discover_from=str(self.config.rootpath),
                argv=["pytest", item.nodeid],
            )
        except Exception as error:  # noqa: BLE001 - the run goes on unrecorded, with one warning
            self.disabled = f"recording could not start: {error}"
            return None
        self.current, self.failed = item.nodeid, False
        return path

    def _finish(self, item: pytest.Item, path: str, recording: ModuleType) -> None:
        recording.stop(1 if self.failed else 0)
        self.current = None
        if self.failed or self.keep_all:
            self.kept.append((item.nodeid, path, self.failed))
        else:
            try:
                os.unlink(path)
            except OSError:
                pass

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.disabled is not None:
            terminalreporter.write_line(f"tracesieve: nothing recorded: {self.disabled}", yellow=True)
            return
        if not self.kept:
            terminalreporter.write_line("tracesieve: no trace kept (no test failed; --tracesieve-keep all keeps every one)")
            return
        failed = sum(1 for _, _, was_failed in self.kept if was_failed)
        terminalreporter.section("tracesieve")
        terminalreporter.write_line(f"{len(self.kept)} traces in {self.directory} ({failed} of failing tests):")
        for nodeid, path, was_failed in self.kept:
            terminalreporter.write_line(f"  {'FAILED ' if was_failed else ''}{nodeid}")
            terminalreporter.write_line(f"    tracesieve view {shlex.quote(path)}")
