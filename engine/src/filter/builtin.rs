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

/// The head a chain starts with: [`sources`] when `builtin` is set, else
/// only the framework's filter (if any).
pub fn head(builtin: bool, framework: Option<Framework>) -> Vec<FilterSource> {
    if builtin {
        sources(framework)
    } else {
        framework.map(framework_source).into_iter().collect()
    }
}

/// The text of a built-in filter by name: `default`, `pytest` or `unittest`.
pub fn text(name: &str) -> Result<&'static str, String> {
    match name {
        "default" => Ok(DEFAULT),
        "pytest" => Ok(PYTEST),
        "unittest" => Ok(UNITTEST),
        other => Err(format!(
            "no built-in filter '{other}' (expected default, pytest or unittest)"
        )),
    }
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

    #[test]
    fn head_without_builtin_keeps_only_the_framework() {
        assert!(head(false, None).is_empty());
        let only = head(false, Some(Framework::Pytest));
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].display_path(), "<inline:builtin-pytest>");
        assert_eq!(head(true, Some(Framework::Unittest)).len(), 2);
    }

    #[test]
    fn texts_by_name() {
        assert_eq!(text("default"), Ok(DEFAULT));
        assert!(text("nose")
            .unwrap_err()
            .contains("expected default, pytest or unittest"));
    }
}
