//! Parses and validates one filter source into rules, in upstream's check order.

use super::model::{Action, Exec, FilterMeta, IoConfig, Rule, ValuePattern};
use super::selector::{
    MatchType, MatcherCache, Selector, SelectorContext, SelectorFailure, SelectorKind,
};
use crate::error::{FilterError, FilterErrorKind, Location, SelectorError};
use crate::path::{self, Platform};
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::ops::Range;
use toml::Spanned;

/// The newest `meta.version` this engine reads.
pub const MAX_SCHEMA_VERSION: u32 = 1;

const IO_STREAMS: [&str; 4] = ["stdout", "stderr", "stdin", "files"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDocument {
    meta: RawMeta,
    io: Option<Spanned<RawIo>>,
    scope: RawScope,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    name: Spanned<String>,
    version: Spanned<u32>,
    description: Option<String>,
    #[serde(default)]
    labels: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIo {
    #[serde(default)]
    capture: bool,
    #[serde(default)]
    streams: Vec<Spanned<String>>,
    modes: Option<Spanned<Vec<IgnoredAny>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    default_exec: Spanned<String>,
    default_value_action: Spanned<String>,
    #[serde(default)]
    rules: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    selector: Spanned<String>,
    exec: Option<Spanned<String>>,
    value_default: Option<Spanned<String>>,
    reason: Option<String>,
    #[serde(default)]
    value_patterns: Vec<RawPattern>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPattern {
    selector: Spanned<String>,
    action: Spanned<String>,
    reason: Option<String>,
}

/// A chain-level default: a value, or `inherit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Default<T> {
    Set(T),
    Inherit,
}

/// One source, validated: everything the chain needs to compose it.
pub(crate) struct LoadedSource {
    pub meta: FilterMeta,
    pub io: Option<IoConfig>,
    pub default_exec: Default<Exec>,
    pub default_value: Default<Action>,
    pub rules: Vec<Rule>,
    /// Location of `scope.default_exec` and `scope.default_value_action`, for
    /// the chain's `inherit` checks.
    pub default_exec_at: Location,
    pub default_value_at: Location,
}

/// Everything a source's validation needs to know about it.
pub(crate) struct SourceContext<'a> {
    pub path: &'a str,
    pub text: &'a str,
    pub root: Option<&'a str>,
    pub platform: Platform,
    pub source_index: usize,
    pub first_rule_index: usize,
    /// Matchers compiled so far in this chain.
    pub matchers: &'a MatcherCache,
}

impl SourceContext<'_> {
    fn at(&self, span: Range<usize>) -> Location {
        Location::from_offset(self.text, span.start)
    }

    fn error(&self, kind: FilterErrorKind, span: Range<usize>) -> FilterError {
        FilterError::new(self.path, kind).at(self.at(span))
    }

    /// The location of byte `offset` inside a selector string written at `span`,
    /// when the string is written without escapes; else the string's start.
    fn inside_string(&self, span: Range<usize>, value: &str, offset: usize) -> Location {
        let written = self.text.get(span.clone()).unwrap_or_default();
        let plain = written.len() == value.len() + 2
            && (written.starts_with('"') || written.starts_with('\''))
            && &written[1..written.len() - 1] == value;
        if plain {
            Location::from_offset(self.text, span.start + 1 + offset)
        } else {
            self.at(span)
        }
    }
}

