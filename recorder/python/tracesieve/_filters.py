"""Filter checking and explaining: the Python face of the engine.

Everything that decides (loading, validating, matching, naming) happens in
the Rust engine; this module finds files, gathers the interpreter's import
state for the `paths` naming mode, and turns results into Python objects.
"""

from __future__ import annotations

import os
import sys
TYPE_CHECKING = False  # importing typing costs start-up time; annotations only

from . import _native

if TYPE_CHECKING:
    from typing import Iterable, List, Optional, Sequence, Tuple, Union

    from ._types import Decision, Framework, ModuleNames

    PathLike = Union[str, "os.PathLike[str]"]
    ValueSpec = Union[str, Tuple[str, str]]

FilterError = _native.FilterError
"""Raised when a filter cannot be read or is invalid; ``.problem`` holds the details."""


class Problem:
    """One problem found in a filter file: where, what, and its CodeTracer code."""

    __slots__ = ("path", "line", "column", "message", "code", "rule", "pattern")

    def __init__(
        self,
        path: str,
        line: Optional[int],
        column: Optional[int],
        message: str,
        code: str,
        rule: Optional[int] = None,
        pattern: Optional[int] = None,
    ) -> None:
        self.path, self.line, self.column, self.message = path, line, column, message
        self.code, self.rule, self.pattern = code, rule, pattern

    def _key(self) -> Tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Problem) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"Problem({fields})"

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}:{self.column}: {self.message}"


def split_filter_specs(specs: Iterable[PathLike]) -> List[str]:
    """Splits each spec on ``::`` into absolute paths, in order.

    Pieces are stripped and empty pieces dropped; ``~`` is expanded. Paths are
    made absolute (symlinks resolved) so that each filter's project root is
    found from where the file really is.
    """
    paths: List[str] = []
    for spec in specs:
        for piece in os.fspath(spec).split("::"):
            piece = piece.strip()
            if piece:
                paths.append(os.path.realpath(os.path.expanduser(piece)))
    return paths


def existing_filter_paths(specs: Iterable[PathLike]) -> List[str]:
    """:func:`split_filter_specs`, raising FileNotFoundError for a path that
    is not a file (recording, explaining and re-filtering need every one)."""
    paths = split_filter_specs(specs)
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"trace filter '{path}' does not exist or is not a file")
    return paths


def _framework(framework: Optional[str]) -> Optional[Framework]:
    if framework == "pytest":
        return "pytest"
    if framework == "unittest":
        return "unittest"
    if framework is not None:
        raise ValueError(f"unknown test framework {framework!r} (expected 'pytest' or 'unittest')")
    return None


def check(*filters: PathLike, builtin: bool = True, framework: Optional[Framework] = None) -> List[Problem]:
    """Validates filter files; returns their problems (empty when all are valid).

    Each file is loaded the way a recording loads it: after the built-in
    default filter (so ``inherit`` is allowed), unless ``builtin=False``.
    Each argument may hold a ``::`` chain. The first problem of each file is
    reported, with its line and column.
    """
    framework = _framework(framework)
    problems = []
    for path in split_filter_specs(filters):
        found = _native.check_filter(path, builtin_filter=builtin, framework=framework)
        if found is not None:
            problems.append(
                Problem(
                    path=found["path"],
                    line=found["line"],
                    column=found["column"],
                    message=found["message"],
                    code=found["code"],
                    rule=found["rule"],
                    pattern=found["pattern"],
                )
            )
    return problems


def _parse_value(value: ValueSpec) -> Tuple[str, str]:
    if isinstance(value, tuple):
        return value
    kind, sep, name = value.partition(":")
    if not sep or not name:
        raise ValueError(f"value {value!r} is not KIND:NAME (for example 'arg:password')")
    return kind, name


def _module_files() -> List[Tuple[str, str]]:
    """(name, file) for each loaded module with a file, in ``sys.modules`` order."""
    found = []
    for key, module in list(sys.modules.items()):
        if not isinstance(key, str) or module is None:
            continue
        spec = getattr(module, "__spec__", None)
        name = getattr(spec, "name", None) or getattr(module, "__name__", None) or key
        origin = getattr(spec, "origin", None)
        path = origin if getattr(spec, "has_location", False) else getattr(module, "__file__", None)
        if isinstance(name, str) and isinstance(path, str):
            found.append((name, path))
    return found


def _marker_dirs(filename: str) -> List[str]:
    """Directories above ``filename`` that hold a project marker."""
    found = []
    directory = os.path.dirname(os.path.abspath(filename))
    while True:
        if any(os.path.exists(os.path.join(directory, m)) for m in _native.PROJECT_MARKERS):
            found.append(directory)
        parent = os.path.dirname(directory)
        if parent == directory:
            return found
        directory = parent


def explain(
    filename: PathLike,
    qualname: str,
    *,
    filters: Sequence[PathLike] = (),
    module: Optional[str] = None,
    values: Iterable[ValueSpec] = (),
    builtin: bool = True,
    framework: Optional[Framework] = None,
    module_names: ModuleNames = "globals",
    roots: Sequence[PathLike] = (),
) -> Decision:
    """What the filter chain decides for one code object, as a dict.

    The chain is the built-in default filter (unless ``builtin=False``), the
    ``framework`` filter if given, then ``filters`` (each may hold a ``::``
    chain). ``module`` is the ``__name__`` the code runs under (used in the
    ``globals`` naming mode). In the ``paths`` mode the module name comes from
    ``roots`` (as leading ``sys.path`` entries), this interpreter's
    ``sys.path`` and ``sys.modules``, and the project markers above the file.
    ``values`` are ``"kind:name"`` strings or ``(kind, name)`` pairs.

    Raises FileNotFoundError for a missing filter file and FilterError for an
    invalid one. The dict has the shape documented in the engine (``explain``).
    """
    paths = existing_filter_paths(filters)
    filename = os.fspath(filename)
    text = _native.explain_json(
        paths,
        filename,
        qualname,
        module=module,
        values=[_parse_value(v) for v in values],
        builtin_filter=builtin,
        framework=_framework(framework),
        module_names=module_names,
        sys_path=[os.fspath(r) for r in roots] + [p for p in sys.path if isinstance(p, str)],
        cwd=os.getcwd(),
        modules=_module_files() if module_names == "paths" else [],
        markers=_marker_dirs(filename) if module_names == "paths" else [],
    )
    import json  # only callers of explain pay for it

    decision: Decision = json.loads(text)
    return decision


def builtin_filter_text(name: str = "default") -> str:
    """The TOML text of a built-in filter: ``default``, ``pytest`` or ``unittest``."""
    return _native.builtin_filter_text(name)
