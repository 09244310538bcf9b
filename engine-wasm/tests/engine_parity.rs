//! The engine-parity corpus: filter chains × scopes × values, decided by the
//! native engine. This test writes every case with its native result to
//! `target/parity/engine/cases.json`; `parity/engine.mjs` then runs the same
//! cases through engine-wasm's JavaScript API in node and in headless
//! Chromium and requires byte-identical JSON (`scripts/test.sh` runs both).
//!
//! The corpus: the upstream vectors' chains and files (sections 16.3–16.7
//! of `reference/upstream-filter-behaviour.md`), a chain per D-rule, the
//! built-in filters with each framework, Unicode case folding in `(?i)`,
//! both module-naming modes and both platforms, crossed with every scope of
//! [`scopes`] and the values of [`VALUES`]; and the broken filters of
//! [`broken`] through `checkFilter` and `loadChain`.

#![cfg(not(target_arch = "wasm32"))]

use serde_json::{json, Value};
use tracesieve_engine::{explain, FilterChain, ScopeQuery, ValueQuery};
use tracesieve_engine_wasm::options::{ChainInput, SourceInput};
use tracesieve_engine_wasm::Problem;

/// Values asked about in every scope: the upstream value columns, names on
/// both sides of the secret patterns, and Unicode case folding.
const VALUES: &[&str] = &[
    "local:password",
    "local:pandas",
    "global:API_KEY",
    "arg:token",
    "arg:x",
    "arg:xy",
    "local:keep",
    "local:kill",
    "local:count",
    "local:temp",
    "local:user",
    "ret:<return>",
    "ret:<yield>",
    "ret:app.auth.login",
    "attr:secret",
    "attr:_cache",
    "local:ПАРОЛЬ",
    "local:пароль",
    "local:SESSİON",
    "arg:card_number",
    "arg:amount",
];

/// A filter file of the corpus.
fn file(path: &str, text: &str) -> SourceInput {
    SourceInput {
        path: path.into(),
        text: text.into(),
        inline: false,
    }
}

fn filter(defaults: (&str, &str), rules: &str) -> String {
    format!(
        "[meta]\nname = \"corpus\"\nversion = 1\n\n[scope]\ndefault_exec = \"{}\"\ndefault_value_action = \"{}\"\n{rules}",
        defaults.0, defaults.1
    )
}

const INHERIT: (&str, &str) = ("inherit", "inherit");

