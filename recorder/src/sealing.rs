//! Durability by time: a recording's events are sealed into a chunk of the
//! trace file a few times a second, whatever the program does, so a process
//! killed at any moment (`kill -9`, a crash) leaves a trace readable up to
//! its last fraction of a second.
//!
//! A timer thread (a plain OS thread: the program sees no Python thread)
//! asks for a seal every [`SEAL_INTERVAL`], and within [`SOON`] when the
//! session asks ([`seal_soon`]: a thread came to rest just after a seal). The next event seals, at the
//! cost of one relaxed atomic load per event; when no event comes (the
//! program sleeps, waits for input, or is stuck), the timer seals itself.
//! The timer runs only while a recording does, and is stopped before
//! `os.fork()` and started again by the parent's next event (not at once:
//! Python 3.13 looks for other threads after its after-fork handlers), so
//! that Python finds the process single-threaded when the program is (it
//! warns about forking a multi-threaded process otherwise).

use pyo3::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often buffered events are sealed, at the least.
pub const SEAL_INTERVAL: Duration = Duration::from_millis(250);
/// How soon the timer seals when asked to ([`seal_soon`]).
pub const SOON: Duration = Duration::from_millis(2);

static DUE: AtomicBool = AtomicBool::new(false);
/// A seal was asked for within [`SOON`].
static SOON_ASKED: AtomicBool = AtomicBool::new(false);

/// The running timer: its thread, and the flag and condition that stop it.
struct Timer {
    thread: JoinHandle<()>,
    stop: Arc<(Mutex<bool>, Condvar)>,
}

static TIMER: Mutex<Option<Timer>> = Mutex::new(None);
/// The timer was running when a fork began, and runs again after it.
static PAUSED_FOR_FORK: AtomicBool = AtomicBool::new(false);
/// The parent of a fork: the next event starts the timer again.
static RESTART: AtomicBool = AtomicBool::new(false);

/// Whether a seal is due; clears the request. Called for every event.
pub fn take_due() -> bool {
    if RESTART.load(Ordering::Relaxed) && RESTART.swap(false, Ordering::Relaxed) {
        start_timer();
        return true;
    }
    DUE.load(Ordering::Relaxed) && DUE.swap(false, Ordering::Relaxed)
}

fn timer() -> std::sync::MutexGuard<'static, Option<Timer>> {
    TIMER.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts the timer, unless it runs. If the thread cannot be started,
/// events are still sealed when a chunk fills and when the trace closes.
pub fn start_timer() {
    let mut running = timer();
    if running.is_some() {
        return;
    }
    let stop = Arc::new((Mutex::new(false), Condvar::new()));
    let flag = stop.clone();
    let spawned = std::thread::Builder::new()
        .name("tracesieve-seal".to_string())
        .spawn(move || {
            let (stopped, wake) = &*flag;
            let mut stopped = stopped.lock().unwrap_or_else(|p| p.into_inner());
            while !*stopped {
                let wait = if SOON_ASKED.load(Ordering::Relaxed) {
                    SOON
                } else {
                    SEAL_INTERVAL
                };
                let (guard, timeout) = wake
                    .wait_timeout(stopped, wait)
                    .unwrap_or_else(|p| p.into_inner());
                stopped = guard;
                if timeout.timed_out() && !*stopped {
                    SOON_ASKED.store(false, Ordering::Relaxed);
                    DUE.store(true, Ordering::Relaxed);
                    crate::hooks::seal_if_idle();
                }
            }
        });
    if let Ok(thread) = spawned {
        *running = Some(Timer { thread, stop });
    }
}

/// Asks the timer to seal within [`SOON`] (or the next event to, if one
/// comes first and a callback holds the recording then): what a thread
/// left buffered when it went to rest is sealed even if the process is
/// killed before its next event.
pub fn seal_soon() {
    if SOON_ASKED.swap(true, Ordering::Relaxed) {
        return;
    }
    if let Some(Timer { stop, .. }) = timer().as_ref() {
        stop.1.notify_all();
    }
}

/// Stops the timer and waits for its thread to end.
pub fn stop_timer() {
    let taken = timer().take();
    if let Some(Timer { thread, stop }) = taken {
        let (stopped, wake) = &*stop;
        *stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        let _ = thread.join();
    }
}

/// `os.register_at_fork(before=...)`: what is buffered is sealed, and the
/// timer's thread ends before the fork (the child never has it; its
/// recording is the parent's).
#[pyfunction]
pub fn pause_for_fork(py: Python<'_>) {
    let running = timer().is_some();
    PAUSED_FOR_FORK.store(running, Ordering::SeqCst);
    if running {
        crate::hooks::seal_if_idle();
        py.detach(stop_timer);
    }
}

/// `os.register_at_fork(after_in_parent=...)`: the parent's next event
/// starts the timer again.
#[pyfunction]
pub fn resume_after_fork() {
    if PAUSED_FOR_FORK.swap(false, Ordering::SeqCst) {
        RESTART.store(true, Ordering::Relaxed);
    }
}
