//! Chrome Trace Event JSON, which Perfetto (ui.perfetto.dev), speedscope and
//! `chrome://tracing` open.
//!
//! The output is the JSON object form (shown spread out; the export writes
//! it on one line, keys in sorted order):
//!
//! ```json
//! {
//!   "traceEvents": [
//!     {"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "app.py"}},
//!     {"name": "thread_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "MainThread"}},
//!     {"name": "<__main__> (app.py:1)", "cat": "call", "ph": "B", "pid": 1, "tid": 0, "ts": 1.0},
//!     {"name": "raise ValueError (app.py:7)", "cat": "raise", "ph": "i", "s": "t", "pid": 1,
//!      "tid": 0, "ts": 2.5},
//!     {"name": "<__main__> (app.py:1)", "cat": "return", "ph": "E", "pid": 1, "tid": 0, "ts": 3.0}
//!   ],
//!   "displayTimeUnit": "ns",
//!   "otherData": {"recorder": "tracesieve 0.1.0", "python": "3.12.3", "argv": ["app.py"]}
//! }
//! ```
//!
//! * Every traced activation is a `B`/`E` pair on its thread (`pid` 1, or
//!   the process's pid for a trace of a set; `tid` = the trace's thread
//!   number): `call` begins with category `call`, `resume` with `resume`,
//!   `throw` with `throw`; `return`, `yield` and `unwind` end it, with
//!   that word as the end's category (`unfinished` for an activation a
//!   cut-short trace left open). A generator therefore shows one slice per
//!   resumption, as in the trace.
//! * `name` is short and readable with its location: the code's label
//!   (`<pkg.mod>` for module bodies, else the qualname, under the
//!   recording's naming mode), then the last part of its file's path and
//!   its first line: `fib (main.py:13)`. Begins and ends carry no `args`:
//!   speedscope names a trace-event frame by its name and its `args` as
//!   JSON, so anything there would show in every frame's name (and per-call
//!   data would split a function into a frame per call). Events name codes
//!   by id, looked up in the code table (ids need not be dense nor in table
//!   order); a code missing from the table is named `<code ID>`.
//! * Raised exceptions are thread-scoped instant events (`ph` `i`) named by
//!   the exception's type and where it was raised (`raise KeyError
//!   (app.py:7)`: the file of the activation it was raised in, and the
//!   line); the exception's value, lines and other values are not
//!   exported.
//! * `ts` is in microseconds since the recording started (fractional: the
//!   trace has nanoseconds). Per thread, `ts` never decreases (a damaged
//!   trace's timestamps are clamped).
//! * A trace cut short leaves activations open: each is closed with an `E`
//!   at the trace's last timestamp, innermost first (threads in the order of
//!   their first activation), so the JSON stays valid and balanced. An exit
//!   with no open activation is left out.
//! * Every track is named: `process_name` is the program's `argv` (with
//!   how it started for a child process: `app.py (fork)`), and a
//!   `thread_name` names each thread that has a `thread_start`; a thread
//!   with activations and no `thread_start` is named `thread N` by a
//!   `thread_name` just before its first activation.
//! * A trace set ([`write_chrome_set`]: a program and its child processes)
//!   gives one process per pid, each trace's `ts` moved onto the first
//!   trace's clock by the difference of their start times (milliseconds).
//!
//! # Streaming
//!
//! [`write_chrome`] writes the export of a trace file while reading its
//! events one by one ([`EventStream`]), each Chrome event as soon as it is
//! known: its memory holds the code table and, per thread, the open
//! activations, never anything that grows with the number of events.
//! [`to_chrome`] and [`to_chrome_json`] run the same per-event code over an
//! in-memory [`Trace`]. The one thing a stream cannot know in time is the
//! `thread_name` events, which come before every other event: [`to_chrome`]
//! writes one per `thread_start`, in trace order, while [`write_chrome`]
//! writes one per thread (its first name, [`Tables::thread_names`]) in the
//! order of those first `thread_start`s. The two agree for every trace the
//! recorder or `refilter` writes (each thread has one `thread_start`); a
//! hand-made trace that repeats a thread's `thread_start` gets one
//! `thread_name` for it, and nothing else differs.

use super::codes::{base_name, Codes};
use crate::trace::model::{Event, ProcessStart, Slot, Trace, TraceHeader, Value};
use crate::trace::stream::{EventStream, ReadError, Tables};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use serde_json::{json, Map, Value as Json};
use std::convert::Infallible;
use std::io::{self, Read, Write};

