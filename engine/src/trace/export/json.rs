//! tracesieve's JSON form of a trace: everything the trace holds, plus each
//! code's module name and label, in one stable, documented JSON document.
//!
//! The non-canonical form has the shape of the model's serde form (so
//! `serde_json::from_value::<Trace>` reads it back, the extra fields being
//! ignored), except that non-finite floats, which JSON numbers cannot hold,
//! are written as the strings `"nan"`, `"inf"` and `"-inf"`.
//!
//! [`to_json`], [`to_string`] and [`to_string_pretty`] take a trace in
//! memory; [`write_json`] writes the same bytes for a trace file of any
//! size, streaming its events (memory bounded by its tables and one event).
//! All of them go through one writer: the document's small parts are built
//! as [`Json`] values, and each event is serialized straight from the model.
//!
//! # Shape
//!
//! JSON objects are unordered; the key order of the output is fixed for a
//! given build, so equal traces give equal strings: sorted with serde_json's
//! default map; with its `preserve_order` feature, the order below, except
//! that the keys of events and values are sorted all the same.
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
//!     "repr": false,
//!     "process": { "pid": 4242, "parent": 4241, "started": "fork" }
//!                                         // only in a trace set (`record` following
//!                                         // children); canonical: "started" only
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
//!     "detached": null,                   // or the recorder's fault message
//!     "size_limit": 200000                // only when recording stopped at
//!   }                                     // `record --max-size`: the limit, in bytes
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
use crate::trace::stream::{EventStream, ReadError, Tables};
use serde::ser::{Error as _, SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{json, Map, Value as Json};
use std::cell::RefCell;
use std::io::{Read, Write};

/// The version of the JSON shape written by [`to_json`].
pub const JSON_VERSION: u32 = 1;

/// The JSON form of `trace` (see the module docs); `canonical` drops
/// timestamps and other machine-varying details.
pub fn to_json(trace: &Trace, canonical: bool) -> Json {
    let w = JsonWriter { canonical };
    let mut document = w.document(trace);
    document.insert("events".into(), w.events(&trace.events));
    Json::Object(document)
}

/// The JSON form of some events, as in [`to_json`]'s `events`.
pub fn events_to_json(events: &[Event], canonical: bool) -> Json {
    JsonWriter { canonical }.events(events)
}

/// The JSON form of the code table, with each code's recorded module name
/// and label, as in [`to_json`]'s `codes`.
pub fn codes_to_json(trace: &Trace) -> Json {
    JsonWriter { canonical: false }.codes(trace)
}

/// The JSON form of the header, as in [`to_json`]'s `header`.
pub fn header_to_json(header: &TraceHeader, canonical: bool) -> Json {
    JsonWriter { canonical }.header(header)
}

/// [`to_json`] as a compact string.
pub fn to_string(trace: &Trace, canonical: bool) -> String {
    render(trace, canonical, false)
}

/// [`to_json`] as an indented string (two spaces per level).
pub fn to_string_pretty(trace: &Trace, canonical: bool) -> String {
    render(trace, canonical, true)
}

/// Writes the JSON form of a trace read from a file to `out`, the events
/// one at a time as `events` hands them out: memory stays bounded by the
/// tables and one event, whatever the number of events.
///
/// `tables` comes from [`read_tables`](crate::trace::stream::read_tables)
/// and `events` from [`EventStream::open`] over the same file. The bytes are
/// those of [`to_string_pretty`] (`pretty`) or [`to_string`] of the trace
/// read whole. `out` gets many small writes: give it a [`std::io::BufWriter`]
/// for a file (it is flushed at the end). Fails with [`ReadError::Io`] when
/// writing fails, or with the stream's error when reading the events does.
pub fn write_json<R: Read, W: Write>(
    tables: &Tables,
    events: EventStream<R>,
    canonical: bool,
    pretty: bool,
    out: W,
) -> Result<(), ReadError> {
    write_document(&tables.trace, events, canonical, pretty, out)
}

/// [`to_string`] or [`to_string_pretty`]: the same writer as [`write_json`],
/// over the events in memory.
fn render(trace: &Trace, canonical: bool, pretty: bool) -> String {
    let mut out = Vec::new();
    let events = trace.events.iter();
    match write_document(trace, events, canonical, pretty, &mut out) {
        // serde_json writes UTF-8 only.
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Where the events of a document come from: in memory or a stream.
trait EventSource {
    /// `each` of the next event, `None` after the last.
    fn next_with<T>(&mut self, each: impl FnOnce(&Event) -> T) -> Result<Option<T>, ReadError>;
}

impl<'a> EventSource for std::slice::Iter<'a, Event> {
    fn next_with<T>(&mut self, each: impl FnOnce(&Event) -> T) -> Result<Option<T>, ReadError> {
        Ok(self.next().map(each))
    }
}

impl<R: Read> EventSource for EventStream<R> {
    fn next_with<T>(&mut self, each: impl FnOnce(&Event) -> T) -> Result<Option<T>, ReadError> {
        Ok(self.next_event()?.map(|event| each(&event)))
    }
}

/// Writes the JSON form of `tables` (whose own events are not looked at)
/// with the events of `events`, streaming: the small parts are built as
/// [`Json`] values, and the whole document goes through one serde_json
/// serializer, so keys, separators and indentation (of the events too) are
/// exactly those of serializing [`to_json`]'s value.
fn write_document<E: EventSource, W: Write>(
    tables: &Trace,
    events: E,
    canonical: bool,
    pretty: bool,
    mut out: W,
) -> Result<(), ReadError> {
    let writer = JsonWriter { canonical };
    let fields = writer.document(tables);
    let document = Document {
        fields: &fields,
        writer: &writer,
        events: RefCell::new(events),
        failure: RefCell::new(None),
    };
    let written = if pretty {
        document.serialize(&mut serde_json::Serializer::pretty(&mut out))
    } else {
        document.serialize(&mut serde_json::Serializer::new(&mut out))
    };
    match written {
        Ok(()) => out.flush().map_err(ReadError::Io),
        Err(error) => Err(match document.failure.into_inner() {
            Some(failure) => failure,
            // A serde_json error of a writer is its io::Error.
            None => ReadError::Io(error.into()),
        }),
    }
}

/// The whole document: its fields, the placeholder `events` among them
/// (in its place in the map's key order) replaced by the events of `events`.
struct Document<'a, E> {
    fields: &'a Map<String, Json>,
    writer: &'a JsonWriter,
    events: RefCell<E>,
    /// Why reading the events failed, if it did (serde only carries text).
    failure: RefCell<Option<ReadError>>,
}

impl<E: EventSource> Serialize for Document<'_, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // As serde_json serializes a `Value::Object`.
        let mut map = serializer.serialize_map(Some(self.fields.len()))?;
        for (key, value) in self.fields {
            if key == "events" {
                map.serialize_entry(key, &EventArray(self))?;
            } else {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

/// The `events` array of a [`Document`], pulled from its source as it is
/// written.
struct EventArray<'d, 'a, E>(&'d Document<'a, E>);

impl<E: EventSource> Serialize for EventArray<'_, '_, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let document = self.0;
        let mut events = document
            .events
            .try_borrow_mut()
            .map_err(|_| S::Error::custom("the events are being written already"))?;
        // The length is not known ahead; serde_json writes the same bytes
        // as for a known one (`[]` when empty).
        let mut seq = serializer.serialize_seq(None)?;
        loop {
            match events.next_with(|event| seq.serialize_element(&document.writer.form(event))) {
                Ok(Some(written)) => written?,
                Ok(None) => break,
                Err(failure) => {
                    let message = failure.to_string();
                    if let Ok(mut slot) = document.failure.try_borrow_mut() {
                        *slot = Some(failure);
                    }
                    return Err(S::Error::custom(message));
                }
            }
        }
        seq.end()
    }
}

/// Builds the parts of the JSON form, canonical or not.
struct JsonWriter {
    canonical: bool,
}

impl JsonWriter {
    /// Every field of the document, `events` being an empty placeholder
    /// (inserted in the order of the module docs, which is the key order
    /// under serde_json's `preserve_order`; sorted otherwise).
    fn document(&self, trace: &Trace) -> Map<String, Json> {
        let mut out = Map::new();
        out.insert("format".into(), json!("tracesieve-json"));
        out.insert("version".into(), json!(JSON_VERSION));
        out.insert("canonical".into(), json!(self.canonical));
        out.insert("header".into(), self.header(&trace.header));
        out.insert("codes".into(), self.codes(trace));
        out.insert("sys_paths".into(), json!(trace.sys_paths));
        let modules: Vec<Json> = trace
            .modules
            .iter()
            .map(|m| json!({"name": m.name, "path": m.path}))
            .collect();
        out.insert("modules".into(), Json::Array(modules));
        out.insert("markers".into(), json!(trace.markers));
        let sources: Vec<Json> = trace
            .sources
            .iter()
            .map(|s| json!({"path": s.path, "text": s.text, "omitted": s.omitted}))
            .collect();
        out.insert("sources".into(), Json::Array(sources));
        out.insert("events".into(), Json::Array(Vec::new()));
        out.insert(
            "trailer".into(),
            trace
                .trailer
                .as_ref()
                .map_or(Json::Null, |t| self.trailer(t)),
        );
        out
    }

    /// The code table with each code's recorded module name and label.
    fn codes(&self, trace: &Trace) -> Json {
        let labels = recorded_labels(trace);
        Json::Array(
            trace
                .codes
                .iter()
                .enumerate()
                .map(|(i, code)| self.code(code, labels.get(i)))
                .collect(),
        )
    }

    fn events(&self, events: &[Event]) -> Json {
        Json::Array(events.iter().map(|e| self.event(e)).collect())
    }

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
        // A process of a trace set: how it started is kept when canonical,
        // its process ids (which differ from run to run) are not.
        if let Some(process) = &h.process {
            let value = if self.canonical {
                json!({ "started": process.started })
            } else {
                json!(process)
            };
            out.insert("process".into(), value);
        }
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
        // Only when set, so traces without a limit export as before.
        if let Some(limit) = t.size_limit {
            out.insert("size_limit".into(), json!(limit));
        }
        Json::Object(out)
    }

    /// The JSON form of one event, as a value.
    fn event(&self, event: &Event) -> Json {
        // Cannot fail: every key is a string and no float is non-finite.
        serde_json::to_value(self.form(event)).unwrap_or(Json::Null)
    }

    /// `of` ready to be serialized in its JSON form.
    fn form<'a, T: ?Sized>(&self, of: &'a T) -> Form<'a, T> {
        Form {
            canonical: self.canonical,
            of,
        }
    }
}

