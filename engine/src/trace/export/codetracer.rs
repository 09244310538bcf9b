//! CodeTracer's JSON trace folder: `trace.json`, `trace_metadata.json` and
//! `trace_paths.json`, as read by CodeTracer's `codetracer_trace_types`
//! (0.16) and `runtime_tracing` (0.15) JSON readers.
//!
//! [`write_codetracer`] streams it: it writes `trace.json` event by event
//! from an [`EventStream`], with everything written before the events taken
//! from the trace's tables, and returns the two small files; memory does not
//! grow with the number of events. [`to_codetracer`] builds the same bytes
//! in memory from a whole [`Trace`], through the same code.
//!
//! # `trace.json`
//!
//! A JSON array of `TraceLowLevelEvent` records in serde's externally
//! tagged form (`{"Variant": payload}`), one per line. Ids are implicit:
//! the n-th `Path`, `Function`, `Type` and `VariableName` record has id n.
//!
//! * Start: `Path` (the program), `Function {path_id, line: 1, name:
//!   "<toplevel>"}`, `Call {function_id: 0, args: []}`, then one `Path` (per
//!   new file) and one `Function` per code object, in code-table order, so
//!   that **function id = the code's position in the table + 1** (code ids
//!   are ids, not positions: events find their code by id). Each code gets
//!   its own function id
//!   (CodeTracer's own writers merge functions by name; this export does
//!   not, so same-named functions of different modules stay apart).
//!   `Function.name` is the code's label under the recording's naming mode:
//!   `<pkg.mod>` for module bodies (as CodeTracer's Python recorder names
//!   them), else the qualname; `line` is the first line.
//! * `call`: a `Value` per recorded argument, a `Step` to the function's
//!   first line, then `Call {function_id, args}` with the same values
//!   (as CodeTracer's `register_call`). `resume`: `Step` + `Call` with no
//!   arguments (every resumption is a new call, as in CodeTracer). `throw`:
//!   the same with one argument named `exception`.
//! * `line`: `Step {path_id, line}` followed by a `Value` for **every**
//!   variable of the frame known so far (CodeTracer expects the full state
//!   at each step; tracesieve records only changes, so the exporter keeps
//!   each frame's bindings, seeded with its arguments). After a `resume`,
//!   the frame starts with no bindings: the trace cannot tell generator
//!   instances of the same code apart.
//! * `return`, `yield`, `unwind`: `Return {return_value}`.
//! * `raise`: `Event {kind: 11 (Error), metadata, content}`, where
//!   `metadata` is a JSON string `{"event":"raise","thread","path_id","line"}`
//!   and `content` the exception rendered as text (CodeTracer's Python
//!   recorder does not record raises).
//! * Threads: with more than one thread ([`write_codetracer`]: more than
//!   one thread with a `thread_start`), each `thread_start` becomes
//!   `ThreadStart(n)` and a change of thread `ThreadSwitch(n)` (n = the
//!   trace's thread number); a single-threaded trace has neither, like
//!   CodeTracer's Python recorder's output.
//! * End: activations a cut-short trace left open are closed with
//!   `Return <unfinished>` (innermost first), then `<toplevel>` returns the
//!   exit status as an `Int` (`None` when unknown).
//! * `Type` and `VariableName` records come just before their first use.
//!   Variable names are global to the trace, as in CodeTracer.
//!
//! # Values
//!
//! `ValueRecord`s carry a `type_id`; types are interned by (kind,
//! `lang_type`, fields). Type names follow CodeTracer's Python recorder
//! where it has one (`Int`, `String`, `Bool`, `None`, `List`, `Tuple`,
//! `Dict`, `Redacted`, `Dropped`, `Cycle`).
//!
//! | tracesieve | CodeTracer `ValueRecord` (type `lang_type`, `TypeKind`) |
//! |---|---|
//! | `none` | `None` (`None`, 30) |
//! | `bool` | `Bool {b}` (`Bool`, 12) |
//! | `int` | `Int {i}` (`Int`, 7) |
//! | `big_int` | `Raw {r: digits}` (`BigInt`, 16 Raw) |
//! | `float` | `Raw {r: "2.5"}` (`Float`, 16): CodeTracer 0.16 readers want `Float.f` as a string and 0.15 readers as a number, so neither is written |
//! | `str` | `String {text}` (`String`, 9); a cut string ends with `…` |
//! | `bytes` | `Raw {r: "b'…'"}` (`Bytes`, 16) |
//! | `list` | `Sequence {elements, is_slice: false}` (`List`, 0 Seq) |
//! | `tuple` | `Tuple {elements}` (`Tuple`, 27) |
//! | `set`, `frozenset` | `Sequence` (`Set` / `FrozenSet`, 1 Set) |
//! | `dict` | `Sequence` of 2-element `Tuple`s (`Dict`, 0), as CodeTracer's Python recorder |
//! | `object` | `Struct {field_values}` with a type (`type_name`, 6 Struct) whose `specific_info` lists the fields `{name, type_id}` |
//! | `repr` | `Raw {r: text}` (`type_name`, 16) |
//! | `repr_error` | `Error {msg: "<unrepr>"}` (`type_name`, 16) |
//! | `deep` | `Raw {r: "<depth limit>"}` (`type_name`, 16) |
//! | `cycle` | `Error {msg: "<cycle>"}` (`Cycle`, 16) |
//! | redacted | `Error {msg: "<redacted>"}` (`Redacted`, 16), exactly as CodeTracer |
//! | dropped (returns) | `Error {msg: "<dropped>"}` (`Dropped`, 16), exactly as CodeTracer |
//! | absent | left out; where a value is required (returns), `Error {msg: "<absent>"}` (`Absent`, 16) |
//!
//! A container cut at the recording's bounds gets one extra last element
//! `Error {msg: "<N more>"}` (`Truncated`, 16).
//!
//! # `trace_metadata.json`
//!
//! `{"workdir", "program", "args"}` as CodeTracer reads them, a
//! `recording_id` (a UUIDv7 built from the start time and a hash of the
//! header, so the same trace always gives the same id), and the extra keys
//! CodeTracer's Python recorder writes: `recorder`, `process_exit_status`
//! and `trace_filter` (`filters` with name, path, sha256 and version;
//! `stats` with `scopes_skipped`, `value_redactions` and `value_drops` per
//! `argument`/`local`/`global`/`return`/`attribute`). A `tracesieve` key
//! adds the naming mode, the threads (each once, with the name of its first
//! `thread_start`, in order) and, per code, its function id, id, file,
//! qualname, module name and label. Readers ignore unknown keys.
//!
//! # `trace_paths.json`
//!
//! The `Path` records' strings, in id order.

use super::{bytes_literal, float_text, recorded_labels, render_slot};
use crate::path;
use crate::trace::model::{Event, SequenceKind, Slot, Trace, Value, Var};
use crate::trace::refilter::Relabel;
use crate::trace::stream::{EventStream, ReadError, Tables};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::io::{self, Read, Write};

/// The three files of a CodeTracer JSON trace folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeTracerFolder {
    /// `trace.json`: the event array.
    pub trace_json: String,
    /// `trace_metadata.json`.
    pub metadata_json: String,
    /// `trace_paths.json`.
    pub paths_json: String,
}

/// The two small files of a CodeTracer JSON trace folder, which
/// [`write_codetracer`] returns once it has written `trace.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeTracerSideFiles {
    /// `trace_metadata.json`.
    pub metadata_json: String,
    /// `trace_paths.json`.
    pub paths_json: String,
}

/// `trace` as a CodeTracer JSON trace folder (see the module docs), in
/// memory. [`write_codetracer`] writes the same bytes from a stream.
pub fn to_codetracer(trace: &Trace) -> CodeTracerFolder {
    let multi = {
        let mut threads = trace.events.iter().map(Event::thread);
        let first = threads.next();
        threads.any(|t| Some(t) != first)
    };
    let mut export = Export::start(trace, multi, Vec::new());
    for event in &trace.events {
        export.event(event);
    }
    // Writing into a `Vec` cannot fail, and serde_json writes UTF-8.
    let (bytes, side) = export.finish().unwrap_or_default();
    let trace_json = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    CodeTracerFolder {
        trace_json,
        metadata_json: side.metadata_json,
        paths_json: side.paths_json,
    }
}

/// Streams a trace as a CodeTracer JSON trace folder: writes `trace.json`
/// to `trace_json` event by event, and returns the two small files. The
/// bytes are those of [`to_codetracer`] on the same trace read whole.
///
/// `tables` comes from [`crate::trace::stream::read_tables`] over the same
/// file (everything written before the events needs only them), `events`
/// from [`EventStream::open`]. Memory stays bounded by the tables, the open
/// frames and the types and variable names met, whatever the number of
/// events. Write errors come back as [`ReadError::Io`]; `trace_json` is
/// flushed at the end.
///
pub fn write_codetracer<R: Read, W: Write>(
    tables: &Tables,
    mut events: EventStream<R>,
    trace_json: W,
) -> Result<CodeTracerSideFiles, ReadError> {
    let multi = tables.threads > 1;
    let mut export = Export::start(&tables.trace, multi, trace_json);
    export.check()?;
    while let Some(event) = events.next_event()? {
        export.event(&event);
        export.check()?;
    }
    events.finish()?;
    let (_, side) = export.finish()?;
    Ok(side)
}

