//! The value policy applied to each recorded value: one function set, called
//! by the recorder as it records and by [`super::refilter`] when it
//! re-filters, so both write the same bytes (the parity invariant).
//!
//! The recorder encodes every value in full (within the bounds) first and
//! decides what to write from that raw encoding: whether a value changed
//! since the previous line never depends on the filter, and filtering is a
//! pure function of (decision, kind, name, raw value).

use super::model::{Attr, FilterStats, Slot, Value};
use crate::explain::{Decision, ValueKind};
use crate::filter::Action;

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
}

/// What to write for a value at `site` in a scope decided by `decision`:
/// `None` to leave it out. Counts redactions and drops in `stats`.
pub fn slot(
    decision: &Decision,
    site: Site<'_>,
    raw: Slot,
    stats: &mut FilterStats,
) -> Option<Slot> {
    let action = site.action(decision);
    let value = match raw {
        Slot::Value { value } => value,
        // A value already redacted, dropped or absent at record time stays so.
        other => return Some(other),
    };
    match action {
        None | Some((_, Action::Allow)) => Some(Slot::Value {
            value: filter_attrs(decision, value, stats),
        }),
        Some((kind, Action::Redact)) => {
            stats.redacted[FilterStats::slot(kind)] += 1;
            Some(Slot::Redacted)
        }
        Some((kind, Action::Drop)) => {
            stats.dropped[FilterStats::slot(kind)] += 1;
            site.keeps_dropped_marker().then_some(Slot::Dropped)
        }
    }
}

/// `value` with each object attribute decided as `attr` (D6), at every depth:
/// redacted attributes keep their name, dropped ones are left out.
pub fn filter_attrs(decision: &Decision, value: Value, stats: &mut FilterStats) -> Value {
    match value {
        Value::Object {
            type_name,
            attrs,
            length,
        } => {
            let attrs = attrs
                .into_iter()
                .filter_map(|attr| {
                    let value = slot_of_attr(decision, &attr.name, attr.value, stats)?;
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
                .map(|v| filter_attrs(decision, v, stats))
                .collect(),
            length,
        },
        Value::Dict { entries, length } => Value::Dict {
            entries: entries
                .into_iter()
                .map(|(k, v)| {
                    (
                        filter_attrs(decision, k, stats),
                        filter_attrs(decision, v, stats),
                    )
                })
                .collect(),
            length,
        },
        other => other,
    }
}

fn slot_of_attr(
    decision: &Decision,
    name: &str,
    raw: Slot,
    stats: &mut FilterStats,
) -> Option<Slot> {
    let Slot::Value { value } = raw else {
        return Some(raw);
    };
    let kind = FilterStats::slot(ValueKind::Attr);
    match decision.action(ValueKind::Attr, name) {
        Action::Allow => Some(Slot::Value {
            value: filter_attrs(decision, value, stats),
        }),
        Action::Redact => {
            stats.redacted[kind] += 1;
            Some(Slot::Redacted)
        }
        Action::Drop => {
            stats.dropped[kind] += 1;
            None
        }
    }
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
            slot(&d, Site::Arg("password"), int(1), &mut stats),
            Some(Slot::Redacted)
        );
        assert_eq!(slot(&d, Site::Arg("n"), int(1), &mut stats), Some(int(1)));
        let local = Site::Local {
            name: "tmp",
            module_level: false,
        };
        assert_eq!(slot(&d, local, int(1), &mut stats), None);
        assert_eq!(
            slot(&d, Site::Return, int(1), &mut stats),
            Some(Slot::Dropped)
        );
        assert_eq!(slot(&d, Site::Yield, int(1), &mut stats), Some(int(1)));
        assert_eq!(stats.redacted, [1, 0, 0, 0, 0]);
        assert_eq!(stats.dropped, [0, 1, 0, 1, 0]);
        // Record-time markers stay as they are.
        assert_eq!(
            slot(&d, Site::Arg("n"), Slot::Redacted, &mut stats),
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
                &mut stats
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
                &mut stats
            ),
            Some(int(1))
        );
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
        let Some(Slot::Value { value }) =
            slot(&d, Site::Raise, Slot::Value { value: raw }, &mut stats)
        else {
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
}
