//! Helpers for the table-driven vector tests: filter texts, module naming,
//! and a failure list in which every entry names its vector.

use serde_json::Value;
use std::fmt::Debug;
use tracesieve_engine::{
    from_dunder_name, from_paths, Decision, FilterChain, FilterError, FilterSource, ModuleIdentity,
    Platform, ResolverInputs,
};

/// Failures collected over a whole table, so that one run reports every
/// failing vector, each prefixed with its id.
#[derive(Default)]
pub struct Failures {
    section: &'static str,
    failures: Vec<String>,
}

impl Failures {
    pub fn new(section: &'static str) -> Failures {
        Failures {
            section,
            failures: Vec::new(),
        }
    }

    /// Records a failure of vector `id`.
    pub fn fail(&mut self, id: &str, message: impl Into<String>) {
        self.failures.push(format!("{id}: {}", message.into()));
    }

    /// How many failures so far.
    pub fn count(&self) -> usize {
        self.failures.len()
    }

    /// Records a failure of `id` unless `ok`.
    pub fn check(&mut self, id: &str, ok: bool, message: impl FnOnce() -> String) {
        if !ok {
            self.fail(id, message());
        }
    }

    /// Records a failure of `id` unless `actual == expected`.
    pub fn eq<T: PartialEq + Debug>(&mut self, id: &str, what: &str, actual: T, expected: T) {
        if actual != expected {
            self.fail(id, format!("{what}: expected {expected:?}, got {actual:?}"));
        }
    }

    /// Records a failure of `id` when `result` is an error.
    pub fn result(&mut self, id: &str, result: Result<(), String>) {
        if let Err(message) = result {
            self.fail(id, message);
        }
    }

    /// Panics with every failure, if there were any.
    pub fn finish(self) {
        assert!(
            self.failures.is_empty(),
            "{} vector(s) failed in section {}:\n  {}",
            self.failures.len(),
            self.section,
            self.failures.join("\n  ")
        );
    }
}

/// `Err` with a message unless `actual == expected`.
pub fn expect_eq<T: PartialEq + Debug>(what: &str, actual: T, expected: T) -> Result<(), String> {
    if actual == expected {
        Ok(())
    } else {
        Err(format!("{what}: expected {expected:?}, got {actual:?}"))
    }
}

/// The `[meta]` table every test filter uses unless it tests `[meta]` itself.
pub fn meta(name: &str) -> String {
    format!("[meta]\nname = \"{name}\"\nversion = 1\n")
}

/// A whole filter document named `vector` with the two defaults and `rules`.
pub fn doc(default_exec: &str, default_value: &str, rules: &str) -> String {
    named_doc("vector", default_exec, default_value, rules)
}

/// A whole filter document with a chosen `meta.name`.
pub fn named_doc(name: &str, default_exec: &str, default_value: &str, rules: &str) -> String {
    format!(
        "{}\n[scope]\ndefault_exec = \"{default_exec}\"\ndefault_value_action = \"{default_value}\"\n\n{rules}",
        meta(name)
    )
}

/// One `[[scope.rules]]` entry; `extra` holds its other keys, one per line.
pub fn rule(selector: &str, extra: &str) -> String {
    format!("[[scope.rules]]\nselector = '{selector}'\n{extra}\n")
}

/// One `[[scope.rules.value_patterns]]` entry of the rule above it.
pub fn pattern(selector: &str, action: &str) -> String {
    format!("[[scope.rules.value_patterns]]\nselector = '{selector}'\naction = \"{action}\"\n")
}

/// Loads a POSIX chain or panics naming the vector.
pub fn load(id: &str, sources: &[FilterSource]) -> FilterChain {
    FilterChain::load(sources, Platform::Posix)
        .unwrap_or_else(|e| panic!("{id}: the chain should load, got {e}"))
}

/// Loads a POSIX chain that must fail, or panics naming the vector.
pub fn load_err(id: &str, sources: &[FilterSource]) -> FilterError {
    match FilterChain::load(sources, Platform::Posix) {
        Ok(_) => panic!("{id}: the chain should not load"),
        Err(e) => e,
    }
}

/// How a vector's module is named.
#[derive(Debug, Clone)]
pub enum Naming {
    /// `globals` mode with this `__name__` (the vector's hint).
    Dunder(Option<&'static str>),
    /// `paths` mode with these resolver inputs.
    Paths(ResolverInputs),
}

/// `globals` mode with `__name__ = hint` (`None`: no `__name__`).
pub fn dunder(hint: Option<&'static str>) -> Naming {
    Naming::Dunder(hint)
}

/// `paths` mode where these directories hold a project marker (a filter's
/// `.codetracer` directory is one).
pub fn markers(dirs: &[&str]) -> Naming {
    Naming::Paths(ResolverInputs {
        markers: dirs.iter().map(|d| d.to_string()).collect(),
        ..ResolverInputs::default()
    })
}

impl Naming {
    pub fn identity(&self, filename: &str) -> ModuleIdentity {
        match self {
            Naming::Dunder(hint) => from_dunder_name(*hint),
            Naming::Paths(inputs) => from_paths(filename, inputs),
        }
    }
}

/// Checks that every field of `expected` is in `actual` with the same value;
/// objects are compared recursively, anything else exactly (`null` must be `null`).
pub fn json_subset(f: &mut Failures, id: &str, at: &str, actual: &Value, expected: &Value) {
    match expected {
        Value::Object(fields) => {
            for (key, want) in fields {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                match actual.get(key) {
                    Some(got) if !want.is_object() || got.is_object() => {
                        json_subset(f, id, &path, got, want)
                    }
                    Some(got) => f.fail(id, format!("{path}: expected {want}, got {got}")),
                    None => f.fail(id, format!("{path}: missing from {actual}")),
                }
            }
        }
        _ => f.check(id, actual == expected, || {
            format!("{at}: expected {expected}, got {actual}")
        }),
    }
}

/// The value patterns that can decide values in this scope: under D1 every
/// matching rule's patterns stay in force (upstream's `npat` counted only the
/// last matching rule's).
pub fn patterns_in_force(decision: &Decision) -> usize {
    decision.matched_rules().map(|r| r.patterns.len()).sum()
}
