//! The CPython 3.11 backend: the C-level trace hook (`PyEval_SetTrace`) on
//! the recording thread and on every thread `threading` starts afterwards
//! (see [`start_new_thread`]). Its events are mapped onto the same [`Session`] calls
//! as the `sys.monitoring` backend's, so both write the same trace:
//!
//! * a call on a generator frame that yielded before is a resume, or a throw
//!   when the frame's very next event is an exception (3.11 hides the
//!   thrown exception from the call event), so the resume is held back until
//!   the thread's next event;
//! * a return whose last instruction is `YIELD_VALUE` is a yield, a return
//!   with no value is an unwind (with the exception last seen in the frame);
//! * an exception event is a raise, except the StopIteration with which 3.11
//!   hands a finished generator's or coroutine's return value to the
//!   `yield from`/`await` (SEND) that drove it: 3.11 reports it only because
//!   a trace function is set, 3.12+ never raises it (see
//!   [`is_implicit_stop_iteration`]).
//!
//! Frames of ignored code get `f_trace_lines = False`, so they cost one call
//! and one return callback each.
//!
//! `sys.gettrace()` returns a [`Tracer`], so a program that swaps in its own
//! trace function and puts the previous one back (`old = sys.gettrace();
//! sys.settrace(f); ...; sys.settrace(old)`) puts the recorder back: the
//! interpreter then calls the `Tracer`, which installs the C hook again and
//! records from there. Events while the program's own function was in place
//! are not recorded: a thread has one trace function.
//!
//! [`Session`]: crate::session::Session

use crate::hooks::with_session;
use crate::session::Verdict;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use rustc_hash::{FxHashMap, FxHashSet};
use std::cell::RefCell;
use std::os::raw::c_int;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// What was registered, to undo it: `threading`'s own way of starting a
/// thread, replaced while recording (see [`start_new_thread`]).
pub struct Registration {
    start_new_thread: Py<PyAny>,
}

struct LegacyState {
    yield_opcode: u8,
    /// Generator frames that yielded and have not finished.
    suspended: FxHashSet<usize>,
    /// `co_code` of each code object seen, to read the last instruction.
    bytecode: FxHashMap<usize, Py<PyBytes>>,
    /// The exception last raised in each frame, for its unwind, kept only
    /// while it may still unwind the frame (see [`forget_handled`]).
    raised: FxHashMap<usize, Py<PyAny>>,
    /// A generator frame resumed, not yet known to be a plain resume or a throw.
    pending_resume: Option<(usize, Py<PyAny>)>,
    /// `co_flags` of each code object seen returning.
    flags: FxHashMap<usize, u32>,
    /// The address of the value a generator or coroutine finished with, if
    /// that was this thread's previous event, for [`is_implicit_stop_iteration`]
    /// (an address, so the value is not kept alive any longer than without
    /// the recorder).
    generator_returned: Option<usize>,
}

/// Whether the hooks should stay installed; threads still carrying one after
/// `unregister` remove it at their next event.
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The `YIELD_VALUE` opcode of this interpreter.
static YIELD_VALUE: AtomicU8 = AtomicU8::new(0);

/// The `SEND` opcode of this interpreter.
static SEND: AtomicU8 = AtomicU8::new(0);

thread_local! {
    static STATE: RefCell<Option<LegacyState>> = const { RefCell::new(None) };
}

fn with_state<R>(f: impl FnOnce(&mut LegacyState) -> R) -> Option<R> {
    STATE.with(|s| s.borrow_mut().as_mut().map(f))
}

/// Installs the hook on this thread and on threads started from now on.
pub fn register(py: Python<'_>) -> PyResult<crate::hooks::Backend> {
    TRACER.get_or_try_init(py, || Py::new(py, Tracer))?;
    let opcode: u8 = py
        .import("dis")?
        .getattr("opmap")?
        .get_item("YIELD_VALUE")?
        .extract()?;
    YIELD_VALUE.store(opcode, Ordering::Relaxed);
    let send: u8 = py
        .import("dis")?
        .getattr("opmap")?
        .get_item("SEND")?
        .extract()?;
    SEND.store(send, Ordering::Relaxed);
    INSTALLED.store(true, Ordering::Relaxed);
    install_on_this_thread(py)?;
    let threading = crate::modules::get(py)?.threading.bind(py);
    let original = threading.getattr(START_NEW_THREAD)?;
    ORIGINAL_START_NEW_THREAD.get_or_init(py, || original.clone().unbind());
    let ours = wrap_pyfunction!(start_new_thread, py)?;
    threading.setattr(START_NEW_THREAD, &ours)?;
    Ok(crate::hooks::Backend::Legacy(Registration {
        start_new_thread: original.unbind(),
    }))
}

