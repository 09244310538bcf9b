//! Filter checking and explaining for Python callers.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Mutex;
use tracesieve_engine::identity::ModuleFile;
use tracesieve_engine::{
    builtin, explain, FilterChain, FilterError as EngineError, FilterSource, Framework, NamingMode,
    Platform, ScopeQuery, ValueKind, ValueQuery,
};

create_exception!(
    tracesieve,
    FilterError,
    PyException,
    "A filter that cannot be read or is invalid."
);

/// Parses a module naming token (`globals` or `paths`) for Python callers.
pub fn naming_mode(text: &str) -> PyResult<NamingMode> {
    text.parse().map_err(PyValueError::new_err)
}

/// Reads a filter file as a source; an unreadable file is an engine I/O error.
pub fn read_source(path: &str) -> Result<FilterSource, EngineError> {
    match std::fs::read(path) {
        Ok(bytes) => FilterSource::file_bytes(path, bytes),
        Err(e) => Err(EngineError::new(
            path,
            tracesieve_engine::FilterErrorKind::Io {
                message: e.to_string(),
            },
        )),
    }
}

/// Parses an optional test-framework token for Python callers.
pub fn framework(name: Option<&str>) -> PyResult<Option<Framework>> {
    name.map(|n| n.parse().map_err(PyValueError::new_err))
        .transpose()
}

/// The chain `builtins + paths`, read from disk.
pub fn load_chain(
    paths: &[String],
    builtin_filter: bool,
    framework: Option<Framework>,
) -> Result<FilterChain, EngineError> {
    load_chain_after(builtin::head(builtin_filter, framework), paths)
}

/// The chain `head + paths`, the paths read from disk. The chain loaded
/// last is kept, and given again while the same texts are asked for (a
/// recording per test, as the pytest plugin makes, would otherwise parse
/// the built-in filters and compile their patterns for every test).
pub fn load_chain_after(
    mut sources: Vec<FilterSource>,
    paths: &[String],
) -> Result<FilterChain, EngineError> {
    static LAST: Mutex<Option<(Vec<FilterSource>, FilterChain)>> = Mutex::new(None);
    for path in paths {
        sources.push(read_source(path)?);
    }
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((loaded, chain)) = last.as_ref() {
        if *loaded == sources {
            return Ok(chain.clone());
        }
    }
    let chain = FilterChain::load(&sources, Platform::host())?;
    *last = Some((sources, chain.clone()));
    Ok(chain)
}

fn problem<'py>(py: Python<'py>, error: &EngineError) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("path", &error.source)?;
    dict.set_item("line", error.location.map(|l| l.line))?;
    dict.set_item("column", error.location.map(|l| l.column))?;
    dict.set_item("rule", error.rule)?;
    dict.set_item("pattern", error.pattern)?;
    dict.set_item("code", error.code().to_string())?;
    dict.set_item("message", error.message())?;
    dict.set_item("text", error.to_string())?;
    Ok(dict)
}

///
/// The exception object is made here rather than left to `PyErr` to make
/// when first asked for: PyO3 makes a lazy error's object through
/// `Python::detach`, which refuses while the interpreter is initialising,
/// and on 3.15 the start-up hook that starts `record`'s recording runs
/// then (during `site`), so a broken filter would end in a panic there.
pub fn raise_filter_error(py: Python<'_>, error: &EngineError) -> PyErr {
    let instance = match py.get_type::<FilterError>().call1((error.to_string(),)) {
        Ok(instance) => instance,
        Err(err) => return err,
    };
    if let Ok(details) = problem(py, error) {
        let _ = instance.setattr("problem", details);
    }
    PyErr::from_value(instance)
}

/// Validates the filter at `path` as it would load after the built-in head.
/// Returns `None` when valid, else a dict describing the first problem.
#[pyfunction]
#[pyo3(signature = (path, builtin_filter = true, framework = None))]
pub fn check_filter<'py>(
    py: Python<'py>,
    path: &str,
    builtin_filter: bool,
    framework: Option<&str>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let framework = self::framework(framework)?;
    match load_chain(&[path.to_string()], builtin_filter, framework) {
        Ok(_) => Ok(None),
        Err(error) => problem(py, &error).map(Some),
    }
}

/// The engine's decision for one scope as JSON (the documented shape).
#[pyfunction]
#[pyo3(signature = (
    filters, filename, qualname, module = None, values = Vec::new(), builtin_filter = true,
    framework = None, module_names = "globals", sys_path = Vec::new(), cwd = String::new(),
    modules = Vec::new(), markers = Vec::new()
))]
#[allow(clippy::too_many_arguments)]
pub fn explain_json(
    py: Python<'_>,
    filters: Vec<String>,
    filename: &str,
    qualname: &str,
    module: Option<&str>,
    values: Vec<(String, String)>,
    builtin_filter: bool,
    framework: Option<&str>,
    module_names: &str,
    sys_path: Vec<String>,
    cwd: String,
    modules: Vec<(String, String)>,
    markers: Vec<String>,
) -> PyResult<String> {
    let framework = self::framework(framework)?;
    let mode = naming_mode(module_names)?;
    let queries = values
        .into_iter()
        .map(|(kind, name)| match ValueKind::from_token(&kind) {
            Some(kind) => Ok(ValueQuery { kind, name }),
            None => Err(PyValueError::new_err(format!(
                "unknown value kind '{kind}' (expected arg, local, global, ret or attr)"
            ))),
        })
        .collect::<PyResult<Vec<_>>>()?;
    let chain =
        load_chain(&filters, builtin_filter, framework).map_err(|e| raise_filter_error(py, &e))?;
    let query = ScopeQuery {
        filename: filename.to_string(),
        qualname: qualname.to_string(),
        module: module.map(str::to_string),
        first_line: None,
        module_names: mode,
        sys_path,
        cwd,
        modules: modules
            .into_iter()
            .map(|(name, path)| ModuleFile { name, path })
            .collect(),
        markers,
    };
    let decision = explain(&chain, &query.resolve(chain.platform()), &queries);
    serde_json::to_string(&decision).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// The text of a built-in filter: `default`, `pytest` or `unittest`.
#[pyfunction]
pub fn builtin_filter_text(name: &str) -> PyResult<&'static str> {
    builtin::text(name).map_err(PyValueError::new_err)
}
