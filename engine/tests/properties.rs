//! Property tests: loading never panics, errors are well placed, decisions are
//! deterministic, and a user filter that defaults to `allow` never un-redacts
//! a built-in secret (D1).

use proptest::prelude::*;
use proptest::sample::select;
use tracesieve_engine::filter::{Selector, SelectorContext};
use tracesieve_engine::{
    builtin, explain, from_dunder_name, Action, FilterChain, FilterError, FilterSource, Platform,
    Scope, ValueKind, ValueQuery,
};

/// A filter file whose project root is `/R`.
const PATH: &str = "/R/.codetracer/f.toml";

const CASES: u32 = 256;

/// A valid filter touching every table, to mutate.
const TEMPLATE: &str = r#"[meta]
name = "template"
version = 1
description = "d"
labels = ["a", "b", "a"]

[io]
capture = true
streams = ["stdout", "stderr"]
modes = []

[scope]
default_exec = "trace"
default_value_action = "allow"

[[scope.rules]]
selector = 'file:regex:.*[\\/]lib[\\/]python\d+\.\d+[\\/].*'
exec = "skip"
reason = "stdlib"

[[scope.rules]]
selector = "pkg:{app,app.*}"
exec = "trace"
value_default = "redact"

[[scope.rules.value_patterns]]
selector = "arg:regex:(?i)pass"
action = "drop"

[[scope.rules.value_patterns]]
selector = "local:literal:user"
action = "allow"
reason = "fine"

[[scope.rules]]
selector = "file:./app/../lib/*.py"
value_default = "deny"
"#;

/// Checks what every load result must satisfy, whatever the text: an error
/// names the source first and its place lies inside the text.
fn check_outcome(
    path: &str,
    text: &str,
    result: &Result<FilterChain, FilterError>,
) -> Result<(), TestCaseError> {
    match result {
        Ok(chain) => {
            prop_assert_eq!(chain.sources().len(), 1);
            prop_assert_eq!(&chain.sources()[0].path, path);
            prop_assert_eq!(&chain.sources()[0].text, text);
        }
        Err(e) => {
            prop_assert_eq!(&e.source, path);
            let shown = e.to_string();
            prop_assert!(
                shown.starts_with(&format!("{path}:")),
                "{} does not start with {}",
                shown,
                path
            );
            check_location(text, e)?;
        }
    }
    Ok(())
}

/// An error's line and column lie within the text: the line exists and the
/// column is at most one past its last character.
fn check_location(text: &str, e: &FilterError) -> Result<(), TestCaseError> {
    if let Some(loc) = e.location {
        let lines: Vec<&str> = text.split('\n').collect();
        prop_assert!(loc.line >= 1 && loc.column >= 1, "{:?}", loc);
        prop_assert!(
            (loc.line as usize) <= lines.len(),
            "line {} of {}: {}",
            loc.line,
            lines.len(),
            e
        );
        let width = lines[loc.line as usize - 1].chars().count();
        prop_assert!(
            (loc.column as usize) <= width + 1,
            "column {} of {}: {}",
            loc.column,
            width,
            e
        );
    }
    Ok(())
}

fn load_file(text: &str) -> Result<FilterChain, FilterError> {
    FilterChain::load(&[FilterSource::file(PATH, text)], Platform::Posix)
}

#[test]
fn the_template_is_valid() {
    let chain = load_file(TEMPLATE).expect("the template loads");
    assert_eq!(chain.rules().len(), 3);
    assert_eq!(chain.rules()[2].selector.pattern(), "lib/*.py");
}

