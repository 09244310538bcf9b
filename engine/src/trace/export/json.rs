//! tracesieve's JSON form of a trace: everything the trace holds, plus each
//! code's module name and label, in one stable, documented JSON document.
//!
//! The non-canonical form has the shape of the model's serde form (so
//! `serde_json::from_value::<Trace>` reads it back, the extra fields being
//! ignored), except that non-finite floats, which JSON numbers cannot hold,
//! are written as the strings `"nan"`, `"inf"` and `"-inf"`.
//!
//! # Shape
//!
//! JSON objects are unordered; the key order of the output is fixed for a
//! given build (sorted with serde_json's default map, insertion order with
//! its `preserve_order` feature), so equal traces give equal strings.
//!
//! ```json
//! {
//!   "format": "tracesieve-json",          // always
//!   "version": 1,                         // this shape's version
//!   "canonical": false,                   // whether machine-varying fields were dropped
//!   "header": {
//!     "recorder": "tracesieve 0.1.0",
//!     "python": "3.12.3 (main, …)",       // sys.version
//!     "platform": "posix",                // or "windows"
//!     "argv": ["app.py", "--x"],
//!     "cwd": "/proj",
//!     "start_unix_ms": 1767225600000,     // absent when canonical
//!     "filters": [ { "path": "<inline:builtin-default>", "text": "…toml…",
//!                    "project_root": null, "sha256": "…", "inline": true } ],
//!     "framework": null,                  // or "pytest", "unittest"
//!     "naming": "globals",                // or "paths"
//!     "values": "all",                    // or "none", "args"
//!     "bounds": { "max_depth": 3, "max_items": 32, "max_string_bytes": 256 },
//!     "repr": false
//!   },
//!   "codes": [ {
//!     "id": 0, "filename": "/proj/app.py", "qualname": "<module>", "first_line": 1,
//!     "dunder_name": "__main__",          // or null
//!     "inputs": { "sys_path": 0, "modules": 12, "markers": 1 },
//!     "module_name": "__main__",          // under header.naming; null when none
//!     "module_name_source": "`__name__`", // why (NameReason)
//!     "label": "<__main__>"               // `<NAME>` for module bodies, else the qualname
//!   } ],
//!   "sys_paths": [ ["/proj", "/usr/lib/python312.zip"] ],
//!   "modules": [ { "name": "app", "path": "/proj/app.py" } ],
//!   "markers": ["/proj"],
//!   "sources": [ { "path": "/proj/app.py", "text": "…", "omitted": null } ],
//!   "events": [
//!     { "event": "thread_start", "thread": 0, "name": "MainThread", "t": 0 },
//!     { "event": "call", "thread": 0, "t": 10, "code": 1,
//!       "args": [ { "kind": "arg", "name": "n", "value": SLOT } ] },
//!     { "event": "resume", "thread": 0, "t": 11, "code": 2 },
//!     { "event": "throw", "thread": 0, "t": 12, "code": 2, "exception": SLOT },
//!     { "event": "line", "thread": 0, "t": 13, "line": 4,
//!       "vars": [ { "kind": "local", "name": "x", "value": SLOT } ] },  // kind: local|global
//!     { "event": "return", "thread": 0, "t": 14, "value": SLOT },       // also "yield", "unwind"
//!     { "event": "raise", "thread": 0, "t": 15, "line": 9, "exception": SLOT }
//!   ],                                    // "t": nanoseconds since start; absent when canonical
//!   "trailer": {                          // null when the trace ends early
//!     "exit_status": 0,                   // or null
//!     "end_unix_ms": 1767225601000,       // absent when canonical
//!     "stats": { "scopes_skipped": 3,
//!                "redacted": [1, 0, 0, 0, 0],   // per kind: arg, local, global, ret, attr
//!                "dropped":  [0, 2, 0, 1, 0] },
//!     "detached": null                    // or the recorder's fault message
//!   }
//! }
//! ```
//!
//! A SLOT is `{"slot": "value", "value": VALUE}`, `{"slot": "redacted"}`,
//! `{"slot": "dropped"}` or `{"slot": "absent"}`. A VALUE is one of:
//!
//! | `type` | other fields |
//! |---|---|
//! | `none` | — |
//! | `bool` | `value` (bool) |
//! | `int` | `value` (a 64-bit integer) |
//! | `big_int` | `digits` (decimal string, leading `-` when negative) |
//! | `float` | `value` (number, or `"nan"`, `"inf"`, `"-inf"`) |
//! | `str` | `value` (possibly cut text), `length` (full UTF-8 length) |
//! | `bytes` | `value` (array of byte numbers, possibly cut), `length` |
//! | `sequence` | `kind` (`list`, `tuple`, `set`, `frozenset`), `items` (VALUEs), `length` |
//! | `dict` | `entries` (`[key VALUE, value VALUE]` pairs), `length` |
//! | `object` | `type_name`, `attrs` (`{"name", "value": SLOT}`), `length` (attribute count) |
//! | `repr` | `type_name`, `text`, `length` |
//! | `repr_error` | `type_name`, `message` |
//! | `deep` | `type_name` (not expanded: depth limit) |
//! | `cycle` | `type_name` (not expanded: the object contains itself) |
//!
//! Containers and strings with fewer items or bytes than `length` were cut
//! at the recording's bounds.
//!
//! # Canonical form
//!
//! `canonical = true` leaves out what differs between two recordings of the
//! same deterministic program on the same machine, so that parity tests can
//! compare strings:
//!
//! * every timestamp: each event's `t`, `header.start_unix_ms`,
//!   `trailer.end_unix_ms`;
//! * memory addresses in `repr` texts and `repr_error` messages: `0x`
//!   followed by 6 or more hex digits becomes `0x?`; and the `length` of a
//!   `repr` (which counts the address digits);
//! * the iteration order of sets: the items of a `set` or `frozenset` that
//!   was not cut are sorted by their canonical JSON text (string hashing is
//!   randomised per process; a cut set keeps its order, and which items were
//!   kept may differ).
//!
//! Everything else, values included, is kept: `python`, `cwd`, paths and
//! thread names are the same for two runs on one machine.

