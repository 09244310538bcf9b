//! The value policy applied to each recorded value: one function set, called
//! by the recorder as it records and by [`super::refilter`] when it
//! re-filters, so both write the same bytes (the parity invariant).
//!
//! The recorder encodes every value in full (within the bounds) first and
//! decides what to write from that raw encoding: whether a value changed
//! since the previous line never depends on the filter, and filtering is a
//! pure function of (decision, kind, name, raw value).
//!
//! Inside a value, two things are decided again at every depth: an object's
//! attributes, each as `attr NAME` (D6), and a dict's entries whose key is
//! a string, each by the value patterns of the kind of the value it sits in
//! (`attr` inside an attribute), the key taken as the name: the built-in
//! secret patterns redact `{"api_key": …}` and `**kwargs` entries wherever
//! they are. A key is decided by patterns only, never by the value default
//! (see [`Decision::key_action`]). A redacted entry keeps its key, with
//! [`Value::Redacted`] as its value; a dropped one is left out.

use super::model::{Attr, FilterStats, Slot, Value};
use super::remembered::{Ask, Fresh, Remembered};
use super::secrets::Secrets;
use crate::explain::{explain, Decision, Scope, ValueKind};
use crate::filter::{Action, FilterChain};
use crate::identity::from_dunder_name;

/// Where a value stands, which decides its kind and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site<'a> {
    /// A call argument (or `exception` thrown into a generator).
    Arg(&'a str),
    /// A local at a line. `module_level` when the frame's locals are its
    /// globals: then the stricter of `local` and `global` applies (D7).
    Local {
        /// The variable name.
        name: &'a str,
        /// Whether the frame is a module body.
        module_level: bool,
    },
    /// A global seen from a function.
    Global(&'a str),
    /// A returned value: decided as `ret` with the scope's return name.
    Return,
    /// A yielded value: `ret` `<yield>`.
    Yield,
    /// An exception leaving the frame: `ret` `<unwind>`.
    Unwind,
    /// A raised exception: only its attributes are decided (`attr`).
    Raise,
}

impl<'a> Site<'a> {
    /// The value kind and name the engine decides for a value here: a
    /// return is `ret` with the scope's return name, a yield `ret <yield>`,
    /// an unwind `ret <unwind>`. `None` for a raised exception, of which
    /// only the attributes are decided (each as `attr NAME`).
    pub fn query<'d>(self, decision: &'d Decision) -> Option<(ValueKind, &'d str)>
    where
        'a: 'd,
    {
        Some(match self {
            Site::Arg(name) => (ValueKind::Arg, name),
            Site::Local { name, .. } => (ValueKind::Local, name),
            Site::Global(name) => (ValueKind::Global, name),
            Site::Return => (ValueKind::Ret, decision.return_name()),
            Site::Yield => (ValueKind::Ret, "<yield>"),
            Site::Unwind => (ValueKind::Ret, "<unwind>"),
            Site::Raise => return None,
        })
    }

    /// The action for a value here: its [`Site::query`]'s, but at module
    /// level a local takes the stricter of its `local` and `global`
    /// actions (D7).
    pub fn action(self, decision: &Decision) -> Option<(ValueKind, Action)> {
        let (kind, name) = self.query(decision)?;
        let action = match self {
            Site::Local {
                module_level: true, ..
            } => decision.module_level_action(name),
            _ => decision.action(kind, name),
        };
        Some((kind, action))
    }

    fn keeps_dropped_marker(self) -> bool {
        matches!(self, Site::Return | Site::Yield | Site::Unwind)
    }

    /// How dict keys are decided inside a value here.
    pub fn nest(self) -> Nest {
        let kind = match self {
            Site::Arg(_) => ValueKind::Arg,
            Site::Local { module_level, .. } => {
                return Nest {
                    kind: ValueKind::Local,
                    module_level,
                }
            }
            Site::Global(_) => ValueKind::Global,
            Site::Return | Site::Yield | Site::Unwind => ValueKind::Ret,
            Site::Raise => ValueKind::Attr,
        };
        Nest {
            kind,
            module_level: false,
        }
    }
}

/// How the dict keys inside a value are decided: as names of `kind`, the
/// kind of the value they sit in (`attr` inside an attribute); in a module
/// body's locals, by the stricter of `local` and `global` (D7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nest {
    /// The kind whose value patterns apply to the keys.
    pub kind: ValueKind,
    /// Module-level locals: `global` patterns apply too.
    pub module_level: bool,
}