/// Removes the hook from this thread and from threads started from now on;
/// other threads remove theirs at their next event.
pub fn unregister(py: Python<'_>, registration: Registration) -> PyResult<()> {
    INSTALLED.store(false, Ordering::Relaxed);
    let threading = crate::modules::get(py)?.threading.bind(py);
    threading.setattr(START_NEW_THREAD, registration.start_new_thread)?;
    // SAFETY: clearing the current thread's trace function, GIL held.
    unsafe { ffi::PyEval_SetTrace(None, std::ptr::null_mut()) };
    STATE.with(|s| s.borrow_mut().take());
    Ok(())
}

/// The name under which `threading.Thread.start` finds `_thread`'s
/// `start_new_thread` (3.11).
const START_NEW_THREAD: &str = "_start_new_thread";

/// `threading._start_new_thread` as it was before the first recording.
static ORIGINAL_START_NEW_THREAD: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// `threading._start_new_thread` while recording: starts the thread with
/// its function wrapped in a [`ThreadEntry`], which installs the C hook
/// on the new thread before the function runs.
///
/// Not `threading.settrace`: with it, each new thread calls
/// `sys.settrace` in `threading`'s own start-up code, and 3.11 lets one
/// thread at a time install a trace function, process-wide (a static
/// guard in `_PyEval_SetTrace`, made reentrant in 3.12: CPython
/// gh-98257). While one thread installs, an audit hook written in Python
/// can let another thread run, and if that thread is starting, its
/// `sys.settrace` raises "Cannot install a trace function while another
/// trace function is being installed" and the thread dies before its
/// target runs (CPython's `test_functools.test_lru_cache_threaded` does
/// it under `python -m test`, whose audit hook is Python code). Here the
/// only installation is the recorder's own, which waits for its turn
/// instead (see [`set_hook_on_this_thread`]).
#[pyfunction]
#[pyo3(signature = (function, args, kwargs = None))]
fn start_new_thread(
    py: Python<'_>,
    function: Py<PyAny>,
    args: Bound<'_, PyAny>,
    kwargs: Option<Bound<'_, PyAny>>,
) -> PyResult<Py<PyAny>> {
    let start = ORIGINAL_START_NEW_THREAD
        .get(py)
        .expect("registered before threading's start is replaced");
    let entry = Py::new(py, ThreadEntry { function })?;
    match kwargs {
        Some(kwargs) => start.call1(py, (entry, args, kwargs)),
        None => start.call1(py, (entry, args)),
    }
}

/// The function of a thread started while recording: installs the C hook
/// on its thread, then calls the function (a C-level callable, so the
/// thread's Python stack is as under plain Python).
#[pyclass(module = "tracesieve", name = "ThreadEntry", frozen)]
struct ThreadEntry {
    function: Py<PyAny>,
}

#[pymethods]
impl ThreadEntry {
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, pyo3::types::PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        if INSTALLED.load(Ordering::Relaxed) {
            if let Err(error) = install_on_this_thread(py) {
                crate::hooks::detach(py, &format!("tracing a new thread failed: {error}"));
            }
        }
        self.function.call(py, args, kwargs)
    }

    /// The function's own, for what `_thread` prints of an exception that
    /// escapes it ("Exception ignored in thread started by: ...").
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(self.function.bind(py).repr()?.to_string())
    }
}

fn install_on_this_thread(py: Python<'_>) -> PyResult<()> {
    let yield_opcode = YIELD_VALUE.load(Ordering::Relaxed);
    STATE.with(|s| {
        *s.borrow_mut() = Some(LegacyState {
            yield_opcode,
            suspended: FxHashSet::default(),
            bytecode: FxHashMap::default(),
            raised: FxHashMap::default(),
            pending_resume: None,
            flags: FxHashMap::default(),
            generator_returned: None,
        })
    });
    let installed = set_hook_on_this_thread(py);
    if installed.is_err() {
        STATE.with(|s| s.borrow_mut().take());
    }
    installed
}