use super::recorded_labels;
use crate::trace::model::{
    Attr, CodeInfo, Event, FilterStats, SequenceKind, Slot, Trace, TraceHeader, Trailer, Value, Var,
};
use serde_json::{json, Map, Value as Json};

/// The version of the JSON shape written by [`to_json`].
pub const JSON_VERSION: u32 = 1;

/// The JSON form of `trace` (see the module docs); `canonical` drops
/// timestamps and other machine-varying details.
pub fn to_json(trace: &Trace, canonical: bool) -> Json {
    let w = JsonWriter { canonical };
    let labels = recorded_labels(trace);
    let codes: Vec<Json> = trace
        .codes
        .iter()
        .enumerate()
        .map(|(i, code)| w.code(code, labels.get(i)))
        .collect();
    json!({
        "format": "tracesieve-json",
        "version": JSON_VERSION,
        "canonical": canonical,
        "header": w.header(&trace.header),
        "codes": codes,
        "sys_paths": trace.sys_paths,
        "modules": trace.modules.iter().map(|m| json!({"name": m.name, "path": m.path})).collect::<Vec<_>>(),
        "markers": trace.markers,
        "sources": trace.sources.iter().map(|s| json!({"path": s.path, "text": s.text, "omitted": s.omitted})).collect::<Vec<_>>(),
        "events": trace.events.iter().map(|e| w.event(e)).collect::<Vec<_>>(),
        "trailer": trace.trailer.as_ref().map(|t| w.trailer(t)),
    })
}

/// The JSON form of some events, as in [`to_json`]'s `events`.
pub fn events_to_json(events: &[Event], canonical: bool) -> Json {
    let w = JsonWriter { canonical };
    Json::Array(events.iter().map(|e| w.event(e)).collect())
}

/// The JSON form of the code table, with each code's recorded module name
/// and label, as in [`to_json`]'s `codes`.
pub fn codes_to_json(trace: &Trace) -> Json {
    let w = JsonWriter { canonical: false };
    let labels = recorded_labels(trace);
    Json::Array(
        trace
            .codes
            .iter()
            .enumerate()
            .map(|(i, code)| w.code(code, labels.get(i)))
            .collect(),
    )
}

/// The JSON form of the header, as in [`to_json`]'s `header`.
pub fn header_to_json(header: &TraceHeader, canonical: bool) -> Json {
    JsonWriter { canonical }.header(header)
}

/// [`to_json`] as a compact string.
pub fn to_string(trace: &Trace, canonical: bool) -> String {
    to_json(trace, canonical).to_string()
}

/// [`to_json`] as an indented string.
pub fn to_string_pretty(trace: &Trace, canonical: bool) -> String {
    serde_json::to_string_pretty(&to_json(trace, canonical)).unwrap_or_default()
}