impl Nest {
    /// Inside an object attribute.
    pub const ATTR: Nest = Nest {
        kind: ValueKind::Attr,
        module_level: false,
    };

    /// Inside a call argument.
    pub const ARG: Nest = Nest {
        kind: ValueKind::Arg,
        module_level: false,
    };

    /// The action value patterns give `key`, if one names it.
    pub fn key_action(self, decision: &Decision, key: &str) -> Option<Action> {
        let action = decision.key_action(self.kind, key);
        if !self.module_level {
            return action;
        }
        match (action, decision.key_action(ValueKind::Global, key)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// What to write for a value at `site` in a scope decided by `decision`:
/// `None` to leave it out. Counts redactions and drops in `stats`. A string
/// the filter redacts or drops is learned by `secrets`, and a value kept is
/// scrubbed of every text learned so far (redaction by value, see
/// [`super::secrets`]).
pub fn slot(
    decision: &Decision,
    site: Site<'_>,
    raw: Slot,
    stats: &mut FilterStats,
    secrets: &mut Secrets,
) -> Option<Slot> {
    slot_with(&mut Fresh, decision, site, raw, stats, secrets)
}

/// [`slot`], with the actions `decision` gives names asked once and kept
/// in `remembered` (which must serve this decision only): the same result,
/// faster when the same names come again.
pub fn slot_remembered(
    decision: &Decision,
    remembered: &mut Remembered,
    site: Site<'_>,
    raw: Slot,
    stats: &mut FilterStats,
    secrets: &mut Secrets,
) -> Option<Slot> {
    slot_with(remembered, decision, site, raw, stats, secrets)
}

fn slot_with(
    ask: &mut impl Ask,
    decision: &Decision,
    site: Site<'_>,
    raw: Slot,
    stats: &mut FilterStats,
    secrets: &mut Secrets,
) -> Option<Slot> {
    let action = ask.site(decision, site);
    let value = match raw {
        Slot::Value { value } => value,
        // A value already redacted, dropped or absent at record time stays so.
        other => return Some(other),
    };
    match action {
        None | Some((_, Action::Allow)) => {
            let nest = site.nest();
            let value = nested(ask, decision, nest, value, stats, secrets);
            let mut scrubbed = 0;
            let value = secrets.scrub(value, &mut scrubbed);
            stats.redacted[FilterStats::slot(nest.kind)] += scrubbed;
            Some(match value {
                Value::Redacted => Slot::Redacted,
                value => Slot::Value { value },
            })
        }
        Some((kind, Action::Redact)) => {
            secrets.learn(&value, || origin(decision, site));
            stats.redacted[FilterStats::slot(kind)] += 1;
            Some(Slot::Redacted)
        }
        Some((kind, Action::Drop)) => {
            secrets.learn(&value, || origin(decision, site));
            stats.dropped[FilterStats::slot(kind)] += 1;
            site.keeps_dropped_marker().then_some(Slot::Dropped)
        }
    }
}

/// `value` with each object attribute decided as `attr` (D6) and each dict
/// entry under a string key decided by `nest`, at every depth: redacted
/// attributes and entries keep their name or key, dropped ones are left out.
/// The strings redacted or dropped there are learned by `secrets`.
pub fn filter_nested(
    decision: &Decision,
    nest: Nest,
    value: Value,
    stats: &mut FilterStats,
    secrets: &mut Secrets,
) -> Value {
    nested(&mut Fresh, decision, nest, value, stats, secrets)
}

fn nested(
    ask: &mut impl Ask,
    decision: &Decision,
    nest: Nest,
    value: Value,
    stats: &mut FilterStats,
    secrets: &mut Secrets,
) -> Value {
    match value {
        Value::Object {
            type_name,
            attrs,
            length,
        } => {
            let attrs = attrs
                .into_iter()
                .filter_map(|attr| {
                    let value =
                        slot_of_attr(ask, decision, &attr.name, attr.value, stats, secrets)?;
                    Some(Attr {
                        name: attr.name,
                        value,
                    })
                })
                .collect();
            Value::Object {
                type_name,
                attrs,
                length,
            }
        }
        Value::Sequence {
            kind,
            items,
            length,
        } => Value::Sequence {
            kind,
            items: items
                .into_iter()
                .map(|v| nested(ask, decision, nest, v, stats, secrets))
                .collect(),
            length,
        },
        Value::Dict { entries, length } => Value::Dict {
            entries: entries
                .into_iter()
                .filter_map(|(k, v)| {
                    let action = match &k {
                        Value::Str { value, .. } => nest.key_action(decision, value),
                        _ => None,
                    };
                    let kind = FilterStats::slot(nest.kind);
                    let v = match action {
                        None | Some(Action::Allow) => {
                            nested(ask, decision, nest, v, stats, secrets)
                        }
                        Some(Action::Redact) => {
                            secrets.learn(&v, || key_origin(decision, nest, &k));
                            stats.redacted[kind] += 1;
                            Value::Redacted
                        }
                        Some(Action::Drop) => {
                            secrets.learn(&v, || key_origin(decision, nest, &k));
                            stats.dropped[kind] += 1;
                            return None;
                        }
                    };
                    Some((nested(ask, decision, nest, k, stats, secrets), v))
                })
                .collect(),
            length,
        },
        other => other,
    }
}

fn slot_of_attr(
    ask: &mut impl Ask,
    decision: &Decision,
    name: &str,
    raw: Slot,
    stats: &mut FilterStats,
    secrets: &mut Secrets,
) -> Option<Slot> {
    let Slot::Value { value } = raw else {
        return Some(raw);
    };
    let kind = FilterStats::slot(ValueKind::Attr);
    match ask.attr(decision, name) {
        Action::Allow => Some(Slot::Value {
            value: nested(ask, decision, Nest::ATTR, value, stats, secrets),
        }),
        Action::Redact => {
            secrets.learn(&value, || attr_origin(decision, name));
            stats.redacted[kind] += 1;
            Some(Slot::Redacted)
        }
        Action::Drop => {
            secrets.learn(&value, || attr_origin(decision, name));
            stats.dropped[kind] += 1;
            None
        }
    }
}

/// A name inside a value that the value policy decides by itself: an
/// object attribute (decided as `attr`, D6) or a dict entry's string key
/// (decided as [`Nest`] says).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct InnerName {
    /// The attribute name or the key.
    pub name: String,
    /// A dict key (else an attribute).
    pub is_key: bool,
    /// Inside an attribute's value (then a key is decided as `attr`).
    pub in_attr: bool,
}

impl InnerName {
    /// The kind and action the value policy gives this name inside a value
    /// at `site`, as [`filter_nested`] decides it; `None` for a key that no
    /// value pattern names (a key is never decided by the value default).
    pub fn action(&self, decision: &Decision, site: Site<'_>) -> Option<(ValueKind, Action)> {
        if !self.is_key {
            return Some((
                ValueKind::Attr,
                decision.action(ValueKind::Attr, &self.name),
            ));
        }
        let nest = if self.in_attr {
            Nest::ATTR
        } else {
            site.nest()
        };
        nest.key_action(decision, &self.name)
            .map(|a| (nest.kind, a))
    }
}

/// The distinct attribute names and string keys inside `value`, at every
/// depth, in the order first met; at most `max` of them.
pub fn inner_names(value: &Value, max: usize) -> Vec<InnerName> {
    fn add(out: &mut Vec<InnerName>, max: usize, name: &str, is_key: bool, in_attr: bool) {
        let inner = InnerName {
            name: name.to_string(),
            is_key,
            in_attr,
        };
        if out.len() < max && !out.contains(&inner) {
            out.push(inner);
        }
    }
    fn walk(value: &Value, in_attr: bool, max: usize, out: &mut Vec<InnerName>) {
        match value {
            Value::Object { attrs, .. } => {
                for attr in attrs {
                    add(out, max, &attr.name, false, in_attr);
                    if let Slot::Value { value } = &attr.value {
                        walk(value, true, max, out);
                    }
                }
            }
            Value::Sequence { items, .. } => {
                for item in items {
                    walk(item, in_attr, max, out);
                }
            }
            Value::Dict { entries, .. } => {
                for (key, item) in entries {
                    match key {
                        Value::Str { value, .. } => add(out, max, value, true, in_attr),
                        other => walk(other, in_attr, max, out),
                    }
                    walk(item, in_attr, max, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, false, max, &mut out);
    out
}

/// Where a value at `site` stands, for people: "arg `password` in app.login".
fn origin(decision: &Decision, site: Site<'_>) -> String {
    match site.query(decision) {
        Some((kind, name)) => format!("{} `{name}` in {}", kind.token(), scope_name(decision)),
        None => format!("a raised exception in {}", scope_name(decision)),
    }
}

/// Where a dict entry stands: "the `api_key` entry of a dict (arg) in app.login".
fn key_origin(decision: &Decision, nest: Nest, key: &Value) -> String {
    let key = match key {
        Value::Str { value, .. } => value.as_str(),
        _ => "?",
    };
    format!(
        "the `{key}` entry of a dict ({}) in {}",
        nest.kind.token(),
        scope_name(decision)
    )
}

/// Where an attribute stands: "attr `password` in app.login".
fn attr_origin(decision: &Decision, name: &str) -> String {
    format!("attr `{name}` in {}", scope_name(decision))
}

/// The scope's object name (`module.qualname`), else its label.
fn scope_name(decision: &Decision) -> String {
    decision
        .object_name()
        .map_or_else(|| decision.label(), str::to_string)
}

/// What stands for a redacted command-line value.
pub const REDACTED_ARGUMENT: &str = "<redacted>";

/// The program's command line (the trace header's `argv`) with the values
/// of secret-like long options redacted: `--password X` and
/// `--api-key=X` become `--password <redacted>` and
/// `--api-key=<redacted>`. An option's name, its dashes made underscores,
/// is decided as an `arg` of the program's entry scope (the script's
/// `<module>` as `__main__`, or `<argv>` for `-m`, `pytest` and
/// `unittest`) by value patterns only, as a dict key is
/// ([`Decision::key_action`]). Short options (`-p X`) are left as they are:
/// their meaning is the program's own. Redacting twice changes nothing, so
/// re-filtering a trace redacts its argv with the new chain.
pub fn redact_argv(chain: &FilterChain, argv: &[String], cwd: &str) -> Vec<String> {
    let decision = explain(chain, &entry_scope(argv, cwd), &[]);
    let secret = |name: &str| {
        let name = name.replace('-', "_");
        matches!(
            Nest::ARG.key_action(&decision, &name),
            Some(Action::Redact | Action::Drop)
        )
    };
    let mut out = Vec::with_capacity(argv.len());
    let mut redact_next = false;
    for arg in argv {
        if redact_next {
            redact_next = false;
            if !arg.starts_with('-') {
                out.push(REDACTED_ARGUMENT.to_string());
                continue;
            }
        }
        match arg.strip_prefix("--").filter(|name| !name.is_empty()) {
            Some(option) => match option.split_once('=') {
                Some((name, _)) if secret(name) => {
                    out.push(format!("--{name}={REDACTED_ARGUMENT}"));
                }
                Some(_) => out.push(arg.clone()),
                None => {
                    redact_next = secret(option);
                    out.push(arg.clone());
                }
            },
            None => out.push(arg.clone()),
        }
    }
    out
}

/// The scope a program's command-line options are decided in.
fn entry_scope(argv: &[String], cwd: &str) -> Scope {
    let program = argv.first().map(String::as_str).unwrap_or("");
    let filename = match program {
        "" | "-m" | "pytest" | "unittest" => "<argv>".to_string(),
        path if path.starts_with('/') || cwd.is_empty() => path.to_string(),
        path => format!("{}/{path}", cwd.trim_end_matches('/')),
    };
    Scope::new(
        filename,
        crate::MODULE_BODY,
        from_dunder_name(Some("__main__")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{builtin, FilterChain, FilterSource};
    use crate::identity::from_dunder_name;
    use crate::path::Platform;
    use crate::{explain, Scope};

    fn decision(user: &str) -> Decision {
        let mut sources = builtin::sources(None);
        sources.push(FilterSource::file("/p/.codetracer/trace-filter.toml", user));
        let chain = FilterChain::load(&sources, Platform::Posix).unwrap();
        explain(
            &chain,
            &Scope::new("/p/app/m.py", "f", from_dunder_name(Some("app.m"))),
            &[],
        )
    }

    const USER: &str = "[meta]\nname='u'\nversion=1\n[scope]\ndefault_exec='inherit'\ndefault_value_action='inherit'\n\
        [[scope.rules]]\nselector='pkg:app.*'\n\
        [[scope.rules.value_patterns]]\nselector='local:tmp'\naction='drop'\n\
        [[scope.rules.value_patterns]]\nselector='ret:literal:app.m.f'\naction='drop'\n\
        [[scope.rules.value_patterns]]\nselector='attr:internal'\naction='drop'\n";

    fn int(v: i64) -> Slot {
        Slot::Value {
            value: Value::Int { value: v },
        }
    }

    #[test]
    fn actions_become_slots_and_counts() {
        let d = decision(USER);
        let mut stats = FilterStats::default();
        assert_eq!(
            slot(
                &d,
                Site::Arg("password"),
                int(1),
                &mut stats,
                &mut Secrets::default()
            ),
            Some(Slot::Redacted)
        );
        assert_eq!(
            slot(
                &d,
                Site::Arg("n"),
                int(1),
                &mut stats,
                &mut Secrets::default()
            ),
            Some(int(1))
        );
        let local = Site::Local {
            name: "tmp",
            module_level: false,
        };
        assert_eq!(
            slot(&d, local, int(1), &mut stats, &mut Secrets::default()),
            None
        );
        assert_eq!(
            slot(
                &d,
                Site::Return,
                int(1),
                &mut stats,
                &mut Secrets::default()
            ),
            Some(Slot::Dropped)
        );
        assert_eq!(
            slot(&d, Site::Yield, int(1), &mut stats, &mut Secrets::default()),
            Some(int(1))
        );
        assert_eq!(stats.redacted, [1, 0, 0, 0, 0]);
        assert_eq!(stats.dropped, [0, 1, 0, 1, 0]);
        // Record-time markers stay as they are.
        assert_eq!(
            slot(
                &d,
                Site::Arg("n"),
                Slot::Redacted,
                &mut stats,
                &mut Secrets::default()
            ),
            Some(Slot::Redacted)
        );
    }

    #[test]
    fn module_level_names_take_the_stricter_of_local_and_global() {
        let user = "[meta]\nname='u'\nversion=1\n[scope]\ndefault_exec='inherit'\ndefault_value_action='inherit'\n\
            [[scope.rules]]\nselector='pkg:app.*'\n\
            [[scope.rules.value_patterns]]\nselector='global:CONFIG'\naction='drop'\n";
        let d = decision(user);
        let mut stats = FilterStats::default();
        assert_eq!(
            slot(
                &d,
                Site::Local {
                    name: "CONFIG",
                    module_level: true
                },
                int(1),
                &mut stats,
                &mut Secrets::default(),
            ),
            None
        );
        assert_eq!(
            slot(
                &d,
                Site::Local {
                    name: "CONFIG",
                    module_level: false
                },
                int(1),
                &mut stats,
                &mut Secrets::default(),
            ),
            Some(int(1))
        );
    }

    fn text(s: &str) -> Value {
        Value::Str {
            value: s.into(),
            length: s.len() as u64,
        }
    }

    #[test]
    fn dict_entries_are_decided_by_their_string_keys_at_every_depth() {
        let d = decision(USER);
        let dict = |entries: Vec<(Value, Value)>| Value::Dict {
            length: entries.len() as u64,
            entries,
        };
        let inner = dict(vec![(text("token"), text("t")), (text("tmp"), text("x"))]);
        let raw = dict(vec![
            (text("api_key"), text("k")),
            (text("host"), text("db")),
            (text("nested"), inner),
            (Value::Int { value: 1 }, text("not a name")),
        ]);
        let mut stats = FilterStats::default();
        let local = Site::Local {
            name: "config",
            module_level: false,
        };
        let Some(Slot::Value { value }) = slot(
            &d,
            local,
            Slot::Value { value: raw },
            &mut stats,
            &mut Secrets::default(),
        ) else {
            panic!("the dict is allowed");
        };
        let Value::Dict { entries, length } = value else {
            panic!("shape kept")
        };
        assert_eq!(length, 4);
        assert_eq!(entries[0], (text("api_key"), Value::Redacted));
        assert_eq!(entries[1], (text("host"), text("db")));
        // `local:tmp` drops that entry; the token is redacted inside.
        assert_eq!(
            entries[2],
            (
                text("nested"),
                Value::Dict {
                    entries: vec![(text("token"), Value::Redacted)],
                    length: 2
                }
            )
        );
        assert_eq!(entries[3], (Value::Int { value: 1 }, text("not a name")));
        assert_eq!((stats.redacted[1], stats.dropped[1]), (2, 1));
        // As an argument, the `local` pattern does not apply to the key.
        let mut stats = FilterStats::default();
        let raw = dict(vec![(text("tmp"), text("x"))]);
        let kept = slot(
            &d,
            Site::Arg("options"),
            Slot::Value { value: raw.clone() },
            &mut stats,
            &mut Secrets::default(),
        );
        assert_eq!(kept, Some(Slot::Value { value: raw }));
    }

    #[test]
    fn inner_names_are_decided_as_filter_nested_decides_them() {
        let d = decision(USER);
        let object = Value::Object {
            type_name: "app.Conn".into(),
            attrs: vec![
                Attr {
                    name: "internal".into(),
                    value: Slot::Value { value: text("i") },
                },
                Attr {
                    name: "meta".into(),
                    value: Slot::Value {
                        value: Value::Dict {
                            entries: vec![(text("tmp"), text("x"))],
                            length: 1,
                        },
                    },
                },
            ],
            length: 2,
        };
        let raw = Value::Dict {
            entries: vec![
                (text("api_key"), text("k")),
                (text("tmp"), text("x")),
                (text("conn"), object),
                (text("api_key"), text("again")),
            ],
            length: 4,
        };
        let names = inner_names(&raw, 16);
        let described: Vec<(&str, bool, bool)> = names
            .iter()
            .map(|n| (n.name.as_str(), n.is_key, n.in_attr))
            .collect();
        assert_eq!(
            described,
            [
                ("api_key", true, false),
                ("tmp", true, false),
                ("conn", true, false),
                ("internal", false, false),
                ("meta", false, false),
                ("tmp", true, true),
            ]
        );
        assert_eq!(inner_names(&raw, 2).len(), 2);
        let local = Site::Local {
            name: "config",
            module_level: false,
        };
        let actions: Vec<Option<(ValueKind, Action)>> =
            names.iter().map(|n| n.action(&d, local)).collect();
        assert_eq!(
            actions,
            [
                Some((ValueKind::Local, Action::Redact)),
                Some((ValueKind::Local, Action::Drop)),
                None,
                Some((ValueKind::Attr, Action::Drop)),
                Some((ValueKind::Attr, Action::Allow)),
                // Inside an attribute a key is decided as `attr`: no pattern names `tmp`.
                None,
            ]
        );
    }

    #[test]
    fn secret_like_long_options_are_redacted_in_argv() {
        let mut sources = builtin::sources(None);
        sources.push(FilterSource::file("/p/.codetracer/trace-filter.toml", USER));
        let chain = FilterChain::load(&sources, Platform::Posix).unwrap();
        let argv: Vec<String> = [
            "app.py",
            "--password",
            "s3",
            "--api-key=s4",
            "--user",
            "ada",
            "-p",
            "x",
            "--token",
            "--verbose",
            "--",
            "--secret",
        ]
        .map(String::from)
        .to_vec();
        let redacted = redact_argv(&chain, &argv, "/p");
        assert_eq!(
            redacted,
            [
                "app.py",
                "--password",
                "<redacted>",
                "--api-key=<redacted>",
                "--user",
                "ada",
                "-p",
                "x",
                "--token",
                "--verbose",
                "--",
                "--secret",
            ]
        );
        assert_eq!(redact_argv(&chain, &redacted, "/p"), redacted);
    }

    #[test]
    fn attributes_are_decided_at_every_depth() {
        let d = decision(USER);
        let object = |attrs: Vec<Attr>| Value::Object {
            type_name: "app.m.C".into(),
            length: attrs.len() as u64,
            attrs,
        };
        let inner = object(vec![
            Attr {
                name: "token".into(),
                value: int(1),
            },
            Attr {
                name: "internal".into(),
                value: int(2),
            },
            Attr {
                name: "x".into(),
                value: int(3),
            },
        ]);
        let raw = Value::Sequence {
            kind: super::super::model::SequenceKind::List,
            items: vec![inner],
            length: 1,
        };
        let mut stats = FilterStats::default();
        let Some(Slot::Value { value }) = slot(
            &d,
            Site::Raise,
            Slot::Value { value: raw },
            &mut stats,
            &mut Secrets::default(),
        ) else {
            panic!("a raised exception is always written");
        };
        let Value::Sequence { items, .. } = value else {
            panic!("shape kept")
        };
        let Value::Object { attrs, length, .. } = &items[0] else {
            panic!("object kept")
        };
        assert_eq!(*length, 3, "the original attribute count is kept");
        assert_eq!(
            attrs.iter().map(|a| &*a.name).collect::<Vec<_>>(),
            ["token", "x"]
        );
        assert_eq!(attrs[0].value, Slot::Redacted);
        assert_eq!((stats.redacted[4], stats.dropped[4]), (1, 1));
    }

    #[test]
    fn a_redacted_text_is_redacted_by_value_in_later_values() {
        let d = decision(USER);
        let dict = |entries: Vec<(Value, Value)>| Value::Dict {
            length: entries.len() as u64,
            entries,
        };
        let mut stats = FilterStats::default();
        let mut secrets = Secrets::default();
        let value = |v: Value| Slot::Value { value: v };
        let local = |name| Site::Local {
            name,
            module_level: false,
        };
        // Before the secret is redacted anywhere, a message holding it is kept.
        let early = slot(
            &d,
            local("msg"),
            value(text("no hunter22")),
            &mut stats,
            &mut secrets,
        );
        assert_eq!(early, Some(value(text("no hunter22"))));
        // Redacted by name: learned.
        let named = slot(
            &d,
            Site::Arg("password"),
            value(text("hunter22")),
            &mut stats,
            &mut secrets,
        );
        assert_eq!(named, Some(Slot::Redacted));
        // Then every later value holding it: whole, inside a longer string, nested.
        let message = slot(
            &d,
            Site::Raise,
            value(text("bad password: hunter22")),
            &mut stats,
            &mut secrets,
        );
        assert_eq!(message, Some(Slot::Redacted));
        let nested = dict(vec![
            (text("note"), text("x hunter22 y")),
            (text("n"), text("ok")),
        ]);
        let Some(Slot::Value {
            value: Value::Dict { entries, .. },
        }) = slot(&d, Site::Yield, value(nested), &mut stats, &mut secrets)
        else {
            panic!("not a dict");
        };
        assert_eq!(entries[0].1, Value::Redacted);
        assert_eq!(entries[1].1, text("ok"));
        // One by name (arg), one by value at the raise (its nested kind is
        // attr), one by value in the return.
        assert_eq!(stats.redacted[FilterStats::slot(ValueKind::Arg)], 1);
        assert_eq!(stats.redacted[FilterStats::slot(ValueKind::Attr)], 1);
        assert_eq!(stats.redacted[FilterStats::slot(ValueKind::Ret)], 1);
        // A dict entry redacted by key teaches its text too.
        let keyed = dict(vec![(text("api_key"), text("k-123456"))]);
        slot(
            &d,
            Site::Arg("config"),
            value(keyed),
            &mut stats,
            &mut secrets,
        );
        let later = slot(
            &d,
            local("url"),
            value(text("https://x/?k=k-123456")),
            &mut stats,
            &mut secrets,
        );
        assert_eq!(later, Some(Slot::Redacted));
        let origins: Vec<&str> = secrets.entries().map(|(_, origin)| origin).collect();
        assert_eq!(
            origins,
            [
                "arg `password` in app.m.f",
                "the `api_key` entry of a dict (arg) in app.m.f"
            ]
        );
    }
}