/// The Chrome Trace Event JSON of `trace` (see the module docs).
pub fn to_chrome(trace: &Trace) -> String {
    let mut out = Vec::new();
    match write_trace_chrome(trace, &mut out) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// [`to_chrome`] as a JSON value.
pub fn to_chrome_json(trace: &Trace) -> Json {
    let Ok(mut export) = Export::start(
        trace,
        thread_starts(trace),
        Process::alone(&trace.header),
        Values::default(),
    );
    for event in &trace.events {
        let Ok(()) = export.event(event);
    }
    let Ok(values) = export.finish();
    json!({
        "traceEvents": values.0,
        "displayTimeUnit": "ns",
        "otherData": other_data(&trace.header),
    })
}

/// Writes the Chrome Trace Event JSON of a trace file to `out` while
/// streaming its events: `tables` from [`crate::trace::stream::read_tables`]
/// (the first pass over the file), `events` from [`EventStream::open`] (the
/// second). The bytes are those of [`to_chrome`] of the same trace (see the
/// module docs for the one exception, in hand-made traces). A file cut
/// short or damaged is exported up to the damage, its open activations
/// closed. Fails when reading fails, or with [`ReadError::Io`] when writing
/// does; `out` is flushed at the end.
pub fn write_chrome<R: Read, W: Write>(
    tables: &Tables,
    events: EventStream<R>,
    out: W,
) -> Result<(), ReadError> {
    let sink = JsonWriter::start(out, &tables.trace.header)?;
    export_member(tables, events, Process::alone(&tables.trace.header), sink)?.end()?;
    Ok(())
}

/// Writes the Chrome Trace Event JSON of a trace set (a program and its
/// child processes, see [`crate::trace::ProcessInfo`]): each trace's events
/// under its process's `pid` (1 for a trace with no process record), its
/// timestamps moved onto the first trace's clock by the difference of the
/// two start times (known to the millisecond), so that Perfetto shows one
/// process per pid on one timeline. `first` is the first trace's tables and
/// events; `next` hands out the others one at a time (each read as
/// [`write_chrome`] reads one), until it returns `None`. The `otherData`
/// is the first trace's. A set of one trace gives the bytes of
/// [`write_chrome`].
pub fn write_chrome_set<R: Read, W: Write>(
    first: (&Tables, EventStream<R>),
    mut next: impl FnMut() -> Option<Result<(Tables, EventStream<R>), ReadError>>,
    out: W,
) -> Result<(), ReadError> {
    let (tables, events) = first;
    let start = tables.trace.header.start_unix_ms;
    let sink = JsonWriter::start(out, &tables.trace.header)?;
    let mut sink = export_member(
        tables,
        events,
        Process::of(&tables.trace.header, start),
        sink,
    )?;
    while let Some(member) = next() {
        let (tables, events) = member?;
        let process = Process::of(&tables.trace.header, start);
        sink = export_member(&tables, events, process, sink)?;
    }
    sink.end()?;
    Ok(())
}

/// Exports the events of one trace as `process` into `sink`, and hands it
/// back.
fn export_member<R: Read, W: Write>(
    tables: &Tables,
    mut events: EventStream<R>,
    process: Process,
    sink: JsonWriter<W>,
) -> Result<JsonWriter<W>, ReadError> {
    let trace = &tables.trace;
    let names = tables
        .thread_names
        .iter()
        .map(|(thread, name)| (*thread, &**name));
    let mut export = Export::start(trace, names, process, sink)?;
    while let Some(event) = events.next_event()? {
        export.event(&event)?;
    }
    events.finish()?;
    Ok(export.finish()?)
}

/// [`write_chrome`] of an in-memory trace: the bytes of [`to_chrome`].
fn write_trace_chrome<W: Write>(trace: &Trace, out: W) -> io::Result<()> {
    let mut export = Export::start(
        trace,
        thread_starts(trace),
        Process::alone(&trace.header),
        JsonWriter::start(out, &trace.header)?,
    )?;
    for event in &trace.events {
        export.event(event)?;
    }
    export.finish()?.end()
}

/// Every `thread_start` of an in-memory trace, in order: (thread, name).
fn thread_starts(trace: &Trace) -> impl Iterator<Item = (u32, &str)> {
    trace.events.iter().filter_map(|event| match event {
        Event::ThreadStart { thread, name, .. } => Some((*thread, name.as_str())),
        _ => None,
    })
}

/// The `otherData` object.
fn other_data(header: &TraceHeader) -> Json {
    json!({
        "recorder": header.recorder,
        "python": header.python,
        "argv": header.argv,
    })
}

/// Nanoseconds to (fractional) microseconds.
fn micros(t: u64) -> f64 {
    t as f64 / 1000.0
}

/// The `pid` of the events of a trace without a process record.
const PID: u32 = 1;

/// One Chrome event, borrowing what it names.
struct ChromeEvent<'a> {
    pid: u32,
    name: &'a str,
    cat: Option<&'static str>,
    ph: &'static str,
    s: Option<&'static str>,
    tid: u32,
    /// Nanoseconds (written in microseconds); none for metadata.
    ts: Option<u64>,
    /// `args.name` of a metadata event; other events have no `args`.
    meta_name: Option<&'a str>,
}

/// Where the Chrome events go, one by one.
trait Sink {
    /// Why an event could not be taken.
    type Error;
    /// Takes the next event.
    fn event(&mut self, event: &ChromeEvent<'_>) -> Result<(), Self::Error>;
}

/// Collects the events as JSON values ([`to_chrome_json`]).
#[derive(Default)]
struct Values(Vec<Json>);

impl Sink for Values {
    type Error = Infallible;