struct JsonWriter {
    canonical: bool,
}

impl JsonWriter {
    fn header(&self, h: &TraceHeader) -> Json {
        let mut out = Map::new();
        out.insert("recorder".into(), json!(h.recorder));
        out.insert("python".into(), json!(h.python));
        out.insert("platform".into(), json!(h.platform));
        out.insert("argv".into(), json!(h.argv));
        out.insert("cwd".into(), json!(h.cwd));
        if !self.canonical {
            out.insert("start_unix_ms".into(), json!(h.start_unix_ms));
        }
        let filters: Vec<Json> = h
            .filters
            .iter()
            .map(|f| {
                json!({
                    "path": f.path,
                    "text": f.text,
                    "project_root": f.project_root,
                    "sha256": f.sha256,
                    "inline": f.inline,
                })
            })
            .collect();
        out.insert("filters".into(), Json::Array(filters));
        out.insert("framework".into(), json!(h.framework));
        out.insert("naming".into(), json!(h.naming));
        out.insert("values".into(), json!(h.values));
        out.insert(
            "bounds".into(),
            json!({
                "max_depth": h.bounds.max_depth,
                "max_items": h.bounds.max_items,
                "max_string_bytes": h.bounds.max_string_bytes,
                "max_nodes": h.bounds.max_nodes,
            }),
        );
        out.insert("repr".into(), json!(h.repr));
        Json::Object(out)
    }

    fn code(&self, code: &CodeInfo, label: Option<&crate::trace::refilter::Relabel>) -> Json {
        json!({
            "id": code.id,
            "filename": code.filename,
            "qualname": code.qualname,
            "first_line": code.first_line,
            "dunder_name": code.dunder_name,
            "inputs": {
                "sys_path": code.inputs.sys_path,
                "modules": code.inputs.modules,
                "markers": code.inputs.markers,
            },
            "module_name": label.and_then(|l| l.module_name.clone()),
            "module_name_source": label.map(|l| l.reason.clone()),
            "label": label.map(|l| l.label.clone()),
        })
    }

    fn trailer(&self, t: &Trailer) -> Json {
        let mut out = Map::new();
        out.insert("exit_status".into(), json!(t.exit_status));
        if !self.canonical {
            out.insert("end_unix_ms".into(), json!(t.end_unix_ms));
        }
        out.insert("stats".into(), stats(&t.stats));
        out.insert("detached".into(), json!(t.detached));
        Json::Object(out)
    }

    fn event(&self, event: &Event) -> Json {
        let mut out = Map::new();
        let (tag, thread, t) = match event {
            Event::ThreadStart { thread, t, .. } => ("thread_start", thread, t),
            Event::Call { thread, t, .. } => ("call", thread, t),
            Event::Resume { thread, t, .. } => ("resume", thread, t),
            Event::Throw { thread, t, .. } => ("throw", thread, t),
            Event::Line { thread, t, .. } => ("line", thread, t),
            Event::Return { thread, t, .. } => ("return", thread, t),
            Event::Yield { thread, t, .. } => ("yield", thread, t),
            Event::Unwind { thread, t, .. } => ("unwind", thread, t),
            Event::Raise { thread, t, .. } => ("raise", thread, t),
        };
        out.insert("event".into(), json!(tag));
        out.insert("thread".into(), json!(thread));
        if !self.canonical {
            out.insert("t".into(), json!(t));
        }
        match event {
            Event::ThreadStart { name, .. } => {
                out.insert("name".into(), json!(name));
            }
            Event::Call { code, args, .. } => {
                out.insert("code".into(), json!(code));
                out.insert("args".into(), self.vars(args));
            }
            Event::Resume { code, .. } => {
                out.insert("code".into(), json!(code));
            }
            Event::Throw {
                code, exception, ..
            } => {
                out.insert("code".into(), json!(code));
                out.insert("exception".into(), self.slot(exception));
            }
            Event::Line { line, vars, .. } => {
                out.insert("line".into(), json!(line));
                out.insert("vars".into(), self.vars(vars));
            }
            Event::Return { value, .. }
            | Event::Yield { value, .. }
            | Event::Unwind { value, .. } => {
                out.insert("value".into(), self.slot(value));
            }
            Event::Raise {
                line, exception, ..
            } => {
                out.insert("line".into(), json!(line));
                out.insert("exception".into(), self.slot(exception));
            }
        }
        Json::Object(out)
    }