/// The object `sys.gettrace()` returns while the hook is installed (see the
/// module's documentation): called by the interpreter when a program
/// restores it with `sys.settrace`, it installs the C hook again.
#[pyclass(module = "tracesieve", name = "Tracer", frozen)]
pub struct Tracer;

#[pymethods]
impl Tracer {
    /// Installs the C hook on this thread again and records this event.
    fn __call__(
        &self,
        py: Python<'_>,
        frame: Bound<'_, PyAny>,
        event: &str,
        arg: Bound<'_, PyAny>,
    ) -> Py<PyAny> {
        if INSTALLED.load(Ordering::Relaxed) && STATE.with(|s| s.borrow().is_some()) {
            // Should another thread be installing its own, the interpreter
            // goes on calling this object, which tries again next event.
            let _ = set_hook_on_this_thread(py);
            let what = match event {
                "call" => Some(ffi::PyTrace_CALL),
                "line" => Some(ffi::PyTrace_LINE),
                "return" => Some(ffi::PyTrace_RETURN),
                "exception" => Some(ffi::PyTrace_EXCEPTION),
                _ => None,
            };
            if let Some(what) = what {
                trace_attached(
                    py,
                    frame.as_ptr() as *mut ffi::PyFrameObject,
                    what,
                    arg.as_ptr(),
                );
            }
        }
        py.None()
    }
}

static TRACER: pyo3::sync::PyOnceLock<Py<Tracer>> = pyo3::sync::PyOnceLock::new();

/// Sets the C hook on the current thread, with the [`Tracer`] as the
/// object `sys.gettrace()` returns.
///
/// 3.11 lets one thread at a time install a trace function (see
/// [`start_new_thread`]): while another thread is inside its own
/// installation, this one lets it finish and tries again.
fn set_hook_on_this_thread(py: Python<'_>) -> PyResult<()> {
    let object = TRACER
        .get(py)
        .map_or(std::ptr::null_mut(), |tracer| tracer.as_ptr());
    let Some(set_trace) = reporting_set_trace() else {
        // SAFETY: installing a C trace function for the current thread,
        // GIL held; the interpreter keeps its own reference to `object`.
        unsafe { ffi::PyEval_SetTrace(Some(trace), object) };
        return Ok(());
    };
    let mut attempts = 0;
    loop {
        // SAFETY: as above, through the function `PyEval_SetTrace` calls.
        let status = unsafe { set_trace(ffi::PyThreadState_Get(), Some(trace), object) };
        if status == 0 {
            return Ok(());
        }
        let error = PyErr::fetch(py);
        attempts += 1;
        if !error.is_instance_of::<pyo3::exceptions::PyRuntimeError>(py)
            || attempts == MAX_INSTALL_ATTEMPTS
        {
            return Err(error);
        }
        py.detach(std::thread::yield_now);
    }
}

/// How many times [`set_hook_on_this_thread`] waits for another thread's
/// installation before it gives up (each wait lets every other thread run).
const MAX_INSTALL_ATTEMPTS: u32 = 10_000;

/// `_PyEval_SetTrace(tstate, func, arg)`: 0, or -1 with an exception set.
type SetTrace = unsafe extern "C" fn(
    *mut ffi::PyThreadState,
    Option<ffi::Py_tracefunc>,
    *mut ffi::PyObject,
) -> c_int;

/// The `PyEval_SetTrace` that reports failure, `_PyEval_SetTrace` (3.11's
/// public one hands a failure to `sys.unraisablehook`, for the program to
/// see), looked up in the running interpreter: this module is built for
/// every version, and 3.13 no longer exports it.
fn reporting_set_trace() -> Option<SetTrace> {
    static FOUND: std::sync::OnceLock<Option<SetTrace>> = std::sync::OnceLock::new();
    *FOUND.get_or_init(|| {
        // SAFETY: looking a symbol up in the process's global scope.
        let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"_PyEval_SetTrace".as_ptr()) };
        // SAFETY: CPython 3.11 declares `_PyEval_SetTrace` with this
        // signature (`cpython/ceval.h`).
        (!symbol.is_null())
            .then(|| unsafe { std::mem::transmute::<*mut libc::c_void, SetTrace>(symbol) })
    })
}