/// The chains: (name, user sources, head options).
fn chains() -> Vec<(&'static str, Vec<SourceInput>, ChainInput)> {
    let posix = ChainInput::default();
    let bare = ChainInput {
        builtin: false,
        ..posix
    };
    let framework = |name: &str| ChainInput {
        framework: Some(name.parse().expect("a framework")),
        ..posix
    };
    let windows = ChainInput {
        platform: tracesieve_engine::Platform::Windows,
        ..posix
    };
    let v38 = filter(
        ("trace", "allow"),
        r#"
[[scope.rules]]
selector = "file:./src/../app/foo.py"
exec = "skip"
[[scope.rules]]
selector = "file:glob:/R/app/*.py"
value_default = "redact"
[[scope.rules]]
selector = "file:glob:glob:lib/*.py"
exec = "skip"
[[scope.rules]]
selector = "file:glob:regex:^zz.*"
exec = "skip"
"#,
    );
    let v57 = filter(("inherit", "drop"), "");
    let v58 = filter(
        INHERIT,
        "\n[[scope.rules]]\nselector = \"pkg:app.*\"\nexec = \"trace\"\n",
    );
    let v59 = filter(
        ("skip", "redact"),
        r#"
[[scope.rules]]
selector = "pkg:app.*"
exec = "trace"
[[scope.rules.value_patterns]]
selector = "local:keep"
action = "allow"
[[scope.rules.value_patterns]]
selector = "local:k*"
action = "drop"
"#,
    );
    let v61 = filter(
        INHERIT,
        r#"
[[scope.rules]]
selector = "obj:app.mod.f"
value_default = "drop"
[[scope.rules.value_patterns]]
selector = "local:keep"
action = "allow"
"#,
    );
    let v67 = filter(
        ("trace", "allow"),
        r#"
[[scope.rules]]
selector = "pkg:*"
value_default = "redact"
[[scope.rules.value_patterns]]
selector = "arg:x*"
action = "drop"
[[scope.rules.value_patterns]]
selector = "arg:xy"
action = "allow"
[[scope.rules.value_patterns]]
selector = "local:*"
action = "allow"
[[scope.rules.value_patterns]]
selector = "ret:literal:app.mod.f"
action = "drop"
[[scope.rules.value_patterns]]
selector = "ret:literal:<yield>"
action = "allow"
"#,
    );
    let selectors = filter(
        INHERIT,
        r#"
[[scope.rules]]
selector = "pkg:glob:app.*"
exec = "skip"
[[scope.rules]]
selector = "pkg:regex:^app\\.(auth|session)$"
exec = "trace"
[[scope.rules]]
selector = "pkg:literal:app.main"
exec = "trace"
[[scope.rules]]
selector = "file:glob:**/vendored/**"
exec = "skip"
[[scope.rules]]
selector = "file:regex:.*/generated_[a-z]+\\.py$"
exec = "skip"
[[scope.rules]]
selector = "file:literal:app/foo.py"
value_default = "drop"
[[scope.rules]]
selector = "obj:glob:*.login"
value_default = "redact"
[[scope.rules.value_patterns]]
selector = "arg:glob:t?ken"
action = "allow"
[[scope.rules.value_patterns]]
selector = "attr:regex:^_"
action = "drop"
[[scope.rules.value_patterns]]
selector = "global:literal:API_KEY"
action = "drop"
[[scope.rules.value_patterns]]
selector = "ret:glob:*.login"
action = "allow"
[[scope.rules]]
selector = "obj:regex:\\.<module>$"
exec = "trace"
[[scope.rules.value_patterns]]
selector = "local:regex:^(keep|kill)$"
action = "allow"
"#,
    );
    let unicode = filter(
        INHERIT,
        r#"
[[scope.rules]]
selector = "pkg:*"
[[scope.rules.value_patterns]]
selector = "local:regex:(?i)^пароль$"
action = "drop"
[[scope.rules.value_patterns]]
selector = "local:regex:(?i)session"
action = "drop"
[[scope.rules.value_patterns]]
selector = "attr:regex:(?i)SECRET"
action = "allow"
"#,
    );
    let windows_filter = filter(
        INHERIT,
        r#"
[[scope.rules]]
selector = "file:glob:App/*.py"
exec = "skip"
[[scope.rules]]
selector = "file:literal:app/foo.py"
exec = "trace"
value_default = "redact"
"#,
    );
    let d7 = filter(
        INHERIT,
        r#"
[[scope.rules]]
selector = "obj:*.<module>"
[[scope.rules.value_patterns]]
selector = "local:count"
action = "drop"
[[scope.rules.value_patterns]]
selector = "global:count"
action = "allow"
[[scope.rules.value_patterns]]
selector = "global:user"
action = "redact"
"#,
    );
    let outer = filter(
        ("trace", "allow"),
        "\n[[scope.rules]]\nselector = \"file:sub/x.py\"\nexec = \"skip\"\n",
    );
    let sample = include_str!("../../sample/.codetracer/trace-filter.toml");
    vec![
        ("builtin", vec![], posix),
        ("builtin-pytest", vec![], framework("pytest")),
        ("builtin-unittest", vec![], framework("unittest")),
        (
            "v38-root-R",
            vec![file("/R/.codetracer/trace-filter.toml", &v38)],
            bare,
        ),
        (
            "v38-after-builtin",
            vec![file("/R/.codetracer/trace-filter.toml", &v38)],
            posix,
        ),
        (
            "v57-drop-default",
            vec![file("/D/.codetracer/drop.toml", &v57)],
            posix,
        ),
        (
            "v58-inherit",
            vec![file("/U/.codetracer/trace-filter.toml", &v58)],
            posix,
        ),
        ("v59-a", vec![file("/I/.codetracer/a.toml", &v59)], bare),
        (
            "v60-a-b2",
            vec![
                file("/I/.codetracer/a.toml", &v59),
                file("/I/.codetracer/b.toml", &filter(("inherit", "drop"), "")),
            ],
            bare,
        ),
        (
            "v61-a-b2-c",
            vec![
                file("/I/.codetracer/a.toml", &v59),
                file("/I/.codetracer/b.toml", &filter(("inherit", "drop"), "")),
                file("/I/.codetracer/c.toml", &v61),
            ],
            bare,
        ),
        (
            "v63-outer",
            vec![file("/N/.codetracer/outer.toml", &outer)],
            bare,
        ),
        (
            "v63-outer-inner",
            vec![
                file("/N/.codetracer/outer.toml", &outer),
                file("/N/sub/.codetracer/inner.toml", &filter(INHERIT, "")),
            ],
            bare,
        ),
        (
            "v64-no-codetracer-dir",
            vec![file("/P/filters/p.toml", &outer)],
            bare,
        ),
        (
            "v67-patterns",
            vec![file("/proj/.codetracer/trace-filter.toml", &v67)],
            bare,
        ),
        (
            "d1-layers",
            vec![
                file("/proj/.codetracer/trace-filter.toml", &v58),
                file("/proj/.codetracer/strict.toml", &v61),
            ],
            posix,
        ),
        (
            "selectors",
            vec![file("/proj/.codetracer/trace-filter.toml", &selectors)],
            posix,
        ),
        (
            "selectors-inline",
            vec![SourceInput {
                path: "playground".into(),
                text: selectors.clone(),
                inline: true,
            }],
            posix,
        ),
        (
            "unicode-case-folding",
            vec![file("/proj/.codetracer/trace-filter.toml", &unicode)],
            posix,
        ),
        (
            "d4-windows",
            vec![file(
                "C:\\Proj\\.codetracer\\trace-filter.toml",
                &windows_filter,
            )],
            windows,
        ),
        (
            "d7-module-level",
            vec![file("/proj/.codetracer/trace-filter.toml", &d7)],
            posix,
        ),
        (
            "sample",
            vec![file("/work/sample/.codetracer/trace-filter.toml", sample)],
            posix,
        ),
    ]
}

