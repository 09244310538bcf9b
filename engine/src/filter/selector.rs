//! Selectors: `kind:[match:]pattern`, parsed and compiled once.

use crate::error::SelectorError;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::fmt;

/// What a selector is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectorKind {
    /// A scope's module name.
    Pkg,
    /// A scope's file path (relative to the rule's project root, else absolute).
    File,
    /// A scope's object name, `module.qualname`.
    Obj,
    /// A local variable name.
    Local,
    /// A global variable name seen from a function.
    Global,
    /// A parameter name, or `exception` for a value thrown into a generator.
    Arg,
    /// A return, yield or unwind value: the object name or `<yield>`, `<unwind>`, `<return>`.
    Ret,
    /// An attribute of an encoded object.
    Attr,
}

impl SelectorKind {
    /// The token as written in a selector.
    pub fn token(self) -> &'static str {
        match self {
            SelectorKind::Pkg => "pkg",
            SelectorKind::File => "file",
            SelectorKind::Obj => "obj",
            SelectorKind::Local => "local",
            SelectorKind::Global => "global",
            SelectorKind::Arg => "arg",
            SelectorKind::Ret => "ret",
            SelectorKind::Attr => "attr",
        }
    }

    fn from_token(token: &str) -> Option<SelectorKind> {
        Some(match token {
            "pkg" => SelectorKind::Pkg,
            "file" => SelectorKind::File,
            "obj" => SelectorKind::Obj,
            "local" => SelectorKind::Local,
            "global" => SelectorKind::Global,
            "arg" => SelectorKind::Arg,
            "ret" => SelectorKind::Ret,
            "attr" => SelectorKind::Attr,
            _ => return None,
        })
    }
}

/// Where a selector is written, which decides the kinds it may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectorContext {
    /// `[[scope.rules]] selector`: `pkg`, `file`, `obj`.
    Scope,
    /// `[[scope.rules.value_patterns]] selector`: `local`, `global`, `arg`, `ret`, `attr`.
    Value,
}

impl SelectorContext {
    fn allows(self, kind: SelectorKind) -> bool {
        use SelectorKind::*;
        match self {
            SelectorContext::Scope => matches!(kind, Pkg | File | Obj),
            SelectorContext::Value => matches!(kind, Local | Global | Arg | Ret | Attr),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            SelectorContext::Scope => "pkg, file, obj",
            SelectorContext::Value => "local, global, arg, ret, attr",
        }
    }
}

/// How a selector's pattern is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchType {
    /// Whole-string glob; `/` is the only separator, `*` crosses dots.
    Glob,
    /// Unanchored regex search.
    Regex,
    /// Exact, case-sensitive equality.
    Literal,
}

impl MatchType {
    /// The token as written in a selector.
    pub fn token(self) -> &'static str {
        match self {
            MatchType::Glob => "glob",
            MatchType::Regex => "regex",
            MatchType::Literal => "literal",
        }
    }
}

#[derive(Debug, Clone)]
enum Matcher {
    Glob(regex::bytes::Regex),
    Regex(regex::Regex),
    Literal(String),
}

/// A parsed, compiled selector.
#[derive(Debug, Clone)]
pub struct Selector {
    raw: String,
    kind: SelectorKind,
    match_type: MatchType,
    pattern: String,
    matcher: Matcher,
}

/// A selector error with the byte offset, within the selector string, of the
/// token it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorFailure {
    /// Why the selector was rejected.
    pub error: SelectorError,
    /// Byte offset of the offending token in the selector string.
    pub offset: usize,
}

/// Compiled matchers by (match type, pattern), so a chain that writes the same
/// pattern many times (the built-in secret regex appears five times) compiles
/// it once. Compiled regexes are cheap to clone.
#[derive(Debug, Default)]
pub(crate) struct MatcherCache {
    compiled: RefCell<FxHashMap<(MatchType, String), Matcher>>,
}

impl MatcherCache {
    fn get_or_compile(
        &self,
        match_type: MatchType,
        pattern: &str,
    ) -> Result<Matcher, SelectorError> {
        let key = (match_type, pattern.to_string());
        if let Some(matcher) = self.compiled.borrow().get(&key) {
            return Ok(matcher.clone());
        }
        let matcher = compile_matcher(match_type, pattern)?;
        self.compiled.borrow_mut().insert(key, matcher.clone());
        Ok(matcher)
    }
}

