//! The active recording, shared by the interpreter callbacks, and the
//! `start`/`stop` functions Python calls. A fault inside a callback (an
//! error or a panic) detaches the recorder: events stop, the trace is closed
//! with the reason in its trailer, one warning is printed, and the traced
//! program carries on. Reaching the size limit (`record --max-size`) stops
//! recording the same way, with the limit in the trailer instead of a fault.
//! Warnings go to the process's standard error (file descriptor 2), never
//! through the program's `sys.stderr` object, which it may have replaced or
//! closed.

use crate::filters::{framework, load_chain, naming_mode, raise_filter_error};
use crate::options::RecordOptions;
use crate::session::{OpenTrace, Session, SessionConfig};
use crate::{legacy, modules, monitoring};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::cell::Cell;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};
use tracesieve_engine::size::size_text;
use tracesieve_engine::trace::policy::redact_argv;
use tracesieve_engine::trace::{ProcessInfo, RecordedFilter, TraceHeader, ValueBounds};
use tracesieve_engine::Platform;

struct Active {
    session: Session,
    backend: Backend,
    path: String,
    fault_after: Option<u64>,
    /// Recording stops once the trace file holds this many bytes.
    max_size: Option<u64>,
}

/// Why a recording stopped before `stop()`.
enum EarlyStop {
    /// An internal fault (an error or a panic in a callback), and its reason.
    Fault(String),
    /// The trace file reached the size limit, this many bytes.
    SizeLimit(u64),
    /// The trace file was deleted or replaced while recording.
    FileGone,
}

/// The reason a deleted trace file gives in its trailer and the summary.
const FILE_GONE: &str = "the trace file was deleted or replaced while recording";

/// The interpreter hooks in use.
pub enum Backend {
    /// `sys.monitoring` (3.12+), with the tool id claimed.
    Monitoring(monitoring::Registration, u8),
    /// The C trace hook (3.11).
    Legacy(legacy::Registration),
}

/// How a recording ended, for `stop()` and the summary line.
#[derive(Clone)]
pub struct Ended {
    path: String,
    counts: crate::session::Counts,
    stats: tracesieve_engine::trace::FilterStats,
    detached: Option<String>,
    size_limit: Option<u64>,
}

static ACTIVE: Mutex<Option<Active>> = Mutex::new(None);
static ENDED: Mutex<Option<Ended>> = Mutex::new(None);
/// Set in a child process after `fork()`: the recording is the parent's,
/// and the child's callbacks do nothing (see [`forget_after_fork`]).
static FORKED_AWAY: AtomicBool = AtomicBool::new(false);

thread_local! {
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

fn lock<T: Send>(py: Python<'_>, mutex: &'static Mutex<T>) -> MutexGuard<'static, T> {
    loop {
        match mutex.try_lock() {
            Ok(guard) => return guard,
            Err(TryLockError::Poisoned(poisoned)) => return poisoned.into_inner(),
            // Another thread holds it and may need the GIL to finish: wait
            // for it to be free without holding the GIL, then try again.
            Err(TryLockError::WouldBlock) => py.detach(|| drop(mutex.lock())),
        }
    }
}

/// Runs `f` on the active session, unless there is none or this thread is
/// already inside a callback (code that the recorder itself runs, such as a
/// `repr()`, is never traced). A fault detaches the recorder; so does the
/// trace reaching the size limit, after the record that reached it (then
/// `None` is returned, as after a fault: the hooks are gone).
pub fn with_session<R>(py: Python<'_>, f: impl FnOnce(&mut Session) -> PyResult<R>) -> Option<R> {
    if IN_HOOK.with(Cell::get) || FORKED_AWAY.load(Ordering::Relaxed) {
        return None;
    }
    IN_HOOK.with(|h| h.set(true));
    let outcome = {
        let mut guard = lock(py, &ACTIVE);
        match guard.as_mut() {
            None => Ok(None),
            Some(active) => {
                let injected = active
                    .fault_after
                    .is_some_and(|n| active.session.counts().events >= n);
                if injected {
                    Err(EarlyStop::Fault(
                        "injected fault (TRACESIEVE_TEST_FAULT_AFTER)".to_string(),
                    ))
                } else {
                    match catch_unwind(AssertUnwindSafe(|| f(&mut active.session))) {
                        Ok(Ok(value)) => match active.max_size {
                            Some(limit) if active.session.trace_bytes() >= limit => {
                                Err(EarlyStop::SizeLimit(limit))
                            }
                            _ => Ok(Some(value)),
                        },
                        Ok(Err(_)) if active.session.trace_file_gone() => Err(EarlyStop::FileGone),
                        Ok(Err(error)) => Err(EarlyStop::Fault(error.to_string())),
                        Err(panic) => Err(EarlyStop::Fault(panic_text(&panic))),
                    }
                }
            }
        }
    };
    let result = match outcome {
        Ok(value) => value,
        Err(why) => {
            stop_early(py, why);
            None
        }
    };
    IN_HOOK.with(|h| h.set(false));
    result
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    let text = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    format!("internal error: {text}")
}