    fn event(&mut self, event: &ChromeEvent<'_>) -> Result<(), Infallible> {
        let mut map = Map::new();
        map.insert("name".into(), event.name.into());
        if let Some(cat) = event.cat {
            map.insert("cat".into(), cat.into());
        }
        map.insert("ph".into(), event.ph.into());
        if let Some(s) = event.s {
            map.insert("s".into(), s.into());
        }
        map.insert("pid".into(), event.pid.into());
        map.insert("tid".into(), event.tid.into());
        if let Some(ts) = event.ts {
            map.insert("ts".into(), micros(ts).into());
        }
        if let Some(name) = event.meta_name {
            map.insert("args".into(), json!({ "name": name }));
        }
        self.0.push(Json::Object(map));
        Ok(())
    }
}

/// Writes the export as compact JSON, an event at a time: the bytes
/// `serde_json::to_string` makes of [`to_chrome_json`]'s value, whose
/// objects (serde_json's default map) serialise their keys in sorted order.
struct JsonWriter<W> {
    out: W,
    first: bool,
}

impl<W: Write> JsonWriter<W> {
    /// Writes everything before the first event.
    fn start(mut out: W, header: &TraceHeader) -> io::Result<JsonWriter<W>> {
        out.write_all(b"{\"displayTimeUnit\":\"ns\",\"otherData\":")?;
        serde_json::to_writer(&mut out, &other_data(header))?;
        out.write_all(b",\"traceEvents\":[")?;
        Ok(JsonWriter { out, first: true })
    }

    /// Writes everything after the last event, and flushes.
    fn end(mut self) -> io::Result<()> {
        self.out.write_all(b"]}")?;
        self.out.flush()
    }

    fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)
    }

    /// A string, number or null, as serde_json writes it.
    fn scalar<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        Ok(serde_json::to_writer(&mut self.out, value)?)
    }
}

impl<W: Write> Sink for JsonWriter<W> {
    type Error = io::Error;

    fn event(&mut self, event: &ChromeEvent<'_>) -> io::Result<()> {
        // Keys in sorted order: args, cat, name, ph, pid, s, tid, ts.
        if !self.first {
            self.raw(b",")?;
        }
        self.first = false;
        self.raw(b"{")?;
        if let Some(name) = event.meta_name {
            self.raw(b"\"args\":{\"name\":")?;
            self.scalar(name)?;
            self.raw(b"},")?;
        }
        if let Some(cat) = event.cat {
            self.raw(b"\"cat\":")?;
            self.scalar(cat)?;
            self.raw(b",")?;
        }
        self.raw(b"\"name\":")?;
        self.scalar(event.name)?;
        self.raw(b",\"ph\":")?;
        self.scalar(event.ph)?;
        self.raw(b",\"pid\":")?;
        self.scalar(&event.pid)?;
        if let Some(s) = event.s {
            self.raw(b",\"s\":")?;
            self.scalar(s)?;
        }
        self.raw(b",\"tid\":")?;
        self.scalar(&event.tid)?;
        if let Some(ts) = event.ts {
            self.raw(b",\"ts\":")?;
            self.scalar(&micros(ts))?;
        }
        self.raw(b"}")
    }
}

/// The export, fed the trace's events one by one: the one code path of
/// [`to_chrome`], [`to_chrome_json`] and [`write_chrome`].
struct Export<'t, S> {
    codes: Codes<'t>,
    /// Per thread, the codes of the open activations, innermost last.
    stacks: FxHashMap<u32, Vec<u32>>,
    /// Threads in the order of their first activation.
    threads: Vec<u32>,
    /// Threads given a `thread_name` event.
    named: FxHashSet<u32>,
    /// Per thread, the last timestamp written.
    last_ts: FxHashMap<u32, u64>,
    /// The last timestamp written on any thread.
    end: u64,
    /// The process: its `pid`, and where its clock starts on the export's
    /// (nanoseconds after the first process of a set started).
    process: Process,
    sink: S,
}

/// Where a trace's events go in an export of one or more processes.
#[derive(Debug, Clone, Copy)]
struct Process {
    pid: u32,
    offset_ns: u64,
}

impl Process {
    /// The process of a trace exported alone: its pid, if it has a
    /// process record, on its own clock.
    fn alone(header: &TraceHeader) -> Process {
        Process::of(header, header.start_unix_ms)
    }

    /// The process of a trace of a set whose first trace started at
    /// `start` (milliseconds since the epoch).
    fn of(header: &TraceHeader, start: u64) -> Process {
        Process {
            pid: header.process.as_ref().map_or(PID, |p| p.pid),
            offset_ns: header
                .start_unix_ms
                .saturating_sub(start)
                .saturating_mul(1_000_000),
        }
    }
}