    fn vars(&self, vars: &[Var]) -> Json {
        Json::Array(
            vars.iter()
                .map(|v| json!({"kind": v.kind, "name": v.name, "value": self.slot(&v.value)}))
                .collect(),
        )
    }

    fn slot(&self, slot: &Slot) -> Json {
        match slot {
            Slot::Value { value } => json!({"slot": "value", "value": self.value(value)}),
            Slot::Redacted => json!({"slot": "redacted"}),
            Slot::Dropped => json!({"slot": "dropped"}),
            Slot::Absent => json!({"slot": "absent"}),
        }
    }

    fn value(&self, value: &Value) -> Json {
        match value {
            Value::None => json!({"type": "none"}),
            Value::Bool { value } => json!({"type": "bool", "value": value}),
            Value::Int { value } => json!({"type": "int", "value": value}),
            Value::BigInt { digits } => json!({"type": "big_int", "digits": digits}),
            Value::Float { value } => json!({"type": "float", "value": float(*value)}),
            Value::Str { value, length } => {
                json!({"type": "str", "value": value, "length": length})
            }
            Value::Bytes { value, length } => {
                json!({"type": "bytes", "value": value, "length": length})
            }
            Value::Sequence {
                kind,
                items,
                length,
            } => {
                let mut items: Vec<Json> = items.iter().map(|v| self.value(v)).collect();
                let is_set = matches!(kind, SequenceKind::Set | SequenceKind::FrozenSet);
                if self.canonical && is_set && items.len() as u64 == *length {
                    items.sort_by_cached_key(|v| v.to_string());
                }
                json!({"type": "sequence", "kind": kind, "items": items, "length": length})
            }
            Value::Dict { entries, length } => {
                let entries: Vec<Json> = entries
                    .iter()
                    .map(|(k, v)| json!([self.value(k), self.value(v)]))
                    .collect();
                json!({"type": "dict", "entries": entries, "length": length})
            }
            Value::Object {
                type_name,
                attrs,
                length,
            } => {
                let attrs: Vec<Json> = attrs.iter().map(|a| self.attr(a)).collect();
                json!({"type": "object", "type_name": type_name, "attrs": attrs, "length": length})
            }
            Value::Repr {
                type_name,
                text,
                length,
            } => {
                if self.canonical {
                    json!({"type": "repr", "type_name": type_name, "text": mask_addresses(text)})
                } else {
                    json!({"type": "repr", "type_name": type_name, "text": text, "length": length})
                }
            }
            Value::ReprError { type_name, message } => {
                let message = if self.canonical {
                    mask_addresses(message)
                } else {
                    message.clone()
                };
                json!({"type": "repr_error", "type_name": type_name, "message": message})
            }
            Value::Deep { type_name } => json!({"type": "deep", "type_name": type_name}),
            Value::Cycle { type_name } => json!({"type": "cycle", "type_name": type_name}),
        }
    }

    fn attr(&self, attr: &Attr) -> Json {
        json!({"name": attr.name, "value": self.slot(&attr.value)})
    }
}

/// The statistics object of a trailer.
fn stats(s: &FilterStats) -> Json {
    json!({
        "scopes_skipped": s.scopes_skipped,
        "redacted": s.redacted,
        "dropped": s.dropped,
    })
}

fn float(value: f64) -> Json {
    if value.is_finite() {
        json!(value)
    } else {
        json!(super::float_text(value))
    }
}

