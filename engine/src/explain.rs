//! `explain(chain, scope, values) -> Decision`: the one question every
//! consumer asks the engine (spec section 5).
//!
//! # JSON shape
//!
//! A [`Decision`] serialises (with serde, e.g. `serde_json`) to this stable
//! shape, which `tracesieve explain --json` prints and the browser receives:
//!
//! ```json
//! {
//!   "filename": "/proj/app/main.py",     // co_filename as given
//!   "qualname": "main",
//!   "label": "main",                      // `<pkg.mod>` for module bodies (D8)
//!   "exec": "trace",                      // or "skip", what the filter says
//!   "synthetic": false,                   // true for `<string>`-like filenames
//!   "recorded": true,                     // exec is trace and the file is real
//!   "exec_set_by": { "source": 0, "path": "<inline:builtin-default>", "rule": null },
//!   "matched_rule": { "index": 6, "source": 0, "path": "<inline:builtin-default>",
//!                     "index_in_source": 6, "selector": "file:glob:**", "reason": "…" },
//!   "matched_rules": [6],                 // every matching rule, chain order
//!   "value_default": "allow",
//!   "value_default_set_by": { "source": 0, "path": "…", "rule": null },
//!   "module_name": "app.main",            // null when unknown
//!   "module_name_source": "`__name__`",   // or "sys.path root /x", "sys.modules entry y",
//!                                         // "project marker at /z", "parent directory", …
//!   "object_name": "app.main.main",       // module.qualname
//!   "absolute_path": "/proj/app/main.py", // POSIX form
//!   "relative_path": "app/main.py",       // below the deepest filter project root, if any
//!   "project_root": "/proj",
//!   "values": [
//!     { "kind": "local", "name": "password", "action": "redact",
//!       "why": "pattern",                 // "pattern" | "default" | "stricter_default"
//!                                         // | "module_level" (a module body's local
//!                                         // whose stricter `global` action applies;
//!                                         // "pattern" is then the global one)
//!       "pattern": { "rule": { …as matched_rule… }, "index": 0,
//!                    "selector": "local:regex:…", "action": "redact", "reason": "…" } }
//!   ]
//! }
//! ```
//!
//! `rule` in a `*_set_by` object is null when a chain-level default decided.

use crate::filter::{Action, Exec, FilterChain, Rule, SelectorKind, ValuePattern};
use crate::identity::{self, ModuleIdentity, NameReason};
use crate::path::{self, Platform};
use serde::{Deserialize, Serialize, Serializer};
use std::borrow::Cow;

/// The kind of a value a pattern can decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    /// A call argument (or `exception` thrown into a generator).
    Arg,
    /// A local variable.
    Local,
    /// A global seen from a function.
    Global,
    /// A return, yield or unwind value.
    Ret,
    /// An attribute of an encoded object (D6).
    Attr,
}

impl ValueKind {
    /// Every kind, in the order statistics list them.
    pub const ALL: [ValueKind; 5] = [
        ValueKind::Arg,
        ValueKind::Local,
        ValueKind::Global,
        ValueKind::Ret,
        ValueKind::Attr,
    ];

    fn selector_kind(self) -> SelectorKind {
        match self {
            ValueKind::Arg => SelectorKind::Arg,
            ValueKind::Local => SelectorKind::Local,
            ValueKind::Global => SelectorKind::Global,
            ValueKind::Ret => SelectorKind::Ret,
            ValueKind::Attr => SelectorKind::Attr,
        }
    }

    /// Parses `arg`, `local`, `global`, `ret` or `attr`.
    pub fn from_token(token: &str) -> Option<ValueKind> {
        ValueKind::ALL
            .into_iter()
            .find(|k| k.selector_kind().token() == token)
    }

    /// The token as written in a selector.
    pub fn token(self) -> &'static str {
        self.selector_kind().token()
    }
}

/// A value to decide: its kind and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ValueQuery {
    /// The kind.
    pub kind: ValueKind,
    /// The variable, parameter, attribute or object name.
    pub name: String,
}