/// The export of one trace, fed its events one at a time: what
/// [`to_codetracer`] and [`write_codetracer`] share. `trace` gives the
/// tables only; its `events` are never looked at.
struct Export<'t, W> {
    trace: &'t Trace,
    labels: Vec<Relabel>,
    program: String,
    program_id: usize,
    /// Code id to position in `trace.codes` (ids need not be dense).
    code_at: FxHashMap<u32, usize>,
    /// Each code's path id, by position in `trace.codes`.
    code_paths: Vec<usize>,
    /// More than one thread: write `ThreadStart` and `ThreadSwitch`.
    multi: bool,
    current: Option<u32>,
    stacks: FxHashMap<u32, Vec<Frame>>,
    /// Threads in order of their first event other than `thread_start`.
    thread_order: Vec<u32>,
    /// Each thread's number and name, from its first `thread_start`, in
    /// order (for the metadata).
    threads: Vec<(u32, String)>,
    /// The threads in `threads`.
    named: FxHashSet<u32>,
    w: Writer<W>,
}

impl<'t, W: Write> Export<'t, W> {
    /// Writes the start: `[`, the program's path, `<toplevel>` and its
    /// call, then each code's path and function.
    fn start(trace: &'t Trace, multi: bool, out: W) -> Export<'t, W> {
        let labels = recorded_labels(trace);
        let mut w = Writer::new(out);
        let program = program_path(trace);
        let program_id = w.path(&program);
        w.emit(&Record::Function(FunctionRecord {
            path_id: program_id,
            line: 1,
            name: "<toplevel>".into(),
        }));
        w.emit(&Record::Call(CallRecord {
            function_id: 0,
            args: Vec::new(),
        }));
        // One function per code: function id = code position + 1.
        let mut code_at = FxHashMap::default();
        let mut code_paths = Vec::with_capacity(trace.codes.len());
        for (i, code) in trace.codes.iter().enumerate() {
            code_at.entry(code.id).or_insert(i);
            let path_id = w.path(&code.filename);
            code_paths.push(path_id);
            w.emit(&Record::Function(FunctionRecord {
                path_id,
                line: i64::from(code.first_line),
                name: labels
                    .get(i)
                    .map_or_else(|| code.qualname.clone(), |l| l.label.clone()),
            }));
        }
        Export {
            trace,
            labels,
            program,
            program_id,
            code_at,
            code_paths,
            multi,
            current: None,
            stacks: FxHashMap::default(),
            thread_order: Vec::new(),
            threads: Vec::new(),
            named: FxHashSet::default(),
            w,
        }
    }

    /// The first write error, if any (and forgets it).
    fn check(&mut self) -> io::Result<()> {
        match self.w.failed.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// The position in `trace.codes` of the code with id `code`.
    fn code_index(&self, code: u32) -> Option<usize> {
        self.code_at.get(&code).copied()
    }

    /// The path id of the code at `index`, else `fallback`.
    fn code_path(&self, index: Option<usize>, fallback: usize) -> usize {
        index
            .and_then(|i| self.code_paths.get(i).copied())
            .unwrap_or(fallback)
    }

    /// A new frame of code `code`, with its arguments: the argument
    /// `Value`s, a `Step` to the function's first line, then `Call`.
    fn enter(&mut self, thread: u32, code: u32, args: &[Var]) {
        let index = self.code_index(code);
        let mut frame = Frame::new(index);
        let args = self.w.args(&mut frame, args);
        let line = index
            .and_then(|i| self.trace.codes.get(i))
            .map_or(1, |c| i64::from(c.first_line));
        let path_id = self.code_path(index, 0);
        self.w.emit(&Record::Step(StepRecord { path_id, line }));
        let function_id = index.map_or(0, |i| i + 1);
        self.w.emit(&Record::Call(CallRecord { function_id, args }));
        self.stacks.entry(thread).or_default().push(frame);
    }

    /// Writes the records of one event.
    fn event(&mut self, event: &Event) {
        let thread = event.thread();
        if let Event::ThreadStart { name, .. } = event {
            if self.multi {
                self.w.emit(&Record::ThreadStart(u64::from(thread)));
            }
            if self.named.insert(thread) {
                self.threads.push((thread, name.clone()));
            }
            return;
        }
        if self.multi && self.current != Some(thread) {
            if self.current.is_some() {
                self.w.emit(&Record::ThreadSwitch(u64::from(thread)));
            }
            self.current = Some(thread);
        }
        if !self.stacks.contains_key(&thread) {
            self.thread_order.push(thread);
            self.stacks.insert(thread, Vec::new());
        }
        match event {
            Event::ThreadStart { .. } => {}
            Event::Call { code, args, .. } => self.enter(thread, *code, args),
            Event::Resume { code, .. } => self.enter(thread, *code, &[]),
            Event::Throw {
                code, exception, ..
            } => {
                let var = Var {
                    kind: crate::ValueKind::Arg,
                    name: "exception".into(),
                    value: (**exception).clone(),
                };
                self.enter(thread, *code, std::slice::from_ref(&var));
            }
            Event::Line { line, vars, .. } => {
                let Some(frame) = self.stacks.get_mut(&thread).and_then(|s| s.last_mut()) else {
                    return;
                };
                let path_id = frame
                    .code
                    .and_then(|i| self.code_paths.get(i).copied())
                    .unwrap_or(self.program_id);
                let w = &mut self.w;
                w.emit(&Record::Step(StepRecord {
                    path_id,
                    line: i64::from(*line),
                }));
                for var in vars {
                    if let Some(value) = w.slot(&var.value) {
                        let id = w.var(&var.name);
                        frame.bind(id, value);
                    }
                }
                for (variable_id, value) in &frame.bindings {
                    w.emit(&Record::Value(ValueRef {
                        variable_id: *variable_id,
                        value,
                    }));
                }
            }
            Event::Return { value, .. }
            | Event::Yield { value, .. }
            | Event::Unwind { value, .. } => {
                let popped = self.stacks.get_mut(&thread).and_then(Vec::pop);
                if popped.is_none() {
                    return;
                }
                let return_value = self.w.required(value);
                self.w.emit(&Record::Return(ReturnRecord { return_value }));
            }
            Event::Raise {
                line, exception, ..
            } => {
                let top = self
                    .stacks
                    .get(&thread)
                    .and_then(|s| s.last())
                    .map(|f| f.code);
                let path_id = match top {
                    Some(code) => self.code_path(code, self.program_id),
                    None => self.program_id,
                };
                let metadata = json!({
                    "event": "raise",
                    "thread": thread,
                    "path_id": path_id,
                    "line": line,
                });
                self.w.emit(&Record::Event(EventRecord {
                    kind: EVENT_ERROR,
                    metadata: metadata.to_string(),
                    content: render_slot(exception),
                }));
            }
        }
    }

    /// Closes what a cut-short trace left open, then `<toplevel>`, writes
    /// the closing `]` and flushes; returns the output and the small files.
    fn finish(mut self) -> io::Result<(W, CodeTracerSideFiles)> {
        for &thread in &self.thread_order {
            let open = self.stacks.get(&thread).map_or(0, Vec::len);
            if open == 0 {
                continue;
            }
            if self.multi && self.current != Some(thread) {
                self.w.emit(&Record::ThreadSwitch(u64::from(thread)));
                self.current = Some(thread);
            }
            for _ in 0..open {
                let return_value = self.w.error("<unfinished>", "Unfinished");
                self.w.emit(&Record::Return(ReturnRecord { return_value }));
            }
        }
        if let (true, Some(&first)) = (self.multi, self.thread_order.first()) {
            if self.current != Some(first) {
                self.w.emit(&Record::ThreadSwitch(u64::from(first)));
            }
        }
        let exit = self.trace.trailer.as_ref().and_then(|t| t.exit_status);
        let return_value = match exit {
            Some(code) => ValueRecord::Int {
                i: i64::from(code),
                type_id: self.w.ty(KIND_INT, "Int", SpecificInfo::None),
            },
            None => ValueRecord::None {
                type_id: self.w.ty(KIND_NONE, "None", SpecificInfo::None),
            },
        };
        self.w.emit(&Record::Return(ReturnRecord { return_value }));
        self.check()?;
        self.w.out.write_all(b"\n]\n")?;
        self.w.out.flush()?;
        let side = CodeTracerSideFiles {
            metadata_json: metadata(self.trace, &self.program, &self.labels, &self.threads),
            paths_json: serde_json::to_string(&self.w.paths).unwrap_or_default(),
        };
        Ok((self.w.out, side))
    }
}

/// `EventLogKind::Error`.
const EVENT_ERROR: u8 = 11;
/// `TypeKind` numbers used here.
const KIND_SEQ: u8 = 0;
const KIND_SET: u8 = 1;
const KIND_STRUCT: u8 = 6;
const KIND_INT: u8 = 7;
const KIND_STRING: u8 = 9;
const KIND_BOOL: u8 = 12;
const KIND_RAW: u8 = 16;
const KIND_TUPLE: u8 = 27;
const KIND_NONE: u8 = 30;

/// The program's absolute path: `argv[0]` (joined to the working directory
/// when relative), else the first code's file.
fn program_path(trace: &Trace) -> String {
    let h = &trace.header;
    match h
        .argv
        .first()
        .filter(|a| !a.is_empty() && !a.starts_with('-'))
    {
        Some(arg) if path::is_absolute(&path::to_posix(arg, h.platform), h.platform) => arg.clone(),
        Some(arg) if !h.cwd.is_empty() => {
            let sep = if h.platform == crate::Platform::Windows && h.cwd.contains('\\') {
                '\\'
            } else {
                '/'
            };
            format!("{}{sep}{arg}", h.cwd.trim_end_matches(['/', '\\']))
        }
        Some(arg) => arg.clone(),
        None => trace
            .codes
            .first()
            .map(|c| c.filename.clone())
            .unwrap_or_default(),
    }
}

/// One traced activation: its code (by position in the code table) and the
/// variables known so far.
struct Frame {
    code: Option<usize>,
    bindings: Vec<(usize, ValueRecord)>,
    index: FxHashMap<usize, usize>,
}

impl Frame {
    fn new(code: Option<usize>) -> Frame {
        Frame {
            code,
            bindings: Vec::new(),
            index: FxHashMap::default(),
        }
    }

    fn bind(&mut self, id: usize, value: ValueRecord) {
        match self.index.get(&id) {
            Some(&at) => self.bindings[at].1 = value,
            None => {
                self.index.insert(id, self.bindings.len());
                self.bindings.push((id, value));
            }
        }
    }
}

/// Writes the records of `trace.json` as they come, interning paths, types
/// and variable names on first use. A write error stops all writing and is
/// kept in `failed` until [`Export::check`] takes it.
struct Writer<W> {
    out: W,
    failed: Option<io::Error>,
    /// No record written yet.
    first: bool,
    paths: Vec<String>,
    path_ids: FxHashMap<String, usize>,
    types: FxHashMap<(u8, String, SpecificInfo), usize>,
    type_count: usize,
    vars: FxHashMap<String, usize>,
}

impl<W: Write> Writer<W> {
    /// A writer that has written the opening `[`.
    fn new(out: W) -> Writer<W> {
        let mut w = Writer {
            out,
            failed: None,
            first: true,
            paths: Vec::new(),
            path_ids: FxHashMap::default(),
            types: FxHashMap::default(),
            type_count: 0,
            vars: FxHashMap::default(),
        };
        if let Err(e) = w.out.write_all(b"[\n") {
            w.failed = Some(e);
        }
        w
    }

    /// Writes one record, on its own line.
    fn emit(&mut self, record: &Record<'_>) {
        if self.failed.is_some() {
            return;
        }
        let written = if self.first {
            Ok(())
        } else {
            self.out.write_all(b",\n")
        };
        self.first = false;
        let written = written
            .and_then(|()| serde_json::to_writer(&mut self.out, record).map_err(io::Error::from));
        if let Err(e) = written {
            self.failed = Some(e);
        }
    }

    fn path(&mut self, path: &str) -> usize {
        if let Some(&id) = self.path_ids.get(path) {
            return id;
        }
        let id = self.paths.len();
        self.paths.push(path.to_string());
        self.path_ids.insert(path.to_string(), id);
        self.emit(&Record::Path(path.to_string()));
        id
    }

    fn var(&mut self, name: &str) -> usize {
        if let Some(&id) = self.vars.get(name) {
            return id;
        }
        let id = self.vars.len();
        self.vars.insert(name.to_string(), id);
        self.emit(&Record::VariableName(name.to_string()));
        id
    }

    fn ty(&mut self, kind: u8, lang_type: &str, specific_info: SpecificInfo) -> usize {
        let key = (kind, lang_type.to_string(), specific_info);
        if let Some(&id) = self.types.get(&key) {
            return id;
        }
        let id = self.type_count;
        self.type_count += 1;
        self.emit(&Record::Type(TypeRecord {
            kind,
            lang_type: lang_type.to_string(),
            specific_info: key.2.clone(),
        }));
        self.types.insert(key, id);
        id
    }

    fn error(&mut self, msg: &str, type_name: &str) -> ValueRecord {
        ValueRecord::Error {
            msg: msg.to_string(),
            type_id: self.ty(KIND_RAW, type_name, SpecificInfo::None),
        }
    }

    /// The record of a slot; `None` for an absent value.
    fn slot(&mut self, slot: &Slot) -> Option<ValueRecord> {
        Some(match slot {
            Slot::Value { value } => self.value(value),
            Slot::Redacted => self.error("<redacted>", "Redacted"),
            Slot::Dropped => self.error("<dropped>", "Dropped"),
            Slot::Absent => return None,
        })
    }

    /// The record of a slot where a value is required.
    fn required(&mut self, slot: &Slot) -> ValueRecord {
        match self.slot(slot) {
            Some(v) => v,
            None => self.error("<absent>", "Absent"),
        }
    }

    /// `Value` records for the recorded arguments, bound in `frame`.
    fn args(&mut self, frame: &mut Frame, args: &[Var]) -> Vec<FullValueRecord> {
        let mut out = Vec::with_capacity(args.len());
        for arg in args {
            let Some(value) = self.slot(&arg.value) else {
                continue;
            };
            let variable_id = self.var(&arg.name);
            self.emit(&Record::Value(ValueRef {
                variable_id,
                value: &value,
            }));
            frame.bind(variable_id, value.clone());
            out.push(FullValueRecord { variable_id, value });
        }
        out
    }
    fn value(&mut self, value: &Value) -> ValueRecord {
        match value {
            Value::None => ValueRecord::None {
                type_id: self.ty(KIND_NONE, "None", SpecificInfo::None),
            },
            Value::Bool { value } => ValueRecord::Bool {
                b: *value,
                type_id: self.ty(KIND_BOOL, "Bool", SpecificInfo::None),
            },
            Value::Int { value } => ValueRecord::Int {
                i: *value,
                type_id: self.ty(KIND_INT, "Int", SpecificInfo::None),
            },
            Value::BigInt { digits } => self.raw(digits.clone(), "BigInt"),
            Value::Float { value } => self.raw(float_text(*value), "Float"),
            Value::Str { value, length } => {
                let mut text = value.clone();
                if (value.len() as u64) < *length {
                    text.push('…');
                }
                ValueRecord::String {
                    text,
                    type_id: self.ty(KIND_STRING, "String", SpecificInfo::None),
                }
            }
            Value::Bytes { value, length } => {
                let mut text = bytes_literal(value);
                if (value.len() as u64) < *length {
                    text.push('…');
                }
                self.raw(text, "Bytes")
            }
            Value::Sequence {
                kind,
                items,
                length,
            } => {
                let mut elements: Vec<ValueRecord> = items.iter().map(|v| self.value(v)).collect();
                self.mark_cut(&mut elements, items.len(), *length);
                match kind {
                    SequenceKind::Tuple => ValueRecord::Tuple {
                        elements,
                        type_id: self.ty(KIND_TUPLE, "Tuple", SpecificInfo::None),
                    },
                    SequenceKind::List | SequenceKind::Set | SequenceKind::FrozenSet => {
                        let (kind, name) = match kind {
                            SequenceKind::List => (KIND_SEQ, "List"),
                            SequenceKind::Set => (KIND_SET, "Set"),
                            _ => (KIND_SET, "FrozenSet"),
                        };
                        ValueRecord::Sequence {
                            elements,
                            is_slice: false,
                            type_id: self.ty(kind, name, SpecificInfo::None),
                        }
                    }
                }
            }
            Value::Dict { entries, length } => {
                let mut elements = Vec::with_capacity(entries.len() + 1);
                for (k, v) in entries {
                    let pair = vec![self.value(k), self.value(v)];
                    elements.push(ValueRecord::Tuple {
                        elements: pair,
                        type_id: self.ty(KIND_TUPLE, "Tuple", SpecificInfo::None),
                    });
                }
                self.mark_cut(&mut elements, entries.len(), *length);
                ValueRecord::Sequence {
                    elements,
                    is_slice: false,
                    type_id: self.ty(KIND_SEQ, "Dict", SpecificInfo::None),
                }
            }
            Value::Object {
                type_name, attrs, ..
            } => {
                let mut fields = Vec::with_capacity(attrs.len());
                let mut field_values = Vec::with_capacity(attrs.len());
                for attr in attrs {
                    let value = self.required(&attr.value);
                    fields.push(FieldType {
                        name: attr.name.to_string(),
                        type_id: value.type_id(),
                    });
                    field_values.push(value);
                }
                ValueRecord::Struct {
                    field_values,
                    type_id: self.ty(KIND_STRUCT, type_name, SpecificInfo::Struct { fields }),
                }
            }
            Value::Repr {
                type_name,
                text,
                length,
            } => {
                let mut r = text.clone();
                if (text.len() as u64) < *length {
                    r.push('…');
                }
                self.raw(r, type_name)
            }
            Value::ReprError { type_name, .. } => self.error("<unrepr>", type_name),
            Value::Deep { type_name } => self.raw("<depth limit>".into(), type_name),
            Value::Cycle { .. } => self.error("<cycle>", "Cycle"),
            Value::Redacted => self.error("<redacted>", "Redacted"),
        }
    }

    fn raw(&mut self, r: String, type_name: &str) -> ValueRecord {
        ValueRecord::Raw {
            r,
            type_id: self.ty(KIND_RAW, type_name, SpecificInfo::None),
        }
    }

    /// Appends `<N more>` when a container was cut at the bounds.
    fn mark_cut(&mut self, elements: &mut Vec<ValueRecord>, kept: usize, length: u64) {
        if (kept as u64) < length {
            let more = format!("<{} more>", length - kept as u64);
            elements.push(self.error(&more, "Truncated"));
        }
    }
}

/// `trace_metadata.json`, from the tables of `trace` and the threads met.
fn metadata(trace: &Trace, program: &str, labels: &[Relabel], threads: &[(u32, String)]) -> String {
    let h = &trace.header;
    let chain = h.chain().ok();
    let filters: Vec<serde_json::Value> = h
        .filters
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let meta = chain
                .as_ref()
                .and_then(|c| c.sources().get(i))
                .map(|s| &s.meta);
            json!({
                "name": meta.map(|m| m.name.clone()),
                "path": f.path,
                "sha256": f.sha256,
                "version": meta.map(|m| m.version),
            })
        })
        .collect();
    let stats = trace
        .trailer
        .as_ref()
        .map(|t| t.stats.clone())
        .unwrap_or_default();
    let per_kind = |counts: &[u64; 5]| {
        json!({
            "argument": counts[0],
            "local": counts[1],
            "global": counts[2],
            "return": counts[3],
            "attribute": counts[4],
        })
    };
    let exit = match &trace.trailer {
        Some(t) => {
            let label = match (&t.detached, t.size_limit) {
                (Some(d), _) => Some(format!("detached: {d}")),
                (None, Some(limit)) => Some(format!(
                    "recording stopped at the size limit ({})",
                    crate::size::size_text(limit)
                )),
                (None, None) => None,
            };
            json!({"code": t.exit_status, "label": label})
        }
        None => json!({"code": null, "label": "the recording ended early (no trailer)"}),
    };
    let threads: Vec<serde_json::Value> = threads
        .iter()
        .map(|(thread, name)| json!({"id": thread, "name": name}))
        .collect();
    let codes: Vec<serde_json::Value> = trace
        .codes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let label = labels.get(i);
            json!({
                "function_id": i + 1,
                "id": c.id,
                "filename": c.filename,
                "qualname": c.qualname,
                "first_line": c.first_line,
                "module_name": label.and_then(|l| l.module_name.clone()),
                "label": label.map(|l| l.label.clone()),
            })
        })
        .collect();
    let version = h
        .recorder
        .strip_prefix("tracesieve ")
        .unwrap_or(&h.recorder);
    let value = json!({
        "workdir": h.cwd,
        "program": program,
        "args": h.argv.iter().skip(1).collect::<Vec<_>>(),
        "recording_id": recording_id(trace),
        "recorder": {
            "name": "tracesieve",
            "version": version,
            "target_script": program,
            "python": h.python,
        },
        "process_exit_status": exit,
        "trace_filter": {
            "filters": filters,
            "stats": {
                "scopes_skipped": stats.scopes_skipped,
                "value_redactions": per_kind(&stats.redacted),
                "value_drops": per_kind(&stats.dropped),
            },
        },
        "tracesieve": {
            "naming": h.naming,
            "threads": threads,
            "codes": codes,
        },
    });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

