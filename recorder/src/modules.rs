//! Python objects the callbacks need, looked up once when recording starts.
//! Callbacks never import: importing reads `__import__` from the builtins of
//! the frame being traced, which a frame still being set up may not have.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// The cached objects.
pub struct Modules {
    /// `sys`.
    pub sys: Py<PyModule>,
    /// `threading`.
    pub threading: Py<PyModule>,
    /// `sys.monitoring` (3.12+).
    pub monitoring: Option<Py<PyAny>>,
    /// `sys.monitoring.DISABLE` (3.12+).
    pub disable: Option<Py<PyAny>>,
    /// `threading._active`, the `Thread` objects by thread ident (read,
    /// never called into: `threading.current_thread()` would make a
    /// `_DummyThread` for a thread `threading` did not start).
    pub active_threads: Option<Py<PyDict>>,
    /// `importlib.machinery.ModuleSpec`: a module's `__spec__` is read only
    /// when it is exactly one (a spec object of the program's could answer
    /// attribute reads with its own code).
    pub module_spec: Option<Py<PyAny>>,
}

static MODULES: PyOnceLock<Modules> = PyOnceLock::new();

/// Looks the objects up; call outside any callback (when recording starts).
pub fn init(py: Python<'_>) -> PyResult<&'static Modules> {
    MODULES.get_or_try_init(py, || {
        let sys = py.import("sys")?;
        let monitoring = sys.getattr("monitoring").ok();
        let disable = monitoring
            .as_ref()
            .and_then(|m| m.getattr("DISABLE").ok())
            .map(Bound::unbind);
        let threading = py.import("threading")?;
        let active_threads = threading
            .dict()
            .get_item("_active")
            .ok()
            .flatten()
            .and_then(|a| a.cast_into_exact::<PyDict>().ok())
            .map(Bound::unbind);
        let module_spec = py
            .import("importlib.machinery")
            .and_then(|m| m.getattr("ModuleSpec"))
            .ok()
            .map(Bound::unbind);
        Ok(Modules {
            threading: threading.unbind(),
            active_threads,
            module_spec,
            monitoring: monitoring.map(Bound::unbind),
            disable,
            sys: sys.unbind(),
        })
    })
}

/// The cached objects; `init` must have run.
pub fn get(py: Python<'_>) -> PyResult<&'static Modules> {
    MODULES.get(py).ok_or_else(|| {
        pyo3::exceptions::PyRuntimeError::new_err("tracesieve: recorder modules not initialised")
    })
}