/// Parses and validates `ctx.text`; the first problem is returned.
pub(crate) fn load_source(ctx: &SourceContext<'_>) -> Result<LoadedSource, FilterError> {
    let doc: RawDocument = toml::from_str(ctx.text).map_err(|e| {
        let mut message = e.message().trim_end().to_string();
        let found = e
            .span()
            .and_then(|span| ctx.text.get(span))
            .map(str::trim)
            .filter(|f| !f.is_empty());
        if let (Some(found), "duplicate key") = (found, message.as_str()) {
            message = format!("duplicate key `{found}`");
        }
        let error = FilterError::new(ctx.path, FilterErrorKind::Syntax { message });
        match e.span() {
            Some(span) => match rule_at(ctx.text, span.start) {
                Some((rule, pattern)) => error.at(ctx.at(span)).in_rule(rule, pattern),
                None => error.at(ctx.at(span)),
            },
            None => error,
        }
    })?;
    let meta = check_meta(ctx, doc.meta)?;
    let default_exec = exec_token(ctx, &doc.scope.default_exec, "scope.default_exec")?;
    check_inherit(
        ctx,
        &default_exec,
        &doc.scope.default_exec,
        "scope.default_exec",
    )?;
    let default_value = action_token(
        ctx,
        &doc.scope.default_value_action,
        "scope.default_value_action",
        true,
    )?;
    check_inherit(
        ctx,
        &default_value,
        &doc.scope.default_value_action,
        "scope.default_value_action",
    )?;
    let io = doc.io.map(|io| check_io(ctx, io)).transpose()?;
    let mut rules = Vec::with_capacity(doc.scope.rules.len());
    for (i, raw) in doc.scope.rules.into_iter().enumerate() {
        rules.push(check_rule(ctx, i, raw)?);
    }
    Ok(LoadedSource {
        meta,
        io,
        default_exec: default_exec.map_or(Default::Inherit, Default::Set),
        default_value: default_value.map_or(Default::Inherit, Default::Set),
        rules,
        default_exec_at: ctx.at(doc.scope.default_exec.span()),
        default_value_at: ctx.at(doc.scope.default_value_action.span()),
    })
}

/// `inherit` needs an earlier source. Every source sets both defaults or
/// inherits them, and the first cannot inherit, so only the first source of a
/// chain has nothing to inherit from. Checked here, before `[io]` and the
/// rules, in upstream's order.
fn check_inherit<T>(
    ctx: &SourceContext<'_>,
    token: &Option<T>,
    raw: &Spanned<String>,
    field: &str,
) -> Result<(), FilterError> {
    if token.is_some() || ctx.source_index > 0 {
        return Ok(());
    }
    let expected = if field == "scope.default_exec" {
        "trace or skip"
    } else {
        "allow, redact, drop or deny"
    };
    let kind = FilterErrorKind::InheritWithoutPrevious {
        field: field.into(),
        expected: expected.into(),
    };
    Err(ctx.error(kind, raw.span()))
}

/// The (rule, pattern) whose table holds byte `offset`, for errors that serde
/// reports with a span only (unknown or missing keys, wrong types). A table
/// written as `[[scope.rules]]` spans from its header to its last entry.
fn rule_at(text: &str, offset: usize) -> Option<(usize, Option<usize>)> {
    use toml::de::{DeTable, DeValue};
    use toml::Spanned;
    fn extent(value: &Spanned<DeValue<'_>>) -> Range<usize> {
        let mut range = value.span();
        let mut widen = |r: Range<usize>| {
            range.start = range.start.min(r.start);
            range.end = range.end.max(r.end);
        };
        match value.get_ref() {
            DeValue::Table(table) => table.iter().for_each(|(k, v)| {
                widen(k.span());
                widen(extent(v));
            }),
            DeValue::Array(items) => items.iter().for_each(|item| widen(extent(item))),
            _ => {}
        }
        range
    }
    fn position_in<'a, 'i>(
        array: Option<&'a Spanned<DeValue<'i>>>,
        offset: usize,
    ) -> Option<(usize, &'a Spanned<DeValue<'i>>)> {
        match array.map(Spanned::get_ref) {
            Some(DeValue::Array(items)) => items
                .iter()
                .enumerate()
                .find(|(_, item)| extent(item).contains(&offset)),
            _ => None,
        }
    }
    let doc = DeTable::parse(text).ok()?;
    let Some(DeValue::Table(scope)) = doc.get_ref().get("scope").map(Spanned::get_ref) else {
        return None;
    };
    let (rule, table) = position_in(scope.get("rules"), offset)?;
    let DeValue::Table(table) = table.get_ref() else {
        return Some((rule, None));
    };
    Some((
        rule,
        position_in(table.get("value_patterns"), offset).map(|(i, _)| i),
    ))
}

