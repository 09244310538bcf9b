//! The built-in filters, shipped as TOML texts inside the crate.

use super::model::Framework;
use super::source::FilterSource;

/// `builtin-default`: stdlib and shims skipped, site-packages traced, secrets redacted.
pub const DEFAULT: &str = include_str!("builtin/default.toml");
/// `builtin-pytest`: pytest and its plugins skipped, tests traced.
pub const PYTEST: &str = include_str!("builtin/pytest.toml");
/// `builtin-unittest`: unittest skipped, tests traced.
pub const UNITTEST: &str = include_str!("builtin/unittest.toml");

/// The `builtin-default` source, `<inline:builtin-default>`.
pub fn default_source() -> FilterSource {
    FilterSource::inline("builtin-default", DEFAULT)
}

/// The source of a framework's built-in filter.
pub fn framework_source(framework: Framework) -> FilterSource {
    match framework {
        Framework::Pytest => FilterSource::inline("builtin-pytest", PYTEST),
        Framework::Unittest => FilterSource::inline("builtin-unittest", UNITTEST),
    }
}

/// The built-in head of a chain: the default filter, then the framework's.
pub fn sources(framework: Option<Framework>) -> Vec<FilterSource> {
    let mut sources = vec![default_source()];
    sources.extend(framework.map(framework_source));
    sources
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::FilterChain;
    use crate::path::Platform;

    #[test]
    fn builtins_load_alone_and_together() {
        for framework in [None, Some(Framework::Pytest), Some(Framework::Unittest)] {
            let chain =
                FilterChain::load(&sources(framework), Platform::Posix).expect("built-ins load");
            assert!(chain.sources().iter().all(|s| s.project_root.is_none()));
            assert_eq!(chain.sources()[0].path, "<inline:builtin-default>");
            assert_eq!(chain.sources()[0].meta.labels, ["builtin", "default"]);
        }
    }
}