impl<'t, S: Sink> Export<'t, S> {
    /// Starts the export of `trace` (its header and code table) with the
    /// metadata events: the process name, then `thread_names`.
    fn start<'n>(
        trace: &'t Trace,
        thread_names: impl IntoIterator<Item = (u32, &'n str)>,
        process: Process,
        mut sink: S,
    ) -> Result<Export<'t, S>, S::Error> {
        let argv = process_label(&trace.header);
        let pid = process.pid;
        sink.event(&ChromeEvent {
            pid,
            name: "process_name",
            cat: None,
            ph: "M",
            s: None,
            tid: 0,
            ts: None,
            meta_name: Some(&argv),
        })?;
        let mut named = FxHashSet::default();
        for (thread, name) in thread_names {
            named.insert(thread);
            sink.event(&thread_name(pid, thread, name))?;
        }
        Ok(Export {
            codes: Codes::new(trace),
            stacks: FxHashMap::default(),
            threads: Vec::new(),
            named,
            last_ts: FxHashMap::default(),
            end: 0,
            process,
            sink,
        })
    }

    /// `t` on `thread`, clamped so that it never goes back on the thread,
    /// on the export's clock.
    fn clamp(&mut self, thread: u32, t: u64) -> u64 {
        let last = self.last_ts.entry(thread).or_insert(0);
        *last = (*last).max(t);
        self.end = self.end.max(*last);
        self.process.offset_ns + *last
    }

    /// Exports the next event of the trace.
    fn event(&mut self, event: &Event) -> Result<(), S::Error> {
        let thread = event.thread();
        match event {
            Event::ThreadStart { .. } | Event::Line { .. } => Ok(()),
            Event::Call { t, code, .. }
            | Event::Resume { t, code, .. }
            | Event::Throw { t, code, .. } => {
                let cat = match event {
                    Event::Call { .. } => "call",
                    Event::Resume { .. } => "resume",
                    _ => "throw",
                };
                let ts = self.clamp(thread, *t);
                if !self.stacks.contains_key(&thread) {
                    self.threads.push(thread);
                    if self.named.insert(thread) {
                        // A thread with no thread_start still gets a name.
                        let name = format!("thread {thread}");
                        self.sink
                            .event(&thread_name(self.process.pid, thread, &name))?;
                    }
                }
                self.stacks.entry(thread).or_default().push(*code);
                self.sink.event(&ChromeEvent {
                    pid: self.process.pid,
                    name: &self.codes.located_name(*code),
                    cat: Some(cat),
                    ph: "B",
                    s: None,
                    tid: thread,
                    ts: Some(ts),
                    meta_name: None,
                })
            }
            Event::Return { t, .. } | Event::Yield { t, .. } | Event::Unwind { t, .. } => {
                let Some(code) = self.stacks.get_mut(&thread).and_then(Vec::pop) else {
                    return Ok(());
                };
                let exit = match event {
                    Event::Return { .. } => "return",
                    Event::Yield { .. } => "yield",
                    _ => "unwind",
                };
                let ts = self.clamp(thread, *t);
                self.sink.event(&ChromeEvent {
                    pid: self.process.pid,
                    name: &self.codes.located_name(code),
                    cat: Some(exit),
                    ph: "E",
                    s: None,
                    tid: thread,
                    ts: Some(ts),
                    meta_name: None,
                })
            }
            Event::Raise {
                t, line, exception, ..
            } => {
                let ts = self.clamp(thread, *t);
                let raised = match &**exception {
                    Slot::Value {
                        value:
                            Value::Object { type_name, .. }
                            | Value::Repr { type_name, .. }
                            | Value::ReprError { type_name, .. }
                            | Value::Deep { type_name }
                            | Value::Cycle { type_name },
                    } => format!("raise {type_name}"),
                    _ => "raise".to_string(),
                };
                // Where: the file of the activation it was raised in.
                let file = self
                    .stacks
                    .get(&thread)
                    .and_then(|stack| stack.last())
                    .and_then(|code| self.codes.filename(*code));
                let name = match file {
                    Some(file) => format!("{raised} ({}:{line})", base_name(file)),
                    None => format!("{raised} (line {line})"),
                };
                self.sink.event(&ChromeEvent {
                    pid: self.process.pid,
                    name: &name,
                    cat: Some("raise"),
                    ph: "i",
                    s: Some("t"),
                    tid: thread,
                    ts: Some(ts),
                    meta_name: None,
                })
            }
        }
    }

    /// Closes what a cut-short trace left open, innermost first, at the last
    /// timestamp, and hands back the sink.
    fn finish(mut self) -> Result<S, S::Error> {
        for thread in std::mem::take(&mut self.threads) {
            let stack = self.stacks.remove(&thread).unwrap_or_default();
            for code in stack.into_iter().rev() {
                self.sink.event(&ChromeEvent {
                    pid: self.process.pid,
                    name: &self.codes.located_name(code),
                    cat: Some("unfinished"),
                    ph: "E",
                    s: None,
                    tid: thread,
                    ts: Some(self.process.offset_ns + self.end),
                    meta_name: None,
                })?;
            }
        }
        Ok(self.sink)
    }
}

/// The `thread_name` metadata event of `thread`.
fn thread_name<'a>(pid: u32, thread: u32, name: &'a str) -> ChromeEvent<'a> {
    ChromeEvent {
        pid,
        name: "thread_name",
        cat: None,
        ph: "M",
        s: None,
        tid: thread,
        ts: None,
        meta_name: Some(name),
    }
}

