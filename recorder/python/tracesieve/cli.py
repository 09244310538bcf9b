"""The ``tracesieve`` command line."""

from __future__ import annotations

import argparse
import sys
TYPE_CHECKING = False  # importing typing costs start-up time; annotations only

if TYPE_CHECKING:
    from typing import Callable, List, Optional, Sequence, Tuple

    from ._types import Decision, Process, RuleRef, SetBy, TraceInfo

from . import _filters, _recording, _traces
from ._native import BUILD, MAX_VALUE_DEPTH, __version__

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def version_text() -> str:
    """``tracesieve --version``: the version, how the extension was built, and the interpreter."""
    return f"tracesieve {__version__} ({BUILD} build, CPython {sys.version.split()[0]})"


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracesieve",
        description="Record what a Python program does, filter it, and look at it in a browser.",
    )
    parser.add_argument("--version", action="version", version=version_text())
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

    record = commands.add_parser(
        "record",
        help="record a program: tracesieve record [options] (script.py | -m module | --pytest | --unittest) [args...]",
        usage="tracesieve record [options] (script.py | -m MODULE | --pytest | --unittest) [args ...]",
        description="Run a Python program in this interpreter and record what it does to a trace file. "
        "The program's output, exceptions and exit status are what they would be without tracing. "
        "Filters: the built-in default, then the --pytest/--unittest built-in, then the nearest "
        ".codetracer/trace-filter.toml above the script (or the working directory), then "
        "$TRACESIEVE_FILTER ('::' chain), then each --filter.",
    )
    record.add_argument("--out", "-o", default="trace.tsieve", metavar="FILE", help="the trace file (default: trace.tsieve)")
    record.add_argument("--filter", action="append", default=[], metavar="PATH", help="a filter file, repeatable; may hold a '::' chain")
    record.add_argument("--no-builtin-filter", action="store_true", help="leave out the built-in default filter (experts and tests)")
    record.add_argument("--module-names", choices=["globals", "paths"], default="globals", help="how module names are chosen for filtering (default: globals)")
    record.add_argument("--values", choices=["none", "args", "all"], default="all", help="values to capture: none, args (arguments and returns) or all (default)")
    record.add_argument("--max-depth", type=_count_arg(1, MAX_DEPTH), default=3, metavar="N", help=f"containers nested deeper are not expanded, 1 to {MAX_DEPTH} (default: 3)")
    record.add_argument("--max-items", type=_count_arg(0, MAX_BOUND), default=32, metavar="N", help="items kept per container (default: 32)")
    record.add_argument("--max-string-bytes", type=_count_arg(0, MAX_BOUND), default=256, metavar="N", help="bytes kept of a str or bytes value (default: 256)")
    record.add_argument("--max-nodes", type=_count_arg(1, MAX_BOUND), default=100, metavar="N", help="values encoded per recorded value, in all; containers are cut past it (default: 100)")
    record.add_argument("--repr", action="store_true", help="call repr() on objects without a structural encoding (runs the program's code)")
    record.add_argument("--no-sources", action="store_true", help="do not embed source files in the trace")
    record.add_argument(
        "--max-size",
        type=_size_arg,
        metavar="SIZE",
        help="stop recording when the trace file reaches SIZE (e.g. 500M, 2G, 1.5GB, 64KiB; k/M/G/T are powers of "
        "1000, KiB/MiB/GiB/TiB of 1024); the trace is closed there and the program goes on (default: no limit)",
    )
    record.add_argument("--no-children", action="store_true", help="do not record the program's child processes (by default each Python child records into OUT.d/PID.tsieve)")
    record.add_argument("--quiet", "-q", action="store_true", help="no summary line on stderr")

    info = commands.add_parser("info", help="show what a trace holds", description="Show what a trace holds: counts by event kind, code objects, threads, the filter chain and its statistics, and whether the file is complete.")
    info.add_argument("trace", metavar="TRACE")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")

    refilter = commands.add_parser(
        "refilter",
        help="apply a filter to a recorded trace",
        description="Write the trace re-filtered: as if recorded with the built-in filters (the framework one it was "
        "recorded with) followed by each --filter, or with --append, with its own chain followed by them. Values "
        "redacted or dropped at record time stay so.",
    )
    refilter.add_argument("trace", metavar="TRACE")
    refilter.add_argument("--filter", action="append", default=[], metavar="PATH", help="a filter file, repeatable; may hold a '::' chain")
    refilter.add_argument("-o", "--out", required=True, metavar="OUT", help="the re-filtered trace")
    refilter.add_argument("--append", action="store_true", help="keep the trace's own filters and add these after them")
    refilter.add_argument("--no-builtin-filter", action="store_true", help="leave out the built-in default filter")
    refilter.add_argument("--module-names", choices=["globals", "paths"], help="how module names are chosen (default: as recorded)")
    refilter.add_argument("--root", action="append", default=[], metavar="DIR", help="in paths mode, a sys.path root to try first; repeatable")
    refilter.add_argument("--no-children", action="store_true", help="re-filter this trace only, not the child processes of its trace set (TRACE.d/ into OUT.d/)")

    export = commands.add_parser("export", help="export a trace as JSON, a CodeTracer folder, Chrome trace JSON or a speedscope profile")
    export.add_argument("trace", metavar="TRACE")
    export.add_argument("--format", required=True, choices=list(_traces.EXPORT_FORMATS))
    export.add_argument("-o", "--out", required=True, metavar="OUT", help="the output file (a folder for codetracer)")
    export.add_argument("--canonical", action="store_true", help="json: drop timestamps and run-to-run noise, for comparisons")
    export.add_argument("--no-children", action="store_true", help="chrome, speedscope: export this trace only, not the child processes of its trace set (TRACE.d/)")

    view = commands.add_parser(
        "view",
        help="open a trace in the browser viewer",
        description="Serve the bundled viewer on 127.0.0.1 with TRACE loaded, and open it in a browser. "
        "Nothing leaves this machine: the page fetches the trace from this local server only. Ctrl-C stops it.",
    )
    view.add_argument("trace", metavar="TRACE")
    view.add_argument("--port", type=int, default=0, metavar="N", help="the port to serve on (default: any free one)")
    view.add_argument("--no-browser", action="store_true", help="only print the address; do not open a browser")

    builtin = commands.add_parser("builtin-filter", help="print a built-in filter's TOML text")
    builtin.add_argument("name", choices=["default", "pytest", "unittest"], nargs="?", default="default")
    return parser


