//! Re-filtering: applying another filter chain (and naming mode) to a trace
//! that is already recorded, with exactly the rules the recorder follows.
//!
//! # The parity contract
//!
//! For a program `P` and a filter chain `F`,
//! `refilter(record(P, permissive), F)` equals `record(P, F)` (timestamps
//! aside). Both sides follow these rules:
//!
//! * **Decisions.** Every code object is decided once by [`decide_codes`]:
//!   its module identity comes from [`module_identity`] under the naming
//!   mode, with the resolver inputs in force when the code was first seen
//!   ([`Trace::resolver_inputs`]); the scope is `{filename, qualname,
//!   module, first_line}`. A code whose decision is not
//!   [`Decision::is_recorded`] (skipped, or a synthetic file) is not
//!   recorded.
//! * **Frames.** Per thread, a stack of frames follows the input events:
//!   `call`, `resume` and `throw` push their code; `return`, `yield` and
//!   `unwind` pop; `line` and `raise` belong to the frame on top. Every event
//!   of a frame whose code is not recorded disappears; the events of the
//!   frames it calls stay (a skip removes one code object, not a subtree).
//! * **Codes.** The recorded codes keep their table order (first-seen order)
//!   and are renumbered from 0; events refer to the new numbers.
//! * **Values.** Each value goes through [`policy::slot`] once, at its site:
//!   call arguments as `arg NAME` (a dropped argument is left out); the
//!   exception thrown into a generator as `arg exception` (when dropped, the
//!   `throw` event keeps a [`Slot::Dropped`] marker because the event has no
//!   way to leave it out); line variables as `local` (with the D7 rule when
//!   the frame's code is a module body, qualname `<module>`) or `global`;
//!   returns, yields and unwinds as `ret` (a dropped one keeps its
//!   [`Slot::Dropped`] marker); raised exceptions have only their attributes
//!   decided.
//! * **Threads.** Threads are numbered from 0 in the order of their first
//!   recorded event, and a `thread_start` (with the thread's name and that
//!   event's time) is written immediately before it. Input `thread_start`
//!   events are not copied: they are regenerated.
//! * **Tables.** `sys_paths`, `modules` and `markers` are copied unchanged
//!   (the recorder snapshots them for every code object it sees, recorded or
//!   not). `sources` keeps one entry per file of a recorded code, in the
//!   order of the first recorded code of each file.
//! * **Header and trailer.** The header is the input's with `filters`
//!   replaced by the new chain and `naming` by the new mode. The trailer (if
//!   any) is the input's with its statistics replaced (see below).
//! * **Statistics** are cumulative, so that re-filtering with the chain a
//!   trace was recorded with changes nothing and re-filtering is idempotent:
//!   the input trailer's counts, plus the input codes whose decision is
//!   `exec = skip`, plus the redactions and drops [`policy::slot`] makes in
//!   this pass. Code with a synthetic filename is never in a trace, so the
//!   recorder does not count it as skipped either.
//!
//! # Where parity cannot hold
//!
//! Re-filtering only removes. Against `record(P, F)`, the result differs when
//! the input trace already lost something that `F` would have kept:
//!
//! * a scope skipped at record time cannot come back, nor can the events of
//!   a thread that ran only skipped code;
//! * a value recorded as redacted, dropped or absent stays so, even where
//!   `F` would allow it (or would drop a value the input only redacted: the
//!   `<redacted>` marker stays);
//! * values cut at the input's bounds stay cut; the input's value mode
//!   (`--values`) and `repr` setting are the output's;
//! * statistics include the input's counts: when the input was recorded with
//!   a filter that redacted or skipped something, those counts stay even
//!   when `F` would not have done it (or skips the scope they came from);
//!   the scopes skipped at record time were decided under the input's
//!   naming mode, and stay counted when re-filtering under the other one.
//!
//! Events that belong to no frame (a `line`, `raise` or exit with an empty
//! stack, as in a hostile or damaged trace) and events naming an unknown
//! code are left out: there is no decision to filter them with.
//!
//! `relabel` answers the viewer's naming-mode toggle without a chain.

use super::model::{
    CodeInfo, Event, FilterStats, Slot, SourceFile, Trace, TraceHeader, Trailer, Var,
};
use super::policy::{self, Site};
use crate::error::FilterError;
use crate::explain::{explain, Decision, Scope, ValueKind};
use crate::filter::{builtin, Exec, FilterChain, FilterSource, Framework};
use crate::identity::{self, module_identity, ModuleIdentity, NamingMode};
use crate::trace::model::RecordedFilter;
use rustc_hash::{FxHashMap, FxHashSet};

/// How module names are chosen when re-filtering or relabelling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Naming {
    /// `globals` or `paths`.
    pub mode: NamingMode,
    /// Extra `sys.path` roots tried before the recorded ones (`paths` mode
    /// only), e.g. a root the user adds in the viewer.
    pub extra_roots: Vec<String>,
}

impl Naming {
    /// A mode with no extra roots.
    pub fn new(mode: NamingMode) -> Naming {
        Naming {
            mode,
            extra_roots: Vec::new(),
        }
    }

    /// The naming the trace was recorded with.
    pub fn recorded(trace: &Trace) -> Naming {
        Naming::new(trace.header.naming)
    }
}

/// Which filters a re-filtering chain starts with, before the user's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainOptions {
    /// Start with the built-in default filter.
    pub builtin: bool,
    /// The framework filter that follows it.
    pub framework: Option<Framework>,
    /// Start with the trace's own recorded chain instead (then `builtin`
    /// and `framework` are not used).
    pub append: bool,
}

impl ChainOptions {
    /// The head the trace was recorded with: the built-in default, then the
    /// recorded framework filter; the user's filters replace the rest.
    pub fn recorded(trace: &Trace) -> ChainOptions {
        ChainOptions {
            builtin: true,
            framework: trace.header.framework,
            append: false,
        }
    }
}

/// The chain that re-filters `trace`: the head chosen by `options`, then
/// `user`, loaded for the platform the trace was recorded on.
pub fn chain_for(
    trace: &Trace,
    options: &ChainOptions,
    user: impl IntoIterator<Item = FilterSource>,
) -> Result<FilterChain, FilterError> {
    let mut sources: Vec<FilterSource> = if options.append {
        trace.header.filters.iter().map(|f| f.to_source()).collect()
    } else {
        builtin::head(options.builtin, options.framework)
    };
    sources.extend(user);
    FilterChain::load(&sources, trace.header.platform)
}