fn check_meta(ctx: &SourceContext<'_>, raw: RawMeta) -> Result<FilterMeta, FilterError> {
    if raw.name.get_ref().trim().is_empty() {
        return Err(ctx.error(FilterErrorKind::EmptyName, raw.name.span()));
    }
    let version = *raw.version.get_ref();
    if version < 1 {
        return Err(ctx.error(
            FilterErrorKind::VersionTooLow { found: version },
            raw.version.span(),
        ));
    }
    if version > MAX_SCHEMA_VERSION {
        let kind = FilterErrorKind::UnsupportedVersion {
            found: version,
            supported: MAX_SCHEMA_VERSION,
        };
        return Err(ctx.error(kind, raw.version.span()));
    }
    Ok(FilterMeta {
        name: raw.name.into_inner(),
        version,
        description: raw.description,
        labels: dedup(raw.labels),
    })
}

fn check_io(ctx: &SourceContext<'_>, raw: Spanned<RawIo>) -> Result<IoConfig, FilterError> {
    let span = raw.span();
    let raw = raw.into_inner();
    let mut streams = Vec::new();
    for stream in &raw.streams {
        if !IO_STREAMS.contains(&stream.get_ref().as_str()) {
            let kind = FilterErrorKind::InvalidToken {
                field: "io.streams".into(),
                found: stream.get_ref().clone(),
                expected: "stdout, stderr, stdin or files".into(),
            };
            return Err(ctx.error(kind, stream.span()));
        }
        streams.push(stream.get_ref().clone());
    }
    if raw.capture && streams.is_empty() {
        return Err(ctx.error(FilterErrorKind::MissingStreams, span));
    }
    if let Some(modes) = raw.modes.filter(|m| !m.get_ref().is_empty()) {
        return Err(ctx.error(FilterErrorKind::ReservedModes, modes.span()));
    }
    Ok(IoConfig {
        capture: raw.capture,
        streams: dedup(streams),
    })
}

fn check_rule(ctx: &SourceContext<'_>, i: usize, raw: RawRule) -> Result<Rule, FilterError> {
    let in_rule = |e: FilterError| e.in_rule(i, None);
    let selector = scope_selector(ctx, &raw.selector).map_err(in_rule)?;
    let exec = raw
        .exec
        .as_ref()
        .map(|t| exec_token(ctx, t, "exec"))
        .transpose()
        .map_err(in_rule)?
        .flatten();
    let value_default = raw
        .value_default
        .as_ref()
        .map(|t| action_token(ctx, t, "value_default", true))
        .transpose()
        .map_err(in_rule)?
        .flatten();
    let mut patterns = Vec::with_capacity(raw.value_patterns.len());
    for (j, pattern) in raw.value_patterns.into_iter().enumerate() {
        let in_pattern = |e: FilterError| e.in_rule(i, Some(j));
        let selector =
            parse_selector(ctx, &pattern.selector, SelectorContext::Value).map_err(in_pattern)?;
        let action = action_token(ctx, &pattern.action, "action", false)
            .map_err(in_pattern)?
            .unwrap_or(Action::Redact);
        patterns.push(ValuePattern {
            index: j,
            selector,
            action,
            reason: pattern.reason,
        });
    }
    Ok(Rule {
        index: ctx.first_rule_index + i,
        source: ctx.source_index,
        index_in_source: i,
        selector,
        exec,
        value_default,
        reason: raw.reason,
        patterns,
    })
}

fn parse_selector(
    ctx: &SourceContext<'_>,
    raw: &Spanned<String>,
    context: SelectorContext,
) -> Result<Selector, FilterError> {
    Selector::parse_with(raw.get_ref(), context, ctx.matchers)
        .map_err(|SelectorFailure { error, offset }| selector_error(ctx, raw, error, offset))
}

fn selector_error(
    ctx: &SourceContext<'_>,
    raw: &Spanned<String>,
    error: SelectorError,
    offset: usize,
) -> FilterError {
    let kind = FilterErrorKind::Selector {
        selector: raw.get_ref().clone(),
        error,
    };
    FilterError::new(ctx.path, kind).at(ctx.inside_string(raw.span(), raw.get_ref(), offset))
}

