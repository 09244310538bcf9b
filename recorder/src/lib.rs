//! The `tracesieve._native` Python extension: a thin PyO3 layer over
//! `tracesieve-engine`. It reads filter files and turns engine values into
//! Python objects; every rule lives in the engine.

#![cfg(not(target_arch = "wasm32"))]

mod encode;
mod filters;
mod hooks;
mod inputs;
mod legacy;
mod modules;
mod monitoring;
mod options;
mod process_exit;
mod sealing;
mod session;
mod traces;

use pyo3::prelude::*;

/// The extension's own allocations (encoded values, trace records) go to
/// mimalloc: recording with values allocates and frees many small nodes per
/// line, which glibc's allocator made a third of the recorder's time.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How this extension was compiled: `"release"` (optimised, what the
/// README's set-up installs) or `"debug"` (about ten times slower to record).
pub const BUILD: &str = if cfg!(debug_assertions) {
    "debug"
} else {
    "release"
};

/// The bytes of a size such as `500M`, `1.5GB` or `64KiB` (see
/// `tracesieve_engine::size`); ValueError with a sentence if it is not one.
#[pyfunction]
fn parse_size(text: &str) -> PyResult<u64> {
    tracesieve_engine::size::parse_size(text).map_err(pyo3::exceptions::PyValueError::new_err)
}

/// A size for people, exact: `200 kB`, `1.5 GiB`, `512 B`.
#[pyfunction]
fn size_text(bytes: u64) -> String {
    tracesieve_engine::size::size_text(bytes)
}

/// The `tracesieve._native` module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("BUILD", BUILD)?;
    m.add("MAX_VALUE_DEPTH", hooks::MAX_DEPTH)?;
    m.add(
        "PROJECT_MARKERS",
        tracesieve_engine::identity::PROJECT_MARKERS.to_vec(),
    )?;
    m.add("FilterError", m.py().get_type::<filters::FilterError>())?;
    m.add_function(wrap_pyfunction!(filters::check_filter, m)?)?;
    m.add_function(wrap_pyfunction!(filters::explain_json, m)?)?;
    m.add_function(wrap_pyfunction!(filters::builtin_filter_text, m)?)?;
    m.add(
        "TraceFileError",
        m.py().get_type::<traces::TraceFileError>(),
    )?;
    m.add_function(wrap_pyfunction!(traces::trace_info, m)?)?;
    m.add_function(wrap_pyfunction!(traces::refilter_trace, m)?)?;
    m.add_function(wrap_pyfunction!(traces::export_trace, m)?)?;
    m.add_function(wrap_pyfunction!(hooks::start, m)?)?;
    m.add_function(wrap_pyfunction!(hooks::stop, m)?)?;
    m.add_function(wrap_pyfunction!(hooks::is_recording, m)?)?;
    m.add_function(wrap_pyfunction!(hooks::in_main_interpreter, m)?)?;
    m.add_function(wrap_pyfunction!(process_exit::record_until_exit, m)?)?;
    m.add_function(wrap_pyfunction!(process_exit::python_exiting, m)?)?;
    m.add_function(wrap_pyfunction!(process_exit::exit_now, m)?)?;
    m.add_function(wrap_pyfunction!(parse_size, m)?)?;
    m.add_function(wrap_pyfunction!(size_text, m)?)?;
    Ok(())
}