extern "C" fn trace(
    _obj: *mut ffi::PyObject,
    frame: *mut ffi::PyFrameObject,
    what: c_int,
    arg: *mut ffi::PyObject,
) -> c_int {
    // CPython calls trace functions with the GIL held, but not through
    // PyO3: `attach` tells PyO3 so. Without it PyO3 believes the thread is
    // detached and defers every `Py` drop to a pool it empties only when it
    // next attaches, so an exception or a value the recorder let go of stayed
    // alive, for the program to see (a weak reference not cleared, a
    // refcount one too high). On a thread holding the GIL, attaching only
    // bumps PyGILState_Ensure's counter, and empties that pool.
    Python::attach(|py| trace_attached(py, frame, what, arg))
}

fn trace_attached(
    py: Python<'_>,
    frame: *mut ffi::PyFrameObject,
    what: c_int,
    arg: *mut ffi::PyObject,
) -> c_int {
    if !INSTALLED.load(Ordering::Relaxed) || STATE.with(|s| s.borrow().is_none()) {
        // SAFETY: removing this thread's hook from inside it is allowed.
        unsafe { ffi::PyEval_SetTrace(None, std::ptr::null_mut()) };
        return 0;
    }
    // An exception may be in flight: set it aside so the recorder's own
    // calls start clean, and put it back.
    let pending = PendingError::take(py);
    let returned = with_state(|s| s.generator_returned.take()).flatten();
    if what == ffi::PyTrace_EXCEPTION && is_implicit_stop_iteration(py, frame, arg, returned) {
        pending.restore();
        return 0;
    }
    settle_resume(py, frame, what, arg);
    match what {
        ffi::PyTrace_CALL => on_call(py, frame),
        ffi::PyTrace_LINE => on_line(py, frame),
        ffi::PyTrace_RETURN => on_return(py, frame, arg),
        ffi::PyTrace_EXCEPTION => on_exception(py, frame, arg),
        _ => {}
    }
    pending.restore();
    0
}

/// Writes the held-back resume: as a throw when this event is an exception
/// in the resumed frame, else as a resume.
fn settle_resume(
    py: Python<'_>,
    frame: *mut ffi::PyFrameObject,
    what: c_int,
    arg: *mut ffi::PyObject,
) {
    let Some((resumed, code)) = with_state(|s| s.pending_resume.take()).flatten() else {
        return;
    };
    let code = code.into_bound(py);
    let thrown = (what == ffi::PyTrace_EXCEPTION && resumed == frame as usize)
        .then(|| exception_of(py, arg))
        .flatten();
    let verdict = match thrown {
        Some(exception) => with_session(py, |s| {
            s.throw(py, &code, &exception).map(|_| Verdict::Record)
        }),
        None => with_session(py, |s| s.resume(py, &code)),
    };
    if verdict == Some(Verdict::Ignore) {
        skip_lines(resumed as *mut ffi::PyFrameObject);
    }
}

/// Whether an exception event is the StopIteration that carries the value a
/// generator or coroutine just finished with (`returned`, the thread's
/// previous event) to the `yield from`/`await` driving it (a SEND
/// instruction). 3.11 raises and reports it only because a trace function is
/// set; 3.12+ resumes the awaiting frame with the value and reports no RAISE
/// (sys.monitoring's STOP_ITERATION, which the recorder does not use). A
/// StopIteration raised by Python code (`__next__`) or one a `for` loop
/// (FOR_ITER) stops at is a RAISE on every version and is kept.
fn is_implicit_stop_iteration(
    py: Python<'_>,
    frame: *mut ffi::PyFrameObject,
    arg: *mut ffi::PyObject,
    returned: Option<usize>,
) -> bool {
    let Some(returned) = returned else {
        return false;
    };
    let Some(exception) = exception_of(py, arg) else {
        return false;
    };
    if !exception.is_instance_of::<pyo3::exceptions::PyStopIteration>() {
        return false;
    }
    let carries_value = exception
        .getattr("value")
        .is_ok_and(|v| v.as_ptr() as usize == returned);
    let code = code_of(py, frame);
    carries_value && last_opcode(py, &code, frame) == Some(SEND.load(Ordering::Relaxed))
}

