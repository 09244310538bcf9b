//! The actions a decision gives values, asked once per name: deciding a
//! name matches it against the chain's value patterns (globs and regexes),
//! which costs far more than looking the answer up. A re-filter asks the
//! same few names of the same code object millions of times.
//!
//! [`Ask`] is how [`super::policy`] asks: [`Fresh`] decides every time,
//! [`Remembered`] decides a name once and keeps the answer. Both give the
//! same actions ([`Site::action`], [`Decision::action`]), so the policy's
//! result does not depend on which one asks.

use super::policy::Site;
use crate::explain::{Decision, ValueKind};
use crate::filter::Action;
use rustc_hash::FxHashMap;

/// Names remembered per kind of site and decision; past it, further names
/// are decided each time. Bounds the memory a decision's answers take,
/// whatever names a (hostile) trace uses.
pub const MAX_REMEMBERED_NAMES: usize = 64;

/// How the policy asks a decision for actions.
pub(crate) trait Ask {
    /// The action for a value at `site`, as [`Site::action`] gives it.
    fn site(&mut self, decision: &Decision, site: Site<'_>) -> Option<(ValueKind, Action)>;
    /// The action for an attribute named `name` (`attr NAME`, D6).
    fn attr(&mut self, decision: &Decision, name: &str) -> Action;
}

/// Decides every time.
pub(crate) struct Fresh;

impl Ask for Fresh {
    fn site(&mut self, decision: &Decision, site: Site<'_>) -> Option<(ValueKind, Action)> {
        site.action(decision)
    }

    fn attr(&mut self, decision: &Decision, name: &str) -> Action {
        decision.action(ValueKind::Attr, name)
    }
}

/// The actions one decision gave, by kind of site and name. Use it with
/// one decision only: it does not know which decision it answers for.
#[derive(Debug, Default, Clone)]
pub struct Remembered {
    /// By [`ValueKind`] (`kind as usize`), then module-level locals (D7).
    names: [FxHashMap<Box<str>, Action>; 6],
}

/// Where module-level locals are remembered, after the five kinds.
const MODULE_LEVEL: usize = 5;

impl Remembered {
    /// `decide()`'s action for `name` in table `table`, remembered.
    fn get(&mut self, table: usize, name: &str, decide: impl FnOnce() -> Action) -> Action {
        let Some(names) = self.names.get_mut(table) else {
            return decide();
        };
        if let Some(&action) = names.get(name) {
            return action;
        }
        let action = decide();
        if names.len() < MAX_REMEMBERED_NAMES {
            names.insert(name.into(), action);
        }
        action
    }
}

impl Ask for Remembered {
    fn site(&mut self, decision: &Decision, site: Site<'_>) -> Option<(ValueKind, Action)> {
        let (kind, name) = site.query(decision)?;
        let table = match site {
            Site::Local {
                module_level: true, ..
            } => MODULE_LEVEL,
            _ => kind as usize,
        };
        // `site.action` is `Some` whenever `site.query` is.
        let action = self.get(table, name, || {
            site.action(decision)
                .map_or(Action::Allow, |(_, action)| action)
        });
        Some((kind, action))
    }

    fn attr(&mut self, decision: &Decision, name: &str) -> Action {
        self.get(ValueKind::Attr as usize, name, || {
            decision.action(ValueKind::Attr, name)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{builtin, FilterChain, FilterSource};
    use crate::identity::from_dunder_name;
    use crate::path::Platform;
    use crate::{explain, Scope};

    fn decision() -> Decision {
        let mut sources = builtin::sources(None);
        let user = "[meta]\nname='u'\nversion=1\n[scope]\ndefault_exec='inherit'\ndefault_value_action='inherit'\n\
            [[scope.rules]]\nselector='pkg:app.*'\n\
            [[scope.rules.value_patterns]]\nselector='local:tmp*'\naction='drop'\n\
            [[scope.rules.value_patterns]]\nselector='global:g1'\naction='redact'\n\
            [[scope.rules.value_patterns]]\nselector='ret:literal:app.m.f'\naction='drop'\n\
            [[scope.rules.value_patterns]]\nselector='attr:internal'\naction='drop'\n";
        sources.push(FilterSource::file("/p/.codetracer/trace-filter.toml", user));
        let chain = FilterChain::load(&sources, Platform::Posix).expect("chain");
        explain(
            &chain,
            &Scope::new("/p/app/m.py", "f", from_dunder_name(Some("app.m"))),
            &[],
        )
    }

    #[test]
    fn remembered_actions_are_the_fresh_ones_past_the_bound_too() {
        let d = decision();
        let mut remembered = Remembered::default();
        let mut names: Vec<String> = ["password", "n", "tmp1", "g1", "internal", "token"]
            .map(String::from)
            .to_vec();
        names.extend((0..2 * MAX_REMEMBERED_NAMES).map(|i| format!("v{i}")));
        for _ in 0..2 {
            for name in &names {
                let sites = [
                    Site::Arg(name),
                    Site::Global(name),
                    Site::Local {
                        name,
                        module_level: false,
                    },
                    Site::Local {
                        name,
                        module_level: true,
                    },
                    Site::Return,
                    Site::Yield,
                    Site::Unwind,
                    Site::Raise,
                ];
                for site in sites {
                    assert_eq!(remembered.site(&d, site), Fresh.site(&d, site), "{site:?}");
                }
                assert_eq!(remembered.attr(&d, name), Fresh.attr(&d, name), "{name}");
            }
        }
        assert!(remembered
            .names
            .iter()
            .all(|names| names.len() <= MAX_REMEMBERED_NAMES));
        // The module-level rule (D7) is remembered apart from plain locals.
        let mut remembered = Remembered::default();
        let local = |module_level| Site::Local {
            name: "g1",
            module_level,
        };
        let local_action = Some((ValueKind::Local, Action::Allow));
        let module_action = Some((ValueKind::Local, Action::Redact));
        assert_eq!(remembered.site(&d, local(false)), local_action);
        assert_eq!(remembered.site(&d, local(true)), module_action);
        assert_eq!(remembered.site(&d, local(false)), local_action);
    }
}
