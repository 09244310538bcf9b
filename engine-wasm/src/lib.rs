//! The tracesieve engine for JavaScript: the same Rust code the recorder
//! runs, compiled to WebAssembly with a wasm-bindgen API (see README.md).
//!
//! * filters: [`check_filter`] (`checkFilter`), [`load_chain`]
//!   (`loadChain`), [`explain`], [`explain_json`] (`explainJson`),
//!   [`builtin_filter`] (`builtinFilter`);
//! * traces: [`TraceReader`] (streaming), [`Trace`], [`read_trace`]
//!   (`readTrace`), [`chain_for_trace`] (`chainFor`), [`refilter`],
//!   [`relabel`], [`export_json`] (`exportJson`).
//!
//! Results have the engine's documented JSON shapes; errors are thrown as
//! `Error` objects with the fields of [`Problem`] or [`TraceProblem`].
//! Nothing here decides anything itself: every rule is the engine's.

#![warn(missing_docs)]

mod filters;
mod js;
pub mod options;
mod problem;
mod traces;

pub use filters::{builtin_filter, check_filter, explain, explain_json, load_chain, FilterChain};
pub use problem::{Problem, TraceProblem};
pub use traces::{chain_for_trace, export_json, read_trace, refilter, relabel, Trace, TraceReader};