impl Selector {
    /// Parses `raw` as written in `context`: split on the first two colons.
    pub fn parse(raw: &str, context: SelectorContext) -> Result<Selector, SelectorFailure> {
        Selector::parse_with(raw, context, &MatcherCache::default())
    }

    /// [`Selector::parse`], reusing matchers already compiled in `cache`.
    pub(crate) fn parse_with(
        raw: &str,
        context: SelectorContext,
        cache: &MatcherCache,
    ) -> Result<Selector, SelectorFailure> {
        let fail = |error, offset| Err(SelectorFailure { error, offset });
        if raw.is_empty() {
            return fail(SelectorError::Empty, 0);
        }
        let mut pieces = raw.splitn(3, ':');
        let kind_token = pieces.next().unwrap_or_default();
        let Some(second) = pieces.next() else {
            return fail(SelectorError::MissingPattern, raw.len());
        };
        let Some(kind) = SelectorKind::from_token(kind_token) else {
            return fail(
                SelectorError::UnsupportedKind {
                    kind: kind_token.to_string(),
                },
                0,
            );
        };
        if !context.allows(kind) {
            let error = SelectorError::KindNotAllowed {
                kind: kind_token.to_string(),
                expected: context.expected().to_string(),
            };
            return fail(error, 0);
        }
        let second_offset = kind_token.len() + 1;
        let (match_type, pattern, pattern_offset) = match pieces.next() {
            Some(pattern) => {
                let match_type = match second {
                    "" => return fail(SelectorError::EmptyMatchType, second_offset),
                    "glob" => MatchType::Glob,
                    "regex" => MatchType::Regex,
                    "literal" => MatchType::Literal,
                    other => {
                        let error = SelectorError::UnsupportedMatchType {
                            match_type: other.to_string(),
                        };
                        return fail(error, second_offset);
                    }
                };
                (match_type, pattern, second_offset + second.len() + 1)
            }
            None => (MatchType::Glob, second, second_offset),
        };
        Selector::compile(raw.to_string(), kind, match_type, pattern, cache).map_err(|error| {
            SelectorFailure {
                error,
                offset: pattern_offset,
            }
        })
    }

    /// Compiles a selector from its parts; `raw` is kept for display.
    pub(crate) fn compile(
        raw: String,
        kind: SelectorKind,
        match_type: MatchType,
        pattern: &str,
        cache: &MatcherCache,
    ) -> Result<Selector, SelectorError> {
        if pattern.is_empty() {
            return Err(SelectorError::EmptyPattern);
        }
        let matcher = cache.get_or_compile(match_type, pattern)?;
        Ok(Selector {
            raw,
            kind,
            match_type,
            pattern: pattern.to_string(),
            matcher,
        })
    }

    /// Whether `candidate` matches.
    pub fn is_match(&self, candidate: &str) -> bool {
        match &self.matcher {
            Matcher::Glob(re) => re.is_match(candidate.as_bytes()),
            Matcher::Regex(re) => re.is_match(candidate),
            Matcher::Literal(text) => text == candidate,
        }
    }

    /// The selector as written in the filter.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The kind.
    pub fn kind(&self) -> SelectorKind {
        self.kind
    }

    /// The match type.
    pub fn match_type(&self) -> MatchType {
        self.match_type
    }

