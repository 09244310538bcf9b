//! The `sys.monitoring` backend (CPython 3.12+). PY_START, PY_THROW, PY_UNWIND
//! and RAISE are global events; a recorded code object gets LINE, PY_RETURN,
//! PY_YIELD and PY_RESUME as local events, and a skipped one gets DISABLE
//! from its PY_START, so skipped code costs one callback per code object.
//!
//! The recorder uses none of the branch and jump events (3.12's `BRANCH`,
//! which 3.14 replaced with `BRANCH_LEFT` and `BRANCH_RIGHT`), `CALL`,
//! `C_RETURN` or `STOP_ITERATION`, so those changes do not reach it. What does
//! differ between the interpreters, and is mapped here onto 3.12's events:
//!
//! * From 3.14, `PyCode_Addr2Line` answers from the line events' own table
//!   once LINE events are on for a code object, and that table has no line
//!   for an offset inside an instruction's inline caches, where RAISE reports
//!   an exception coming out of a call: the line of a raise is read from the
//!   code object's location table instead ([`line_at`]), as on 3.12 and 3.13.
//! * 3.15 reports no RAISE where a `yield from` or `await` (SEND) takes the
//!   StopIteration that an iterator's `__next__` or `send` raised to say it
//!   is done; 3.11 to 3.14 report it in the delegating frame, at the `yield
//!   from`. The recorder writes that RAISE itself (see [`Handoff`]).

use crate::hooks::with_session;
use crate::session::Verdict;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCFunction};
use std::os::raw::c_int;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Mutex;

const TOOL_NAME: &str = "tracesieve";

/// The SEND opcode plus one, on interpreters that report no RAISE when a
/// `yield from` takes an iterator's StopIteration (3.15+); 0 elsewhere.
static SEND_WITHOUT_RAISE: AtomicU16 = AtomicU16::new(0);

/// A StopIteration that left a Python frame into a frame running SEND (a
/// `yield from` or `await`), on 3.15+, not yet known to be taken by the SEND.
/// 3.11 to 3.14 report a RAISE in the delegating frame when the SEND takes
/// it; 3.15 reports nothing, so the recorder writes that RAISE, at the
/// thread's next event once the delegating frame has moved past the SEND
/// instruction by any way but to the `YIELD_VALUE` after it (where a SEND
/// that got a value goes: the StopIteration was then taken by C code in
/// between, such as `itertools.chain` moving to its next iterable, and 3.11
/// to 3.14 report nothing either).
struct Handoff {
    /// The thread's id, as the session keys threads.
    thread: u64,
    /// The delegating frame, and its code.
    frame: Py<PyAny>,
    code: Py<PyAny>,
    exception: Py<PyAny>,
    /// Byte offsets of the SEND and of the instruction after it.
    send: c_int,
    after_send: c_int,
    /// The line of the SEND.
    line: u32,
}

/// Hand-offs waiting for their thread's next event (one per thread at most).
static HANDOFFS: Mutex<Vec<Handoff>> = Mutex::new(Vec::new());
/// Whether [`HANDOFFS`] may hold one: the one check every callback pays.
static ANY_HANDOFF: AtomicBool = AtomicBool::new(false);

extern "C" {
    // Public C API since 3.11 (`cpython/code.h`); pyo3-ffi does not declare it.
    fn PyCode_Addr2Location(
        code: *mut ffi::PyCodeObject,
        offset: c_int,
        start_line: *mut c_int,
        start_column: *mut c_int,
        end_line: *mut c_int,
        end_column: *mut c_int,
    ) -> c_int;
}

/// What was registered, to undo it.
pub struct Registration {
    tool: u8,
}

fn monitoring(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    crate::modules::get(py)?
        .monitoring
        .as_ref()
        .map(|m| m.bind(py).clone())
        .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("sys.monitoring is not available"))
}

fn event(py: Python<'_>, name: &str) -> PyResult<u32> {
    monitoring(py)?.getattr("events")?.getattr(name)?.extract()
}