/// Text that looks a little like TOML, to get past the first byte more often.
fn tomlish() -> impl Strategy<Value = String> {
    "[\\[\\]a-z_=\"'\\n .:{},0-9#\\\\*é-]{0,200}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    // (a) Arbitrary text as a file or an inline source.
    #[test]
    fn arbitrary_text_never_panics(text in prop_oneof![any::<String>(), tomlish()]) {
        check_outcome(PATH, &text, &load_file(&text))?;
        let inline = FilterChain::load(&[FilterSource::inline("p", text.clone())], Platform::Posix);
        check_outcome("<inline:p>", &text, &inline)?;
    }

    // (a) Arbitrary bytes: not UTF-8 is an I/O error naming the path.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let utf8 = std::str::from_utf8(&bytes).map(str::to_string);
        match FilterSource::file_bytes(PATH, bytes) {
            Ok(source) => {
                let text = utf8.expect("file_bytes accepted invalid UTF-8");
                prop_assert_eq!(source.text(), text.as_str());
                check_outcome(PATH, &text, &FilterChain::load(&[source], Platform::Posix))?;
            }
            Err(e) => {
                prop_assert!(utf8.is_err(), "valid UTF-8 rejected: {}", e);
                prop_assert_eq!(e.code(), tracesieve_engine::ErrorCode::Io);
                prop_assert!(e.location.is_none());
                prop_assert!(e.to_string().starts_with(&format!("{PATH}: ")), "{}", e);
            }
        }
    }

    // (a) Small edits of a valid filter reach every later check.
    #[test]
    fn edited_filters_never_panic(
        at in 0..TEMPLATE.len(),
        cut in 0usize..12,
        insert in prop_oneof![tomlish().prop_map(|s| s.chars().take(10).collect()), any::<String>()],
    ) {
        let mut start = at;
        while !TEMPLATE.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (start + cut).min(TEMPLATE.len());
        while !TEMPLATE.is_char_boundary(end) {
            end += 1;
        }
        let text = format!("{}{}{}", &TEMPLATE[..start], insert, &TEMPLATE[end..]);
        check_outcome(PATH, &text, &load_file(&text))?;
    }
}

// ---------------------------------------------------------------- (b) generated filters

/// A fragment of a generated filter, whether it is valid where it goes, and
/// an invalid alternative.
#[derive(Debug, Clone)]
struct Piece {
    text: &'static str,
    ok: bool,
    bad: &'static str,
}

/// Valid tokens, or (when `mixed`) sometimes invalid ones.
fn pick(
    valid: &'static [&'static str],
    invalid: &'static [&'static str],
    mixed: bool,
) -> BoxedStrategy<Piece> {
    let spoilt = if mixed {
        prop::bool::weighted(1.0 / 6.0).boxed()
    } else {
        Just(false).boxed()
    };
    (select(valid), select(invalid), spoilt)
        .prop_map(|(good, bad, spoilt)| Piece {
            text: if spoilt { bad } else { good },
            ok: !spoilt,
            bad,
        })
        .boxed()
}

/// Writes pieces, tracking validity; optionally replaces the `spoil`-th
/// piece written by its invalid alternative.
struct Pen {
    ok: bool,
    count: usize,
    spoil: Option<usize>,
}

impl Pen {
    fn piece(&mut self, p: &Piece) -> &'static str {
        self.count += 1;
        if self.spoil == Some(self.count - 1) {
            self.ok = false;
            return p.bad;
        }
        self.ok &= p.ok;
        p.text
    }

    /// A chain default: `inherit` is valid only after another source.
    fn default(&mut self, p: &Piece, after_head: bool) -> &'static str {
        let text = self.piece(p);
        if text == "inherit" {
            self.ok &= after_head;
        }
        text
    }
}