/// The JSON form of an event or of a part of one, serialized straight from
/// the model (no [`Json`] value is built: this is the per-event work of
/// every export of this module, [`to_json`]'s included).
///
/// Each object's keys are serialized in sorted order, the order of
/// serde_json's default map, so the bytes are those of the [`Json`] value
/// that [`serde_json::to_value`] builds from it.
struct Form<'a, T: ?Sized> {
    canonical: bool,
    of: &'a T,
}

impl<T: ?Sized> Clone for Form<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for Form<'_, T> {}

impl<'a, T: ?Sized> Form<'a, T> {
    /// The same form of a part of `of`.
    fn part<U: ?Sized>(self, of: &'a U) -> Form<'a, U> {
        Form {
            canonical: self.canonical,
            of,
        }
    }
}

/// Writes `"t"` (unless canonical) and `"thread"`, which sort next to each
/// other in every event.
fn time_and_thread<M: SerializeMap>(
    map: &mut M,
    canonical: bool,
    t: u64,
    thread: u32,
) -> Result<(), M::Error> {
    if !canonical {
        map.serialize_entry("t", &t)?;
    }
    map.serialize_entry("thread", &thread)
}

impl Serialize for Form<'_, Event> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let c = self.canonical;
        let mut map = serializer.serialize_map(None)?;
        // Keys sorted: args code event exception line name t thread value vars.
        match self.of {
            Event::ThreadStart { thread, name, t } => {
                map.serialize_entry("event", "thread_start")?;
                map.serialize_entry("name", name)?;
                time_and_thread(&mut map, c, *t, *thread)?;
            }
            Event::Call {
                thread,
                t,
                code,
                args,
            } => {
                map.serialize_entry("args", &self.part(args.as_slice()))?;
                map.serialize_entry("code", code)?;
                map.serialize_entry("event", "call")?;
                time_and_thread(&mut map, c, *t, *thread)?;
            }
            Event::Resume { thread, t, code } => {
                map.serialize_entry("code", code)?;
                map.serialize_entry("event", "resume")?;
                time_and_thread(&mut map, c, *t, *thread)?;
            }
            Event::Throw {
                thread,
                t,
                code,
                exception,
            } => {
                map.serialize_entry("code", code)?;
                map.serialize_entry("event", "throw")?;
                map.serialize_entry("exception", &self.part(exception.as_ref()))?;
                time_and_thread(&mut map, c, *t, *thread)?;
            }
            Event::Line {
                thread,
                t,
                line,
                vars,
            } => {
                map.serialize_entry("event", "line")?;
                map.serialize_entry("line", line)?;
                time_and_thread(&mut map, c, *t, *thread)?;
                map.serialize_entry("vars", &self.part(vars.as_slice()))?;
            }
            Event::Return { thread, t, value }
            | Event::Yield { thread, t, value }
            | Event::Unwind { thread, t, value } => {
                let tag = match self.of {
                    Event::Return { .. } => "return",
                    Event::Yield { .. } => "yield",
                    _ => "unwind",
                };
                map.serialize_entry("event", tag)?;
                time_and_thread(&mut map, c, *t, *thread)?;
                map.serialize_entry("value", &self.part(value))?;
            }
            Event::Raise {
                thread,
                t,
                line,
                exception,
            } => {
                map.serialize_entry("event", "raise")?;
                map.serialize_entry("exception", &self.part(exception.as_ref()))?;
                map.serialize_entry("line", line)?;
                time_and_thread(&mut map, c, *t, *thread)?;
            }
        }
        map.end()
    }
}

