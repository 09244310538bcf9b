"""The ``tracesieve`` command line."""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional, Sequence

from . import _filters
from ._native import __version__

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracesieve",
        description="Record what a Python program does, filter it, and look at it in a browser.",
    )
    parser.add_argument("--version", action="version", version=f"tracesieve {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    check = commands.add_parser(
        "check",
        help="validate trace-filter files",
        description="Validate trace-filter files as a recording would load them (after the built-in "
        "default filter). Prints path:line:col: message for each problem on stderr; exits 0 when "
        "all are valid, 1 otherwise.",
    )
    check.add_argument("filters", nargs="+", metavar="FILTER", help="a filter file (or a '::' chain of them)")
    check.add_argument("--no-builtin-filter", action="store_true", help="check each file on its own")
    check.add_argument("--framework", choices=["pytest", "unittest"], help="also load this built-in framework filter first")
    check.add_argument("--quiet", "-q", action="store_true", help="print nothing when all filters are valid")

    explain = commands.add_parser(
        "explain",
        help="show what a filter chain decides for one code object",
        description="Show what the filter chain decides for one code object: traced or skipped and by "
        "which rule, its module name and why, and the action for each --value.",
    )
    explain.add_argument("--filter", action="append", default=[], metavar="PATH", help="a filter file, repeatable; may hold a '::' chain")
    explain.add_argument("--no-builtin-filter", action="store_true", help="leave out the built-in default filter")
    explain.add_argument("--framework", choices=["pytest", "unittest"], help="add this built-in framework filter")
    explain.add_argument("--module-names", choices=["globals", "paths"], default="globals", help="how module names are chosen (default: globals)")
    explain.add_argument("--root", action="append", default=[], metavar="DIR", help="in paths mode, a sys.path root to try first; repeatable")
    explain.add_argument("--file", required=True, metavar="FILENAME", help="the code object's co_filename")
    explain.add_argument("--qualname", required=True, help="the code object's co_qualname, e.g. 'Cart.total' or '<module>'")
    explain.add_argument("--module", metavar="NAME", help="the __name__ the code runs under (globals mode)")
    explain.add_argument("--value", action="append", default=[], metavar="KIND:NAME", type=_value_spec, help="a value to decide, e.g. arg:password; KIND is arg, local, global, ret or attr")
    explain.add_argument("--json", action="store_true", help="print the decision as JSON (the documented shape)")

    builtin = commands.add_parser("builtin-filter", help="print a built-in filter's TOML text")
    builtin.add_argument("name", choices=["default", "pytest", "unittest"], nargs="?", default="default")
    return parser


VALUE_KINDS = ("arg", "local", "global", "ret", "attr")


def _value_spec(text: str) -> tuple:
    kind, sep, name = text.partition(":")
    if not sep or not name or kind not in VALUE_KINDS:
        raise argparse.ArgumentTypeError(f"{text!r} is not KIND:NAME with KIND one of {', '.join(VALUE_KINDS)}")
    return (kind, name)


def _run_check(args: argparse.Namespace) -> int:
    problems = _filters.check(*args.filters, builtin=not args.no_builtin_filter, framework=args.framework)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        return EXIT_PROBLEMS
    if not args.quiet:
        count = len(_filters.split_filter_specs(args.filters))
        print(f"{count} filter{'s' if count != 1 else ''} valid")
    return EXIT_OK


def _short(selector: str, limit: int = 60) -> str:
    return selector if len(selector) <= limit else selector[: limit - 1] + "…"


def _rule_text(rule: dict) -> str:
    text = f"rule {rule['index_in_source']} of {rule['path']} ({_short(rule['selector'])})"
    if rule.get("reason"):
        text += f": {rule['reason']}"
    return text


def _set_by_text(set_by: dict) -> str:
    if set_by["rule"] is None:
        return f"the default of {set_by['path']}"
    return _rule_text(set_by["rule"])


def format_decision(d: dict) -> str:
    """The readable form of a decision dict."""
    lines = [f"{d['filename']} :: {d['qualname']}"]
    recorded = "recorded" if d["recorded"] else "not recorded"
    exec_line = f"{d['exec']} ({recorded}), set by {_set_by_text(d['exec_set_by'])}"
    if d["synthetic"]:
        exec_line += "; the filename is synthetic, so the code is never recorded"
    module = d["module_name"] or "(none)"
    rows = [
        ("exec", exec_line),
        ("module", f"{module}, from {d['module_name_source']}"),
        ("label", d["label"]),
        ("object", d["object_name"] or "(none)"),
        ("path", d["absolute_path"]),
    ]
    if d["relative_path"] is not None:
        rows.append(("relative", f"{d['relative_path']} (project root {d['project_root']})"))
    rows.append(("matched", ", ".join(str(i) for i in d["matched_rules"]) or "no rule"))
    rows.append(("values", f"default {d['value_default']}, set by {_set_by_text(d['value_default_set_by'])}"))
    lines += [f"  {name:<9} {text}" for name, text in rows]
    for v in d["values"]:
        line = f"    {v['kind']}:{v['name']}  {v['action']}"
        if v["pattern"] is not None:
            p = v["pattern"]
            source = f"pattern {p['index']} ({_short(p['selector'])}) of {_rule_text(p['rule'])}"
            if v["why"] == "stricter_default":
                line += f" (the value default is stricter than {source})"
            else:
                line += f" by {source}"
        else:
            line += " (value default)"
        lines.append(line)
    return "\n".join(lines)


def _run_explain(args: argparse.Namespace) -> int:
    try:
        decision = _filters.explain(
            args.file,
            args.qualname,
            filters=args.filter,
            module=args.module,
            values=args.value,
            builtin=not args.no_builtin_filter,
            framework=args.framework,
            module_names=args.module_names,
            roots=args.root,
        )
    except FileNotFoundError as e:
        print(f"tracesieve explain: {e}", file=sys.stderr)
        return EXIT_USAGE
    except _filters.FilterError as e:
        print(f"tracesieve explain: invalid filter: {e}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(decision, indent=2))
    else:
        print(format_decision(decision))
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line; returns the exit status."""
    args = _build_parser().parse_args(argv)
    if args.command == "check":
        return _run_check(args)
    if args.command == "explain":
        return _run_explain(args)
    print(_filters.builtin_filter_text(args.name), end="")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
