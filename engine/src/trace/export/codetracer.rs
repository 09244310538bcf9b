//! CodeTracer's JSON trace folder: `trace.json`, `trace_metadata.json` and
//! `trace_paths.json`, as read by CodeTracer's `codetracer_trace_types`
//! (0.16) and `runtime_tracing` (0.15) JSON readers.
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
//!   that **function id = code id + 1**. Each code gets its own function id
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
//! * Threads: with more than one thread, each `thread_start` becomes
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
//! adds the naming mode, the threads and, per code, its function id, file,
//! qualname, module name and label. Readers ignore unknown keys.
//!
//! # `trace_paths.json`
//!
//! The `Path` records' strings, in id order.

use super::{bytes_literal, float_text, recorded_labels, render_slot};
use crate::path;
use crate::trace::model::{Event, SequenceKind, Slot, Trace, Value, Var};
use crate::trace::refilter::Relabel;
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

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

/// `trace` as a CodeTracer JSON trace folder (see the module docs).
pub fn to_codetracer(trace: &Trace) -> CodeTracerFolder {
    let labels = recorded_labels(trace);
    let mut w = Writer {
        records: Vec::with_capacity(trace.events.len() * 2 + 8),
        paths: Vec::new(),
        path_ids: FxHashMap::default(),
        types: FxHashMap::default(),
        type_count: 0,
        vars: FxHashMap::default(),
    };
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
    // One function per code: function id = code id + 1.
    let mut code_paths = Vec::with_capacity(trace.codes.len());
    for (i, code) in trace.codes.iter().enumerate() {
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

    let multi = {
        let mut threads = trace.events.iter().map(Event::thread);
        let first = threads.next();
        threads.any(|t| Some(t) != first)
    };
    let mut current: Option<u32> = None;
    let mut stacks: FxHashMap<u32, Vec<Frame>> = FxHashMap::default();
    let mut thread_order: Vec<u32> = Vec::new();
    for event in &trace.events {
        let thread = event.thread();
        if let Event::ThreadStart { .. } = event {
            if multi {
                w.emit(&Record::ThreadStart(u64::from(thread)));
            }
            continue;
        }
        if multi && current != Some(thread) {
            if current.is_some() {
                w.emit(&Record::ThreadSwitch(u64::from(thread)));
            }
            current = Some(thread);
        }
        let stack = stacks.entry(thread).or_insert_with(|| {
            thread_order.push(thread);
            Vec::new()
        });
        match event {
            Event::ThreadStart { .. } => {}
            Event::Call { code, args, .. } => {
                let mut frame = Frame::new(*code);
                let args = w.args(&mut frame, args);
                w.enter(&mut frame, &code_paths, trace, args);
                stack.push(frame);
            }
            Event::Resume { code, .. } => {
                let mut frame = Frame::new(*code);
                w.enter(&mut frame, &code_paths, trace, Vec::new());
                stack.push(frame);
            }
            Event::Throw {
                code, exception, ..
            } => {
                let mut frame = Frame::new(*code);
                let var = Var {
                    kind: crate::ValueKind::Arg,
                    name: "exception".into(),
                    value: (**exception).clone(),
                };
                let args = w.args(&mut frame, std::slice::from_ref(&var));
                w.enter(&mut frame, &code_paths, trace, args);
                stack.push(frame);
            }
            Event::Line { line, vars, .. } => {
                let Some(frame) = stack.last_mut() else {
                    continue;
                };
                let path_id = w.code_path(frame.code, &code_paths, program_id);
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
                    w.emit(&Record::Value(FullValueRecord {
                        variable_id: *variable_id,
                        value: value.clone(),
                    }));
                }
            }
            Event::Return { value, .. }
            | Event::Yield { value, .. }
            | Event::Unwind { value, .. } => {
                if stack.pop().is_none() {
                    continue;
                }
                let return_value = w.required(value);
                w.emit(&Record::Return(ReturnRecord { return_value }));
            }
            Event::Raise {
                line, exception, ..
            } => {
                let path_id = stack
                    .last()
                    .map_or(program_id, |f| w.code_path(f.code, &code_paths, program_id));
                let metadata = json!({
                    "event": "raise",
                    "thread": thread,
                    "path_id": path_id,
                    "line": line,
                });
                w.emit(&Record::Event(EventRecord {
                    kind: EVENT_ERROR,
                    metadata: metadata.to_string(),
                    content: render_slot(exception),
                }));
            }
        }
    }
    // Close what a cut-short trace left open, then `<toplevel>`.
    for thread in &thread_order {
        let open = stacks.get(thread).map_or(0, Vec::len);
        if open == 0 {
            continue;
        }
        if multi && current != Some(*thread) {
            w.emit(&Record::ThreadSwitch(u64::from(*thread)));
            current = Some(*thread);
        }
        for _ in 0..open {
            let return_value = w.error("<unfinished>", "Unfinished");
            w.emit(&Record::Return(ReturnRecord { return_value }));
        }
    }
    if let (true, Some(first)) = (multi, thread_order.first()) {
        if current != Some(*first) {
            w.emit(&Record::ThreadSwitch(u64::from(*first)));
        }
    }
    let exit = trace.trailer.as_ref().and_then(|t| t.exit_status);
    let return_value = match exit {
        Some(code) => ValueRecord::Int {
            i: i64::from(code),
            type_id: w.ty(KIND_INT, "Int", SpecificInfo::None),
        },
        None => ValueRecord::None {
            type_id: w.ty(KIND_NONE, "None", SpecificInfo::None),
        },
    };
    w.emit(&Record::Return(ReturnRecord { return_value }));

    let mut trace_json = String::with_capacity(w.records.iter().map(|r| r.len() + 2).sum());
    trace_json.push_str("[\n");
    trace_json.push_str(&w.records.join(",\n"));
    trace_json.push_str("\n]\n");
    CodeTracerFolder {
        trace_json,
        metadata_json: metadata(trace, &program, &labels),
        paths_json: serde_json::to_string(&w.paths).unwrap_or_default(),
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

/// One traced activation: its code and the variables known so far.
struct Frame {
    code: u32,
    bindings: Vec<(usize, ValueRecord)>,
    index: FxHashMap<usize, usize>,
}

impl Frame {
    fn new(code: u32) -> Frame {
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

struct Writer {
    records: Vec<String>,
    paths: Vec<String>,
    path_ids: FxHashMap<String, usize>,
    types: FxHashMap<(u8, String, SpecificInfo), usize>,
    type_count: usize,
    vars: FxHashMap<String, usize>,
}

impl Writer {
    fn emit(&mut self, record: &Record) {
        // Serialising these records cannot fail: no maps with non-string keys.
        self.records
            .push(serde_json::to_string(record).unwrap_or_default());
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

    fn code_path(&self, code: u32, code_paths: &[usize], fallback: usize) -> usize {
        code_paths.get(code as usize).copied().unwrap_or(fallback)
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
            let record = FullValueRecord { variable_id, value };
            self.emit(&Record::Value(record.clone()));
            frame.bind(variable_id, record.value.clone());
            out.push(record);
        }
        out
    }

    /// `Step` to the function's first line, then `Call`.
    fn enter(
        &mut self,
        frame: &mut Frame,
        code_paths: &[usize],
        trace: &Trace,
        args: Vec<FullValueRecord>,
    ) {
        let line = trace
            .codes
            .get(frame.code as usize)
            .map_or(1, |c| i64::from(c.first_line));
        let path_id = self.code_path(frame.code, code_paths, 0);
        self.emit(&Record::Step(StepRecord { path_id, line }));
        let function_id = if (frame.code as usize) < trace.codes.len() {
            frame.code as usize + 1
        } else {
            0
        };
        self.emit(&Record::Call(CallRecord { function_id, args }));
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

/// `trace_metadata.json`.
fn metadata(trace: &Trace, program: &str, labels: &[Relabel]) -> String {
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
            json!({"code": t.exit_status, "label": t.detached.as_ref().map(|d| format!("detached: {d}"))})
        }
        None => json!({"code": null, "label": "the recording ended early (no trailer)"}),
    };
    let threads: Vec<serde_json::Value> = trace
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ThreadStart { thread, name, .. } => Some(json!({"id": thread, "name": name})),
            _ => None,
        })
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
enum Record {
    Step(StepRecord),
    Path(String),
    VariableName(String),
    Type(TypeRecord),
    Value(FullValueRecord),
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

#[derive(Serialize, Clone)]
struct FullValueRecord {
    variable_id: usize,
    value: ValueRecord,
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
}