/// Scopes: (filename, qualname, `__name__`), each asked in `globals` mode
/// and, with the resolver inputs of [`paths_inputs`], in `paths` mode.
const SCOPES: &[(&str, &str, Option<&str>)] = &[
    ("/R/app/foo.py", "f", None),
    ("/R/app/bar.py", "f", Some("app.bar")),
    ("/R/lib/x.py", "f", None),
    ("/R/zzz.py", "f", None),
    ("/other/app/foo.py", "f", None),
    ("app/foo.py", "f", None),
    ("/Rx/app/foo.py", "f", None),
    ("/home/u/proj/app/main.py", "main", Some("app.main")),
    ("/home/u/proj/app/main.py", "<module>", Some("__main__")),
    ("/home/u/proj/app/main.py", "main", Some("my-mod")),
    ("/home/u/proj/app/main.py", "", Some("app.main")),
    (
        "/usr/lib/python3.12/json/__init__.py",
        "<module>",
        Some("json"),
    ),
    (
        "/usr/lib/python3.12/asyncio/events.py",
        "f",
        Some("asyncio.events"),
    ),
    (
        "/venv/lib/python3.12/site-packages/requests/api.py",
        "get",
        Some("requests.api"),
    ),
    (
        "/venv/lib/python3.12/site-packages/_virtualenv.py",
        "<module>",
        Some("_virtualenv"),
    ),
    (
        "/venv/lib/python3.12/site-packages/_pytest/main.py",
        "main",
        Some("_pytest.main"),
    ),
    (
        "/venv/lib/python3.12/site-packages/pytest_helpers/x.py",
        "f",
        Some("pytest_helpers.x"),
    ),
    (
        "<frozen importlib._bootstrap>",
        "_find_and_load",
        Some("importlib._bootstrap"),
    ),
    ("<string>", "<module>", None),
    ("/D/app/dropper.py", "f", Some("app.dropper")),
    ("/U/app/main.py", "main", Some("app.main")),
    ("/I/app/mod.py", "f", Some("app.mod")),
    ("/I/app/mod.py", "g", Some("app.mod")),
    ("/I/zzz.py", "f", Some("zzz")),
    ("/N/sub/x.py", "f", Some("sub.x")),
    ("/P/filters/x.py", "f", None),
    ("/proj/app/auth.py", "login", Some("app.auth")),
    ("/proj/app/session.py", "Session.get", Some("app.session")),
    ("/proj/app/vendored/lib.py", "f", Some("app.vendored.lib")),
    (
        "/proj/app/generated_models.py",
        "<module>",
        Some("app.generated_models"),
    ),
    (
        "/proj/ünï/モジュール.py",
        "<module>",
        Some("ünï.モジュール"),
    ),
    ("/proj/tests/test_x.py", "test_login", Some("tests.test_x")),
    ("/proj/app/conftest.py", "fixture", Some("app.conftest")),
    ("C:\\Proj\\App\\main.py", "<module>", Some("App.main")),
    ("c:/proj/app/foo.py", "f", Some("app.foo")),
    (
        "/work/sample/shop/payment.py",
        "charge",
        Some("shop.payment"),
    ),
    (
        "/work/sample/shop/vendored/fmt.py",
        "f",
        Some("shop.vendored.fmt"),
    ),
];