/// The name of a trace's process: its `argv`, and for a child process of a
/// set how it started (`app.py (fork)`).
pub(crate) fn process_label(header: &TraceHeader) -> String {
    match &header.process {
        Some(p) if p.started != ProcessStart::Program => {
            format!("{} ({})", header.argv.join(" "), p.started.word())
        }
        _ => header.argv.join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::export::failing_sink::FailingAfter;
    use crate::trace::model::{Attr, SequenceKind};
    use crate::trace::refilter::testkit::{int, string, TraceBuilder};
    use crate::trace::stream::read_tables;
    use crate::trace::{read_trace, write_trace, TraceReader, TraceWriter};
    use crate::ValueKind;
    use std::io::Cursor;

    /// Checks B/E balance and per-thread monotonic `ts`; returns (B count, E count).
    fn check(json: &Json) -> (usize, usize) {
        let events = json["traceEvents"].as_array().expect("traceEvents");
        let mut stacks: FxHashMap<u64, Vec<String>> = FxHashMap::default();
        let mut last: FxHashMap<u64, f64> = FxHashMap::default();
        let (mut b, mut e) = (0, 0);
        for ev in events {
            assert_eq!(ev["pid"], 1);
            let tid = ev["tid"].as_u64().expect("tid");
            let ph = ev["ph"].as_str().expect("ph");
            if ph == "M" {
                continue;
            }
            let ts = ev["ts"].as_f64().expect("ts");
            let prev = last.insert(tid, ts).unwrap_or(0.0);
            assert!(ts >= prev, "ts goes back on thread {tid}: {prev} then {ts}");
            let name = ev["name"].as_str().unwrap().to_string();
            match ph {
                "B" => {
                    b += 1;
                    stacks.entry(tid).or_default().push(name);
                }
                "E" => {
                    e += 1;
                    let open = stacks.get_mut(&tid).and_then(Vec::pop);
                    assert_eq!(open.as_deref(), Some(name.as_str()), "E matches its B");
                }
                "i" => assert_eq!(ev["s"], "t"),
                other => panic!("unexpected phase {other}"),
            }
        }
        assert!(stacks.values().all(Vec::is_empty), "every B is closed");
        (b, e)
    }

    fn sample() -> TraceBuilder {
        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        let g = b.code("/p/app/m.py", "gen", 9, Some("app.m"));
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        b.thread(1, "worker");
        b.call(1, f, &[("n", int(1))]);
        b.call(0, g, &[]);
        b.yield_(0, int(1));
        b.raise(
            1,
            4,
            Slot::Value {
                value: Value::Object {
                    type_name: "ValueError".into(),
                    attrs: vec![Attr {
                        name: "args".into(),
                        value: int(1),
                    }],
                    length: 1,
                },
            },
        );
        b.unwind(1, Slot::Redacted);
        b.resume(0, g);
        b.ret(0, int(2));
        b
    }

    #[test]
    fn complete_trace_is_balanced_and_monotonic() {
        let mut b = sample();
        b.ret(0, int(0));
        let text = to_chrome(&b.finish());
        let json: Json = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(check(&json), (4, 4));
        let events = json["traceEvents"].as_array().unwrap();
        let thread_names: Vec<&str> = events
            .iter()
            .filter(|e| e["name"] == "thread_name")
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(thread_names, ["MainThread", "worker"]);
        let first_call = events.iter().find(|e| e["ph"] == "B").unwrap();
        assert_eq!(first_call["name"], "<app.m> (m.py:1)");
        assert_eq!(first_call["ts"], 1.0, "1000 ns is 1 µs");
        let raise = events.iter().find(|e| e["ph"] == "i").unwrap();
        assert_eq!(raise["name"], "raise ValueError (m.py:4)");
        assert_eq!(raise["tid"], 1);
        let resume = events.iter().find(|e| e["cat"] == "resume").unwrap();
        assert_eq!(resume["name"], "gen (m.py:9)");
        // No per-call data: only metadata events have args.
        for event in events {
            assert_eq!(event["ph"] == "M", event.get("args").is_some(), "{event}");
        }
        let exits: Vec<&str> = events
            .iter()
            .filter(|e| e["ph"] == "E")
            .map(|e| e["cat"].as_str().unwrap())
            .collect();
        assert_eq!(exits, ["yield", "unwind", "return", "return"]);
    }

    #[test]
    fn truncated_trace_is_closed_at_the_last_timestamp() {
        let mut b = sample();
        // Thread 1 calls again and never returns; main never returns either.
        let f = 1;
        b.call(1, f, &[]);
        b.call(1, f, &[]);
        let mut trace = b.truncated();
        // A damaged timestamp: earlier than the previous event on its thread.
        if let Some(Event::Call { t, .. }) = trace.events.last_mut() {
            *t = 1;
        }
        let json = to_chrome_json(&trace);
        assert_eq!(check(&json), (6, 6));
        let events = json["traceEvents"].as_array().unwrap();
        let unfinished: Vec<&Json> = events.iter().filter(|e| e["cat"] == "unfinished").collect();
        assert_eq!(unfinished.len(), 3);
        let last_ts = micros(trace.events.iter().map(Event::time).max().unwrap());
        assert!(unfinished.iter().all(|e| e["ts"] == last_ts));
    }

    #[test]
    fn exits_without_a_call_are_left_out() {
        let mut b = TraceBuilder::new();
        b.thread(0, "MainThread");
        b.ret(0, int(1));
        let json = to_chrome_json(&b.finish());
        assert_eq!(check(&json), (0, 0));
    }

    #[test]
    fn a_thread_without_a_start_is_named_before_its_first_slice() {
        let mut b = TraceBuilder::new();
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        b.thread(0, "MainThread");
        b.call(0, f, &[]);
        b.call(5, f, &[]);
        b.ret(5, int(0));
        b.ret(0, int(0));
        let trace = b.finish();
        let json = to_chrome_json(&trace);
        let events = json["traceEvents"].as_array().unwrap();
        let names: Vec<(u64, &str)> = events
            .iter()
            .filter(|e| e["name"] == "thread_name")
            .map(|e| {
                (
                    e["tid"].as_u64().unwrap(),
                    e["args"]["name"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(names, [(0, "MainThread"), (5, "thread 5")]);
        let first_on_5 = events.iter().position(|e| e["tid"] == 5).unwrap();
        assert_eq!(events[first_on_5]["name"], "thread_name");
        assert_identical(&trace, None);
    }

    // Streaming, and the bytes of the reviewed export.

    /// `write_chrome` of the file of `trace` (tables, then events, each read
    /// from the bytes), and `to_chrome` of the trace read back whole.
    fn streamed_and_read(bytes: &[u8]) -> (String, String) {
        let read = read_trace(bytes).expect("reads").trace;
        let tables = read_tables(Cursor::new(bytes)).expect("reads the tables");
        let events = EventStream::open(Cursor::new(bytes)).expect("opens");
        let mut out = Vec::new();
        write_chrome(&tables, events, &mut out).expect("writes");
        let streamed = String::from_utf8(out).expect("UTF-8");
        (streamed, to_chrome(&read))
    }

    /// The file of `trace` written in chunks of about `chunk_bytes`.
    fn in_chunks(trace: &Trace, chunk_bytes: usize) -> Vec<u8> {
        let mut writer =
            TraceWriter::with_chunk_bytes(Vec::new(), &trace.header, chunk_bytes).expect("header");
        writer.tables(trace).expect("tables");
        for event in &trace.events {
            writer.event(event).expect("event");
        }
        match &trace.trailer {
            Some(trailer) => writer.finish(trailer).expect("trailer"),
            None => writer.into_inner().expect("flushed"),
        }
    }

    /// Checks `text` against the reviewed export of the trace named `name`
    /// (`engine/tests/golden/chrome/NAME.json`; first written by the
    /// in-memory export of the commit before streaming, rewritten when the
    /// names became readable). With `TRACESIEVE_BLESS=1` in the
    /// environment, writes `text` there instead.
    fn assert_golden(name: &str, text: &str) {
        let path = format!(
            "{}/tests/golden/chrome/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        if std::env::var_os("TRACESIEVE_BLESS").is_some_and(|v| v == "1") {
            std::fs::write(&path, text).expect("writes the golden file");
            return;
        }
        let golden = std::fs::read_to_string(&path).expect("a golden file");
        assert!(text == golden, "{name}: differs from {path}");
    }

    /// The streamed export equals the in-memory one byte for byte, which
    /// equals serde_json's text of `to_chrome_json` and, with a `golden`
    /// name, the reviewed export ([`assert_golden`]).
    fn assert_identical(trace: &Trace, golden_name: Option<&str>) {
        let bytes = write_trace(trace);
        let (streamed, read) = streamed_and_read(&bytes);
        assert_eq!(streamed, read, "streamed vs. read whole");
        let read_back = read_trace(&bytes).expect("reads").trace;
        let value = serde_json::to_string(&to_chrome_json(&read_back)).expect("serialises");
        assert_eq!(read, value, "to_chrome vs. to_chrome_json");
        if let Some(name) = golden_name {
            assert_golden(name, &read);
        }
        serde_json::from_str::<Json>(&streamed).expect("valid JSON");
    }

    fn exception(type_name: &str) -> Slot {
        Slot::Value {
            value: Value::Object {
                type_name: type_name.into(),
                attrs: vec![Attr {
                    name: "args".into(),
                    value: string("bad \"input\"\n"),
                }],
                length: 1,
            },
        }
    }

    /// Values of every kind, names that need escaping, a generator thrown into.
    fn with_values() -> TraceBuilder {
        let mut b = TraceBuilder::new();
        b.trace.header.argv = vec![
            "app \"quoted\".py".into(),
            "naïve\\path".into(),
            "\u{1}".into(),
        ];
        b.trace.header.python = "3.13.1 (main)\n[GCC]".into();
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let f = b.code("/p/app/ünï.py", "Outer.<locals>.f\"q\"", 3, None);
        let g = b.code("/p/app/m.py", "gen", 9, Some("app.m"));
        b.thread(0, "Main \"Thread\"\t✓");
        b.call(0, main, &[]);
        b.line(0, 1, &[(ValueKind::Global, "X", string("x"))]);
        let list = Slot::Value {
            value: Value::Sequence {
                kind: SequenceKind::Tuple,
                items: vec![Value::Float { value: 2.5 }, Value::None],
                length: 3,
            },
        };
        b.call(
            0,
            f,
            &[("a", list), ("b", Slot::Redacted), ("c", string("ü"))],
        );
        b.line(0, 4, &[(ValueKind::Local, "y", int(2))]);
        b.raise(0, 4, exception("KeyError"));
        b.raise(
            0,
            5,
            Slot::Value {
                value: Value::Repr {
                    type_name: "mod.Err".into(),
                    text: "Err()".into(),
                    length: 5,
                },
            },
        );
        b.raise(0, 6, Slot::Redacted);
        b.unwind(0, exception("KeyError"));
        b.call(0, g, &[]);
        b.yield_(0, int(1));
        b.throw(0, g, exception("GeneratorExit"));
        b.raise(
            0,
            10,
            Slot::Value {
                value: Value::Cycle {
                    type_name: "Node".into(),
                },
            },
        );
        b.unwind(0, Slot::Dropped);
        b.ret(0, Slot::Absent);
        b
    }

    #[test]
    fn streamed_export_is_byte_for_byte_the_in_memory_one() {
        let mut complete = sample();
        complete.ret(0, int(0));
        assert_identical(&complete.finish(), Some("complete"));
        // Cut short: frames open on two threads, closed at the end.
        let mut open = sample();
        open.call(1, 1, &[]);
        open.call(1, 1, &[]);
        assert_identical(&open.truncated(), Some("cut-short"));
        assert_identical(&with_values().finish(), Some("values"));
        assert_identical(&with_values().truncated(), Some("values-cut-short"));
        // Empty: no events, then no codes either.
        let mut no_events = TraceBuilder::new();
        no_events.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        assert_identical(&no_events.finish(), Some("no-events"));
        assert_identical(&TraceBuilder::new().finish(), Some("empty"));
        assert_identical(&TraceBuilder::new().truncated(), Some("empty-cut-short"));
    }

    #[test]
    fn damaged_timestamps_and_stray_exits_stream_identically() {
        let mut b = sample();
        b.ret(1, int(0));
        b.ret(1, int(0));
        b.call(1, 1, &[]);
        let mut trace = b.truncated();
        if let Some(Event::Call { t, .. }) = trace.events.last_mut() {
            *t = 1;
        }
        assert_identical(&trace, Some("damaged"));
    }

    #[test]
    fn a_long_trace_over_many_chunks_streams_identically() {
        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        let g = b.code("/p/app/m.py", "gen", 9, Some("app.m"));
        for thread in 0..3 {
            b.thread(thread, &format!("T{thread}"));
            b.call(thread, main, &[]);
        }
        for i in 0..6_000 {
            let thread = i % 3;
            b.call(
                thread,
                f,
                &[("i", int(i64::from(i))), ("s", string("some text"))],
            );
            b.line(thread, 4, &[(ValueKind::Local, "y", int(2))]);
            if i % 7 == 0 {
                b.raise(thread, 4, exception("ValueError"));
                b.unwind(thread, exception("ValueError"));
            } else {
                b.call(thread, g, &[]);
                b.yield_(thread, int(1));
                b.ret(thread, int(i64::from(i)));
            }
        }
        let trace = b.truncated();
        assert_identical(&trace, None);
        let bytes = in_chunks(&trace, 4 << 10);
        let mut reader = TraceReader::new();
        reader.push(&bytes).expect("reads");
        let chunks = reader.progress().chunks;
        assert!(chunks > 50, "{chunks} chunks");
        let (streamed, read) = streamed_and_read(&bytes);
        assert_eq!(streamed, read);
    }

    #[test]
    fn a_file_cut_anywhere_streams_identically() {
        let mut b = with_values();
        for _ in 0..200 {
            b.call(0, 1, &[("s", string("padding padding padding"))]);
        }
        let bytes = in_chunks(&b.finish(), 256);
        let step = bytes.len() / 41 + 1;
        let mut compared = 0;
        for len in (0..=bytes.len()).step_by(step) {
            let cut = bytes.get(..len).expect("in range");
            if read_trace(cut).is_err() {
                assert!(
                    EventStream::open(Cursor::new(cut)).is_err()
                        || read_tables(Cursor::new(cut)).is_err()
                );
                continue;
            }
            let (streamed, read) = streamed_and_read(cut);
            assert_eq!(streamed, read, "cut at {len} of {}", bytes.len());
            compared += 1;
        }
        assert!(compared > 20, "{compared} cuts compared");
    }

    /// The sample with its codes numbered 5, 2 and 7 (table order), so that
    /// no id is its position.
    fn renumbered() -> Trace {
        let mut b = sample();
        b.ret(0, int(0));
        let mut trace = b.finish();
        let ids = [5, 2, 7];
        for (code, id) in trace.codes.iter_mut().zip(ids) {
            code.id = id;
        }
        for event in &mut trace.events {
            if let Event::Call { code, .. }
            | Event::Resume { code, .. }
            | Event::Throw { code, .. } = event
            {
                *code = ids[*code as usize];
            }
        }
        trace
    }

    #[test]
    fn codes_are_looked_up_by_id_not_by_position() {
        let trace = renumbered();
        let text = to_chrome(&trace);
        let json: Json = serde_json::from_str(&text).expect("valid JSON");
        let begins: Vec<&str> = json["traceEvents"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["ph"] == "B")
            .map(|e| e["name"].as_str().expect("name"))
            .collect();
        assert_eq!(
            begins,
            [
                "<app.m> (m.py:1)",
                "f (m.py:3)",
                "gen (m.py:9)",
                "gen (m.py:9)"
            ]
        );
        assert_eq!(check(&json), (4, 4));
        // Renumbering the codes changes nothing in the export.
        let mut dense = sample();
        dense.ret(0, int(0));
        assert_eq!(text, to_chrome(&dense.finish()));
        assert_identical(&trace, None);
    }

    #[test]
    fn a_code_missing_from_the_table_is_named_by_its_id() {
        let mut trace = renumbered();
        // Id 0 is a position, not an id, of this table.
        trace.events.push(Event::Call {
            thread: 0,
            t: 99_000,
            code: 0,
            args: Vec::new(),
        });
        let json = to_chrome_json(&trace);
        let events = json["traceEvents"].as_array().expect("events");
        let unknown: Vec<&Json> = events.iter().filter(|e| e["name"] == "<code 0>").collect();
        assert_eq!(unknown.len(), 2, "its begin, and its end at the end");
        assert_eq!(unknown[0].get("args"), None);
        assert_eq!(unknown[1]["cat"], "unfinished");
    }

    #[test]
    fn thread_names_stream_in_first_start_order() {
        // Hand-made: thread 1 starts before thread 0, and thread 0 twice.
        let mut b = TraceBuilder::new();
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        b.thread(1, "second");
        b.call(1, f, &[]);
        b.thread(0, "first");
        b.call(0, f, &[]);
        b.thread(0, "renamed");
        b.ret(0, int(0));
        b.ret(1, int(0));
        let trace = b.finish();
        let bytes = write_trace(&trace);
        let (streamed, read) = streamed_and_read(&bytes);
        let names = |text: &str| -> Vec<(u64, String)> {
            let json: Json = serde_json::from_str(text).expect("valid JSON");
            json["traceEvents"]
                .as_array()
                .expect("events")
                .iter()
                .filter(|e| e["name"] == "thread_name")
                .map(|e| {
                    (
                        e["tid"].as_u64().expect("tid"),
                        e["args"]["name"].to_string(),
                    )
                })
                .collect()
        };
        let quoted = |s: &str| format!("\"{s}\"");
        assert_eq!(
            names(&read),
            [
                (1, quoted("second")),
                (0, quoted("first")),
                (0, quoted("renamed"))
            ]
        );
        assert_eq!(
            names(&streamed),
            [(1, quoted("second")), (0, quoted("first"))]
        );
        // Nothing else differs.
        let others = |text: &str| -> Vec<Json> {
            let json: Json = serde_json::from_str(text).expect("valid JSON");
            json["traceEvents"]
                .as_array()
                .expect("events")
                .iter()
                .filter(|e| e["name"] != "thread_name")
                .cloned()
                .collect()
        };
        assert_eq!(others(&streamed), others(&read));
        assert_golden("thread-starts", &to_chrome(&trace));
    }

    #[test]
    fn a_set_puts_each_process_under_its_pid_on_the_first_ones_clock() {
        let mut first = sample();
        first.ret(0, int(0));
        let first = first.finish();
        let mut child = sample();
        child.ret(0, int(0));
        let mut child = child.finish();
        child.header.start_unix_ms = first.header.start_unix_ms + 5;
        child.header.process = Some(crate::trace::ProcessInfo {
            pid: 4242,
            parent: 4241,
            started: crate::trace::ProcessStart::Fork,
        });
        let (first_bytes, child_bytes) = (write_trace(&first), write_trace(&child));
        let open = |bytes: &[u8]| {
            let bytes = bytes.to_vec();
            (
                read_tables(Cursor::new(bytes.clone())).expect("tables"),
                EventStream::open(Cursor::new(bytes)).expect("events"),
            )
        };
        let (tables, events) = open(&first_bytes);
        let mut rest = vec![Ok(open(&child_bytes))].into_iter();
        let mut out = Vec::new();
        write_chrome_set((&tables, events), || rest.next(), &mut out).expect("writes");
        let json: Json = serde_json::from_slice(&out).expect("valid JSON");
        let events = json["traceEvents"].as_array().unwrap();
        let of = |pid: u32| -> Vec<&Json> { events.iter().filter(|e| e["pid"] == pid).collect() };
        let (one, other) = (of(1), of(4242));
        assert_eq!(one.len() + other.len(), events.len());
        assert_eq!(one.len(), other.len(), "the same program twice");
        // The child's calls are 5 ms later on the common clock.
        let begins = |e: &[&Json]| -> Vec<f64> {
            e.iter()
                .filter(|e| e["ph"] == "B")
                .map(|e| e["ts"].as_f64().unwrap())
                .collect()
        };
        let shifted: Vec<f64> = begins(&one).iter().map(|ts| ts + 5000.0).collect();
        assert_eq!(begins(&other), shifted);
        // A set of one trace is write_chrome's bytes.
        let (tables, events) = open(&first_bytes);
        let mut alone = Vec::new();
        write_chrome_set((&tables, events), || None, &mut alone).expect("writes");
        let (streamed, _) = streamed_and_read(&first_bytes);
        assert_eq!(String::from_utf8(alone).unwrap(), streamed);
    }

    #[test]
    fn write_errors_are_io_errors() {
        let bytes = write_trace(&with_values().finish());
        let full = streamed_and_read(&bytes).0.len();
        for left in [0, 10, full / 2, full - 1] {
            let tables = read_tables(Cursor::new(&bytes)).expect("tables");
            let events = EventStream::open(Cursor::new(&bytes)).expect("opens");
            let result = write_chrome(&tables, events, FailingAfter { left });
            assert!(
                matches!(result, Err(ReadError::Io(_))),
                "{left}: {result:?}"
            );
        }
        let tables = read_tables(Cursor::new(&bytes)).expect("tables");
        let events = EventStream::open(Cursor::new(&bytes)).expect("opens");
        write_chrome(&tables, events, FailingAfter { left: full }).expect("just fits");
    }
}
