"""Secrets never leave the program (issue 13): dict entries under
secret-looking keys, `**kwargs`, secret-looking command-line options, the
environment (which is never recorded: only what the program puts in its own
values is, and that is decided like any value), and by value: a text
redacted once is redacted wherever it travels later (messages, `str(e)`,
f-strings, yields, keyword arguments). The sentinel is made at run
time, so the embedded source does not hold it; no decoded event, no export
and no `info` may hold it, with the default filter and after re-filtering a
permissive recording with it."""

import json
import os
import subprocess
import sys

from conftest import (
    PROGRAMS,
    args_of,
    calls_of,
    code_id,
    export_json,
    record,
    returns_of,
    trace_info,
    tracesieve_cli,
    value,
    vars_in,
)

PERMISSIVE = """\
[meta]
name = "permissive"
version = 1

[scope]
default_exec = "trace"
default_value_action = "allow"
"""

PROGRAM = """\
import os


def connect(host, **options):
    return sorted(options)


def configure():
    return {"api_key": os.environ["APP_SECRET"], "nested": {"token": os.environ["APP_SECRET"]}, "host": "db"}


def environment():
    env = dict(os.environ)
    return len(env)


connect("db", password=os.environ["APP_SECRET"], timeout=3)
configure()
environment()
print("done")
"""


def sentinel():
    return "sntl-" + format(os.getpid() * 7919, "x")


def everything_written(tmp_path, trace_file):
    """The text of every export and of `info`, and the decoded events."""
    texts = [json.dumps(export_json(trace_file, canonical=False))]
    for fmt, out in (("chrome", "chrome.json"), ("speedscope", "speedscope.json"), ("codetracer", "ct")):
        done = tracesieve_cli("export", trace_file, "--format", fmt, "-o", tmp_path / out)
        assert done.returncode == 0, done.stderr
    texts.append((tmp_path / "chrome.json").read_text())
    texts.append((tmp_path / "speedscope.json").read_text())
    texts += [p.read_text() for p in (tmp_path / "ct").iterdir()]
    texts.append(json.dumps(trace_info(trace_file)))
    return texts


