//! The trace: its in-memory model, the value policy shared by the recorder
//! and re-filtering, the streaming file format, re-filtering and exports.

pub mod model;
pub mod policy;

pub use model::*;
pub mod refilter;
pub mod export;
pub mod codec;
pub mod reader;
pub mod writer;

pub use reader::{read_trace, ReadOutcome, ReadProgress, TraceError, TraceReader, Truncation};
pub use writer::{try_write_trace, write_trace, TraceWriter};