/// Whether `code` is a generator's or a coroutine's.
fn is_generator_code(code: &Bound<'_, PyAny>) -> bool {
    const GENERATOR_OR_COROUTINE: u32 = 0x20 | 0x80 | 0x100; // CO_GENERATOR, CO_COROUTINE, CO_ITERABLE_COROUTINE
    let key = code.as_ptr() as usize;
    let flags = with_state(|s| s.flags.get(&key).copied()).flatten();
    let flags = flags.unwrap_or_else(|| {
        let flags = code
            .getattr("co_flags")
            .and_then(|f| f.extract::<u32>())
            .unwrap_or(0);
        with_state(|s| s.flags.insert(key, flags));
        flags
    });
    flags & GENERATOR_OR_COROUTINE != 0
}

/// The exception value of an exception event's `(type, value, traceback)`.
fn exception_of(py: Python<'_>, arg: *mut ffi::PyObject) -> Option<Bound<'_, PyAny>> {
    // SAFETY: `arg` is a borrowed tuple or NULL.
    let info = unsafe { Bound::from_borrowed_ptr_or_opt(py, arg) }?;
    info.cast::<PyTuple>().ok()?.get_item(1).ok()
}

/// The error indicator, fetched and normalised, to be restored unchanged.
struct PendingError {
    kind: *mut ffi::PyObject,
    value: *mut ffi::PyObject,
    traceback: *mut ffi::PyObject,
}

impl PendingError {
    // PyErr_GetRaisedException, which replaces these, does not exist on 3.11.
    #[allow(deprecated)]
    fn take(_py: Python<'_>) -> PendingError {
        let mut pending = PendingError {
            kind: std::ptr::null_mut(),
            value: std::ptr::null_mut(),
            traceback: std::ptr::null_mut(),
        };
        // SAFETY: GIL held; fetch moves the indicator's references into `pending`.
        unsafe {
            if !ffi::PyErr_Occurred().is_null() {
                ffi::PyErr_Fetch(
                    &mut pending.kind,
                    &mut pending.value,
                    &mut pending.traceback,
                );
                ffi::PyErr_NormalizeException(
                    &mut pending.kind,
                    &mut pending.value,
                    &mut pending.traceback,
                );
            }
        }
        pending
    }

    #[allow(deprecated)] // as in `take`
    fn restore(self) {
        if !self.kind.is_null() {
            // SAFETY: hands the fetched references back to the indicator.
            unsafe { ffi::PyErr_Restore(self.kind, self.value, self.traceback) };
        }
    }
}

fn code_of<'py>(py: Python<'py>, frame: *mut ffi::PyFrameObject) -> Bound<'py, PyAny> {
    // SAFETY: `frame` is live; PyFrame_GetCode returns a new reference.
    unsafe { Bound::from_owned_ptr(py, ffi::PyFrame_GetCode(frame) as *mut ffi::PyObject) }
}

fn skip_lines(frame: *mut ffi::PyFrameObject) {
    // SAFETY: `frame` is live; setting a frame attribute, GIL held. An error
    // (none expected) is cleared so the program does not see it.
    unsafe {
        if ffi::PyObject_SetAttrString(
            frame as *mut ffi::PyObject,
            c"f_trace_lines".as_ptr(),
            ffi::Py_False(),
        ) != 0
        {
            ffi::PyErr_Clear();
        }
    }
}

fn on_call(py: Python<'_>, frame: *mut ffi::PyFrameObject) {
    let code = code_of(py, frame);
    let key = frame as usize;
    if with_state(|s| s.suspended.remove(&key)).unwrap_or(false) {
        with_state(|s| s.pending_resume = Some((key, code.unbind())));
        return;
    }
    let globals = || {
        // SAFETY: `frame` is live; a new reference or NULL.
        unsafe { Bound::from_owned_ptr_or_opt(py, ffi::PyFrame_GetGlobals(frame)) }
    };
    if with_session(py, |s| s.start(py, &code, || frame, globals)) == Some(Verdict::Ignore) {
        skip_lines(frame);
    }
}

fn on_line(py: Python<'_>, frame: *mut ffi::PyFrameObject) {
    forget_handled(py, frame);
    let code = code_of(py, frame);
    // SAFETY: `frame` is live.
    let line = unsafe { ffi::PyFrame_GetLineNumber(frame) };
    let verdict = with_session(py, |s| {
        s.line(py, &code, u32::try_from(line).unwrap_or(0), || frame)
    });
    if verdict == Some(Verdict::Ignore) {
        skip_lines(frame);
    }
}