impl Serialize for Form<'_, [Var]> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.of.iter().map(|var| self.part(var)))
    }
}

impl Serialize for Form<'_, Var> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry("kind", &self.of.kind)?;
        map.serialize_entry("name", &self.of.name)?;
        map.serialize_entry("value", &self.part(&self.of.value))?;
        map.end()
    }
}

impl Serialize for Form<'_, Slot> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let (tag, value) = match self.of {
            Slot::Value { value } => ("value", Some(value)),
            Slot::Redacted => ("redacted", None),
            Slot::Dropped => ("dropped", None),
            Slot::Absent => ("absent", None),
        };
        let mut map = serializer.serialize_map(Some(1 + usize::from(value.is_some())))?;
        map.serialize_entry("slot", tag)?;
        if let Some(value) = value {
            map.serialize_entry("value", &self.part(value))?;
        }
        map.end()
    }
}

impl Serialize for Form<'_, Attr> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("name", &self.of.name)?;
        map.serialize_entry("value", &self.part(&self.of.value))?;
        map.end()
    }
}

impl Serialize for Form<'_, Value> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        // Keys sorted: attrs digits entries items kind length message text
        // type type_name value.
        match self.of {
            Value::None => {
                map.serialize_entry("type", "none")?;
            }
            Value::Bool { value } => {
                map.serialize_entry("type", "bool")?;
                map.serialize_entry("value", value)?;
            }
            Value::Int { value } => {
                map.serialize_entry("type", "int")?;
                map.serialize_entry("value", value)?;
            }
            Value::BigInt { digits } => {
                map.serialize_entry("digits", digits)?;
                map.serialize_entry("type", "big_int")?;
            }
            Value::Float { value } => {
                map.serialize_entry("type", "float")?;
                map.serialize_entry("value", &Float(*value))?;
            }
            Value::Str { value, length } => {
                map.serialize_entry("length", length)?;
                map.serialize_entry("type", "str")?;
                map.serialize_entry("value", value)?;
            }
            Value::Bytes { value, length } => {
                map.serialize_entry("length", length)?;
                map.serialize_entry("type", "bytes")?;
                // An array of numbers, as serde writes a `Vec<u8>`.
                map.serialize_entry("value", value)?;
            }
            Value::Sequence {
                kind,
                items,
                length,
            } => {
                map.serialize_entry("items", &Items(self.part(items.as_slice()), *kind, *length))?;
                map.serialize_entry("kind", kind)?;
                map.serialize_entry("length", length)?;
                map.serialize_entry("type", "sequence")?;
            }
            Value::Dict { entries, length } => {
                map.serialize_entry("entries", &self.part(entries.as_slice()))?;
                map.serialize_entry("length", length)?;
                map.serialize_entry("type", "dict")?;
            }
            Value::Object {
                type_name,
                attrs,
                length,
            } => {
                map.serialize_entry("attrs", &self.part(attrs.as_slice()))?;
                map.serialize_entry("length", length)?;
                map.serialize_entry("type", "object")?;
                map.serialize_entry("type_name", type_name)?;
            }
            Value::Repr {
                type_name,
                text,
                length,
            } => {
                if self.canonical {
                    map.serialize_entry("text", &mask_addresses(text))?;
                } else {
                    map.serialize_entry("length", length)?;
                    map.serialize_entry("text", text)?;
                }
                map.serialize_entry("type", "repr")?;
                map.serialize_entry("type_name", type_name)?;
            }
            Value::ReprError { type_name, message } => {
                if self.canonical {
                    map.serialize_entry("message", &mask_addresses(message))?;
                } else {
                    map.serialize_entry("message", message)?;
                }
                map.serialize_entry("type", "repr_error")?;
                map.serialize_entry("type_name", type_name)?;
            }
            Value::Deep { type_name } => {
                map.serialize_entry("type", "deep")?;
                map.serialize_entry("type_name", type_name)?;
            }
            Value::Cycle { type_name } => {
                map.serialize_entry("type", "cycle")?;
                map.serialize_entry("type_name", type_name)?;
            }
            Value::Redacted => map.serialize_entry("type", "redacted")?,
        }
        map.end()
    }
}