/// The module identity of every code of `trace` under `naming`, by code index.
pub fn identities(trace: &Trace, naming: &Naming) -> Vec<ModuleIdentity> {
    trace
        .codes
        .iter()
        .map(|code| code_identity(trace, code, naming))
        .collect()
}

fn code_identity(trace: &Trace, code: &CodeInfo, naming: &Naming) -> ModuleIdentity {
    // The globals mode never reads the resolver inputs: don't build them.
    let inputs = match naming.mode {
        NamingMode::Globals => Default::default(),
        NamingMode::Paths => trace.resolver_inputs(code, &naming.extra_roots),
    };
    module_identity(
        naming.mode,
        code.dunder_name.as_deref(),
        &code.filename,
        &inputs,
    )
}

/// One decision per code of `trace` (by code index), as the recorder would
/// make it under `chain` with `naming`.
pub fn decide_codes(trace: &Trace, chain: &FilterChain, naming: &Naming) -> Vec<Decision> {
    trace
        .codes
        .iter()
        .map(|code| {
            let scope = Scope {
                filename: code.filename.clone(),
                qualname: code.qualname.clone(),
                module: code_identity(trace, code, naming),
                first_line: Some(code.first_line),
            };
            explain(chain, &scope, &[])
        })
        .collect()
}

/// The result of [`refilter`].
#[derive(Debug, Clone, PartialEq)]
pub struct Refiltered {
    /// The re-filtered trace.
    pub trace: Trace,
    /// Its statistics: the input trailer's plus this pass's (the same as in
    /// the output trailer, which may be absent).
    pub stats: FilterStats,
    /// What this pass alone did: codes newly skipped, values newly redacted
    /// or dropped.
    pub added: FilterStats,
}

/// `trace` re-filtered with `chain` and `naming` (see the module docs for
/// the rules and for where parity with recording cannot hold).
pub fn refilter(trace: &Trace, chain: &FilterChain, naming: &Naming) -> Refiltered {
    let decisions = decide_codes(trace, chain, naming);
    let mut added = FilterStats {
        scopes_skipped: decisions.iter().filter(|d| d.exec() == Exec::Skip).count() as u64,
        ..FilterStats::default()
    };

    // Recorded codes, renumbered in table order.
    let mut new_ids: Vec<Option<u32>> = Vec::with_capacity(trace.codes.len());
    let mut codes = Vec::new();
    for (code, decision) in trace.codes.iter().zip(&decisions) {
        if decision.is_recorded() {
            new_ids.push(Some(codes.len() as u32));
            codes.push(CodeInfo {
                id: codes.len() as u32,
                ..code.clone()
            });
        } else {
            new_ids.push(None);
        }
    }
    let sources = kept_sources(&trace.sources, &codes);

    let mut names: FxHashMap<u32, &str> = FxHashMap::default();
    for event in &trace.events {
        if let Event::ThreadStart { thread, name, .. } = event {
            names.entry(*thread).or_insert(name);
        }
    }

    let mut out = Output {
        events: Vec::with_capacity(trace.events.len()),
        threads: FxHashMap::default(),
        names,
    };
    let mut stacks: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
    // The decision and new id of a frame's code, when it is recorded.
    let kept = |code: u32| -> Option<(&Decision, u32)> {
        let index = code as usize;
        let id = (*new_ids.get(index)?)?;
        Some((&decisions[index], id))
    };

    for event in &trace.events {
        match event {
            Event::ThreadStart { .. } => {}
            Event::Call {
                thread,
                t,
                code,
                args,
            } => {
                stacks.entry(*thread).or_default().push(*code);
                if let Some((decision, id)) = kept(*code) {
                    let args = kept_vars(args, |var| {
                        let value = policy::slot(
                            decision,
                            Site::Arg(&var.name),
                            var.value.clone(),
                            &mut added,
                        )?;
                        Some(Var {
                            kind: var.kind,
                            name: var.name.clone(),
                            value,
                        })
                    });
                    out.push(
                        *thread,
                        *t,
                        Event::Call {
                            thread: 0,
                            t: *t,
                            code: id,
                            args,
                        },
                    );
                }
            }
            Event::Resume { thread, t, code } => {
                stacks.entry(*thread).or_default().push(*code);
                if let Some((_, id)) = kept(*code) {
                    out.push(
                        *thread,
                        *t,
                        Event::Resume {
                            thread: 0,
                            t: *t,
                            code: id,
                        },
                    );
                }
            }
            Event::Throw {
                thread,
                t,
                code,
                exception,
            } => {
                stacks.entry(*thread).or_default().push(*code);
                if let Some((decision, id)) = kept(*code) {
                    let exception = policy::slot(
                        decision,
                        Site::Arg("exception"),
                        (**exception).clone(),
                        &mut added,
                    )
                    .unwrap_or(Slot::Dropped);
                    out.push(
                        *thread,
                        *t,
                        Event::Throw {
                            thread: 0,
                            t: *t,
                            code: id,
                            exception: Box::new(exception),
                        },
                    );
                }
            }
            Event::Line {
                thread,
                t,
                line,
                vars,
            } => {
                let top = stacks.get(thread).and_then(|s| s.last().copied());
                let Some((decision, id)) = top.and_then(kept) else {
                    continue;
                };
                let module_level = codes[id as usize].qualname == "<module>";
                let vars = kept_vars(vars, |var| {
                    let site = match var.kind {
                        ValueKind::Global => Site::Global(&var.name),
                        // `local`, and kinds a line never holds, are decided as locals.
                        _ => Site::Local {
                            name: &var.name,
                            module_level,
                        },
                    };
                    let value = policy::slot(decision, site, var.value.clone(), &mut added)?;
                    Some(Var {
                        kind: var.kind,
                        name: var.name.clone(),
                        value,
                    })
                });
                out.push(
                    *thread,
                    *t,
                    Event::Line {
                        thread: 0,
                        t: *t,
                        line: *line,
                        vars,
                    },
                );
            }
            Event::Return { thread, t, value }
            | Event::Yield { thread, t, value }
            | Event::Unwind { thread, t, value } => {
                let top = stacks.get_mut(thread).and_then(Vec::pop);
                let Some((decision, _)) = top.and_then(kept) else {
                    continue;
                };
                let site = match event {
                    Event::Return { .. } => Site::Return,
                    Event::Yield { .. } => Site::Yield,
                    _ => Site::Unwind,
                };
                let value = policy::slot(decision, site, value.clone(), &mut added)
                    .unwrap_or(Slot::Dropped);
                let (thread, t) = (*thread, *t);
                let event = match event {
                    Event::Return { .. } => Event::Return {
                        thread: 0,
                        t,
                        value,
                    },
                    Event::Yield { .. } => Event::Yield {
                        thread: 0,
                        t,
                        value,
                    },
                    _ => Event::Unwind {
                        thread: 0,
                        t,
                        value,
                    },
                };
                out.push(thread, t, event);
            }
            Event::Raise {
                thread,
                t,
                line,
                exception,
            } => {
                let top = stacks.get(thread).and_then(|s| s.last().copied());
                let Some((decision, _)) = top.and_then(kept) else {
                    continue;
                };
                let exception =
                    policy::slot(decision, Site::Raise, (**exception).clone(), &mut added)
                        .unwrap_or(Slot::Dropped);
                out.push(
                    *thread,
                    *t,
                    Event::Raise {
                        thread: 0,
                        t: *t,
                        line: *line,
                        exception: Box::new(exception),
                    },
                );
            }
        }
    }

    let before = trace
        .trailer
        .as_ref()
        .map(|t| t.stats.clone())
        .unwrap_or_default();
    let stats = sum(&before, &added);
    let header = TraceHeader {
        filters: RecordedFilter::from_chain(chain),
        naming: naming.mode,
        ..trace.header.clone()
    };
    let trailer = trace.trailer.as_ref().map(|t| Trailer {
        stats: stats.clone(),
        ..t.clone()
    });
    Refiltered {
        trace: Trace {
            header,
            codes,
            sys_paths: trace.sys_paths.clone(),
            modules: trace.modules.clone(),
            markers: trace.markers.clone(),
            sources,
            events: {
                let mut events = out.events;
                events.shrink_to_fit();
                events
            },
            trailer,
        },
        stats,
        added,
    }
}

