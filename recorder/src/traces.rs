//! Trace files for Python callers: summaries, re-filtering and exports, all
//! done by the engine, streaming: a file is never held whole, and memory
//! does not grow with its events.

use crate::filters::{naming_mode, raise_filter_error, read_source};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use std::fs::File;
use std::io::{BufWriter, Write};
use tracesieve_engine::trace::export::speedscope::{self, Reopen, Rereadable};
use tracesieve_engine::trace::export::{chrome, codetracer, json};
use tracesieve_engine::trace::refilter::{chain_for, refilter_stream, ChainOptions, Naming};
use tracesieve_engine::trace::stream::{read_tables, EventStream, ReadError, Tables};
use tracesieve_engine::trace::summary::{EventCounts, RefilterReport, StatsSummary};

create_exception!(
    tracesieve,
    TraceFileError,
    PyException,
    "A trace file that cannot be read."
);

/// A trace file's error, naming the file.
fn file_error(path: &str, e: impl std::fmt::Display) -> PyErr {
    TraceFileError::new_err(format!("{path}: {e}"))
}

fn open(path: &str) -> PyResult<File> {
    File::open(path).map_err(|e| file_error(path, e))
}

/// The events of the file at `path`, streamed in this thread.
fn events(path: &str) -> PyResult<EventStream<File>> {
    EventStream::open(open(path)?).map_err(|e| file_error(path, e))
}

/// The events of the file at `path`, decoded one chunk ahead in a thread
/// of their own: for the exports, whose writing costs as much as decoding
/// (about 10 % faster for JSON; `info` and `refilter` are not helped).
fn events_ahead(path: &str) -> PyResult<EventStream<File>> {
    EventStream::open_ahead(open(path)?).map_err(|e| file_error(path, e))
}

/// The events of the file at `path` as often as an export reads them:
/// `first` (already open) for the first read, then the file opened anew,
/// read ahead, each time. An error opening it again names the file.
fn rereadable(path: String, first: Option<EventStream<File>>) -> Box<dyn Rereadable> {
    let mut first = first;
    Box::new(Reopen(move || match first.take() {
        Some(events) => Ok(events),
        None => {
            let again = |e: &dyn std::fmt::Display| {
                ReadError::Io(std::io::Error::other(format!("reading {path} again: {e}")))
            };
            let file = File::open(&path).map_err(|e| again(&e))?;
            EventStream::open_ahead(file).map_err(|e| again(&e))
        }
    }))
}

/// The tables of the file at `path` (a first pass over it).
fn tables(path: &str) -> PyResult<Tables> {
    read_tables(open(path)?).map_err(|e| file_error(path, e))
}

