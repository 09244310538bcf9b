"""The shapes of what crosses tracesieve's Python boundary: the settings
handed to the extension's ``start`` and the dicts that ``info``, ``stop``,
``explain``, ``refilter`` and the filter checks return.

They are ``TypedDict``s: at run time the values are plain dicts, so these
classes only describe them, for type checkers and readers. Nothing in the
package imports this module at run time (importing :mod:`typing` costs
start-up time in every recorded program); ``tracesieve.TraceInfo`` and the
others load it when first asked for.

The shapes follow the Rust code that builds each dict or its JSON:
``recorder/src/options.rs`` (``RecordOptions``), ``recorder/src/hooks.rs``
(``stop``), ``recorder/src/filters.rs`` (a filter's problem),
``engine/src/trace/summary.rs`` (``info``, ``refilter``) and
``engine/src/explain.rs`` (``explain``); ``recorder/tests/test_typed_boundary.py``
checks each against what the extension really returns.

(No ``from __future__ import annotations`` here: a ``TypedDict`` sees
``NotRequired`` only in an evaluated annotation.)
"""

import os
from typing import Dict, List, Literal, NotRequired, Optional, Sequence, Tuple, TypedDict, Union, final

__all__ = [
    "Action",
    "Decision",
    "Exec",
    "ExportFormat",
    "FilterSummary",
    "Framework",
    "ModuleNames",
    "PatternRef",
    "Process",
    "ProblemDetails",
    "ProcessEntry",
    "ProcessInfo",
    "ProcessStart",
    "RecordOptions",
    "RecordingSummary",
    "RefilterStats",
    "RuleRef",
    "SetBy",
    "StartOptions",
    "StatsSummary",
    "TraceInfo",
    "Truncation",
    "UnreadableProcess",
    "ValueDecision",
    "ValueKind",
    "ValueWhy",
    "Values",
]

Framework = Literal["pytest", "unittest"]
"""A built-in framework filter."""

ModuleNames = Literal["globals", "paths"]
"""How module names are chosen: from ``__name__``, or from the file's path."""

Values = Literal["none", "args", "all"]
"""Which values a recording captures."""

ProcessStart = Literal["program", "fork", "spawn", "forkserver", "exec"]
"""How a process of a trace set started."""

ValueKind = Literal["arg", "local", "global", "ret", "attr"]
"""The kind of a value a filter decides about."""

Action = Literal["allow", "redact", "drop"]
"""What happens to a value."""

Exec = Literal["trace", "skip"]
"""Whether a scope is traced."""

ExportFormat = Literal["json", "codetracer", "chrome"]
"""A format ``export`` writes."""

ValueWhy = Literal["default", "pattern", "stricter_default", "module_level"]
"""Why a value got its action."""


# --- settings ------------------------------------------------------------------


class RecordOptions(TypedDict, total=False):
    """The settings the extension's ``start(path, filters, options)`` takes,
    besides the trace's path and the filter files; a key left out takes the
    default given here, and an unknown key is refused (TypeError)."""

    builtin_filter: bool
    """The built-in default filter heads the chain (default ``True``)."""
    framework: Optional[Framework]
    """The built-in framework filter after it (default ``None``)."""
    module_names: ModuleNames
    """How module names are chosen (default ``"globals"``)."""
    values: Values
    """Which values are captured (default ``"all"``)."""
    max_depth: int
    """Containers nested deeper are not expanded, 1 to ``MAX_VALUE_DEPTH`` (default 3)."""
    max_items: int
    """Items kept per container (default 32)."""
    max_string_bytes: int
    """Bytes kept of a ``str`` or ``bytes`` value (default 256)."""
    max_nodes: int
    """Values encoded per recorded value, in all (default 100)."""
    repr: bool
    """``repr()`` of objects without a structural encoding (default ``False``)."""
    sources: bool
    """Source files are embedded in the trace (default ``True``)."""
    max_source_bytes: int
    """Larger source files are not embedded (default 1 MiB)."""
    argv: Sequence[str]
    """The program's ``sys.argv`` for the trace's header (default empty)."""
    ignore_prefix: str
    """Code whose filename starts with this is never recorded (default empty)."""
    max_size: Optional[int]
    """Recording stops once the trace file holds this many bytes (default ``None``)."""
    process: Optional[Tuple[int, ProcessStart]]
    """``(parent pid, how it started)`` for a process of a trace set (default ``None``)."""


class StartOptions(TypedDict, total=False):
    """The keyword arguments of :func:`tracesieve.start` (and so of
    :func:`tracesieve.recording`), as its signature documents them."""

    filters: Sequence[Union[str, "os.PathLike[str]"]]
    builtin: bool
    framework: Optional[Framework]
    module_names: ModuleNames
    values: Values
    max_depth: int
    max_items: int
    max_string_bytes: int
    max_nodes: int
    repr: bool
    sources: bool
    discover: bool
    discover_from: Optional[str]
    argv: Optional[Sequence[str]]
    max_size: Optional[Union[int, str]]
    process: Optional[Tuple[int, ProcessStart]]


# --- stop ----------------------------------------------------------------------