/// A UUIDv7 from the start time, its other bits from a hash of the header.
fn recording_id(trace: &Trace) -> String {
    let h = &trace.header;
    let mut hasher = Sha256::new();
    for part in [&h.recorder, &h.python, &h.cwd] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    for arg in &h.argv {
        hasher.update(arg.as_bytes());
        hasher.update([0]);
    }
    hasher.update(h.start_unix_ms.to_be_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&h.start_unix_ms.to_be_bytes()[2..]);
    bytes[6..].copy_from_slice(&digest[..10]);
    bytes[6] = 0x70 | (bytes[6] & 0x0f);
    bytes[8] = 0x80 | (bytes[8] & 0x3f);
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A `TraceLowLevelEvent`, externally tagged as serde writes it.
#[derive(Serialize)]
enum Record<'a> {
    Step(StepRecord),
    Path(String),
    VariableName(String),
    Type(TypeRecord),
    Value(ValueRef<'a>),
    Function(FunctionRecord),
    Call(CallRecord),
    Return(ReturnRecord),
    Event(EventRecord),
    ThreadStart(u64),
    ThreadSwitch(u64),
}

#[derive(Serialize)]
struct StepRecord {
    path_id: usize,
    line: i64,
}

#[derive(Serialize)]
struct TypeRecord {
    kind: u8,
    lang_type: String,
    specific_info: SpecificInfo,
}

#[derive(Serialize, Clone, PartialEq, Eq, Hash)]
#[serde(tag = "kind")]
enum SpecificInfo {
    None,
    Struct { fields: Vec<FieldType> },
}

#[derive(Serialize, Clone, PartialEq, Eq, Hash)]
struct FieldType {
    name: String,
    type_id: usize,
}

/// A `FullValueRecord` (in `Call.args`).
#[derive(Serialize)]
struct FullValueRecord {
    variable_id: usize,
    value: ValueRecord,
}

/// A `Value` record: a `FullValueRecord` with a borrowed value, so that a
/// frame's bindings are written without copying them.
#[derive(Serialize)]
struct ValueRef<'a> {
    variable_id: usize,
    value: &'a ValueRecord,
}