/// The sys.monitoring tool ids the recorder may take, in order. CPython
/// reserves 0 for debuggers (`DEBUGGER_ID`, pdb in 3.14), 1 for coverage
/// (`COVERAGE_ID`, coverage.py), 2 for profilers (`PROFILER_ID`, cProfile
/// since 3.12) and 5 for optimizers (`OPTIMIZER_ID`); 3 and 4 are the ones
/// left for other tools.
const TOOL_IDS: [u8; 2] = [3, 4];

/// The first free tool id of [`TOOL_IDS`], or an error naming tracesieve and
/// the tools holding them. Asked before anything is written, so a recording
/// that cannot start leaves no file.
pub fn free_tool(py: Python<'_>) -> PyResult<u8> {
    let mon = monitoring(py)?;
    let mut holders = Vec::new();
    for candidate in TOOL_IDS {
        let holder = mon.call_method1("get_tool", (candidate,))?;
        if holder.is_none() {
            return Ok(candidate);
        }
        holders.push(format!("{candidate} by {}", holder.repr()?));
    }
    Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
        "tracesieve cannot record: sys.monitoring tool ids 3 and 4 are in use ({}); \
         tracesieve takes 3, else 4, and leaves 0, 1, 2 and 5 to the debugger, \
         coverage, profiler and optimizer they are reserved for",
        holders.join(", ")
    )))
}

