//! The trace model: what a trace file holds, in memory.
//!
//! The recorder produces these records through [`super::TraceWriter`]; the
//! reader rebuilds a [`Trace`] from the file; re-filtering and exports work
//! on a [`Trace`]. Names (of variables, attributes and types) are shared
//! [`Name`]s, as often repeated as they are; other strings are plain
//! `String`s.

use crate::error::FilterError;
use crate::explain::ValueKind;
use crate::filter::{FilterChain, FilterSource, Framework};
use crate::identity::{ModuleFile, NamingMode, ResolverInputs};
use crate::path::Platform;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A name that repeats across a trace (a variable's, an attribute's, a
/// type's): stored once and shared, so a million `i`s cost one string.
pub type Name = Arc<str>;

/// The format version this engine writes. Readers accept any minor version
/// of the same major version and reject other majors.
pub const FORMAT_VERSION: FormatVersion = FormatVersion { major: 1, minor: 1 };

/// A trace file format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatVersion {
    /// Incompatible changes.
    pub major: u16,
    /// Compatible additions.
    pub minor: u16,
}

/// How much of each value the recorder captured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValuesMode {
    /// No values: calls, lines, returns and exceptions only.
    None,
    /// Call arguments and return values only.
    Args,
    /// Arguments, returns, locals and visible globals at lines, exceptions.
    #[default]
    All,
}

impl std::str::FromStr for ValuesMode {
    type Err = String;

    /// Parses `none`, `args` or `all`.
    fn from_str(text: &str) -> Result<ValuesMode, String> {
        match text {
            "none" => Ok(ValuesMode::None),
            "args" => Ok(ValuesMode::Args),
            "all" => Ok(ValuesMode::All),
            other => Err(format!(
                "unknown values mode '{other}' (expected none, args or all)"
            )),
        }
    }
}

/// Limits on value encoding, recorded so a reader knows what was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueBounds {
    /// Nesting depth below which containers are not expanded.
    pub max_depth: u32,
    /// Items (elements, entries, attributes) kept per container.
    pub max_items: u32,
    /// Bytes kept of a `str` (UTF-8) or `bytes` value.
    pub max_string_bytes: u32,
    /// Values (scalars, containers, objects) encoded per recorded value, in
    /// all; past it containers stop taking items and are written cut.
    /// Bounds the work for large object graphs (`32 items × 3 levels` alone
    /// would allow 32,768 nodes).
    #[serde(default = "default_max_nodes")]
    pub max_nodes: u32,
}

fn default_max_nodes() -> u32 {
    100
}

impl Default for ValueBounds {
    fn default() -> ValueBounds {
        ValueBounds {
            max_depth: 3,
            max_items: 32,
            max_string_bytes: 256,
            max_nodes: default_max_nodes(),
        }
    }
}

/// One filter of the record-time chain, complete enough to load it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedFilter {
    /// The path as given, or `<inline:LABEL>` for built-in filters.
    pub path: String,
    /// The exact text.
    pub text: String,
    /// Its project root (`None` for inline filters).
    pub project_root: Option<String>,
    /// Lowercase hex SHA-256 of the text.
    pub sha256: String,
    /// Whether it is an inline (built-in) filter.
    pub inline: bool,
}

impl RecordedFilter {
    /// The source to load this filter again with the same root.
    pub fn to_source(&self) -> FilterSource {
        if self.inline {
            let label = self
                .path
                .strip_prefix("<inline:")
                .and_then(|p| p.strip_suffix('>'))
                .unwrap_or(&self.path);
            FilterSource::inline(label, self.text.clone())
        } else {
            let source = FilterSource::file(self.path.clone(), self.text.clone());
            match &self.project_root {
                Some(root) => source.with_root(root.clone()),
                None => source,
            }
        }
    }

    /// The record for every source of `chain`.
    pub fn from_chain(chain: &FilterChain) -> Vec<RecordedFilter> {
        chain
            .sources()
            .iter()
            .map(|s| RecordedFilter {
                path: s.path.clone(),
                text: s.text.clone(),
                project_root: s.project_root.clone(),
                sha256: s.sha256.clone(),
                inline: s.path.starts_with("<inline:"),
            })
            .collect()
    }
}