const SCOPE_SELECTORS: &[&str] = &[
    "pkg:app.*",
    r"pkg:regex:^app(\.|$)",
    "obj:*.login",
    "file:app/*.py",
    "file:/R/app/**",
    "file:./src/../app/x.py",
    "file:glob:a:b.py",
    "file:glob:regex:^zz.*",
    "file:regex:/usr/lib/.*",
    "file:regex:(a|b)/../c",
    "file:literal:./x.py",
    "pkg:literal: x ",
    "pkg:{a,b}.*",
    "file:**",
    "obj:regex:(?i)ß",
    r"pkg:\*",
];
const BAD_SCOPE_SELECTORS: &[&str] = &[
    "",
    "bogus",
    "PKG:x",
    " pkg:x",
    "local:x",
    "pkg::x",
    "pkg:foo:bar",
    "pkg:Glob:x",
    "pkg:",
    "pkg:glob:[",
    "pkg:{a,b",
    "pkg:regex:(",
    "file:../x.py",
    "file:/elsewhere/x.py",
    "file:/R",
    "file:C:/x.py",
    "file:literal:/R/..",
    r"pkg:a\",
];
const VALUE_SELECTORS: &[&str] = &[
    "arg:password",
    "local:regex:(?i)token",
    "global:*",
    "ret:literal:<return>",
    "attr:{a,b}",
    "local:glob:a:b",
    "arg:**",
    "local:[!_]*",
];
const BAD_VALUE_SELECTORS: &[&str] = &[
    "pkg:x",
    "file:x",
    "arg",
    "arg:",
    "local:Glob:x",
    "local:[",
    "local:regex:[",
    "ret::x",
];
const ACTIONS: &[&str] = &["allow", "redact", "drop", "deny"];
const BAD_ACTIONS: &[&str] = &["inherit", "Redact", "", "trace"];
const EXECS: &[&str] = &["trace", "skip", "inherit"];
const BAD_EXECS: &[&str] = &["skipp", "Trace", "allow", ""];
const VALUE_DEFAULTS: &[&str] = &["allow", "redact", "drop", "deny", "inherit"];
const BAD_VALUE_DEFAULTS: &[&str] = &["trace", "Allow", ""];
/// `inherit` is handled apart: valid only after another source.
const DEFAULT_EXECS: &[&str] = &["trace", "skip", "inherit"];
const BAD_DEFAULT_EXECS: &[&str] = &["Trace", "", "deny"];
const DEFAULT_VALUES: &[&str] = &["allow", "redact", "drop", "deny", "inherit"];
const BAD_DEFAULT_VALUES: &[&str] = &["Allow", "skip"];
const NAMES: &[&str] = &["n", " x ", "ü名"];
const BAD_NAMES: &[&str] = &["", "  ", "\\t"];
const VERSIONS: &[&str] = &["1"];
const BAD_VERSIONS: &[&str] = &["0", "2", "-1", "\"1\"", "1.0", "4294967296"];
const LABELS: &[&str] = &["[]", "[\"a\", \"b\", \"a\"]"];
const BAD_LABELS: &[&str] = &["[1]", "\"a\""];
const IOS: &[&str] = &[
    "capture = false",
    "capture = true\nstreams = [\"stdout\", \"stdout\"]",
    "modes = []",
    "streams = [\"files\", \"stdin\"]",
];
const BAD_IOS: &[&str] = &[
    "capture = true",
    "streams = [\"net\"]",
    "modes = [\"x\"]",
    "capture = \"yes\"",
];

#[derive(Debug, Clone)]
struct GenPattern {
    selector: Piece,
    action: Piece,
}

#[derive(Debug, Clone)]
struct GenRule {
    selector: Piece,
    exec: Option<Piece>,
    value_default: Option<Piece>,
    patterns: Vec<GenPattern>,
}

#[derive(Debug, Clone)]
struct GenFilter {
    name: Piece,
    version: Piece,
    labels: Option<Piece>,
    io: Option<Piece>,
    default_exec: Piece,
    default_value: Piece,
    rules: Vec<GenRule>,
    /// Where to add an unknown key: 0 root, 1 meta, 2 io, 3 scope, 4 first rule, 5 first pattern.
    unknown_key: Option<u8>,
    /// Which required key to leave out: 0 name, 1 version, 2 default_exec, 3 default_value_action.
    omit: Option<u8>,
    /// Whether another source comes first (then `inherit` defaults are valid).
    after_head: bool,
    /// Replace this piece (modulo their number) by an invalid one.
    spoil: Option<usize>,
}