impl std::str::FromStr for ValueQuery {
    type Err = String;

    /// Parses `KIND:NAME`, as `tracesieve explain --value` takes it.
    fn from_str(text: &str) -> Result<ValueQuery, String> {
        let (kind, name) = text
            .split_once(':')
            .ok_or_else(|| format!("'{text}' is not KIND:NAME"))?;
        let kind = ValueKind::from_token(kind).ok_or_else(|| {
            format!("unknown value kind '{kind}' (expected arg, local, global, ret or attr)")
        })?;
        Ok(ValueQuery {
            kind,
            name: name.to_string(),
        })
    }
}

/// A code object described by what the recorder sees of it (`__name__` and,
/// for the `paths` mode, the import-state snapshot): the input of
/// `tracesieve explain` and of engine-wasm's `explain`. JSON keys are
/// camelCase (`firstLine`, `moduleNames`, `sysPath`); all but `filename` and
/// `qualname` may be left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct ScopeQuery {
    /// `co_filename`.
    pub filename: String,
    /// `co_qualname`.
    pub qualname: String,
    /// `__name__` in the code's globals at its first start.
    pub module: Option<String>,
    /// `co_firstlineno`.
    pub first_line: Option<u32>,
    /// How the module is named.
    pub module_names: identity::NamingMode,
    /// `sys.path` (the `paths` mode).
    pub sys_path: Vec<String>,
    /// The working directory (the `paths` mode).
    pub cwd: String,
    /// `sys.modules` files (the `paths` mode).
    pub modules: Vec<identity::ModuleFile>,
    /// Project-marker directories (the `paths` mode).
    pub markers: Vec<String>,
}

impl ScopeQuery {
    /// The scope, its module named under `module_names` with paths spelled
    /// for `platform` (the chain's).
    pub fn resolve(&self, platform: Platform) -> Scope {
        let inputs = identity::ResolverInputs {
            platform,
            cwd: self.cwd.clone(),
            sys_path: self.sys_path.clone(),
            modules: self.modules.clone(),
            markers: self.markers.clone(),
        };
        let module = identity::module_identity(
            self.module_names,
            self.module.as_deref(),
            &self.filename,
            &inputs,
        );
        Scope {
            filename: self.filename.clone(),
            qualname: self.qualname.clone(),
            module,
            first_line: self.first_line,
        }
    }
}

/// A code object to decide about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// `co_filename` exactly as the interpreter reports it.
    pub filename: String,
    /// `co_qualname`.
    pub qualname: String,
    /// The module's name and why (see [`crate::identity`]).
    pub module: ModuleIdentity,
    /// `co_firstlineno`, when known.
    pub first_line: Option<u32>,
}

impl Scope {
    /// A scope with an already chosen module identity.
    pub fn new(
        filename: impl Into<String>,
        qualname: impl Into<String>,
        module: ModuleIdentity,
    ) -> Scope {
        Scope {
            filename: filename.into(),
            qualname: qualname.into(),
            module,
            first_line: None,
        }
    }
}

/// The JSON form of a scope: `module_name` is the `__name__` the recorder saw
/// and is validated as in the `globals` mode.
#[derive(Deserialize)]
struct ScopeJson {
    filename: String,
    qualname: String,
    #[serde(default)]
    module_name: Option<String>,
    #[serde(default)]
    first_line: Option<u32>,
}

impl<'de> Deserialize<'de> for Scope {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Scope, D::Error> {
        let json = ScopeJson::deserialize(deserializer)?;
        Ok(Scope {
            module: identity::from_dunder_name(json.module_name.as_deref()),
            filename: json.filename,
            qualname: json.qualname,
            first_line: json.first_line,
        })
    }
}

/// Why a value got its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueWhy {
    /// No pattern matched; the value default applies.
    Default,
    /// A pattern decided.
    Pattern,
    /// A pattern matched, but a later source's default is stricter (D1).
    StricterDefault,
    /// A local of a module body, where the locals are the globals: its
    /// `global` action is stricter than its `local` one and applies (D7);
    /// the pattern, if any, is the `global` one.
    ModuleLevel,
}

