//! The resolved pieces of a filter chain: tokens, sources and rules.

use super::selector::Selector;
use serde::{Deserialize, Serialize};

/// Whether a scope is traced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Exec {
    /// Record the scope's events.
    Trace,
    /// Record nothing of the scope.
    Skip,
}

/// What happens to a value. Ordered from least to most strict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Record the value.
    Allow,
    /// Record the name with a `<redacted>` marker instead of the value.
    Redact,
    /// Record neither name nor value (returns keep a `<dropped>` marker).
    Drop,
}

impl Action {
    /// The token as written in a filter.
    pub fn token(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Redact => "redact",
            Action::Drop => "drop",
        }
    }
}

/// A built-in test-framework filter that may follow the default one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Framework {
    /// `builtin-pytest`.
    Pytest,
    /// `builtin-unittest`.
    Unittest,
}

impl std::str::FromStr for Framework {
    type Err = String;

    /// Parses `pytest` or `unittest`.
    fn from_str(text: &str) -> Result<Framework, String> {
        match text {
            "pytest" => Ok(Framework::Pytest),
            "unittest" => Ok(Framework::Unittest),
            other => Err(format!(
                "unknown test framework '{other}' (expected pytest or unittest)"
            )),
        }
    }
}

/// The `[meta]` table of a source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilterMeta {
    /// `meta.name`, exactly as written.
    pub name: String,
    /// `meta.version`.
    pub version: u32,
    /// `meta.description`.
    pub description: Option<String>,
    /// `meta.labels`, duplicates removed.
    pub labels: Vec<String>,
}

/// The `[io]` table: parsed and kept for compatibility; the recorder does not act on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IoConfig {
    /// `io.capture`.
    pub capture: bool,
    /// `io.streams`, duplicates removed.
    pub streams: Vec<String>,
}

/// One loaded source of a chain, as recorded for provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceInfo {
    /// The path as given, or `<inline:LABEL>`.
    pub path: String,
    /// Lowercase hex SHA-256 of the exact text.
    pub sha256: String,
    /// The project root its `file:` rules are relative to; `None` for inline sources (D2).
    pub project_root: Option<String>,
    /// The `[meta]` table.
    pub meta: FilterMeta,
    /// The exact text.
    #[serde(skip)]
    pub text: String,
}

/// One `[[scope.rules.value_patterns]]` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ValuePattern {
    /// Index within its rule.
    pub index: usize,
    /// A `local`, `global`, `arg`, `ret` or `attr` selector.
    pub selector: Selector,
    /// The action when it matches.
    pub action: Action,
    /// `reason`, if written.
    pub reason: Option<String>,
}

/// One `[[scope.rules]]` entry, tagged with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Index in the whole chain.
    pub index: usize,
    /// Index of its source in the chain.
    pub source: usize,
    /// Index within its source.
    pub index_in_source: usize,
    /// A `pkg`, `file` or `obj` selector.
    pub selector: Selector,
    /// `exec`, unless absent or `inherit`.
    pub exec: Option<Exec>,
    /// `value_default`, unless absent or `inherit`.
    pub value_default: Option<Action>,
    /// `reason`, if written.
    pub reason: Option<String>,
    /// The value patterns, in order.
    pub patterns: Vec<ValuePattern>,
}
