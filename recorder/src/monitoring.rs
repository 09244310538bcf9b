//! The `sys.monitoring` backend (CPython 3.12+). PY_START, PY_THROW, PY_UNWIND
//! and RAISE are global events; a recorded code object gets LINE, PY_RETURN,
//! PY_YIELD and PY_RESUME as local events, and a skipped one gets DISABLE
//! from its PY_START, so skipped code costs one callback per code object.

use crate::hooks::with_session;
use crate::session::Verdict;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyCFunction;

const TOOL_NAME: &str = "tracesieve";

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
    answer(py, with_session(py, |s| s.resume(py, &code)))
}

#[pyfunction]
fn on_return(
    py: Python<'_>,
    code: Bound<'_, PyAny>,
    _offset: i64,
    value: Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    answer(py, with_session(py, |s| s.ret(&code, &value)))
}

#[pyfunction]
fn on_yield(
    py: Python<'_>,
    code: Bound<'_, PyAny>,
    _offset: i64,
    value: Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    answer(py, with_session(py, |s| s.yielded(&code, &value)))
}

#[pyfunction]
fn on_line(py: Python<'_>, code: Bound<'_, PyAny>, line: i64) -> PyResult<Py<PyAny>> {
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
    with_session(py, |s| s.unwind(&code, &exception));
    Ok(py.None())
}

#[pyfunction]
fn on_throw(
    py: Python<'_>,
    code: Bound<'_, PyAny>,
    _offset: i64,
    exception: Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
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
        let Ok(offset) = std::os::raw::c_int::try_from(offset) else {
            return 0;
        };
        // SAFETY: `code` is a live code object; an offset out of range gives -1.
        let line = unsafe { ffi::PyCode_Addr2Line(code.as_ptr().cast(), offset) };
        u32::try_from(line).unwrap_or(0)
    };
    with_session(py, |s| s.raise(&code, &exception, line));
    Ok(py.None())
}