    /// The pattern actually matched (after any `file:` normalisation).
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

fn compile_matcher(match_type: MatchType, pattern: &str) -> Result<Matcher, SelectorError> {
    Ok(match match_type {
        MatchType::Glob => Matcher::Glob(compile_glob(pattern)?),
        MatchType::Regex => {
            Matcher::Regex(
                regex::Regex::new(pattern).map_err(|e| SelectorError::InvalidRegex {
                    pattern: pattern.to_string(),
                    message: one_line(&e.to_string()),
                })?,
            )
        }
        MatchType::Literal => Matcher::Literal(pattern.to_string()),
    })
}

/// A glob as globset builds it, with `/` as the only separator and `\` as an
/// escape on every platform, so the recorder and the browser agree. The
/// regex is compiled as globset's own matcher compiles it: `.` (from `**`)
/// also matches a newline.
fn compile_glob(pattern: &str) -> Result<regex::bytes::Regex, SelectorError> {
    let invalid = |message: String| SelectorError::InvalidGlob {
        pattern: pattern.to_string(),
        message,
    };
    if alternate_depth(pattern) > MAX_ALTERNATE_DEPTH {
        return Err(invalid(format!(
            "error parsing glob '{pattern}': alternate groups nested deeper than {MAX_ALTERNATE_DEPTH}"
        )));
    }
    let glob = globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| invalid(e.to_string()))?;
    regex::bytes::RegexBuilder::new(glob.regex())
        .dot_matches_new_line(true)
        .build()
        .map_err(|e| invalid(e.to_string()))
}

/// Deeper `{…}` nesting never compiles: each group becomes a regex group and
/// the regex crate allows 250 levels. Rejected before globset sees it, because
/// globset builds and drops the groups recursively and a deep enough nesting
/// (a few thousand levels in the browser) would overflow the stack instead of
/// failing.
const MAX_ALTERNATE_DEPTH: usize = 249;

/// The deepest nesting of closed `{…}` groups in a glob, read as globset reads
/// it: `\` escapes the next character, and a class `[…]` (whose first
/// character, after an optional `!` or `^`, may be `]`) is literal text.
fn alternate_depth(pattern: &str) -> usize {
    let mut chars = pattern.chars().peekable();
    let (mut depth, mut deepest) = (0usize, 0usize);
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '[' => {
                chars.next_if(|&c| c == '!' || c == '^');
                chars.next();
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                }
            }
            '{' => depth += 1,
            '}' if depth > 0 => {
                deepest = deepest.max(depth);
                depth -= 1;
            }
            _ => {}
        }
    }
    deepest
}

