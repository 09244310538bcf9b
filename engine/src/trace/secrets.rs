//! Redaction by value: a string the filter redacted or dropped once is
//! redacted wherever the same text appears later in the recording, whole or
//! inside a longer string (an exception message, an f-string, a derived
//! local, a yielded value).
//!
//! [`Secrets`] is the set of texts learned so far. [`super::policy`] adds to
//! it each string value that a value pattern or default redacts or drops
//! (whole values, dict entries redacted by key, attributes), and scrubs every
//! value it keeps: a string holding a learned text becomes
//! [`Value::Redacted`] (a whole value, [`super::model::Slot::Redacted`]).
//! The set grows in event order, value by value, in the recorder as in a
//! re-filter, so both redact the same values (the parity invariant).
//!
//! Texts under [`MIN_SECRET_BYTES`] are not learned (redacting `"a"` or
//! `"true"` everywhere would blank the trace), and the set stops growing at
//! [`MAX_SECRETS`] texts or [`MAX_SECRET_BYTES`] bytes, which bounds its
//! memory and the cost of rebuilding its automaton.

use super::model::{Attr, Slot, Value};
use aho_corasick::AhoCorasick;
use rustc_hash::FxHashSet;

/// Strings shorter than this (in UTF-8 bytes) are not learned.
pub const MIN_SECRET_BYTES: usize = 6;
/// The most texts a recording learns; later ones are not learned.
pub const MAX_SECRETS: usize = 4096;
/// The most bytes of text a recording learns, in all.
pub const MAX_SECRET_BYTES: usize = 1 << 20;

/// The texts learned so far, and a matcher over them.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    texts: Vec<String>,
    /// Where each text was learned, for people ("arg `password` in app.login").
    origins: Vec<String>,
    known: FxHashSet<String>,
    bytes: usize,
    /// An automaton over the first texts (how many), built when a value is
    /// scrubbed; the texts learned after it are looked for one by one until
    /// there are more than [`UNBUILT_TEXTS`] of them, so that learning a
    /// text does not rebuild the automaton each time.
    matcher: Option<(AhoCorasick, usize)>,
}

/// The most learned texts looked for one by one, past the automaton.
const UNBUILT_TEXTS: usize = 32;

impl Secrets {
    /// The texts learned, each with where it was learned, in the order they
    /// were learned.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.texts
            .iter()
            .zip(&self.origins)
            .map(|(text, origin)| (text.as_str(), origin.as_str()))
    }

    /// Learns the text of `value` when it is a string (its kept part, when
    /// the recording cut it), with `origin` saying where it stood. Other
    /// kinds of values teach nothing.
    pub fn learn(&mut self, value: &Value, origin: impl FnOnce() -> String) {
        if let Value::Str { value: text, .. } = value {
            self.learn_text(text, origin);
        }
    }

    /// Whether redacting or dropping `value` can teach a text: a string of
    /// at least [`MIN_SECRET_BYTES`] (a reader that knows no value of a
    /// name teaches can count what a filter takes out without learning).
    pub fn can_teach(value: &Value) -> bool {
        matches!(value, Value::Str { value, .. } if value.len() >= MIN_SECRET_BYTES)
    }

    /// Learns `text` if it has at least [`MIN_SECRET_BYTES`], is new, and
    /// the set is within its bounds.
    pub fn learn_text(&mut self, text: &str, origin: impl FnOnce() -> String) {
        if text.len() < MIN_SECRET_BYTES
            || self.texts.len() >= MAX_SECRETS
            || self.bytes + text.len() > MAX_SECRET_BYTES
            || self.known.contains(text)
        {
            return;
        }
        self.known.insert(text.to_string());
        self.texts.push(text.to_string());
        self.origins.push(origin());
        self.bytes += text.len();
    }

    /// `value` with every string that holds a learned text, at any depth
    /// (dict keys, object attributes and `repr` texts included), replaced by
    /// [`Value::Redacted`]; `scrubbed` counts the replacements.
    pub fn scrub(&mut self, value: Value, scrubbed: &mut u64) -> Value {
        if self.texts.is_empty() {
            return value;
        }
        let covered = self.matcher.as_ref().map_or(0, |(_, n)| *n);
        if self.texts.len() - covered > UNBUILT_TEXTS || self.matcher.is_none() {
            // Plain substrings: building cannot fail for such patterns,
            // but if it did, nothing would be scrubbed rather than panic.
            let Ok(built) = AhoCorasick::new(&self.texts) else {
                return value;
            };
            self.matcher = Some((built, self.texts.len()));
        }
        let Some((automaton, covered)) = &self.matcher else {
            return value;
        };
        let matcher = Matcher {
            automaton,
            rest: &self.texts[*covered..],
        };
        scrub_with(&matcher, value, scrubbed)
    }
}

/// The learned texts: an automaton over most, the last few one by one.
struct Matcher<'a> {
    automaton: &'a AhoCorasick,
    rest: &'a [String],
}

impl Matcher<'_> {
    /// Whether `text` holds a learned text.
    fn is_match(&self, text: &str) -> bool {
        self.automaton.is_match(text) || self.rest.iter().any(|t| text.contains(t.as_str()))
    }
}

