//! Errors raised while loading filters: values, never panics.

use serde::Serialize;
use std::fmt;

/// A position in a filter source, 1-based, column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Location {
    /// Line number, starting at 1.
    pub line: u32,
    /// Column number, starting at 1.
    pub column: u32,
}

impl Location {
    /// The location of byte `offset` within `text`. A leading byte-order mark
    /// is invisible in editors and is not counted as a column.
    pub fn from_offset(text: &str, offset: usize) -> Location {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_text = &before[line_start..];
        let line_text = match line_start {
            0 => line_text.strip_prefix('\u{feff}').unwrap_or(line_text),
            _ => line_text,
        };
        let column = line_text.chars().count() + 1;
        Location {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// The compatibility code of an error, as CodeTracer names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ErrorCode {
    /// `ERR_INVALID_POLICY_VALUE`: the filter is malformed.
    #[serde(rename = "ERR_INVALID_POLICY_VALUE")]
    InvalidPolicyValue,
    /// `ERR_IO`: the filter could not be read.
    #[serde(rename = "ERR_IO")]
    Io,
    /// `ERR_UNSUPPORTED_SCHEMA_VERSION`: `meta.version` is newer than supported.
    #[serde(rename = "ERR_UNSUPPORTED_SCHEMA_VERSION")]
    UnsupportedSchemaVersion,
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorCode::InvalidPolicyValue => "ERR_INVALID_POLICY_VALUE",
            ErrorCode::Io => "ERR_IO",
            ErrorCode::UnsupportedSchemaVersion => "ERR_UNSUPPORTED_SCHEMA_VERSION",
        })
    }
}

/// Why a selector string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SelectorError {
    /// The selector is the empty string.
    #[error("selector string is empty")]
    Empty,
    /// The selector has no `:` and so no pattern.
    #[error("selector missing pattern")]
    MissingPattern,
    /// The kind token is not one of the eight kinds.
    #[error("unsupported selector kind '{kind}' (expected one of pkg, file, obj, local, global, arg, ret, attr)")]
    UnsupportedKind {
        /// The token found.
        kind: String,
    },
    /// The kind exists but is not allowed where it was written.
    #[error("selector kind '{kind}' is not allowed in this context (expected one of {expected})")]
    KindNotAllowed {
        /// The kind found.
        kind: String,
        /// The kinds allowed here.
        expected: String,
    },
    /// `kind::pattern`: an empty match type.
    #[error("selector match type cannot be empty (expected glob, regex or literal)")]
    EmptyMatchType,
    /// The match type is not `glob`, `regex` or `literal`.
    #[error("unsupported selector match type '{match_type}' (expected glob, regex or literal; a pattern containing ':' needs its match type written out)")]
    UnsupportedMatchType {
        /// The token found.
        match_type: String,
    },
    /// The pattern is empty.
    #[error("selector pattern cannot be empty")]
    EmptyPattern,
    /// The glob does not compile.
    #[error("invalid glob pattern '{pattern}': {message}")]
    InvalidGlob {
        /// The pattern.
        pattern: String,
        /// What globset said.
        message: String,
    },
    /// The regex does not compile.
    #[error("invalid regex pattern '{pattern}': {message}")]
    InvalidRegex {
        /// The pattern.
        pattern: String,
        /// What the regex crate said.
        message: String,
    },
    /// A `file:` pattern with `..` that leaves its project root.
    #[error("file selector '{pattern}' escapes the project root '{root}'")]
    EscapesRoot {
        /// The pattern as written.
        pattern: String,
        /// The source's project root.
        root: String,
    },
    /// An absolute `file:` pattern outside its project root.
    #[error("file selector '{pattern}' must reside within project root '{root}'")]
    OutsideRoot {
        /// The pattern as written.
        pattern: String,
        /// The source's project root.
        root: String,
    },
}

/// What went wrong in a filter source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FilterErrorKind {
    /// The source could not be read, or is not UTF-8.
    #[error("failed to read trace filter: {message}")]
    Io {
        /// What the operating system or decoder said.
        message: String,
    },
    /// TOML syntax, an unknown or missing key, or a value of the wrong type.
    #[error("{message}")]
    Syntax {
        /// The parser's message.
        message: String,
    },
    /// A token that is not one of the allowed values.
    #[error("unsupported value '{found}' for '{field}' (expected {expected})")]
    InvalidToken {
        /// The key, e.g. `scope.default_exec` or `exec`.
        field: String,
        /// The token found.
        found: String,
        /// The allowed tokens.
        expected: String,
    },
    /// `meta.name` is empty or only whitespace.
    #[error("'meta.name' must not be empty (expected a non-blank name)")]
    EmptyName,
    /// `meta.version` is 0.
    #[error("'meta.version' must be >= 1 (found {found})")]
    VersionTooLow {
        /// The version found.
        found: u32,
    },
    /// `meta.version` is newer than this engine supports.
    #[error(
        "trace filter declares 'meta.version = {found}' but tracesieve supports up to {supported}"
    )]
    UnsupportedVersion {
        /// The version found.
        found: u32,
        /// The newest version supported.
        supported: u32,
    },
    /// `inherit` in the first source of a chain.
    #[error("'{field}' cannot inherit without a previous filter (expected {expected})")]
    InheritWithoutPrevious {
        /// The key that says `inherit`.
        field: String,
        /// The tokens allowed instead.
        expected: String,
    },
    /// `io.capture = true` without streams.
    #[error("'io.streams' must be provided when 'io.capture = true' (expected a non-empty list)")]
    MissingStreams,
    /// `io.modes` is not empty.
    #[error("'io.modes' is reserved and must be empty")]
    ReservedModes,
    /// A selector that does not parse or compile.
    #[error("invalid selector '{selector}': {error}")]
    Selector {
        /// The selector as written.
        selector: String,
        /// Why it was rejected.
        error: SelectorError,
    },
    /// A chain with no sources.
    #[error("no trace filter sources supplied")]
    EmptyChain,
}

