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

impl Registration {
    /// The sys.monitoring tool id claimed.
    pub fn tool(&self) -> u8 {
        self.tool
    }
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

/// Claims a tool id and registers the callbacks.
pub fn register(py: Python<'_>) -> PyResult<Registration> {
    let mon = monitoring(py)?;
    let mut tool = None;
    for candidate in [2u8, 3, 4] {
        if mon.call_method1("get_tool", (candidate,))?.is_none() {
            mon.call_method1("use_tool_id", (candidate, TOOL_NAME))?;
            tool = Some(candidate);
            break;
        }
    }
    let tool = tool.ok_or_else(|| {
        pyo3::exceptions::PyRuntimeError::new_err(
            "no free sys.monitoring tool id (2, 3 and 4 are taken)",
        )
    })?;
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

fn current_frame() -> *mut ffi::PyFrameObject {
    // SAFETY: called with the GIL held from a monitoring callback; returns a
    // borrowed reference to the frame that triggered the event.
    unsafe { ffi::PyEval_GetFrame() }
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
    let verdict = with_session(py, |s| s.start(py, &code, current_frame));
    if verdict == Some(Verdict::RecordFirst) {
        let tool = crate::hooks::monitoring_tool().unwrap_or(2);
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
    _offset: i64,
    exception: Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    let frame = current_frame();
    // SAFETY: `frame` is the live frame of this callback (or NULL).
    let line = if frame.is_null() {
        0
    } else {
        unsafe { ffi::PyFrame_GetLineNumber(frame) }
    };
    with_session(py, |s| {
        s.raise(&code, &exception, u32::try_from(line).unwrap_or(0))
    });
    Ok(py.None())
}