/// The sys.monitoring tool id in use, if that backend is active.
pub fn monitoring_tool() -> Option<u8> {
    let guard = ACTIVE.lock().unwrap_or_else(|e| e.into_inner());
    guard.as_ref().and_then(|a| match a.backend {
        Backend::Monitoring(_, tool) => Some(tool),
        Backend::Legacy(_) => None,
    })
}

/// Stops recording because of a fault: closes the trace with `reason` and
/// prints one warning.
pub fn detach(py: Python<'_>, reason: &str) {
    stop_early(py, EarlyStop::Fault(reason.to_string()));
}

/// Stops recording before `stop()`: unregisters the hooks, closes the trace
/// with why in its trailer (its exit status unknown) and prints one warning.
/// Does nothing if recording already stopped, so a second fault or another
/// thread reaching the limit too prints nothing more.
fn stop_early(py: Python<'_>, why: EarlyStop) {
    let taken = lock(py, &ACTIVE).take();
    let Some(active) = taken else { return };
    let path = active.path.clone();
    let head = match &why {
        EarlyStop::Fault(_) => "recorder fault, recording stopped".to_string(),
        EarlyStop::SizeLimit(limit) => format!(
            "the trace reached --max-size {}; recording stopped",
            size_text(*limit)
        ),
        EarlyStop::FileGone => {
            format!("{path} was deleted or replaced while recording; recording stopped")
        }
    };
    let tail = match &why {
        EarlyStop::Fault(reason) => format!(": {reason}"),
        EarlyStop::SizeLimit(_) | EarlyStop::FileGone => String::new(),
    };
    let gone = matches!(why, EarlyStop::FileGone);
    let closed = match end(py, active, None, Some(why)) {
        Ok(()) if gone => "what was recorded is lost".to_string(),
        Ok(()) => format!("{path} is closed and readable"),
        Err(error) => format!("closing {path} failed: {error}"),
    };
    warn(&format!(
        "tracesieve: {head} (the program goes on; {closed}){tail}\n"
    ));
}

/// Writes `message` to the process's standard error, unbuffered. Nothing
/// is reported if that fails (standard error closed or full).
pub fn warn(message: &str) {
    let _ = std::io::stderr().write_all(message.as_bytes());
}

/// Unregisters the hooks and closes the trace; the trace is closed even if
/// unregistering fails, and the first error is returned.
fn end(
    py: Python<'_>,
    active: Active,
    exit_status: Option<i32>,
    early: Option<EarlyStop>,
) -> PyResult<()> {
    let (detached, size_limit) = match early {
        None => (None, None),
        Some(EarlyStop::Fault(reason)) => (Some(reason), None),
        Some(EarlyStop::SizeLimit(limit)) => (None, Some(limit)),
        Some(EarlyStop::FileGone) => (Some(FILE_GONE.to_string()), None),
    };
    let (trace, unregistered) = let_go(py, active, detached.clone(), size_limit);
    trace.finish(exit_status, detached, size_limit)?;
    unregistered
}

/// Unregisters the hooks, keeps how the recording ended for `stop()` and
/// the summary, and lets go of the interpreter side of the session: what is
/// left is the open trace, for its trailer.
fn let_go(
    py: Python<'_>,
    active: Active,
    detached: Option<String>,
    size_limit: Option<u64>,
) -> (OpenTrace, PyResult<()>) {
    let unregistered = match active.backend {
        Backend::Monitoring(registration, _) => monitoring::unregister(py, registration),
        Backend::Legacy(registration) => legacy::unregister(py, registration),
    };
    py.detach(crate::sealing::stop_timer);
    let ended = Ended {
        path: active.path,
        counts: active.session.counts().clone(),
        stats: active.session.stats().clone(),
        detached,
        size_limit,
    };
    *lock(py, &ENDED) = Some(ended);
    (active.session.close(), unregistered)
}

/// Stops recording when the interpreter is about to end, for `record`,
/// whose trailer needs the process's exit status, known only later: the
/// hooks are unregistered and the open trace is returned, to be finished
/// once the status is known (`crate::process_exit`). `None` if nothing is
/// recording (it stopped early, or the program stopped it).
pub fn stop_for_exit(py: Python<'_>) -> Option<(OpenTrace, PyResult<()>)> {
    let taken = lock(py, &ACTIVE).take();
    taken.map(|active| let_go(py, active, None, None))
}

