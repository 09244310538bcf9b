//! One recording: decides each code object once through the engine, turns
//! interpreter events into trace events, and streams them to the file. The
//! interpreter hooks (`monitoring`, `legacy`) only translate callbacks into
//! calls on a [`Session`].

use crate::encode::Encoder;
use crate::inputs::InputsTracker;
use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyCode, PyDict, PyString, PyTuple};
use rustc_hash::{FxHashMap, FxHashSet};
use std::fs::File;
use std::io::{BufWriter, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;
use tracesieve_engine::trace::policy::{self, Site};
use tracesieve_engine::trace::secrets::Secrets;
use tracesieve_engine::trace::{
    CodeInfo, Event, FilterStats, Name, Slot, SourceFile, TraceHeader, TraceWriter, Trailer, Value,
    ValuesMode, Var,
};
use tracesieve_engine::{
    module_identity, Decision, DecisionCache, Exec, FilterChain, NamingMode, Scope, ValueKind,
};

/// Settings fixed for a whole recording.
pub struct SessionConfig {
    /// The header to write (it carries the chain, naming, values and bounds).
    pub header: TraceHeader,
    /// The chain the header describes, loaded.
    pub chain: FilterChain,
    /// Embed source files.
    pub sources: bool,
    /// Largest source file embedded, in bytes.
    pub max_source_bytes: u64,
    /// Code under this directory (tracesieve's own package) is never recorded.
    pub ignore_prefix: String,
}

/// What the hooks should do with a code object from now on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Seen for the first time and recorded: turn its events on.
    RecordFirst,
    /// Keep delivering its events.
    Record,
    /// Stop delivering its events (return DISABLE where possible).
    Ignore,
}

/// A code object that is recorded.
struct RecordedCode {
    id: u32,
    decision: Arc<Decision>,
    module_level: bool,
    arg_names: Vec<Name>,
    global_names: Vec<Py<PyString>>,
}

enum CodeEntry {
    /// Not recorded (skipped by the filter, synthetic, or tracesieve's own).
    Ignored,
    Recorded(Rc<RecordedCode>),
}

struct Frame {
    code: Rc<RecordedCode>,
    /// Raw encodings of the values written for this frame, to write only changes.
    previous: FxHashMap<Name, Value>,
    /// The dict of its locals that the frame object keeps once they are
    /// read (`f_locals` on 3.11 and 3.12), let go when the frame exits
    /// (see [`release_locals`]).
    locals: Option<Py<PyDict>>,
}

impl Frame {
    fn new(code: Rc<RecordedCode>, previous: FxHashMap<Name, Value>) -> Frame {
        Frame {
            code,
            previous,
            locals: None,
        }
    }
}

struct ThreadState {
    number: u32,
    frames: Vec<Frame>,
}

/// A thread (not the first) whose name `threading` does not know yet: its first events are
/// those of `threading`'s own start-up code (when the filter traces it),
/// which runs before the thread is registered. Its `thread_start` waits,
/// with the events after it, until the name is known, so that the thread
/// has the name it has when a filter that skips `threading` first sees it
/// (parity with re-filtering). At most [`MAX_PENDING_EVENTS`] events wait.
struct PendingThread {
    /// When it was first seen.
    t: u64,
    events: Vec<Event>,
}

/// The most events held back for a thread whose name is not known yet;
/// past them it is written with no name.
const MAX_PENDING_EVENTS: usize = 256;

/// Counts for the summary line.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    /// Events written.
    pub events: u64,
    /// Call events written.
    pub calls: u64,
    /// Line events written.
    pub lines: u64,
    /// Code objects recorded.
    pub codes: u32,
}

/// A recording in progress.
pub struct Session {
    writer: TraceWriter<BufWriter<File>>,
    chain: FilterChain,
    naming: NamingMode,
    values: ValuesMode,
    platform: tracesieve_engine::Platform,
    encoder: Encoder,
    started: Instant,
    codes: FxHashMap<usize, CodeEntry>,
    keep_alive: Vec<Py<PyAny>>,
    threads: FxHashMap<u64, ThreadState>,
    /// The number the next thread seen gets.
    next_thread: u32,
    inputs: InputsTracker,
    decisions: DecisionCache,
    sources_seen: FxHashSet<String>,
    stats: FilterStats,
    /// The texts redacted so far, redacted by value from then on.
    secrets: Secrets,
    counts: Counts,
    config_sources: bool,
    max_source_bytes: u64,
    ignore_prefix: String,
    /// The trace file's path and identity, to notice it deleted or replaced.
    file: TraceFile,
    /// When [`Session::seal_at_rest`] last sealed (ns since the start).
    last_rest_seal: Option<u64>,
    /// Threads whose `thread_start` waits for their name, by number.
    pending: FxHashMap<u32, PendingThread>,
}