/// The decision for one code object. Answers value questions too.
#[derive(Debug, Clone)]
pub struct Decision {
    chain: FilterChain,
    filename: String,
    qualname: String,
    module: ModuleIdentity,
    exec: Exec,
    exec_rule: Option<u32>,
    value_default: Action,
    value_default_rule: Option<u32>,
    matched: Vec<u32>,
    object_name: Option<String>,
    absolute_path: String,
    relative: Option<(String, usize)>,
    values: Vec<AskedValue>,
}

/// A value decided when the decision was made: the query, the action, why,
/// and the (rule, pattern) that matched.
#[derive(Debug, Clone)]
struct AskedValue {
    query: ValueQuery,
    action: Action,
    why: ValueWhy,
    pattern: Option<(u32, u32)>,
}

/// Decides `scope` under `chain`, and each of `values` in it.
pub fn explain(chain: &FilterChain, scope: &Scope, values: &[ValueQuery]) -> Decision {
    let platform = chain.platform();
    let absolute_path = path::to_posix(&scope.filename, platform);
    let module_name = scope.module.name.as_deref();
    let object_name = match (module_name, scope.qualname.is_empty()) {
        (Some(m), false) => Some(format!("{m}.{}", scope.qualname)),
        (Some(m), true) => Some(m.to_string()),
        (None, false) => Some(scope.qualname.clone()),
        (None, true) => None,
    };
    let relative_paths: Vec<Option<Cow<'_, str>>> = chain
        .sources()
        .iter()
        .map(|s| {
            s.project_root
                .as_deref()
                .and_then(|root| relative_to(&absolute_path, root, platform))
        })
        .collect();
    let (mut exec, _) = chain.default_exec();
    let (mut value_default, _) = chain.default_value();
    let (mut exec_rule, mut value_default_rule) = (None, None);
    let mut matched = Vec::new();
    for rule in chain.rules() {
        let candidate = match rule.selector.kind() {
            SelectorKind::Pkg => module_name,
            SelectorKind::Obj => object_name.as_deref(),
            _ => Some(
                relative_paths[rule.source]
                    .as_deref()
                    .unwrap_or(&absolute_path),
            ),
        };
        if !candidate.is_some_and(|c| rule.selector.is_match(c)) {
            continue;
        }
        let index = rule.index as u32;
        matched.push(index);
        if let Some(e) = rule.exec {
            exec = e;
            exec_rule = Some(index);
        }
        if let Some(v) = rule.value_default {
            value_default = v;
            value_default_rule = Some(index);
        }
    }
    let relative = deepest_relative(chain, &relative_paths);
    let mut decision = Decision {
        chain: chain.clone(),
        filename: scope.filename.clone(),
        qualname: scope.qualname.clone(),
        module: scope.module.clone(),
        exec,
        exec_rule,
        value_default,
        value_default_rule,
        matched,
        object_name,
        absolute_path: absolute_path.clone(),
        relative,
        values: Vec::new(),
    };
    let module_level = identity::is_module_body(&scope.qualname);
    decision.values = values
        .iter()
        .map(|q| {
            let (mut action, mut why, mut pattern) = decision.decide(q.kind, &q.name);
            if module_level && q.kind == ValueKind::Local {
                // D7: as the recorder and refilter decide a module body's locals.
                let (global, _, global_pattern) = decision.decide(ValueKind::Global, &q.name);
                if global > action {
                    (action, why, pattern) = (global, ValueWhy::ModuleLevel, global_pattern);
                }
            }
            AskedValue {
                query: q.clone(),
                action,
                why,
                pattern,
            }
        })
        .collect();
    decision
}

