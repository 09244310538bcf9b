//! The per-code-object decision cache, keyed by chain identity and code id (D5).

use crate::explain::{explain, Decision, Scope};
use crate::filter::{ChainId, FilterChain};
use rustc_hash::FxHashMap;
use std::sync::Arc;

/// An identifier the caller gives each code object (the recorder uses the
/// code object's address; a trace uses its code-table index).
pub type CodeId = u64;

/// Decisions already made. A decision made under one chain is never
/// returned for another: a new chain re-decides (D5).
#[derive(Debug, Default)]
pub struct DecisionCache {
    entries: FxHashMap<(ChainId, CodeId), Arc<Decision>>,
}

impl DecisionCache {
    /// An empty cache.
    pub fn new() -> DecisionCache {
        DecisionCache::default()
    }

    /// The decision for `code` under `chain`, if made before.
    #[inline]
    pub fn get(&self, chain: ChainId, code: CodeId) -> Option<&Arc<Decision>> {
        self.entries.get(&(chain, code))
    }

    /// The decision for `code` under `chain`, made from `scope()` on first use.
    pub fn get_or_explain(
        &mut self,
        chain: &FilterChain,
        code: CodeId,
        scope: impl FnOnce() -> Scope,
    ) -> Arc<Decision> {
        self.entries
            .entry((chain.id(), code))
            .or_insert_with(|| Arc::new(explain(chain, &scope(), &[])))
            .clone()
    }

    /// How many decisions are cached.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Forgets every decision.
    pub fn clear(&mut self) {
        self.entries.clear();
    }
}
