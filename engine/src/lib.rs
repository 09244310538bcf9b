//! The tracesieve engine: the trace-filter language, module identity and the
//! decisions made from them. Pure Rust with no I/O, built for the host (the
//! recorder, the CLI) and for `wasm32-unknown-unknown` (the viewer), so both
//! decide exactly alike.
//!
//! ```
//! use tracesieve_engine::{builtin, explain, from_dunder_name, FilterChain, Platform, Scope, ValueKind, Action};
//!
//! let chain = FilterChain::load(&builtin::sources(None), Platform::Posix).unwrap();
//! let scope = Scope::new("/proj/app/main.py", "login", from_dunder_name(Some("app.main")));
//! let decision = explain(&chain, &scope, &[]);
//! assert_eq!(decision.action(ValueKind::Arg, "password"), Action::Redact);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod cache;
mod error;
mod explain;
pub mod filter;
pub mod identity;
pub mod path;
pub mod size;
pub mod trace;

pub use cache::{CodeId, DecisionCache};
pub use error::{ErrorCode, FilterError, FilterErrorKind, Location, SelectorError};
pub use explain::{explain, Decision, Scope, ScopeQuery, ValueKind, ValueQuery, ValueWhy};
pub use filter::{builtin, Action, ChainId, Exec, FilterChain, FilterSource, Framework};
pub use identity::{
    from_dunder_name, from_paths, is_module_body, module_identity, ModuleIdentity, NameReason,
    NamingMode, ResolverInputs, MODULE_BODY,
};
pub use path::Platform;