/// What the recorder knew when it started. Written once, first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceHeader {
    /// `tracesieve <version>`.
    pub recorder: String,
    /// `sys.version` of the traced interpreter.
    pub python: String,
    /// Path rules of the recording machine.
    pub platform: Platform,
    /// The traced program's `sys.argv`.
    pub argv: Vec<String>,
    /// The working directory at start.
    pub cwd: String,
    /// Wall-clock start, milliseconds since the Unix epoch.
    pub start_unix_ms: u64,
    /// The record-time filter chain, in order.
    pub filters: Vec<RecordedFilter>,
    /// The test framework mode, if any.
    pub framework: Option<Framework>,
    /// How module names were chosen for the record-time decisions.
    pub naming: NamingMode,
    /// How much of each value was captured.
    pub values: ValuesMode,
    /// Value encoding limits.
    pub bounds: ValueBounds,
    /// Whether `repr()` was called for objects without a structural encoding.
    pub repr: bool,
    /// Which process of a trace set this is, when `record` followed the
    /// program's child processes. Absent from the file, and from exports,
    /// when not set, so other traces are byte for byte as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<ProcessInfo>,
}

/// A recorded process of a trace set: `record` writes the first process to
/// `TRACE` and each child process to `TRACE.d/PID.tsieve`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// The process id.
    pub pid: u32,
    /// The parent's process id.
    pub parent: u32,
    /// How the process started.
    pub started: ProcessStart,
}

/// How a recorded process started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessStart {
    /// The program `record` ran.
    Program,
    /// `os.fork()` (a `multiprocessing` fork-start worker among others).
    Fork,
    /// A `multiprocessing` spawn-start worker (a new interpreter).
    Spawn,
    /// A `multiprocessing` forkserver: the server, or a worker it forked.
    Forkserver,
    /// Another Python interpreter the program started (`subprocess`,
    /// `os.exec*`, `os.system`, …).
    Exec,
}

impl ProcessStart {
    /// The word for it, as in the file.
    pub fn word(self) -> &'static str {
        match self {
            ProcessStart::Program => "program",
            ProcessStart::Fork => "fork",
            ProcessStart::Spawn => "spawn",
            ProcessStart::Forkserver => "forkserver",
            ProcessStart::Exec => "exec",
        }
    }
}

impl std::str::FromStr for ProcessStart {
    type Err = String;

    fn from_str(word: &str) -> Result<ProcessStart, String> {
        [
            ProcessStart::Program,
            ProcessStart::Fork,
            ProcessStart::Spawn,
            ProcessStart::Forkserver,
            ProcessStart::Exec,
        ]
        .into_iter()
        .find(|s| s.word() == word)
        .ok_or_else(|| {
            format!("unknown process start '{word}' (expected program, fork, spawn, forkserver or exec)")
        })
    }
}

impl TraceHeader {
    /// The record-time filter chain, loaded again.
    pub fn chain(&self) -> Result<FilterChain, FilterError> {
        let sources: Vec<FilterSource> =
            self.filters.iter().map(RecordedFilter::to_source).collect();
        FilterChain::load(&sources, self.platform)
    }
}

/// Which resolver inputs were in force when a code object was first seen:
/// prefixes of the trace's append-only lists.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputsAt {
    /// Index into [`Trace::sys_paths`] (the `sys.path` version).
    pub sys_path: u32,
    /// How many [`Trace::modules`] entries existed.
    pub modules: u32,
    /// How many [`Trace::markers`] entries existed.
    pub markers: u32,
}

/// A code object the recorder traced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeInfo {
    /// Index in [`Trace::codes`]; events refer to it.
    pub id: u32,
    /// `co_filename`.
    pub filename: String,
    /// `co_qualname`.
    pub qualname: String,
    /// `co_firstlineno`.
    pub first_line: u32,
    /// `__name__` in the frame's globals at the first start, if a string.
    pub dunder_name: Option<String>,
    /// The resolver inputs in force then.
    pub inputs: InputsAt,
}

impl CodeInfo {
    /// Whether it is a module body ([`crate::is_module_body`]).
    pub fn is_module_body(&self) -> bool {
        crate::is_module_body(&self.qualname)
    }
}

