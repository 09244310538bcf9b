//! The filter chain a re-filtering applies: a head (the built-in filters, or
//! the trace's own recorded chain), then the user's filters.

use crate::error::FilterError;
use crate::filter::{builtin, FilterChain, FilterSource, Framework};
use crate::trace::model::Trace;

/// Which filters a re-filtering chain starts with, before the user's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainOptions {
    /// Start with the built-in default filter.
    pub builtin: bool,
    /// The framework filter that follows it.
    pub framework: Option<Framework>,
    /// Start with the trace's own recorded chain instead (then `builtin`
    /// and `framework` are not used).
    pub append: bool,
}

impl ChainOptions {
    /// The head the trace was recorded with: the built-in default, then the
    /// recorded framework filter; the user's filters replace the rest.
    pub fn recorded(trace: &Trace) -> ChainOptions {
        ChainOptions {
            builtin: true,
            framework: trace.header.framework,
            append: false,
        }
    }
}

/// The chain that re-filters `trace`: the head chosen by `options`, then
/// `user`, loaded for the platform the trace was recorded on.
pub fn chain_for(
    trace: &Trace,
    options: &ChainOptions,
    user: impl IntoIterator<Item = FilterSource>,
) -> Result<FilterChain, FilterError> {
    let mut sources: Vec<FilterSource> = if options.append {
        trace.header.filters.iter().map(|f| f.to_source()).collect()
    } else {
        builtin::head(options.builtin, options.framework)
    };
    sources.extend(user);
    FilterChain::load(&sources, trace.header.platform)
}
