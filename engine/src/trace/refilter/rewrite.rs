//! Re-filtering event by event: the frames, values and threads rules of the
//! parity contract (see the [module docs](super)), applied to one event at a
//! time, so that a whole trace in memory and a trace streamed from a file go
//! through the same code.

use super::naming::{decide_codes, Naming};
use crate::explain::{Decision, ValueKind};
use crate::filter::{Exec, FilterChain};
use crate::trace::model::{
    CodeInfo, Event, FilterStats, Name, RecordedFilter, Slot, SourceFile, Trace, TraceHeader,
    Trailer, Var,
};
use crate::trace::policy::{self, Site};
use crate::trace::remembered::Remembered;
use crate::trace::secrets::Secrets;
use rustc_hash::{FxHashMap, FxHashSet};

/// A recorded code object of the input: its decision and its new id.
#[derive(Debug)]
struct Kept {
    /// Position in the input's code table (and in `decisions`).
    position: usize,
    /// Its id in the output.
    id: u32,
    /// Whether it is a module body (`<module>`), for the D7 rule.
    module_level: bool,
    /// The actions its decision gave the names asked so far.
    remembered: Remembered,
}

/// The re-filtering of one trace, fed its events in order.
#[derive(Debug)]
pub struct EventFilter {
    decisions: Vec<Decision>,
    /// Input code id → what it becomes, for recorded codes only. Ids are
    /// looked up, never used as indexes: a file may number codes sparsely.
    kept: FxHashMap<u32, Kept>,
    /// The header and tables of the output, without events or trailer.
    tables: Trace,
    /// Each input thread's call stack of input code ids.
    stacks: FxHashMap<u32, Vec<u32>>,
    /// Input thread → output thread number, in the order of first kept event.
    threads: FxHashMap<u32, u32>,
    /// Input thread → its name (from its first `thread_start`).
    names: FxHashMap<u32, Name>,
    /// What this pass skipped, redacted and dropped.
    added: FilterStats,
    /// The texts redacted so far, redacted by value from then on.
    secrets: Secrets,
}

impl EventFilter {
    /// Prepares re-filtering the trace whose header and tables are `input`
    /// (its events are not looked at) with `chain` and `naming`;
    /// `thread_names` holds each input thread's first name.
    pub fn new(
        input: &Trace,
        thread_names: FxHashMap<u32, Name>,
        chain: &FilterChain,
        naming: &Naming,
    ) -> EventFilter {
        let decisions = decide_codes(input, chain, naming);
        EventFilter::with_decisions(input, thread_names, decisions, chain, naming)
    }

    /// [`EventFilter::new`] with the decisions already made
    /// ([`decide_codes`] of the same `input`, `chain` and `naming`).
    pub fn with_decisions(
        input: &Trace,
        thread_names: FxHashMap<u32, Name>,
        decisions: Vec<Decision>,
        chain: &FilterChain,
        naming: &Naming,
    ) -> EventFilter {
        let added = FilterStats {
            scopes_skipped: decisions.iter().filter(|d| d.exec() == Exec::Skip).count() as u64,
            ..FilterStats::default()
        };
        // Recorded codes, renumbered in table order.
        let mut kept = FxHashMap::default();
        let mut codes = Vec::new();
        for (position, (code, decision)) in input.codes.iter().zip(&decisions).enumerate() {
            if decision.is_recorded() {
                let id = codes.len() as u32;
                kept.insert(
                    code.id,
                    Kept {
                        position,
                        id,
                        module_level: code.is_module_body(),
                        remembered: Remembered::default(),
                    },
                );
                codes.push(CodeInfo { id, ..code.clone() });
            }
        }
        let sources = kept_sources(&input.sources, &codes);
        let tables = Trace {
            header: TraceHeader {
                filters: RecordedFilter::from_chain(chain),
                naming: naming.mode,
                argv: policy::redact_argv(chain, &input.header.argv, &input.header.cwd),
                ..input.header.clone()
            },
            codes,
            sys_paths: input.sys_paths.clone(),
            modules: input.modules.clone(),
            markers: input.markers.clone(),
            sources,
            events: Vec::new(),
            trailer: None,
        };
        EventFilter {
            decisions,
            kept,
            tables,
            stacks: FxHashMap::default(),
            threads: FxHashMap::default(),
            names: thread_names,
            added,
            secrets: Secrets::default(),
        }
    }