/// The import state the `paths` mode reads, for every scope.
fn paths_inputs(query: &mut ScopeQuery) {
    query.module_names = tracesieve_engine::NamingMode::Paths;
    query.cwd = "/home/u/proj".into();
    query.sys_path = [
        "",
        "/home/u/proj",
        "/usr/lib/python3.12",
        "/venv/lib/python3.12/site-packages",
        "/R",
        "/proj",
        "C:\\Proj",
    ]
    .map(String::from)
    .to_vec();
    query.modules = vec![
        tracesieve_engine::identity::ModuleFile {
            name: "app.mod".into(),
            path: "/I/app/mod.py".into(),
        },
        tracesieve_engine::identity::ModuleFile {
            name: "shop.payment".into(),
            path: "/work/sample/shop/payment.pyc".into(),
        },
    ];
    query.markers = ["/N", "/N/sub", "/D", "/U", "/work/sample"]
        .map(String::from)
        .to_vec();
}

/// Broken filters: each schema and selector error the upstream vectors
/// name (16.3), at a known place.
fn broken() -> Vec<(&'static str, String)> {
    let rule = |selector: &str, body: &str| {
        filter(
            ("trace", "allow"),
            &format!("\n[[scope.rules]]\nselector = '{selector}'\n{body}"),
        )
    };
    vec![
        ("v22-version-2", "[meta]\nname = \"x\"\nversion = 2\n[scope]\ndefault_exec = \"trace\"\ndefault_value_action = \"allow\"\n".into()),
        ("v23-exec-skipp", rule("pkg:a", "exec = \"skipp\"\n")),
        ("v24-version-0", "[meta]\nname = \"x\"\nversion = 0\n[scope]\ndefault_exec = \"trace\"\ndefault_value_action = \"allow\"\n".into()),
        ("v24-version-string", "[meta]\nname = \"x\"\nversion = \"1\"\n[scope]\ndefault_exec = \"trace\"\ndefault_value_action = \"allow\"\n".into()),
        ("v25-empty-name", "[meta]\nname = \"  \"\nversion = 1\n[scope]\ndefault_exec = \"trace\"\ndefault_value_action = \"allow\"\n".into()),
        ("v26-unknown-key", rule("pkg:a", "match = \"x\"\n")),
        ("v27-no-scope", "[meta]\nname = \"x\"\nversion = 1\n".into()),
        ("v27-no-action", rule("pkg:a", "[[scope.rules.value_patterns]]\nselector = \"arg:x\"\n")),
        ("v29-exec-case", filter(("Trace", "allow"), "")),
        ("v32-local-as-scope", rule("local:foo", "exec = \"skip\"\n")),
        ("v32-pkg-as-pattern", rule("pkg:a", "[[scope.rules.value_patterns]]\nselector = \"pkg:x\"\naction = \"drop\"\n")),
        ("v33-pattern-inherit", rule("pkg:a", "[[scope.rules.value_patterns]]\nselector = \"arg:x\"\naction = \"inherit\"\n")),
        ("v35-escapes-root", rule("file:../x.py", "exec = \"skip\"\n")),
        ("v35-outside-root", rule("file:/elsewhere/x.py", "exec = \"skip\"\n")),
        ("v35-colon-glob", rule("file:a:b.py", "exec = \"skip\"\n")),
        ("bad-regex", rule("pkg:regex:app.(", "exec = \"skip\"\n")),
        ("bad-glob", rule("file:glob:a/[b.py", "exec = \"skip\"\n")),
        ("unknown-kind", rule("module:app", "exec = \"skip\"\n")),
        ("empty-pattern", rule("pkg:", "exec = \"skip\"\n")),
        ("toml-syntax", "[meta\nname = \"x\"\n".into()),
        ("toml-duplicate-key", "[meta]\nname = \"x\"\nname = \"y\"\nversion = 1\n".into()),
        ("unicode-before-error", rule("pkg:ünï.モジュール", "exec = \"nope\"\n")),
        ("v28-first-inherits", filter(INHERIT, "")),
        ("io-bad-stream", filter(("trace", "allow"), "[io]\ncapture = true\nstreams = [\"stdout\", \"net\"]\n")),
        ("not-toml-at-all", "\u{feff}<html><body>404</body></html>".into()),
    ]
}

fn case_values() -> Vec<Value> {
    VALUES.iter().map(|v| json!(v)).collect()
}