impl Serialize for Form<'_, [Value]> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.of.iter().map(|value| self.part(value)))
    }
}

/// The items of a sequence: in their recorded order, except for the
/// canonical form of a whole (uncut) set, sorted by their compact JSON text.
struct Items<'a>(Form<'a, [Value]>, SequenceKind, u64);

impl Serialize for Items<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Items(items, kind, length) = *self;
        let is_set = matches!(kind, SequenceKind::Set | SequenceKind::FrozenSet);
        if !(items.canonical && is_set && items.of.len() as u64 == length) {
            return items.serialize(serializer);
        }
        let mut sorted: Vec<(String, &Value)> = Vec::with_capacity(items.of.len());
        for item in items.of {
            let text = serde_json::to_string(&items.part(item)).map_err(S::Error::custom)?;
            sorted.push((text, item));
        }
        // Stable, as equal texts are equal items anyway.
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        serializer.collect_seq(sorted.into_iter().map(|(_, item)| items.part(item)))
    }
}

impl Serialize for Form<'_, [(Value, Value)]> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.of.iter().map(|entry| self.part(entry)))
    }
}

impl Serialize for Form<'_, (Value, Value)> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // `[key, value]`.
        let mut seq = serializer.serialize_seq(Some(2))?;
        seq.serialize_element(&self.part(&self.of.0))?;
        seq.serialize_element(&self.part(&self.of.1))?;
        seq.end()
    }
}