class RecordingSummary(TypedDict):
    """What :func:`tracesieve.stop` returns about the recording it ended."""

    path: str
    """The trace file."""
    events: int
    calls: int
    lines: int
    codes: int
    """Code objects recorded."""
    scopes_skipped: int
    """Code objects the filters skipped."""
    redacted: int
    """Values redacted, of every kind."""
    dropped: int
    """Values dropped, of every kind."""
    detached: Optional[str]
    """Why the recorder stopped early after a fault, if it did."""
    size_limit: Optional[int]
    """The ``max_size`` recording stopped at, if it did."""


# --- check ---------------------------------------------------------------------


class ProblemDetails(TypedDict):
    """The first problem of a filter: what the extension's ``check_filter``
    returns, and ``FilterError.problem``."""

    path: str
    """The filter file (or ``<inline:NAME>``)."""
    line: Optional[int]
    column: Optional[int]
    rule: Optional[int]
    """The rule's index in the file, when the problem is in one."""
    pattern: Optional[int]
    """The value pattern's index in the rule, when the problem is in one."""
    code: str
    """CodeTracer's code for it, such as ``ERR_INVALID_POLICY_VALUE``."""
    message: str
    text: str
    """The whole sentence: path, place and message."""


# --- info ----------------------------------------------------------------------


class FilterSummary(TypedDict):
    """One filter of a trace's record-time chain."""

    path: str
    name: Optional[str]
    """``meta.name``, when the filter loads."""
    sha256: str


class StatsSummary(TypedDict):
    """Filter statistics: scopes skipped, values by kind."""

    scopes_skipped: int
    redacted: Dict[str, int]
    """Redacted values per kind (``arg``, ``local``, ``global``, ``ret``, ``attr``)."""
    dropped: Dict[str, int]


class Truncation(TypedDict):
    """Where and why a trace file stops being readable."""

    valid_bytes: int
    reason: str


class ProcessInfo(TypedDict):
    """Which process of a trace set a trace is."""

    pid: int
    parent: int
    started: ProcessStart


@final
class ProcessEntry(TypedDict):
    """A readable process of a trace set, in ``info``'s ``processes``."""

    path: str
    pid: Optional[int]
    parent: Optional[int]
    started: ProcessStart
    start_unix_ms: int
    argv: List[str]
    events: int
    exit_status: Optional[int]
    complete: bool
    depth: int
    """Depth in the process tree: 0 for the first process."""


@final
class UnreadableProcess(TypedDict):
    """A file of a trace set that is not a readable trace."""

    path: str
    error: str
    depth: int


Process = Union[ProcessEntry, UnreadableProcess]
"""An entry of ``info``'s ``processes``: a readable trace, or one that is not."""


class TraceInfo(TypedDict):
    """What :func:`tracesieve.info` returns (``tracesieve info --json``)."""

    recorder: str
    """``tracesieve VERSION (BUILD build)`` that wrote it."""
    python: str
    """The traced interpreter's ``sys.version``."""
    argv: List[str]
    cwd: str
    start_unix_ms: int
    duration_ns: int
    naming: ModuleNames
    values: Values
    events: Dict[str, int]
    """Events by kind (``call``, ``line``, ...)."""
    total_events: int
    codes: int
    sources: int
    threads: List[str]
    """Thread names, by thread number."""
    filters: List[FilterSummary]
    stats: StatsSummary
    exit_status: Optional[int]
    detached: Optional[str]
    size_limit: Optional[int]
    truncation: Optional[Truncation]
    process: Optional[ProcessInfo]
    processes: NotRequired[List[Process]]
    """For the first trace of a trace set: every process of the set, in tree order."""


# --- refilter ------------------------------------------------------------------


class RefilterStats(TypedDict):
    """What :func:`tracesieve.refilter` returns."""

    events: int
    """Events in the new trace."""
    codes: int
    total: StatsSummary
    """The new trace's statistics (record time and this pass together)."""
    added: StatsSummary
    """What this pass alone skipped, redacted and dropped."""
    path: NotRequired[str]
    """The written trace, in each entry of ``processes``."""
    processes: NotRequired[List["RefilterStats"]]
    """For a trace set: each file's own statistics, the first one's first."""


# --- explain -------------------------------------------------------------------


class RuleRef(TypedDict):
    """A rule of the chain."""

    index: int
    """Its index in the whole chain."""
    source: int
    """The index of its filter in the chain."""
    path: str
    index_in_source: int
    selector: str
    reason: Optional[str]


class SetBy(TypedDict):
    """Where a setting comes from: a rule, or (``rule`` null) a filter's default."""

    source: int
    path: str
    rule: Optional[RuleRef]


class PatternRef(TypedDict):
    """A value pattern of a rule."""

    rule: RuleRef
    index: int
    selector: str
    action: Action
    reason: Optional[str]


class ValueDecision(TypedDict):
    """The action for one value asked about."""

    kind: ValueKind
    name: str
    action: Action
    why: ValueWhy
    pattern: Optional[PatternRef]


class Decision(TypedDict):
    """What :func:`tracesieve.explain` returns (``tracesieve explain --json``,
    the shape documented in ``engine/src/explain.rs``)."""

    filename: str
    qualname: str
    label: str
    exec: Exec
    synthetic: bool
    recorded: bool
    exec_set_by: SetBy
    matched_rule: Optional[RuleRef]
    matched_rules: List[int]
    value_default: Action
    value_default_set_by: SetBy
    module_name: Optional[str]
    module_name_source: str
    object_name: Optional[str]
    absolute_path: str
    relative_path: Optional[str]
    project_root: Optional[str]
    values: List[ValueDecision]
