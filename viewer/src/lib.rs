//! The tracesieve viewer: a Yew app that shows a trace, with a filter
//! playground that re-filters and relabels it through the engine.
//!
//! * [`calltree`], [`steps`]: view models built from a trace; [`index`]: the
//!   compact call index the worker keeps instead of the events.
//! * [`exceptions`]: the raises of a trace and what became of them;
//!   [`exception_rows`]: the list of them the page shows.
//! * [`functions`]: the function table (calls, total and self time, callers and callees).
//! * [`share`]: share links. [`highlight`]: TOML highlighting. [`format`]: numbers.
//! * [`protocol`]: the messages between the page and the worker.
//! * [`session`]: the worker's logic (`src/bin/worker.rs` wires it up);
//!   [`set`]: trace sets (process order, labels, the common clock).
//! * [`app`]: the page (Yew components; the only module using the DOM).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod calltree;
pub mod exception_rows;
pub mod exceptions;
pub mod format;
pub mod functions;
pub mod highlight;
pub mod index;
pub mod protocol;
pub mod session;
pub mod set;
pub mod share;
pub mod steps;

#[cfg(test)]
mod testkit;
