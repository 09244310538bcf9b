//! The option objects JavaScript callers pass, as plain serde types (so they
//! are checked, and unit-tested, without a JavaScript engine). Keys are
//! camelCase; every field may be left out.

use serde::Deserialize;
use tracesieve_engine::trace::refilter::{ChainOptions, Naming};
use tracesieve_engine::trace::Trace;
use tracesieve_engine::{
    builtin, FilterChain, FilterError, FilterSource, Framework, NamingMode, Platform, ValueQuery,
};

/// One filter file: `{path, text}`, or `{path: "label", text, inline: true}`
/// for a filter with no file (no project root; shown as `<inline:label>`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceInput {
    /// The file's path (its directory decides the project root).
    pub path: String,
    /// The TOML text.
    pub text: String,
    /// A filter with no file.
    #[serde(default)]
    pub inline: bool,
}

impl SourceInput {
    /// The engine's source.
    pub fn to_source(&self) -> FilterSource {
        if self.inline {
            FilterSource::inline(self.path.clone(), self.text.clone())
        } else {
            FilterSource::file(self.path.clone(), self.text.clone())
        }
    }
}

/// `loadChain`'s and `checkFilter`'s options: which built-in filters come
/// first and how paths are spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ChainInput {
    /// Start with the built-in default filter (default true).
    pub builtin: bool,
    /// Then the built-in `pytest` or `unittest` filter (default none).
    pub framework: Option<Framework>,
    /// `posix` (default) or `windows`.
    pub platform: Platform,
}

impl ChainInput {
    /// The chain: the built-in head these options choose, then `sources`
    /// in order, loaded for `platform`.
    pub fn load(&self, sources: &[SourceInput]) -> Result<FilterChain, FilterError> {
        let mut all = builtin::head(self.builtin, self.framework);
        all.extend(sources.iter().map(SourceInput::to_source));
        FilterChain::load(&all, self.platform)
    }
}

impl Default for ChainInput {
    fn default() -> ChainInput {
        ChainInput {
            builtin: true,
            framework: None,
            platform: Platform::Posix,
        }
    }
}

/// `chainFor`'s options: the head of a chain that re-filters a trace.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RefilterChainInput {
    /// Start with the built-in default filter (default true).
    pub builtin: Option<bool>,
    /// The framework filter; left out, the one the trace was recorded with.
    #[serde(deserialize_with = "present")]
    pub framework: Option<Option<Framework>>,
    /// Keep the trace's own chain and add the filters after it.
    pub append: bool,
}

/// Tells a field given as `null` (`Some(None)`) from a missing one (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

impl RefilterChainInput {
    /// The engine's options for `trace`: what the trace was recorded with,
    /// overridden by what was given.
    pub fn for_trace(&self, trace: &Trace) -> ChainOptions {
        let recorded = ChainOptions::recorded(trace);
        ChainOptions {
            builtin: self.builtin.unwrap_or(recorded.builtin),
            framework: self.framework.unwrap_or(recorded.framework),
            append: self.append,
        }
    }
}

/// `refilter`'s and `relabel`'s options: the module naming.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct NamingInput {
    /// `globals` or `paths`; left out, the trace's own.
    pub module_names: Option<NamingMode>,
    /// Roots tried before the recorded `sys.path` (`paths` only).
    pub extra_roots: Vec<String>,
}

impl NamingInput {
    /// The engine's naming for `trace`.
    pub fn for_trace(&self, trace: &Trace) -> Naming {
        Naming {
            mode: self.module_names.unwrap_or(trace.header.naming),
            extra_roots: self.extra_roots.clone(),
        }
    }
}

/// `exportJson`'s options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ExportInput {
    /// Leave out timestamps and run-to-run noise.
    pub canonical: bool,
    /// Indent, as `tracesieve export --format json` writes.
    pub pretty: bool,
}

/// A value to explain: `"kind:name"` or `{kind, name}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ValueInput {
    /// `"arg:password"`.
    Token(String),
    /// `{kind: "arg", name: "password"}`.
    Query(ValueQuery),
}

impl ValueInput {
    /// The engine's query.
    pub fn to_query(&self) -> Result<ValueQuery, String> {
        match self {
            ValueInput::Token(token) => token.parse(),
            ValueInput::Query(query) => Ok(query.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracesieve_engine::ValueKind;

    #[test]
    fn chain_input_defaults_to_the_builtin_head_on_posix() {
        let input: ChainInput = serde_json::from_str("{}").expect("valid");
        assert_eq!(input, ChainInput::default());
        let input: ChainInput =
            serde_json::from_str(r#"{"builtin": false, "framework": "pytest"}"#).expect("valid");
        assert_eq!(input.framework, Some(Framework::Pytest));
        assert!(!input.builtin);
        assert!(serde_json::from_str::<ChainInput>(r#"{"framework": "nose"}"#).is_err());
        assert!(serde_json::from_str::<ChainInput>(r#"{"builtins": true}"#).is_err());
    }

    #[test]
    fn refilter_chain_input_tells_null_from_missing() {
        let missing: RefilterChainInput = serde_json::from_str("{}").expect("valid");
        assert_eq!(missing.framework, None);
        let null: RefilterChainInput =
            serde_json::from_str(r#"{"framework": null}"#).expect("valid");
        assert_eq!(null.framework, Some(None));
    }

    #[test]
    fn values_are_tokens_or_objects() {
        let values: Vec<ValueInput> =
            serde_json::from_str(r#"["arg:password", {"kind": "attr", "name": "token"}]"#)
                .expect("valid");
        let queries: Vec<ValueQuery> = values.iter().map(|v| v.to_query().unwrap()).collect();
        assert_eq!(queries[0].kind, ValueKind::Arg);
        assert_eq!(queries[1].name, "token");
        assert!(ValueInput::Token("password".into()).to_query().is_err());
    }

    #[test]
    fn sources_are_files_or_inline() {
        let file: SourceInput =
            serde_json::from_str(r#"{"path": "/p/.codetracer/f.toml", "text": ""}"#).unwrap();
        assert_eq!(file.to_source().display_path(), "/p/.codetracer/f.toml");
        let inline: SourceInput =
            serde_json::from_str(r#"{"path": "playground", "text": "", "inline": true}"#).unwrap();
        assert_eq!(inline.to_source().display_path(), "<inline:playground>");
    }
}