fn gen_rule(mixed: bool) -> impl Strategy<Value = GenRule> {
    let pattern = (
        pick(VALUE_SELECTORS, BAD_VALUE_SELECTORS, mixed),
        pick(ACTIONS, BAD_ACTIONS, mixed),
    )
        .prop_map(|(selector, action)| GenPattern { selector, action });
    (
        pick(SCOPE_SELECTORS, BAD_SCOPE_SELECTORS, mixed),
        prop::option::of(pick(EXECS, BAD_EXECS, mixed)),
        prop::option::of(pick(VALUE_DEFAULTS, BAD_VALUE_DEFAULTS, mixed)),
        prop::collection::vec(pattern, 0..3),
    )
        .prop_map(|(selector, exec, value_default, patterns)| GenRule {
            selector,
            exec,
            value_default,
            patterns,
        })
}

fn gen_filter(mixed: bool) -> impl Strategy<Value = GenFilter> {
    let odd = |n: u8| {
        if mixed {
            prop::option::weighted(0.15, 0..n).boxed()
        } else {
            Just(None).boxed()
        }
    };
    (
        (
            pick(NAMES, BAD_NAMES, mixed),
            pick(VERSIONS, BAD_VERSIONS, mixed),
            prop::option::of(pick(LABELS, BAD_LABELS, mixed)),
            prop::option::of(pick(IOS, BAD_IOS, mixed)),
        ),
        (
            pick(DEFAULT_EXECS, BAD_DEFAULT_EXECS, mixed),
            pick(DEFAULT_VALUES, BAD_DEFAULT_VALUES, mixed),
            prop::collection::vec(gen_rule(mixed), 0..4),
        ),
        (odd(6), odd(4), any::<bool>()),
    )
        .prop_map(
            |(
                (name, version, labels, io),
                (default_exec, default_value, rules),
                (unknown_key, omit, after_head),
            )| GenFilter {
                name,
                version,
                labels,
                io,
                default_exec,
                default_value,
                rules,
                unknown_key,
                omit,
                after_head,
                spoil: None,
            },
        )
}

impl GenFilter {
    /// The TOML text, and whether it should load.
    fn render(&self) -> (String, bool) {
        let Some(spoil) = self.spoil else {
            return self.render_with(None);
        };
        let mut pen = Pen {
            ok: true,
            count: 0,
            spoil: None,
        };
        self.write(&mut pen);
        self.render_with(Some(spoil % pen.count))
    }

    fn render_with(&self, spoil: Option<usize>) -> (String, bool) {
        let mut pen = Pen {
            ok: true,
            count: 0,
            spoil,
        };
        let (text, injected) = self.write(&mut pen);
        (text, pen.ok && !injected && self.omit.is_none())
    }

    /// The text, and whether an unknown key was added.
    fn write(&self, pen: &mut Pen) -> (String, bool) {
        let mut t = String::new();
        let unknown = |level: u8| self.unknown_key == Some(level);
        let mut injected = false;
        if unknown(0) {
            t.push_str("surprise = 1\n");
            injected = true;
        }
        t.push_str("[meta]\n");
        if self.omit != Some(0) {
            t.push_str(&format!("name = \"{}\"\n", pen.piece(&self.name)));
        }
        if self.omit != Some(1) {
            t.push_str(&format!("version = {}\n", pen.piece(&self.version)));
        }
        if let Some(labels) = &self.labels {
            t.push_str(&format!("labels = {}\n", pen.piece(labels)));
        }
        if unknown(1) {
            t.push_str("author = \"x\"\n");
            injected = true;
        }
        if let Some(io) = &self.io {
            t.push_str(&format!("[io]\n{}\n", pen.piece(io)));
            if unknown(2) {
                t.push_str("foo = 1\n");
                injected = true;
            }
        }
        t.push_str("[scope]\n");
        for (omit, key, p) in [
            (2, "default_exec", &self.default_exec),
            (3, "default_value_action", &self.default_value),
        ] {
            if self.omit == Some(omit) {
                continue;
            }
            let text = pen.default(p, self.after_head);
            t.push_str(&format!("{key} = \"{text}\"\n"));
        }
        if unknown(3) {
            t.push_str("foo = 1\n");
            injected = true;
        }
        for (i, rule) in self.rules.iter().enumerate() {
            t.push_str(&format!(
                "\n[[scope.rules]]\nselector = '{}'\n",
                pen.piece(&rule.selector)
            ));
            if let Some(exec) = &rule.exec {
                t.push_str(&format!("exec = \"{}\"\n", pen.piece(exec)));
            }
            if let Some(value_default) = &rule.value_default {
                t.push_str(&format!(
                    "value_default = \"{}\"\n",
                    pen.piece(value_default)
                ));
            }
            if i == 0 && unknown(4) {
                t.push_str("match = \"glob\"\n");
                injected = true;
            }
            for (j, pattern) in rule.patterns.iter().enumerate() {
                t.push_str(&format!(
                    "[[scope.rules.value_patterns]]\nselector = '{}'\naction = \"{}\"\n",
                    pen.piece(&pattern.selector),
                    pen.piece(&pattern.action)
                ));
                if i == 0 && j == 0 && unknown(5) {
                    t.push_str("bar = 2\n");
                    injected = true;
                }
            }
        }
        (t, injected)
    }