/// A line runs in `frame` after an exception was raised there: the
/// exception kept for the frame's unwind becomes the one being handled now
/// (an `except` or `finally` block, or a `with` exit, is running: that is
/// what a bare `raise` or the block's end unwinds with), or is let go when
/// none is (the exception was caught and its handler is done). Keeping it
/// until the frame returned kept it, its traceback and their frames' locals
/// alive longer than without the recorder (test_exceptions'
/// `testExceptionCleanupState`). An exception handled in a caller is alive
/// as long as this frame runs anyway.
fn forget_handled(py: Python<'_>, frame: *mut ffi::PyFrameObject) {
    let key = frame as usize;
    if with_state(|s| s.raised.is_empty() || !s.raised.contains_key(&key)).unwrap_or(true) {
        return;
    }
    // SAFETY: GIL held; a new reference, or NULL when nothing is handled.
    let handled = unsafe { Bound::from_owned_ptr_or_opt(py, ffi::PyErr_GetHandledException()) }
        .filter(|handled| !handled.is_none());
    // What is let go is dropped after the state's borrow ends: dropping it
    // may run a finalizer.
    let _released = with_state(|s| match handled {
        Some(handled) => s
            .raised
            .get_mut(&key)
            .filter(|kept| kept.as_ptr() != handled.as_ptr())
            .map(|kept| std::mem::replace(kept, handled.unbind())),
        None => s.raised.remove(&key),
    });
}

fn last_opcode(
    py: Python<'_>,
    code: &Bound<'_, PyAny>,
    frame: *mut ffi::PyFrameObject,
) -> Option<u8> {
    // SAFETY: `frame` is live.
    let lasti = unsafe { ffi::PyFrame_GetLasti(frame) };
    let lasti = usize::try_from(lasti).ok()?;
    let key = code.as_ptr() as usize;
    let bytes = with_state(|s| s.bytecode.get(&key).map(|b| b.clone_ref(py))).flatten();
    let bytes = match bytes {
        Some(bytes) => bytes,
        None => {
            let bytes: Py<PyBytes> = code
                .getattr("co_code")
                .ok()?
                .cast_into::<PyBytes>()
                .ok()?
                .unbind();
            with_state(|s| s.bytecode.insert(key, bytes.clone_ref(py)));
            bytes
        }
    };
    bytes.bind(py).as_bytes().get(lasti).copied()
}

fn on_return(py: Python<'_>, frame: *mut ffi::PyFrameObject, arg: *mut ffi::PyObject) {
    let code = code_of(py, frame);
    let key = frame as usize;
    let raised = with_state(|s| s.raised.remove(&key)).flatten();
    // SAFETY: `arg` is the returned value (borrowed) or NULL on an exception exit.
    let value = unsafe { Bound::from_borrowed_ptr_or_opt(py, arg) };
    match value {
        None => {
            let exception = raised
                .map(|e| e.into_bound(py))
                .unwrap_or_else(|| py.None().into_bound(py));
            with_session(py, |s| s.unwind(&code, &exception, || frame));
        }
        Some(value) => {
            let yield_opcode = with_state(|s| s.yield_opcode);
            if yield_opcode.is_some() && last_opcode(py, &code, frame) == yield_opcode {
                with_state(|s| s.suspended.insert(key));
                with_session(py, |s| s.yielded(&code, &value, || frame));
            } else {
                if is_generator_code(&code) {
                    let address = value.as_ptr() as usize;
                    with_state(|s| s.generator_returned = Some(address));
                }
                with_session(py, |s| s.ret(&code, &value, || frame));
            }
        }
    }
}

fn on_exception(py: Python<'_>, frame: *mut ffi::PyFrameObject, arg: *mut ffi::PyObject) {
    // SAFETY: `arg` is a borrowed (type, value, traceback) tuple.
    let Some(info) = (unsafe { Bound::from_borrowed_ptr_or_opt(py, arg) }) else {
        return;
    };
    let Ok(info) = info.cast::<PyTuple>() else {
        return;
    };
    let Ok(exception) = info.get_item(1) else {
        return;
    };
    let code = code_of(py, frame);
    let _previous = with_state(|s| s.raised.insert(frame as usize, exception.clone().unbind()));
    // SAFETY: `frame` is live.
    let line = unsafe { ffi::PyFrame_GetLineNumber(frame) };
    with_session(py, |s| {
        s.raise(&code, &exception, || u32::try_from(line).unwrap_or(0))
    });
}