def run_program(tmp_path, secret, *options):
    program = tmp_path / "app.py"
    program.write_text(PROGRAM, encoding="utf-8")
    out = tmp_path / "trace.tsieve"
    # A small environment, so that all of it is within --max-items.
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "APP_SECRET": secret,
        "AWS_SECRET_ACCESS_KEY": secret,
    }
    result = record(out, *options, program, "--password", secret, f"--api-key={secret}", "--user", "ada", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    return out


def test_secrets_in_keys_kwargs_argv_and_environment_never_reach_the_trace(tmp_path):
    secret = sentinel()
    trace_file = run_program(tmp_path, secret)
    for text in everything_written(tmp_path, trace_file):
        assert secret not in text
    trace = export_json(trace_file)
    assert trace["header"]["argv"][1:] == ["--password", "<redacted>", "--api-key=<redacted>", "--user", "ada"]
    connect = calls_of(trace, code_id(trace, "connect"))[0]
    options = args_of(connect)["options"]["value"]
    assert [(k["value"], v) for k, v in options["entries"]] == [("password", {"type": "redacted"}), ("timeout", {"type": "int", "value": 3})]
    configured = returns_of(trace, code_id(trace, "configure"))[0]["value"]["value"]
    entries = {k["value"]: v for k, v in configured["entries"]}
    assert entries["api_key"] == {"type": "redacted"}
    assert entries["nested"]["entries"] == [[{"type": "str", "value": "token", "length": 5}, {"type": "redacted"}]]
    env = [slot["value"] for _, name, slot in vars_in(trace, code_id(trace, "environment")) if name == "env"][-1]
    keys = {k["value"]: v for k, v in env["entries"]}
    assert keys["AWS_SECRET_ACCESS_KEY"] == {"type": "redacted"} and keys["APP_SECRET"] == {"type": "redacted"}


def test_refiltering_a_permissive_recording_redacts_the_same(tmp_path):
    secret = sentinel()
    permissive = tmp_path / "permissive.toml"
    permissive.write_text(PERMISSIVE, encoding="utf-8")
    trace_file = run_program(tmp_path, secret, "--no-builtin-filter", "--filter", permissive)
    assert any(secret in text for text in everything_written(tmp_path, trace_file)), "the permissive recording holds it"
    refiltered = tmp_path / "refiltered.tsieve"
    done = tracesieve_cli("refilter", trace_file, "-o", refiltered)
    assert done.returncode == 0, done.stderr
    for text in everything_written(tmp_path, refiltered):
        assert secret not in text
    assert export_json(refiltered)["header"]["argv"][1:3] == ["--password", "<redacted>"]


def test_the_corpus_secrets_program_redacts_keys_and_kwargs(tmp_path):
    out = tmp_path / "trace.tsieve"
    result = record(out, PROGRAMS / "secrets_everywhere.py", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    trace = export_json(out)
    options = args_of(calls_of(trace, code_id(trace, "connect"))[0])["options"]["value"]
    assert options["entries"][0][1] == {"type": "redacted"}
    settings = returns_of(trace, code_id(trace, "settings"))[0]["value"]["value"]
    entries = {k["value"]: v for k, v in settings["entries"]}
    assert entries["api_key"] == {"type": "redacted"}
    assert {k["value"]: v for k, v in entries["nested"]["entries"]}["token"] == {"type": "redacted"}


TRAVELS = """\
import asyncio
import os


def check(user, password):
    if user != "root":
        raise ValueError("bad password for " + user + ": " + password)


def lookup(table, key):
    return table[key]


def echo(word):
    yield word


async def stream(word):
    yield word


async def collect(word):
    return [piece async for piece in stream(word)]


def send(**fields):
    return fields


def note(text):
    return text


secret = os.environ["APP_SECRET"]
try:
    check("ada", secret)
except ValueError as error:
    message = str(error)
try:
    lookup({}, secret)
except KeyError as missing:
    gone = missing.args
greeting = f"hello {secret}!"
words = list(echo(note(greeting)))
pieces = asyncio.run(collect(secret))
sent = send(note=secret, user="ada")
print("done")
"""


def record_travels(tmp_path, secret, *options):
    program = tmp_path / "travels.py"
    program.write_text(TRAVELS, encoding="utf-8")
    out = tmp_path / "travels.tsieve"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "APP_SECRET": secret}
    result = record(out, *options, program, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    return out


def test_a_redacted_text_is_redacted_by_value_wherever_it_travels(tmp_path):
    secret = sentinel()
    trace_file = record_travels(tmp_path, secret)
    for text in everything_written(tmp_path, trace_file):
        assert secret not in text
    trace = export_json(trace_file)
    module = code_id(trace, "<module>")
    slots = {name: slot for _, name, slot in vars_in(trace, module)}
    # Redacted by name first (`secret`), then by value in every copy.
    for name in ("secret", "message", "greeting", "words", "gone"):
        assert slots[name] == {"slot": "redacted"} or "redacted" in json.dumps(slots[name]), name
    assert slots["message"] == {"slot": "redacted"} and slots["greeting"] == {"slot": "redacted"}
    # Arguments under plain names, the raise's exception, yields, **fields.
    assert args_of(calls_of(trace, code_id(trace, "note"))[0])["text"] == {"slot": "redacted"}
    assert args_of(calls_of(trace, code_id(trace, "lookup"))[0])["key"] == {"slot": "redacted"}
    raises = [e for e in trace["events"] if e["event"] == "raise"]
    assert raises and all(secret not in json.dumps(e) for e in raises)
    yields = [e["value"] for e in trace["events"] if e["event"] == "yield"]
    assert {"slot": "redacted"} in yields
    fields = returns_of(trace, code_id(trace, "send"))[0]["value"]["value"]
    assert {k["value"]: v for k, v in fields["entries"]}["note"] == {"type": "redacted"}
    # Short texts are never learned: "ada" stays.
    assert value(args_of(calls_of(trace, code_id(trace, "check"))[0])["user"]) == "ada"


def test_refiltering_redacts_by_value_as_the_recording_does(tmp_path):
    secret = sentinel()
    permissive = tmp_path / "permissive.toml"
    permissive.write_text(PERMISSIVE, encoding="utf-8")
    trace_file = record_travels(tmp_path, secret, "--no-builtin-filter", "--filter", permissive)
    refiltered = tmp_path / "refiltered.tsieve"
    done = tracesieve_cli("refilter", trace_file, "-o", refiltered)
    assert done.returncode == 0, done.stderr
    for text in everything_written(tmp_path, refiltered):
        assert secret not in text
    recorded = record_travels(tmp_path, secret)
    assert export_json(refiltered)["events"] == export_json(recorded)["events"]


LIBRARIES = """\
import argparse
import configparser
import io
import json
import logging
import os

secret = os.environ["APP_SECRET"]

parser = argparse.ArgumentParser()
parser.add_argument("--password")
parser.add_argument("--user")
options = parser.parse_args(["--user", "ada", "--password", secret])

config = configparser.ConfigParser()
config.read_string("[db]\\nhost = db\\npassword = " + secret + "\\n")
stored = config["db"]["password"]

stream = io.StringIO()
log = logging.getLogger("app")
log.addHandler(logging.StreamHandler(stream))
log.warning("login failed for %s with %s", options.user, options.password)

headers = {"Authorization": "Bearer " + secret}
body = json.dumps({"user": "ada", "token": secret, "headers": headers})
print(len(stream.getvalue()) > 0, stored == secret, len(body) > 0)
"""

TRACE_STDLIB = """\
[meta]
name = "stdlib"
version = 1

[scope]
default_exec = "inherit"
default_value_action = "inherit"

[[scope.rules]]
selector = "file:glob:**"
exec = "trace"
"""


def test_secrets_travelling_through_the_standard_library_are_redacted(tmp_path):
    """Real library code, traced: argparse's namespace, configparser's
    sections, logging's records and handlers and json's encoder all hold the secret in their own values under their own names;
    redacted by name where the program names it (`password`, `token`), it
    is redacted by value in every frame of the library that carries it."""
    secret = sentinel()
    program = tmp_path / "libraries.py"
    program.write_text(LIBRARIES, encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "APP_SECRET": secret}
    # The built-in filter (and its secret patterns), tracing the standard library too.
    traced = tmp_path / "stdlib.toml"
    traced.write_text(TRACE_STDLIB, encoding="utf-8")
    out = tmp_path / "libraries.tsieve"
    plain = subprocess.run([sys.executable, program], capture_output=True, text=True, cwd=tmp_path, env=env)
    result = record(out, "--filter", traced, program, cwd=tmp_path, env=env)
    assert (result.returncode, result.stdout, result.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    info = trace_info(out)
    assert info["stats"]["redacted"], info
    for text in everything_written(tmp_path, out):
        assert secret not in text
    trace = export_json(out)
    files = {c["filename"] for c in trace["codes"]}
    assert any(f.endswith("logging/__init__.py") for f in files), "logging is traced"