#[derive(Serialize)]
struct FunctionRecord {
    path_id: usize,
    line: i64,
    name: String,
}

#[derive(Serialize)]
struct CallRecord {
    function_id: usize,
    args: Vec<FullValueRecord>,
}

#[derive(Serialize)]
struct ReturnRecord {
    return_value: ValueRecord,
}

#[derive(Serialize)]
struct EventRecord {
    kind: u8,
    metadata: String,
    content: String,
}

/// CodeTracer's `ValueRecord`, internally tagged with `kind`.
#[derive(Serialize, Clone)]
#[serde(tag = "kind")]
enum ValueRecord {
    Int {
        i: i64,
        type_id: usize,
    },
    Bool {
        b: bool,
        type_id: usize,
    },
    String {
        text: String,
        type_id: usize,
    },
    Sequence {
        elements: Vec<ValueRecord>,
        is_slice: bool,
        type_id: usize,
    },
    Tuple {
        elements: Vec<ValueRecord>,
        type_id: usize,
    },
    Struct {
        field_values: Vec<ValueRecord>,
        type_id: usize,
    },
    Raw {
        r: String,
        type_id: usize,
    },
    Error {
        msg: String,
        type_id: usize,
    },
    None {
        type_id: usize,
    },
}

impl ValueRecord {
    fn type_id(&self) -> usize {
        match self {
            ValueRecord::Int { type_id, .. }
            | ValueRecord::Bool { type_id, .. }
            | ValueRecord::String { type_id, .. }
            | ValueRecord::Sequence { type_id, .. }
            | ValueRecord::Tuple { type_id, .. }
            | ValueRecord::Struct { type_id, .. }
            | ValueRecord::Raw { type_id, .. }
            | ValueRecord::Error { type_id, .. }
            | ValueRecord::None { type_id } => *type_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::{Attr, FilterStats};
    use crate::trace::refilter::testkit::{chain, int, string, user, TraceBuilder};
    use crate::ValueKind;
    use serde_json::Value as Json;

    fn v(value: Value) -> Slot {
        Slot::Value { value }
    }

    fn sample() -> TraceBuilder {
        let mut b = TraceBuilder::new();
        b.filters(&chain(&user("")));
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        let g = b.code("/p/app/other.py", "f", 1, Some("app.other"));
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        b.line(0, 1, &[(ValueKind::Local, "x", int(1))]);
        b.call(
            0,
            f,
            &[
                ("password", Slot::Redacted),
                (
                    "n",
                    v(Value::Dict {
                        entries: vec![(
                            Value::Str {
                                value: "k".into(),
                                length: 1,
                            },
                            Value::Float { value: 2.5 },
                        )],
                        length: 1,
                    }),
                ),
                ("skipped", Slot::Absent),
            ],
        );
        b.line(0, 4, &[(ValueKind::Local, "y", string("hello"))]);
        b.line(
            0,
            5,
            &[(
                ValueKind::Local,
                "obj",
                v(Value::Object {
                    type_name: "app.m.Box".into(),
                    attrs: vec![
                        Attr {
                            name: "a".into(),
                            value: int(1),
                        },
                        Attr {
                            name: "token".into(),
                            value: Slot::Redacted,
                        },
                    ],
                    length: 2,
                }),
            )],
        );
        b.line(
            0,
            6,
            &[(
                ValueKind::Local,
                "xs",
                v(Value::Sequence {
                    kind: SequenceKind::List,
                    items: vec![Value::None, Value::Bool { value: true }],
                    length: 5,
                }),
            )],
        );
        b.raise(0, 6, string("bad"));
        b.ret(0, Slot::Dropped);
        b.call(0, g, &[]);
        b.ret(0, int(3));
        b
    }

    fn records(folder: &CodeTracerFolder) -> Vec<Json> {
        let json: Json = serde_json::from_str(&folder.trace_json).expect("trace.json parses");
        json.as_array().expect("an array").clone()
    }

    fn tag(record: &Json) -> &str {
        let object = record
            .as_object()
            .expect("externally tagged: one key per record");
        assert_eq!(object.len(), 1);
        object.keys().next().unwrap()
    }

    /// Ids are used only after their record; returns the number of Types.
    fn check_ids(records: &[Json]) -> usize {
        let (mut paths, mut functions, mut types, mut vars) = (0u64, 0u64, 0u64, 0u64);
        fn type_ids(value: &Json, out: &mut Vec<u64>) {
            match value {
                Json::Object(map) => {
                    for (k, v) in map {
                        if k == "type_id" {
                            out.push(v.as_u64().unwrap());
                        }
                        type_ids(v, out);
                    }
                }
                Json::Array(items) => items.iter().for_each(|i| type_ids(i, out)),
                _ => {}
            }
        }
        for r in records {
            let payload = &r[tag(r)];
            let mut used = Vec::new();
            type_ids(payload, &mut used);
            assert!(
                used.iter().all(|&t| t < types),
                "type used before its record: {r}"
            );
            match tag(r) {
                "Path" => paths += 1,
                "Function" => {
                    assert!(payload["path_id"].as_u64().unwrap() < paths);
                    functions += 1;
                }
                "Type" => types += 1,
                "VariableName" => vars += 1,
                "Step" => assert!(payload["path_id"].as_u64().unwrap() < paths),
                "Call" => {
                    assert!(payload["function_id"].as_u64().unwrap() < functions);
                    for arg in payload["args"].as_array().unwrap() {
                        assert!(arg["variable_id"].as_u64().unwrap() < vars);
                    }
                }
                "Value" => assert!(payload["variable_id"].as_u64().unwrap() < vars),
                _ => {}
            }
        }
        types as usize
    }

    fn type_of(records: &[Json], id: u64) -> &Json {
        &records
            .iter()
            .filter(|r| tag(r) == "Type")
            .nth(id as usize)
            .expect("type record")["Type"]
    }

    #[test]
    fn folder_has_the_records_codetracer_reads() {
        let trace = sample().finish_with(FilterStats {
            scopes_skipped: 2,
            redacted: [1, 0, 0, 0, 1],
            dropped: [0, 0, 0, 1, 0],
        });
        let folder = to_codetracer(&trace);
        let records = records(&folder);
        check_ids(&records);
        assert_eq!(records[0], json!({"Path": "/p/app/m.py"}));
        assert_eq!(
            records[1],
            json!({"Function": {"path_id": 0, "line": 1, "name": "<toplevel>"}})
        );
        assert_eq!(records[2], json!({"Call": {"function_id": 0, "args": []}}));
        let functions: Vec<(&str, u64)> = records
            .iter()
            .filter(|r| tag(r) == "Function")
            .map(|r| {
                (
                    r["Function"]["name"].as_str().unwrap(),
                    r["Function"]["path_id"].as_u64().unwrap(),
                )
            })
            .collect();
        // Same-named functions of two modules stay apart.
        assert_eq!(
            functions,
            [("<toplevel>", 0), ("<app.m>", 0), ("f", 0), ("f", 1)]
        );
        let paths: Vec<Json> = records
            .iter()
            .filter(|r| tag(r) == "Path")
            .map(|r| r["Path"].clone())
            .collect();
        let paths_file: Json = serde_json::from_str(&folder.paths_json).unwrap();
        assert_eq!(Json::Array(paths), paths_file);
        assert_eq!(paths_file, json!(["/p/app/m.py", "/p/app/other.py"]));

        let count = |t: &str| records.iter().filter(|r| tag(r) == t).count();
        assert_eq!(count("Call"), count("Return"), "calls and returns pair up");
        assert_eq!(count("ThreadStart") + count("ThreadSwitch"), 0);

        // The call of f: argument values, a step to the first line, the call.
        let at = records
            .iter()
            .position(|r| r["Call"]["function_id"] == 2)
            .unwrap();
        assert_eq!(records[at - 1], json!({"Step": {"path_id": 0, "line": 3}}));
        let args = records[at]["Call"]["args"].as_array().unwrap();
        assert_eq!(args.len(), 2, "the absent argument is left out");
        let password = &args[0]["value"];
        assert_eq!(password["kind"], "Error");
        assert_eq!(password["msg"], "<redacted>");
        assert_eq!(
            type_of(&records, password["type_id"].as_u64().unwrap()),
            &json!({"kind": 16, "lang_type": "Redacted", "specific_info": {"kind": "None"}})
        );
        let dict = &args[1]["value"];
        assert_eq!(dict["kind"], "Sequence");
        assert_eq!(
            type_of(&records, dict["type_id"].as_u64().unwrap())["lang_type"],
            "Dict"
        );
        let pair = &dict["elements"][0];
        assert_eq!(pair["kind"], "Tuple");
        assert_eq!(pair["elements"][0]["text"], "k");
        assert_eq!(pair["elements"][1]["kind"], "Raw");
        assert_eq!(pair["elements"][1]["r"], "2.5");
        // The argument values come (with their names and types) before the step.
        let before: Vec<&Json> = records[..at - 1]
            .iter()
            .rev()
            .take_while(|r| matches!(tag(r), "Value" | "Type" | "VariableName"))
            .filter(|r| tag(r) == "Value")
            .take(2)
            .collect();
        assert_eq!(before[1]["Value"], args[0]);
        assert_eq!(before[0]["Value"], args[1]);

        // Every step carries the frame's whole state.
        let steps: Vec<usize> = records
            .iter()
            .enumerate()
            .filter(|(_, r)| tag(r) == "Step" && r["Step"]["line"] == 6)
            .map(|(i, _)| i)
            .collect();
        let after: Vec<&Json> = records[steps[0] + 1..]
            .iter()
            .take_while(|r| tag(r) != "Step" && tag(r) != "Event" && tag(r) != "Return")
            .filter(|r| tag(r) == "Value")
            .collect();
        // password, n (arguments), y, obj, xs
        assert_eq!(after.len(), 5);
        let obj = &after[3]["Value"]["value"];
        assert_eq!(obj["kind"], "Struct");
        assert_eq!(obj["field_values"][1]["msg"], "<redacted>");
        let obj_type = type_of(&records, obj["type_id"].as_u64().unwrap());
        assert_eq!(obj_type["kind"], 6);
        assert_eq!(obj_type["lang_type"], "app.m.Box");
        assert_eq!(obj_type["specific_info"]["kind"], "Struct");
        assert_eq!(obj_type["specific_info"]["fields"][1]["name"], "token");
        let xs = &after[4]["Value"]["value"];
        assert_eq!(xs["elements"].as_array().unwrap().len(), 3);
        assert_eq!(xs["elements"][2]["msg"], "<3 more>");

        // The raise, the dropped return, and `<toplevel>`'s exit status.
        let raise = records.iter().find(|r| tag(r) == "Event").unwrap();
        assert_eq!(raise["Event"]["kind"], 11);
        assert_eq!(raise["Event"]["content"], "'bad'");
        let meta: Json =
            serde_json::from_str(raise["Event"]["metadata"].as_str().unwrap()).unwrap();
        assert_eq!(meta["line"], 6);
        let returns: Vec<&Json> = records.iter().filter(|r| tag(r) == "Return").collect();
        assert_eq!(returns[0]["Return"]["return_value"]["msg"], "<dropped>");
        let last = returns.last().unwrap();
        assert_eq!(last["Return"]["return_value"]["kind"], "Int");
        assert_eq!(last["Return"]["return_value"]["i"], 0);
        // The module body was never returned from: it is closed as unfinished.
        assert_eq!(
            returns[returns.len() - 2]["Return"]["return_value"]["msg"],
            "<unfinished>"
        );
    }

    #[test]
    fn metadata_has_codetracers_keys_and_ours() {
        let trace = sample().finish_with(FilterStats {
            scopes_skipped: 2,
            redacted: [1, 0, 0, 0, 1],
            dropped: [0, 0, 0, 1, 0],
        });
        let folder = to_codetracer(&trace);
        let meta: Json = serde_json::from_str(&folder.metadata_json).unwrap();
        assert_eq!(meta["workdir"], "/p");
        assert_eq!(meta["program"], "/p/app/m.py");
        assert_eq!(meta["args"], json!(["--flag"]));
        let id = meta["recording_id"].as_str().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "7", "UUID version 7");
        assert!(
            matches!(&id[19..20], "8" | "9" | "a" | "b"),
            "RFC 4122 variant"
        );
        assert!(
            id.starts_with("019b7"),
            "the start time's milliseconds lead"
        );
        assert_eq!(to_codetracer(&trace).metadata_json, folder.metadata_json);
        assert_eq!(
            meta["process_exit_status"],
            json!({"code": 0, "label": null})
        );
        let filters = &meta["trace_filter"]["filters"];
        assert_eq!(filters[0]["name"], "builtin-default");
        assert_eq!(filters[0]["path"], "<inline:builtin-default>");
        assert_eq!(filters[1]["name"], "u");
        assert_eq!(filters[1]["version"], 1);
        let stats = &meta["trace_filter"]["stats"];
        assert_eq!(stats["scopes_skipped"], 2);
        assert_eq!(stats["value_redactions"]["argument"], 1);
        assert_eq!(stats["value_redactions"]["attribute"], 1);
        assert_eq!(stats["value_drops"]["return"], 1);
        assert_eq!(meta["tracesieve"]["codes"][1]["function_id"], 2);
        assert_eq!(meta["tracesieve"]["codes"][0]["label"], "<app.m>");
        assert_eq!(meta["tracesieve"]["naming"], "globals");
    }

    #[test]
    fn a_size_limit_labels_the_unknown_exit_status() {
        let mut trace = sample().finish_with(FilterStats::default());
        if let Some(trailer) = trace.trailer.as_mut() {
            trailer.exit_status = None;
            trailer.size_limit = Some(200_000);
        }
        let meta: Json = serde_json::from_str(&to_codetracer(&trace).metadata_json).unwrap();
        assert_eq!(
            meta["process_exit_status"],
            json!({"code": null, "label": "recording stopped at the size limit (200 kB)"})
        );
    }

    #[test]
    fn threads_switch_and_cut_short_traces_stay_balanced() {
        let mut b = sample();
        let f = 1;
        b.thread(1, "worker");
        b.call(1, f, &[]);
        b.line(1, 4, &[]);
        b.line(0, 2, &[]);
        let trace = b.truncated();
        let folder = to_codetracer(&trace);
        let records = records(&folder);
        check_ids(&records);
        let count = |t: &str| records.iter().filter(|r| tag(r) == t).count();
        assert_eq!(count("Call"), count("Return"));
        assert_eq!(count("ThreadStart"), 2);
        assert!(count("ThreadSwitch") >= 2);
        let last = records.last().unwrap();
        assert_eq!(
            last["Return"]["return_value"]["kind"], "None",
            "exit status unknown"
        );
        let meta: Json = serde_json::from_str(&folder.metadata_json).unwrap();
        assert_eq!(meta["process_exit_status"]["code"], Json::Null);
        assert_eq!(meta["tracesieve"]["threads"][1]["name"], "worker");
    }

    // --- Streaming: `write_codetracer` writes what `to_codetracer` builds.

    use crate::trace::refilter::testkit::PERMISSIVE;
    use crate::trace::stream::{read_tables, EventStream, ReadError, Tables};
    use crate::trace::{read_trace, write_trace, TraceWriter};
    use std::io::Cursor;

    /// `trace` as a file of small chunks (about `chunk_bytes` each).
    fn small_chunks(trace: &Trace, chunk_bytes: usize) -> Vec<u8> {
        let mut w = TraceWriter::with_chunk_bytes(Vec::new(), &trace.header, chunk_bytes)
            .expect("header written");
        w.tables(trace).expect("tables written");
        for event in &trace.events {
            w.event(event).expect("event written");
        }
        match &trace.trailer {
            Some(trailer) => w.finish(trailer),
            None => w.into_inner(),
        }
        .expect("trace written")
    }

    /// A source that hands out at most 7 bytes per read.
    struct Trickle<'a>(&'a [u8]);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.0.len()).min(7);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    /// Writes `trace` to a file (with the default chunks, and with tiny
    /// ones read a few bytes at a time), streams it back through
    /// [`write_codetracer`] and checks the three files against
    /// [`to_codetracer`] of the file read whole, byte for byte; returns them.
    fn streamed(trace: &Trace) -> CodeTracerFolder {
        let bytes = write_trace(trace);
        let whole = read_trace(&bytes).expect("the trace reads back").trace;
        // (Compared as text: NaN is not equal to itself.)
        assert!(
            format!("{:?}", whole.events) == format!("{:?}", trace.events),
            "every event was written and read back"
        );
        let expected = to_codetracer(&whole);
        let check = |tables: Tables, events: EventStream<&mut dyn std::io::Read>| {
            let mut trace_json = Vec::new();
            let side = write_codetracer(&tables, events, &mut trace_json).expect("streamed");
            let trace_json = String::from_utf8(trace_json).expect("UTF-8");
            assert!(trace_json == expected.trace_json, "trace.json differs");
            assert_eq!(
                side.metadata_json, expected.metadata_json,
                "trace_metadata.json"
            );
            assert_eq!(side.paths_json, expected.paths_json, "trace_paths.json");
        };
        let tables = read_tables(Cursor::new(&bytes)).expect("tables");
        let mut source = Cursor::new(&bytes);
        let events = EventStream::open(&mut source as &mut dyn std::io::Read).expect("stream");
        check(tables, events);
        let bytes = small_chunks(trace, 100);
        let tables = read_tables(Trickle(&bytes)).expect("tables");
        let mut source = Trickle(&bytes);
        let events = EventStream::open(&mut source as &mut dyn std::io::Read).expect("stream");
        check(tables, events);
        expected
    }

    fn sample_stats() -> FilterStats {
        FilterStats {
            scopes_skipped: 2,
            redacted: [1, 0, 0, 0, 1],
            dropped: [0, 0, 0, 1, 0],
        }
    }

    /// Two threads, interleaved, each with nested calls.
    fn threads() -> TraceBuilder {
        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let work = b.code("/p/app/m.py", "work", 10, Some("app.m"));
        let helper = b.code("/p/app/util.py", "helper", 2, Some("app.util"));
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        b.line(0, 1, &[(ValueKind::Global, "N", int(3))]);
        b.thread(1, "worker-1");
        b.call(1, work, &[("n", int(1))]);
        b.line(1, 11, &[(ValueKind::Local, "acc", int(0))]);
        b.line(0, 2, &[]);
        b.thread(2, "worker-2");
        b.call(2, work, &[("n", int(2))]);
        b.call(1, helper, &[("x", string("a"))]);
        b.line(1, 3, &[]);
        b.line(2, 11, &[(ValueKind::Local, "acc", int(5))]);
        b.ret(1, int(1));
        b.line(1, 12, &[(ValueKind::Local, "acc", int(1))]);
        b.ret(2, int(5));
        b.ret(1, Slot::Absent);
        b.line(0, 3, &[]);
        b.ret(0, v(Value::None));
        b
    }

    /// Raises, unwinds, a re-raise caught by the caller.
    fn exceptions() -> TraceBuilder {
        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        let g = b.code("/p/app/m.py", "g", 7, Some("app.m"));
        let error = |msg: &str| {
            v(Value::Object {
                type_name: "ValueError".into(),
                attrs: vec![Attr {
                    name: "args".into(),
                    value: v(Value::Sequence {
                        kind: SequenceKind::Tuple,
                        items: vec![Value::Str {
                            value: msg.into(),
                            length: msg.len() as u64,
                        }],
                        length: 1,
                    }),
                }],
                length: 1,
            })
        };
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        b.line(0, 1, &[]);
        b.call(0, f, &[("x", int(0))]);
        b.line(0, 4, &[]);
        b.call(0, g, &[]);
        b.line(0, 8, &[]);
        b.raise(0, 8, error("bad"));
        b.unwind(0, error("bad"));
        b.raise(0, 5, error("bad"));
        b.unwind(0, Slot::Redacted);
        b.raise(0, 2, Slot::Redacted);
        b.line(
            0,
            9,
            &[(ValueKind::Global, "caught", v(Value::Bool { value: true }))],
        );
        b.ret(0, v(Value::None));
        b
    }

    /// A generator: started, suspended, resumed, thrown into, closed.
    fn generators() -> TraceBuilder {
        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/gen.py", "<module>", 1, Some("__main__"));
        let gen = b.code("/p/app/gen.py", "count", 2, Some("__main__"));
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        b.line(0, 6, &[]);
        b.call(0, gen, &[("n", int(2))]);
        b.line(0, 3, &[(ValueKind::Local, "i", int(0))]);
        b.yield_(0, int(0));
        b.line(0, 7, &[(ValueKind::Global, "first", int(0))]);
        b.resume(0, gen);
        b.line(0, 3, &[(ValueKind::Local, "i", int(1))]);
        b.yield_(0, int(1));
        b.throw(0, gen, string("stop"));
        b.line(0, 4, &[]);
        b.raise(0, 4, string("stop"));
        b.unwind(0, string("stop"));
        b.resume(0, gen);
        b.ret(0, Slot::Dropped);
        b.line(0, 8, &[]);
        b.ret(0, v(Value::None));
        b
    }

    /// Every kind of value and marker, as arguments, locals and returns.
    fn values() -> TraceBuilder {
        let mut b = TraceBuilder::new();
        b.trace.header.repr = true;
        let main = b.code("/p/app/v.py", "<module>", 1, Some("app.v"));
        let f = b.code("/p/app/v.py", "f", 2, Some("app.v"));
        let text = |s: &str, length: u64| Value::Str {
            value: s.into(),
            length,
        };
        let seq = |kind, items: Vec<Value>, length| Value::Sequence {
            kind,
            items,
            length,
        };
        let all = vec![
            Value::None,
            Value::Bool { value: false },
            Value::Int { value: i64::MIN },
            Value::BigInt {
                digits: "-123456789012345678901234567890".into(),
            },
            Value::Float { value: 2.5 },
            Value::Float { value: 1e20 },
            Value::Float { value: f64::NAN },
            Value::Float {
                value: f64::NEG_INFINITY,
            },
            text("caf\u{e9} \"q\" \\ \n\u{1}", 9),
            text("cut", 100),
            Value::Bytes {
                value: b"a\x00'\xff".to_vec(),
                length: 4,
            },
            Value::Bytes {
                value: b"ab".to_vec(),
                length: 10,
            },
            seq(SequenceKind::List, vec![], 0),
            seq(SequenceKind::List, vec![Value::Int { value: 1 }], 3),
            seq(SequenceKind::Tuple, vec![Value::Int { value: 1 }], 1),
            seq(SequenceKind::Tuple, vec![], 0),
            seq(SequenceKind::Set, vec![], 0),
            seq(SequenceKind::Set, vec![text("s", 1)], 1),
            seq(SequenceKind::FrozenSet, vec![Value::None], 2),
            Value::Dict {
                entries: vec![],
                length: 0,
            },
            Value::Dict {
                entries: vec![(text("k", 1), seq(SequenceKind::List, vec![], 0))],
                length: 4,
            },
            Value::Object {
                type_name: "app.v.Point".into(),
                attrs: vec![
                    Attr {
                        name: "x".into(),
                        value: int(1),
                    },
                    Attr {
                        name: "secret".into(),
                        value: Slot::Redacted,
                    },
                    Attr {
                        name: "gone".into(),
                        value: Slot::Absent,
                    },
                ],
                length: 4,
            },
            // The same type name with other fields is another type.
            Value::Object {
                type_name: "app.v.Point".into(),
                attrs: vec![Attr {
                    name: "x".into(),
                    value: string("one"),
                }],
                length: 1,
            },
            Value::Object {
                type_name: "app.v.Empty".into(),
                attrs: vec![],
                length: 0,
            },
            Value::Repr {
                type_name: "decimal.Decimal".into(),
                text: "Decimal('1.5')".into(),
                length: 14,
            },
            Value::Repr {
                type_name: "app.v.Long".into(),
                text: "<Long".into(),
                length: 500,
            },
            Value::ReprError {
                type_name: "app.v.Bad".into(),
                message: "RuntimeError: no".into(),
            },
            Value::Deep {
                type_name: "list".into(),
            },
            Value::Cycle {
                type_name: "dict".into(),
            },
        ];
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        let args: Vec<(String, Slot)> = all
            .iter()
            .enumerate()
            .map(|(i, value)| (format!("a{i}"), v(value.clone())))
            .chain([
                ("red".to_string(), Slot::Redacted),
                ("absent".to_string(), Slot::Absent),
            ])
            .collect();
        let args: Vec<(&str, Slot)> = args.iter().map(|(n, s)| (n.as_str(), s.clone())).collect();
        b.call(0, f, &args);
        for (i, value) in all.iter().enumerate() {
            b.line(
                0,
                3 + i as u32,
                &[
                    (ValueKind::Local, "x", v(value.clone())),
                    (ValueKind::Global, "G", Slot::Redacted),
                    (ValueKind::Local, "skipped", Slot::Absent),
                ],
            );
        }
        for value in &all {
            b.call(0, f, &[]);
            b.ret(0, v(value.clone()));
        }
        b.ret(0, Slot::Absent);
        b.ret(0, Slot::Redacted);
        b
    }

    #[test]
    fn streaming_matches_to_codetracer_on_the_sample() {
        streamed(&sample().finish_with(sample_stats()));
        streamed(&sample().finish());
    }

    #[test]
    fn streaming_matches_to_codetracer_with_threads() {
        let folder = streamed(&threads().finish());
        let records = records(&folder);
        check_ids(&records);
        let count = |t: &str| records.iter().filter(|r| tag(r) == t).count();
        assert_eq!(count("ThreadStart"), 3);
        assert!(count("ThreadSwitch") >= 4);
        assert_eq!(count("Call"), count("Return"));
        let meta: Json = serde_json::from_str(&folder.metadata_json).unwrap();
        assert_eq!(
            meta["tracesieve"]["threads"],
            json!([
                {"id": 0, "name": "MainThread"},
                {"id": 1, "name": "worker-1"},
                {"id": 2, "name": "worker-2"},
            ])
        );
        // The sample's own threads, cut short with frames open on two threads.
        let mut b = sample();
        b.thread(1, "worker");
        b.call(1, 1, &[]);
        b.line(1, 4, &[]);
        b.line(0, 2, &[]);
        streamed(&b.truncated());
    }

    #[test]
    fn streaming_matches_to_codetracer_with_exceptions() {
        let folder = streamed(&exceptions().finish_with(sample_stats()));
        let records = records(&folder);
        check_ids(&records);
        assert_eq!(records.iter().filter(|r| tag(r) == "Event").count(), 3);
    }

    #[test]
    fn streaming_matches_to_codetracer_with_generators() {
        let folder = streamed(&generators().finish());
        let records = records(&folder);
        check_ids(&records);
        // Start, resume, throw and resume: four calls of the generator.
        let calls = records
            .iter()
            .filter(|r| tag(r) == "Call" && r["Call"]["function_id"] == 2)
            .count();
        assert_eq!(calls, 4);
        let thrown = records
            .iter()
            .filter(|r| tag(r) == "Call" && r["Call"]["function_id"] == 2)
            .nth(2)
            .unwrap();
        assert_eq!(thrown["Call"]["args"][0]["value"]["text"], "stop");
    }

    #[test]
    fn streaming_matches_to_codetracer_with_values_of_every_kind() {
        let folder = streamed(&values().finish());
        let records = records(&folder);
        let types = check_ids(&records);
        assert!(types > 15);
        // Cut-short: the recording had no trailer.
        streamed(&values().truncated());
    }

    #[test]
    fn streaming_matches_to_codetracer_when_cut_short() {
        let mut b = generators();
        b.call(0, 0, &[("late", int(9))]);
        b.line(0, 2, &[(ValueKind::Local, "y", string("open"))]);
        let folder = streamed(&b.truncated());
        let records = records(&folder);
        let count = |t: &str| records.iter().filter(|r| tag(r) == t).count();
        assert_eq!(count("Call"), count("Return"), "open frames are closed");
        let meta: Json = serde_json::from_str(&folder.metadata_json).unwrap();
        assert_eq!(meta["process_exit_status"]["code"], Json::Null);
    }

    #[test]
    fn streaming_matches_to_codetracer_on_empty_traces() {
        // No code, no event: the start and `<toplevel>`'s return.
        let b = TraceBuilder::new();
        let folder = streamed(&b.finish());
        assert_eq!(
            records(&folder),
            [
                json!({"Path": "/p/app/m.py"}),
                json!({"Function": {"path_id": 0, "line": 1, "name": "<toplevel>"}}),
                json!({"Call": {"function_id": 0, "args": []}}),
                json!({"Type": {"kind": 7, "lang_type": "Int", "specific_info": {"kind": "None"}}}),
                json!({"Return": {"return_value": {"kind": "Int", "i": 0, "type_id": 0}}}),
            ]
        );
        streamed(&b.truncated());
        // Codes but no events, and no program argument.
        let mut b = TraceBuilder::new();
        b.trace.header.argv.clear();
        b.filters(&chain(&user("")));
        b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        b.code("/p/lib/x.py", "x", 4, Some("lib.x"));
        let folder = streamed(&b.finish());
        assert_eq!(folder.paths_json, r#"["/p/app/m.py","/p/lib/x.py"]"#);
        streamed(&b.truncated());
        // A single thread that only started.
        let mut b = TraceBuilder::new();
        b.thread(0, "MainThread");
        streamed(&b.truncated());
    }

    #[test]
    fn streaming_matches_to_codetracer_under_other_filters_and_naming() {
        let mut b = threads();
        b.trace.header.naming = crate::identity::NamingMode::Paths;
        b.filters(&chain(&user(
            "[[scope.rules]]\nselector='pkg:app.*'\nexec='trace'\n",
        )));
        streamed(&b.finish_with(sample_stats()));
        let mut b = values();
        b.filters(
            &crate::filter::FilterChain::load(
                &[crate::FilterSource::inline("permissive", PERMISSIVE)],
                crate::Platform::Posix,
            )
            .unwrap(),
        );
        streamed(&b.finish());
    }

    /// Codes numbered 7 and 3, in that table order: function ids follow the
    /// table (7 is function 1, 3 is function 2), whatever the numbers.
    fn swapped_ids() -> Trace {
        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let f = b.code("/p/app/lib.py", "f", 5, Some("app.lib"));
        b.trace.codes[main as usize].id = 7;
        b.trace.codes[f as usize].id = 3;
        b.thread(0, "MainThread");
        b.call(0, 7, &[]);
        b.line(0, 2, &[]);
        b.call(0, 3, &[("a", int(1))]);
        b.line(0, 6, &[]);
        b.raise(0, 6, string("boom"));
        b.ret(0, int(2));
        b.ret(0, v(Value::None));
        b.finish()
    }

    #[test]
    fn code_ids_are_ids_not_table_positions() {
        let trace = swapped_ids();
        let folder = to_codetracer(&trace);
        let records = records(&folder);
        check_ids(&records);
        let functions: Vec<&Json> = records
            .iter()
            .filter(|r| tag(r) == "Function")
            .map(|r| &r["Function"])
            .collect();
        let calls: Vec<(String, u64, i64)> = records
            .iter()
            .enumerate()
            .filter(|(_, r)| tag(r) == "Call")
            .map(|(i, r)| {
                let function = functions[r["Call"]["function_id"].as_u64().unwrap() as usize];
                let step = &records[i - 1]["Step"];
                (
                    function["name"].as_str().unwrap().to_string(),
                    step["path_id"].as_u64().unwrap_or(u64::MAX),
                    step["line"].as_i64().unwrap_or(-1),
                )
            })
            .collect();
        // `<toplevel>` (no step before it), then code 7 and code 3.
        assert_eq!(calls[0].0, "<toplevel>");
        assert_eq!(
            calls[1..],
            [("<app.m>".to_string(), 0, 1), ("f".to_string(), 1, 5)]
        );
        // Lines and raises of code 3 are in its file.
        let steps: Vec<(u64, i64)> = records
            .iter()
            .filter(|r| tag(r) == "Step")
            .map(|r| {
                (
                    r["Step"]["path_id"].as_u64().unwrap(),
                    r["Step"]["line"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(steps, [(0, 1), (0, 2), (1, 5), (1, 6)]);
        let raise = records.iter().find(|r| tag(r) == "Event").unwrap();
        let meta: Json =
            serde_json::from_str(raise["Event"]["metadata"].as_str().unwrap()).unwrap();
        assert_eq!(meta["path_id"], 1);
        let meta: Json = serde_json::from_str(&folder.metadata_json).unwrap();
        assert_eq!(meta["tracesieve"]["codes"][0]["id"], 7);
        assert_eq!(meta["tracesieve"]["codes"][0]["function_id"], 1);
        assert_eq!(meta["tracesieve"]["codes"][1]["id"], 3);
        assert_eq!(meta["tracesieve"]["codes"][1]["function_id"], 2);
        // And the same through the file and the stream.
        assert_eq!(streamed(&trace), folder);
    }

    #[test]
    fn write_errors_come_back_as_io_errors() {
        struct Full(usize);
        impl std::io::Write for Full {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                if self.0 < buf.len() {
                    return Err(std::io::Error::other("disk full"));
                }
                self.0 -= buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let bytes = write_trace(&values().finish());
        let size = to_codetracer(&read_trace(&bytes).unwrap().trace)
            .trace_json
            .len();
        for room in [0, 1, 100, size / 2, size - 1] {
            let tables = read_tables(Cursor::new(&bytes)).unwrap();
            let events = EventStream::open(Cursor::new(&bytes)).unwrap();
            let result = write_codetracer(&tables, events, Full(room));
            assert!(
                matches!(&result, Err(ReadError::Io(e)) if e.to_string() == "disk full"),
                "room {room}: {result:?}"
            );
        }
        let tables = read_tables(Cursor::new(&bytes)).unwrap();
        let events = EventStream::open(Cursor::new(&bytes)).unwrap();
        assert!(write_codetracer(&tables, events, Full(size)).is_ok());
    }

    #[test]
    fn damaged_files_stream_what_reads() {
        // A file cut in the middle of the events: the stream stops where
        // reading whole stops, and both close the frames left open.
        let bytes = write_trace(&values().finish());
        for cut in [bytes.len() - 1, bytes.len() * 2 / 3, bytes.len() / 2] {
            let bytes = &bytes[..cut];
            let whole = read_trace(bytes).unwrap().trace;
            let expected = to_codetracer(&whole);
            let tables = read_tables(Cursor::new(bytes)).unwrap();
            let events = EventStream::open(Cursor::new(bytes)).unwrap();
            let mut out = Vec::new();
            let side = write_codetracer(&tables, events, &mut out).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), expected.trace_json);
            assert_eq!(side.metadata_json, expected.metadata_json);
            assert_eq!(side.paths_json, expected.paths_json);
        }
    }

    /// A small deterministic generator (xorshift64*).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn value(&mut self, depth: u32) -> Value {
            let pick = self.below(if depth == 0 { 8 } else { 12 });
            match pick {
                0 => Value::None,
                1 => Value::Bool {
                    value: self.below(2) == 1,
                },
                2 => Value::Int {
                    value: self.next() as i64 >> self.below(64),
                },
                3 => Value::Float {
                    value: f64::from_bits(self.next()),
                },
                4 => {
                    let text = ["", "a", "name", "é\n", "x\"y"][self.below(5) as usize];
                    Value::Str {
                        value: text.into(),
                        length: text.len() as u64 + self.below(2) * 7,
                    }
                }
                5 => Value::BigInt {
                    digits: format!("{}{}", self.next(), self.next()),
                },
                6 => Value::Repr {
                    type_name: ["a.B", "c.D"][self.below(2) as usize].into(),
                    text: "<obj>".into(),
                    length: 5 + self.below(2),
                },
                7 => Value::Cycle {
                    type_name: "list".into(),
                },
                8 => {
                    let n = self.below(3) as usize;
                    let items = (0..n).map(|_| self.value(depth - 1)).collect();
                    Value::Sequence {
                        kind: [
                            SequenceKind::List,
                            SequenceKind::Tuple,
                            SequenceKind::Set,
                            SequenceKind::FrozenSet,
                        ][self.below(4) as usize],
                        items,
                        length: n as u64 + self.below(2),
                    }
                }
                9 => {
                    let n = self.below(3) as usize;
                    let entries = (0..n)
                        .map(|_| (self.value(0), self.value(depth - 1)))
                        .collect();
                    Value::Dict {
                        entries,
                        length: n as u64 + self.below(2),
                    }
                }
                10 => {
                    let n = self.below(3) as usize;
                    let attrs = (0..n)
                        .map(|i| Attr {
                            name: ["a", "b", "c"][i].into(),
                            value: self.slot(depth - 1),
                        })
                        .collect();
                    Value::Object {
                        type_name: ["m.P", "m.Q"][self.below(2) as usize].into(),
                        attrs,
                        length: n as u64 + self.below(2),
                    }
                }
                _ => Value::Deep {
                    type_name: "dict".into(),
                },
            }
        }

        fn slot(&mut self, depth: u32) -> Slot {
            match self.below(10) {
                0 => Slot::Redacted,
                1 => Slot::Dropped,
                2 => Slot::Absent,
                _ => v(self.value(depth)),
            }
        }

        fn vars(&mut self) -> Vec<(ValueKind, String, Slot)> {
            (0..self.below(4))
                .map(|_| {
                    let kind = [ValueKind::Local, ValueKind::Global][self.below(2) as usize];
                    (kind, format!("v{}", self.below(6)), self.slot(2))
                })
                .collect()
        }
    }

    /// A random trace: `events` events over up to 3 threads and 5 codes
    /// (every thread started before its first event).
    fn random_trace(seed: u64, events: usize) -> Trace {
        let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut b = TraceBuilder::new();
        let files = ["/p/app/m.py", "/p/app/n.py", "/p/lib/x.py"];
        let codes = 1 + r.below(5) as u32;
        for i in 0..codes {
            let file = files[r.below(3) as usize];
            let qualname = if i == 0 {
                "<module>"
            } else {
                ["f", "g", "C.h"][r.below(3) as usize]
            };
            b.code(file, qualname, 1 + r.below(50) as u32, Some("app.m"));
        }
        let threads = 1 + r.below(3) as u32;
        let mut started = vec![false; threads as usize];
        for _ in 0..events {
            let thread = r.below(u64::from(threads)) as u32;
            if !started[thread as usize] {
                started[thread as usize] = true;
                b.thread(thread, &format!("t{thread}"));
            }
            let code = r.below(u64::from(codes)) as u32;
            match r.below(12) {
                0..=2 => {
                    let args: Vec<(String, Slot)> = (0..r.below(3))
                        .map(|i| (format!("p{i}"), r.slot(2)))
                        .collect();
                    let args: Vec<(&str, Slot)> =
                        args.iter().map(|(n, s)| (n.as_str(), s.clone())).collect();
                    b.call(thread, code, &args);
                }
                3 => b.resume(thread, code),
                4 => {
                    let slot = r.slot(1);
                    b.throw(thread, code, slot);
                }
                5..=7 => {
                    let vars = r.vars();
                    let vars: Vec<(ValueKind, &str, Slot)> = vars
                        .iter()
                        .map(|(k, n, s)| (*k, n.as_str(), s.clone()))
                        .collect();
                    b.line(thread, 1 + r.below(60) as u32, &vars);
                }
                8 | 9 => {
                    let slot = r.slot(2);
                    b.ret(thread, slot);
                }
                10 => {
                    let slot = r.slot(1);
                    if r.below(2) == 0 {
                        b.yield_(thread, slot);
                    } else {
                        b.unwind(thread, slot);
                    }
                }
                _ => {
                    let slot = r.slot(1);
                    b.raise(thread, 1 + r.below(60) as u32, slot);
                }
            }
        }
        if r.below(3) == 0 {
            b.truncated()
        } else {
            b.finish_with(sample_stats())
        }
    }

    #[test]
    fn streaming_matches_to_codetracer_on_random_traces() {
        for seed in 0..120 {
            streamed(&random_trace(seed, 1 + seed as usize * 3));
        }
        // Large enough to span many chunks of the default size.
        let big = random_trace(7, 20_000);
        let bytes = write_trace(&big);
        let mut events = EventStream::open(Cursor::new(&bytes)).unwrap();
        while events.next_event().unwrap().is_some() {}
        let chunks = events.progress().chunks;
        assert!(chunks > 4, "{chunks} chunks");
        streamed(&big);
    }
}
