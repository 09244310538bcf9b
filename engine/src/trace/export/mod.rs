//! Exports of a trace to other formats. Each has a streaming writer
//! (`write_json`, `write_chrome`, `write_codetracer`, `write_speedscope`)
//! that writes its output while reading a file's events one by one
//! ([`super::stream`]), with memory that does not grow with the events,
//! and in-memory functions over a whole
//! [`Trace`] (`to_json`, `to_chrome`, `to_codetracer`, …) that run the same
//! per-event code and give the same bytes:
//!
//! * [`json`]: tracesieve's own documented JSON form, with a canonical
//!   variant for comparing two recordings;
//! * [`codetracer`]: CodeTracer's JSON trace folder (`trace.json`,
//!   `trace_metadata.json`, `trace_paths.json`);
//! * [`chrome`]: Chrome Trace Event JSON, which Perfetto and speedscope open;
//! * [`speedscope`]: speedscope's own file format, a profile per thread
//!   (its streaming writer reads the events once per thread, see there).
//!
//! [`codes`] names activations for the Chrome and speedscope exports.
//!
//! Labels (`<pkg.mod>` for module bodies) use the naming mode the trace was
//! recorded with, through [`super::refilter::relabel`].

pub mod chrome;
pub mod codes;
pub mod codetracer;
pub mod json;
pub mod speedscope;

use super::model::{SequenceKind, Slot, Trace, Value};
use super::refilter::{relabel, Naming, Relabel};
use std::fmt::Write as _;

/// The module name, reason and label of every code, under the trace's own
/// naming mode.
pub fn recorded_labels(trace: &Trace) -> Vec<Relabel> {
    relabel(trace, &Naming::recorded(trace))
}

/// A float as Python would print it, near enough: `2.5`, `1.0`, `1e+20`,
/// `nan`, `inf`, `-inf` (Rust's shortest round-trip digits).
pub fn float_text(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.into();
    }
    let text = format!("{value:?}");
    // Rust writes `1e20` and `1e-7`; Python writes `1e+20` and `1e-07`.
    match text.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => text,
    }
}

/// A one-line, Python-like rendering of a value, for places that hold only
/// text. Cut containers and strings end with `…`; markers show as
/// `<redacted>`, `<dropped>` and `<absent>`.
pub fn render_value(value: &Value) -> String {
    let mut out = String::new();
    render_into(&mut out, value);
    out
}

/// [`render_value`] of a slot, or its marker.
pub fn render_slot(slot: &Slot) -> String {
    match slot {
        Slot::Value { value } => render_value(value),
        Slot::Redacted => "<redacted>".into(),
        Slot::Dropped => "<dropped>".into(),
        Slot::Absent => "<absent>".into(),
    }
}

fn render_into(out: &mut String, value: &Value) {
    match value {
        Value::None => out.push_str("None"),
        Value::Bool { value } => out.push_str(if *value { "True" } else { "False" }),
        Value::Int { value } => {
            let _ = write!(out, "{value}");
        }
        Value::BigInt { digits } => out.push_str(digits),
        Value::Float { value } => out.push_str(&float_text(*value)),
        Value::Str { value, length } => {
            let _ = write!(out, "{}", quote_str(value));
            if (value.len() as u64) < *length {
                out.push('…');
            }
        }
        Value::Bytes { value, length } => {
            out.push_str(&bytes_literal(value));
            if (value.len() as u64) < *length {
                out.push('…');
            }
        }
        Value::Sequence {
            kind,
            items,
            length,
        } => {
            let (open, close) = match kind {
                SequenceKind::List => ("[", "]"),
                SequenceKind::Tuple => ("(", ")"),
                SequenceKind::Set => ("{", "}"),
                SequenceKind::FrozenSet => ("frozenset({", "})"),
            };
            if items.is_empty() && *length == 0 {
                out.push_str(match kind {
                    SequenceKind::Set => "set()",
                    SequenceKind::FrozenSet => "frozenset()",
                    SequenceKind::List => "[]",
                    SequenceKind::Tuple => "()",
                });
                return;
            }
            out.push_str(open);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_into(out, item);
            }
            if (items.len() as u64) < *length {
                out.push_str(if items.is_empty() { "…" } else { ", …" });
            } else if *kind == SequenceKind::Tuple && items.len() == 1 {
                out.push(',');
            }
            out.push_str(close);
        }
        Value::Dict { entries, length } => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                render_into(out, k);
                out.push_str(": ");
                render_into(out, v);
            }
            if (entries.len() as u64) < *length {
                out.push_str(if entries.is_empty() { "…" } else { ", …" });
            }
            out.push('}');
        }
        Value::Object {
            type_name, attrs, ..
        } => {
            out.push_str(type_name);
            out.push('(');
            for (i, attr) in attrs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&attr.name);
                out.push('=');
                out.push_str(&render_slot(&attr.value));
            }
            out.push(')');
        }
        Value::Repr { text, length, .. } => {
            out.push_str(text);
            if (text.len() as u64) < *length {
                out.push('…');
            }
        }
        Value::ReprError { type_name, .. } => {
            let _ = write!(out, "<{type_name}: unrepr>");
        }
        Value::Deep { type_name } => {
            let _ = write!(out, "<{type_name}: depth limit>");
        }
        Value::Cycle { type_name } => {
            let _ = write!(out, "<{type_name}: cycle>");
        }
        Value::Redacted => out.push_str("<redacted>"),
    }
}

/// `'text'` with Python-like escapes.
fn quote_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `b'…'` with Python's escapes.
pub(crate) fn bytes_literal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push_str("b'");
    for &b in bytes {
        match b {
            b'\'' => out.push_str("\\'"),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('\'');
    out
}

/// A sink that fails part way, for the exports' write-error tests.
#[cfg(test)]
pub(crate) mod failing_sink {
    use std::io::{self, Write};

    /// A sink that fails once it has taken `left` bytes.
    pub struct FailingAfter {
        /// Bytes it still takes.
        pub left: usize,
    }

    impl Write for FailingAfter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if buf.len() > self.left {
                return Err(io::Error::other("disk full"));
            }
            self.left -= buf.len();
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::Attr;

    #[test]
    fn floats_print_like_python() {
        assert_eq!(float_text(2.5), "2.5");
        assert_eq!(float_text(1.0), "1.0");
        assert_eq!(float_text(1e20), "1e+20");
        assert_eq!(float_text(1e-7), "1e-07");
        assert_eq!(float_text(f64::NAN), "nan");
        assert_eq!(float_text(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn values_render_like_python() {
        let v = Value::Dict {
            entries: vec![(
                Value::Str {
                    value: "k".into(),
                    length: 1,
                },
                Value::Sequence {
                    kind: SequenceKind::Tuple,
                    items: vec![Value::Int { value: 1 }],
                    length: 1,
                },
            )],
            length: 2,
        };
        assert_eq!(render_value(&v), "{'k': (1,), …}");
        let o = Value::Object {
            type_name: "app.User".into(),
            attrs: vec![
                Attr {
                    name: "name".into(),
                    value: Slot::Value {
                        value: Value::Bytes {
                            value: b"a\x00'".to_vec(),
                            length: 3,
                        },
                    },
                },
                Attr {
                    name: "token".into(),
                    value: Slot::Redacted,
                },
            ],
            length: 2,
        };
        assert_eq!(
            render_value(&o),
            "app.User(name=b'a\\x00\\'', token=<redacted>)"
        );
        let empty = Value::Sequence {
            kind: SequenceKind::Set,
            items: vec![],
            length: 0,
        };
        assert_eq!(render_value(&empty), "set()");
    }
}
