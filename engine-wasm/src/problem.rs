//! Errors as JavaScript sees them: a filter problem or an unreadable trace
//! becomes a plain serialisable record here, and an `Error` object with the
//! record's fields in `js.rs`.

use serde::Serialize;
use tracesieve_engine::trace::TraceError;
use tracesieve_engine::FilterError;

/// A filter that cannot be loaded: where and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// What is wrong, with the rule and pattern it is in
    /// (`scope.rules[2]: invalid selector …`).
    pub message: String,
    /// The filter's path, or `<inline:LABEL>`.
    pub source: String,
    /// 1-based line, when the problem has a place.
    pub line: Option<u32>,
    /// 1-based column (in characters), when the problem has a place.
    pub column: Option<u32>,
    /// The rule's index in its file, when the problem is in a rule.
    pub rule: Option<usize>,
    /// The value pattern's index in its rule, when in a pattern.
    pub pattern: Option<usize>,
    /// A stable code for the kind of problem (`invalid_selector`, …).
    pub code: String,
    /// The whole message, `path:line:col: message`, as `tracesieve check` prints it.
    pub text: String,
}

impl Problem {
    /// The record of `error`.
    pub fn of(error: &FilterError) -> Problem {
        Problem {
            message: error.message(),
            source: error.source.clone(),
            line: error.location.map(|l| l.line),
            column: error.location.map(|l| l.column),
            rule: error.rule,
            pattern: error.pattern,
            code: error.code().to_string(),
            text: error.to_string(),
        }
    }
}

/// A trace that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceProblem {
    /// What is wrong, for people.
    pub message: String,
    /// `not_a_trace`, `unsupported_version`, `bad_header` or `over_limit`.
    pub code: &'static str,
}

impl TraceProblem {
    /// The record of `error`.
    pub fn of(error: &TraceError) -> TraceProblem {
        TraceProblem {
            message: error.to_string(),
            code: match error {
                TraceError::NotATrace { .. } => "not_a_trace",
                TraceError::UnsupportedVersion { .. } => "unsupported_version",
                TraceError::BadHeader { .. } => "bad_header",
                TraceError::OverLimit { .. } => "over_limit",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracesieve_engine::{FilterChain, FilterSource, Platform};

    #[test]
    fn a_filter_problem_has_its_place() {
        let text = "[meta]\nname = \"x\"\nversion = 1\n[scope]\ndefault_exec = \"sometimes\"\ndefault_value_action = \"allow\"\n";
        let error = FilterChain::load(&[FilterSource::file("/p/f.toml", text)], Platform::Posix)
            .expect_err("invalid default_exec");
        let problem = Problem::of(&error);
        assert_eq!(problem.source, "/p/f.toml");
        assert_eq!(problem.line, Some(5), "{}", problem.text);
        assert!(problem.text.starts_with("/p/f.toml:5:"), "{}", problem.text);
        assert!(!problem.code.is_empty());
    }

    #[test]
    fn a_trace_problem_says_what_the_file_is() {
        let error =
            tracesieve_engine::trace::read_trace(b"{\"events\": []}").expect_err("not a trace");
        let problem = TraceProblem::of(&error);
        assert_eq!(problem.code, "not_a_trace");
        assert!(problem.message.contains("not a tracesieve trace"));
    }
}
