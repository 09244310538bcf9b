//! The trace: its in-memory model, the value policy shared by the recorder
//! and re-filtering, the streaming file format, re-filtering and exports.

pub mod model;
pub mod policy;

pub use model::*;