/// Writes `out` through `write`, into a temporary file beside it that
/// replaces `out` only when everything is written: `out` may be the input
/// `path` itself, which is still being read, and a failed run leaves no
/// half-written file.
fn write_atomically<T>(
    path: &str,
    out: &str,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<T, ReadError>,
) -> PyResult<T> {
    let cannot_write =
        |e: &dyn std::fmt::Display| TraceFileError::new_err(format!("cannot write {out}: {e}"));
    // A device or a pipe (`-o /dev/null`, `-o /dev/stdout`) is written directly.
    let special = std::fs::metadata(out).is_ok_and(|m| !m.is_file());
    let partial = if special {
        out.to_owned()
    } else {
        format!("{out}.partial-{}", std::process::id())
    };
    let file = File::create(&partial).map_err(|e| cannot_write(&e))?;
    let mut sink = BufWriter::new(file);
    let result = write(&mut sink).and_then(|value| {
        sink.flush()?;
        Ok(value)
    });
    drop(sink);
    let result = result.map_err(|e| match e {
        ReadError::Trace(e) => file_error(path, e),
        ReadError::Io(e) => cannot_write(&e),
    });
    if special {
        return result;
    }
    let result = result.and_then(|value| {
        std::fs::rename(&partial, out).map_err(|e| cannot_write(&e))?;
        Ok(value)
    });
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn write_text(path: &str, text: &str) -> PyResult<()> {
    std::fs::write(path, text)
        .map_err(|e| TraceFileError::new_err(format!("cannot write {path}: {e}")))
}

/// A JSON summary of the trace at `path` (see the engine's `TraceSummary`).
#[pyfunction]
pub fn trace_info(path: &str) -> PyResult<String> {
    let mut stream = events(path)?;
    let mut counts = EventCounts::default();
    while let Some(event) = stream.next_event().map_err(|e| file_error(path, e))? {
        counts.add(&event);
    }
    let outcome = stream.finish().map_err(|e| file_error(path, e))?;
    let summary = counts.summary(&outcome.trace, outcome.truncation.as_ref());
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
    let tables = tables(path)?;
    let trace = &tables.trace;
    let mut options = ChainOptions::recorded(trace);
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
    let chain = chain_for(trace, &options, user).map_err(|e| raise_filter_error(py, &e))?;
    let naming = Naming {
        mode: match module_names {
            Some(mode) => naming_mode(mode)?,
            None => trace.header.naming,
        },
        extra_roots: roots,
    };
    let events = events(path)?;
    let written = write_atomically(path, out, |sink| {
        refilter_stream(&tables, events, &chain, &naming, sink).map(|(_, written)| written)
    })?;
    let report = RefilterReport {
        events: written.events as usize,
        codes: written.codes,
        total: StatsSummary::of(&written.stats),
        added: StatsSummary::of(&written.added),
    };
    serde_json::to_string(&report).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Exports the trace at `path` as `json`, `codetracer` (a folder at `out`),
/// `chrome` or `speedscope`; `canonical` drops timestamps from the JSON
/// form. For `chrome` and `speedscope`, `members` are the other traces of
/// `path`'s trace set (its child processes), exported with it, each as a
/// process of its own; a member whose tables cannot be read is left out.
/// Returns the members left out, each with why.
#[pyfunction]
#[pyo3(signature = (path, format, out, canonical = false, members = Vec::new()))]
pub fn export_trace(
    path: &str,
    format: &str,
    out: &str,
    canonical: bool,
    members: Vec<String>,
) -> PyResult<Vec<(String, String)>> {
    if !matches!(format, "json" | "chrome" | "codetracer" | "speedscope") {
        return Err(PyValueError::new_err(format!(
            "unknown export format '{format}' (expected json, codetracer, chrome or speedscope)"
        )));
    }
    // Everything before the events (codes, labels) comes from a first pass;
    // the events stream from a second, written as they come.
    let tables = tables(path)?;
    let events = events_ahead(path)?;
    match format {
        "json" => {
            write_atomically(path, out, |sink| {
                json::write_json(&tables, events, canonical, true, sink)
            })?;
            Ok(Vec::new())
        }
        "chrome" => {
            let mut left_out = Vec::new();
            let mut rest = members.iter();
            let next = || loop {
                let member = rest.next()?;
                match self::tables(member).and_then(|t| Ok((t, events_ahead(member)?))) {
                    Ok(opened) => return Some(Ok(opened)),
                    Err(error) => left_out.push((member.clone(), error.to_string())),
                }
            };
            write_atomically(path, out, |sink| {
                chrome::write_chrome_set((&tables, events), next, sink)
            })?;
            Ok(left_out)
        }
        "speedscope" => {
            let mut left_out = Vec::new();
            let mut rest = members.iter();
            let next = || loop {
                let member = rest.next()?;
                match self::tables(member).and_then(|t| Ok((t, events_ahead(member)?))) {
                    Ok((tables, events)) => {
                        return Some(Ok((tables, rereadable(member.clone(), Some(events)))))
                    }
                    Err(error) => left_out.push((member.clone(), error.to_string())),
                }
            };
            let mut events = rereadable(path.to_owned(), Some(events));
            write_atomically(path, out, |sink| {
                speedscope::write_speedscope_set((&tables, &mut *events), next, sink)
            })?;
            Ok(left_out)
        }
        _ => {
            std::fs::create_dir_all(out)
                .map_err(|e| TraceFileError::new_err(format!("cannot create {out}: {e}")))?;
            let dir = std::path::Path::new(out);
            let trace_json = dir.join("trace.json").to_string_lossy().into_owned();
            let side = write_atomically(path, &trace_json, |sink| {
                codetracer::write_codetracer(&tables, events, sink)
            })?;
            for (name, text) in [
                ("trace_metadata.json", &side.metadata_json),
                ("trace_paths.json", &side.paths_json),
            ] {
                write_text(&dir.join(name).to_string_lossy(), text)?;
            }
            Ok(Vec::new())
        }
    }
}
