//! Trace files for Python callers: summaries, re-filtering and exports, all
//! done by the engine.

use crate::filters::{framework, load_chain_after, naming_mode, raise_filter_error};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use tracesieve_engine::trace::export::{chrome, codetracer, json};
use tracesieve_engine::trace::refilter::{refilter, Naming};
use tracesieve_engine::trace::summary::{summarize, StatsSummary};
use tracesieve_engine::trace::{read_trace, try_write_trace, ReadOutcome, Trace};
use tracesieve_engine::{builtin, FilterSource};

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
    let outcome = read(path)?;
    let trace = outcome.trace;
    let framework = match framework {
        Some(name) => self::framework(Some(name))?,
        None => trace.header.framework,
    };
    let head: Vec<FilterSource> = if append {
        trace.header.filters.iter().map(|f| f.to_source()).collect()
    } else if builtin_filter {
        builtin::sources(framework)
    } else {
        framework
            .map(builtin::framework_source)
            .into_iter()
            .collect()
    };
    let chain = load_chain_after(head, &filters).map_err(|e| raise_filter_error(py, &e))?;
    let naming = match module_names {
        Some(mode) => Naming {
            mode: naming_mode(mode)?,
            extra_roots: roots,
        },
        None => Naming {
            mode: trace.header.naming,
            extra_roots: roots,
        },
    };
    let result = refilter(&trace, &chain, &naming);
    let bytes = try_write_trace(&result.trace)
        .map_err(|e| TraceFileError::new_err(format!("cannot encode the trace: {e}")))?;
    std::fs::write(out, bytes)
        .map_err(|e| TraceFileError::new_err(format!("cannot write {out}: {e}")))?;
    let stats = serde_json::json!({
        "events": result.trace.events.len(),
        "codes": result.trace.codes.len(),
        "total": StatsSummary::of(&result.stats),
        "added": StatsSummary::of(&result.added),
    });
    Ok(stats.to_string())
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