    fn sources(&self, text: &str) -> Vec<FilterSource> {
        let mut sources = if self.after_head {
            vec![head_source()]
        } else {
            Vec::new()
        };
        sources.push(FilterSource::file(PATH, text));
        sources
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    // (b) Mixes of valid and invalid pieces: no panic, an error exactly when a
    // piece is invalid, placed inside the text and inside the generated rules.
    #[test]
    fn generated_filters_load_exactly_when_valid(
        filter in prop_oneof![
            // All valid, exactly one invalid piece, or any mix.
            gen_filter(false),
            (gen_filter(false), any::<usize>()).prop_map(|(mut f, n)| {
                f.spoil = Some(n);
                f
            }),
            gen_filter(true),
        ]
    ) {
        let (text, valid) = filter.render();
        let result = FilterChain::load(&filter.sources(&text), Platform::Posix);
        match &result {
            Ok(chain) => {
                prop_assert!(valid, "an invalid filter loaded:\n{}", text);
                let first_user = chain.rules().len() - filter.rules.len();
                for (rule, generated) in chain.rules()[first_user..].iter().zip(&filter.rules) {
                    prop_assert_eq!(rule.selector.as_str(), generated.selector.text);
                    prop_assert_eq!(rule.patterns.len(), generated.patterns.len());
                }
            }
            Err(e) => {
                prop_assert!(!valid, "a valid filter failed: {}\n{}", e, text);
                prop_assert_eq!(&e.source, PATH);
                prop_assert!(e.to_string().starts_with(&format!("{PATH}:")), "{}", e);
                prop_assert!(e.location.is_some(), "no place: {}", e);
                check_location(&text, e)?;
                if let Some(rule) = e.rule {
                    prop_assert!(rule < filter.rules.len(), "rule {} of {}: {}", rule, filter.rules.len(), e);
                    if let Some(pattern) = e.pattern {
                        prop_assert!(pattern < filter.rules[rule].patterns.len(), "{}", e);
                    }
                } else {
                    prop_assert!(e.pattern.is_none());
                }
            }
        }
    }
}

// ---------------------------------------------------------------- (c) selectors

/// Selector-shaped strings: a (possibly bad) kind, match type and pattern.
fn selector_like() -> impl Strategy<Value = String> {
    let kind = select(vec![
        "pkg", "file", "obj", "local", "global", "arg", "ret", "attr", "PKG", " pkg", "", "x",
    ]);
    let match_type = prop::option::of(select(vec!["glob", "regex", "literal", "Glob", "", "foo"]));
    let pattern = "[-a-z*?\\[\\]{},!^\\\\/.:()|+$ é\\n]{0,16}";
    (kind, match_type, pattern).prop_map(|(kind, match_type, pattern)| match match_type {
        Some(m) => format!("{kind}:{m}:{pattern}"),
        None => format!("{kind}:{pattern}"),
    })
}

fn candidates() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        prop_oneof![any::<String>(), "[-a-z*?\\[\\]{},./ é\\n]{0,12}"],
        0..8,
    )
}