/// The last line of a multi-line library message (the regex crate draws the
/// pattern and a caret above the reason), without its `error: ` prefix.
fn one_line(message: &str) -> String {
    let last = message.trim_end().lines().last().unwrap_or(message);
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl PartialEq for Selector {
    fn eq(&self, other: &Selector) -> bool {
        self.raw == other.raw
            && self.pattern == other.pattern
            && self.match_type == other.match_type
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(raw: &str) -> Selector {
        Selector::parse(raw, SelectorContext::Scope).expect(raw)
    }

    fn value(raw: &str) -> Selector {
        Selector::parse(raw, SelectorContext::Value).expect(raw)
    }

    fn scope_err(raw: &str) -> SelectorFailure {
        Selector::parse(raw, SelectorContext::Scope).expect_err(raw)
    }

    #[test]
    fn a_pattern_is_compiled_once_per_cache() {
        let cache = MatcherCache::default();
        let a =
            Selector::parse_with("local:regex:(?i)pass", SelectorContext::Value, &cache).unwrap();
        let b = Selector::parse_with("arg:regex:(?i)pass", SelectorContext::Value, &cache).unwrap();
        let _glob =
            Selector::parse_with("arg:glob:(?i)pass", SelectorContext::Value, &cache).unwrap();
        assert_eq!(
            cache.compiled.borrow().len(),
            2,
            "regex shared, glob of the same text separate"
        );
        assert!(a.is_match("PASSWD") && b.is_match("PASSWD"));
        assert_eq!(
            (a.kind(), b.kind()),
            (SelectorKind::Local, SelectorKind::Arg)
        );
    }

    #[test]
    fn splits_on_the_first_two_colons() {
        let s = scope("obj:regex:^a::b$");
        assert_eq!(
            (s.kind(), s.match_type(), s.pattern()),
            (SelectorKind::Obj, MatchType::Regex, "^a::b$")
        );
        assert_eq!(scope("pkg:glob:a:b").pattern(), "a:b");
        assert_eq!(scope("pkg:literal: foo ").pattern(), " foo ");
        assert_eq!(scope("pkg:x").match_type(), MatchType::Glob);
    }

    #[test]
    fn errors_point_at_their_token() {
        assert_eq!(scope_err("").error, SelectorError::Empty);
        assert_eq!(scope_err("bogus").error, SelectorError::MissingPattern);
        assert_eq!(
            scope_err("PKG:x").error,
            SelectorError::UnsupportedKind { kind: "PKG".into() }
        );
        let e = scope_err("pkg:foo:bar");
        assert_eq!(
            e.error,
            SelectorError::UnsupportedMatchType {
                match_type: "foo".into()
            }
        );
        assert_eq!(e.offset, 4);
        assert_eq!(scope_err("pkg::foo").error, SelectorError::EmptyMatchType);
        assert_eq!(scope_err("pkg:").error, SelectorError::EmptyPattern);
        let e = scope_err("pkg:glob:[");
        assert!(
            matches!(e.error, SelectorError::InvalidGlob { .. }),
            "{e:?}"
        );
        assert_eq!(e.offset, 9);
        assert!(matches!(
            scope_err("local:x").error,
            SelectorError::KindNotAllowed { .. }
        ));
        assert!(matches!(
            Selector::parse("pkg:x", SelectorContext::Value)
                .unwrap_err()
                .error,
            SelectorError::KindNotAllowed { .. }
        ));
    }

    #[test]
    fn globs_treat_only_slash_as_separator() {
        let s = scope("pkg:my_app.*");
        assert!(s.is_match("my_app.core.sub"));
        assert!(!s.is_match("my_app"));
        let f = scope("file:**/test_*.py");
        assert!(f.is_match("test_a.py"));
        assert!(f.is_match("a/b/test_a.py"));
        assert!(f.is_match("/abs/test_a.py"));
        assert!(!f.is_match("a/test_a.pyc"));
        assert!(!scope("file:src/**").is_match("src"));
        assert!(value("local:\\*").is_match("*"));
        assert!(!value("local:glob:a**b").is_match("a/x/b"));
    }

    #[test]
    fn deeply_nested_alternates_are_an_error_not_a_stack_overflow() {
        let nested = |n: usize| format!("local:{}a{}", "{".repeat(n), "}".repeat(n));
        assert!(value(&nested(MAX_ALTERNATE_DEPTH)).is_match("a"));
        let Err(SelectorFailure { error, offset }) =
            Selector::parse(&nested(MAX_ALTERNATE_DEPTH + 1), SelectorContext::Value)
        else {
            panic!("250 nested groups compiled");
        };
        assert!(matches!(error, SelectorError::InvalidGlob { .. }));
        assert_eq!(offset, 6);
        // Far beyond what globset's recursion survives on a test thread.
        let deep = nested(200_000);
        assert!(Selector::parse(&deep, SelectorContext::Value).is_err());
        // Braces inside classes and escaped braces do not nest.
        assert_eq!(alternate_depth(&"[{]".repeat(300)), 0);
        assert_eq!(alternate_depth(&"[]{]".repeat(300)), 0);
        assert_eq!(alternate_depth(&"[!]{]".repeat(300)), 0);
        assert_eq!(alternate_depth(&"\\{".repeat(300)), 0);
        assert_eq!(alternate_depth("{a,{b}}{c}"), 2);
        assert!(value(&format!("local:{}", "[{]".repeat(300))).is_match(&"{".repeat(300)));
    }

    #[test]
    fn recursive_globs_cross_newlines_like_globset() {
        // globset compiles its regex with `dot_matches_new_line`, so `**`
        // (which becomes `.*`) matches names and paths containing `\n`.
        assert!(value("attr:**").is_match("a\nb"));
        assert!(scope("file:src/**").is_match("src/a\nb.py"));
        assert!(scope("file:**/x.py").is_match("a\nb/x.py"));
        assert!(value("attr:*").is_match("a\nb"));
        assert!(!value("attr:*").is_match("a/b"));
    }

    #[test]
    fn regexes_search_and_literals_compare_exactly() {
        assert!(value("local:regex:token").is_match("my_token_x"));
        assert!(!value("local:regex:^token$").is_match("my_token"));
        assert!(value("local:regex:(?i)PASS").is_match("Passwd"));
        assert!(value("local:literal:a").is_match("a"));
        assert!(!value("local:literal:a").is_match("A"));
    }
}