/// The source text of a traced file, embedded so the viewer can show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    /// The filename as in [`CodeInfo::filename`].
    pub path: String,
    /// The text, `None` when it could not be read or was over the size cap.
    pub text: Option<String>,
    /// Why there is no text, when there is none.
    pub omitted: Option<String>,
}

/// An encoded Python value. Containers keep their original `length`; fewer
/// items than `length` means the encoding was cut at the bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Value {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool {
        /// The value.
        value: bool,
    },
    /// An `int` that fits in 64 bits.
    Int {
        /// The value.
        value: i64,
    },
    /// A larger `int`, in decimal (in hexadecimal over 65,536 bits).
    BigInt {
        /// Decimal digits, with a leading `-` when negative; an int of over
        /// 65,536 bits (about 19,700 digits) is given in hexadecimal,
        /// `0x…` or `-0x…`, which takes time in proportion to its size.
        digits: String,
    },
    /// A `float`.
    Float {
        /// The value.
        value: f64,
    },
    /// A `str`; `value` holds at most `max_string_bytes` bytes of it.
    Str {
        /// The (possibly cut) text.
        value: String,
        /// The full length in UTF-8 bytes.
        length: u64,
    },
    /// A `bytes` or `bytearray`.
    Bytes {
        /// The (possibly cut) bytes.
        value: Vec<u8>,
        /// The full length.
        length: u64,
    },
    /// A `list`, `tuple`, `set` or `frozenset`.
    Sequence {
        /// Which of the four.
        kind: SequenceKind,
        /// The first items.
        items: Vec<Value>,
        /// The full length.
        length: u64,
    },
    /// A `dict`.
    Dict {
        /// The first entries.
        entries: Vec<(Value, Value)>,
        /// The full length.
        length: u64,
    },
    /// Any other object: its type and attributes (each decided with kind `attr`, D6).
    Object {
        /// `type(obj).__qualname__`, with the module for non-builtins.
        type_name: Name,
        /// The first attributes from `__dict__` / `__slots__`, in order.
        attrs: Vec<Attr>,
        /// How many attributes the object had.
        length: u64,
    },
    /// `repr(obj)` (only with `--repr`).
    Repr {
        /// The object's type.
        type_name: Name,
        /// The (possibly cut) text.
        text: String,
        /// Its full length in bytes.
        length: u64,
    },
    /// `repr(obj)` raised.
    ReprError {
        /// The object's type.
        type_name: Name,
        /// The exception, as `Type: message`.
        message: String,
    },
    /// Not expanded: the depth limit was reached.
    Deep {
        /// The object's type.
        type_name: Name,
    },
    /// Not expanded: the object contains itself.
    Cycle {
        /// The object's type.
        type_name: Name,
    },
    /// Redacted by the filter inside a container: the value of a dict entry
    /// whose key a value pattern redacts (the key is kept). A whole value
    /// that is redacted is a [`Slot::Redacted`] instead.
    Redacted,
}

/// `list`, `tuple`, `set` or `frozenset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SequenceKind {
    /// `list`.
    List,
    /// `tuple`.
    Tuple,
    /// `set`.
    Set,
    /// `frozenset`.
    FrozenSet,
}

/// One attribute of an encoded object. Dropped attributes are left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attr {
    /// The attribute name.
    pub name: Name,
    /// Its value, or the redaction marker.
    pub value: Slot,
}

/// A recorded value, or a marker saying why it is not there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "slot", rename_all = "snake_case")]
pub enum Slot {
    /// The value.
    Value {
        /// The encoding.
        value: Value,
    },
    /// The filter said `redact`: the name is kept, the value is not.
    Redacted,
    /// The filter said `drop` (returns only: other dropped values are left out).
    Dropped,
    /// Not captured (`--values none`, or `args` for locals).
    Absent,
}

/// A named value: an argument, a local, a global.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Var {
    /// `arg`, `local` or `global` (`ret` and `attr` values live elsewhere).
    pub kind: ValueKind,
    /// The name.
    pub name: Name,
    /// The value or its marker.
    pub value: Slot,
}