/// A scope selector; `file:` glob and literal patterns are normalised against
/// the source's project root (D3).
fn scope_selector(ctx: &SourceContext<'_>, raw: &Spanned<String>) -> Result<Selector, FilterError> {
    let selector = parse_selector(ctx, raw, SelectorContext::Scope)?;
    if selector.kind() != SelectorKind::File || selector.match_type() == MatchType::Regex {
        return Ok(selector);
    }
    let pattern_offset = raw.get_ref().len() - selector.pattern().len();
    let fail = |error| selector_error(ctx, raw, error, pattern_offset);
    let normalised =
        normalise_file_pattern(selector.pattern(), ctx.root, ctx.platform).map_err(fail)?;
    if normalised == selector.pattern() {
        return Ok(selector);
    }
    Selector::compile(
        raw.get_ref().clone(),
        SelectorKind::File,
        selector.match_type(),
        &normalised,
        ctx.matchers,
    )
    .map_err(fail)
}

/// Normalises a `file:` glob or literal pattern textually, in POSIX form:
/// strips `./`, resolves `..` inside the root, and strips the source's root
/// from an absolute pattern. Sources without a root keep absolute patterns.
pub(crate) fn normalise_file_pattern(
    pattern: &str,
    root: Option<&str>,
    platform: Platform,
) -> Result<String, SelectorError> {
    let escapes = |root: &str| SelectorError::EscapesRoot {
        pattern: pattern.to_string(),
        root: root.to_string(),
    };
    let normalised = if path::is_absolute(pattern, platform) {
        match root {
            Some(root) => {
                let below = path::strip_root(pattern, root, platform).ok_or_else(|| {
                    SelectorError::OutsideRoot {
                        pattern: pattern.to_string(),
                        root: root.to_string(),
                    }
                })?;
                path::resolve_dots(below).ok_or_else(|| escapes(root))?
            }
            None => {
                let prefix_len = pattern.len() - pattern.trim_start_matches('/').len();
                let (prefix, rest) = if prefix_len > 0 {
                    pattern.split_at(1)
                } else {
                    // A drive path such as `C:/x`.
                    pattern.split_at(pattern.find('/').map_or(pattern.len(), |i| i + 1))
                };
                let rest = path::resolve_dots(rest).ok_or_else(|| escapes(prefix))?;
                format!("{prefix}{rest}")
            }
        }
    } else {
        path::resolve_dots(pattern).ok_or_else(|| escapes(root.unwrap_or("/")))?
    };
    if normalised.is_empty() {
        return Err(SelectorError::EmptyPattern);
    }
    Ok(normalised)
}

fn exec_token(
    ctx: &SourceContext<'_>,
    token: &Spanned<String>,
    field: &str,
) -> Result<Option<Exec>, FilterError> {
    match token.get_ref().as_str() {
        "trace" => Ok(Some(Exec::Trace)),
        "skip" => Ok(Some(Exec::Skip)),
        "inherit" => Ok(None),
        other => Err(invalid_token(
            ctx,
            token,
            field,
            other,
            "trace, skip or inherit",
        )),
    }
}

fn action_token(
    ctx: &SourceContext<'_>,
    token: &Spanned<String>,
    field: &str,
    allow_inherit: bool,
) -> Result<Option<Action>, FilterError> {
    match token.get_ref().as_str() {
        "allow" => Ok(Some(Action::Allow)),
        "redact" | "deny" => Ok(Some(Action::Redact)),
        "drop" => Ok(Some(Action::Drop)),
        "inherit" if allow_inherit => Ok(None),
        other => {
            let expected = if allow_inherit {
                "allow, redact, drop, deny or inherit"
            } else {
                "allow, redact, drop or deny"
            };
            Err(invalid_token(ctx, token, field, other, expected))
        }
    }
}

