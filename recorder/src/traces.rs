//! Trace files for Python callers: summaries, re-filtering and exports, all
//! done by the engine.

use crate::filters::{naming_mode, raise_filter_error, read_source};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use tracesieve_engine::trace::export::{chrome, codetracer, json};
use tracesieve_engine::trace::refilter::{chain_for, refilter, ChainOptions, Naming};
use tracesieve_engine::trace::summary::{summarize, RefilterReport};
use tracesieve_engine::trace::{read_trace, try_write_trace, ReadOutcome, Trace};

create_exception!(
    tracesieve,
    TraceFileError,
    PyException,
    "A trace file that cannot be read."
);

fn read(path: &str) -> PyResult<ReadOutcome> {
    let bytes = std::fs::read(path).map_err(|e| TraceFileError::new_err(format!("{path}: {e}")))?;
    read_trace(&bytes).map_err(|e| TraceFileError::new_err(format!("{path}: {e}")))
}

fn write_text(path: &str, text: &str) -> PyResult<()> {
    std::fs::write(path, text)
        .map_err(|e| TraceFileError::new_err(format!("cannot write {path}: {e}")))
}

/// A JSON summary of the trace at `path` (see the engine's `TraceSummary`).
#[pyfunction]
pub fn trace_info(path: &str) -> PyResult<String> {
    let outcome = read(path)?;
    let summary = summarize(&outcome.trace, outcome.truncation.as_ref());
    serde_json::to_string(&summary).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Re-filters the trace at `path` into `out`. The new chain is the built-in
/// head (unless `builtin_filter` is false; the framework filter the trace
/// was recorded with, unless `framework` says otherwise), then `filters`;
/// with `append`, the trace's own chain followed by `filters`. Returns the
/// statistics as JSON: `{"total": …, "added": …}`.
#[pyfunction]
#[pyo3(signature = (path, out, filters, *, builtin_filter = true, framework = None, append = false, module_names = None, roots = Vec::new()))]
#[allow(clippy::too_many_arguments)]
pub fn refilter_trace(
    py: Python<'_>,
    path: &str,
    out: &str,
    filters: Vec<String>,
    builtin_filter: bool,
    framework: Option<&str>,
    append: bool,
    module_names: Option<&str>,
    roots: Vec<String>,
) -> PyResult<String> {
    let trace = read(path)?.trace;
    let mut options = ChainOptions::recorded(&trace);
    options.builtin = builtin_filter;
    options.append = append;
    if let Some(name) = framework {
        options.framework = Some(name.parse().map_err(PyValueError::new_err)?);
    }
    let user = filters
        .iter()
        .map(|path| read_source(path))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| raise_filter_error(py, &e))?;
    let chain = chain_for(&trace, &options, user).map_err(|e| raise_filter_error(py, &e))?;
    let naming = Naming {
        mode: match module_names {
            Some(mode) => naming_mode(mode)?,
            None => trace.header.naming,
        },
        extra_roots: roots,
    };
    let result = refilter(&trace, &chain, &naming);
    let bytes = try_write_trace(&result.trace)
        .map_err(|e| TraceFileError::new_err(format!("cannot encode the trace: {e}")))?;
    std::fs::write(out, bytes)
        .map_err(|e| TraceFileError::new_err(format!("cannot write {out}: {e}")))?;
    serde_json::to_string(&RefilterReport::of(&result))
        .map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Exports the trace at `path` as `json`, `codetracer` (a folder at `out`)
/// or `chrome`; `canonical` drops timestamps from the JSON form.
#[pyfunction]
#[pyo3(signature = (path, format, out, canonical = false))]
pub fn export_trace(path: &str, format: &str, out: &str, canonical: bool) -> PyResult<()> {
    let trace: Trace = read(path)?.trace;
    match format {
        "json" => write_text(out, &json::to_string_pretty(&trace, canonical)),
        "chrome" => write_text(out, &chrome::to_chrome(&trace)),
        "codetracer" => {
            std::fs::create_dir_all(out)
                .map_err(|e| TraceFileError::new_err(format!("cannot create {out}: {e}")))?;
            let folder = codetracer::to_codetracer(&trace);
            let dir = std::path::Path::new(out);
            for (name, text) in [
                ("trace.json", &folder.trace_json),
                ("trace_metadata.json", &folder.metadata_json),
                ("trace_paths.json", &folder.paths_json),
            ] {
                write_text(&dir.join(name).to_string_lossy(), text)?;
            }
            Ok(())
        }
        other => Err(PyValueError::new_err(format!(
            "unknown export format '{other}' (expected json, codetracer or chrome)"
        ))),
    }
}