/// Something that happened on a thread. `t` is nanoseconds since the
/// recording started (monotonic clock).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// A thread's first event; `thread` numbers threads from 0 in order of appearance.
    ThreadStart {
        /// The thread number.
        thread: u32,
        /// `threading.current_thread().name`, when known.
        name: String,
        /// Time.
        t: u64,
    },
    /// A traced function (or module body, class body, generator start) begins.
    Call {
        /// Thread.
        thread: u32,
        /// Time.
        t: u64,
        /// The code object.
        code: u32,
        /// Arguments, in parameter order (dropped ones left out).
        args: Vec<Var>,
    },
    /// A suspended generator or coroutine continues.
    Resume {
        /// Thread.
        thread: u32,
        /// Time.
        t: u64,
        /// The code object.
        code: u32,
    },
    /// An exception is thrown into a suspended generator (`arg` `exception`).
    Throw {
        /// Thread.
        thread: u32,
        /// Time.
        t: u64,
        /// The code object.
        code: u32,
        /// The exception, as the argument `exception` (boxed: throws are
        /// rare, and inline it would make every event 8 bytes larger).
        exception: Box<Slot>,
    },
    /// A line of the innermost traced frame of the thread is about to run.
    Line {
        /// Thread.
        thread: u32,
        /// Time.
        t: u64,
        /// The line number.
        line: u32,
        /// Locals and visible globals whose value changed since this frame's previous line.
        vars: Vec<Var>,
    },
    /// The innermost traced frame returns (`ret` with the object name, or `<return>`).
    Return {
        /// Thread.
        thread: u32,
        /// Time.
        t: u64,
        /// The returned value.
        value: Slot,
    },
    /// The innermost traced frame yields (`ret` `<yield>`).
    Yield {
        /// Thread.
        thread: u32,
        /// Time.
        t: u64,
        /// The yielded value.
        value: Slot,
    },
    /// The innermost traced frame exits by an exception (`ret` `<unwind>`).
    Unwind {
        /// Thread.
        thread: u32,
        /// Time.
        t: u64,
        /// The exception.
        value: Slot,
    },
    /// An exception is raised (or re-raised) in the innermost traced frame.
    Raise {
        /// Thread.
        thread: u32,
        /// Time.
        t: u64,
        /// The line it was raised at.
        line: u32,
        /// The exception (type and attributes; attrs decided with `attr`),
        /// boxed for the same reason as [`Event::Throw`]'s.
        exception: Box<Slot>,
    },
}

impl Event {
    /// The event's thread.
    pub fn thread(&self) -> u32 {
        match self {
            Event::ThreadStart { thread, .. }
            | Event::Call { thread, .. }
            | Event::Resume { thread, .. }
            | Event::Throw { thread, .. }
            | Event::Line { thread, .. }
            | Event::Return { thread, .. }
            | Event::Yield { thread, .. }
            | Event::Unwind { thread, .. }
            | Event::Raise { thread, .. } => *thread,
        }
    }

    /// The event's thread, to renumber it.
    pub fn thread_mut(&mut self) -> &mut u32 {
        match self {
            Event::ThreadStart { thread, .. }
            | Event::Call { thread, .. }
            | Event::Resume { thread, .. }
            | Event::Throw { thread, .. }
            | Event::Line { thread, .. }
            | Event::Return { thread, .. }
            | Event::Yield { thread, .. }
            | Event::Unwind { thread, .. }
            | Event::Raise { thread, .. } => thread,
        }
    }

    /// The event's time, to change it.
    pub fn time_mut(&mut self) -> &mut u64 {
        match self {
            Event::ThreadStart { t, .. }
            | Event::Call { t, .. }
            | Event::Resume { t, .. }
            | Event::Throw { t, .. }
            | Event::Line { t, .. }
            | Event::Return { t, .. }
            | Event::Yield { t, .. }
            | Event::Unwind { t, .. }
            | Event::Raise { t, .. } => t,
        }
    }

    /// The event's time.
    pub fn time(&self) -> u64 {
        match self {
            Event::ThreadStart { t, .. }
            | Event::Call { t, .. }
            | Event::Resume { t, .. }
            | Event::Throw { t, .. }
            | Event::Line { t, .. }
            | Event::Return { t, .. }
            | Event::Yield { t, .. }
            | Event::Unwind { t, .. }
            | Event::Raise { t, .. } => *t,
        }
    }
}