fn decide(chain: &FilterChain, query: &ScopeQuery) -> String {
    let values: Vec<ValueQuery> = VALUES
        .iter()
        .map(|v| v.parse().expect("corpus values parse"))
        .collect();
    let decision = explain(chain, &query.resolve(chain.platform()), &values);
    serde_json::to_string(&decision).expect("decisions serialise")
}

fn load(sources: &[SourceInput], options: &ChainInput) -> Result<FilterChain, String> {
    options
        .load(sources)
        .map_err(|e| serde_json::to_string(&Problem::of(&e)).expect("problems serialise"))
}

fn options_json(options: &ChainInput) -> Value {
    json!({"builtin": options.builtin, "framework": options.framework, "platform": options.platform})
}

fn sources_json(sources: &[SourceInput]) -> Value {
    Value::Array(
        sources
            .iter()
            .map(|s| json!({"path": s.path, "text": s.text, "inline": s.inline}))
            .collect(),
    )
}

fn explain_cases() -> Vec<Value> {
    let mut cases = Vec::new();
    for (name, sources, options) in chains() {
        let chain = load(&sources, &options).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (index, (filename, qualname, module)) in SCOPES.iter().enumerate() {
            for paths in [false, true] {
                let mut query = ScopeQuery {
                    filename: filename.to_string(),
                    qualname: qualname.to_string(),
                    module: module.map(String::from),
                    first_line: Some(index as u32 + 1),
                    ..ScopeQuery::default()
                };
                if paths {
                    paths_inputs(&mut query);
                }
                cases.push(json!({
                    "id": format!("{name}/{index}-{}/{filename}:{qualname}", if paths { "paths" } else { "globals" }),
                    "type": "explain",
                    "sources": sources_json(&sources),
                    "options": options_json(&options),
                    "scope": serde_json::to_value(&query).expect("scopes serialise"),
                    "values": case_values(),
                    "expected": decide(&chain, &query),
                }));
            }
        }
    }
    cases
}

fn error_cases() -> Vec<Value> {
    let mut cases = Vec::new();
    let options = [
        ChainInput::default(),
        ChainInput {
            builtin: false,
            ..ChainInput::default()
        },
    ];
    for (name, text) in broken() {
        for options in &options {
            let sources = vec![file("/proj/.codetracer/trace-filter.toml", &text)];
            let expected = match load(&sources, options) {
                Ok(_) => "null".to_string(),
                Err(problem) => problem,
            };
            cases.push(json!({
                "id": format!("{name}/builtin={}", options.builtin),
                "type": "check",
                "sources": sources_json(&sources),
                "options": options_json(options),
                "expected": expected,
            }));
        }
    }
    cases
}

#[test]
fn the_corpus_is_written_with_native_results() {
    let explain = explain_cases();
    let errors = error_cases();
    assert!(explain.len() >= 300, "{} explain cases", explain.len());
    let rejected = errors.iter().filter(|c| c["expected"] != "null").count();
    assert!(
        rejected >= 40,
        "only {rejected} broken filters are rejected"
    );
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/parity/engine");
    std::fs::create_dir_all(&dir).expect("create target/parity/engine");
    let corpus =
        json!({"values": VALUES, "cases": explain.into_iter().chain(errors).collect::<Vec<_>>()});
    std::fs::write(dir.join("cases.json"), corpus.to_string()).expect("write cases.json");
}

#[test]
fn unicode_case_folding_decides_as_documented() {
    let (_, sources, options) = chains()
        .into_iter()
        .find(|(name, ..)| *name == "unicode-case-folding")
        .expect("the chain");
    let chain = load(&sources, &options).expect("loads");
    let query = ScopeQuery {
        filename: "/proj/app/auth.py".into(),
        qualname: "login".into(),
        module: Some("app.auth".into()),
        ..ScopeQuery::default()
    };
    let decision: Value = serde_json::from_str(&decide(&chain, &query)).expect("JSON");
    let action = |name: &str| {
        decision["values"]
            .as_array()
            .expect("values")
            .iter()
            .find(|v| {
                format!(
                    "{}:{}",
                    v["kind"].as_str().unwrap(),
                    v["name"].as_str().unwrap()
                ) == name
            })
            .map(|v| v["action"].clone())
            .expect("asked")
    };
    // (?i) folds Cyrillic case, and the dotted capital İ is not an ASCII I.
    assert_eq!(action("local:ПАРОЛЬ"), "drop");
    assert_eq!(action("local:пароль"), "drop");
    assert_eq!(action("attr:secret"), "allow");
}
