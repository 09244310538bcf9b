//! The end of a process recorded by `tracesieve record`: the trace's
//! trailer carries the exit status the process really ends with, and the
//! summary line is printed after everything the program printed.
//!
//! When the interpreter is about to end (Python's `atexit`, after the
//! program's own handlers and non-daemon threads), the hooks are
//! unregistered and everything the recording holds of the interpreter is let
//! go ([`python_exiting`]). The exit status is known only when the C library
//! ends the process: a handler registered with glibc's `on_exit` receives it
//! and writes the trailer and the summary from Rust alone. `os._exit(n)`,
//! which skips both, is replaced by [`exit_now`], which closes the trace with
//! `n` first. A process whose `KeyboardInterrupt` went uncaught is killed by
//! the interpreter with SIGINT, which runs no handler: `python_exiting` is
//! told so and closes the trace at once with 130, the status a shell sees.
//!
//! A forked child inherits all of this and does none of it: each step checks
//! that it runs in the process that started recording.

use crate::session::OpenTrace;
use crate::{hooks, sealing};
use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

/// The process `record` runs in (0: not recording to exit).
static OWNER: AtomicU32 = AtomicU32::new(0);
/// No summary line (`record --quiet`).
static QUIET: AtomicBool = AtomicBool::new(false);
/// The open trace waiting for the exit status.
static PENDING: Mutex<Option<OpenTrace>> = Mutex::new(None);
/// The fork handlers are registered (see [`register_fork_handlers`]).
static AT_FORK_REGISTERED: AtomicBool = AtomicBool::new(false);

fn is_owner() -> bool {
    OWNER.load(Ordering::SeqCst) == std::process::id()
}

/// Makes the running recording end with the process (`tracesieve record`):
/// trailer with the exit status, then the summary line unless `quiet`.
#[pyfunction]
pub fn record_until_exit(quiet: bool) {
    QUIET.store(quiet, Ordering::SeqCst);
    OWNER.store(std::process::id(), Ordering::SeqCst);
    register_exit_handler();
}

/// Python's `atexit`, last of the handlers: unregisters the hooks and keeps
/// the open trace for the exit status. `status` is given when the process
/// will end without running exit handlers (130: an uncaught
/// KeyboardInterrupt); the trace is then closed at once.
#[pyfunction]
#[pyo3(signature = (status = None))]
pub fn python_exiting(py: Python<'_>, status: Option<i32>) {
    if !is_owner() {
        return;
    }
    if let Some((trace, unregistered)) = hooks::stop_for_exit(py) {
        if let Err(error) = unregistered {
            hooks::warn(&format!(
                "tracesieve: stopping the recorder failed: {error}\n"
            ));
        }
        *PENDING.lock().unwrap_or_else(|p| p.into_inner()) = Some(trace);
    }
    if status.is_some() || !EXIT_HANDLER_STATUS_KNOWN {
        finish(status);
    }
}

/// `os._exit(status)` while `record` runs: closes the trace with `status`
/// and prints the summary, then ends the process at once as `os._exit`
/// does (no cleanup, no flushing of Python's buffers).
#[pyfunction]
#[pyo3(name = "_exit")]
pub fn exit_now(py: Python<'_>, status: i32) {
    if is_owner() {
        python_exiting(py, Some(status));
    }
    // SAFETY: ends the process; what os._exit itself calls.
    unsafe { libc::_exit(status) }
}

/// In a forked child: the parent's trace is not the child's to finish.
pub fn forget_after_fork() {
    if let Some(trace) = PENDING.lock().unwrap_or_else(|p| p.into_inner()).take() {
        std::mem::forget(trace);
    }
}

/// Registers, once per process, what a fork needs: the sealing timer
/// paused around it, and [`hooks::forget_after_fork`] in the child.
pub fn register_fork_handlers(py: Python<'_>) -> PyResult<()> {
    if AT_FORK_REGISTERED.swap(true, Ordering::SeqCst) {
        return Ok(());
    }
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("before", wrap_pyfunction!(sealing::pause_for_fork, py)?)?;
    kwargs.set_item(
        "after_in_parent",
        wrap_pyfunction!(sealing::resume_after_fork, py)?,
    )?;
    kwargs.set_item(
        "after_in_child",
        wrap_pyfunction!(hooks::forget_after_fork, py)?,
    )?;
    py.import("os")?
        .getattr("register_at_fork")?
        .call((), Some(&kwargs))?;
    Ok(())
}

/// Writes the pending trailer with `status` and prints the summary, once.
fn finish(status: Option<i32>) {
    if OWNER.swap(0, Ordering::SeqCst) != std::process::id() {
        return;
    }
    let pending = PENDING.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(trace) = pending {
        if let Err(error) = trace.finish(status, None, None) {
            hooks::warn(&format!("tracesieve: closing the trace failed: {error}\n"));
        }
    }
    if !QUIET.load(Ordering::SeqCst) {
        if let Some(ended) = hooks::ended() {
            hooks::warn(&format!("{}\n", ended.summary_line()));
        }
    }
}

/// Whether [`register_exit_handler`] receives the exit status (glibc's
/// `on_exit`); elsewhere the trace is closed at Python's exit, its status
/// unknown.
const EXIT_HANDLER_STATUS_KNOWN: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn register_exit_handler() {
    use std::ffi::{c_int, c_void};
    static REGISTERED: AtomicBool = AtomicBool::new(false);
    extern "C" {
        fn on_exit(function: extern "C" fn(c_int, *mut c_void), argument: *mut c_void) -> c_int;
    }
    extern "C" fn at_process_exit(status: c_int, _: *mut c_void) {
        finish(Some(status));
    }
    if !REGISTERED.swap(true, Ordering::SeqCst) {
        // SAFETY: registers a handler that lives as long as the process.
        unsafe { on_exit(at_process_exit, std::ptr::null_mut()) };
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn register_exit_handler() {}