/// The variables `decide` keeps, in order, in a vector of exactly their
/// number (a collected `filter_map` would reserve room for four).
fn kept_vars(vars: &[Var], decide: impl FnMut(&Var) -> Option<Var>) -> Vec<Var> {
    let mut kept = Vec::with_capacity(vars.len());
    kept.extend(vars.iter().filter_map(decide));
    kept.shrink_to_fit();
    kept
}

/// One source per file of a kept code, in the order of the first kept code of each file.
fn kept_sources(sources: &[SourceFile], codes: &[CodeInfo]) -> Vec<SourceFile> {
    let mut by_path: FxHashMap<&str, &SourceFile> = FxHashMap::default();
    for source in sources {
        by_path.entry(source.path.as_str()).or_insert(source);
    }
    let mut seen: FxHashSet<&str> = FxHashSet::default();
    codes
        .iter()
        .filter(|code| seen.insert(code.filename.as_str()))
        .filter_map(|code| by_path.get(code.filename.as_str()).map(|s| (*s).clone()))
        .collect()
}

fn sum(a: &FilterStats, b: &FilterStats) -> FilterStats {
    let mut out = a.clone();
    out.scopes_skipped = out.scopes_skipped.saturating_add(b.scopes_skipped);
    for i in 0..out.redacted.len() {
        out.redacted[i] = out.redacted[i].saturating_add(b.redacted[i]);
        out.dropped[i] = out.dropped[i].saturating_add(b.dropped[i]);
    }
    out
}

/// Output events with threads renumbered in the order of their first kept
/// event, each announced by a regenerated `thread_start`.
struct Output<'a> {
    events: Vec<Event>,
    threads: FxHashMap<u32, u32>,
    names: FxHashMap<u32, &'a str>,
}

impl Output<'_> {
    /// Appends `event` (whose `thread` is overwritten) for input thread `thread`.
    fn push(&mut self, thread: u32, t: u64, mut event: Event) {
        let next = self.threads.len() as u32;
        let number = *self.threads.entry(thread).or_insert_with(|| {
            self.events.push(Event::ThreadStart {
                thread: next,
                name: self
                    .names
                    .get(&thread)
                    .copied()
                    .unwrap_or_default()
                    .to_string(),
                t,
            });
            next
        });
        *event.thread_mut() = number;
        self.events.push(event);
    }
}

/// A code object's name under a naming mode, for the viewer's toggle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Relabel {
    /// The module's dotted name, if one was found.
    pub module_name: Option<String>,
    /// Why (the [`identity::NameReason`] display, e.g. "`__name__`" or
    /// "sys.path root /proj/src").
    pub reason: String,
    /// The display label: `<pkg.mod>` for module bodies, else the qualname (D8).
    pub label: String,
}

/// The module name, reason and label of every code of `trace` (by code
/// index) under `naming`. Needs no filter chain.
pub fn relabel(trace: &Trace, naming: &Naming) -> Vec<Relabel> {
    trace
        .codes
        .iter()
        .map(|code| {
            let id = code_identity(trace, code, naming);
            Relabel {
                label: identity::label(&code.qualname, id.name.as_deref()),
                reason: id.reason.to_string(),
                module_name: id.name,
            }
        })
        .collect()
}

/// A small builder of hand-made traces, for the tests of this module and of
/// the exports.
#[cfg(test)]
pub(crate) mod testkit {
    use crate::filter::{builtin, FilterChain, FilterSource};
    use crate::identity::NamingMode;
    use crate::path::Platform;
    use crate::trace::model::*;
    use crate::ValueKind;

    /// A chain that traces everything and allows every value.
    pub const PERMISSIVE: &str = "[meta]\nname='permissive'\nversion=1\n[scope]\ndefault_exec='trace'\ndefault_value_action='allow'\n";

    pub fn permissive() -> FilterChain {
        FilterChain::load(
            &[FilterSource::inline("permissive", PERMISSIVE)],
            Platform::Posix,
        )
        .unwrap()
    }

    /// The built-in chain followed by `user` as `/p/.codetracer/trace-filter.toml`.
    pub fn chain(user: &str) -> FilterChain {
        let mut sources = builtin::sources(None);
        sources.push(FilterSource::file("/p/.codetracer/trace-filter.toml", user));
        FilterChain::load(&sources, Platform::Posix).unwrap()
    }