/// The least time between two seals made because a thread's last recorded
/// frame exited.
const REST_SEAL_INTERVAL_NS: u64 = 2_000_000;

/// The trace file being written: its path and, for a regular file, its
/// device and inode numbers when it was created.
struct TraceFile {
    path: String,
    identity: Option<(u64, u64)>,
}

impl TraceFile {
    /// Whether the path no longer names the file being written (it was
    /// deleted, or replaced by another file). Devices are never gone.
    fn is_gone(&self) -> bool {
        self.identity.is_some_and(|identity| {
            std::fs::metadata(&self.path)
                .map(|meta| (meta.dev(), meta.ino()) != identity)
                .unwrap_or(true)
        })
    }
}

/// What is left of a recording once its interpreter side is let go: the
/// open trace and the statistics its trailer needs. Holds no Python object,
/// so it can be finished after the interpreter has ended (the exit status
/// of `tracesieve record` is known only then).
pub struct OpenTrace {
    writer: TraceWriter<BufWriter<File>>,
    stats: FilterStats,
}

impl OpenTrace {
    /// Writes the trailer and closes the file. `detached` is the fault that
    /// stopped recording early, `size_limit` the size at which it stopped.
    pub fn finish(
        self,
        exit_status: Option<i32>,
        detached: Option<String>,
        size_limit: Option<u64>,
    ) -> std::io::Result<()> {
        let trailer = Trailer {
            exit_status,
            end_unix_ms: unix_ms(),
            stats: self.stats,
            detached,
            size_limit,
        };
        let mut sink = self.writer.finish(&trailer)?;
        std::io::Write::flush(&mut sink)
    }
}

// SAFETY: a Session is only ever used with the GIL held, behind a mutex.
// Its `Rc`s never leave it and `Py` handles are only touched under the GIL.
unsafe impl Send for Session {}