    /// The output's header and tables (no events, no trailer).
    pub fn tables(&self) -> &Trace {
        &self.tables
    }

    /// The output's header and tables, given up.
    pub fn into_tables(self) -> Trace {
        self.tables
    }

    /// The decision of each code of the input, by table position.
    pub fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    /// Forgets every thread's frames (not the statistics or the thread
    /// numbering), to re-filter another stretch of events on its own.
    pub fn forget_frames(&mut self) {
        self.stacks.clear();
    }

    /// What this pass skipped, redacted and dropped so far.
    pub fn added(&self) -> &FilterStats {
        &self.added
    }

    /// The texts this pass redacted so far, which it redacts by value.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The texts redacted by value from the next event on: replaced by a
    /// caller that re-filters a stretch of events out of order (the viewer,
    /// one frame at a time) with what a full pass had learned before it.
    pub fn secrets_mut(&mut self) -> &mut Secrets {
        &mut self.secrets
    }

    /// The output trailer for the input's `trailer` and the statistics in
    /// it: the input's counts plus this pass's.
    pub fn trailer(&self, trailer: Option<&Trailer>) -> (Option<Trailer>, FilterStats) {
        let before = trailer.map(|t| t.stats.clone()).unwrap_or_default();
        let stats = before.plus(&self.added);
        let trailer = trailer.map(|t| Trailer {
            stats: stats.clone(),
            ..t.clone()
        });
        (trailer, stats)
    }

    /// Re-filters one input event, appending what it becomes (nothing, or
    /// the event preceded by its thread's regenerated `thread_start`) to
    /// `out`. See [`EventFilter::take`], which spares the copy.
    pub fn event(&mut self, event: &Event, out: &mut Vec<Event>) {
        self.take(event.clone(), out);
    }

    /// [`EventFilter::event`] of an event that is given up: its values move
    /// into the output instead of being copied.
    pub fn take(&mut self, event: Event, out: &mut Vec<Event>) {
        let thread = event.thread();
        let t = event.time();
        let added = &mut self.added;
        let secrets = &mut self.secrets;
        let new = match event {
            Event::ThreadStart { .. } => None,
            Event::Call { code, args, .. } => {
                self.stacks.entry(thread).or_default().push(code);
                let Some((decision, kept)) = kept_of(&mut self.kept, &self.decisions, code) else {
                    return;
                };
                let remembered = &mut kept.remembered;
                let args = kept_vars(args, |Var { kind, name, value }| {
                    let site = Site::Arg(&name);
                    let value =
                        policy::slot_remembered(decision, remembered, site, value, added, secrets)?;
                    Some(Var { kind, name, value })
                });
                Some(Event::Call {
                    thread: 0,
                    t,
                    code: kept.id,
                    args,
                })
            }
            Event::Resume { code, .. } => {
                self.stacks.entry(thread).or_default().push(code);
                let Some((_, kept)) = kept_of(&mut self.kept, &self.decisions, code) else {
                    return;
                };
                Some(Event::Resume {
                    thread: 0,
                    t,
                    code: kept.id,
                })
            }
            Event::Throw {
                code, exception, ..
            } => {
                self.stacks.entry(thread).or_default().push(code);
                let Some((decision, kept)) = kept_of(&mut self.kept, &self.decisions, code) else {
                    return;
                };
                let site = Site::Arg("exception");
                let remembered = &mut kept.remembered;
                let exception =
                    policy::slot_remembered(decision, remembered, site, *exception, added, secrets)
                        .unwrap_or(Slot::Dropped);
                Some(Event::Throw {
                    thread: 0,
                    t,
                    code: kept.id,
                    exception: Box::new(exception),
                })
            }
            Event::Line { line, vars, .. } => {
                let top = self.stacks.get(&thread).and_then(|s| s.last().copied());
                let Some((decision, kept)) =
                    top.and_then(|code| kept_of(&mut self.kept, &self.decisions, code))
                else {
                    return;
                };
                let module_level = kept.module_level;
                let remembered = &mut kept.remembered;
                let vars = kept_vars(vars, |Var { kind, name, value }| {
                    let site = match kind {
                        ValueKind::Global => Site::Global(&name),
                        // `local`, and kinds a line never holds, are decided as locals.
                        _ => Site::Local {
                            name: &name,
                            module_level,
                        },
                    };
                    let value =
                        policy::slot_remembered(decision, remembered, site, value, added, secrets)?;
                    Some(Var { kind, name, value })
                });
                Some(Event::Line {
                    thread: 0,
                    t,
                    line,
                    vars,
                })
            }
            Event::Return { value, .. } => {
                self.exit(thread, Site::Return, value)
                    .map(|value| Event::Return {
                        thread: 0,
                        t,
                        value,
                    })
            }
            Event::Yield { value, .. } => {
                self.exit(thread, Site::Yield, value)
                    .map(|value| Event::Yield {
                        thread: 0,
                        t,
                        value,
                    })
            }
            Event::Unwind { value, .. } => {
                self.exit(thread, Site::Unwind, value)
                    .map(|value| Event::Unwind {
                        thread: 0,
                        t,
                        value,
                    })
            }
            Event::Raise {
                line, exception, ..
            } => {
                let top = self.stacks.get(&thread).and_then(|s| s.last().copied());
                let Some((decision, kept)) =
                    top.and_then(|code| kept_of(&mut self.kept, &self.decisions, code))
                else {
                    return;
                };
                let remembered = &mut kept.remembered;
                let site = Site::Raise;
                let exception =
                    policy::slot_remembered(decision, remembered, site, *exception, added, secrets)
                        .unwrap_or(Slot::Dropped);
                Some(Event::Raise {
                    thread: 0,
                    t,
                    line,
                    exception: Box::new(exception),
                })
            }
        };
        if let Some(new) = new {
            self.push(thread, t, new, out);
        }
    }