    /// A user filter: `[meta]`, inheriting defaults, then `rules`.
    pub fn user(rules: &str) -> String {
        format!("[meta]\nname='u'\nversion=1\n[scope]\ndefault_exec='inherit'\ndefault_value_action='inherit'\n{rules}")
    }

    pub fn int(v: i64) -> Slot {
        Slot::Value {
            value: Value::Int { value: v },
        }
    }

    pub fn string(s: &str) -> Slot {
        Slot::Value {
            value: Value::Str {
                value: s.into(),
                length: s.len() as u64,
            },
        }
    }

    pub struct TraceBuilder {
        pub trace: Trace,
        /// The time of the last event; each event adds 1000 ns.
        pub clock: u64,
    }

    impl TraceBuilder {
        pub fn new() -> TraceBuilder {
            TraceBuilder {
                trace: Trace {
                    header: TraceHeader {
                        recorder: "tracesieve 0.1.0".into(),
                        python: "3.12.3".into(),
                        platform: Platform::Posix,
                        argv: vec!["/p/app/m.py".into(), "--flag".into()],
                        cwd: "/p".into(),
                        start_unix_ms: 1_767_225_600_000,
                        filters: RecordedFilter::from_chain(&permissive()),
                        framework: None,
                        naming: NamingMode::Globals,
                        values: ValuesMode::All,
                        bounds: ValueBounds::default(),
                        repr: false,
                    },
                    codes: Vec::new(),
                    sys_paths: vec![vec!["/p".into()]],
                    modules: Vec::new(),
                    markers: Vec::new(),
                    sources: Vec::new(),
                    events: Vec::new(),
                    trailer: None,
                },
                clock: 0,
            }
        }

        /// Records `chain` as the record-time chain.
        pub fn filters(&mut self, chain: &FilterChain) -> &mut Self {
            self.trace.header.filters = RecordedFilter::from_chain(chain);
            self
        }

        /// A new code, first seen with the resolver inputs as they are now.
        pub fn code(
            &mut self,
            filename: &str,
            qualname: &str,
            first_line: u32,
            dunder: Option<&str>,
        ) -> u32 {
            let t = &mut self.trace;
            let id = t.codes.len() as u32;
            t.codes.push(CodeInfo {
                id,
                filename: filename.into(),
                qualname: qualname.into(),
                first_line,
                dunder_name: dunder.map(str::to_string),
                inputs: InputsAt {
                    sys_path: t.sys_paths.len().saturating_sub(1) as u32,
                    modules: t.modules.len() as u32,
                    markers: t.markers.len() as u32,
                },
            });
            id
        }

        pub fn source(&mut self, path: &str, text: &str) {
            self.trace.sources.push(SourceFile {
                path: path.into(),
                text: Some(text.into()),
                omitted: None,
            });
        }

        fn tick(&mut self) -> u64 {
            self.clock += 1000;
            self.clock
        }

        fn push(&mut self, event: Event) {
            self.trace.events.push(event);
        }

        /// A thread start, at the time of the thread's next event (as the recorder writes it).
        pub fn thread(&mut self, thread: u32, name: &str) {
            let t = self.clock + 1000;
            self.push(Event::ThreadStart {
                thread,
                name: (*name).into(),
                t,
            });
        }

        pub fn call(&mut self, thread: u32, code: u32, args: &[(&str, Slot)]) {
            let t = self.tick();
            let args = args
                .iter()
                .map(|(name, value)| Var {
                    kind: ValueKind::Arg,
                    name: (*name).into(),
                    value: value.clone(),
                })
                .collect();
            self.push(Event::Call {
                thread,
                t,
                code,
                args,
            });
        }

        pub fn resume(&mut self, thread: u32, code: u32) {
            let t = self.tick();
            self.push(Event::Resume { thread, t, code });
        }

        pub fn throw(&mut self, thread: u32, code: u32, exception: Slot) {
            let t = self.tick();
            self.push(Event::Throw {
                thread,
                t,
                code,
                exception: Box::new(exception),
            });
        }

        pub fn line(&mut self, thread: u32, line: u32, vars: &[(ValueKind, &str, Slot)]) {
            let t = self.tick();
            let vars = vars
                .iter()
                .map(|(kind, name, value)| Var {
                    kind: *kind,
                    name: (*name).into(),
                    value: value.clone(),
                })
                .collect();
            self.push(Event::Line {
                thread,
                t,
                line,
                vars,
            });
        }

        pub fn ret(&mut self, thread: u32, value: Slot) {
            let t = self.tick();
            self.push(Event::Return { thread, t, value });
        }

        pub fn yield_(&mut self, thread: u32, value: Slot) {
            let t = self.tick();
            self.push(Event::Yield { thread, t, value });
        }

        pub fn unwind(&mut self, thread: u32, value: Slot) {
            let t = self.tick();
            self.push(Event::Unwind { thread, t, value });
        }

        pub fn raise(&mut self, thread: u32, line: u32, exception: Slot) {
            let t = self.tick();
            self.push(Event::Raise {
                thread,
                t,
                line,
                exception: Box::new(exception),
            });
        }

        /// The trace, with a trailer (exit status 0, given statistics).
        pub fn finish_with(&self, stats: FilterStats) -> Trace {
            let mut trace = self.trace.clone();
            trace.trailer = Some(Trailer {
                exit_status: Some(0),
                end_unix_ms: trace.header.start_unix_ms + self.clock / 1_000_000 + 1,
                stats,
                detached: None,
            });
            trace
        }

        /// The trace with a trailer and no statistics.
        pub fn finish(&self) -> Trace {
            self.finish_with(FilterStats::default())
        }