fn now_ns(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

impl Session {
    /// Opens `path` and writes the header.
    /// The header is written through at once, so a path that cannot take
    /// data (`/dev/full`, a full disk) fails here, before anything runs.
    pub fn create(path: &str, config: SessionConfig) -> std::io::Result<Session> {
        let file = File::create(path)?;
        let meta = file.metadata()?;
        let identity = meta.is_file().then(|| (meta.dev(), meta.ino()));
        let header = config.header;
        let mut writer = TraceWriter::new(BufWriter::with_capacity(1 << 16, file), &header)?;
        writer.flush()?;
        Ok(Session {
            writer,
            chain: config.chain,
            naming: header.naming,
            values: header.values,
            platform: header.platform,
            encoder: Encoder::new(header.bounds, header.repr),
            started: Instant::now(),
            codes: FxHashMap::default(),
            keep_alive: Vec::new(),
            threads: FxHashMap::default(),
            next_thread: 0,
            inputs: InputsTracker::new(header.cwd.clone()),
            decisions: DecisionCache::new(),
            sources_seen: FxHashSet::default(),
            stats: FilterStats::default(),
            secrets: Secrets::default(),
            counts: Counts::default(),
            config_sources: config.sources,
            max_source_bytes: config.max_source_bytes,
            ignore_prefix: config.ignore_prefix,
            file: TraceFile {
                path: path.to_string(),
                identity,
            },
            last_rest_seal: None,
            pending: FxHashMap::default(),
        })
    }

    /// The counts so far.
    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// The filter statistics so far.
    pub fn stats(&self) -> &FilterStats {
        &self.stats
    }

    /// The size the trace file has so far, or a little more: the bytes
    /// written plus the records buffered for the open chunk, counted before
    /// compression. Cheap enough to ask after every event.
    pub fn trace_bytes(&self) -> u64 {
        self.writer.bytes_written() + self.writer.buffered_bytes() as u64
    }

    /// Lets go of everything that belongs to the interpreter (code objects,
    /// names, the encoder's caches; the GIL must be held) and keeps the open
    /// trace, for its trailer.
    pub fn close(mut self) -> OpenTrace {
        // Threads still waiting for their name are written without one
        // (an error here shows again when the trailer is written).
        let waiting: Vec<u32> = self.pending.keys().copied().collect();
        for number in waiting {
            let _ = self.start_pending(number, String::new());
        }
        self.into_trace()
    }

    fn into_trace(self) -> OpenTrace {
        OpenTrace {
            writer: self.writer,
            stats: self.stats,
        }
    }

    /// Lets go of the recording without writing another byte to its file:
    /// in a child process after `fork()`, where the file is the parent's.
    /// Buffered records are dropped unwritten; the file descriptor is closed.
    pub fn abandon(self) {
        let OpenTrace { writer, .. } = self.into_trace();
        let (file, _unwritten) = writer.into_sink_unsealed().into_parts();
        drop(file);
    }

    /// Seals the buffered events into a chunk now, if there are any: the
    /// timer's seal when no event comes to do it (`crate::sealing`). An
    /// error leaves the writer broken, and the next event reports it.
    pub fn seal_buffered(&mut self) {
        if self.writer.buffered_bytes() > 0 {
            let _ = self.writer.flush();
        }
    }

    /// Whether the trace file was deleted or replaced while recording.
    pub fn trace_file_gone(&self) -> bool {
        self.file.is_gone()
    }

    /// Seals the buffered events, first checking that the file is still
    /// there: events written to a deleted file are lost, so that is a fault.
    fn seal(&mut self) -> PyResult<()> {
        if self.file.is_gone() {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
                "the trace file {} was deleted or replaced while recording",
                self.file.path
            )));
        }
        self.writer.flush()?;
        Ok(())
    }

    fn write(&mut self, event: Event) -> PyResult<()> {
        if !self.pending.is_empty() {
            let number = event.thread();
            if let Some(pending) = self.pending.get_mut(&number) {
                pending.events.push(event);
                if pending.events.len() > MAX_PENDING_EVENTS {
                    return self.start_pending(number, String::new());
                }
                return Ok(());
            }
        }
        self.write_now(event)
    }

    /// Writes the `thread_start` of pending thread `number` with `name`,
    /// then the events held back for it.
    fn start_pending(&mut self, number: u32, name: String) -> PyResult<()> {
        let Some(pending) = self.pending.remove(&number) else {
            return Ok(());
        };
        self.write_now(Event::ThreadStart {
            thread: number,
            name,
            t: pending.t,
        })?;
        for event in pending.events {
            self.write_now(event)?;
        }
        Ok(())
    }

    fn write_now(&mut self, event: Event) -> PyResult<()> {
        self.counts.events += 1;
        // Sealed a few times a second (the timer asks), so a killed program
        // leaves a trace readable up to its last fraction of a second.
        if crate::sealing::take_due() {
            self.seal()?;
        }
        match event {
            Event::Call { .. } => self.counts.calls += 1,
            Event::Line { .. } => self.counts.lines += 1,
            _ => {}
        }
        self.writer.event(&event)?;
        Ok(())
    }

    /// The key of the current thread, writing ThreadStart the first time.
    /// Threads are told apart by their thread state's id, which the
    /// interpreter never reuses (thread idents are reused once a thread
    /// ends), so the recorder keeps no Python object per thread.
    fn thread(&mut self, py: Python<'_>) -> PyResult<u64> {
        let ident = current_thread_key();
        match self.threads.get(&ident) {
            Some(state) if self.pending.contains_key(&state.number) => {
                if let Some(name) = thread_name(py) {
                    self.start_pending(state.number, name)?;
                }
            }
            Some(_) => {}
            None => {
                let number = self.next_thread;
                self.next_thread += 1;
                self.threads.insert(
                    ident,
                    ThreadState {
                        number,
                        frames: Vec::new(),
                    },
                );
                let t = now_ns(self.started);
                let name = thread_name(py);
                if name.is_none() && number > 0 {
                    // Written once `threading` knows it (the first thread,
                    // the main one, is written at once whatever it knows).
                    self.pending.insert(
                        number,
                        PendingThread {
                            t,
                            events: Vec::new(),
                        },
                    );
                } else {
                    self.write(Event::ThreadStart {
                        thread: number,
                        name: name.unwrap_or_default(),
                        t,
                    })?;
                }
            }
        }
        Ok(ident)
    }

    fn entry(&self, code: &Bound<'_, PyAny>) -> Option<&CodeEntry> {
        self.codes.get(&(code.as_ptr() as usize))
    }

    /// A code object starts (PY_START, or a call event on 3.11). `frame`
    /// gives the running frame; it is asked for only to capture arguments,
    /// because on 3.12+ getting it materialises a frame object, which the
    /// interpreter would not make (and a program can tell). `globals` gives
    /// the running frame's globals, for `__name__` at a code object's first
    /// start, without a frame object.
    pub fn start<'py>(
        &mut self,
        py: Python<'py>,
        code: &Bound<'py, PyAny>,
        frame: impl Fn() -> *mut ffi::PyFrameObject,
        globals: impl Fn() -> Option<Bound<'py, PyAny>>,
    ) -> PyResult<Verdict> {
        let (recorded, verdict) = match self.entry(code) {
            Some(CodeEntry::Recorded(rc)) => (rc.clone(), Verdict::Record),
            Some(CodeEntry::Ignored) => return Ok(Verdict::Ignore),
            None => match self.classify(py, code, globals)? {
                Some(rc) => (rc, Verdict::RecordFirst),
                None => return Ok(Verdict::Ignore),
            },
        };
        let ident = self.thread(py)?;
        let mut previous = FxHashMap::default();
        let mut args = Vec::new();
        let frame = if self.values == ValuesMode::None {
            std::ptr::null_mut()
        } else {
            frame()
        };
        if !frame.is_null() {
            let locals = frame_locals(py, frame)?;
            for name in &recorded.arg_names {
                let Some(value) = locals.get(name) else {
                    continue;
                };
                let raw = self.encoder.encode(&value);
                previous.insert(name.clone(), raw.clone());
                let slot = policy::slot(
                    &recorded.decision,
                    Site::Arg(name),
                    Slot::Value { value: raw },
                    &mut self.stats,
                    &mut self.secrets,
                );
                if let Some(value) = slot {
                    args.push(Var {
                        kind: ValueKind::Arg,
                        name: name.clone(),
                        value,
                    });
                }
            }
        }
        let thread = self.push(ident, Frame::new(recorded.clone(), previous));
        self.write(Event::Call {
            thread,
            t: now_ns(self.started),
            code: recorded.id,
            args,
        })?;
        Ok(verdict)
    }

    fn push(&mut self, ident: u64, frame: Frame) -> u32 {
        let state = self
            .threads
            .get_mut(&ident)
            .expect("thread() registered this thread");
        state.frames.push(frame);
        state.number
    }

    /// Decides a code object seen for the first time; writes its code record.
    fn classify<'py>(
        &mut self,
        py: Python<'py>,
        code: &Bound<'py, PyAny>,
        globals: impl Fn() -> Option<Bound<'py, PyAny>>,
    ) -> PyResult<Option<Rc<RecordedCode>>> {
        let key = code.as_ptr() as usize;
        self.keep_alive.push(code.clone().unbind());
        let pycode = code.cast::<PyCode>()?;
        let filename: String = pycode.getattr("co_filename")?.extract()?;
        if !self.ignore_prefix.is_empty() && filename.starts_with(&self.ignore_prefix) {
            self.codes.insert(key, CodeEntry::Ignored);
            return Ok(None);
        }
        let qualname: String = pycode.getattr("co_qualname")?.extract()?;
        let first_line: u32 = pycode.getattr("co_firstlineno")?.extract()?;
        let dunder_name = globals().and_then(|g| dunder_name_of(&g));
        let inputs_at = self
            .inputs
            .update(py, &filename, self.platform, &mut self.writer)?;
        let code_info = CodeInfo {
            id: self.counts.codes,
            filename: filename.clone(),
            qualname: qualname.clone(),
            first_line,
            dunder_name: dunder_name.clone(),
            inputs: inputs_at,
        };
        let identity = match self.naming {
            NamingMode::Globals => tracesieve_engine::from_dunder_name(dunder_name.as_deref()),
            NamingMode::Paths => {
                let inputs = self.writer_inputs(&code_info);
                module_identity(
                    NamingMode::Paths,
                    dunder_name.as_deref(),
                    &filename,
                    &inputs,
                )
            }
        };
        let mut scope = Scope::new(filename.clone(), qualname.clone(), identity);
        scope.first_line = Some(first_line);
        // Through the engine's cache, keyed by this chain's identity (D5).
        let decision = self
            .decisions
            .get_or_explain(&self.chain, key as u64, || scope);
        if !decision.is_recorded() {
            // Synthetic code (`<string>`, `<frozen …>`) is never recorded,
            // whatever the filter says, so it is not counted as skipped:
            // re-filtering, which never sees it, counts the same (parity).
            if decision.exec() == Exec::Skip && !decision.is_synthetic() {
                self.stats.scopes_skipped += 1;
            }
            self.codes.insert(key, CodeEntry::Ignored);
            return Ok(None);
        }
        self.writer.code(&code_info)?;
        self.counts.codes += 1;
        self.embed_source(&filename)?;
        let recorded = Rc::new(RecordedCode {
            id: code_info.id,
            decision,
            module_level: tracesieve_engine::is_module_body(&qualname),
            arg_names: arg_names(pycode)?,
            global_names: global_names(pycode)?,
        });
        self.codes
            .insert(key, CodeEntry::Recorded(recorded.clone()));
        Ok(Some(recorded))
    }

    fn writer_inputs(&self, code: &CodeInfo) -> tracesieve_engine::ResolverInputs {
        self.inputs.resolver_inputs(code.inputs, self.platform)
    }

    fn embed_source(&mut self, filename: &str) -> PyResult<()> {
        if !self.config_sources || !self.sources_seen.insert(filename.to_string()) {
            return Ok(());
        }
        let (text, omitted) = match read_source(filename, self.max_source_bytes) {
            Ok(text) => (Some(text), None),
            Err(why) => (None, Some(why)),
        };
        self.writer.source(&SourceFile {
            path: filename.to_string(),
            text,
            omitted,
        })?;
        Ok(())
    }

    /// The innermost recorded frame of this thread, if it runs `code`. A
    /// thread with no recorded frame has none (and gets no ThreadStart here).
    fn top(&self, code: &Bound<'_, PyAny>) -> Option<(u64, Rc<RecordedCode>)> {
        let Some(CodeEntry::Recorded(rc)) = self.entry(code) else {
            return None;
        };
        let ident = current_thread_key();
        let matches = self
            .threads
            .get(&ident)
            .and_then(|t| t.frames.last())
            .is_some_and(|f| Rc::ptr_eq(&f.code, rc));
        matches.then(|| (ident, rc.clone()))
    }

    /// Whether events of `code` should keep coming.
    fn verdict_for(&self, code: &Bound<'_, PyAny>) -> Verdict {
        match self.entry(code) {
            Some(CodeEntry::Recorded(_)) => Verdict::Record,
            _ => Verdict::Ignore,
        }
    }

    /// A recorded generator or coroutine resumes.
    pub fn resume(&mut self, py: Python<'_>, code: &Bound<'_, PyAny>) -> PyResult<Verdict> {
        let Some(CodeEntry::Recorded(rc)) = self.entry(code) else {
            return Ok(Verdict::Ignore);
        };
        let rc = rc.clone();
        let ident = self.thread(py)?;
        let thread = self.push(ident, Frame::new(rc.clone(), FxHashMap::default()));
        self.write(Event::Resume {
            thread,
            t: now_ns(self.started),
            code: rc.id,
        })?;
        Ok(Verdict::Record)
    }

    /// An exception is thrown into a recorded generator.
    pub fn throw(
        &mut self,
        py: Python<'_>,
        code: &Bound<'_, PyAny>,
        exception: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let Some(CodeEntry::Recorded(rc)) = self.entry(code) else {
            return Ok(());
        };
        let rc = rc.clone();
        let ident = self.thread(py)?;
        let raw = self.capture(exception);
        let value = policy::slot(
            &rc.decision,
            Site::Arg("exception"),
            raw,
            &mut self.stats,
            &mut self.secrets,
        )
        .unwrap_or(Slot::Dropped);
        let thread = self.push(ident, Frame::new(rc.clone(), FxHashMap::default()));
        self.write(Event::Throw {
            thread,
            t: now_ns(self.started),
            code: rc.id,
            exception: Box::new(value),
        })
    }

    fn capture(&self, value: &Bound<'_, PyAny>) -> Slot {
        if self.values == ValuesMode::None {
            Slot::Absent
        } else {
            Slot::Value {
                value: self.encoder.encode(value),
            }
        }
    }

    /// A line of a recorded frame is about to run; `frame` is asked for only
    /// when values are captured.
    pub fn line(
        &mut self,
        py: Python<'_>,
        code: &Bound<'_, PyAny>,
        line: u32,
        frame: impl Fn() -> *mut ffi::PyFrameObject,
    ) -> PyResult<Verdict> {
        let Some((ident, rc)) = self.top(code) else {
            return Ok(self.verdict_for(code));
        };
        let mut vars = Vec::new();
        let frame = if self.values == ValuesMode::All {
            frame()
        } else {
            std::ptr::null_mut()
        };
        if !frame.is_null() {
            let Snapshot {
                values: current,
                kept_locals,
            } = self.snapshot(py, &rc, frame)?;
            let state = self
                .threads
                .get_mut(&ident)
                .expect("top() found the thread");
            let top = state.frames.last_mut().expect("top() found a frame");
            if kept_locals.is_some() {
                top.locals = kept_locals;
            }
            let previous = &mut top.previous;
            for (kind, name, raw) in current {
                if previous.get(&name) == Some(&raw) {
                    continue;
                }
                previous.insert(name.clone(), raw.clone());
                let site = match kind {
                    ValueKind::Global => Site::Global(&name),
                    _ => Site::Local {
                        name: &name,
                        module_level: rc.module_level,
                    },
                };
                if let Some(value) = policy::slot(
                    &rc.decision,
                    site,
                    Slot::Value { value: raw },
                    &mut self.stats,
                    &mut self.secrets,
                ) {
                    vars.push(Var { kind, name, value });
                }
            }
        }
        let thread = self.threads[&ident].number;
        self.write(Event::Line {
            thread,
            t: now_ns(self.started),
            line,
            vars,
        })?;
        Ok(Verdict::Record)
    }

    /// Reads the frame's locals, then the globals its code names.
    fn snapshot(
        &self,
        py: Python<'_>,
        rc: &RecordedCode,
        frame: *mut ffi::PyFrameObject,
    ) -> PyResult<Snapshot> {
        let mut out = Vec::new();
        let locals = frame_locals(py, frame)?;
        // A function's locals dict stays on its frame (3.11, 3.12); a
        // module body's is its globals.
        let kept_locals = match &locals {
            Locals::Dict(dict) if !rc.module_level => Some(dict.clone().unbind()),
            _ => None,
        };
        let mut local_names = FxHashSet::default();
        let mut add = |name: Bound<'_, PyAny>, value: Bound<'_, PyAny>| {
            let Ok(name) = name.cast_exact::<PyString>() else {
                return;
            };
            let name = Name::from(name.to_string_lossy());
            if !is_dunder(&name) {
                out.push((ValueKind::Local, name.clone(), self.encoder.encode(&value)));
                local_names.insert(name);
            }
        };
        match &locals {
            // 3.11 and 3.12 give a dict: walk it directly.
            Locals::Dict(dict) => dict.iter().for_each(|(name, value)| add(name, value)),
            // 3.13 gives a write-through proxy (the interpreter's own type).
            Locals::Proxy(proxy) => {
                for item in proxy.call_method0("items")?.try_iter()? {
                    let (name, value) = item?.extract()?;
                    add(name, value);
                }
            }
            // A class body run with a mapping of the program's (a
            // metaclass's `__prepare__`): reading it would run its code.
            Locals::Other => {}
        }
        if !rc.module_level {
            // SAFETY: `frame` is the live frame of the current callback.
            let globals = unsafe { Bound::from_owned_ptr(py, ffi::PyFrame_GetGlobals(frame)) };
            let globals = globals.cast::<PyDict>()?;
            for name in &rc.global_names {
                let name = name.bind(py);
                let text = name.to_string_lossy();
                if local_names.contains(&*text) || is_dunder(&text) {
                    continue;
                }
                if let Some(value) = globals.get_item(name)? {
                    out.push((ValueKind::Global, text.into(), self.encoder.encode(&value)));
                }
            }
        }
        Ok(Snapshot {
            values: out,
            kept_locals,
        })
    }

    fn leave(
        &mut self,
        code: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        site: Site<'_>,
        frame: impl Fn() -> *mut ffi::PyFrameObject,
    ) -> PyResult<Verdict> {
        let Some((ident, rc)) = self.top(code) else {
            return Ok(self.verdict_for(code));
        };
        let raw = self.capture(value);
        let slot = policy::slot(&rc.decision, site, raw, &mut self.stats, &mut self.secrets)
            .unwrap_or(Slot::Dropped);
        let state = self
            .threads
            .get_mut(&ident)
            .expect("top() found the thread");
        let left = state.frames.pop();
        let at_rest = state.frames.is_empty();
        let thread = state.number;
        let t = now_ns(self.started);
        self.write(match site {
            Site::Yield => Event::Yield {
                thread,
                t,
                value: slot,
            },
            Site::Unwind => Event::Unwind {
                thread,
                t,
                value: slot,
            },
            _ => Event::Return {
                thread,
                t,
                value: slot,
            },
        })?;
        if at_rest {
            self.seal_at_rest(t)?;
        }
        if let Some(locals) = left.and_then(|f| f.locals) {
            release_locals(code.py(), locals, frame());
        }
        Ok(Verdict::Record)
    }

    /// A thread's last recorded frame exited (a pool worker finished a
    /// task, a thread its target): what is buffered is sealed now, or by
    /// the timer a moment later when the last such seal is under
    /// [`REST_SEAL_INTERVAL_NS`] old, so that a process killed while it
    /// waits (a pool's workers are ended by SIGTERM) keeps what it did,
    /// and a thread that comes to rest often seals a few hundred times a
    /// second at most.
    fn seal_at_rest(&mut self, t: u64) -> PyResult<()> {
        if self
            .last_rest_seal
            .is_some_and(|last| t.saturating_sub(last) < REST_SEAL_INTERVAL_NS)
        {
            // Too soon after the last: the timer seals in a moment.
            crate::sealing::seal_soon();
            return Ok(());
        }
        self.last_rest_seal = Some(t);
        if self.writer.buffered_bytes() > 0 {
            self.seal()?;
        }
        Ok(())
    }

    /// A recorded frame returns; `frame` gives its frame object.
    pub fn ret(
        &mut self,
        code: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        frame: impl Fn() -> *mut ffi::PyFrameObject,
    ) -> PyResult<Verdict> {
        self.leave(code, value, Site::Return, frame)
    }

    /// A recorded generator yields; `frame` gives its frame object.
    pub fn yielded(
        &mut self,
        code: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
        frame: impl Fn() -> *mut ffi::PyFrameObject,
    ) -> PyResult<Verdict> {
        self.leave(code, value, Site::Yield, frame)
    }

    /// A recorded frame exits by an exception; `frame` gives its frame
    /// object.
    pub fn unwind(
        &mut self,
        code: &Bound<'_, PyAny>,
        exception: &Bound<'_, PyAny>,
        frame: impl Fn() -> *mut ffi::PyFrameObject,
    ) -> PyResult<()> {
        self.leave(code, exception, Site::Unwind, frame).map(|_| ())
    }

    /// An exception is raised in a recorded frame, at `line()` (asked for
    /// only when the frame is recorded).
    pub fn raise(
        &mut self,
        code: &Bound<'_, PyAny>,
        exception: &Bound<'_, PyAny>,
        line: impl FnOnce() -> u32,
    ) -> PyResult<()> {
        let Some((ident, rc)) = self.top(code) else {
            return Ok(());
        };
        let line = line();
        let raw = self.capture(exception);
        let slot = policy::slot(
            &rc.decision,
            Site::Raise,
            raw,
            &mut self.stats,
            &mut self.secrets,
        )
        .unwrap_or(Slot::Dropped);
        let thread = self.threads[&ident].number;
        self.write(Event::Raise {
            thread,
            t: now_ns(self.started),
            line,
            exception: Box::new(slot),
        })
    }
}