/// `text` with every `0x` followed by 6 or more hex digits written `0x?`.
fn mask_addresses(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i + 1 < bytes.len() {
        if bytes[i] == b'0' && (bytes[i + 1] == b'x' || bytes[i + 1] == b'X') {
            let digits = bytes[i + 2..]
                .iter()
                .take_while(|b| b.is_ascii_hexdigit())
                .count();
            if digits >= 6 {
                out.push_str(&text[copied..i]);
                out.push_str("0x?");
                i += 2 + digits;
                copied = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::refilter::testkit::{int, string, TraceBuilder};
    use crate::ValueKind;

    fn sample(t0: u64) -> Trace {
        let mut b = TraceBuilder::new();
        b.clock = t0;
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        b.source("/p/app/m.py", "x = 1\n");
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        b.line(0, 1, &[(ValueKind::Local, "x", int(1))]);
        b.call(0, f, &[("s", string("hi"))]);
        b.line(
            0,
            4,
            &[(
                ValueKind::Local,
                "tags",
                Slot::Value {
                    value: Value::Sequence {
                        kind: SequenceKind::Set,
                        items: vec![
                            Value::Str {
                                value: "b".into(),
                                length: 1,
                            },
                            Value::Str {
                                value: "a".into(),
                                length: 1,
                            },
                        ],
                        length: 2,
                    },
                },
            )],
        );
        b.ret(
            0,
            Slot::Value {
                value: Value::Repr {
                    type_name: "app.m.C".into(),
                    text: "<app.m.C object at 0x7f3a2b1c0d90>".into(),
                    length: 34,
                },
            },
        );
        b.ret(0, Slot::Value { value: Value::None });
        let mut trace = b.finish();
        trace.header.start_unix_ms = 1_000 + t0;
        trace.trailer.as_mut().unwrap().end_unix_ms = 2_000 + t0;
        trace
    }

    #[test]
    fn canonical_form_ignores_timestamps_but_not_values() {
        let a = sample(0);
        let b = sample(777);
        assert_ne!(to_string(&a, false), to_string(&b, false));
        assert_eq!(to_string(&a, true), to_string(&b, true));

        let mut c = sample(0);
        if let Event::Line { vars, .. } = &mut c.events[2] {
            vars[0].value = int(2);
        } else {
            panic!("event 2 is the first line");
        }
        assert_ne!(to_string(&a, true), to_string(&c, true));
        let mut d = sample(0);
        d.trailer.as_mut().unwrap().stats.redacted[1] = 1;
        assert_ne!(to_string(&a, true), to_string(&d, true));
    }

    #[test]
    fn canonical_form_masks_addresses_and_orders_sets() {
        let a = sample(0);
        let mut b = sample(0);
        for event in &mut b.events {
            match event {
                Event::Return {
                    value:
                        Slot::Value {
                            value: Value::Repr { text, .. },
                        },
                    ..
                } => *text = "<app.m.C object at 0x55d0c0ffee00aa>".into(),
                Event::Line { vars, .. } => {
                    if let Some(Slot::Value {
                        value: Value::Sequence { items, .. },
                    }) = vars.first_mut().map(|v| &mut v.value)
                    {
                        items.reverse();
                    }
                }
                _ => {}
            }
        }
        assert_ne!(to_string(&a, false), to_string(&b, false));
        assert_eq!(to_string(&a, true), to_string(&b, true));
        let json = to_json(&a, true);
        assert_eq!(
            json["events"][5]["value"]["value"]["text"],
            "<app.m.C object at 0x?>"
        );
        assert_eq!(
            mask_addresses("0x12 and 0xabcdef12, 0X"),
            "0x12 and 0x?, 0X"
        );
    }

    #[test]
    fn the_shape_is_documented_and_reads_back_as_a_trace() {
        let trace = sample(5);
        let json = to_json(&trace, false);
        assert_eq!(json["format"], "tracesieve-json");
        assert_eq!(json["version"], 1);
        assert_eq!(json["header"]["naming"], "globals");
        assert_eq!(json["codes"][0]["label"], "<app.m>");
        assert_eq!(json["codes"][0]["module_name"], "app.m");
        assert_eq!(json["codes"][0]["module_name_source"], "`__name__`");
        assert_eq!(json["codes"][1]["label"], "f");
        assert_eq!(json["events"][0]["event"], "thread_start");
        assert_eq!(
            json["events"][3]["args"][0]["value"]["value"]["type"],
            "str"
        );
        assert!(json["events"][3]["t"].is_u64());
        let canonical = to_json(&trace, true);
        assert!(canonical["events"][3].get("t").is_none());
        assert!(canonical["header"].get("start_unix_ms").is_none());
        assert!(canonical["trailer"].get("end_unix_ms").is_none());
        // The non-canonical form is the model's serde form plus extra fields.
        let back: Trace = serde_json::from_value(json).expect("reads back");
        assert_eq!(back, trace);
        // Deterministic.
        assert_eq!(to_string(&trace, true), to_string(&trace.clone(), true));
    }

    #[test]
    fn non_finite_floats_are_strings() {
        let w = JsonWriter { canonical: false };
        assert_eq!(
            w.value(&Value::Float { value: f64::NAN }),
            json!({"type": "float", "value": "nan"})
        );
        assert_eq!(
            w.value(&Value::Float { value: 0.5 }),
            json!({"type": "float", "value": 0.5})
        );
    }
}
