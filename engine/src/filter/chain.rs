//! A chain of filter sources composed into one set of defaults and rules.

use super::loader::{self, Default, SourceContext};
use super::model::{Action, Exec, IoConfig, Rule, SourceInfo};
use super::selector::MatcherCache;
use super::source::FilterSource;
use crate::error::{FilterError, FilterErrorKind};
use crate::path::Platform;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::Arc;

/// A content-derived identity of a chain: equal chains (same platform,
/// paths, roots and texts) have equal ids. Decision caches are keyed by it (D5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ChainId(pub u64);

/// A loaded, validated filter chain. Cheap to clone.
#[derive(Debug, Clone)]
pub struct FilterChain {
    inner: Arc<ChainInner>,
}

#[derive(Debug)]
struct ChainInner {
    id: ChainId,
    platform: Platform,
    sources: Vec<SourceInfo>,
    default_exec: (Exec, usize),
    default_value: (Action, usize),
    io: IoConfig,
    rules: Vec<Rule>,
}

impl FilterChain {
    /// Loads `sources` in order, with paths following `platform`. The first
    /// problem aborts the whole chain.
    pub fn load(sources: &[FilterSource], platform: Platform) -> Result<FilterChain, FilterError> {
        let first = sources
            .first()
            .ok_or_else(|| FilterError::new("<chain>", FilterErrorKind::EmptyChain))?;
        let mut infos = Vec::with_capacity(sources.len());
        let mut rules = Vec::new();
        let mut default_exec: Option<(Exec, usize)> = None;
        let mut default_value: Option<(Action, usize)> = None;
        let mut io = IoConfig::default();
        let matchers = MatcherCache::default();
        let mut hasher = Sha256::new();
        hasher.update([platform as u8]);
        for (index, source) in sources.iter().enumerate() {
            let path = source.display_path();
            let root = source.project_root(platform);
            let ctx = SourceContext {
                path: &path,
                text: source.text(),
                root: root.as_deref(),
                platform,
                source_index: index,
                first_rule_index: rules.len(),
                matchers: &matchers,
            };
            let loaded = loader::load_source(&ctx)?;
            default_exec = compose(default_exec, loaded.default_exec, index, || {
                inherit_error(&path, "scope.default_exec", "trace or skip")
                    .at(loaded.default_exec_at)
            })?;
            default_value = compose(default_value, loaded.default_value, index, || {
                inherit_error(
                    &path,
                    "scope.default_value_action",
                    "allow, redact, drop or deny",
                )
                .at(loaded.default_value_at)
            })?;
            if let Some(source_io) = loaded.io {
                io = source_io;
            }
            rules.extend(loaded.rules);
            let sha256 = hex_sha256(source.text().as_bytes());
            for part in [
                path.as_str(),
                root.as_deref().unwrap_or("\u{0}"),
                sha256.as_str(),
            ] {
                hasher.update((part.len() as u64).to_le_bytes());
                hasher.update(part.as_bytes());
            }
            infos.push(SourceInfo {
                path,
                sha256,
                project_root: root,
                meta: loaded.meta,
                text: source.text().to_string(),
            });
        }
        let digest = hasher.finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        let unset = || inherit_error(&first.display_path(), "scope.default_exec", "trace or skip");
        Ok(FilterChain {
            inner: Arc::new(ChainInner {
                id: ChainId(u64::from_le_bytes(id)),
                platform,
                sources: infos,
                default_exec: default_exec.ok_or_else(unset)?,
                default_value: default_value.ok_or_else(unset)?,
                io,
                rules,
            }),
        })
    }

    /// The chain's identity.
    pub fn id(&self) -> ChainId {
        self.inner.id
    }

    /// The path rules of the chain's roots and of the scopes it is asked about.
    pub fn platform(&self) -> Platform {
        self.inner.platform
    }

    /// The sources, in chain order.
    pub fn sources(&self) -> &[SourceInfo] {
        &self.inner.sources
    }

    /// The composed `default_exec` and the index of the source that set it.
    pub fn default_exec(&self) -> (Exec, usize) {
        self.inner.default_exec
    }

    /// The composed `default_value_action` and the index of the source that set it.
    pub fn default_value(&self) -> (Action, usize) {
        self.inner.default_value
    }

    /// The `[io]` table of the last source that had one.
    pub fn io(&self) -> &IoConfig {
        &self.inner.io
    }

    /// All rules, in chain order.
    pub fn rules(&self) -> &[Rule] {
        &self.inner.rules
    }
}

fn compose<T: Copy>(
    current: Option<(T, usize)>,
    next: Default<T>,
    index: usize,
    inherit_without_previous: impl FnOnce() -> FilterError,
) -> Result<Option<(T, usize)>, FilterError> {
    match (next, current) {
        (Default::Set(value), _) => Ok(Some((value, index))),
        (Default::Inherit, Some(previous)) => Ok(Some(previous)),
        (Default::Inherit, None) => Err(inherit_without_previous()),
    }
}

fn inherit_error(path: &str, field: &str, expected: &str) -> FilterError {
    let kind = FilterErrorKind::InheritWithoutPrevious {
        field: field.into(),
        expected: expected.into(),
    };
    FilterError::new(path, kind)
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn hex_sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest.iter() {
        let _ = write!(out, "{byte:02x}");
    }
    out
}