/// The text of a source file to embed, or why it is left out. Only a
/// regular file is read (a FIFO would block the program, a device such as
/// `/dev/zero` never ends), opened without blocking, and no more than
/// `max_bytes` of it: its size is checked on the open file, and the read
/// is bounded in case it grows.
fn read_source(filename: &str, max_bytes: u64) -> Result<String, String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(filename)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".to_string());
    }
    if meta.len() > max_bytes {
        return Err(format!(
            "{} bytes, over the {max_bytes} byte limit",
            meta.len()
        ));
    }
    let mut bytes = Vec::new();
    file.take(max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > max_bytes {
        return Err(format!("over the {max_bytes} byte limit"));
    }
    String::from_utf8(bytes).map_err(|_| "not UTF-8".to_string())
}

/// The id of the current thread's thread state: unique for the life of the
/// interpreter, unlike a thread ident, which the next thread may reuse.
fn current_thread_key() -> u64 {
    // SAFETY: called with the GIL held, so there is a current thread state.
    let id = unsafe { ffi::PyThreadState_GetID(ffi::PyThreadState_Get()) };
    id as u64
}

/// The name of the current thread's `threading.Thread`, read without
/// running the program's code: the object is found in `threading._active`
/// (never made, as `threading.current_thread()` makes a `_DummyThread` for
/// a thread `threading` did not start), and its `_name` is read from the
/// instance (not through a `name` property a subclass may override). `None`
/// for a thread `threading` does not know.
fn thread_name(py: Python<'_>) -> Option<String> {
    let active = crate::modules::get(py).ok()?.active_threads.as_ref()?;
    // `c_ulong` is 32 bits on Windows, so the conversion is not useless there.
    #[allow(clippy::useless_conversion)]
    // SAFETY: plain C call, no arguments.
    let ident = u64::from(unsafe { ffi::PyThread_get_thread_ident() });
    let thread = active.bind(py).get_item(ident).ok().flatten()?;
    let name = if crate::encode::defined_on_type(&thread.get_type(), "_name") {
        None
    } else {
        let key = PyString::new(py, "_name");
        // SAFETY: live objects; the generic lookup reads the instance's own
        // attribute (the type defines no `_name`, checked above). A new
        // reference or NULL with an error set.
        unsafe {
            Bound::from_owned_ptr_or_opt(
                py,
                ffi::PyObject_GenericGetAttr(thread.as_ptr(), key.as_ptr()),
            )
        }
    };
    let _ = PyErr::take(py);
    name?
        .cast_exact::<PyString>()
        .ok()
        .map(|s| s.to_string_lossy().into_owned())
}

fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

/// What a line event read of a frame: raw encodings of its locals, then of
/// the globals its code names, and the dict of its locals that the frame
/// object now keeps, if it keeps one (see [`release_locals`]).
struct Snapshot {
    values: Vec<(ValueKind, Name, Value)>,
    kept_locals: Option<Py<PyDict>>,
}

/// A frame's locals, as far as they can be read without running the
/// program's code.
enum Locals<'py> {
    /// A dict (3.11 and 3.12; a module or class body on 3.13), read with
    /// the dict API (no overridden `__getitem__` or `__iter__` runs).
    Dict(Bound<'py, PyDict>),
    /// 3.13's `FrameLocalsProxy` of a function frame (the interpreter's type).
    Proxy(Bound<'py, PyAny>),
    /// Another mapping: a class body's namespace from a metaclass's
    /// `__prepare__`. Not read.
    Other,
}

impl<'py> Locals<'py> {
    fn get(&self, name: &str) -> Option<Bound<'py, PyAny>> {
        match self {
            Locals::Dict(dict) => dict.get_item(name).ok().flatten(),
            Locals::Proxy(proxy) => proxy.get_item(name).ok(),
            Locals::Other => None,
        }
    }
}

/// Lets go of the dict of locals that reading them made `frame`, about to
/// exit, keep (3.11, 3.12), so that objects live as long as under plain
/// Python: a name the function bound or deleted after the last line event
/// (`except E as e` ends by deleting `e`) would otherwise stay as it was
/// read, and an exception's traceback referring back to the frame would
/// make a cycle that only the garbage collector breaks.
///
/// When only the frame object holds the dict (the program never asked for
/// `locals()` or `f_locals`), the dict is emptied and untracked, as it
/// would be had nobody read it: a later read of `f_locals` fills it again
/// from the frame, and the collector finds no extra object in a cycle
/// through the frame (`gc.collect()` counts what plain Python counts).
/// When the program holds it too, it is read once more, as a debugger's
/// `f_locals` read at that moment would, so what the program sees stays
/// true.
fn release_locals(py: Python<'_>, locals: Py<PyDict>, frame: *mut ffi::PyFrameObject) {
    let locals = locals.into_bound(py);
    let raw = locals.as_ptr();
    // The frame object's reference and `locals`.
    const ONLY_THE_FRAME: isize = 2;
    // SAFETY: `raw` is a live object.
    if unsafe { ffi::Py_REFCNT(raw) } <= ONLY_THE_FRAME {
        locals.clear();
        // SAFETY: `raw` is a live, now empty dict; a dict tracks itself
        // again when an object the collector tracks is put into it, as the
        // collector's own untracking of dicts relies on.
        unsafe {
            if ffi::PyObject_GC_IsTracked(raw) == 1 {
                ffi::PyObject_GC_UnTrack(raw.cast());
            }
        }
    } else if !frame.is_null() {
        let _refreshed = frame_locals(py, frame);
    }
}

