"""tracesieve.explain and `tracesieve explain`."""

import json

import pytest

import tracesieve
from conftest import CODETRACER_PROJECT, SAMPLE, VALID_HEAD, run_cli

SAMPLE_FILTER = SAMPLE / ".codetracer" / "trace-filter.toml"
PAYMENT = str(SAMPLE / "shop" / "payment.py")


def actions(decision):
    return {f"{v['kind']}:{v['name']}": v["action"] for v in decision["values"]}


def test_builtin_default_redacts_secrets_everywhere():
    d = tracesieve.explain("/proj/app/main.py", "login", module="app.main", values=["arg:password", "local:count"])
    assert d["exec"] == "trace" and d["recorded"]
    assert actions(d) == {"arg:password": "redact", "local:count": "allow"}
    # D1/B11: redaction holds even when the module has no valid name.
    d = tracesieve.explain("/proj/my-script.py", "f", module="<run_path>", values=[("local", "api_key")])
    assert d["module_name"] is None
    assert actions(d) == {"local:api_key": "redact"}


def test_stdlib_is_skipped():
    d = tracesieve.explain("/usr/lib/python3.12/json/__init__.py", "<module>", module="json")
    assert d["exec"] == "skip"
    assert d["exec_set_by"]["rule"]["index_in_source"] == 0
    assert d["label"] == "<json>"


def test_sample_filter_decisions():
    d = tracesieve.explain(
        PAYMENT,
        "charge",
        filters=[SAMPLE_FILTER],
        module="shop.payment",
        values=["arg:card_number", "arg:amount", "arg:api_key", "local:total_cents", "local:last4"],
    )
    assert d["exec"] == "trace"
    assert d["relative_path"] == "shop/payment.py"
    assert d["project_root"] == str(SAMPLE)
    assert actions(d) == {
        "arg:card_number": "drop",
        "arg:amount": "allow",
        "arg:api_key": "redact",
        "local:total_cents": "allow",
        "local:last4": "redact",
    }
    vendored = tracesieve.explain(str(SAMPLE / "shop" / "vendored" / "x.py"), "f", filters=[SAMPLE_FILTER], module="shop.vendored.x")
    assert vendored["exec"] == "skip"
    assert vendored["exec_set_by"]["rule"]["selector"] == "file:shop/vendored/**"


def test_codetracer_filter_is_honoured():
    ct_filter = CODETRACER_PROJECT / ".codetracer" / "trace-filter.toml"
    d = tracesieve.explain(
        CODETRACER_PROJECT / "app" / "auth.py",
        "login",
        filters=[ct_filter],
        module="app.auth",
        values=["arg:username", "arg:password", "arg:remember", "ret:app.auth.login"],
    )
    assert actions(d) == {
        "arg:username": "allow",
        "arg:password": "redact",
        "arg:remember": "redact",
        "ret:app.auth.login": "drop",
    }
    assert tracesieve.explain("/elsewhere/x.py", "f", filters=[ct_filter], module="app.vendor.sdk")["exec"] == "skip"


def test_paths_mode_names_from_roots_and_markers(tmp_path):
    pkg = tmp_path / "src" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "mod.py").write_text("")
    (tmp_path / "pyproject.toml").write_text("")
    d = tracesieve.explain(pkg / "mod.py", "<module>", module="__main__", module_names="paths", roots=[tmp_path / "src"])
    assert (d["module_name"], d["label"]) == ("pkg.mod", "<pkg.mod>")
    assert d["module_name_source"] == f"sys.path root {tmp_path / 'src'}"
    d = tracesieve.explain(pkg / "mod.py", "<module>", module_names="paths")
    assert d["module_name"] == "src.pkg.mod"
    assert d["module_name_source"] == f"project marker at {tmp_path}"
    d = tracesieve.explain(pkg / "mod.py", "<module>", module="__main__")
    assert d["label"] == "<__main__>"


