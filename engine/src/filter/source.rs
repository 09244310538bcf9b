//! Filter sources: a text with a path (or inline label) and a project root.

use crate::error::{FilterError, FilterErrorKind};
use crate::path::{self, Platform};

/// Where a source's text came from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    File { path: String, root: Option<String> },
    Inline { label: String },
}

/// One filter text to load into a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterSource {
    origin: Origin,
    text: String,
}

impl FilterSource {
    /// A filter read from `path`. Its project root follows the `.codetracer`
    /// ancestor rule unless set with [`FilterSource::with_root`].
    pub fn file(path: impl Into<String>, text: impl Into<String>) -> FilterSource {
        FilterSource {
            origin: Origin::File {
                path: path.into(),
                root: None,
            },
            text: text.into(),
        }
    }

    /// A filter read from `path` as raw bytes, which must be UTF-8.
    pub fn file_bytes(
        path: impl Into<String>,
        bytes: Vec<u8>,
    ) -> Result<FilterSource, FilterError> {
        let path = path.into();
        match String::from_utf8(bytes) {
            Ok(text) => Ok(FilterSource::file(path, text)),
            Err(e) => {
                let message = format!("not valid UTF-8 ({})", e.utf8_error());
                Err(FilterError::new(path, FilterErrorKind::Io { message }))
            }
        }
    }

    /// A built-in or otherwise pathless filter, shown as `<inline:LABEL>`. It has
    /// no project root: its `file:` rules see absolute paths (D2).
    pub fn inline(label: impl Into<String>, text: impl Into<String>) -> FilterSource {
        FilterSource {
            origin: Origin::Inline {
                label: label.into(),
            },
            text: text.into(),
        }
    }

    /// This file source with an explicit project root (as stored in a trace).
    /// Inline sources keep having none.
    pub fn with_root(mut self, root: impl Into<String>) -> FilterSource {
        if let Origin::File { root: slot, .. } = &mut self.origin {
            *slot = Some(root.into());
        }
        self
    }

    /// The path as given, or `<inline:LABEL>`.
    pub fn display_path(&self) -> String {
        match &self.origin {
            Origin::File { path, .. } => path.clone(),
            Origin::Inline { label } => format!("<inline:{label}>"),
        }
    }

    /// The text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The POSIX-form project root, if any.
    pub fn project_root(&self, platform: Platform) -> Option<String> {
        match &self.origin {
            Origin::File {
                root: Some(root), ..
            } => Some(path::to_posix(root, platform)),
            Origin::File { path, root: None } => Some(project_root_of(path, platform)),
            Origin::Inline { .. } => None,
        }
    }
}

/// The project root of a filter file: the parent of the nearest ancestor
/// directory named `.codetracer`, else the file's own directory (or `.`).
pub fn project_root_of(filter_path: &str, platform: Platform) -> String {
    let posix = path::to_posix(filter_path, platform);
    let Some(dir) = path::parent(&posix) else {
        return ".".to_string();
    };
    let mut cursor = Some(dir);
    while let Some(current) = cursor {
        if path::file_name(current) == ".codetracer" {
            return path::parent(current).unwrap_or(current).to_string();
        }
        cursor = path::parent(current);
    }
    dir.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_roots_follow_the_codetracer_ancestor() {
        let p = Platform::Posix;
        assert_eq!(project_root_of("/Q/.codetracer/sub/f.toml", p), "/Q");
        assert_eq!(project_root_of("/Q/.codetracer/trace-filter.toml", p), "/Q");
        assert_eq!(project_root_of("/P/filters/p.toml", p), "/P/filters");
        assert_eq!(project_root_of("p.toml", p), ".");
        assert_eq!(project_root_of("/.codetracer/f.toml", p), "/");
        assert_eq!(
            project_root_of(r"C:\proj\.codetracer\f.toml", Platform::Windows),
            "C:/proj"
        );
    }

    #[test]
    fn inline_sources_have_no_root() {
        let s = FilterSource::inline("x", "").with_root("/r");
        assert_eq!(s.project_root(Platform::Posix), None);
        assert_eq!(s.display_path(), "<inline:x>");
        let f = FilterSource::file("/a/b.toml", "").with_root("/z");
        assert_eq!(f.project_root(Platform::Posix).as_deref(), Some("/z"));
    }

    #[test]
    fn non_utf8_bytes_are_an_io_error() {
        let e = FilterSource::file_bytes("/x.toml", vec![0xff, 0xfe]).unwrap_err();
        assert!(matches!(*e.kind, FilterErrorKind::Io { .. }));
    }
}