fn scrub_with(matcher: &Matcher<'_>, value: Value, scrubbed: &mut u64) -> Value {
    let mut redact = |holds: bool, value: Value| {
        if holds {
            *scrubbed += 1;
            Value::Redacted
        } else {
            value
        }
    };
    match value {
        Value::Str {
            value: ref text, ..
        } => {
            let holds = matcher.is_match(text.as_str());
            redact(holds, value)
        }
        Value::Repr { ref text, .. } => {
            let holds = matcher.is_match(text.as_str());
            redact(holds, value)
        }
        Value::ReprError { ref message, .. } => {
            let holds = matcher.is_match(message.as_str());
            redact(holds, value)
        }
        Value::Sequence {
            kind,
            items,
            length,
        } => Value::Sequence {
            kind,
            items: items
                .into_iter()
                .map(|item| scrub_with(matcher, item, scrubbed))
                .collect(),
            length,
        },
        Value::Dict { entries, length } => Value::Dict {
            entries: entries
                .into_iter()
                .map(|(k, v)| {
                    (
                        scrub_with(matcher, k, scrubbed),
                        scrub_with(matcher, v, scrubbed),
                    )
                })
                .collect(),
            length,
        },
        Value::Object {
            type_name,
            attrs,
            length,
        } => Value::Object {
            type_name,
            attrs: attrs
                .into_iter()
                .map(|attr| Attr {
                    value: match attr.value {
                        Slot::Value { value } => Slot::Value {
                            value: scrub_with(matcher, value, scrubbed),
                        },
                        other => other,
                    },
                    name: attr.name,
                })
                .collect(),
            length,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Str {
            value: s.to_string(),
            length: s.len() as u64,
        }
    }

    #[test]
    fn a_learned_text_is_scrubbed_whole_or_inside_longer_strings() {
        let mut secrets = Secrets::default();
        let mut n = 0;
        assert_eq!(secrets.scrub(text("hunter22"), &mut n), text("hunter22"));
        secrets.learn(&text("hunter22"), String::new);
        assert_eq!(secrets.scrub(text("hunter22"), &mut n), Value::Redacted);
        assert_eq!(
            secrets.scrub(text("bad password: hunter22!"), &mut n),
            Value::Redacted
        );
        assert_eq!(secrets.scrub(text("hunter2"), &mut n), text("hunter2"));
        assert_eq!(n, 2);
    }

    #[test]
    fn texts_learned_between_scrubs_are_all_found_past_the_automaton() {
        let mut secrets = Secrets::default();
        let mut n = 0;
        for i in 0..(3 * UNBUILT_TEXTS + 5) {
            let secret = format!("secret-{i:04}");
            secrets.learn_text(&secret, String::new);
            // Every text learned so far, the newest and the oldest.
            for j in [0, i / 2, i] {
                let held = format!("a message holding secret-{j:04}.");
                assert_eq!(
                    secrets.scrub(text(&held), &mut n),
                    Value::Redacted,
                    "{i} {j}"
                );
            }
            assert_eq!(
                secrets.scrub(text("nothing here"), &mut n),
                text("nothing here")
            );
        }
        assert_eq!(n, 3 * (3 * UNBUILT_TEXTS as u64 + 5));
    }

    #[test]
    fn short_texts_and_other_kinds_are_not_learned() {
        let mut secrets = Secrets::default();
        secrets.learn(&text("abcde"), String::new);
        secrets.learn(&Value::Int { value: 123456 }, String::new);
        secrets.learn(
            &Value::Bytes {
                value: b"secret-bytes".to_vec(),
                length: 12,
            },
            String::new,
        );
        assert_eq!(secrets.entries().count(), 0);
        secrets.learn(&text("abcdef"), String::new);
        secrets.learn(&text("abcdef"), String::new);
        assert_eq!(secrets.entries().count(), 1);
    }

    #[test]
    fn containers_keys_and_attributes_are_scrubbed_at_any_depth() {
        let mut secrets = Secrets::default();
        secrets.learn(&text("s3cr3t-value"), String::new);
        let nested = Value::Dict {
            entries: vec![
                (text("k s3cr3t-value"), text("v")),
                (
                    text("list"),
                    Value::Sequence {
                        kind: super::super::model::SequenceKind::List,
                        items: vec![text("x"), text("s3cr3t-value")],
                        length: 2,
                    },
                ),
            ],
            length: 2,
        };
        let mut n = 0;
        let scrubbed = secrets.scrub(nested, &mut n);
        assert_eq!(n, 2);
        let Value::Dict { entries, .. } = scrubbed else {
            panic!("not a dict")
        };
        assert_eq!(entries[0].0, Value::Redacted);
        assert_eq!(entries[0].1, text("v"));
    }

    #[test]
    fn the_set_stops_growing_at_its_bounds() {
        let mut secrets = Secrets::default();
        for i in 0..MAX_SECRETS + 10 {
            secrets.learn(&text(&format!("secret-{i:08}")), String::new);
        }
        assert_eq!(secrets.entries().count(), MAX_SECRETS);
    }
}