VALUE_KINDS = ("arg", "local", "global", "ret", "attr")


def _value_spec(text: str) -> Tuple[str, str]:
    kind, sep, name = text.partition(":")
    if not sep or not name or kind not in VALUE_KINDS:
        raise argparse.ArgumentTypeError(f"{text!r} is not KIND:NAME with KIND one of {', '.join(VALUE_KINDS)}")
    return (kind, name)


# The deepest nesting the recorder encodes, and the largest other bound (a
# 32-bit count in the trace header).
MAX_DEPTH = MAX_VALUE_DEPTH
MAX_BOUND = 2**32 - 1


def _count_arg(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not between {low} and {high}")
        return value

    return parse


def _size_arg(text: str) -> int:
    try:
        return _recording.parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def error_line(command: str, error: Exception) -> str:
    """The one line that reports a user's mistake: a missing file, an
    unreadable trace, an invalid filter, a file that cannot be written."""
    kind = "invalid filter: " if isinstance(error, _filters.FilterError) else ""
    return f"tracesieve {command}: {kind}{error}"


def _usage_error(command: str, error: Exception) -> int:
    """Reports a user's mistake on stderr; exit status 2."""
    print(error_line(command, error), file=sys.stderr)
    return EXIT_USAGE


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


def _rule_text(rule: RuleRef) -> str:
    text = f"rule {rule['index_in_source']} of {rule['path']} ({_short(rule['selector'])})"
    if rule.get("reason"):
        text += f": {rule['reason']}"
    return text


def _set_by_text(set_by: SetBy) -> str:
    if set_by["rule"] is None:
        return f"the default of {set_by['path']}"
    return _rule_text(set_by["rule"])


def format_decision(d: Decision) -> str:
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
            elif v["why"] == "module_level":
                line += f" by {source}: at module level the locals are the globals, and the stricter applies"
            else:
                line += f" by {source}"
        elif v["why"] == "module_level":
            line += " (the global value default: at module level the locals are the globals, and the stricter applies)"
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
    except (FileNotFoundError, _filters.FilterError) as e:
        return _usage_error("explain", e)
    if args.json:
        import json

        print(json.dumps(decision, indent=2))
    else:
        print(format_decision(decision))
    return EXIT_OK


RECORD_VALUE_OPTIONS = {
    "--out", "-o", "--filter", "--module-names", "--values", "--max-depth", "--max-items", "--max-string-bytes", "--max-nodes",
    "--max-size",
}


def split_record_args(args: List[str]) -> Tuple[List[str], Optional[str], Optional[str], List[str]]:
    """Splits ``record``'s arguments into (options, kind, target, program args).

    The program starts at the first argument that is not an option of
    ``record``: a script path, ``-m MODULE``, ``--pytest`` or ``--unittest``;
    everything after it belongs to the program.
    """
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in RECORD_VALUE_OPTIONS:
            i += 2
        elif arg == "-m":
            if i + 1 >= len(args):
                return args[:i], None, None, []
            return args[:i], "module", args[i + 1], args[i + 2 :]
        elif arg in ("--pytest", "--unittest"):
            return args[:i], arg[2:], None, args[i + 1 :]
        elif arg.startswith("-") and arg != "-":
            i += 1
        else:
            return args[:i], "script", arg, args[i + 1 :]
    return args, None, None, []


def _run_record(parser: argparse.ArgumentParser, argv: List[str]) -> int:
    """Returns only when the program cannot be started: on success this
    process becomes the program (see ``_recording.record_program``)."""
    options, kind, target, program_args = split_record_args(argv)
    args = parser.parse_args(["record", *options])
    if kind is None:
        parser.parse_args(["record", "--help"])
        return EXIT_USAGE  # not reached: --help exits
    try:
        _recording.record_program(
            kind,
            target or "",
            program_args,
            out=args.out,
            quiet=args.quiet,
            children=not args.no_children,
            filters=args.filter,
            builtin=not args.no_builtin_filter,
            module_names=args.module_names,
            values=args.values,
            max_depth=args.max_depth,
            max_items=args.max_items,
            max_string_bytes=args.max_string_bytes,
            max_nodes=args.max_nodes,
            repr=args.repr,
            sources=not args.no_sources,
            max_size=args.max_size,
        )
    except (OSError, RuntimeError, _filters.FilterError) as e:
        return _usage_error("record", e)
    return EXIT_USAGE  # not reached: record_program replaced this process


def format_info(summary: TraceInfo) -> str:
    """The readable form of ``tracesieve.info``."""
    stats = summary["stats"]
    lines = [
        f"recorder   {summary['recorder']} on Python {summary['python'].split()[0]}",
        f"program    {' '.join(summary['argv'])}  (cwd {summary['cwd']})",
        f"duration   {summary['duration_ns'] / 1e9:.3f} s; naming {summary['naming']}; values {summary['values']}",
        f"events     {summary['total_events']}: " + ", ".join(f"{k} {v}" for k, v in summary["events"].items()),
        f"codes      {summary['codes']} code objects, {summary['sources']} source files",
        f"threads    " + ", ".join(f"{i}: {name}" for i, name in enumerate(summary["threads"])),
        "filters",
    ]
    lines += [f"  {f['path']}  {f['name'] or '?'}  sha256 {f['sha256'][:16]}…" for f in summary["filters"]]
    redacted = ", ".join(f"{k} {v}" for k, v in stats["redacted"].items() if v) or "none"
    dropped = ", ".join(f"{k} {v}" for k, v in stats["dropped"].items() if v) or "none"
    lines.append(f"statistics {stats['scopes_skipped']} scopes skipped; redacted: {redacted}; dropped: {dropped}")
    status = summary["exit_status"]
    lines.append(f"exit       {'unknown' if status is None else status}")
    if summary["detached"]:
        lines.append(f"detached   {summary['detached']}")
    size_limit = summary.get("size_limit")
    if size_limit:
        size = _recording.size_text(size_limit)
        lines.append(f"stopped    at --max-size {size}; the program went on unrecorded")
    truncation = summary["truncation"]
    if truncation:
        lines.append(f"truncated  readable up to byte {truncation['valid_bytes']}: {truncation['reason']}")
    if "processes" in summary:
        lines += format_processes(summary["processes"])
    return "\n".join(lines)


def format_processes(processes: List[Process]) -> List[str]:
    """The process tree of a trace set, a line per process."""
    lines = [f"processes  {len(processes)} in the set (this trace and {len(processes) - 1} in its .d folder)"]
    for p in processes:
        indent = "  " * (p["depth"] + 1)
        if "error" in p:
            lines.append(f"{indent}? {p['path']}: {p['error']}")
            continue
        status = "unknown" if p["exit_status"] is None else p["exit_status"]
        complete = "" if p["complete"] else ", incomplete"
        where = "" if p["depth"] == 0 else f"  {p['path']}"
        lines.append(f"{indent}{p['pid']} {p['started']}  {' '.join(p['argv'])}  ({p['events']} events, exit {status}{complete}){where}")
    return lines


def _run_trace_command(args: argparse.Namespace) -> int:
    try:
        if args.command == "info":
            summary = _traces.info(args.trace)
            if args.json:
                import json

                print(json.dumps(summary, indent=2))
            else:
                print(format_info(summary))
        elif args.command == "refilter":
            result = _traces.refilter(
                args.trace,
                args.out,
                args.filter,
                builtin=not args.no_builtin_filter,
                append=args.append,
                module_names=args.module_names,
                roots=args.root,
                children=not args.no_children,
            )
            for each in result.get("processes", [dict(result, path=args.out)]):
                added = each["added"]
                print(
                    f"{each['path']}: {each['events']} events, {each['codes']} code objects; this filter skipped "
                    f"{added['scopes_skipped']} scopes, redacted {sum(added['redacted'].values())} values, "
                    f"dropped {sum(added['dropped'].values())}"
                )
        else:
            left_out = _traces.export(args.trace, args.format, args.out, canonical=args.canonical, children=not args.no_children)
            for member, why in left_out:
                why = why.removeprefix("TraceFileError: ").removeprefix(f"{member}: ")
                print(f"tracesieve export: warning: {member} is left out: {why}", file=sys.stderr)
    except (FileNotFoundError, _traces.TraceFileError, _filters.FilterError) as e:
        return _usage_error(args.command, e)
    return EXIT_OK


def _run_view(args: argparse.Namespace) -> int:
    from . import _viewer

    def announce(url: str) -> None:
        print(f"tracesieve view: serving {args.trace} at {url} (Ctrl-C stops)", flush=True)

    try:
        _viewer.view(args.trace, port=args.port, open_browser=not args.no_browser, announce=announce)
    except (OSError, _viewer.ViewerMissing) as error:
        return _usage_error("view", error)
    return EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line; returns the exit status. When the reader of
    its output goes away (``tracesieve info TRACE | head``), the command
    stops quietly with status 1, as Python's documentation advises."""
    try:
        return _run(list(sys.argv[1:] if argv is None else argv))
    except BrokenPipeError:
        import os

        # Python flushes stdout again at exit: point it somewhere that takes it.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PROBLEMS


def _run(argv: List[str]) -> int:
    parser = _build_parser()
    if argv and argv[0] == "record":
        return _run_record(parser, argv[1:])
    args = parser.parse_args(argv)
    if args.command == "check":
        return _run_check(args)
    if args.command == "explain":
        return _run_explain(args)
    if args.command in ("info", "refilter", "export"):
        return _run_trace_command(args)
    if args.command == "view":
        return _run_view(args)
    print(_filters.builtin_filter_text(args.name), end="")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