/// `absolute` below `root`, with `..` resolved; `None` when not below it or equal to it.
fn relative_to<'a>(absolute: &'a str, root: &str, platform: Platform) -> Option<Cow<'a, str>> {
    let below = path::strip_root(absolute, root, platform).filter(|b| !b.is_empty())?;
    if below.split('/').any(|p| p == "..") {
        path::resolve_dots(below)
            .filter(|b| !b.is_empty())
            .map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(below))
    }
}

/// The path below the deepest root containing the file, with that source's index.
fn deepest_relative(
    chain: &FilterChain,
    relative_paths: &[Option<Cow<'_, str>>],
) -> Option<(String, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for (i, rel) in relative_paths.iter().enumerate() {
        let root_len = chain.sources()[i]
            .project_root
            .as_deref()
            .map_or(0, str::len);
        if rel.is_some() && best.is_none_or(|(_, len)| root_len > len) {
            best = Some((i, root_len));
        }
    }
    best.and_then(|(i, _)| relative_paths[i].as_ref().map(|r| (r.to_string(), i)))
}

impl Decision {
    /// Trace or skip.
    pub fn exec(&self) -> Exec {
        self.exec
    }

    /// Whether the filename is synthetic (`<string>`): such code is never recorded.
    pub fn is_synthetic(&self) -> bool {
        path::is_synthetic_filename(&self.filename)
    }

    /// Whether the recorder records this code: the filter traces it and its
    /// file is real.
    pub fn is_recorded(&self) -> bool {
        self.exec == Exec::Trace && !self.is_synthetic()
    }

    /// The module identity the decision used.
    pub fn module(&self) -> &ModuleIdentity {
        &self.module
    }

    /// The display label: `<pkg.mod>` for module bodies, else the qualname (D8).
    pub fn label(&self) -> String {
        identity::label(&self.qualname, self.module.name.as_deref())
    }

    /// The object name (`module.qualname`), if known.
    pub fn object_name(&self) -> Option<&str> {
        self.object_name.as_deref()
    }

    /// The name a return value is decided by: the object name, or `<return>`.
    pub fn return_name(&self) -> &str {
        self.object_name.as_deref().unwrap_or("<return>")
    }

    /// The value default in force for this scope.
    pub fn value_default(&self) -> Action {
        self.value_default
    }

    /// The chain rules that matched, in chain order.
    pub fn matched_rules(&self) -> impl Iterator<Item = &Rule> {
        self.matched
            .iter()
            .map(|&i| &self.chain.rules()[i as usize])
    }

    /// The action for a value `(kind, name)` in this scope (D1).
    pub fn action(&self, kind: ValueKind, name: &str) -> Action {
        self.decide(kind, name).0
    }

    /// The action a value pattern gives a dict key `(kind, key)` in this
    /// scope, or `None` when no pattern of that kind names it: a key is
    /// decided by patterns only, never by the value default, so an allowed
    /// dict keeps its entries unless a pattern names one.
    pub fn key_action(&self, kind: ValueKind, key: &str) -> Option<Action> {
        let (action, why, _) = self.decide(kind, key);
        (why != ValueWhy::Default).then_some(action)
    }

    /// The action for a name at module level, where locals are the globals:
    /// the stricter of its `local` and `global` actions (D7).
    pub fn module_level_action(&self, name: &str) -> Action {
        self.action(ValueKind::Local, name)
            .max(self.action(ValueKind::Global, name))
    }

    /// The values asked about when the decision was made.
    pub fn values(&self) -> impl Iterator<Item = (&ValueQuery, Action)> {
        self.values.iter().map(|v| (&v.query, v.action))
    }

    fn default_source(&self) -> usize {
        match self.value_default_rule {
            Some(rule) => self.chain.rules()[rule as usize].source,
            None => self.chain.default_value().1,
        }
    }

    /// D1: the first matching pattern of the kind, walking matched rules from
    /// the last; a pattern from a source before the default's source can only
    /// be tightened by that default.
    fn decide(&self, kind: ValueKind, name: &str) -> (Action, ValueWhy, Option<(u32, u32)>) {
        let wanted = kind.selector_kind();
        let rules = self.chain.rules();
        let found = self.matched.iter().rev().find_map(|&ri| {
            let rule = &rules[ri as usize];
            rule.patterns
                .iter()
                .find(|p| p.selector.kind() == wanted && p.selector.is_match(name))
                .map(|p| (rule, p))
        });
        let Some((rule, pattern)) = found else {
            return (self.value_default, ValueWhy::Default, None);
        };
        let at = Some((rule.index as u32, pattern.index as u32));
        if rule.source >= self.default_source() || pattern.action >= self.value_default {
            (pattern.action, ValueWhy::Pattern, at)
        } else {
            (self.value_default, ValueWhy::StricterDefault, at)
        }
    }

    fn rule_ref(&self, index: u32) -> RuleRef<'_> {
        let rule = &self.chain.rules()[index as usize];
        RuleRef {
            index: rule.index,
            source: rule.source,
            path: &self.chain.sources()[rule.source].path,
            index_in_source: rule.index_in_source,
            selector: rule.selector.as_str(),
            reason: rule.reason.as_deref(),
        }
    }

    fn set_by(&self, rule: Option<u32>, default_source: usize) -> SetBy<'_> {
        let source = rule.map_or(default_source, |r| self.chain.rules()[r as usize].source);
        SetBy {
            source,
            path: &self.chain.sources()[source].path,
            rule: rule.map(|r| self.rule_ref(r)),
        }
    }

    fn pattern_ref(&self, rule: u32, pattern: u32) -> PatternRef<'_> {
        let p: &ValuePattern = &self.chain.rules()[rule as usize].patterns[pattern as usize];
        PatternRef {
            rule: self.rule_ref(rule),
            index: p.index,
            selector: p.selector.as_str(),
            action: p.action,
            reason: p.reason.as_deref(),
        }
    }

    /// Explains one value, as in the `values` of the JSON form.
    pub fn explain_value(&self, kind: ValueKind, name: &str) -> serde_json::Value {
        let (action, why, at) = self.decide(kind, name);
        serde_json::to_value(self.value_view(kind, name, action, why, at)).unwrap_or_default()
    }

    fn value_view<'a>(
        &'a self,
        kind: ValueKind,
        name: &'a str,
        action: Action,
        why: ValueWhy,
        at: Option<(u32, u32)>,
    ) -> ValueView<'a> {
        ValueView {
            kind,
            name,
            action,
            why,
            pattern: at.map(|(r, p)| self.pattern_ref(r, p)),
        }
    }
}