/// `text` as a glob that matches exactly `text`.
fn glob_escape(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "?*[]{},\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    // (c) Parsing never panics; failures point inside the string; compiled
    // selectors never panic on any candidate.
    #[test]
    fn selectors_never_panic(
        raw in prop_oneof![any::<String>(), selector_like()],
        candidates in candidates(),
    ) {
        for context in [SelectorContext::Scope, SelectorContext::Value] {
            match Selector::parse(&raw, context) {
                Ok(selector) => {
                    prop_assert_eq!(selector.as_str(), raw.as_str());
                    prop_assert!(raw.ends_with(selector.pattern()));
                    prop_assert!(!selector.pattern().is_empty());
                    let scope_kind = matches!(selector.kind().token(), "pkg" | "file" | "obj");
                    prop_assert_eq!(scope_kind, context == SelectorContext::Scope);
                    for candidate in &candidates {
                        let _ = selector.is_match(candidate);
                    }
                    let _ = selector.is_match(&raw);
                    let _ = selector.is_match(selector.pattern());
                }
                Err(failure) => {
                    prop_assert!(failure.offset <= raw.len());
                    prop_assert!(raw.is_char_boundary(failure.offset), "{:?}", failure);
                }
            }
        }
    }

    // (c) Escaped text matches itself exactly, as a glob, a regex and a literal.
    #[test]
    fn escaped_patterns_match_exactly_their_text(text in "\\PC{1,12}", other in "\\PC{0,12}") {
        for raw in [
            format!("attr:glob:{}", glob_escape(&text)),
            format!("attr:regex:^{}$", regex::escape(&text)),
            format!("attr:literal:{text}"),
        ] {
            let selector = Selector::parse(&raw, SelectorContext::Value)
                .map_err(|e| TestCaseError::fail(format!("{raw}: {e:?}")))?;
            prop_assert!(selector.is_match(&text), "{} does not match {:?}", raw, text);
            prop_assert_eq!(selector.is_match(&other), other == text, "{} ~ {:?}", raw, other);
        }
    }
}

// ---------------------------------------------------------------- (d) determinism

fn scopes() -> impl Strategy<Value = Scope> {
    let filename = prop_oneof![
        select(vec![
            "/R/app/main.py",
            "/R/a:b.py",
            "/R/x.py",
            "/R/regex:^zz.py",
            "/usr/lib/python3.12/json/__init__.py",
            "/venv/lib/python3.12/site-packages/_virtualenv.py",
            "/venv/lib/python3.12/site-packages/req/api.py",
            "<string>",
            "/elsewhere/app/x.py",
            "relative/x.py",
            "",
        ])
        .prop_map(str::to_string),
        "/R/[a-z]{1,3}(/[a-z]{1,3}){0,2}\\.py",
    ];
    let qualname = select(vec!["<module>", "login", "A.f", "", "f.<locals>.g"]);
    let module = prop::option::of(select(vec![
        "app.main",
        "app",
        "a",
        "pytest",
        "asyncio.events",
        "<run_path>",
        "",
        "b",
    ]));
    (filename, qualname, module).prop_map(|(filename, qualname, module)| {
        Scope::new(filename, qualname, from_dunder_name(module))
    })
}

fn queries() -> impl Strategy<Value = Vec<ValueQuery>> {
    let name = prop_oneof![
        select(vec![
            "password", "x", "token", "a", "b", "<return>", "self", "user"
        ])
        .prop_map(str::to_string),
        "[a-zA-Z_]{1,8}",
    ];
    prop::collection::vec(
        (select(ValueKind::ALL.to_vec()), name).prop_map(|(kind, name)| ValueQuery { kind, name }),
        0..6,
    )
}

fn valid_user_filter() -> impl Strategy<Value = String> {
    gen_filter(false).prop_map(|mut f| {
        f.after_head = true;
        f.render().0
    })
}