/// `frame.f_locals` (a dict, or on 3.13 a write-through proxy).
fn frame_locals<'py>(py: Python<'py>, frame: *mut ffi::PyFrameObject) -> PyResult<Locals<'py>> {
    // SAFETY: `frame` is the live frame of the current callback; the call
    // returns a new reference or NULL with an exception set.
    let locals = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyFrame_GetLocals(frame)) }?;
    if let Ok(dict) = locals.cast::<PyDict>() {
        return Ok(Locals::Dict(dict.clone()));
    }
    let ty = locals.get_type();
    // SAFETY: reading the flags and C name of a live type object.
    let is_proxy = unsafe {
        let raw = ty.as_type_ptr();
        (*raw).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE == 0
            && !(*raw).tp_name.is_null()
            && std::ffi::CStr::from_ptr((*raw).tp_name).to_bytes() == b"FrameLocalsProxy"
    };
    Ok(if is_proxy {
        Locals::Proxy(locals)
    } else {
        Locals::Other
    })
}

/// `__name__` in a frame's globals, if it is a string.
fn dunder_name_of(globals: &Bound<'_, PyAny>) -> Option<String> {
    let globals = globals.cast::<PyDict>().ok()?;
    let name = globals.get_item("__name__").ok()??;
    name.cast_exact::<PyString>()
        .ok()
        .map(|s| s.to_string_lossy().into_owned())
}