/// Claims `tool` (from [`free_tool`]) and registers the callbacks.
pub fn register(py: Python<'_>, tool: u8) -> PyResult<Registration> {
    let mon = monitoring(py)?;
    let send = if py.version_info() >= (3, 15) {
        let opcode: u8 = py
            .import("dis")?
            .getattr("opmap")?
            .get_item("SEND")?
            .extract()?;
        u16::from(opcode) + 1
    } else {
        0
    };
    SEND_WITHOUT_RAISE.store(send, Ordering::Relaxed);
    mon.call_method1("use_tool_id", (tool, TOOL_NAME))?;
    let callbacks: [(&str, Bound<'_, PyCFunction>); 8] = [
        ("PY_START", wrap_pyfunction!(on_start, py)?),
        ("PY_RESUME", wrap_pyfunction!(on_resume, py)?),
        ("PY_RETURN", wrap_pyfunction!(on_return, py)?),
        ("PY_YIELD", wrap_pyfunction!(on_yield, py)?),
        ("LINE", wrap_pyfunction!(on_line, py)?),
        ("PY_UNWIND", wrap_pyfunction!(on_unwind, py)?),
        ("PY_THROW", wrap_pyfunction!(on_throw, py)?),
        ("RAISE", wrap_pyfunction!(on_raise, py)?),
    ];
    for (name, callback) in callbacks {
        mon.call_method1("register_callback", (tool, event(py, name)?, callback))?;
    }
    let global = event(py, "PY_START")?
        | event(py, "PY_THROW")?
        | event(py, "PY_UNWIND")?
        | event(py, "RAISE")?;
    mon.call_method1("set_events", (tool, global))?;
    Ok(Registration { tool })
}

/// Turns every event off and frees the tool id.
pub fn unregister(py: Python<'_>, registration: Registration) -> PyResult<()> {
    let mon = monitoring(py)?;
    mon.call_method1("set_events", (registration.tool, 0))?;
    mon.call_method1("free_tool_id", (registration.tool,))?;
    // Dropped after the lock is released: dropping may run a finalizer.
    let _forgotten = take_handoffs(|_| true);
    Ok(())
}

fn local_events(py: Python<'_>) -> PyResult<u32> {
    Ok(event(py, "LINE")?
        | event(py, "PY_RETURN")?
        | event(py, "PY_YIELD")?
        | event(py, "PY_RESUME")?)
}

/// The frame that triggered the event, as a frame object: on 3.12+ this
/// materialises one if the frame has none yet, which the interpreter would
/// not do (a program can tell, see test_frame's
/// `test_sneaky_frame_object`), so it is asked for only to read locals,
/// that is when values are recorded.
fn current_frame() -> *mut ffi::PyFrameObject {
    // SAFETY: called with the GIL held from a monitoring callback; returns a
    // borrowed reference to the frame that triggered the event.
    unsafe { ffi::PyEval_GetFrame() }
}

/// The globals of the frame that triggered the event, read from the
/// interpreter's frame without making a frame object.
fn current_globals(py: Python<'_>) -> Option<Bound<'_, PyAny>> {
    // SAFETY: GIL held; a borrowed reference or NULL.
    unsafe { Bound::from_borrowed_ptr_or_opt(py, ffi::PyEval_GetGlobals()) }
}

fn answer(py: Python<'_>, verdict: Option<Verdict>) -> PyResult<Py<PyAny>> {
    match verdict {
        Some(Verdict::Ignore) => Ok(crate::modules::get(py)?
            .disable
            .as_ref()
            .map_or_else(|| py.None(), |d| d.clone_ref(py))),
        _ => Ok(py.None()),
    }
}

#[pyfunction]
fn on_start(py: Python<'_>, code: Bound<'_, PyAny>, _offset: i64) -> PyResult<Py<PyAny>> {
    settle_handoff(py);
    let verdict = with_session(py, |s| {
        s.start(py, &code, current_frame, || current_globals(py))
    });
    if verdict == Some(Verdict::RecordFirst) {
        let Some(tool) = crate::hooks::monitoring_tool() else {
            return answer(py, verdict);
        };
        if let Err(error) =
            monitoring(py)?.call_method1("set_local_events", (tool, &code, local_events(py)?))
        {
            crate::hooks::detach(
                py,
                &format!("cannot enable events for a code object: {error}"),
            );
        }
    }
    answer(py, verdict)
}

#[pyfunction]
fn on_resume(py: Python<'_>, code: Bound<'_, PyAny>, _offset: i64) -> PyResult<Py<PyAny>> {
    settle_handoff(py);
    answer(py, with_session(py, |s| s.resume(py, &code)))
}

#[pyfunction]
fn on_return(
    py: Python<'_>,
    code: Bound<'_, PyAny>,
    _offset: i64,
    value: Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    settle_handoff(py);
    answer(
        py,
        with_session(py, |s| s.ret(&code, &value, current_frame)),
    )
}

#[pyfunction]
fn on_yield(
    py: Python<'_>,
    code: Bound<'_, PyAny>,
    _offset: i64,
    value: Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    settle_handoff(py);
    answer(
        py,
        with_session(py, |s| s.yielded(&code, &value, current_frame)),
    )
}

#[pyfunction]
fn on_line(py: Python<'_>, code: Bound<'_, PyAny>, line: i64) -> PyResult<Py<PyAny>> {
    settle_handoff(py);
    let line = u32::try_from(line).unwrap_or(0);
    answer(
        py,
        with_session(py, |s| s.line(py, &code, line, current_frame)),
    )
}

#[pyfunction]
fn on_unwind(
    py: Python<'_>,
    code: Bound<'_, PyAny>,
    _offset: i64,
    exception: Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    settle_handoff(py);
    with_session(py, |s| s.unwind(&code, &exception, current_frame));
    if let Some(handoff) = handoff_into_send(py, &exception) {
        let _replaced = take_handoffs(|h| h.thread == handoff.thread);
        lock_handoffs().push(handoff);
        ANY_HANDOFF.store(true, Ordering::Relaxed);
    }
    Ok(py.None())
}

fn lock_handoffs() -> std::sync::MutexGuard<'static, Vec<Handoff>> {
    HANDOFFS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes the hand-offs `which` selects and returns them, to be dropped
/// (or used) once the lock is released.
fn take_handoffs(which: impl Fn(&Handoff) -> bool) -> Vec<Handoff> {
    let mut handoffs = lock_handoffs();
    let mut taken = Vec::new();
    let mut i = 0;
    while i < handoffs.len() {
        if which(&handoffs[i]) {
            taken.push(handoffs.swap_remove(i));
        } else {
            i += 1;
        }
    }
    ANY_HANDOFF.store(!handoffs.is_empty(), Ordering::Relaxed);
    taken
}

fn current_thread_key() -> u64 {
    // SAFETY: called with the GIL held, so there is a current thread state.
    let id = unsafe { ffi::PyThreadState_GetID(ffi::PyThreadState_Get()) };
    id as u64
}

/// On 3.15+, when a frame unwinds with a StopIteration into a frame running
/// SEND (`yield from` or `await`; SEND called the iterator's `__next__` or
/// `send`, directly or through C code), the [`Handoff`] to decide at the
/// thread's next event. `None` otherwise, and always before 3.15.
///
/// Reading the delegating frame makes its frame object if it had none (the
/// unwinding frame has one already, for its traceback entry); this is done
/// only for a StopIteration leaving a Python frame, and only on 3.15+.
fn handoff_into_send(py: Python<'_>, exception: &Bound<'_, PyAny>) -> Option<Handoff> {
    let send = SEND_WITHOUT_RAISE.load(Ordering::Relaxed);
    if send == 0 || !exception.is_instance_of::<pyo3::exceptions::PyStopIteration>() {
        return None;
    }
    let frame = current_frame();
    if frame.is_null() {
        return None;
    }
    // SAFETY: GIL held; `frame` is the unwinding frame (borrowed); its back
    // frame is a new reference or NULL.
    let caller = unsafe { Bound::from_owned_ptr_or_opt(py, ffi::PyFrame_GetBack(frame).cast()) }?;
    let caller_frame = caller.as_ptr().cast::<ffi::PyFrameObject>();
    // SAFETY: a live frame object; its code is a new reference.
    let code = unsafe {
        Bound::from_owned_ptr_or_opt(
            py,
            ffi::PyFrame_GetCode(caller_frame).cast::<ffi::PyObject>(),
        )
    }?;
    // SAFETY: a live frame object.
    let offset = unsafe { ffi::PyFrame_GetLasti(caller_frame) };
    // `co_code` holds the instructions without specialisation or
    // instrumentation: SEND, whatever the interpreter made of it, and the
    // inline caches after it as CACHE (0).
    let co_code = code
        .getattr(pyo3::intern!(py, "co_code"))
        .ok()?
        .cast_into::<PyBytes>()
        .ok()?;
    let bytes = co_code.as_bytes();
    let at = usize::try_from(offset).ok()?;
    if bytes.get(at).map(|&op| u16::from(op) + 1) != Some(send) {
        return None;
    }
    let after = (at + 2..bytes.len())
        .step_by(2)
        .find(|&i| bytes[i] != 0)
        .unwrap_or(bytes.len());
    Some(Handoff {
        thread: current_thread_key(),
        frame: caller.unbind(),
        line: line_at(&code, offset),
        code: code.unbind(),
        exception: exception.clone().unbind(),
        send: offset,
        after_send: c_int::try_from(after).ok()?,
    })
}

/// Called first in every callback: decides this thread's [`Handoff`], if
/// any. While the delegating frame is still at its SEND (code run by C code
/// between the iterator and the SEND, or a finalizer), it waits; once the
/// frame has moved on, the RAISE is written unless the SEND got a value.
fn settle_handoff(py: Python<'_>) {
    if !ANY_HANDOFF.load(Ordering::Relaxed) {
        return;
    }
    let thread = current_thread_key();
    let Some(handoff) = take_handoffs(|h| h.thread == thread).pop() else {
        return;
    };
    // SAFETY: a live frame object (held by the hand-off).
    let now = unsafe { ffi::PyFrame_GetLasti(handoff.frame.as_ptr().cast()) };
    if now == handoff.send {
        lock_handoffs().push(handoff);
        ANY_HANDOFF.store(true, Ordering::Relaxed);
        return;
    }
    if now != handoff.after_send {
        let code = handoff.code.bind(py);
        let exception = handoff.exception.bind(py);
        with_session(py, |s| s.raise(code, exception, || handoff.line));
    }
}

/// Where the frame raising `exception` is, from the traceback entry the
/// interpreter added for it just before the RAISE event: the instruction
/// that raised or made the call the exception came out of. RAISE's own
/// offset says the same on 3.12, but from 3.13 on it is the code unit before
/// the frame's current instruction, which is the instruction before the call
/// when the exception comes out of a Python function (3.12 and the traceback
/// give the line of the call, 3.13+'s offset the line of its last argument
/// when the call spans lines). `None` when the newest entry is not this
/// code's (a StopIteration taken by a `for` loop or a `yield from` is
/// reported without one).
///
/// The traceback and its frame are read through the built-in traceback
/// type's attributes and the C API: no code of the program runs.
fn traceback_offset(
    py: Python<'_>,
    code: &Bound<'_, PyAny>,
    exception: &Bound<'_, PyAny>,
) -> Option<c_int> {
    // SAFETY: GIL held; a live object; the traceback is a new reference or NULL.
    let traceback = unsafe {
        if ffi::PyExceptionInstance_Check(exception.as_ptr()) == 0 {
            return None;
        }
        Bound::from_owned_ptr_or_opt(py, ffi::PyException_GetTraceback(exception.as_ptr()))
    }?;
    if !traceback.is_exact_instance(&py.get_type::<pyo3::types::PyTraceback>()) {
        return None;
    }
    let frame = traceback.getattr(pyo3::intern!(py, "tb_frame")).ok()?;
    if !frame.is_exact_instance(&py.get_type::<pyo3::types::PyFrame>()) {
        return None;
    }
    // SAFETY: a live frame object; its code is a new reference.
    let frame_code = unsafe {
        Bound::from_owned_ptr(
            py,
            ffi::PyFrame_GetCode(frame.as_ptr().cast()).cast::<ffi::PyObject>(),
        )
    };
    if !frame_code.is(code) {
        return None;
    }
    traceback
        .getattr(pyo3::intern!(py, "tb_lasti"))
        .ok()?
        .extract()
        .ok()
}

/// The line of the instruction at byte `offset` of `code`, from the code
/// object's location table (0 when it has none), never from the line events'
/// table that `PyCode_Addr2Line` reads on 3.14+ once LINE events are on, and
/// which has no line for an offset inside an instruction's inline caches.
fn line_at(code: &Bound<'_, PyAny>, offset: c_int) -> u32 {
    let (mut line, mut column, mut end_line, mut end_column) = (0, 0, 0, 0);
    // SAFETY: `code` is a live code object (a variable-size object whose size
    // is its number of 2-byte code units); an offset past its end is caught
    // here, where the C function would only assert.
    let found = unsafe {
        let bytes = ffi::Py_SIZE(code.as_ptr()).saturating_mul(2);
        isize::try_from(offset).is_ok_and(|offset| offset < bytes)
            && PyCode_Addr2Location(
                code.as_ptr().cast(),
                offset,
                &mut line,
                &mut column,
                &mut end_line,
                &mut end_column,
            ) != 0
    };
    if found {
        u32::try_from(line).unwrap_or(0)
    } else {
        0
    }
}

#[pyfunction]
fn on_throw(
    py: Python<'_>,
    code: Bound<'_, PyAny>,
    _offset: i64,
    exception: Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    settle_handoff(py);
    with_session(py, |s| s.throw(py, &code, &exception));
    Ok(py.None())
}

#[pyfunction]
fn on_raise(
    py: Python<'_>,
    code: Bound<'_, PyAny>,
    offset: i64,
    exception: Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    // The line of the raising instruction, from the code object: no frame
    // object is needed.
    let line = || {
        let offset =
            traceback_offset(py, &code, &exception).or_else(|| c_int::try_from(offset).ok());
        offset.map_or(0, |offset| line_at(&code, offset))
    };
    settle_handoff(py);
    with_session(py, |s| s.raise(&code, &exception, line));
    Ok(py.None())
}