/// Counts of what the filter did, per value kind in [`ValueKind::ALL`] order
/// (`arg`, `local`, `global`, `ret`, `attr`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterStats {
    /// Code objects the filter skipped (each counted once; code with a
    /// synthetic filename, which is never recorded, is not counted).
    pub scopes_skipped: u64,
    /// Values written as `<redacted>`, per kind.
    pub redacted: [u64; 5],
    /// Values left out (or written as `<dropped>`), per kind.
    pub dropped: [u64; 5],
}

impl FilterStats {
    /// Index of `kind` in the per-kind arrays.
    pub fn slot(kind: ValueKind) -> usize {
        ValueKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
    }

    /// These counts plus `other`'s (saturating).
    pub fn plus(&self, other: &FilterStats) -> FilterStats {
        let mut out = self.clone();
        out.scopes_skipped = out.scopes_skipped.saturating_add(other.scopes_skipped);
        for (total, n) in out.redacted.iter_mut().zip(other.redacted) {
            *total = total.saturating_add(n);
        }
        for (total, n) in out.dropped.iter_mut().zip(other.dropped) {
            *total = total.saturating_add(n);
        }
        out
    }
}

/// Written last: how the recording ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trailer {
    /// The program's exit status (`None` if unknown).
    pub exit_status: Option<i32>,
    /// Wall-clock end, milliseconds since the Unix epoch.
    pub end_unix_ms: u64,
    /// What the filter did.
    pub stats: FilterStats,
    /// Set when the recorder detached early because of an internal fault.
    pub detached: Option<String>,
    /// Set when recording stopped because the trace file reached this many
    /// bytes (`record --max-size`); the program went on without the
    /// recorder. Absent from the file, and from exports, when not set, so
    /// traces without a limit are byte for byte as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<u64>,
}

/// A whole trace in memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// The header.
    pub header: TraceHeader,
    /// Traced code objects, by id.
    pub codes: Vec<CodeInfo>,
    /// Successive versions of `sys.path` (the first is the one at start).
    pub sys_paths: Vec<Vec<String>>,
    /// `sys.modules` entries with files, in the order they were first seen.
    pub modules: Vec<ModuleFile>,
    /// Directories with a project marker, in the order they were found.
    pub markers: Vec<String>,
    /// Embedded source files.
    pub sources: Vec<SourceFile>,
    /// Events in the order they happened.
    pub events: Vec<Event>,
    /// The trailer; `None` when the file ends early (killed or still being written).
    pub trailer: Option<Trailer>,
}

impl Trace {
    /// A trace of `header` alone: no tables, no events, no trailer yet.
    pub fn of_header(header: TraceHeader) -> Trace {
        Trace {
            header,
            codes: Vec::new(),
            sys_paths: Vec::new(),
            modules: Vec::new(),
            markers: Vec::new(),
            sources: Vec::new(),
            events: Vec::new(),
            trailer: None,
        }
    }

    /// The resolver inputs in force when `code` was first seen, for the
    /// `paths` naming mode, with `extra_roots` tried first as `sys.path` entries.
    pub fn resolver_inputs(&self, code: &CodeInfo, extra_roots: &[String]) -> ResolverInputs {
        inputs_at(
            self.header.platform,
            &self.header.cwd,
            &self.sys_paths,
            &self.modules,
            &self.markers,
            code.inputs,
            extra_roots,
        )
    }
}

/// The resolver inputs described by `at` over the append-only lists of a
/// recording, with `extra_roots` tried first as `sys.path` entries. The
/// recorder (while recording) and readers (afterwards) both build inputs here.
pub fn inputs_at(
    platform: Platform,
    cwd: &str,
    sys_paths: &[Vec<String>],
    modules: &[ModuleFile],
    markers: &[String],
    at: InputsAt,
    extra_roots: &[String],
) -> ResolverInputs {
    let mut sys_path = extra_roots.to_vec();
    sys_path.extend(
        sys_paths
            .get(at.sys_path as usize)
            .cloned()
            .unwrap_or_default(),
    );
    ResolverInputs {
        platform,
        cwd: cwd.to_string(),
        sys_path,
        modules: modules[..(at.modules as usize).min(modules.len())].to_vec(),
        markers: markers[..(at.markers as usize).min(markers.len())].to_vec(),
    }
}