/// Parameter names in order: positional, `*args`, keyword-only, `**kwargs`.
///
/// Read one by one with `code._varname_from_oparg(i)` (what `dis` uses),
/// not from `co_varnames`: on 3.12+ that attribute builds a tuple the first
/// time it is read and keeps it on the code object, one more object the
/// program would count with `gc.get_objects()`.
fn arg_names(code: &Bound<'_, PyCode>) -> PyResult<Vec<Name>> {
    const CO_VARARGS: u32 = 0x4;
    const CO_VARKEYWORDS: u32 = 0x8;
    let argcount: usize = code.getattr("co_argcount")?.extract()?;
    let kwonly: usize = code.getattr("co_kwonlyargcount")?.extract()?;
    let flags: u32 = code.getattr("co_flags")?.extract()?;
    let total = argcount
        + kwonly
        + usize::from(flags & CO_VARARGS != 0)
        + usize::from(flags & CO_VARKEYWORDS != 0);
    let varname = intern!(code.py(), "_varname_from_oparg");
    let varnames: Vec<String> = (0..total)
        .map(|i| code.call_method1(varname, (i,))?.extract())
        .collect::<PyResult<_>>()?;
    let at = |i: usize| varnames.get(i).map(|name| Name::from(name.as_str()));
    let mut names: Vec<Name> = (0..argcount).filter_map(at).collect();
    let mut next = argcount + kwonly;
    if flags & CO_VARARGS != 0 {
        names.extend(at(next));
        next += 1;
    }
    names.extend((argcount..argcount + kwonly).filter_map(at));
    if flags & CO_VARKEYWORDS != 0 {
        names.extend(at(next));
    }
    Ok(names)
}

/// The names a code object loads as globals or attributes (`co_names`).
fn global_names(code: &Bound<'_, PyCode>) -> PyResult<Vec<Py<PyString>>> {
    let names = code.getattr("co_names")?;
    let names = names.cast::<PyTuple>()?;
    let mut seen = FxHashSet::default();
    Ok(names
        .iter()
        .filter_map(|n| n.cast_exact::<PyString>().ok().map(|s| s.clone().unbind()))
        .filter(|n| seen.insert(n.as_ptr() as usize))
        .collect())
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(0))
        .unwrap_or(0)
}