    /// Leaves the frame on top of `thread`'s stack: its value as the
    /// output keeps it (a dropped one keeps its marker), or `None` when the
    /// frame's code is not recorded.
    fn exit(&mut self, thread: u32, site: Site<'_>, value: Slot) -> Option<Slot> {
        let code = self.stacks.get_mut(&thread).and_then(Vec::pop)?;
        let (decision, kept) = kept_of(&mut self.kept, &self.decisions, code)?;
        let (added, secrets) = (&mut self.added, &mut self.secrets);
        Some(
            policy::slot_remembered(decision, &mut kept.remembered, site, value, added, secrets)
                .unwrap_or(Slot::Dropped),
        )
    }

    /// Appends `event` (whose `thread` is overwritten) for input thread
    /// `thread`, announced by a regenerated `thread_start` the first time.
    fn push(&mut self, thread: u32, t: u64, mut event: Event, out: &mut Vec<Event>) {
        let next = self.threads.len() as u32;
        let number = *self.threads.entry(thread).or_insert_with(|| {
            out.push(Event::ThreadStart {
                thread: next,
                name: self
                    .names
                    .get(&thread)
                    .map(|name| name.to_string())
                    .unwrap_or_default(),
                t,
            });
            next
        });
        *event.thread_mut() = number;
        out.push(event);
    }
}

/// The decision and new id of a code, when it is recorded (a function over
/// borrowed parts, so that the statistics can be borrowed mutably beside it).
fn kept_of<'a>(
    kept: &'a mut FxHashMap<u32, Kept>,
    decisions: &'a [Decision],
    code: u32,
) -> Option<(&'a Decision, &'a mut Kept)> {
    let k = kept.get_mut(&code)?;
    Some((decisions.get(k.position)?, k))
}

/// Each thread's name from its first `thread_start` among `events`.
pub fn thread_names(events: &[Event]) -> FxHashMap<u32, Name> {
    let mut names = FxHashMap::default();
    for event in events {
        if let Event::ThreadStart { thread, name, .. } = event {
            names
                .entry(*thread)
                .or_insert_with(|| Name::from(name.as_str()));
        }
    }
    names
}

/// The variables `decide` keeps, in order, in the list they came in (cut to
/// their number).
fn kept_vars(vars: Vec<Var>, decide: impl FnMut(Var) -> Option<Var>) -> Vec<Var> {
    let mut kept: Vec<Var> = vars.into_iter().filter_map(decide).collect();
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