fn with_builtin(text: &str) -> Vec<FilterSource> {
    let mut sources = builtin::sources(None);
    sources.push(FilterSource::file(PATH, text));
    sources
}

/// A small first source, much cheaper to compile than the built-in default
/// (whose Unicode case-insensitive regexes dominate a debug build's time).
fn head_source() -> FilterSource {
    FilterSource::inline(
        "head",
        "[meta]\nname = \"head\"\nversion = 1\n[scope]\ndefault_exec = \"trace\"\n\
         default_value_action = \"redact\"\n[[scope.rules]]\nselector = \"file:glob:**\"\n\
         [[scope.rules.value_patterns]]\nselector = \"arg:regex:pass|token\"\naction = \"drop\"\n\
         [[scope.rules]]\nselector = \"pkg:regex:^(asyncio|pytest)(\\\\.|$)\"\nexec = \"skip\"\n",
    )
}

/// The built-in default alone, compiled once.
fn builtin_chain() -> &'static FilterChain {
    static CHAIN: std::sync::OnceLock<FilterChain> = std::sync::OnceLock::new();
    CHAIN.get_or_init(|| FilterChain::load(&builtin::sources(None), Platform::Posix).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    // (d) Same sources, same id; same questions, same answers, byte for byte.
    #[test]
    fn decisions_are_deterministic(
        text in valid_user_filter(),
        // One case in eight puts the real built-in default first.
        builtin_first in prop::bool::weighted(0.125),
        scopes in prop::collection::vec(scopes(), 1..6),
        queries in queries(),
    ) {
        let sources = |text: &str| {
            if builtin_first {
                with_builtin(text)
            } else {
                vec![head_source(), FilterSource::file(PATH, text)]
            }
        };
        let one = FilterChain::load(&sources(&text), Platform::Posix)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        let two = FilterChain::load(&sources(&text), Platform::Posix).unwrap();
        prop_assert_eq!(one.id(), two.id());
        // The id follows the content.
        let edited = FilterChain::load(&sources(&format!("{text}\n# edited\n")), Platform::Posix).unwrap();
        prop_assert_ne!(one.id(), edited.id());
        for scope in &scopes {
            let first = serde_json::to_string(&explain(&one, scope, &queries)).unwrap();
            let again = serde_json::to_string(&explain(&one, scope, &queries)).unwrap();
            let other = serde_json::to_string(&explain(&two, scope, &queries)).unwrap();
            prop_assert_eq!(&first, &again);
            prop_assert_eq!(&first, &other);
            // The answers recorded with the decision are the ones asked
            // later (a module body's locals: the stricter of local and
            // global, D7).
            let decision = explain(&one, scope, &queries);
            for (query, action) in decision.values() {
                let asked = if query.kind == ValueKind::Local
                    && tracesieve_engine::is_module_body(&scope.qualname)
                {
                    decision.module_level_action(&query.name)
                } else {
                    decision.action(query.kind, &query.name)
                };
                prop_assert_eq!(action, asked);
            }
        }
    }
}

// ---------------------------------------------------------------- (e) D1 monotonicity

const SECRET_WORDS: &[&str] = &[
    "password",
    "PASSWORD",
    "token",
    "secret",
    "api_key",
    "passwd",
    "session",
    "cookie",
    "auth",
    "credential",
    "jwt",
];

fn secret_names() -> impl Strategy<Value = String> {
    ("[a-z_]{0,5}", select(SECRET_WORDS), "[a-z_0-9]{0,5}")
        .prop_map(|(before, word, after)| format!("{before}{word}{after}"))
}

/// A user value pattern: its kind, written selector and action.
fn user_patterns() -> impl Strategy<Value = Vec<(ValueKind, String, Action)>> {
    let pattern = select(vec![
        "*",
        "regex:.*",
        "password",
        "regex:token",
        "literal:password",
        "other",
        "glob:*_key",
        "regex:^x",
    ]);
    let action = select(vec![Action::Allow, Action::Redact, Action::Drop]);
    prop::collection::vec(
        (select(ValueKind::ALL.to_vec()), pattern, action)
            .prop_map(|(kind, p, a)| (kind, format!("{}:{p}", kind.token()), a)),
        0..3,
    )
}

