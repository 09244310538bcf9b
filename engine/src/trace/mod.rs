//! The trace: its in-memory model, the value policy shared by the recorder
//! and re-filtering, the streaming file format, re-filtering, summaries and
//! exports.

pub mod codec;
pub mod decode;
pub mod export;
pub mod index;
pub mod model;
pub mod policy;
pub mod reader;
pub mod refilter;
pub mod remembered;
pub mod secrets;
pub mod sniff;
pub mod stream;
pub mod summary;
pub mod writer;

pub use model::*;
pub use reader::{read_trace, ReadOutcome, ReadProgress, TraceError, TraceReader, Truncation};
pub use writer::{try_write_trace, write_trace, TraceWriter};