impl Serialize for Form<'_, [Attr]> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.of.iter().map(|attr| self.part(attr)))
    }
}

/// A float: a JSON number when finite, else `"nan"`, `"inf"` or `"-inf"`.
struct Float(f64);

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            serializer.serialize_f64(self.0)
        } else {
            serializer.serialize_str(&super::float_text(self.0))
        }
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
    use crate::trace::stream::read_tables;
    use crate::trace::{read_trace, write_trace, TraceWriter};
    use crate::ValueKind;
    use std::io::Cursor;

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
    fn the_size_limit_is_in_the_trailer_only_when_set() {
        let mut trace = sample(0);
        for canonical in [false, true] {
            let json = to_json(&trace, canonical);
            assert!(json["trailer"].get("size_limit").is_none(), "{json}");
        }
        let trailer = trace.trailer.as_mut().expect("a trailer");
        let plain = serde_json::to_string(trailer).expect("serialises");
        assert!(!plain.contains("size_limit"), "{plain}");
        // A trailer written before the field existed reads as no limit.
        let old: Trailer = serde_json::from_str(&plain).expect("reads back");
        assert_eq!(old.size_limit, None);
        trailer.size_limit = Some(200_000);
        for canonical in [false, true] {
            let json = to_json(&trace, canonical);
            assert_eq!(json["trailer"]["size_limit"], 200_000);
        }
        let back: Trace = serde_json::from_value(to_json(&trace, false)).expect("reads back");
        assert_eq!(back, trace);
        let read = read_trace(&write_trace(&trace)).expect("reads").trace;
        assert_eq!(read.trailer, trace.trailer);
    }

    /// A source that hands out `bytes`, then fails instead of ending.
    struct FailingAtEnd(std::io::Cursor<Vec<u8>>);

    impl Read for FailingAtEnd {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            match self.0.read(buf)? {
                0 => Err(std::io::Error::other("the disk went away")),
                n => Ok(n),
            }
        }
    }

    /// A sink that takes `room` bytes, then fails.
    struct FullDisk {
        room: usize,
    }

    impl Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room < buf.len() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::StorageFull,
                    "no room",
                ));
            }
            self.room -= buf.len();
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn value(value: Value) -> Slot {
        Slot::Value { value }
    }

    fn text(s: &str) -> Value {
        Value::Str {
            value: s.into(),
            length: s.len() as u64,
        }
    }

    /// One value of every kind, nested where kinds nest.
    fn every_value() -> Vec<Value> {
        vec![
            Value::None,
            Value::Bool { value: true },
            Value::Int { value: -7 },
            Value::Int { value: i64::MIN },
            Value::BigInt {
                digits: "-123456789012345678901234567890".into(),
            },
            Value::Float { value: 2.5 },
            Value::Float { value: -0.0 },
            Value::Float { value: 1e300 },
            Value::Float { value: f64::NAN },
            Value::Float {
                value: f64::INFINITY,
            },
            Value::Float {
                value: f64::NEG_INFINITY,
            },
            text("é\"\\\n\u{1}\u{2028}"),
            Value::Str {
                value: "cut".into(),
                length: 1000,
            },
            Value::Bytes {
                value: vec![0, 255, b'\''],
                length: 9,
            },
            Value::Sequence {
                kind: SequenceKind::List,
                items: vec![Value::Int { value: 1 }, Value::None],
                length: 2,
            },
            Value::Sequence {
                kind: SequenceKind::Tuple,
                items: vec![],
                length: 0,
            },
            Value::Sequence {
                kind: SequenceKind::Set,
                items: vec![text("b"), text("a"), Value::Int { value: 3 }],
                length: 3,
            },
            Value::Sequence {
                kind: SequenceKind::FrozenSet,
                items: vec![text("z"), text("y")],
                length: 5,
            },
            Value::Dict {
                entries: vec![
                    (text("k"), Value::Float { value: f64::NAN }),
                    (
                        Value::Int { value: 2 },
                        Value::Sequence {
                            kind: SequenceKind::Set,
                            items: vec![text("q"), text("p")],
                            length: 2,
                        },
                    ),
                ],
                length: 3,
            },
            Value::Object {
                type_name: "app.User".into(),
                attrs: vec![
                    Attr {
                        name: "name".into(),
                        value: value(text("ann")),
                    },
                    Attr {
                        name: "token".into(),
                        value: Slot::Redacted,
                    },
                    Attr {
                        name: "gone".into(),
                        value: Slot::Dropped,
                    },
                    Attr {
                        name: "none".into(),
                        value: Slot::Absent,
                    },
                ],
                length: 5,
            },
            Value::Repr {
                type_name: "app.C".into(),
                text: "<app.C object at 0x7f3a2b1c0d90>".into(),
                length: 32,
            },
            Value::ReprError {
                type_name: "app.D".into(),
                message: "ValueError: bad at 0xdeadbeef00".into(),
            },
            Value::Deep {
                type_name: "dict".into(),
            },
            Value::Cycle {
                type_name: "list".into(),
            },
        ]
    }

    /// Several traces covering what the JSON form holds, each with a name.
    fn traces() -> Vec<(&'static str, Trace)> {
        let mut traces = vec![
            ("bare", TraceBuilder::new().finish()),
            ("bare, truncated", TraceBuilder::new().truncated()),
            ("sample", sample(5)),
        ];

        let mut b = TraceBuilder::new();
        b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        b.source("/p/app/m.py", "x = 1\n");
        let mut no_events = b.finish();
        no_events.modules.push(crate::identity::ModuleFile {
            name: "app.m".into(),
            path: "/p/app/m.py".into(),
        });
        no_events.markers.push("/p".into());
        no_events.sources.push(crate::trace::model::SourceFile {
            path: "/p/big.py".into(),
            text: None,
            omitted: Some("over the size cap".into()),
        });
        if let Some(trailer) = no_events.trailer.as_mut() {
            trailer.exit_status = None;
            trailer.detached = Some("fault: \"x\"".into());
            trailer.stats.scopes_skipped = 3;
            trailer.stats.redacted = [1, 2, 3, 4, 5];
            trailer.stats.dropped = [5, 0, 0, 1, 0];
        }
        traces.push(("no events, every table", no_events));

        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let gen = b.code("/p/app/m.py", "gen", 10, Some("app.m"));
        let work = b.code("/p/app/w.py", "Worker.run", 3, None);
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        b.thread(1, "Thread-1 (run)");
        b.call(
            1,
            work,
            &[(
                "self",
                value(Value::Deep {
                    type_name: "app.Worker".into(),
                }),
            )],
        );
        b.line(0, 2, &[]);
        b.call(0, gen, &[("n", int(3))]);
        b.yield_(0, int(0));
        b.line(1, 4, &[(ValueKind::Global, "G", string("g"))]);
        b.resume(0, gen);
        b.throw(
            0,
            gen,
            value(Value::Object {
                type_name: "StopIteration".into(),
                attrs: vec![],
                length: 0,
            }),
        );
        b.raise(0, 11, Slot::Redacted);
        b.unwind(0, Slot::Absent);
        b.ret(1, Slot::Dropped);
        b.thread(2, "");
        b.line(2, 1, &[]);
        let threads = b.finish();
        traces.push(("threads", threads.clone()));
        let mut cut = threads;
        cut.trailer = None;
        traces.push(("threads, truncated", cut));

        let mut b = TraceBuilder::new();
        let f = b.code("/p/app/v.py", "f", 1, Some("app.v"));
        b.thread(0, "MainThread");
        let values = every_value();
        let args: Vec<(&str, Slot)> = values.iter().map(|v| ("a", value(v.clone()))).collect();
        b.call(0, f, &args);
        for (i, v) in values.iter().enumerate() {
            let line = i as u32 + 2;
            b.line(
                0,
                line,
                &[
                    (ValueKind::Local, "x", value(v.clone())),
                    (ValueKind::Global, "y", Slot::Redacted),
                ],
            );
            b.raise(0, line, value(v.clone()));
            b.ret(0, value(v.clone()));
        }
        traces.push(("every value", b.finish()));

        let mut limited = sample(3);
        if let Some(trailer) = limited.trailer.as_mut() {
            trailer.exit_status = None;
            trailer.size_limit = Some(200_000);
        }
        traces.push(("stopped at the size limit", limited));
        traces
    }

    /// What `to_string_pretty`/`to_string` give for the trace in `bytes`,
    /// read whole, and what `write_json` gives, streaming it.
    fn both_ways(bytes: &[u8], canonical: bool, pretty: bool) -> (String, String) {
        let whole = read_trace(bytes).expect("reads whole").trace;
        let expected = if pretty {
            to_string_pretty(&whole, canonical)
        } else {
            to_string(&whole, canonical)
        };
        let tables = read_tables(Cursor::new(bytes)).expect("reads the tables");
        assert!(tables.trace.events.is_empty());
        let events = EventStream::open(Cursor::new(bytes)).expect("opens");
        let mut out = Vec::new();
        write_json(&tables, events, canonical, pretty, &mut out).expect("writes");
        (expected, String::from_utf8(out).expect("UTF-8"))
    }

    #[test]
    fn streaming_json_is_the_in_memory_json_byte_for_byte() {
        for (name, trace) in traces() {
            let bytes = write_trace(&trace);
            let whole = read_trace(&bytes).expect("reads whole").trace;
            assert_eq!(whole.events.len(), trace.events.len(), "{name}");
            assert_eq!(whole.trailer.is_none(), trace.trailer.is_none(), "{name}");
            for canonical in [false, true] {
                for pretty in [false, true] {
                    let (expected, streamed) = both_ways(&bytes, canonical, pretty);
                    assert_eq!(
                        streamed, expected,
                        "{name}, canonical {canonical}, pretty {pretty}"
                    );
                    // And both are serde_json's rendering of `to_json`.
                    let json = to_json(&whole, canonical);
                    let reference = if pretty {
                        serde_json::to_string_pretty(&json).expect("serialises")
                    } else {
                        json.to_string()
                    };
                    assert_eq!(expected, reference, "{name}, {canonical}, {pretty}");
                }
            }
        }
    }

    #[test]
    fn streaming_json_indents_events_as_serde_json_does() {
        let bytes = write_trace(&sample(0));
        let (expected, streamed) = both_ways(&bytes, true, true);
        assert_eq!(streamed, expected);
        assert!(streamed.contains("\n  \"events\": [\n    {\n      \"event\": \"thread_start\",\n"));
        assert!(streamed.contains("\n    },\n    {\n"));
        let bytes = write_trace(&TraceBuilder::new().finish());
        let (expected, streamed) = both_ways(&bytes, false, true);
        assert_eq!(streamed, expected);
        assert!(streamed.contains("\n  \"events\": [],\n"));
        let (_, compact) = both_ways(&bytes, false, false);
        assert!(compact.contains(",\"events\":[],"));
    }

    #[test]
    fn streaming_json_of_a_damaged_file_stops_where_reading_does() {
        // Many small chunks, then the file is cut in the middle of one.
        let trace = traces()
            .into_iter()
            .find(|(name, _)| *name == "every value")
            .map(|(_, trace)| trace)
            .expect("the trace is there");
        let mut writer =
            TraceWriter::with_chunk_bytes(Vec::new(), &trace.header, 256).expect("header");
        writer.tables(&trace).expect("tables");
        for event in &trace.events {
            writer.event(event).expect("event");
        }
        let trailer = trace.trailer.as_ref().expect("a trailer");
        let bytes = writer.finish(trailer).expect("written");
        let cut = &bytes[..bytes.len() * 2 / 3];
        let outcome = read_trace(cut).expect("reads up to the damage");
        assert!(outcome.truncation.is_some());
        assert!(!outcome.trace.events.is_empty());
        assert!(outcome.trace.events.len() < trace.events.len());
        for canonical in [false, true] {
            for pretty in [false, true] {
                let (expected, streamed) = both_ways(cut, canonical, pretty);
                assert_eq!(streamed, expected, "canonical {canonical}, pretty {pretty}");
            }
        }
    }

    #[test]
    fn streaming_json_reports_read_and_write_errors() {
        let bytes = write_trace(&sample(0));
        let tables = read_tables(Cursor::new(&bytes)).expect("tables");

        let events = EventStream::open(FailingAtEnd(Cursor::new(bytes.clone()))).expect("opens");
        let failed = write_json(&tables, events, false, true, std::io::sink());
        match failed {
            Err(ReadError::Io(e)) => assert_eq!(e.to_string(), "the disk went away"),
            other => panic!("expected the read error, got {other:?}"),
        }

        let events = EventStream::open(Cursor::new(&bytes)).expect("opens");
        let failed = write_json(&tables, events, false, false, FullDisk { room: 300 });
        match failed {
            Err(ReadError::Io(e)) => assert_eq!(e.kind(), std::io::ErrorKind::StorageFull),
            other => panic!("expected the write error, got {other:?}"),
        }

        // Buffered, the error shows at the final flush.
        let events = EventStream::open(Cursor::new(&bytes)).expect("opens");
        let out = std::io::BufWriter::with_capacity(1 << 20, FullDisk { room: 300 });
        let failed = write_json(&tables, events, true, false, out);
        assert!(matches!(failed, Err(ReadError::Io(_))), "{failed:?}");
    }

    /// Speed of the streaming export: `cargo test --release -p
    /// tracesieve-engine --lib write_json_speed -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement; run in release mode"]
    fn write_json_speed() {
        const EVENTS: u32 = 1_000_000;
        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        let header = b.finish();
        let mut writer = TraceWriter::new(Vec::new(), &header.header).expect("header");
        writer.tables(&header).expect("tables");
        let mut t = 0;
        let mut tick = || {
            t += 750;
            t
        };
        writer
            .event(&Event::ThreadStart {
                thread: 0,
                name: "MainThread".into(),
                t: tick(),
            })
            .expect("event");
        writer
            .event(&Event::Call {
                thread: 0,
                t: tick(),
                code: main,
                args: vec![],
            })
            .expect("event");
        let mut written = 2;
        let mut i = 0i64;
        while written + 4 <= EVENTS {
            i += 1;
            let events = [
                Event::Call {
                    thread: 0,
                    t: tick(),
                    code: f,
                    args: vec![Var {
                        kind: ValueKind::Arg,
                        name: "n".into(),
                        value: int(i),
                    }],
                },
                Event::Line {
                    thread: 0,
                    t: tick(),
                    line: 4,
                    vars: vec![
                        Var {
                            kind: ValueKind::Local,
                            name: "total".into(),
                            value: int(i * 3),
                        },
                        Var {
                            kind: ValueKind::Local,
                            name: "label".into(),
                            value: string("item"),
                        },
                    ],
                },
                Event::Line {
                    thread: 0,
                    t: tick(),
                    line: 5,
                    vars: vec![],
                },
                Event::Return {
                    thread: 0,
                    t: tick(),
                    value: value(Value::Float {
                        value: i as f64 / 7.0,
                    }),
                },
            ];
            for event in &events {
                writer.event(event).expect("event");
            }
            written += 4;
        }
        let trailer = header.trailer.as_ref().expect("a trailer");
        let bytes = writer.finish(trailer).expect("written");

        let start = std::time::Instant::now();
        let tables = read_tables(Cursor::new(&bytes)).expect("tables");
        let tables_time = start.elapsed();
        assert_eq!(tables.events, u64::from(written));

        let start = std::time::Instant::now();
        let mut events = EventStream::open(Cursor::new(&bytes)).expect("opens");
        while events.next_event().expect("reads").is_some() {}
        let decode_time = start.elapsed();

        for pretty in [false, true] {
            let mut out = CountingSink(0);
            let start = std::time::Instant::now();
            let events = EventStream::open(Cursor::new(&bytes)).expect("opens");
            write_json(&tables, events, false, pretty, &mut out).expect("writes");
            let secs = start.elapsed().as_secs_f64();
            println!(
                "{written} events ({} KiB trace; read_tables {:.3} s, stream decode only {:.3} s): \
                 write_json pretty={pretty} {secs:.3} s, {:.2} M events/s, {:.0} MB of JSON",
                bytes.len() / 1024,
                tables_time.as_secs_f64(),
                decode_time.as_secs_f64(),
                f64::from(written) / secs / 1e6,
                out.0 as f64 / 1e6,
            );
        }
    }

    /// `std::io::sink`, counting the bytes.
    struct CountingSink(u64);

    impl Write for CountingSink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn non_finite_floats_are_strings() {
        let w = JsonWriter { canonical: false };
        let json = |value: Value| serde_json::to_value(w.form(&value)).expect("a value");
        assert_eq!(
            json(Value::Float { value: f64::NAN }),
            json!({"type": "float", "value": "nan"})
        );
        assert_eq!(
            json(Value::Float { value: 0.5 }),
            json!({"type": "float", "value": 0.5})
        );
    }
}