#[derive(Debug, Clone)]
struct UserRule {
    selector: &'static str,
    value_default: Option<Action>,
    patterns: Vec<(ValueKind, String, Action)>,
}

fn user_rules() -> impl Strategy<Value = Vec<UserRule>> {
    let rule = (
        select(vec![
            "pkg:*",
            "file:**",
            "obj:*",
            "pkg:app.*",
            "file:regex:.*",
            "file:app/*.py",
            "pkg:nothing",
        ]),
        prop::option::of(select(vec![Action::Allow, Action::Redact, Action::Drop])),
        user_patterns(),
    )
        .prop_map(|(selector, value_default, patterns)| UserRule {
            selector,
            value_default,
            patterns,
        });
    prop::collection::vec(rule, 0..4)
}

fn render_user(exec: &str, rules: &[UserRule]) -> String {
    let mut t = format!(
        "[meta]\nname = \"user\"\nversion = 1\n[scope]\ndefault_exec = \"{exec}\"\ndefault_value_action = \"allow\"\n"
    );
    for rule in rules {
        t.push_str(&format!(
            "[[scope.rules]]\nselector = '{}'\n",
            rule.selector
        ));
        if let Some(v) = rule.value_default {
            t.push_str(&format!("value_default = \"{}\"\n", v.token()));
        }
        for (_, selector, action) in &rule.patterns {
            t.push_str(&format!(
                "[[scope.rules.value_patterns]]\nselector = '{selector}'\naction = \"{}\"\n",
                action.token()
            ));
        }
    }
    t
}

proptest! {
    // Each case loads the built-in default again (slow in a debug build), so
    // fewer cases, each asking about several values.
    #![proptest_config(ProptestConfig::with_cases(CASES / 4))]

    // (e) D1: after the built-in default, a user filter whose default is
    // `allow` can relax a built-in redaction only by a pattern of its own
    // that names the value with `allow`; with no user pattern naming it, the
    // value is at least redacted (more if the scope's default is stricter).
    #[test]
    fn allow_defaults_never_unredact_builtin_secrets(
        exec in select(vec!["trace", "skip", "inherit"]),
        rules in user_rules(),
        values in prop::collection::vec(
            (scopes(), select(ValueKind::ALL.to_vec()), secret_names()),
            1..8,
        ),
    ) {
        let text = render_user(exec, &rules);
        let chain = FilterChain::load(&with_builtin(&text), Platform::Posix)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        for (scope, kind, name) in &values {
            check_d1(&chain, &text, &rules, scope, *kind, name)?;
        }
    }
}

fn check_d1(
    chain: &FilterChain,
    text: &str,
    rules: &[UserRule],
    scope: &Scope,
    kind: ValueKind,
    name: &str,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        explain(builtin_chain(), scope, &[]).action(kind, name),
        Action::Redact,
        "the built-in default does not redact {:?} {}",
        kind,
        name
    );
    let decision = explain(chain, scope, &[]);
    let action = decision.action(kind, name);

    let user_patterns_naming: Vec<Action> = rules
        .iter()
        .flat_map(|r| &r.patterns)
        .filter(|(k, selector, _)| {
            *k == kind
                && Selector::parse(selector, SelectorContext::Value)
                    .map(|s| s.is_match(name))
                    .unwrap_or(false)
        })
        .map(|(_, _, a)| *a)
        .collect();
    if !user_patterns_naming.contains(&Action::Allow) {
        prop_assert!(
            action >= Action::Redact,
            "{:?} {} became {:?} under\n{}",
            kind,
            name,
            action,
            text
        );
    }
    if user_patterns_naming.is_empty() {
        prop_assert_eq!(
            action,
            decision.value_default().max(Action::Redact),
            "{:?} {} under\n{}",
            kind,
            name,
            text
        );
    }
    Ok(())
}
