//! The trace-filter language: sources, selectors, rules and chains.

pub mod builtin;
mod chain;
mod loader;
mod model;
mod selector;
mod source;

pub use chain::{hex_sha256, ChainId, FilterChain};
pub use loader::MAX_SCHEMA_VERSION;
pub use model::{Action, Exec, FilterMeta, Framework, IoConfig, Rule, SourceInfo, ValuePattern};
pub use selector::{MatchType, Selector, SelectorContext, SelectorFailure, SelectorKind};
pub use source::{project_root_of, FilterSource};