#[derive(Serialize)]
struct RuleRef<'a> {
    index: usize,
    source: usize,
    path: &'a str,
    index_in_source: usize,
    selector: &'a str,
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct SetBy<'a> {
    source: usize,
    path: &'a str,
    rule: Option<RuleRef<'a>>,
}

#[derive(Serialize)]
struct PatternRef<'a> {
    rule: RuleRef<'a>,
    index: usize,
    selector: &'a str,
    action: Action,
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct ValueView<'a> {
    kind: ValueKind,
    name: &'a str,
    action: Action,
    why: ValueWhy,
    pattern: Option<PatternRef<'a>>,
}

#[derive(Serialize)]
struct DecisionView<'a> {
    filename: &'a str,
    qualname: &'a str,
    label: String,
    exec: Exec,
    synthetic: bool,
    recorded: bool,
    exec_set_by: SetBy<'a>,
    matched_rule: Option<RuleRef<'a>>,
    matched_rules: &'a [u32],
    value_default: Action,
    value_default_set_by: SetBy<'a>,
    module_name: Option<&'a str>,
    module_name_source: &'a NameReason,
    object_name: Option<&'a str>,
    absolute_path: &'a str,
    relative_path: Option<&'a str>,
    project_root: Option<&'a str>,
    values: Vec<ValueView<'a>>,
}