fn invalid_token(
    ctx: &SourceContext<'_>,
    token: &Spanned<String>,
    field: &str,
    found: &str,
    expected: &str,
) -> FilterError {
    let kind = FilterErrorKind::InvalidToken {
        field: field.into(),
        found: found.into(),
        expected: expected.into(),
    };
    ctx.error(kind, token.span())
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = Vec::with_capacity(items.len());
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inherit_in_the_first_source_is_reported_before_io_and_rules() {
        let text = "[meta]\nname = \"n\"\nversion = 1\n[scope]\n\
                    default_exec = \"trace\"\ndefault_value_action = \"inherit\"\n\
                    [io]\ncapture = true\n[[scope.rules]]\nselector = \"bogus\"\n";
        let matchers = MatcherCache::default();
        let ctx = |source_index| SourceContext {
            path: "f.toml",
            text,
            root: None,
            platform: Platform::Posix,
            source_index,
            first_rule_index: 0,
            matchers: &matchers,
        };
        let Err(e) = load_source(&ctx(0)) else {
            panic!("inherit in a first source loaded");
        };
        assert!(
            matches!(&*e.kind, FilterErrorKind::InheritWithoutPrevious { field, .. }
                if field == "scope.default_value_action"),
            "{e}"
        );
        assert_eq!(
            e.location,
            Some(Location {
                line: 6,
                column: 24
            })
        );
        let Err(e) = load_source(&ctx(1)) else {
            panic!("capture without streams loaded");
        };
        assert_eq!(*e.kind, FilterErrorKind::MissingStreams, "{e}");
    }

    #[test]
    fn schema_errors_name_their_rule_and_pattern() {
        let text = "[meta]\nname = 't'\nversion = 1\n[scope]\ndefault_exec = 'trace'\ndefault_value_action = 'allow'\n\
            [[scope.rules]]\nselector = 'pkg:a'\n[[scope.rules]]\nselector = 'pkg:b'\n\
            [[scope.rules.value_patterns]]\nselector = 'arg:x'\naction = 'drop'\n\
            [[scope.rules.value_patterns]]\nselector = 'arg:y'\nextra = 1\n[[scope.rules]]\nexec = 'skip'\n";
        let offset_of = |needle: &str| text.find(needle).unwrap();
        assert_eq!(rule_at(text, offset_of("extra")), Some((1, Some(1))));
        assert_eq!(rule_at(text, offset_of("'pkg:a'")), Some((0, None)));
        assert_eq!(rule_at(text, offset_of("exec = 'skip'")), Some((2, None)));
        assert_eq!(rule_at(text, offset_of("version")), None);
        assert_eq!(rule_at("not toml [", 3), None);
    }

    #[test]
    fn file_patterns_are_normalised_textually() {
        let p = Platform::Posix;
        let n = |pat, root| normalise_file_pattern(pat, root, p);
        assert_eq!(n("./src/../app/foo.py", Some("/R")).unwrap(), "app/foo.py");
        assert_eq!(n("/R/app/*.py", Some("/R")).unwrap(), "app/*.py");
        assert_eq!(n("./**/x.py", Some("/R")).unwrap(), "**/x.py");
        assert_eq!(n("src/**/", Some("/R")).unwrap(), "src/**");
        assert_eq!(n("glob:lib/*.py", Some("/R")).unwrap(), "glob:lib/*.py");
        assert_eq!(n("/usr/lib/x.py", None).unwrap(), "/usr/lib/x.py");
        assert_eq!(n("/usr//lib/./x.py", None).unwrap(), "/usr/lib/x.py");
        assert!(matches!(
            n("../x.py", Some("/R")),
            Err(SelectorError::EscapesRoot { .. })
        ));
        assert!(matches!(
            n("/elsewhere/x.py", Some("/R")),
            Err(SelectorError::OutsideRoot { .. })
        ));
        assert!(matches!(
            n("/Rx/a.py", Some("/R")),
            Err(SelectorError::OutsideRoot { .. })
        ));
        assert!(matches!(
            n("/R", Some("/R")),
            Err(SelectorError::EmptyPattern)
        ));
        assert_eq!(
            normalise_file_pattern("c:/Proj/a/*.py", Some("C:/proj"), Platform::Windows).unwrap(),
            "a/*.py"
        );
        assert_eq!(
            normalise_file_pattern("C:/x/../y.py", None, Platform::Windows).unwrap(),
            "C:/y.py"
        );
    }
}
