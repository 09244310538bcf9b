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

/// The `tracesieve._native` module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("BUILD", BUILD)?;
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
    Ok(())
}