impl Serialize for Decision {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let relative = self.relative.as_ref();
        DecisionView {
            filename: &self.filename,
            qualname: &self.qualname,
            label: self.label(),
            exec: self.exec,
            synthetic: self.is_synthetic(),
            recorded: self.is_recorded(),
            exec_set_by: self.set_by(self.exec_rule, self.chain.default_exec().1),
            matched_rule: self.matched.last().map(|&r| self.rule_ref(r)),
            matched_rules: &self.matched,
            value_default: self.value_default,
            value_default_set_by: self
                .set_by(self.value_default_rule, self.chain.default_value().1),
            module_name: self.module.name.as_deref(),
            module_name_source: &self.module.reason,
            object_name: self.object_name.as_deref(),
            absolute_path: &self.absolute_path,
            relative_path: relative.map(|(r, _)| r.as_str()),
            project_root: relative
                .and_then(|(_, s)| self.chain.sources()[*s].project_root.as_deref()),
            values: self
                .values
                .iter()
                .map(|v| self.value_view(v.query.kind, &v.query.name, v.action, v.why, v.pattern))
                .collect(),
        }
        .serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_bodys_locals_take_the_stricter_of_local_and_global() {
        use crate::filter::FilterSource;
        let text = "[meta]\nname = 'd7'\nversion = 1\n[scope]\ndefault_exec = 'trace'\ndefault_value_action = 'allow'\n\
            [[scope.rules]]\nselector = 'file:glob:**'\n\
            [[scope.rules.value_patterns]]\nselector = 'global:config'\naction = 'drop'\n\
            [[scope.rules.value_patterns]]\nselector = 'local:config'\naction = 'allow'\n";
        let chain = FilterChain::load(&[FilterSource::file("/p/f.toml", text)], Platform::Posix)
            .expect("loads");
        let asked = [
            "local:config".parse().unwrap(),
            "local:other".parse().unwrap(),
        ];
        let at = |qualname: &str| {
            let scope = Scope::new(
                "/p/app.py",
                qualname,
                identity::from_dunder_name(Some("app")),
            );
            let decision = explain(&chain, &scope, &asked);
            decision
                .values
                .iter()
                .map(|v| (v.action, v.why))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            at("<module>"),
            [
                (Action::Drop, ValueWhy::ModuleLevel),
                (Action::Allow, ValueWhy::Default)
            ]
        );
        assert_eq!(
            at("main"),
            [
                (Action::Allow, ValueWhy::Pattern),
                (Action::Allow, ValueWhy::Default)
            ]
        );
        let scope = Scope::new(
            "/p/app.py",
            "<module>",
            identity::from_dunder_name(Some("app")),
        );
        let json = serde_json::to_value(explain(&chain, &scope, &asked)).expect("serialises");
        assert_eq!(json["values"][0]["why"], "module_level");
        assert_eq!(json["values"][0]["pattern"]["selector"], "global:config");
    }

    #[test]
    fn value_queries_parse_kind_and_name() {
        let query: ValueQuery = "attr:token:x".parse().expect("parses");
        assert_eq!(
            (query.kind, query.name.as_str()),
            (ValueKind::Attr, "token:x")
        );
        assert!("password"
            .parse::<ValueQuery>()
            .unwrap_err()
            .contains("not KIND:NAME"));
        assert!("arg2:x".parse::<ValueQuery>().unwrap_err().contains("arg2"));
    }

    #[test]
    fn scope_queries_name_the_module_in_either_mode() {
        let mut query: ScopeQuery = serde_json::from_str(
            r#"{"filename": "/p/app/m.py", "qualname": "f", "module": "__main__",
                "sysPath": ["/p"], "firstLine": 3}"#,
        )
        .expect("valid JSON");
        let globals = query.resolve(Platform::Posix);
        assert_eq!(globals.module.name.as_deref(), Some("__main__"));
        assert_eq!(globals.first_line, Some(3));
        query.module_names = identity::NamingMode::Paths;
        let paths = query.resolve(Platform::Posix);
        assert_eq!(paths.module.name.as_deref(), Some("app.m"));
        assert!(serde_json::from_str::<ScopeQuery>(r#"{"file": "x"}"#).is_err());
    }
}