/// A problem in one filter source: what, where, and in which rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilterError {
    /// The source's path, or `<inline:LABEL>`.
    pub source: String,
    /// Where in the source, when the problem has a place.
    pub location: Option<Location>,
    /// The 0-based index of the rule within its source.
    pub rule: Option<usize>,
    /// The 0-based index of the value pattern within its rule.
    pub pattern: Option<usize>,
    /// What went wrong (boxed: errors are rare, results are everywhere).
    pub kind: Box<FilterErrorKind>,
}

impl FilterError {
    /// An error in `source` with no location yet.
    pub fn new(source: impl Into<String>, kind: FilterErrorKind) -> FilterError {
        FilterError {
            source: source.into(),
            location: None,
            rule: None,
            pattern: None,
            kind: Box::new(kind),
        }
    }

    /// This error placed at `location`.
    pub fn at(mut self, location: Location) -> FilterError {
        self.location = Some(location);
        self
    }

    /// This error attributed to rule `rule` and, optionally, pattern `pattern`.
    pub fn in_rule(mut self, rule: usize, pattern: Option<usize>) -> FilterError {
        self.rule = Some(rule);
        self.pattern = pattern;
        self
    }

    /// The CodeTracer-compatible error code.
    pub fn code(&self) -> ErrorCode {
        match *self.kind {
            FilterErrorKind::Io { .. } => ErrorCode::Io,
            FilterErrorKind::UnsupportedVersion { .. } => ErrorCode::UnsupportedSchemaVersion,
            _ => ErrorCode::InvalidPolicyValue,
        }
    }

    /// The message without the `path:line:col:` prefix, naming the rule and pattern.
    pub fn message(&self) -> String {
        match (self.rule, self.pattern) {
            (Some(r), Some(p)) => format!("scope.rules[{r}].value_patterns[{p}]: {}", self.kind),
            (Some(r), None) => format!("scope.rules[{r}]: {}", self.kind),
            _ => self.kind.to_string(),
        }
    }
}

impl fmt::Display for FilterError {
    /// `path:line:col: message`, or `path: message` when there is no place.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Some(loc) => write!(
                f,
                "{}:{}:{}: {}",
                self.source,
                loc.line,
                loc.column,
                self.message()
            ),
            None => write!(f, "{}: {}", self.source, self.message()),
        }
    }
}

impl std::error::Error for FilterError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters() {
        let text = "ab\nçd\nef";
        assert_eq!(
            Location::from_offset(text, 0),
            Location { line: 1, column: 1 }
        );
        assert_eq!(
            Location::from_offset(text, 3),
            Location { line: 2, column: 1 }
        );
        // 'ç' is two bytes but one column.
        assert_eq!(
            Location::from_offset(text, 5),
            Location { line: 2, column: 2 }
        );
        assert_eq!(
            Location::from_offset(text, 99),
            Location { line: 3, column: 3 }
        );
    }

    #[test]
    fn a_leading_byte_order_mark_is_not_a_column() {
        let text = "\u{feff}ab\n\u{feff}c";
        assert_eq!(
            Location::from_offset(text, 3),
            Location { line: 1, column: 1 }
        );
        assert_eq!(
            Location::from_offset(text, 4),
            Location { line: 1, column: 2 }
        );
        // Only the first line can start with a byte-order mark.
        assert_eq!(
            Location::from_offset(text, 9),
            Location { line: 2, column: 2 }
        );
    }

    #[test]
    fn display_names_path_place_rule_and_pattern() {
        let e = FilterError::new("f.toml", FilterErrorKind::EmptyName)
            .at(Location { line: 2, column: 8 })
            .in_rule(3, Some(1));
        assert_eq!(
            e.to_string(),
            "f.toml:2:8: scope.rules[3].value_patterns[1]: 'meta.name' must not be empty (expected a non-blank name)"
        );
        assert_eq!(e.code(), ErrorCode::InvalidPolicyValue);
    }
}