        /// The trace without a trailer, as when the recording was cut short.
        pub fn truncated(&self) -> Trace {
            self.trace.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testkit::*;
    use super::*;
    use crate::identity::ModuleFile;
    use crate::trace::model::{Attr, SequenceKind, Value};

    fn kinds(trace: &Trace) -> Vec<String> {
        trace
            .events
            .iter()
            .map(|e| {
                let (tag, code) = match e {
                    Event::ThreadStart { thread, name, .. } => {
                        return format!("start{thread}:{name}")
                    }
                    Event::Call { code, .. } => ("call", Some(*code)),
                    Event::Resume { code, .. } => ("resume", Some(*code)),
                    Event::Throw { code, .. } => ("throw", Some(*code)),
                    Event::Line { line, .. } => return format!("line{line}@{}", e.thread()),
                    Event::Return { .. } => ("return", None),
                    Event::Yield { .. } => ("yield", None),
                    Event::Unwind { .. } => ("unwind", None),
                    Event::Raise { line, .. } => return format!("raise{line}@{}", e.thread()),
                };
                match code {
                    Some(c) => format!("{tag}:{}@{}", trace.codes[c as usize].qualname, e.thread()),
                    None => format!("{tag}@{}", e.thread()),
                }
            })
            .collect()
    }

    fn skip(selector: &str) -> String {
        user(&format!(
            "[[scope.rules]]\nselector='{selector}'\nexec='skip'\n"
        ))
    }

    fn globals() -> Naming {
        Naming::new(NamingMode::Globals)
    }

    #[test]
    fn skipping_a_function_removes_its_frame_and_keeps_its_callees() {
        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        let g = b.code("/p/app/n.py", "g", 1, Some("app.n"));
        b.source("/p/app/m.py", "m");
        b.source("/p/app/n.py", "n");
        b.source("/p/other.py", "unused");
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        b.line(0, 1, &[]);
        b.call(0, f, &[("x", int(1))]);
        b.line(0, 4, &[(ValueKind::Local, "y", int(2))]);
        b.call(0, g, &[]);
        b.line(0, 2, &[]);
        b.ret(0, int(3));
        b.raise(0, 5, int(0));
        b.line(0, 5, &[]);
        b.unwind(0, int(0));
        b.line(0, 2, &[]);
        b.ret(0, Slot::Value { value: Value::None });
        let trace = b.finish();

        let out = refilter(&trace, &chain(&skip("obj:app.m.f")), &globals());
        assert_eq!(
            kinds(&out.trace),
            [
                "start0:MainThread",
                "call:<module>@0",
                "line1@0",
                "call:g@0",
                "line2@0",
                "return@0",
                "line2@0",
                "return@0"
            ]
        );
        let names: Vec<&str> = out
            .trace
            .codes
            .iter()
            .map(|c| c.qualname.as_str())
            .collect();
        assert_eq!(names, ["<module>", "g"]);
        assert_eq!(
            out.trace.codes.iter().map(|c| c.id).collect::<Vec<_>>(),
            [0, 1]
        );
        let sources: Vec<&str> = out.trace.sources.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(sources, ["/p/app/m.py", "/p/app/n.py"]);
        assert_eq!(out.stats.scopes_skipped, 1);
        assert_eq!(out.trace.trailer.as_ref().unwrap().stats, out.stats);
        assert_eq!(out.trace.header.filters.len(), 2, "builtin + user");
        assert_eq!(
            out.trace.header.filters[1].path,
            "/p/.codetracer/trace-filter.toml"
        );

        // Skipping the callee's whole file instead: `f` stays, `g` goes, and
        // the source of its file with it.
        let out = refilter(&trace, &chain(&skip("file:app/n.py")), &globals());
        let sources: Vec<&str> = out.trace.sources.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(sources, ["/p/app/m.py"]);
        assert_eq!(
            kinds(&out.trace),
            [
                "start0:MainThread",
                "call:<module>@0",
                "line1@0",
                "call:f@0",
                "line4@0",
                "raise5@0",
                "line5@0",
                "unwind@0",
                "line2@0",
                "return@0"
            ]
        );
    }

    #[test]
    fn sources_follow_the_first_kept_code_of_each_file() {
        let mut b = TraceBuilder::new();
        let a1 = b.code("/p/a.py", "a1", 1, Some("a"));
        let b1 = b.code("/p/b.py", "b1", 1, Some("b"));
        let a2 = b.code("/p/a.py", "a2", 5, Some("a"));
        b.source("/p/a.py", "A");
        b.source("/p/b.py", "B");
        b.thread(0, "MainThread");
        for code in [a1, b1, a2] {
            b.call(0, code, &[]);
            b.ret(0, int(0));
        }
        let out = refilter(&b.finish(), &chain(&skip("obj:a.a1")), &globals());
        let sources: Vec<&str> = out.trace.sources.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(sources, ["/p/b.py", "/p/a.py"]);
    }

    fn generator_trace() -> Trace {
        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let gen = b.code("/p/app/m.py", "gen", 3, Some("app.m"));
        let helper = b.code("/p/app/m.py", "helper", 9, Some("app.m"));
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        b.line(0, 1, &[]);
        b.call(0, gen, &[]);
        b.line(0, 4, &[]);
        b.yield_(0, int(1));
        b.line(0, 2, &[]);
        b.resume(0, gen);
        b.call(0, helper, &[]);
        b.line(0, 10, &[]);
        b.ret(0, int(5));
        b.line(0, 5, &[]);
        b.yield_(0, int(2));
        b.line(0, 3, &[]);
        b.throw(0, gen, string("stop"));
        b.raise(0, 5, string("stop"));
        b.unwind(0, string("stop"));
        b.line(0, 6, &[]);
        b.ret(0, Slot::Value { value: Value::None });
        b.finish()
    }

    #[test]
    fn generator_frames_follow_yield_resume_and_throw() {
        let trace = generator_trace();
        let out = refilter(&trace, &chain(&skip("obj:app.m.helper")), &globals());
        assert_eq!(
            kinds(&out.trace),
            [
                "start0:MainThread",
                "call:<module>@0",
                "line1@0",
                "call:gen@0",
                "line4@0",
                "yield@0",
                "line2@0",
                "resume:gen@0",
                "line5@0",
                "yield@0",
                "line3@0",
                "throw:gen@0",
                "raise5@0",
                "unwind@0",
                "line6@0",
                "return@0"
            ]
        );
        let out = refilter(&trace, &chain(&skip("obj:app.m.gen")), &globals());
        assert_eq!(
            kinds(&out.trace),
            [
                "start0:MainThread",
                "call:<module>@0",
                "line1@0",
                "line2@0",
                "call:helper@0",
                "line10@0",
                "return@0",
                "line3@0",
                "line6@0",
                "return@0"
            ]
        );
    }

    #[test]
    fn threads_are_renumbered_by_first_kept_event() {
        let mut b = TraceBuilder::new();
        let boot = b.code("/p/app/boot.py", "boot", 1, Some("app.boot"));
        let work = b.code("/p/app/w.py", "work", 1, Some("app.w"));
        let main = b.code("/p/app/m.py", "main", 1, Some("app.m"));
        b.thread(0, "MainThread");
        b.call(0, boot, &[]);
        b.thread(1, "idle");
        b.call(1, boot, &[]);
        b.thread(2, "worker");
        b.call(2, work, &[]);
        b.line(1, 2, &[]);
        b.ret(1, int(0));
        b.ret(0, int(0));
        b.call(0, main, &[]);
        b.ret(2, int(1));
        b.ret(0, int(2));
        let trace = b.finish();
        let out = refilter(&trace, &chain(&skip("obj:app.boot.boot")), &globals());
        assert_eq!(
            kinds(&out.trace),
            [
                "start0:worker",
                "call:work@0",
                "start1:MainThread",
                "call:main@1",
                "return@0",
                "return@1"
            ]
        );
        // The regenerated thread start takes the time of the first kept event.
        let (Event::ThreadStart { t: start, .. }, Event::Call { t: call, .. }) =
            (&out.trace.events[2], &out.trace.events[3])
        else {
            panic!("start then call");
        };
        assert_eq!(start, call);
        assert_eq!(out.stats.scopes_skipped, 1, "each code counted once");
    }

    const VALUES: &str = "[[scope.rules]]\nselector='pkg:app.*'\n\
        [[scope.rules.value_patterns]]\nselector='arg:bulky'\naction='drop'\n\
        [[scope.rules.value_patterns]]\nselector='local:tmp'\naction='drop'\n\
        [[scope.rules.value_patterns]]\nselector='local:hidden'\naction='redact'\n\
        [[scope.rules.value_patterns]]\nselector='global:CONFIG'\naction='drop'\n\
        [[scope.rules.value_patterns]]\nselector='arg:exception'\naction='redact'\n\
        [[scope.rules.value_patterns]]\nselector='ret:literal:app.m.f'\naction='drop'\n\
        [[scope.rules.value_patterns]]\nselector='ret:literal:<yield>'\naction='redact'\n\
        [[scope.rules.value_patterns]]\nselector='ret:literal:<unwind>'\naction='drop'\n\
        [[scope.rules.value_patterns]]\nselector='attr:internal'\naction='drop'\n";

    fn object(attrs: &[(&str, Slot)]) -> Slot {
        Slot::Value {
            value: Value::Object {
                type_name: "app.m.Box".into(),
                attrs: attrs
                    .iter()
                    .map(|(name, value)| Attr {
                        name: (*name).into(),
                        value: value.clone(),
                    })
                    .collect(),
                length: attrs.len() as u64,
            },
        }
    }

    fn value_trace() -> TraceBuilder {
        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        let gen = b.code("/p/app/m.py", "gen", 9, Some("app.m"));
        let boxed = object(&[("internal", int(1)), ("password", int(2)), ("ok", int(3))]);
        let nested = Slot::Value {
            value: Value::Dict {
                entries: vec![(
                    Value::Str {
                        value: "k".into(),
                        length: 1,
                    },
                    Value::Sequence {
                        kind: SequenceKind::List,
                        items: vec![match &boxed {
                            Slot::Value { value } => value.clone(),
                            _ => unreachable!(),
                        }],
                        length: 1,
                    },
                )],
                length: 1,
            },
        };
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        b.line(
            0,
            1,
            &[
                (ValueKind::Local, "CONFIG", int(1)),
                (ValueKind::Local, "tmp", int(2)),
                (ValueKind::Local, "hidden", int(3)),
                (ValueKind::Local, "kept", int(4)),
            ],
        );
        b.call(
            0,
            f,
            &[
                ("bulky", int(1)),
                ("password", string("hunter2")),
                ("n", nested),
            ],
        );
        b.line(
            0,
            4,
            &[
                (ValueKind::Global, "CONFIG", int(1)),
                (ValueKind::Local, "CONFIG", int(9)),
                (ValueKind::Local, "tmp", int(2)),
                (ValueKind::Local, "b", boxed),
            ],
        );
        b.ret(0, int(7));
        b.call(0, gen, &[]);
        b.yield_(0, int(1));
        b.throw(0, gen, string("boom"));
        b.raise(
            0,
            10,
            object(&[("internal", int(1)), ("token", int(2)), ("x", int(3))]),
        );
        b.unwind(0, string("boom"));
        b.ret(0, Slot::Value { value: Value::None });
        b
    }

    #[test]
    fn values_are_redacted_and_dropped_where_they_stand() {
        let trace = value_trace().finish();
        let out = refilter(&trace, &chain(&user(VALUES)), &globals());
        let ev = &out.trace.events;
        let Event::Line { vars, .. } = &ev[2] else {
            panic!("module line")
        };
        // Module level (D7): CONFIG dropped as a global, tmp dropped, hidden redacted.
        let got: Vec<(&str, &Slot)> = vars.iter().map(|v| (&*v.name, &v.value)).collect();
        assert_eq!(got, [("hidden", &Slot::Redacted), ("kept", &int(4))]);
        let Event::Call { args, .. } = &ev[3] else {
            panic!("call f")
        };
        assert_eq!(args.len(), 2, "bulky is left out");
        assert_eq!(&*args[0].name, "password");
        assert_eq!(args[0].value, Slot::Redacted, "built-in secret pattern");
        // Attributes are decided inside containers.
        let Slot::Value {
            value: Value::Dict { entries, .. },
        } = &args[1].value
        else {
            panic!("dict kept")
        };
        let Value::Sequence { items, .. } = &entries[0].1 else {
            panic!("list kept")
        };
        let Value::Object { attrs, length, .. } = &items[0] else {
            panic!("object kept")
        };
        assert_eq!(*length, 3);
        let attrs: Vec<(&str, &Slot)> = attrs.iter().map(|a| (&*a.name, &a.value)).collect();
        assert_eq!(attrs, [("password", &Slot::Redacted), ("ok", &int(3))]);
        // In a function: the global CONFIG is dropped, a local CONFIG is not.
        let Event::Line { vars, .. } = &ev[4] else {
            panic!("f line")
        };
        let names: Vec<(ValueKind, &str)> = vars.iter().map(|v| (v.kind, &*v.name)).collect();
        assert_eq!(
            names,
            [(ValueKind::Local, "CONFIG"), (ValueKind::Local, "b")]
        );
        assert_eq!(
            ev[5],
            Event::Return {
                thread: 0,
                t: ev[5].time(),
                value: Slot::Dropped
            }
        );
        assert!(matches!(
            &ev[7],
            Event::Yield {
                value: Slot::Redacted,
                ..
            }
        ));
        assert!(matches!(
            &ev[8],
            Event::Throw { exception, .. } if **exception == Slot::Redacted
        ));
        let Event::Raise { exception, .. } = &ev[9] else {
            panic!("raise keeps the exception")
        };
        let Slot::Value {
            value: Value::Object { attrs, .. },
        } = &**exception
        else {
            panic!("raise keeps the exception")
        };
        let names: Vec<&str> = attrs.iter().map(|a| &*a.name).collect();
        assert_eq!(names, ["token", "x"]);
        assert_eq!(attrs[0].value, Slot::Redacted);
        assert!(matches!(
            &ev[10],
            Event::Unwind {
                value: Slot::Dropped,
                ..
            }
        ));

        // arg, local, global, ret, attr
        assert_eq!(out.added.redacted, [2, 1, 0, 1, 3]);
        assert_eq!(out.added.dropped, [1, 3, 1, 2, 3]);
        assert_eq!(out.stats, out.added, "the input had no statistics");
    }

    #[test]
    fn a_dropped_thrown_exception_keeps_a_marker() {
        let trace = value_trace().finish();
        let rules = "[[scope.rules]]\nselector='pkg:app.*'\n\
            [[scope.rules.value_patterns]]\nselector='arg:exception'\naction='drop'\n";
        let out = refilter(&trace, &chain(&user(rules)), &globals());
        assert!(out.trace.events.iter().any(|e| matches!(
            e,
            Event::Throw { exception, .. } if **exception == Slot::Dropped
        )));
        assert_eq!(out.added.dropped[0], 1);
    }

    #[test]
    fn statistics_add_up_over_passes() {
        let before = FilterStats {
            scopes_skipped: 4,
            redacted: [1, 1, 1, 1, 1],
            dropped: [0, 0, 0, 0, 7],
        };
        let trace = value_trace().finish_with(before.clone());
        let out = refilter(&trace, &chain(&user(VALUES)), &globals());
        assert_eq!(out.stats.scopes_skipped, 4);
        assert_eq!(out.stats.redacted, [3, 2, 1, 2, 4]);
        assert_eq!(out.stats.dropped, [1, 3, 1, 2, 10]);
        assert_eq!(out.trace.trailer.unwrap().stats, out.stats);
        // Without a trailer, the statistics are this pass's.
        let out = refilter(
            &value_trace().truncated(),
            &chain(&user(VALUES)),
            &globals(),
        );
        assert!(out.trace.trailer.is_none());
        assert_eq!(out.stats, out.added);
    }

    #[test]
    fn refiltering_is_idempotent_and_the_record_chain_is_the_identity() {
        for (trace, rules) in [
            (value_trace().finish(), user(VALUES)),
            (generator_trace(), skip("obj:app.m.helper")),
            (generator_trace(), skip("obj:app.m.gen")),
        ] {
            let f = chain(&rules);
            let once = refilter(&trace, &f, &globals());
            let twice = refilter(&once.trace, &f, &globals());
            assert_eq!(twice.trace, once.trace);
            assert_eq!(twice.added, FilterStats::default());
            // `once` is a trace recorded with `f`: its own chain changes nothing.
            let recorded_chain = once.trace.header.chain().unwrap();
            let again = refilter(&once.trace, &recorded_chain, &Naming::recorded(&once.trace));
            assert_eq!(again.trace, once.trace);
        }
    }

    #[test]
    fn a_hand_recorded_trace_is_a_fixed_point_of_its_own_chain() {
        let f = chain(&user(VALUES));
        let mut b = TraceBuilder::new();
        b.filters(&f);
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let fun = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        b.source("/p/app/m.py", "...");
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        b.line(0, 1, &[(ValueKind::Local, "hidden", Slot::Redacted)]);
        b.call(0, fun, &[("password", Slot::Redacted), ("x", int(1))]);
        b.line(
            0,
            4,
            &[(ValueKind::Local, "b", object(&[("token", Slot::Redacted)]))],
        );
        b.ret(0, Slot::Dropped);
        b.ret(0, Slot::Value { value: Value::None });
        let trace = b.finish_with(FilterStats {
            scopes_skipped: 2,
            redacted: [1, 1, 0, 0, 1],
            dropped: [0, 1, 0, 1, 0],
        });
        let out = refilter(
            &trace,
            &trace.header.chain().unwrap(),
            &Naming::recorded(&trace),
        );
        assert_eq!(out.trace, trace);
    }

    /// Codes of a trace whose `sys.path` changed between the first sightings.
    fn paths_trace() -> Trace {
        let mut b = TraceBuilder::new();
        b.trace.sys_paths = vec![vec!["/p".into()]];
        let a = b.code("/p/src/app/m.py", "<module>", 1, Some("__main__"));
        b.trace.sys_paths.push(vec!["/p/src".into(), "/p".into()]);
        let n = b.code("/p/src/app/n.py", "<module>", 1, Some("__main__"));
        b.trace.markers.push("/q".into());
        b.trace.modules.push(ModuleFile {
            name: "lib.tool".into(),
            path: "/q/lib/tool.py".into(),
        });
        let tool = b.code("/q/lib/tool.py", "run", 1, Some("lib.tool"));
        let z = b.code("/r/z.py", "<module>", 1, Some("z"));
        // Entries found after `z.py`'s module body was first seen: only
        // codes first seen later resolve with them.
        b.trace.modules.push(ModuleFile {
            name: "late.name".into(),
            path: "/r/z.py".into(),
        });
        b.trace.markers.push("/r".into());
        let later = b.code("/r/z.py", "later", 5, Some("z"));
        b.thread(0, "MainThread");
        for code in [a, n, tool, z, later] {
            b.call(0, code, &[]);
            b.ret(0, int(0));
        }
        b.finish()
    }

    #[test]
    fn naming_modes_change_what_pkg_rules_match() {
        let trace = paths_trace();
        let f = chain(&skip("pkg:app.*"));
        // globals: every module body is `__main__`, nothing matches `app.*`.
        let out = refilter(&trace, &f, &globals());
        assert_eq!(out.trace.codes.len(), 5);
        assert_eq!(out.trace.header.naming, NamingMode::Globals);
        // paths: `m.py` was first seen with sys.path [/p] (src.app.m),
        // `n.py` after /p/src was added (app.n): only `n.py` is skipped.
        let paths = Naming::new(NamingMode::Paths);
        let out = refilter(&trace, &f, &paths);
        let files: Vec<&str> = out
            .trace
            .codes
            .iter()
            .map(|c| c.filename.as_str())
            .collect();
        assert_eq!(
            files,
            ["/p/src/app/m.py", "/q/lib/tool.py", "/r/z.py", "/r/z.py"]
        );
        assert_eq!(out.trace.header.naming, NamingMode::Paths);
        assert_eq!(out.stats.scopes_skipped, 1);
        // An extra root makes `m.py` `app.m` too.
        let extra = Naming {
            mode: NamingMode::Paths,
            extra_roots: vec!["/p/src".into()],
        };
        let out = refilter(&trace, &f, &extra);
        assert_eq!(out.trace.codes.len(), 3);

        let labels = relabel(&trace, &paths);
        let got: Vec<(Option<&str>, &str, &str)> = labels
            .iter()
            .map(|l| {
                (
                    l.module_name.as_deref(),
                    l.reason.as_str(),
                    l.label.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (Some("src.app.m"), "sys.path root /p", "<src.app.m>"),
                (Some("app.n"), "sys.path root /p/src", "<app.n>"),
                (Some("lib.tool"), "sys.modules entry lib.tool", "run"),
                (Some("z"), "parent directory", "<z>"),
                (Some("late.name"), "sys.modules entry late.name", "later"),
            ]
        );
        let labels = relabel(&trace, &globals());
        assert_eq!(labels[0].label, "<__main__>");
        assert_eq!(labels[0].reason, "`__name__`");
        assert_eq!(labels[3].module_name.as_deref(), Some("z"));
    }

    #[test]
    fn decisions_follow_the_code_table() {
        let trace = paths_trace();
        let f = chain(&skip("pkg:lib.*"));
        let d = decide_codes(&trace, &f, &Naming::new(NamingMode::Paths));
        assert_eq!(d.len(), 5);
        assert_eq!(
            d.iter().map(Decision::is_recorded).collect::<Vec<_>>(),
            [true, true, false, true, true]
        );
        assert_eq!(d[1].label(), "<app.n>");
        assert_eq!(d[2].object_name(), Some("lib.tool.run"));
    }

    #[test]
    fn events_without_a_frame_or_code_are_left_out() {
        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/m.py", "main", 1, Some("app.m"));
        b.thread(0, "MainThread");
        b.line(0, 1, &[(ValueKind::Local, "x", int(1))]);
        b.raise(0, 1, int(1));
        b.ret(0, int(1));
        b.call(0, 99, &[("secret", int(1))]);
        b.line(0, 2, &[]);
        b.ret(0, int(1));
        b.call(0, main, &[]);
        b.ret(0, int(2));
        let out = refilter(&b.finish(), &permissive(), &globals());
        assert_eq!(
            kinds(&out.trace),
            ["start0:MainThread", "call:main@0", "return@0"]
        );
    }

    #[test]
    fn synthetic_files_are_not_recorded_nor_counted_as_skipped() {
        let mut b = TraceBuilder::new();
        let s = b.code("<string>", "<module>", 1, Some("__main__"));
        let real = b.code("/p/app/m.py", "f", 1, Some("app.m"));
        b.thread(0, "MainThread");
        b.call(0, s, &[]);
        b.call(0, real, &[]);
        b.ret(0, int(1));
        b.ret(0, int(2));
        let out = refilter(&b.finish(), &permissive(), &globals());
        assert_eq!(
            kinds(&out.trace),
            ["start0:MainThread", "call:f@0", "return@0"]
        );
        assert_eq!(out.stats.scopes_skipped, 0);
    }

    /// What the recorder would write for one small program, permissively and
    /// with a filter: re-filtering the first gives the second (canonical JSON).
    #[test]
    fn refiltering_a_permissive_recording_matches_recording_with_the_filter() {
        let rules = "[[scope.rules]]\nselector='obj:app.m.helper'\nexec='skip'\n\
            [[scope.rules]]\nselector='pkg:app.*'\n\
            [[scope.rules.value_patterns]]\nselector='local:tmp'\naction='drop'\n";
        let f = chain(&user(rules));
        let program = |b: &mut TraceBuilder, filtered: bool| {
            let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
            let helper = (!filtered).then(|| b.code("/p/app/m.py", "helper", 3, Some("app.m")));
            let login = b.code("/p/app/m.py", "login", 6, Some("app.m"));
            b.source("/p/app/m.py", "src");
            let secret = if filtered {
                Slot::Redacted
            } else {
                string("hunter2")
            };
            b.thread(0, "MainThread");
            b.call(0, main, &[]);
            // `tmp` is dropped: the recorder leaves it out.
            let module_vars = match filtered {
                true => vec![],
                false => vec![(ValueKind::Local, "tmp", int(1))],
            };
            b.line(0, 1, &module_vars);
            if let Some(helper) = helper {
                b.call(0, helper, &[]);
                b.line(0, 4, &[]);
            } else {
                b.clock += 2000;
            }
            b.call(0, login, &[("user", string("bob")), ("password", secret)]);
            b.line(0, 7, &[]);
            b.ret(0, int(1));
            if helper.is_some() {
                b.ret(0, Slot::Value { value: Value::None });
            } else {
                b.clock += 1000;
            }
            b.ret(0, Slot::Value { value: Value::None });
        };
        let mut permissive_run = TraceBuilder::new();
        program(&mut permissive_run, false);
        let mut filtered_run = TraceBuilder::new();
        filtered_run.filters(&f);
        program(&mut filtered_run, true);
        let recorded = filtered_run.finish_with(FilterStats {
            scopes_skipped: 1,
            redacted: [1, 0, 0, 0, 0],
            dropped: [0, 1, 0, 0, 0],
        });
        let refiltered = refilter(&permissive_run.finish(), &f, &globals());
        use crate::trace::export::json::to_string;
        assert_eq!(
            to_string(&refiltered.trace, true),
            to_string(&recorded, true)
        );
        assert_eq!(
            refiltered.trace, recorded,
            "equal with these timestamps too"
        );
    }
}