/// How the last recording of this process ended, if one did.
pub fn ended() -> Option<Ended> {
    ENDED.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Seals the active recording's buffered events, if no callback is running
/// (the sealing timer's call; it never waits, and needs no GIL: sealing
/// touches only the writer, and the lock keeps every other user out).
pub fn seal_if_idle() {
    if let Ok(mut guard) = ACTIVE.try_lock() {
        if let Some(active) = guard.as_mut() {
            active.session.seal_buffered();
        }
    }
}

/// In a child process after `fork()`: the recording is the parent's. The
/// child's callbacks stop doing anything at once; the hooks are
/// unregistered and the session let go without writing a byte to the
/// parent's file. (If another thread of the parent held the recording at
/// the fork, its lock is never released in the child: the session is then
/// left as it is, and the callbacks, which never take the lock again, stay
/// quiet.)
#[pyfunction]
pub fn forget_after_fork(py: Python<'_>) {
    FORKED_AWAY.store(true, Ordering::Relaxed);
    let taken = match ACTIVE.try_lock() {
        Ok(mut guard) => guard.take(),
        Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner().take(),
        Err(TryLockError::WouldBlock) => None,
    };
    if let Some(active) = taken {
        let _ = match active.backend {
            Backend::Monitoring(registration, _) => monitoring::unregister(py, registration),
            Backend::Legacy(registration) => legacy::unregister(py, registration),
        };
        active.session.abandon();
    }
    *ENDED.lock().unwrap_or_else(|p| p.into_inner()) = None;
    crate::process_exit::forget_after_fork();
}

impl Ended {
    /// The one-line summary `tracesieve record` prints on stderr.
    pub fn summary_line(&self) -> String {
        let size = match std::fs::metadata(&self.path) {
            Ok(meta) => format!("{:.1} KiB", meta.len() as f64 / 1024.0),
            Err(_) => "deleted".to_string(),
        };
        let stats = &self.stats;
        let mut line = format!(
            "tracesieve: {} events ({} calls, {} lines) from {} code objects -> {} ({size}); \
             skipped {} scopes, redacted {} values, dropped {}",
            self.counts.events,
            self.counts.calls,
            self.counts.lines,
            self.counts.codes,
            self.path,
            stats.scopes_skipped,
            stats.redacted.iter().sum::<u64>(),
            stats.dropped.iter().sum::<u64>(),
        );
        if let Some(reason) = &self.detached {
            line.push_str(&format!("; detached early: {reason}"));
        }
        if let Some(limit) = self.size_limit {
            line.push_str(&format!("; stopped at --max-size {}", size_text(limit)));
        }
        line
    }
}

/// The deepest value nesting a trace may hold, with room for attribute slots.
pub const MAX_DEPTH: u32 = 30;

/// Starts recording to `path`. `options` is a dict of the other settings
/// (see [`RecordOptions`]: a setting left out takes its default, an unknown
/// one is a TypeError). The filter chain is the built-in default (unless
/// the `builtin_filter` option is false), the `framework` filter, then
/// `filters` (absolute paths, in order). Raises FilterError for a broken
/// filter before anything is traced. With `max_size`, recording stops once
/// the trace file holds that many bytes. `process`, `(parent pid, how it
/// started)`, says which process of a trace set this is (`record`
/// following child processes).
#[pyfunction]
#[pyo3(signature = (path, filters, options = None, /))]
pub fn start(
    py: Python<'_>,
    path: String,
    filters: Vec<String>,
    options: Option<&Bound<'_, PyDict>>,
) -> PyResult<()> {
    let RecordOptions {
        builtin_filter,
        framework,
        module_names,
        values,
        max_depth,
        max_items,
        max_string_bytes,
        max_nodes,
        repr,
        sources,
        max_source_bytes,
        argv,
        ignore_prefix,
        max_size,
        process,
    } = RecordOptions::from_dict(options)?;
    let framework = self::framework(framework.as_deref())?;
    let process = match process {
        Some((parent, started)) => Some(ProcessInfo {
            pid: std::process::id(),
            parent,
            started: started.parse().map_err(PyValueError::new_err)?,
        }),
        None => None,
    };
    if !(1..=MAX_DEPTH).contains(&max_depth) {
        return Err(PyValueError::new_err(format!(
            "max_depth must be between 1 and {MAX_DEPTH} (found {max_depth})"
        )));
    }
    if max_size == Some(0) {
        return Err(PyValueError::new_err("max_size must be at least 1 byte"));
    }
    let chain =
        load_chain(&filters, builtin_filter, framework).map_err(|e| raise_filter_error(py, &e))?;
    let sys = modules::init(py)?.sys.bind(py);
    let version: (u32, u32) = sys
        .getattr("version_info")?
        .extract::<(u32, u32, u32, String, u32)>()
        .map(|v| (v.0, v.1))?;
    if version < (3, 11) {
        return Err(PyRuntimeError::new_err(format!(
            "recording needs CPython 3.11 or newer (found {}.{})",
            version.0, version.1
        )));
    }
    let cwd = std::env::current_dir()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    let header = TraceHeader {
        recorder: format!(
            "tracesieve {} ({} build)",
            env!("CARGO_PKG_VERSION"),
            crate::BUILD
        ),
        python: sys.getattr("version")?.extract()?,
        platform: Platform::host(),
        argv: redact_argv(&chain, &argv, &cwd),
        cwd,
        start_unix_ms: crate::session::unix_ms(),
        filters: RecordedFilter::from_chain(&chain),
        framework,
        naming: naming_mode(&module_names)?,
        values: values.parse().map_err(PyValueError::new_err)?,
        bounds: ValueBounds {
            max_depth,
            max_items,
            max_string_bytes,
            max_nodes,
        },
        repr,
        process,
    };
    if !in_main_interpreter() {
        return Err(PyRuntimeError::new_err(
            "tracesieve records the main interpreter only, not a subinterpreter",
        ));
    }
    if lock(py, &ACTIVE).is_some() {
        return Err(PyRuntimeError::new_err(
            "a tracesieve recording is already running in this process",
        ));
    }
    // The tool id is chosen before the trace file is created, so a
    // recording that cannot start leaves no file behind.
    let tool = if version >= (3, 12) {
        Some(monitoring::free_tool(py)?)
    } else {
        None
    };
    let config = SessionConfig {
        header,
        chain,
        sources,
        max_source_bytes,
        ignore_prefix,
    };
    let session = Session::create(&path, config)
        .map_err(|e| PyRuntimeError::new_err(format!("cannot write the trace to '{path}': {e}")))?;
    let fault_after = std::env::var("TRACESIEVE_TEST_FAULT_AFTER")
        .ok()
        .and_then(|v| v.parse().ok());
    *lock(py, &ENDED) = None;
    // A forked child may record on its own, once its parent's is let go.
    FORKED_AWAY.store(false, Ordering::Relaxed);
    // Callbacks that fire before the session is stored find none and do nothing.
    let backend = match tool {
        Some(tool) => {
            let registration = monitoring::register(py, tool)?;
            Backend::Monitoring(registration, tool)
        }
        None => legacy::register(py)?,
    };
    *lock(py, &ACTIVE) = Some(Active {
        session,
        backend,
        path,
        fault_after,
        max_size,
    });
    crate::process_exit::register_fork_handlers(py)?;
    crate::sealing::start_timer();
    Ok(())
}

/// Stops recording, writes the trailer with `exit_status`, and returns a
/// summary dict (also after a fault or the size limit stopped recording).
#[pyfunction]
#[pyo3(signature = (exit_status = None))]
pub fn stop(py: Python<'_>, exit_status: Option<i32>) -> PyResult<Option<Bound<'_, PyDict>>> {
    let taken = lock(py, &ACTIVE).take();
    if let Some(active) = taken {
        end(py, active, exit_status, None)?;
    }
    let ended = lock(py, &ENDED).clone();
    let Some(ended) = ended else { return Ok(None) };
    let summary = PyDict::new(py);
    summary.set_item("path", &ended.path)?;
    summary.set_item("events", ended.counts.events)?;
    summary.set_item("calls", ended.counts.calls)?;
    summary.set_item("lines", ended.counts.lines)?;
    summary.set_item("codes", ended.counts.codes)?;
    summary.set_item("scopes_skipped", ended.stats.scopes_skipped)?;
    summary.set_item("redacted", ended.stats.redacted.iter().sum::<u64>())?;
    summary.set_item("dropped", ended.stats.dropped.iter().sum::<u64>())?;
    summary.set_item("detached", ended.detached)?;
    summary.set_item("size_limit", ended.size_limit)?;
    Ok(Some(summary))
}

/// Whether the calling code runs in the process's main interpreter: a
/// subinterpreter (`concurrent.interpreters`, `_testcapi.run_in_subinterp`)
/// runs its own start-up, and is not recorded.
#[pyfunction]
pub fn in_main_interpreter() -> bool {
    // SAFETY: called with the GIL held, from a Python call.
    unsafe { ffi::PyInterpreterState_Get() == ffi::PyInterpreterState_Main() }
}

/// Whether a recording is running.
#[pyfunction]
pub fn is_recording(py: Python<'_>) -> bool {
    lock(py, &ACTIVE).is_some()
}
