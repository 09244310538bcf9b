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
/// `user`, loaded for the platform the trace was recorded on. A problem in
/// the trace's own chain (with `append`) names the copy recorded in the
/// trace, not the file at that path today, which may differ.
pub fn chain_for(
    trace: &Trace,
    options: &ChainOptions,
    user: impl IntoIterator<Item = FilterSource>,
) -> Result<FilterChain, FilterError> {
    let platform = trace.header.platform;
    let mut sources: Vec<FilterSource> = if options.append {
        let recorded: Vec<FilterSource> =
            trace.header.filters.iter().map(|f| f.to_source()).collect();
        FilterChain::load(&recorded, platform).map_err(|mut error| {
            error.source = format!("{} (the copy recorded in the trace)", error.source);
            error
        })?;
        recorded
    } else {
        builtin::head(options.builtin, options.framework)
    };
    sources.extend(user);
    FilterChain::load(&sources, platform)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::RecordedFilter;
    use crate::trace::refilter::testkit::{user, TraceBuilder};

    #[test]
    fn a_broken_recorded_filter_is_reported_as_the_copy_in_the_trace() {
        let mut builder = TraceBuilder::new();
        builder.trace.header.filters.push(RecordedFilter {
            path: "/p/.codetracer/trace-filter.toml".into(),
            text: "[meta]\nname = 'x'\nversion = 1\n[scope]\ndefault_exec = 'sometimes'\ndefault_value_action = 'allow'\n".into(),
            project_root: Some("/p".into()),
            sha256: String::new(),
            inline: false,
        });
        let options = ChainOptions {
            append: true,
            ..ChainOptions::recorded(&builder.trace)
        };
        let valid = FilterSource::file("/p/.codetracer/trace-filter.toml", user(""));
        let error = chain_for(&builder.trace, &options, [valid]).unwrap_err();
        assert_eq!(
            error.source,
            "/p/.codetracer/trace-filter.toml (the copy recorded in the trace)"
        );
        assert!(error.to_string().contains("sometimes"), "{error}");
    }
}