def test_errors_are_exceptions_with_details(write_filter):
    with pytest.raises(FileNotFoundError):
        tracesieve.explain("/x.py", "f", filters=["/nonexistent.toml"])
    bad = write_filter(VALID_HEAD.replace('"trace"', '"Trace"'))
    with pytest.raises(tracesieve.FilterError) as info:
        tracesieve.explain("/x.py", "f", filters=[bad])
    assert info.value.problem["line"] == 6
    assert "unsupported value 'Trace'" in str(info.value)
    with pytest.raises(ValueError):
        tracesieve.explain("/x.py", "f", values=["nokind"])


def test_cli_readable_and_json():
    args = ["explain", "--filter", SAMPLE_FILTER, "--file", PAYMENT, "--qualname", "charge", "--module", "shop.payment"]
    readable = run_cli(*args, "--value", "arg:card_number")
    assert readable.returncode == 0, readable.stderr
    assert f"{PAYMENT} :: charge" in readable.stdout
    assert "arg:card_number  drop by pattern 2 (arg:card_number)" in readable.stdout
    as_json = run_cli(*args, "--value", "arg:amount", "--json")
    decision = json.loads(as_json.stdout)
    assert decision["values"][0]["action"] == "allow"
    assert decision["matched_rules"] == [6, 7, 8]


def test_cli_chains_and_builtin_switch(write_filter):
    first = write_filter(VALID_HEAD + '\n[[scope.rules]]\nselector = "pkg:a.*"\nexec = "skip"\n', "a.toml")
    second = write_filter(VALID_HEAD + '\n[[scope.rules]]\nselector = "pkg:a.keep"\nexec = "trace"\n', "b.toml")
    result = run_cli("explain", "--no-builtin-filter", "--filter", f"{first}::{second}", "--file", "/x.py", "--qualname", "f", "--module", "a.keep", "--json")
    decision = json.loads(result.stdout)
    assert decision["exec"] == "trace"
    assert [decision["exec_set_by"]["path"], decision["matched_rules"]] == [str(second), [0, 1]]


def test_module_level_locals_are_explained_as_recorded(write_filter, tmp_path):
    """At module level the locals are the globals: explain answers with the
    stricter of the two actions, as the recorder and refilter decide."""
    path = write_filter(
        VALID_HEAD
        + '\n[[scope.rules]]\nselector = "file:glob:**"\n'
        + '[[scope.rules.value_patterns]]\nselector = "global:config"\naction = "drop"\n'
        + '[[scope.rules.value_patterns]]\nselector = "local:config"\naction = "allow"\n'
    )
    args = ["explain", "--filter", path, "--file", str(tmp_path / "app.py"), "--module", "app", "--value", "local:config"]
    at_module = run_cli(*args, "--qualname", "<module>")
    assert at_module.returncode == 0, at_module.stderr
    assert "local:config  drop by pattern 0 (global:config)" in at_module.stdout
    assert "at module level the locals are the globals, and the stricter applies" in at_module.stdout
    in_function = json.loads(run_cli(*args, "--qualname", "main", "--json").stdout)
    assert [(v["action"], v["why"]) for v in in_function["values"]] == [("allow", "pattern")]
    # The program, recorded: the module body's `config` is dropped.
    program = tmp_path / "app.py"
    program.write_text("config = {'host': 'db'}\nprint('ok')\n", encoding="utf-8")
    out = tmp_path / "app.tsieve"
    done = run_cli("record", "--filter", path, "-q", "-o", out, program, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert tracesieve.info(out)["stats"]["dropped"]["local"] == 1


def test_cli_bad_filters_exit_2(write_filter):
    missing = run_cli("explain", "--filter", "/nonexistent.toml", "--file", "/x.py", "--qualname", "f")
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr
    bad = write_filter(VALID_HEAD + "[extra]\n")
    invalid = run_cli("explain", "--filter", bad, "--file", "/x.py", "--qualname", "f", module=True)
    assert invalid.returncode == 2
    assert f"{bad}:8:2: unknown field `extra`, expected one of `meta`, `io`, `scope`" in invalid.stderr
    bad_value = run_cli("explain", "--file", "/x.py", "--qualname", "f", "--value", "weird:x")
    assert bad_value.returncode == 2
