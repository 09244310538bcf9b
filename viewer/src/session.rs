//! The worker's side: one open trace (or trace set, one trace per process),
//! re-filtered and relabelled on request.
//!
//! [`Session::handle`] answers one [`Request`] with zero or more
//! [`Response`]s. Everything that decides what is traced, redacted, dropped
//! or how a module is named is asked of the engine: the reader, the event
//! counts of `summary`, `chain_for`, `decide_codes`, `EventFilter`,
//! `refilter_stream`, `relabel`, the value `policy` and `Decision`.
//! Pure Rust: the worker binary only moves bytes in and out.
//!
//! The trace's events are never all held. Opening reads the file once, a
//! chunk at a time, into a [`CallIndex`] (a few bytes per frame), a value
//! [`Profile`] and the engine's chunk index; a re-filter is the engine's
//! decision per code applied to that index, with the statistics counted by
//! the engine's value policy over the profile; a frame's steps are decoded
//! again from the chunks that hold them, through the same `EventFilter` a
//! re-filtered file is written with; a download streams the file through
//! `refilter_stream`. The displayed call tree stays here too: the page asks
//! for the rows it shows and the frames its flame chart paints.
//!
//! A trace set (several files opened at once) is an [`OpenTrace`] per
//! process, each indexed as a single trace is. A playground edit
//! re-filters every process at once (its counts are the set's), each with
//! the chain loaded against its own header, as `tracesieve refilter` does
//! that file; rows, frames, the timeline, "why?" and downloads are the
//! shown process's.

use crate::calltree::{Anchor, Exit, NodeKey};
use crate::exception_rows;
use crate::functions;
use crate::index::{CallIndex, IndexBuilder, Profile, ShownTree, NONE};
use crate::protocol::{
    CodeView, FilterProblem, FilterSummary, Lane, LaneGroup, LanesView, Opened, PaintedFrame,
    PlaygroundState, ProcessView, RefilterReport, Request, Response, Revealed, RowView, RowsView,
    SkippedCode, SourceView, StatsSummary, ThreadView, TimelineQuery, TimelineView, TraceSummary,
    TraceView, TreeQuery, ValueRef, ValueWhyView, WhyView, MAX_SKIPPED,
};
use crate::set::{self, Member};
use crate::steps::{Frame, Moment, Role, ValueView, MAX_STEPS};
use std::collections::BTreeSet;
use std::io::{self, BufReader, Read, Write};
use tracesieve_engine::trace::decode::Keep;
use tracesieve_engine::trace::index::{ChunkEntry, ChunkReplayer};
use tracesieve_engine::trace::policy::{self, InnerName, Site};
use tracesieve_engine::trace::refilter::{
    chain_for, decide_codes, refilter_stream, relabel, ChainOptions, EventFilter, Naming,
};
use tracesieve_engine::trace::secrets::Secrets;
use tracesieve_engine::trace::stream::{EventStream, Tables};
use tracesieve_engine::trace::summary::EventCounts;
use tracesieve_engine::trace::{
    CodeInfo, Event, FilterStats, RecordedFilter, Trace, TraceError, TraceReader,
};
use tracesieve_engine::{
    builtin, Action, Decision, FilterChain, FilterError, FilterSource, Platform, ValueKind,
};

/// Bytes decoded between two progress reports.
pub const SLICE_BYTES: usize = 1 << 20;

/// At most this many rows are sent at once.
pub const MAX_ROWS: usize = 2000;

/// The file that comes with a [`Request::Open`], read one slice at a time
/// so that the whole file is never held as one more copy. The session
/// keeps it while the trace is open, to decode a frame's events again.
pub trait Attachment {
    /// Its size in bytes.
    fn size(&self) -> u64;
    /// Bytes `start..end` (`end` at most the size).
    fn read(&mut self, start: u64, end: u64) -> Result<Vec<u8>, String>;
}

/// A file already in memory, for the tests.
#[cfg(test)]
impl Attachment for Vec<u8> {
    fn size(&self) -> u64 {
        self.len() as u64
    }

    fn read(&mut self, start: u64, end: u64) -> Result<Vec<u8>, String> {
        self.get(start as usize..end as usize)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| format!("bytes {start}..{end} are past the end"))
    }
}

/// The worker's state.
#[derive(Default)]
pub struct Session {
    open: Option<OpenSet>,
}

/// The open traces: one, or one per process of a set.
struct OpenSet {
    /// In process-tree order (the order of `processes`).
    traces: Vec<OpenTrace>,
    processes: Vec<ProcessView>,
    /// The process shown.
    current: usize,
    /// The files that could not be read, each with why.
    left_out: Vec<String>,
}

/// A trace that was indexed, and how it is displayed now.
struct OpenTrace {
    name: String,
    file: Box<dyn Attachment>,
    /// The engine's summary of the file as read.
    summary: TraceSummary,
    /// The header, tables and trailer (no events), with the thread names.
    tables: Tables,
    /// Where each chunk is, and the decoder that reads one again.
    chunks: Vec<ChunkEntry>,
    replayer: ChunkReplayer,
    /// The chunk decoded last, by its position in `chunks`.
    cached: Option<(usize, Vec<Event>)>,
    index: CallIndex,
    profile: Profile,
    /// The record-time chain, loaded again (`None` if it no longer loads).
    recorded_chain: Option<FilterChain>,
    recorded_naming: Naming,
    /// Record-time decisions of every code (empty if the chain no longer loads).
    recorded_decisions: Vec<Decision>,
    /// The record-time user filters (the chain after the built-in head).
    user_filters: Vec<RecordedFilter>,
    /// Whether the record-time chain started with the built-in default.
    builtin_head: bool,
    shown: Shown,
    /// The last search: thread, lower-cased text, the matching nodes.
    search: Option<(usize, String, Vec<u32>)>,
}

/// How the trace is displayed, and what produced it.
struct Shown {
    naming: Naming,
    /// The playground chain (`None` until it loads, or when the record-time
    /// chain no longer loads).
    chain: Option<FilterChain>,
    /// Decisions of every recorded code under `chain` and `naming`.
    decisions: Vec<Decision>,
    /// The engine's re-filtering, which frames' events go through; `None`
    /// when the trace is shown as recorded.
    filter: Option<EventFilter>,
    /// The input thread number the next frame is re-filtered as (each
    /// frame gets its own, so that the filter's call stacks stay apart).
    next_thread: u32,
    /// Displayed code index → recorded code index.
    code_map: Vec<u32>,
    /// The displayed call tree, over the index.
    tree: ShownTree,
    /// The generation of the view last sent.
    generation: u64,
    /// The displayed codes' labels, lower-cased (for searches).
    labels: Vec<String>,
    report: RefilterReport,
    /// The texts `filter` learned to redact by value over the whole trace,
    /// each with the position of the event that taught it: a frame
    /// re-filtered on its own starts from those learned before it. Each
    /// text comes with where it was learned.
    learned: Vec<Learned>,
}

/// A text a re-filter learned to redact by value.
#[derive(Debug, Clone)]
struct Learned {
    /// The position of the event that taught it.
    position: u64,
    /// That event's thread (its number in the recorded trace).
    thread: u32,
    /// The step of the displayed trace that event is, once asked for
    /// (`Some(None)`: not displayed).
    at: Option<Option<Moment>>,
    text: String,
    /// Where it stood ("arg `password` in shop.login").
    origin: String,
}

impl Session {
    /// A session with no trace.
    pub fn new() -> Session {
        Session::default()
    }

    /// Answers `request`, passing each response to `out` as soon as it is
    /// ready. `files` are what came with an [`Request::Open`].
    pub fn handle(
        &mut self,
        request: Request,
        files: Vec<Box<dyn Attachment>>,
        out: &mut dyn FnMut(Response),
    ) {
        match request {
            Request::Open { names, tree } => {
                if files.is_empty() {
                    out(bad_request("no file came with the request to open one"))
                } else {
                    self.open(names, tree, files, out)
                }
            }
            Request::Process {
                process,
                tree,
                selected,
            } => match self.open.as_mut() {
                Some(open) => open.switch(process as usize, tree, selected, out),
                None => out(no_trace()),
            },
            Request::Playground {
                generation,
                state,
                tree,
                selected,
            } => match self.open.as_mut() {
                Some(open) => out(open.playground(generation, &state, tree, selected)),
                None => out(validate(generation, &state)),
            },
            Request::Rows(query) => match self.shown_mut() {
                Some(open) => out(Response::Rows(Box::new(open.rows(&query)))),
                None => out(no_trace()),
            },
            Request::Timeline(query) => match self.open.as_ref() {
                Some(open) => out(Response::Timeline(Box::new(open.timeline(query)))),
                None => out(no_trace()),
            },
            Request::Lanes(query) => match self.open.as_ref() {
                Some(open) => out(Response::Lanes(Box::new(open.lanes(query)))),
                None => out(no_trace()),
            },
            Request::Frame { key } => match self.shown_mut() {
                Some(open) => out(open.frame(key)),
                None => out(no_trace()),
            },
            Request::Why { code, value } => match self.shown_mut() {
                Some(open) => out(open.why(code, value.as_ref())),
                None => out(no_trace()),
            },
            Request::Download => match self.shown_mut() {
                Some(open) => open.download(out),
                None => out(no_trace()),
            },
            Request::Functions { generation } => match self.shown_mut() {
                Some(open) => {
                    let mut table = functions::table(&open.shown.tree, &open.index);
                    table.generation = generation;
                    out(Response::Functions(Box::new(table)))
                }
                None => out(no_trace()),
            },
            Request::At(at) => match self.shown_mut() {
                Some(open) => out(Response::At(open.moment_of_event(at.thread, at.position))),
                None => out(no_trace()),
            },
        }
    }

    /// The trace of the process shown.
    fn shown_mut(&mut self) -> Option<&mut OpenTrace> {
        let open = self.open.as_mut()?;
        open.traces.get_mut(open.current)
    }

    /// Reads a trace, or the traces of a set: the files that cannot be read
    /// are left out (and said so); if none can, the trace open before stays
    /// open.
    fn open(
        &mut self,
        names: Vec<String>,
        tree: TreeQuery,
        files: Vec<Box<dyn Attachment>>,
        out: &mut dyn FnMut(Response),
    ) {
        let total: u64 = files.iter().map(|f| f.size()).sum();
        let (mut bytes_before, mut events_before) = (0, 0);
        let mut read = Vec::new();
        let mut left_out = Vec::new();
        for (i, file) in files.into_iter().enumerate() {
            let name = names
                .get(i)
                .cloned()
                .unwrap_or_else(|| format!("file {}", i + 1));
            let size = file.size();
            // Progress over the whole set.
            let mut progress = |response: Response| match response {
                Response::Progress { bytes, events, .. } => out(Response::Progress {
                    bytes: bytes_before + bytes,
                    total,
                    events: events_before + events,
                }),
                other => out(other),
            };
            match OpenTrace::read(name, file, &mut progress) {
                Ok(trace) => {
                    events_before += trace.tables.events;
                    read.push(trace);
                }
                Err(message) => left_out.push(message),
            }
            bytes_before += size;
        }
        if read.is_empty() {
            out(Response::Failed {
                message: left_out.join("\n"),
            });
            return;
        }
        let members: Vec<Member> = read.iter().map(OpenTrace::member).collect();
        let mut slots: Vec<Option<OpenTrace>> = read.into_iter().map(Some).collect();
        let (traces, processes) = set::processes(&members)
            .into_iter()
            .filter_map(|(i, view)| Some((slots.get_mut(i)?.take()?, view)))
            .unzip();
        let mut open = OpenSet {
            traces,
            processes,
            current: 0,
            left_out,
        };
        out(Response::Opened(Box::new(open.opened())));
        let view = open.view(0, tree, None);
        self.open = Some(open);
        out(view);
    }
}

impl OpenSet {
    /// What the page shows of the process shown.
    fn opened(&self) -> Opened {
        let mut opened = self.traces[self.current].opened();
        opened.processes = self.processes.clone();
        opened.process = self.current;
        opened.left_out = self.left_out.clone();
        opened
    }

    /// The view of the process shown; the counts are the whole set's and
    /// the times on the set's clock.
    fn view(&mut self, generation: u64, query: TreeQuery, anchor: Option<Anchor>) -> Response {
        let mut view = self.traces[self.current].view(generation, query, anchor);
        view.calls_kept = self.traces.iter().map(|t| t.shown.tree.calls).sum();
        view.calls_recorded = self.traces.iter().map(|t| t.index.calls).sum();
        view.report = set::sum_reports(self.traces.iter().map(|t| &t.shown.report));
        view.processes = self.traces.len() as u32;
        let extents = self.traces.iter().zip(&self.processes).map(|(t, p)| {
            let (start, end) = t.extent();
            (start + p.offset_ns, end + p.offset_ns)
        });
        let (start, end) = extents.fold((u64::MAX, 0), |(s, e), (start, end)| {
            (s.min(start), e.max(end))
        });
        (view.start_t, view.end_t) = (start.min(end), end);
        Response::View(Box::new(view))
    }

    /// Shows process `process`: its summary, then its view, with frame
    /// `selected` of it selected when it is there.
    fn switch(
        &mut self,
        process: usize,
        query: TreeQuery,
        selected: Option<NodeKey>,
        out: &mut dyn FnMut(Response),
    ) {
        let Some(trace) = self.traces.get(process) else {
            return out(bad_request("no such process in the set"));
        };
        let anchor = selected.and_then(|key| {
            trace
                .shown
                .tree
                .anchor(&trace.index, key.thread as usize, key.node)
        });
        self.current = process;
        out(Response::Switched(Box::new(self.opened())));
        let generation = self.traces[process].shown.generation;
        out(self.view(generation, query, anchor));
    }

    /// Re-filters and relabels every process with `state`: the chain is
    /// loaded for each first (a filter that does not load changes nothing),
    /// then each is re-filtered. The selected frame is of the process shown.
    fn playground(
        &mut self,
        generation: u64,
        state: &PlaygroundState,
        query: TreeQuery,
        selected: Option<NodeKey>,
    ) -> Response {
        let current = self.current;
        // The process shown first: its problem is the one reported.
        let order =
            std::iter::once(current).chain((0..self.traces.len()).filter(|&i| i != current));
        let mut chains = Vec::with_capacity(self.traces.len());
        for i in order {
            match self.traces[i].chain(state) {
                Ok(chain) => chains.push((i, chain)),
                Err(problem) => {
                    return Response::FilterProblem {
                        generation,
                        problem,
                    }
                }
            }
        }
        let shown = &self.traces[current];
        let anchor = selected.and_then(|key| {
            shown
                .shown
                .tree
                .anchor(&shown.index, key.thread as usize, key.node)
        });
        for (i, (chain, naming)) in chains {
            let trace = &mut self.traces[i];
            if let Err(message) = trace.refilter(generation, chain, naming) {
                return Response::Failed { message };
            }
            if i != current {
                // Only the process shown has frames read again.
                trace.cached = None;
            }
        }
        self.view(generation, query, anchor)
    }

    /// The frames a flame chart paints for `query` (on the set's clock) in
    /// the process shown.
    fn timeline(&self, query: TimelineQuery) -> TimelineView {
        let offset = self.processes[self.current].offset_ns;
        let own = TimelineQuery {
            t0: query.t0 - offset as f64,
            t1: query.t1 - offset as f64,
            ..query.clone()
        };
        let mut view = self.traces[self.current].timeline(own);
        (view.query.t0, view.query.t1) = (query.t0, query.t1);
        for frame in &mut view.frames {
            frame.t0 += offset;
            frame.t1 += offset;
        }
        view
    }

    /// The frames the timeline paints for `query` (on the set's clock) in
    /// every thread of every process, a group of lanes per process.
    fn lanes(&self, query: TimelineQuery) -> LanesView {
        let groups = self
            .traces
            .iter()
            .zip(&self.processes)
            .enumerate()
            .map(|(i, (trace, process))| {
                let offset = process.offset_ns;
                let own = TimelineQuery {
                    t0: query.t0 - offset as f64,
                    t1: query.t1 - offset as f64,
                    ..query.clone()
                };
                let mut group = trace.lane_group(&own);
                group.process = i as u32;
                group.label = process.label.clone();
                for frame in group.lanes.iter_mut().flat_map(|l| &mut l.frames) {
                    frame.t0 += offset;
                    frame.t1 += offset;
                }
                group
            })
            .collect();
        let generation = self.traces[self.current].shown.generation;
        LanesView {
            query: TimelineQuery {
                generation,
                ..query
            },
            groups,
        }
    }
}

/// What one streaming pass over a file gives.
struct Indexed {
    tables: Tables,
    chunks: Vec<ChunkEntry>,
    replayer: ChunkReplayer,
    counts: EventCounts,
    index: CallIndex,
    profile: Profile,
}

/// Reads `file` once, a slice and then a chunk at a time, keeping the
/// tables, the chunk index, the call index and the value profile.
fn index_file(
    name: &str,
    file: &mut dyn Attachment,
    out: &mut dyn FnMut(Response),
) -> Result<Indexed, String> {
    let total = file.size();
    let mut reader = TraceReader::indexing(Keep::Stream);
    let mut builder = IndexBuilder::new();
    let mut counts = EventCounts::default();
    let mut start = 0;
    while start < total && !reader.stopped() {
        let end = total.min(start + SLICE_BYTES as u64);
        let slice = file
            .read(start, end)
            .map_err(|e| format!("cannot read “{name}”: {e}"))?;
        let mut rest = slice.as_slice();
        while !rest.is_empty() {
            let used = reader.push_some(rest).map_err(|e| unreadable(name, &e))?;
            rest = rest.get(used..).unwrap_or_default();
            let events = reader.take_events();
            if !events.is_empty() {
                if let Some(tables) = reader.trace() {
                    builder.codes(tables);
                }
                for event in &events {
                    counts.add(event);
                    builder.event(event);
                }
            }
            if used == 0 {
                break;
            }
        }
        start = end;
        let progress = reader.progress();
        out(Response::Progress {
            bytes: progress.bytes,
            total,
            events: progress.events,
        });
    }
    let replayer = reader.replayer();
    let chunks = reader.index().unwrap_or_default().to_vec();
    let thread_names = reader.thread_names().to_vec();
    let threads = reader.thread_count();
    let events = reader.progress().events;
    let outcome = reader.finish().map_err(|e| unreadable(name, &e))?;
    let replayer = replayer.ok_or_else(|| format!("“{name}” cannot be opened: no chunk index"))?;
    let (index, profile) = builder.finish();
    Ok(Indexed {
        tables: Tables {
            trace: outcome.trace,
            thread_names,
            threads,
            events,
            truncation: outcome.truncation,
        },
        chunks,
        replayer,
        counts,
        index,
        profile,
    })
}

impl OpenTrace {
    /// Indexes the file and shows it as recorded.
    fn read(
        name: String,
        mut file: Box<dyn Attachment>,
        out: &mut dyn FnMut(Response),
    ) -> Result<OpenTrace, String> {
        let Indexed {
            tables,
            chunks,
            replayer,
            counts,
            index,
            profile,
        } = index_file(&name, file.as_mut(), out)?;
        let trace = &tables.trace;
        let summary = counts.summary(trace, tables.truncation.as_ref());
        let user_filters: Vec<RecordedFilter> = trace
            .header
            .filters
            .iter()
            .filter(|f| !f.inline)
            .cloned()
            .collect();
        let recorded_chain = trace.header.chain().ok();
        let recorded_naming = Naming::recorded(trace);
        let builtin_head = trace
            .header
            .filters
            .iter()
            .any(|f| f.inline && f.path == "<inline:builtin-default>");
        let decisions = recorded_chain
            .as_ref()
            .map(|chain| decide_codes(trace, chain, &recorded_naming))
            .unwrap_or_default();
        let shown = Shown::recorded(
            &tables,
            &index,
            recorded_naming.clone(),
            recorded_chain.clone(),
            decisions.clone(),
        );
        Ok(OpenTrace {
            name,
            file,
            summary,
            tables,
            chunks,
            replayer,
            cached: None,
            index,
            profile,
            recorded_chain,
            recorded_naming,
            recorded_decisions: decisions,
            user_filters,
            builtin_head,
            shown,
            search: None,
        })
    }

    /// What the page shows of this trace, outside the views (the set's
    /// fields are the caller's).
    fn opened(&self) -> Opened {
        let trace = &self.tables.trace;
        let warning = self.tables.truncation.as_ref().map(|t| {
            format!(
                "“{}” is incomplete: {}. Showing what could be read: {} events from the first {} bytes.",
                self.name, t.reason, self.tables.events, t.valid_bytes
            )
        });
        Opened {
            name: self.name.clone(),
            summary: self.summary.clone(),
            sources: trace
                .sources
                .iter()
                .map(|s| SourceView {
                    path: s.path.clone(),
                    text: s.text.clone(),
                    omitted: s.omitted.clone(),
                })
                .collect(),
            recorded: PlaygroundState {
                filters: self.user_filters.iter().map(|f| f.text.clone()).collect(),
                naming: trace.header.naming,
                roots: Vec::new(),
                framework: trace.header.framework,
            },
            filter_paths: self.user_filters.iter().map(|f| f.path.clone()).collect(),
            warning,
            processes: Vec::new(),
            process: 0,
            left_out: Vec::new(),
        }
    }

    /// What ordering a set needs of this trace.
    fn member(&self) -> Member {
        let header = &self.tables.trace.header;
        Member {
            name: self.name.clone(),
            process: header.process.clone(),
            start_unix_ms: header.start_unix_ms,
            argv: header.argv.clone(),
            incomplete: self.tables.truncation.is_some(),
        }
    }

    /// The displayed calls' first start and the time of the last event.
    fn extent(&self) -> (u64, u64) {
        let tree = &self.shown.tree;
        let start = tree
            .threads
            .iter()
            .filter_map(|t| ShownTree::first_t0(&self.index, t))
            .fold(tree.end_t, u64::min);
        (start, tree.end_t)
    }
}

impl Shown {
    /// The trace as recorded.
    fn recorded(
        tables: &Tables,
        index: &CallIndex,
        naming: Naming,
        chain: Option<FilterChain>,
        decisions: Vec<Decision>,
    ) -> Shown {
        let trace = &tables.trace;
        let stats = trace
            .trailer
            .as_ref()
            .map(|t| t.stats.clone())
            .unwrap_or_default();
        Shown {
            naming,
            chain,
            decisions,
            filter: None,
            next_thread: 0,
            code_map: (0..trace.codes.len() as u32).collect(),
            tree: index.recorded(),
            generation: 0,
            labels: Vec::new(),
            report: RefilterReport {
                events: tables.events as usize,
                codes: trace.codes.len(),
                total: StatsSummary::of(&stats),
                added: StatsSummary::default(),
            },
            learned: Vec::new(),
        }
    }
}

impl OpenTrace {
    /// The chain and naming of `state` for this trace: its filters loaded
    /// as `tracesieve refilter` loads them for this file.
    fn chain(&self, state: &PlaygroundState) -> Result<(FilterChain, Naming), FilterProblem> {
        let (sources, paths) = self.sources(state);
        let options = ChainOptions {
            builtin: self.builtin_head,
            framework: state.framework,
            append: false,
        };
        let chain =
            chain_for(&self.tables.trace, &options, sources).map_err(|e| problem(&e, &paths))?;
        let naming = Naming {
            mode: state.naming,
            extra_roots: state
                .roots
                .iter()
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect(),
        };
        Ok((chain, naming))
    }

    /// Re-filters and relabels with `chain` and `naming`, as generation
    /// `generation`.
    fn refilter(
        &mut self,
        generation: u64,
        chain: FilterChain,
        naming: Naming,
    ) -> Result<(), String> {
        let trace = &self.tables.trace;
        let unchanged = naming == self.recorded_naming
            && self
                .recorded_chain
                .as_ref()
                .is_some_and(|c| c.id() == chain.id());
        let decisions = decide_codes(trace, &chain, &naming);
        if unchanged {
            self.shown = Shown::recorded(&self.tables, &self.index, naming, Some(chain), decisions);
            self.shown.generation = generation;
            return Ok(());
        }
        let names = self.tables.thread_names.iter().cloned().collect();
        // The decisions are made once, for the view and for the filter.
        let filter = EventFilter::with_decisions(trace, names, decisions.clone(), &chain, &naming);
        // Recorded code index → displayed index, as the filter renumbers them.
        let mut shown_code = vec![NONE; decisions.len()];
        let mut code_map = Vec::new();
        for (i, d) in decisions.iter().enumerate() {
            if d.is_recorded() {
                shown_code[i] = code_map.len() as u32;
                code_map.push(i as u32);
            }
        }
        let counted = (!self.profile.overflowed).then(|| {
            let trace = &self.tables.trace;
            let module_level = |c: u32| {
                trace
                    .codes
                    .get(c as usize)
                    .is_some_and(CodeInfo::is_module_body)
            };
            self.profile
                .count(&decisions, |c| shown_code[c as usize] != NONE, module_level)
        });
        // A chain that takes out no string long enough to be learned
        // redacts nothing by value, and the profile's counts are exact;
        // otherwise every event goes through the filter once, in order.
        let (values, learned) = match counted {
            Some(count) if !count.teaches => (count.stats, Vec::new()),
            _ => self.stream_added(&chain, &naming)?,
        };
        // The tree shown before goes first: the two are never held together.
        self.shown.tree = ShownTree::default();
        self.search = None;
        let tree = self.index.filtered(&shown_code);
        let added = FilterStats {
            scopes_skipped: filter.added().scopes_skipped,
            redacted: values.redacted,
            dropped: values.dropped,
        };
        let recorded = self.tables.trace.trailer.as_ref().map(|t| &t.stats);
        let total = recorded.cloned().unwrap_or_default().plus(&added);
        let report = RefilterReport {
            events: tree.events as usize,
            codes: filter.tables().codes.len(),
            total: StatsSummary::of(&total),
            added: StatsSummary::of(&added),
        };
        self.shown = Shown {
            naming,
            chain: Some(chain),
            decisions,
            filter: Some(filter),
            next_thread: 0,
            code_map,
            tree,
            generation,
            labels: Vec::new(),
            report,
            learned,
        };
        Ok(())
    }

    /// What re-filtering with `chain` and `naming` redacts and drops, and
    /// the texts it learns to redact by value (with the position of the
    /// event that taught each), by reading every chunk through the engine's
    /// `EventFilter`.
    fn stream_added(
        &mut self,
        chain: &FilterChain,
        naming: &Naming,
    ) -> Result<(FilterStats, Vec<Learned>), String> {
        let names = self.tables.thread_names.iter().cloned().collect();
        let mut filter = EventFilter::new(&self.tables.trace, names, chain, naming);
        let mut out = Vec::new();
        let mut learned = Vec::new();
        for chunk in 0..self.chunks.len() {
            self.decode(chunk)?;
            let first = self.chunks[chunk].first_event;
            if let Some((_, events)) = &self.cached {
                for (i, event) in events.iter().enumerate() {
                    filter.event(event, &mut out);
                    out.clear();
                    let new = filter.secrets().entries().skip(learned.len());
                    learned.extend(new.map(|(text, origin)| Learned {
                        position: first + i as u64,
                        thread: event.thread(),
                        at: None,
                        text: text.to_string(),
                        origin: origin.to_string(),
                    }));
                }
            }
        }
        let mut added = filter.added().clone();
        added.scopes_skipped = 0;
        Ok((added, learned))
    }

    /// The filter sources of `state`, with the path each one loads under.
    /// A playground filter takes the path and project root of the
    /// record-time user filter at its index, else a path in the trace's
    /// working directory (so `file:` rules are relative to it).
    fn sources(&self, state: &PlaygroundState) -> (Vec<FilterSource>, Vec<(String, usize)>) {
        let mut sources = Vec::new();
        let mut paths = Vec::new();
        for (index, text) in state.filters.iter().enumerate() {
            if text.trim().is_empty() {
                continue;
            }
            let source = match self.user_filters.get(index) {
                Some(recorded) => {
                    let source = FilterSource::file(recorded.path.clone(), text.clone());
                    match &recorded.project_root {
                        Some(root) => source.with_root(root.clone()),
                        None => source,
                    }
                }
                None => {
                    FilterSource::file(playground_path(&self.tables.trace, index), text.clone())
                }
            };
            paths.push((source.display_path(), index));
            sources.push(source);
        }
        (sources, paths)
    }

    /// The displayed code table.
    fn shown_tables(&self) -> &Trace {
        match &self.shown.filter {
            Some(filter) => filter.tables(),
            None => &self.tables.trace,
        }
    }

    /// The view of the displayed trace, with the rows `query` asks for;
    /// the frame `anchor` names is selected (and revealed) if it is there.
    fn view(&mut self, generation: u64, mut query: TreeQuery, anchor: Option<Anchor>) -> TraceView {
        self.search = None;
        let displayed = self.shown_tables();
        let labels = relabel(displayed, &self.shown.naming);
        let codes: Vec<CodeView> = displayed
            .codes
            .iter()
            .zip(labels)
            .enumerate()
            .map(|(i, (code, label))| CodeView {
                recorded: self.shown.code_map.get(i).copied().unwrap_or(i as u32),
                label: label.label,
                module: label.module_name,
                module_reason: label.reason,
                filename: code.filename.clone(),
                first_line: code.first_line,
            })
            .collect();
        let shown = &mut self.shown;
        shown.generation = generation;
        shown.labels = codes.iter().map(|c| c.label.to_lowercase()).collect();
        let skipped: Vec<SkippedCode> = shown
            .decisions
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.is_recorded())
            .map(|(i, d)| SkippedCode {
                recorded: i as u32,
                label: d.label(),
                filename: self
                    .tables
                    .trace
                    .codes
                    .get(i)
                    .map(|c| c.filename.clone())
                    .unwrap_or_default(),
            })
            .collect();
        let chain = shown
            .chain
            .as_ref()
            .map(|c| {
                c.sources()
                    .iter()
                    .map(|s| FilterSummary {
                        path: s.path.clone(),
                        name: Some(s.meta.name.clone()),
                        sha256: s.sha256.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let header = &self.tables.trace.header;
        let argv = match &shown.chain {
            Some(chain) => policy::redact_argv(chain, &header.argv, &header.cwd),
            None => header.argv.clone(),
        };
        let tree = &shown.tree;
        let threads: Vec<ThreadView> = tree
            .threads
            .iter()
            .map(|t| ThreadView {
                thread: t.number,
                name: self.index.threads[t.slot].name.clone(),
                calls: t.len() as u64,
                depth: t.depth,
            })
            .collect();
        let (start_t, end_t) = self.extent();
        let tree = &self.shown.tree;
        let selected = anchor.and_then(|a| tree.locate(&self.index, &a));
        match selected {
            Some(key) => {
                query.thread = key.thread;
                query.reveal = Some(key.node);
                query.expand = true;
            }
            None if query.thread as usize >= threads.len() => query.thread = 0,
            None => {}
        }
        query.collapsed.clear();
        let rows = self.rows(&query);
        let (mut exceptions, failure) =
            exception_rows::listed(&self.index.exceptions, &self.index, &self.shown.tree);
        // A run that ended well (a `SystemExit(0)` escapes too) opens as usual.
        if self.summary.exit_status != Some(0) {
            exceptions.failure =
                failure.and_then(|at| self.moment_of_event(at.thread, at.position));
        }
        TraceView {
            generation,
            threads,
            start_t,
            end_t,
            processes: 1,
            selected,
            rows,
            codes,
            skipped_total: skipped.len(),
            skipped: skipped.into_iter().take(MAX_SKIPPED).collect(),
            calls_kept: self.shown.tree.calls,
            calls_recorded: self.index.calls,
            report: self.shown.report.clone(),
            chain,
            argv,
            exceptions,
        }
    }

    /// The rows of the displayed tree that `query` asks for.
    fn rows(&mut self, query: &TreeQuery) -> RowsView {
        let thread = query.thread as usize;
        let count = (query.count as usize).min(MAX_ROWS);
        let needle = query.search.trim().to_lowercase();
        let tree = &self.shown.tree;
        let index = &self.index;
        let mut revealed = None;
        let (total, first, nodes) = if needle.is_empty() {
            let mut collapsed = query.collapsed.clone();
            let mut position = None;
            if let Some(node) = query.reveal {
                let mut expanded = Vec::new();
                if query.expand {
                    let ancestors = tree.ancestors(index, thread, node);
                    let kept;
                    (expanded, kept) = collapsed.iter().partition(|c| ancestors.contains(c));
                    collapsed = kept;
                }
                position = tree.position(index, thread, &collapsed, node);
                revealed = Some(Revealed {
                    node,
                    position: position.map(|p| p as u32),
                    expanded,
                });
            }
            let (total, _) = tree.rows(index, thread, &collapsed, 0, 0);
            let first = around(query.first as usize, count, position, total);
            let (total, nodes) = tree.rows(index, thread, &collapsed, first, count);
            (total, first, nodes)
        } else {
            let cached = self
                .search
                .as_ref()
                .is_some_and(|(t, text, _)| *t == thread && *text == needle);
            if !cached {
                let labels = &self.shown.labels;
                let matches = tree.search(index, thread, |code| {
                    labels
                        .get(code as usize)
                        .is_some_and(|label| label.contains(&needle))
                });
                self.search = Some((thread, needle, matches));
            }
            let matches = self.search.as_ref().map_or(&[][..], |(_, _, m)| m);
            let position = query.reveal.and_then(|n| matches.binary_search(&n).ok());
            revealed = query.reveal.map(|node| Revealed {
                node,
                position: position.map(|p| p as u32),
                expanded: Vec::new(),
            });
            let total = matches.len();
            let first = around(query.first as usize, count, position, total);
            let nodes = matches[first..(first + count).min(total)].to_vec();
            (total, first, nodes)
        };
        let rows = nodes
            .into_iter()
            .map(|n| {
                let node = tree.node(index, thread, n);
                RowView {
                    node: n,
                    code: node.code,
                    depth: node.depth,
                    size: node.size,
                    duration: node.t1.saturating_sub(node.t0),
                    entry: node.entry,
                    exit: node.exit,
                }
            })
            .collect();
        RowsView {
            epoch: query.epoch,
            generation: self.shown.generation,
            thread: query.thread,
            total: total as u32,
            first: first as u32,
            rows,
            revealed,
        }
    }

    /// The frames a flame chart paints for `query`.
    fn timeline(&self, mut query: TimelineQuery) -> TimelineView {
        query.generation = self.shown.generation;
        let frames = if query.width > 0.0 && query.t1 > query.t0 {
            self.shown
                .tree
                .paint(
                    &self.index,
                    query.thread as usize,
                    query.t0,
                    query.t1,
                    query.width,
                )
                .into_iter()
                .map(|(node, n)| PaintedFrame {
                    node,
                    code: n.code,
                    depth: n.depth,
                    t0: n.t0,
                    t1: n.t1,
                })
                .collect()
        } else {
            Vec::new()
        };
        TimelineView { query, frames }
    }

    /// The lanes of every thread for `query` (on this trace's clock), with
    /// the labels of the codes painted.
    fn lane_group(&self, query: &TimelineQuery) -> LaneGroup {
        let lanes: Vec<Lane> = self
            .shown
            .tree
            .threads
            .iter()
            .enumerate()
            .map(|(thread, t)| Lane {
                thread: thread as u32,
                name: self.index.threads[t.slot].name.clone(),
                depth: t.depth,
                frames: self
                    .timeline(TimelineQuery {
                        thread: thread as u32,
                        ..query.clone()
                    })
                    .frames,
            })
            .collect();
        let painted: BTreeSet<u32> = lanes
            .iter()
            .flat_map(|l| l.frames.iter().map(|f| f.code))
            .collect();
        let codes = if painted.is_empty() {
            Vec::new()
        } else {
            let labels = relabel(self.shown_tables(), &self.shown.naming);
            painted
                .into_iter()
                .filter_map(|c| Some((c, labels.get(c as usize)?.label.clone())))
                .collect()
        };
        LaneGroup {
            lanes,
            codes,
            ..LaneGroup::default()
        }
    }

    /// Decodes chunk `chunk` again into the cache, unless it is there.
    fn decode(&mut self, chunk: usize) -> Result<(), String> {
        if self.cached.as_ref().is_some_and(|(c, _)| *c == chunk) {
            return Ok(());
        }
        let entry = self
            .chunks
            .get(chunk)
            .copied()
            .ok_or("no such chunk in the file")?;
        let range = entry.range();
        let bytes = self
            .file
            .read(range.start, range.end)
            .map_err(|e| format!("cannot read “{}” again: {e}", self.name))?;
        let events = self
            .replayer
            .events(&entry, &bytes)
            .map_err(|e| format!("cannot read “{}” again: {e}", self.name))?;
        self.cached = Some((chunk, events));
        Ok(())
    }

    /// Appends the events numbered `range` that are on thread `thread` to `out`.
    fn events_in(
        &mut self,
        range: std::ops::Range<u64>,
        thread: u32,
        out: &mut Vec<(u64, Event)>,
    ) -> Result<(), String> {
        let mut chunk = self
            .chunks
            .partition_point(|c| c.first_event + u64::from(c.events) <= range.start);
        while let Some(entry) = self.chunks.get(chunk).copied() {
            if entry.first_event >= range.end {
                break;
            }
            self.decode(chunk)?;
            if let Some((_, events)) = &self.cached {
                let from = range.start.saturating_sub(entry.first_event) as usize;
                let to = (range.end - entry.first_event).min(events.len() as u64) as usize;
                let first = entry.first_event + from as u64;
                out.extend(
                    events
                        .get(from..to)
                        .unwrap_or_default()
                        .iter()
                        .zip(first..)
                        .filter(|(e, _)| e.thread() == thread)
                        .map(|(e, position)| (position, e.clone())),
                );
            }
            chunk += 1;
        }
        Ok(())
    }

    /// The recorded events of frame `f` of thread slot `slot` that its steps
    /// are made of: its entry, its own lines and raises (not those of the
    /// frames it calls, which are not read) and its exit; at most
    /// [`MAX_STEPS`] of its own, and one more to say that it was cut.
    /// Each event comes with its position in the trace.
    fn frame_events(&mut self, slot: usize, f: usize) -> Result<Vec<(u64, Event)>, String> {
        let calls = &self.index.threads[slot];
        let number = calls.number;
        let start = u64::from(calls.start[f]);
        let end = u64::from(calls.end[f]);
        let mut next = f + 1;
        let stop = next + calls.size[f] as usize;
        let mut events = Vec::new();
        let mut cursor = start;
        let wanted = MAX_STEPS + 2;
        while next < stop {
            let calls = &self.index.threads[slot];
            let (from, to) = (u64::from(calls.start[next]), u64::from(calls.end[next]));
            let open = calls.exit(next) == Exit::Open;
            next += 1 + calls.size[next] as usize;
            if from > cursor {
                self.events_in(cursor..from, number, &mut events)?;
            }
            if open || events.len() > wanted {
                return Ok(events);
            }
            cursor = to + 1;
        }
        if cursor <= end {
            self.events_in(cursor..end + 1, number, &mut events)?;
        }
        Ok(events)
    }

    /// The step of the displayed trace where learned text `text` (an index
    /// into the shown learned texts) was learned, if it is displayed.
    fn learned_at(&mut self, text: usize) -> Option<Moment> {
        let learned = &self.shown.learned[text];
        if let Some(at) = learned.at {
            return at;
        }
        let (position, thread) = (learned.position, learned.thread);
        let at = self.moment_of_event(thread, position);
        self.shown.learned[text].at = Some(at);
        at
    }

    /// The step that event `position` of recorded thread `thread` is in
    /// the displayed trace: the innermost displayed frame holding it, and
    /// the step of that frame it made (or follows).
    fn moment_of_event(&mut self, thread: u32, position: u64) -> Option<Moment> {
        let key = self
            .shown
            .tree
            .node_at_event(&self.index, thread, position)?;
        let (slot, f) = self.shown.tree.frame_of(key.thread as usize, key.node)?;
        let recorded_code = self.index.threads[slot].code[f];
        let events = self.frame_events(slot, f).ok()?;
        let before = events
            .iter()
            .take_while(|(p, _)| *p <= position)
            .map(|(_, e)| e);
        let steps = Frame::from_events(before, recorded_code, None).steps.len();
        let code = self
            .shown
            .code_map
            .iter()
            .position(|&c| c == recorded_code)
            .map_or(recorded_code, |c| c as u32);
        Some(Moment {
            key,
            code,
            step: steps.saturating_sub(1),
        })
    }

    /// The steps of a displayed frame.
    fn frame(&mut self, key: NodeKey) -> Response {
        let Some((slot, f)) = self.shown.tree.frame_of(key.thread as usize, key.node) else {
            return bad_request("no such call in the displayed trace");
        };
        let recorded_code = self.index.threads[slot].code[f];
        let events = match self.frame_events(slot, f) {
            Ok(events) => events,
            Err(message) => return Response::Failed { message },
        };
        let shown = &mut self.shown;
        // The frame as recorded: which text a value redacted by value held,
        // and which entries the filter took out of a value.
        let mut recorded_events = Vec::new();
        let (events, codes) = match &mut shown.filter {
            Some(filter) => {
                let thread = shown.next_thread;
                shown.next_thread = shown.next_thread.wrapping_add(1);
                let mut kept = Vec::with_capacity(events.len() + 1);
                recorded_events = events.iter().map(|(_, e)| e.clone()).collect();
                // Each event is redacted by value with what the filter had
                // learned before it in a full pass, and what it teaches itself.
                *filter.secrets_mut() = Secrets::default();
                let mut learned = shown.learned.iter().peekable();
                for (position, mut event) in events {
                    while let Some(l) = learned.next_if(|l| l.position < position) {
                        filter
                            .secrets_mut()
                            .learn_text(&l.text, || l.origin.clone());
                    }
                    *event.thread_mut() = thread;
                    filter.take(event, &mut kept);
                }
                (kept, &filter.tables().codes)
            }
            None => (
                events.into_iter().map(|(_, event)| event).collect(),
                &self.tables.trace.codes,
            ),
        };
        let code = shown
            .code_map
            .iter()
            .position(|&c| c == recorded_code)
            .map_or(recorded_code, |c| c as u32);
        let steps = events
            .iter()
            .filter(|e| !matches!(e, Event::ThreadStart { .. }));
        let mut frame = Frame::from_events(steps, code, codes.get(code as usize));
        let index = recorded_code as usize;
        let module_level = self
            .tables
            .trace
            .codes
            .get(index)
            .is_some_and(CodeInfo::is_module_body);
        if let Some(decision) = self.recorded_decisions.get(index) {
            frame.mark_record_time(decision, module_level);
        }
        if let Some(decision) = self.shown.decisions.get(index) {
            frame.mark_by_value(decision, module_level);
        }
        let decisions = [
            self.recorded_decisions.get(index),
            self.shown.decisions.get(index),
        ];
        // An inner name is worth naming when either filter takes it out.
        let takes_out = |v: &ValueView, inner: &InnerName| {
            let site = v.site(module_level);
            decisions.iter().flatten().any(|d| {
                inner
                    .action(d, site)
                    .is_some_and(|(_, a)| a != Action::Allow)
            })
        };
        if recorded_events.is_empty() {
            frame.keep_inner(takes_out);
            return Response::Frame { key, frame };
        }
        let steps = recorded_events
            .iter()
            .filter(|e| !matches!(e, Event::ThreadStart { .. }));
        let code_info = self.tables.trace.codes.get(index);
        let recorded = Frame::from_events(steps, recorded_code, code_info);
        frame.inner_from(&recorded, takes_out);
        let texts: Vec<&str> = self.shown.learned.iter().map(|l| l.text.as_str()).collect();
        for (step, change, text) in frame.texts_held(&recorded, &texts) {
            let at = self.learned_at(text);
            let origin = &self.shown.learned[text].origin;
            let change = &mut frame.steps[step].changes[change];
            change.learned_from = Some(match at {
                Some(at) => format!("{origin}, step {}", at.step + 1),
                None => origin.clone(),
            });
            change.learned_at = at;
        }
        Response::Frame { key, frame }
    }

    /// Streams the displayed trace as a trace file: `DownloadPart`s, then
    /// the `Download` with the last bytes.
    fn download(&mut self, out: &mut dyn FnMut(Response)) {
        let name = refiltered_name(&self.name);
        let size = self.file.size();
        let mut parts = Parts {
            out,
            buf: Vec::new(),
        };
        let written = match (&self.shown.filter, &self.shown.chain) {
            (Some(_), Some(chain)) => {
                let source = BufReader::with_capacity(
                    SLICE_BYTES,
                    FileRead {
                        file: self.file.as_mut(),
                        at: 0,
                        size,
                    },
                );
                EventStream::open(source)
                    .and_then(|events| {
                        refilter_stream(&self.tables, events, chain, &self.shown.naming, &mut parts)
                    })
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            // Shown as recorded: the file as it is (up to any damage).
            _ => {
                let end = self
                    .tables
                    .truncation
                    .as_ref()
                    .map_or(size, |t| t.valid_bytes.min(size));
                let mut at = 0;
                let mut result = Ok(());
                while at < end && result.is_ok() {
                    let to = end.min(at + SLICE_BYTES as u64);
                    result = self
                        .file
                        .read(at, to)
                        .and_then(|bytes| parts.write_all(&bytes).map_err(|e| e.to_string()));
                    at = to;
                }
                result
            }
        };
        let Parts { out, buf } = parts;
        match written {
            Ok(()) => out(Response::Download { name, bytes: buf }),
            Err(e) => out(Response::Failed {
                message: format!("cannot write the re-filtered trace: {e}"),
            }),
        }
    }

    /// The playground's and the recording's explanations of a code or value.
    fn why(&self, code: u32, value: Option<&ValueRef>) -> Response {
        let index = code as usize;
        let Some(info) = self.tables.trace.codes.get(index) else {
            return bad_request("no such code object in the trace");
        };
        let module_level = info.is_module_body();
        let label = self
            .shown
            .decisions
            .get(index)
            .map(Decision::label)
            .unwrap_or_else(|| info.qualname.clone());
        let recorded = self.recorded_decisions.get(index);
        let playground = self.shown.decisions.get(index);
        let mut notes = Vec::new();
        let title = match value {
            Some(v) => format!("why? {} {} in {label}", v.role.word(), v.name),
            None => format!("why? {label} ({}:{})", info.filename, info.first_line),
        };
        let (playground_value, recorded_value) = match value {
            Some(v) if v.role == Role::Exception => {
                notes.push(
                    "A raised exception is always recorded; only its attributes are decided, each as `attr NAME`."
                        .into(),
                );
                (None, None)
            }
            Some(v) => (
                playground.and_then(|d| value_why(d, v, module_level)),
                recorded.and_then(|d| value_why(d, v, module_level)),
            ),
            None => (None, None),
        };
        match (playground, value) {
            (None, _) => notes.push(
                "The playground's filter does not load: fix it to see what it decides.".into(),
            ),
            (Some(d), None) if !d.is_recorded() => notes.push(format!(
                "The playground's filter skips {label}: its events are left out of the displayed trace (the frames it calls stay)."
            )),
            (Some(_), None) => notes.push(format!(
                "The playground's filter traces {label}."
            )),
            _ => {}
        }
        if module_level && matches!(value, Some(v) if v.role == Role::Local) {
            notes.push(
                "At module level the locals are the globals: the stricter of the `local` and `global` actions applies."
                    .into(),
            );
        }
        if let Some(rv) = &recorded_value {
            if rv.action != Action::Allow.token() {
                let what = if rv.action == Action::Redact.token() {
                    "redacted"
                } else {
                    "dropped"
                };
                notes.push(format!(
                    "This value was {what} when the trace was recorded ({}): the trace file does not hold it, so it stays {what} whatever the playground's filter says.",
                    rv.summary
                ));
            }
        }
        match value.filter(|v| v.by_value).map(|v| &v.learned_from) {
            Some(Some(origin)) => notes.push(format!(
                "Redacted by value: its name is allowed, but it holds the same text as {origin}, which the filter redacted earlier in the trace; such a text is redacted wherever it appears after that."
            )),
            Some(None) => notes.push(
                "Redacted by value: its name is allowed, but it holds the text of a value redacted earlier in the trace (when the trace was recorded, so where is not in the file); such a text is redacted wherever it appears after that."
                    .into(),
            ),
            None => {}
        }
        if let Some(v) = value {
            let site = v.role.site(&v.name, module_level);
            for inner in &v.inner {
                if let Some(why) = playground.and_then(|d| inner_why(d, site, inner)) {
                    notes.push(format!("Inside it, the playground's filter {why}."));
                }
                if let Some(why) = recorded.and_then(|d| inner_why(d, site, inner)) {
                    notes.push(format!(
                        "Inside it, when the trace was recorded, the filter {why}: the file does not hold it."
                    ));
                }
            }
        }
        if recorded.is_none() {
            notes.push(
                "The record-time filter chain no longer loads, so its decision cannot be shown."
                    .into(),
            );
        }
        Response::Why(Box::new(WhyView {
            title,
            playground: playground.map(pretty).unwrap_or_default(),
            playground_value,
            recorded_value,
            recorded: recorded.map(pretty),
            notes,
        }))
    }
}

/// The first of `count` rows to send: `first`, unless the row at
/// `position` is not among them (then the rows around it); at most `total`.
fn around(first: usize, count: usize, position: Option<usize>, total: usize) -> usize {
    let first = match position {
        Some(p) if p < first || p >= first + count => p.saturating_sub(count / 2),
        _ => first,
    };
    first.min(total.saturating_sub(count.min(total)))
}

/// The attached file as a [`Read`], from the start.
struct FileRead<'a> {
    file: &'a mut dyn Attachment,
    at: u64,
    size: u64,
}

impl Read for FileRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let end = self.size.min(self.at + buf.len() as u64);
        if end <= self.at {
            return Ok(0);
        }
        let bytes = self.file.read(self.at, end).map_err(io::Error::other)?;
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        self.at += n as u64;
        Ok(n)
    }
}

/// A writer that hands out what is written in parts of [`SLICE_BYTES`].
struct Parts<'a> {
    out: &'a mut dyn FnMut(Response),
    buf: Vec<u8>,
}

impl Write for Parts<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= SLICE_BYTES {
            let bytes = std::mem::take(&mut self.buf);
            (self.out)(Response::DownloadPart { bytes });
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The engine's explanation of the value `v` in the scope `decision`
/// decided, asked as the recorder asks (the engine's `policy::Site`);
/// `None` for a raised exception, which is not decided as a whole.
fn value_why(decision: &Decision, v: &ValueRef, module_level: bool) -> Option<ValueWhyView> {
    let site = v.role.site(&v.name, module_level);
    let (kind, name) = site.query(decision)?;
    let (_, action) = site.action(decision)?;
    let json = decision.explain_value(kind, name);
    let mut summary = describe_value(&json, action);
    if module_level && kind == ValueKind::Local {
        let global = decision.explain_value(ValueKind::Global, name);
        summary = format!(
            "{summary}; as a global: {}",
            describe_value(&global, decision.action(ValueKind::Global, name))
        );
    }
    Some(ValueWhyView {
        action: action.token().to_string(),
        query: format!("{} {name}", kind.token()),
        json: serde_json::to_string_pretty(&json).unwrap_or_default(),
        summary,
    })
}

/// What `decision` does to an attribute or dict key inside a value at
/// `site`, when it takes it out: "redacts the `api_key` entry (a dict key
/// is decided by the value patterns of `arg`: redact by pattern …)".
fn inner_why(decision: &Decision, site: Site<'_>, inner: &InnerName) -> Option<String> {
    let (kind, action) = inner.action(decision, site)?;
    let verb = match action {
        Action::Allow => return None,
        Action::Redact => "redacts",
        Action::Drop => "drops",
    };
    let how = describe_value(&decision.explain_value(kind, &inner.name), action);
    Some(if inner.is_key {
        format!(
            "{verb} the `{}` entry (a dict key is decided by the value patterns of `{}`: {how})",
            inner.name,
            kind.token()
        )
    } else {
        format!("{verb} the attribute `{}` ({how})", inner.name)
    })
}

/// One line from a value's explanation JSON (`explain.rs`'s `values` shape).
fn describe_value(json: &serde_json::Value, action: Action) -> String {
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_string();
    let action = action.token();
    match json["why"].as_str() {
        Some("pattern") => {
            let p = &json["pattern"];
            let rule = &p["rule"];
            format!(
                "{action} by pattern {} ({}) of rule {} ({}) in {}",
                p["index"],
                text(&p["selector"]),
                rule["index_in_source"],
                text(&rule["selector"]),
                text(&rule["path"])
            )
        }
        Some("module_level") => {
            format!("{action}: at module level the locals are the globals, and the stricter `global` decision applies")
        }
        Some("stricter_default") => {
            format!("{action}: a pattern matched, but a later filter's value default is stricter")
        }
        _ => format!("{action}: no pattern matched, the value default applies"),
    }
}

/// The decision's JSON, pretty-printed.
fn pretty(decision: &Decision) -> String {
    serde_json::to_string_pretty(decision).unwrap_or_default()
}

/// Checks the playground's filters when no trace is open: loaded after
/// the built-in head, from `.codetracer/` paths, for POSIX.
fn validate(generation: u64, state: &PlaygroundState) -> Response {
    let mut sources = builtin::head(true, state.framework);
    let mut paths = Vec::new();
    for (index, text) in state.filters.iter().enumerate() {
        if text.trim().is_empty() {
            continue;
        }
        let path = match index {
            0 => ".codetracer/trace-filter.toml".to_string(),
            n => format!(".codetracer/playground-{}.toml", n + 1),
        };
        paths.push((path.clone(), index));
        sources.push(FilterSource::file(path, text.clone()));
    }
    match FilterChain::load(&sources, Platform::Posix) {
        Ok(_) => Response::FilterOk { generation },
        Err(e) => Response::FilterProblem {
            generation,
            problem: problem(&e, &paths),
        },
    }
}

/// Where a playground filter with no record-time counterpart loads from.
fn playground_path(trace: &Trace, index: usize) -> String {
    let cwd = trace.header.cwd.trim_end_matches(['/', '\\']);
    let sep = if cwd.contains('\\') && !cwd.contains('/') {
        '\\'
    } else {
        '/'
    };
    let file = if index == 0 {
        "trace-filter.toml".to_string()
    } else {
        format!("playground-{}.toml", index + 1)
    };
    format!("{cwd}{sep}.codetracer{sep}{file}")
}

/// A filter error as the page shows it, attributed to a playground filter.
fn problem(e: &FilterError, paths: &[(String, usize)]) -> FilterProblem {
    FilterProblem {
        filter: paths
            .iter()
            .find(|(path, _)| *path == e.source)
            .map(|(_, i)| *i),
        line: e.location.map(|l| l.line as usize),
        column: e.location.map(|l| l.column as usize),
        message: e.message(),
    }
}

/// A clear message for a file that cannot be read at all.
fn unreadable(name: &str, e: &TraceError) -> String {
    let hint = match e {
        TraceError::NotATrace { .. } => {
            " Open a .tsieve file recorded with `tracesieve record -o trace.tsieve app.py`."
        }
        TraceError::UnsupportedVersion { .. } => "",
        TraceError::BadHeader { .. } => " The file is cut or damaged at its very start.",
        TraceError::OverLimit { .. } => "",
    };
    format!("“{name}” cannot be opened: {e}.{hint}")
}

/// `NAME.refiltered.tsieve`, from the opened file's name.
fn refiltered_name(name: &str) -> String {
    let stem = name.strip_suffix(".tsieve").unwrap_or(name);
    let stem: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = if stem.is_empty() {
        "trace".into()
    } else {
        stem
    };
    format!("{stem}.refiltered.tsieve")
}

/// An engine value converted to the page's mirror type, through its JSON.
fn no_trace() -> Response {
    bad_request("no trace is open")
}

fn bad_request(message: &str) -> Response {
    Response::Failed {
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calltree::{ancestors, search_rows, visible_rows, CallTree, ThreadCalls};
    use crate::protocol::{ExceptionOutcome, FunctionsView, Place, PlaygroundState};
    use crate::steps::{Marker, StepKind};
    use crate::testkit::*;
    use std::collections::HashSet;
    use tracesieve_engine::trace::refilter::refilter;
    use tracesieve_engine::trace::{
        read_trace, try_write_trace, write_trace, Attr, ProcessInfo, ProcessStart, Slot, Trace,
        TraceWriter, Value, Var,
    };
    use tracesieve_engine::NamingMode;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const USER: &str = "[meta]\nname = \"shop\"\nversion = 1\n\n[scope]\ndefault_exec = \"inherit\"\ndefault_value_action = \"inherit\"\n\n[[scope.rules]]\nselector = \"obj:shop.pay.charge\"\n\n[[scope.rules.value_patterns]]\nselector = \"arg:note\"\naction = \"redact\"\n";

    /// A recorded trace: `<module>` calls `charge` (`note` redacted at record
    /// time) and `refund`, with the built-in default and `USER` as its chain.
    fn recorded() -> Trace {
        let mut sources = builtin::sources(None);
        sources.push(FilterSource::file(
            "/proj/.codetracer/trace-filter.toml",
            USER,
        ));
        let chain = FilterChain::load(&sources, Platform::Posix).unwrap();
        let mut t = trace(vec![
            thread_start(0, "MainThread", 0),
            call(0, 0, 1),
            line(0, 1, 2),
            call_with(
                0,
                1,
                3,
                vec![
                    int_var(ValueKind::Arg, "amount", 5),
                    marker_var(ValueKind::Arg, "note", Slot::Redacted),
                ],
            ),
            line_with(0, 4, 4, vec![int_var(ValueKind::Local, "total", 5)]),
            ret(0, 5),
            call(0, 2, 6),
            line(0, 8, 7),
            ret(0, 8),
            ret(0, 9),
        ]);
        t.header.filters = RecordedFilter::from_chain(&chain);
        t
    }

    fn run(session: &mut Session, request: Request) -> Vec<Response> {
        let mut out = Vec::new();
        session.handle(request, Vec::new(), &mut |r| out.push(r));
        out
    }

    fn open(session: &mut Session, name: &str, bytes: Vec<u8>) -> Vec<Response> {
        let mut out = Vec::new();
        let request = Request::Open {
            names: vec![name.into()],
            tree: rows_query(0),
        };
        session.handle(request, vec![Box::new(bytes)], &mut |r| out.push(r));
        out
    }

    fn opened(bytes: Vec<u8>) -> (Session, Vec<Response>) {
        let mut session = Session::new();
        let out = open(&mut session, "t.tsieve", bytes);
        (session, out)
    }

    /// The first rows of thread `thread`.
    fn rows_query(thread: u32) -> TreeQuery {
        TreeQuery {
            thread,
            count: 50,
            ..TreeQuery::default()
        }
    }

    fn play(generation: u64, state: PlaygroundState) -> Request {
        Request::Playground {
            generation,
            state,
            tree: rows_query(0),
            selected: None,
        }
    }

    fn view(response: &Response) -> &TraceView {
        match response {
            Response::View(v) => v,
            other => panic!("expected a view, got {other:?}"),
        }
    }

    fn state(filter: &str) -> PlaygroundState {
        PlaygroundState {
            filters: vec![filter.into()],
            ..PlaygroundState::default()
        }
    }

    #[test]
    fn opening_reports_progress_then_the_trace_as_recorded() {
        let (_, out) = opened(write_trace(&recorded()));
        assert!(matches!(out[0], Response::Progress { .. }));
        let Response::Opened(opened) = &out[1] else {
            panic!("{:?}", out[1]);
        };
        assert_eq!(opened.recorded.filters, vec![USER.to_string()]);
        assert_eq!(
            opened.filter_paths,
            vec!["/proj/.codetracer/trace-filter.toml"]
        );
        assert_eq!(opened.summary.total_events, 10);
        assert!(opened.warning.is_none());
        let v = view(&out[2]);
        assert_eq!(v.generation, 0);
        assert_eq!((v.calls_kept, v.calls_recorded), (3, 3));
        assert_eq!(v.codes[0].label, "<shop.pay>");
        assert_eq!(v.chain.len(), 2);
        assert!(v.skipped.is_empty());
    }

    #[test]
    fn the_recorded_state_changes_nothing_and_a_skip_removes_calls() {
        let (mut session, _) = opened(write_trace(&recorded()));
        let out = run(&mut session, play(1, state(USER)));
        let same = view(&out[0]);
        assert_eq!((same.calls_kept, same.report.events), (3, 10));
        let skip = format!(
            "{USER}\n[[scope.rules]]\nselector = \"obj:shop.pay.refund\"\nexec = \"skip\"\n"
        );
        let out = run(&mut session, play(2, state(&skip)));
        let v = view(&out[0]);
        assert_eq!(v.generation, 2);
        assert_eq!(v.calls_kept, 2);
        assert_eq!(v.skipped.len(), 1);
        assert_eq!(v.skipped[0].label, "refund");
        assert_eq!(v.report.added.scopes_skipped, 1);
        assert!(v.codes.iter().all(|c| c.label != "refund"));
    }

    /// `<module>` calls `charge`, which raises a ValueError that `<module>`
    /// catches at line 2; then `refund` raises a KeyError that escapes.
    fn raising() -> Trace {
        let mut t = recorded();
        t.events = vec![
            thread_start(0, "MainThread", 0),
            call(0, 0, 1),
            line(0, 1, 2),
            call(0, 1, 3),
            line(0, 4, 4),
            raise(0, 4, "ValueError", 5),
            unwind(0, "ValueError", 6),
            line(0, 2, 7),
            call(0, 2, 8),
            line(0, 8, 9),
            raise(0, 8, "KeyError", 10),
            unwind(0, "KeyError", 11),
            unwind(0, "KeyError", 12),
        ];
        t
    }

    #[test]
    fn the_exceptions_list_says_where_each_was_caught_and_opens_at_the_escaped_one() {
        let (mut session, _) = opened(write_trace(&raising()));
        let out = run(&mut session, play(1, state(USER)));
        let v = view(&out[0]);
        let label = |p: &Place| format!("{}:{}", v.codes[p.code as usize].label, p.line);
        let rows: Vec<(String, String, String)> = v
            .exceptions
            .rows
            .iter()
            .map(|r| {
                let outcome = match &r.outcome {
                    ExceptionOutcome::Caught(p) => format!("caught in {}", label(p)),
                    other => format!("{other:?}"),
                };
                (
                    r.type_name.clone().unwrap_or_default(),
                    label(&r.raised),
                    outcome,
                )
            })
            .collect();
        assert_eq!(
            rows,
            [
                (
                    "ValueError".into(),
                    "charge:4".into(),
                    "caught in <shop.pay>:2".into()
                ),
                ("KeyError".into(), "refund:8".into(), "Escaped".into()),
            ]
        );
        assert_eq!(v.exceptions.total, 2);
        // The page opens at the KeyError's raise: refund's step 1 (after entering).
        let failure = v.exceptions.failure.expect("a failure to open at");
        assert_eq!(v.codes[failure.code as usize].label, "refund");
        let Response::Frame { frame, .. } =
            &run(&mut session, Request::Frame { key: failure.key })[0]
        else {
            panic!("no frame");
        };
        assert_eq!(frame.steps[failure.step].kind, StepKind::Raise);
        assert_eq!(frame.steps[failure.step].line, 8);
        // A row's raise is a step the page can go to.
        let at = v.exceptions.rows[0].at;
        let Response::At(Some(moment)) = &run(&mut session, Request::At(at))[0] else {
            panic!("no moment");
        };
        assert_eq!(v.codes[moment.code as usize].label, "charge");
    }

    #[test]
    fn a_raise_in_a_skipped_frame_is_not_listed() {
        let (mut session, _) = opened(write_trace(&raising()));
        let skip = format!(
            "{USER}\n[[scope.rules]]\nselector = \"obj:shop.pay.refund\"\nexec = \"skip\"\n"
        );
        let out = run(&mut session, play(1, state(&skip)));
        let v = view(&out[0]);
        let types: Vec<Option<String>> = v
            .exceptions
            .rows
            .iter()
            .map(|r| r.type_name.clone())
            .collect();
        assert_eq!(types, [Some("ValueError".to_string())]);
        assert_eq!(v.exceptions.total, 1);
        assert_eq!(v.exceptions.failure, None);
    }

    fn functions(session: &mut Session) -> FunctionsView {
        match run(session, Request::Functions { generation: 7 }).remove(0) {
            Response::Functions(table) => *table,
            other => panic!("expected a function table, got {other:?}"),
        }
    }

    #[test]
    fn the_function_table_counts_calls_total_and_self_time_and_who_called_whom() {
        let (mut session, out) = opened(write_trace(&recorded()));
        let codes = view(&out[2]).codes.clone();
        let label = |c: u32| {
            codes
                .get(c as usize)
                .map_or("(root)".to_string(), |c| c.label.clone())
        };
        let table = functions(&mut session);
        assert_eq!(table.generation, 7);
        let rows: Vec<(String, u64, u64, u64)> = table
            .rows
            .iter()
            .map(|r| (label(r.code), r.calls, r.total_ns, r.self_ns))
            .collect();
        // <module> runs from t=1 to 9, charge 3 to 5, refund 6 to 8.
        assert_eq!(
            rows,
            [
                ("<shop.pay>".to_string(), 1, 8, 4),
                ("charge".to_string(), 1, 2, 2),
                ("refund".to_string(), 1, 2, 2),
            ]
        );
        let edges: Vec<(String, String, u64)> = table
            .edges
            .iter()
            .map(|e| (label(e.caller), label(e.callee), e.calls))
            .collect();
        assert!(edges.contains(&("(root)".into(), "<shop.pay>".into(), 1)));
        assert!(edges.contains(&("<shop.pay>".into(), "charge".into(), 1)));
        assert!(edges.contains(&("<shop.pay>".into(), "refund".into(), 1)));
        // Skipping refund makes its time <module>'s own.
        let skip = format!(
            "{USER}\n[[scope.rules]]\nselector = \"obj:shop.pay.refund\"\nexec = \"skip\"\n"
        );
        run(&mut session, play(1, state(&skip)));
        let table = functions(&mut session);
        let module = table
            .rows
            .iter()
            .find(|r| r.calls == 1 && r.total_ns == 8)
            .expect("module row");
        assert_eq!(module.self_ns, 6);
        assert_eq!(table.rows.len(), 2);
    }

    #[test]
    fn recursion_is_not_counted_twice_in_total_time() {
        let mut t = recorded();
        t.events = vec![
            thread_start(0, "MainThread", 0),
            call(0, 1, 10),
            call(0, 1, 12),
            call(0, 1, 13),
            ret(0, 14),
            ret(0, 16),
            ret(0, 20),
        ];
        let (mut session, _) = opened(write_trace(&t));
        let table = functions(&mut session);
        assert_eq!(table.rows.len(), 1);
        let charge = &table.rows[0];
        assert_eq!((charge.calls, charge.total_ns, charge.self_ns), (3, 10, 10));
    }

    #[test]
    fn the_view_shows_argv_as_the_playground_chain_records_it() {
        let mut trace = recorded();
        trace.header.argv = [
            "pay.py",
            "--api-key",
            "k-123",
            "--user=ada",
            "--store",
            "north",
        ]
        .map(String::from)
        .to_vec();
        let (mut session, _) = opened(write_trace(&trace));
        let out = run(&mut session, play(1, state(USER)));
        assert_eq!(
            view(&out[0]).argv,
            [
                "pay.py",
                "--api-key",
                "<redacted>",
                "--user=ada",
                "--store",
                "north"
            ]
        );
        let store = format!(
            "{USER}\n[[scope.rules]]\nselector = \"file:glob:**\"\n[[scope.rules.value_patterns]]\nselector = \"arg:store\"\naction = \"redact\"\n"
        );
        let out = run(&mut session, play(2, state(&store)));
        assert_eq!(
            view(&out[0]).argv,
            [
                "pay.py",
                "--api-key",
                "<redacted>",
                "--user=ada",
                "--store",
                "<redacted>"
            ]
        );
    }

    #[test]
    fn a_broken_filter_is_placed_at_its_line() {
        let (mut session, _) = opened(write_trace(&recorded()));
        let broken = "[meta]\nname = \"x\"\nversion = 1\n[scope]\ndefault_exec = \"inherit\"\ndefault_value_action = \"inherit\"\n[[scope.rules]]\nselector = \"pkg:foo:bar\"\nexec = \"skip\"\n";
        let out = run(&mut session, play(5, state(broken)));
        let Response::FilterProblem {
            generation,
            problem,
        } = &out[0]
        else {
            panic!("{:?}", out[0]);
        };
        assert_eq!(*generation, 5);
        assert_eq!(problem.filter, Some(0));
        assert_eq!(problem.line, Some(8), "{}", problem.text());
        assert!(problem
            .text()
            .starts_with("line 8, column 17: scope.rules[0]: invalid selector"));
    }

    #[test]
    fn naming_mode_relabels_module_bodies() {
        let (mut session, _) = opened(write_trace(&recorded()));
        let out = run(
            &mut session,
            play(
                1,
                PlaygroundState {
                    filters: vec![USER.into()],
                    naming: NamingMode::Paths,
                    roots: vec!["/proj/shop".into()],
                    framework: None,
                },
            ),
        );
        let v = view(&out[0]);
        assert_eq!(v.codes[0].label, "<pay>");
        assert!(v.codes[0].module_reason.contains("/proj/shop"));
    }

    #[test]
    fn frames_and_why_explain_record_time_redactions() {
        let (mut session, _) = opened(write_trace(&recorded()));
        let out = run(
            &mut session,
            Request::Frame {
                key: NodeKey { thread: 0, node: 1 },
            },
        );
        let Response::Frame { frame, .. } = &out[0] else {
            panic!("{:?}", out[0]);
        };
        assert_eq!(frame.steps[0].kind, StepKind::Enter);
        assert_eq!(frame.steps[0].changes[1].marker, Marker::Redacted);
        assert!(
            frame.steps[0].changes[1].at_record_time,
            "USER redacts `note`"
        );
        assert!(!frame.steps[0].changes[0].at_record_time);
        // A filter that allows `note`: it stays redacted, and why says so.
        let allow = "[meta]\nname = \"open\"\nversion = 1\n[scope]\ndefault_exec = \"inherit\"\ndefault_value_action = \"inherit\"\n";
        let out = run(&mut session, play(1, state(allow)));
        assert!(matches!(out[0], Response::View(_)), "{:?}", out[0]);
        let out = run(
            &mut session,
            Request::Why {
                code: 1,
                value: Some(ValueRef {
                    role: Role::Arg,
                    name: "note".into(),
                    by_value: false,
                    learned_from: None,
                    inner: Vec::new(),
                }),
            },
        );
        let Response::Why(why) = &out[0] else {
            panic!("{:?}", out[0]);
        };
        assert_eq!(why.playground_value.as_ref().unwrap().action, "allow");
        assert_eq!(why.recorded_value.as_ref().unwrap().action, "redact");
        assert!(why.notes.iter().any(|n| n.contains("stays redacted")));
        assert!(why.playground.contains("\"module_name\": \"shop.pay\""));
        let out = run(
            &mut session,
            Request::Why {
                code: 9,
                value: None,
            },
        );
        assert!(matches!(out[0], Response::Failed { .. }));
    }

    #[test]
    fn a_text_redacted_by_name_is_redacted_by_value_later_and_marked_so() {
        let mut trace = recorded();
        trace.events = vec![
            thread_start(0, "MainThread", 0),
            call(0, 0, 1),
            call(0, 1, 2),
            line_with(
                0,
                4,
                3,
                vec![text_var(ValueKind::Local, "key", "key-0001".into())],
            ),
            line_with(
                0,
                5,
                4,
                vec![text_var(ValueKind::Local, "msg", "with key-0001".into())],
            ),
            ret(0, 5),
            ret(0, 6),
        ];
        let (mut session, _) = opened(write_trace(&trace));
        let key = format!(
            "{USER}\n[[scope.rules]]\nselector = \"pkg:shop.*\"\n[[scope.rules.value_patterns]]\nselector = \"local:key\"\naction = \"redact\"\n"
        );
        let out = run(&mut session, play(1, state(&key)));
        let report = &view(&out[0]).report;
        let out = run(
            &mut session,
            Request::Frame {
                key: NodeKey { thread: 0, node: 1 },
            },
        );
        let Response::Frame { frame, .. } = &out[0] else {
            panic!("{:?}", out[0]);
        };
        let values: Vec<_> = frame.steps.iter().flat_map(|s| &s.changes).collect();
        let (key, msg) = (values[0], values[1]);
        assert_eq!((key.marker, key.by_value), (Marker::Redacted, false));
        assert_eq!((msg.marker, msg.by_value), (Marker::Redacted, true));
        // The step is the line where `key` was set: step 2 of this frame.
        assert_eq!(
            msg.learned_from.as_deref(),
            Some("local `key` in shop.pay.charge, step 2")
        );
        assert_eq!(
            msg.learned_at,
            Some(Moment {
                key: NodeKey { thread: 0, node: 1 },
                code: 1,
                step: 1
            })
        );
        // why? on it, as the page asks: the note names where the text was learned.
        let out = run(
            &mut session,
            Request::Why {
                code: 1,
                value: Some(ValueRef {
                    role: msg.role,
                    name: msg.name.clone(),
                    by_value: msg.by_value,
                    learned_from: msg.learned_from.clone(),
                    inner: msg.inner.clone(),
                }),
            },
        );
        let Response::Why(why) = &out[0] else {
            panic!("{:?}", out[0]);
        };
        assert!(
            why.notes
                .iter()
                .any(|n| n.contains("same text as local `key` in shop.pay.charge")),
            "{:?}",
            why.notes
        );
        assert_eq!(report.added.redacted.get("local"), Some(&2), "{report:?}");
    }

    #[test]
    fn entries_taken_out_by_key_are_explained_and_a_learned_text_links_to_its_step() {
        let text = |s: &str| Value::Str {
            value: s.into(),
            length: s.len() as u64,
        };
        let options = Var {
            kind: ValueKind::Arg,
            name: "options".into(),
            value: Slot::Value {
                value: Value::Dict {
                    entries: vec![
                        (text("password"), text("hunter2-xyz")),
                        (text("host"), text("db")),
                    ],
                    length: 2,
                },
            },
        };
        let mut trace = recorded();
        trace.events = vec![
            thread_start(0, "MainThread", 0),
            call(0, 0, 1),
            call_with(0, 1, 2, vec![options]),
            ret(0, 3),
            call(0, 2, 4),
            line_with(
                0,
                8,
                5,
                vec![text_var(ValueKind::Local, "msg", "bad hunter2-xyz".into())],
            ),
            ret(0, 6),
            ret(0, 7),
        ];
        let (mut session, _) = opened(write_trace(&trace));
        let filter = format!(
            "{USER}\n[[scope.rules]]\nselector = \"pkg:shop.*\"\n[[scope.rules.value_patterns]]\nselector = \"arg:host\"\naction = \"drop\"\n"
        );
        run(&mut session, play(1, state(&filter)));
        let frame_of = |session: &mut Session, node: u32| {
            let out = run(
                session,
                Request::Frame {
                    key: NodeKey { thread: 0, node },
                },
            );
            match out.into_iter().next() {
                Some(Response::Frame { frame, .. }) => frame,
                other => panic!("{other:?}"),
            }
        };
        // `charge`: the entry under `password` is redacted, `host` dropped;
        // both are named, the dropped one although the value lost it.
        let charge = frame_of(&mut session, 1);
        let options = &charge.steps[0].changes[0];
        assert_eq!(options.text, "{'password': <redacted>, …}");
        let named: Vec<&str> = options.inner.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(named, ["password", "host"]);
        let out = run(
            &mut session,
            Request::Why {
                code: 1,
                value: Some(ValueRef {
                    role: options.role,
                    name: options.name.clone(),
                    by_value: false,
                    learned_from: None,
                    inner: options.inner.clone(),
                }),
            },
        );
        let Response::Why(why) = &out[0] else {
            panic!("{:?}", out[0]);
        };
        let said = |what: &str| why.notes.iter().any(|n| n.contains(what));
        assert!(
            said("the playground's filter redacts the `password` entry (a dict key is decided by the value patterns of `arg`: redact by pattern"),
            "{:?}",
            why.notes
        );
        assert!(
            said("the playground's filter drops the `host` entry (a dict key is decided by the value patterns of `arg`: drop by pattern"),
            "{:?}",
            why.notes
        );
        // `refund`: its message holds the password, redacted by value, with
        // the step of `charge` where the text was learned.
        let refund = frame_of(&mut session, 2);
        let msg = &refund.steps[1].changes[0];
        assert!(msg.by_value, "{msg:?}");
        assert_eq!(
            msg.learned_from.as_deref(),
            Some("the `password` entry of a dict (arg) in shop.pay.charge, step 1")
        );
        assert_eq!(
            msg.learned_at,
            Some(Moment {
                key: NodeKey { thread: 0, node: 1 },
                code: 1,
                step: 0
            })
        );
    }

    #[test]
    fn truncated_files_show_what_was_read() {
        let bytes = write_trace(&recorded());
        let (_, out) = opened(bytes[..bytes.len() - 3].to_vec());
        let opened = out
            .iter()
            .find_map(|r| match r {
                Response::Opened(o) => Some(o),
                _ => None,
            })
            .expect("opened");
        assert!(opened.warning.as_ref().unwrap().contains("incomplete"));
    }

    #[test]
    fn foreign_and_garbage_files_fail_clearly() {
        let (_, out) = opened(b"[{\"Path\": \"/x.py\"}, {\"Function\": {}}]".to_vec());
        let Response::Failed { message } = out.last().unwrap() else {
            panic!("{out:?}");
        };
        assert!(message.contains("CodeTracer trace.json"), "{message}");
        assert!(message.contains("tracesieve record"));
        let (_, out) = opened(vec![0u8; 1000]);
        assert!(matches!(out.last(), Some(Response::Failed { .. })));
        let (mut session, _) = opened(Vec::new());
        let out = run(&mut session, Request::Download);
        assert!(matches!(out[0], Response::Failed { .. }));
    }

    #[test]
    fn a_failed_open_keeps_the_trace_before() {
        let (mut session, _) = opened(write_trace(&recorded()));
        open(&mut session, "bad", b"garbage".to_vec());
        let out = run(&mut session, Request::Download);
        assert!(matches!(out[0], Response::Download { .. }));
    }

    #[test]
    fn the_lanes_of_a_set_are_each_process_threads_on_the_set_clock() {
        let parent = member_of(recorded(), 10, 1, ProcessStart::Program, 1_000);
        let child = member_of(busy(400), 11, 10, ProcessStart::Fork, 1_003);
        let mut session = Session::new();
        let out = open_set(
            &mut session,
            vec![("app.tsieve", parent.clone()), ("11.tsieve", child.clone())],
        );
        let whole = view(out.last().unwrap()).clone();
        let (mut alone_child, out) = opened(child);
        let c = view(out.last().unwrap()).clone();
        let query = |t0: f64, t1: f64, width: f64| TimelineQuery {
            generation: 0,
            thread: 0,
            t0,
            t1,
            width,
        };
        let lanes =
            |session: &mut Session, q: TimelineQuery| match &run(session, Request::Lanes(q))[0] {
                Response::Lanes(l) => (**l).clone(),
                other => panic!("{other:?}"),
            };
        let all = lanes(
            &mut session,
            query(whole.start_t as f64, whole.end_t as f64, 800.0),
        );
        let labels: Vec<&str> = all.groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, vec!["10 program · pay.py", "11 fork · pay.py"]);
        assert_eq!(all.groups[1].process, 1);
        // The child's group: each of its threads as its own timeline paints
        // it, 3 ms later, with the labels of the codes painted.
        let kid = &all.groups[1];
        assert_eq!(kid.lanes.len(), c.threads.len());
        for (lane, thread) in kid.lanes.iter().zip(&c.threads) {
            assert_eq!(
                (lane.thread, &lane.name, lane.depth),
                (thread.thread, &thread.name, thread.depth)
            );
            let own = match &run(
                &mut alone_child,
                Request::Timeline(TimelineQuery {
                    thread: lane.thread,
                    ..query(whole.start_t as f64 - 3e6, whole.end_t as f64 - 3e6, 800.0)
                }),
            )[0]
            {
                Response::Timeline(t) => t.frames.clone(),
                other => panic!("{other:?}"),
            };
            assert!(!own.is_empty());
            assert_eq!(own.len(), lane.frames.len());
            assert!(own.iter().zip(&lane.frames).all(|(a, b)| a.node == b.node
                && a.code == b.code
                && a.t0 + 3_000_000 == b.t0
                && a.t1 + 3_000_000 == b.t1));
            for f in &lane.frames {
                let label = kid.codes.iter().find(|(code, _)| *code == f.code);
                assert_eq!(label.map(|(_, l)| l), Some(&c.codes[f.code as usize].label));
            }
        }
        // Only what is painted: a narrow chart gets fewer frames, a window
        // before the child started none of its.
        let (c0, c1) = (c.start_t as f64 + 3e6, c.end_t as f64 + 3e6);
        let count = |l: &LanesView, g: usize| -> usize {
            l.groups[g].lanes.iter().map(|l| l.frames.len()).sum()
        };
        let wide = lanes(&mut session, query(c0, c1, 4000.0));
        let narrow = lanes(&mut session, query(c0, c1, 20.0));
        assert!(count(&narrow, 1) < count(&wide, 1));
        let early = lanes(&mut session, query(0.0, 1e6, 800.0));
        assert_eq!(count(&early, 1), 0);
        assert!(early.groups[1].codes.is_empty());

        // A click on a child's frame: the child is shown, that frame selected.
        let key = NodeKey {
            thread: kid.lanes[0].thread,
            node: kid.lanes[0].frames[0].node,
        };
        let out = run(
            &mut session,
            Request::Process {
                process: 1,
                tree: rows_query(0),
                selected: Some(key),
            },
        );
        assert_eq!(opened_of(&out).process, 1);
        assert_eq!(view(&out[1]).selected, Some(key));
    }

    /// A trace of a set: `trace` as process `pid` (child of `parent`),
    /// started `start` ms after the epoch.
    fn member_of(
        mut trace: Trace,
        pid: u32,
        parent: u32,
        started: ProcessStart,
        start: u64,
    ) -> Vec<u8> {
        trace.header.process = Some(ProcessInfo {
            pid,
            parent,
            started,
        });
        trace.header.start_unix_ms = start;
        write_trace(&trace)
    }

    /// Opens `files` (name, bytes) at once, as a set.
    fn open_set(session: &mut Session, files: Vec<(&str, Vec<u8>)>) -> Vec<Response> {
        let mut out = Vec::new();
        let (names, bytes): (Vec<&str>, Vec<Vec<u8>>) = files.into_iter().unzip();
        let request = Request::Open {
            names: names.into_iter().map(String::from).collect(),
            tree: rows_query(0),
        };
        let files = bytes
            .into_iter()
            .map(|b| Box::new(b) as Box<dyn Attachment>)
            .collect();
        session.handle(request, files, &mut |r| out.push(r));
        out
    }

    fn opened_of(out: &[Response]) -> &Opened {
        out.iter()
            .find_map(|r| match r {
                Response::Opened(o) | Response::Switched(o) => Some(&**o),
                _ => None,
            })
            .expect("opened")
    }

    /// The view's rows, threads and codes: what a process shows, apart
    /// from the set's counts and clock.
    fn shown_of(v: &TraceView) -> (Vec<RowView>, Vec<ThreadView>, Vec<CodeView>, usize) {
        (
            v.rows.rows.clone(),
            v.threads.clone(),
            v.codes.clone(),
            v.skipped_total,
        )
    }

    #[test]
    fn a_set_opens_in_process_order_and_each_process_is_its_own_refilter() {
        let parent = member_of(recorded(), 10, 1, ProcessStart::Program, 1_000);
        let child = member_of(busy(400), 11, 10, ProcessStart::Fork, 1_003);
        let mut session = Session::new();
        // Listed child first, and with a file that is not a trace.
        let out = open_set(
            &mut session,
            vec![
                ("11.tsieve", child.clone()),
                ("notes.txt", b"not a trace".to_vec()),
                ("app.tsieve", parent.clone()),
            ],
        );
        let set = opened_of(&out);
        assert_eq!(set.name, "app.tsieve");
        let labels: Vec<&str> = set.processes.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, vec!["10 program · pay.py", "11 fork · pay.py"]);
        assert_eq!(set.processes[1].offset_ns, 3_000_000);
        assert_eq!(set.left_out.len(), 1);
        assert!(set.left_out[0].contains("notes.txt"), "{:?}", set.left_out);
        let Response::Progress { total, .. } = out[0] else {
            panic!("{:?}", out[0]);
        };
        assert_eq!(total, (parent.len() + child.len() + 11) as u64);
        let v = view(out.last().unwrap());
        assert_eq!(v.processes, 2);

        // Each process alone, for the per-process parity.
        let (mut alone_parent, _) = opened(parent);
        let (mut alone_child, _) = opened(child);
        let one = |session: &mut Session, request| view(&run(session, request)[0]).clone();
        let recorded_parent = one(&mut alone_parent, play(0, state(USER)));
        let recorded_child = one(&mut alone_child, play(0, state(USER)));
        assert_eq!(
            v.calls_recorded,
            recorded_parent.calls_recorded + recorded_child.calls_recorded
        );

        let skip = format!(
            "{USER}\n[[scope.rules]]\nselector = \"obj:shop.pay.refund\"\nexec = \"skip\"\n\n[[scope.rules]]\nselector = \"obj:shop.pay.charge\"\n[[scope.rules.value_patterns]]\nselector = \"local:key\"\naction = \"redact\"\n"
        );
        let set_view = view(&run(&mut session, play(3, state(&skip)))[0]).clone();
        let p = one(&mut alone_parent, play(3, state(&skip)));
        let c = one(&mut alone_child, play(3, state(&skip)));
        assert_eq!(set_view.calls_kept, p.calls_kept + c.calls_kept);
        assert_eq!(set_view.report, set::sum_reports([&p.report, &c.report]));
        assert_eq!(shown_of(&set_view), shown_of(&p));

        // The child: its own re-filter, on the set's clock.
        let out = run(
            &mut session,
            Request::Process {
                process: 1,
                tree: rows_query(0),
                selected: None,
            },
        );
        assert_eq!(opened_of(&out).process, 1);
        assert_eq!(opened_of(&out).name, "11.tsieve");
        let child_view = view(&out[1]);
        assert_eq!(child_view.generation, 3);
        assert_eq!(shown_of(child_view), shown_of(&c));
        assert_eq!(child_view.calls_kept, set_view.calls_kept);
        assert_eq!(child_view.end_t, c.end_t + 3_000_000);
        let frames = |session: &mut Session, t0: f64, t1: f64| match &run(
            session,
            Request::Timeline(TimelineQuery {
                generation: 3,
                thread: 0,
                t0,
                t1,
                width: 800.0,
            }),
        )[0]
        {
            Response::Timeline(t) => t.frames.clone(),
            other => panic!("{other:?}"),
        };
        let own = frames(&mut alone_child, c.start_t as f64, c.end_t as f64);
        let shifted = frames(&mut session, c.start_t as f64 + 3e6, c.end_t as f64 + 3e6);
        assert!(!own.is_empty());
        assert_eq!(own.len(), shifted.len());
        assert!(own.iter().zip(&shifted).all(|(a, b)| a.node == b.node
            && a.t0 + 3_000_000 == b.t0
            && a.t1 + 3_000_000 == b.t1));
        let key = NodeKey { thread: 0, node: 1 };
        assert_eq!(
            run(&mut session, Request::Frame { key }),
            run(&mut alone_child, Request::Frame { key })
        );
        assert_eq!(
            downloaded(&run(&mut session, Request::Download)),
            downloaded(&run(&mut alone_child, Request::Download))
        );

        // A filter that does not load changes no process.
        let out = run(&mut session, play(4, state("[meta]\nname = 3\n")));
        assert!(matches!(
            out[0],
            Response::FilterProblem { generation: 4, .. }
        ));
        let out = run(
            &mut session,
            Request::Process {
                process: 0,
                tree: rows_query(0),
                selected: None,
            },
        );
        assert_eq!(view(&out[1]).generation, 3);
        let out = run(
            &mut session,
            Request::Process {
                process: 2,
                tree: rows_query(0),
                selected: None,
            },
        );
        assert!(matches!(out[0], Response::Failed { .. }));
    }

    #[test]
    fn a_set_of_unreadable_files_fails_and_keeps_the_trace_before() {
        let (mut session, _) = opened(write_trace(&recorded()));
        let out = open_set(
            &mut session,
            vec![("a", b"garbage".to_vec()), ("b", vec![0u8; 100])],
        );
        let Response::Failed { message } = out.last().unwrap() else {
            panic!("{out:?}");
        };
        assert!(
            message.contains("“a”") && message.contains("“b”"),
            "{message}"
        );
        let out = run(&mut session, Request::Download);
        assert!(matches!(out[0], Response::Download { .. }));
    }

    #[test]
    fn filters_are_checked_without_a_trace() {
        let mut session = Session::new();
        let out = run(&mut session, play(4, state(USER)));
        assert_eq!(out, vec![Response::FilterOk { generation: 4 }]);
        let out = run(&mut session, play(5, state("[meta]\nname = 3\n")));
        let Response::FilterProblem { problem, .. } = &out[0] else {
            panic!("{:?}", out[0]);
        };
        assert_eq!(problem.filter, Some(0));
        assert_eq!(problem.line, Some(2), "{}", problem.text());
    }

    /// An object value with a `secret` attribute, and one nested inside.
    fn text_var(kind: ValueKind, name: &str, text: String) -> Var {
        Var {
            kind,
            name: name.into(),
            value: Slot::Value {
                value: Value::Str {
                    length: text.len() as u64,
                    value: text,
                },
            },
        }
    }

    fn card(n: i64) -> Slot {
        let int = |value| Slot::Value {
            value: Value::Int { value },
        };
        let inner = Value::Object {
            type_name: "Inner".into(),
            attrs: vec![Attr {
                name: "secret".into(),
                value: int(n),
            }],
            length: 1,
        };
        Slot::Value {
            value: Value::Object {
                type_name: "Card".into(),
                attrs: vec![
                    Attr {
                        name: "secret".into(),
                        value: int(n),
                    },
                    Attr {
                        name: "inner".into(),
                        value: Slot::Value { value: inner },
                    },
                    Attr {
                        name: "pin".into(),
                        value: Slot::Redacted,
                    },
                ],
                length: 3,
            },
        }
    }

    /// A pseudo-random trace of `n` steps on two threads: nested calls,
    /// resumes and throws, lines with values and objects, raises, returns,
    /// yields and unwinds, frames left open at the end; the chain of
    /// `recorded()`.
    fn busy(n: usize) -> Trace {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |m: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % u64::from(m)) as u32
        };
        let mut events = vec![thread_start(0, "MainThread", 0), call(0, 0, 1)];
        let mut depth = [1u32, 0];
        let mut started = false;
        for i in 0..n {
            let t = 2 + i as u64;
            let th = usize::from(next(4) == 0);
            let thread = th as u32;
            if th == 1 && !started {
                events.push(thread_start(1, "worker", t));
                started = true;
            }
            let floor = if th == 0 { 1 } else { 0 };
            let event = match next(12) {
                0..=2 => {
                    depth[th] += 1;
                    call_with(
                        thread,
                        next(3),
                        t,
                        vec![
                            int_var(ValueKind::Arg, "amount", i as i64),
                            Var {
                                kind: ValueKind::Arg,
                                name: "note".into(),
                                value: card(i as i64),
                            },
                        ],
                    )
                }
                3 => {
                    depth[th] += 1;
                    Event::Resume { thread, t, code: 2 }
                }
                4 => {
                    depth[th] += 1;
                    Event::Throw {
                        thread,
                        t,
                        code: 1,
                        exception: Box::new(card(1)),
                    }
                }
                5..=7 if depth[th] > 0 => line_with(
                    thread,
                    4 + next(3),
                    t,
                    vec![
                        int_var(ValueKind::Local, "total", i as i64),
                        Var {
                            kind: ValueKind::Local,
                            name: "card".into(),
                            value: card(2),
                        },
                        int_var(ValueKind::Global, "G", 1),
                        // A text a filter may redact, and a later one holding
                        // it, which is then redacted by value.
                        text_var(ValueKind::Local, "key", format!("key-{:04}", i % 7)),
                        text_var(
                            ValueKind::Local,
                            "msg",
                            format!("with key-{:04}", (i + 3) % 7),
                        ),
                    ],
                ),
                8 if depth[th] > 0 => Event::Raise {
                    thread,
                    t,
                    line: 5,
                    exception: Box::new(card(3)),
                },
                9..=11 if depth[th] > floor => {
                    depth[th] -= 1;
                    let value = card(4);
                    match next(3) {
                        0 => Event::Return { thread, t, value },
                        1 => Event::Yield { thread, t, value },
                        _ => Event::Unwind { thread, t, value },
                    }
                }
                _ => line(thread, 6, t),
            };
            events.push(event);
        }
        let mut t = recorded();
        t.events = events;
        t
    }

    /// `trace` written in chunks of about `chunk` bytes.
    fn chunked(trace: &Trace, chunk: usize) -> Vec<u8> {
        let mut w = TraceWriter::with_chunk_bytes(Vec::new(), &trace.header, chunk).unwrap();
        w.tables(trace).unwrap();
        for event in &trace.events {
            w.event(event).unwrap();
        }
        w.finish(trace.trailer.as_ref().unwrap()).unwrap()
    }

    /// The tree without the event numbers, which the worker gives in the
    /// recorded file's numbering.
    fn shape(tree: &CallTree) -> CallTree {
        let mut tree = tree.clone();
        for calls in &mut tree.threads {
            for node in &mut calls.nodes {
                (node.start, node.end) = (0, 0);
            }
        }
        tree
    }

    fn downloaded(out: &[Response]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for r in out {
            match r {
                Response::DownloadPart { bytes: part } | Response::Download { bytes: part, .. } => {
                    bytes.extend_from_slice(part)
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(out.last(), Some(Response::Download { .. })));
        bytes
    }

    /// The worker's views, frames, counts and downloads, from its index,
    /// equal what the engine's whole-trace `refilter` gives.
    #[test]
    fn the_index_shows_what_refiltering_the_whole_trace_shows() {
        let recorded = busy(3000);
        let naming = Naming::recorded(&recorded);
        let filters = [
            USER.to_string(),
            format!("{USER}\n[[scope.rules]]\nselector = \"obj:shop.pay.refund\"\nexec = \"skip\"\n"),
            "[meta]\nname = \"strict\"\nversion = 1\n[scope]\ndefault_exec = \"inherit\"\ndefault_value_action = \"inherit\"\n[[scope.rules]]\nselector = \"obj:shop.pay.charge\"\nexec = \"skip\"\n[[scope.rules]]\nselector = \"pkg:shop.*\"\n[[scope.rules.value_patterns]]\nselector = \"local:total\"\naction = \"redact\"\n[[scope.rules.value_patterns]]\nselector = \"attr:secret\"\naction = \"drop\"\n[[scope.rules.value_patterns]]\nselector = \"arg:amount\"\naction = \"drop\"\n[[scope.rules.value_patterns]]\nselector = \"global:G\"\naction = \"redact\"\n[[scope.rules.value_patterns]]\nselector = \"ret:*\"\naction = \"redact\"\n[[scope.rules.value_patterns]]\nselector = \"local:key\"\naction = \"redact\"\n".to_string(),
            "[meta]\nname = \"attrs\"\nversion = 1\n[scope]\ndefault_exec = \"inherit\"\ndefault_value_action = \"inherit\"\n[[scope.rules]]\nselector = \"pkg:shop.*\"\n[[scope.rules.value_patterns]]\nselector = \"attr:inner\"\naction = \"redact\"\n[[scope.rules.value_patterns]]\nselector = \"local:card\"\naction = \"allow\"\n".to_string(),
            "[meta]\nname = \"none\"\nversion = 1\n[scope]\ndefault_exec = \"inherit\"\ndefault_value_action = \"inherit\"\n[[scope.rules]]\nselector = \"pkg:shop.*\"\nexec = \"skip\"\n".to_string(),
        ];
        let bytes = chunked(&recorded, 700);
        let (mut session, _) = opened(bytes.clone());
        assert!(session.open.as_ref().unwrap().traces[0].chunks.len() > 20);
        // The tree shown before, its codes' recorded indices, and a frame selected in it.
        let mut before: Option<(CallTree, Vec<u32>, NodeKey)> = None;
        for (generation, filter) in filters.iter().enumerate() {
            let st = state(filter);
            let mut request = play(generation as u64 + 1, st.clone());
            if let (Request::Playground { selected, .. }, Some((_, _, key))) =
                (&mut request, &before)
            {
                *selected = Some(*key);
            }
            let out = run(&mut session, request);
            let v = view(&out[0]);
            let open = &session.open.as_ref().unwrap().traces[0];
            let (sources, _) = open.sources(&st);
            let options = ChainOptions {
                builtin: true,
                framework: None,
                append: false,
            };
            let chain = chain_for(&recorded, &options, sources).unwrap();
            let mut whole = refilter(&recorded, &chain, &naming);
            if generation == 0 {
                // The record-time state: the trace as recorded.
                whole.trace = recorded.clone();
            }
            let expected = CallTree::build(&whole.trace);
            let open = &session.open.as_ref().unwrap().traces[0];
            let tree = open.shown.tree.tree(&open.index);
            assert_eq!(shape(&tree), shape(&expected), "filter {generation}");
            check_queries(&mut session, &tree, v);
            let recorded_of: Vec<u32> = v.codes.iter().map(|c| c.recorded).collect();
            if let Some((old, old_codes, key)) = &before {
                let anchor =
                    old.anchor(*key, |c| old_codes.get(c as usize).copied().unwrap_or(NONE));
                let found = anchor.and_then(|a| {
                    tree.locate(&a, |c| recorded_of.get(c as usize).copied().unwrap_or(NONE))
                });
                assert_eq!(v.selected, found, "filter {generation}");
                if let Some(key) = found {
                    assert_eq!(v.rows.thread, key.thread);
                    let revealed = v.rows.revealed.as_ref().unwrap();
                    assert_eq!(revealed.node, key.node);
                    let row = revealed.position.unwrap() as usize - v.rows.first as usize;
                    assert_eq!(v.rows.rows[row].node, key.node);
                }
            }
            if let Some(calls) = tree.threads.iter().max_by_key(|t| t.nodes.len()) {
                let thread = tree
                    .threads
                    .iter()
                    .position(|t| t.name == calls.name)
                    .unwrap();
                let node = (calls.nodes.len() * 2 / 3) as u32;
                let key = NodeKey {
                    thread: thread as u32,
                    node,
                };
                before = Some((tree.clone(), recorded_of, key));
            }
            if generation > 0 {
                assert_eq!(v.report, RefilterReport::of(&whole), "filter {generation}");
            }
            assert_eq!(
                v.calls_kept,
                whole
                    .trace
                    .events
                    .iter()
                    .filter(|e| matches!(e, Event::Call { .. }))
                    .count() as u64
            );
            for (thread, calls) in expected.threads.iter().enumerate() {
                for (node, n) in calls.nodes.iter().enumerate() {
                    let key = NodeKey {
                        thread: thread as u32,
                        node: node as u32,
                    };
                    let out = run(&mut session, Request::Frame { key });
                    let Response::Frame { frame, .. } = &out[0] else {
                        panic!("{:?}", out[0]);
                    };
                    let mut want = Frame::of(&whole.trace, calls.thread, n);
                    let open = &session.open.as_ref().unwrap().traces[0];
                    let code = v.codes[n.code as usize].recorded as usize;
                    let module_level = recorded.codes[code].is_module_body();
                    want.mark_record_time(&open.recorded_decisions[code], module_level);
                    want.mark_by_value(&open.shown.decisions[code], module_level);
                    // Each value redacted by value names where its text was
                    // learned (the busy trace's texts render unescaped).
                    // Inner names are those one of the two filters takes out
                    // (the focused test checks dropped ones are named too).
                    let decisions = [&open.recorded_decisions[code], &open.shown.decisions[code]];
                    let mut frame = frame.clone();
                    for change in frame.steps.iter_mut().flat_map(|s| s.changes.iter_mut()) {
                        if generation > 0 {
                            assert_eq!(change.by_value, change.learned_from.is_some());
                            assert_eq!(change.by_value, change.learned_at.is_some());
                        }
                        change.learned_from = None;
                        change.learned_at = None;
                        let inner = std::mem::take(&mut change.inner);
                        let site = change.site(module_level);
                        for inner in inner {
                            assert!(decisions.iter().any(|d| inner
                                .action(d, site)
                                .is_some_and(|(_, a)| a != Action::Allow)));
                        }
                    }
                    for change in want.steps.iter_mut().flat_map(|s| s.changes.iter_mut()) {
                        change.inner.clear();
                    }
                    assert_eq!(frame, want, "filter {generation}, frame {key:?}");
                }
            }
            let out = run(&mut session, Request::Download);
            let got = downloaded(&out);
            let want = try_write_trace(&whole.trace).unwrap();
            assert_eq!(
                read_trace(&got).unwrap().trace,
                read_trace(&want).unwrap().trace,
                "filter {generation}"
            );
        }
        // A profile too large to keep: the counts come from reading the file.
        let open = &mut session.open.as_mut().unwrap().traces[0];
        open.profile.give_up();
        let st = state(&filters[2]);
        let (sources, _) = open.sources(&st);
        let options = ChainOptions {
            builtin: true,
            framework: None,
            append: false,
        };
        let chain = chain_for(&recorded, &options, sources).unwrap();
        let out = run(&mut session, play(9, st));
        let whole = refilter(&recorded, &chain, &naming);
        assert_eq!(view(&out[0]).report, RefilterReport::of(&whole));
        assert!(whole.added.redacted.iter().sum::<u64>() > 0);
    }

    /// The page's old view of a flame chart: what it painted of `calls`.
    fn painted(calls: &ThreadCalls, t0: f64, t1: f64, width: f64) -> Vec<u32> {
        let scale = width / (t1 - t0);
        let mut painted = vec![f64::NEG_INFINITY; calls.depth as usize + 1];
        let mut out = Vec::new();
        for (index, node) in calls.nodes.iter().enumerate() {
            if (node.t1 as f64) < t0 || (node.t0 as f64) > t1 {
                continue;
            }
            let x0 = ((node.t0 as f64 - t0) * scale).max(-1.0);
            let x1 = ((node.t1 as f64 - t0) * scale).min(width + 1.0);
            let w = (x1 - x0).max(1.0);
            let level = node.depth as usize;
            if w < 2.0 && x0.floor() <= painted.get(level).copied().unwrap_or(f64::INFINITY) {
                continue;
            }
            if let Some(p) = painted.get_mut(level) {
                *p = (x0 + w).floor();
            }
            out.push(index as u32);
        }
        out
    }

    fn rows_of(session: &mut Session, query: TreeQuery) -> RowsView {
        let out = run(session, Request::Rows(query));
        match &out[0] {
            Response::Rows(rows) => (**rows).clone(),
            other => panic!("{other:?}"),
        }
    }

    /// The rows, searches, reveals and flame charts the worker answers
    /// equal what the page once computed from the whole `tree`.
    fn check_queries(session: &mut Session, tree: &CallTree, v: &TraceView) {
        assert_eq!(v.threads.len(), tree.threads.len());
        let label = |code: u32| v.codes.get(code as usize).map_or("", |c| c.label.as_str());
        let row = |calls: &ThreadCalls, n: u32| {
            let node = &calls.nodes[n as usize];
            RowView {
                node: n,
                code: node.code,
                depth: node.depth,
                size: node.size,
                duration: node.t1 - node.t0,
                entry: node.entry,
                exit: node.exit,
            }
        };
        for (thread, calls) in tree.threads.iter().enumerate() {
            assert_eq!(v.threads[thread].calls, calls.nodes.len() as u64);
            assert_eq!(v.threads[thread].depth, calls.depth);
            let query = |collapsed: Vec<u32>, first: u32, count: u32| TreeQuery {
                epoch: 7,
                thread: thread as u32,
                collapsed,
                first,
                count,
                ..TreeQuery::default()
            };
            // Every node with a subtree, then every third one, collapsed.
            let parents: Vec<u32> = (0..calls.nodes.len() as u32)
                .filter(|&n| calls.nodes[n as usize].size > 0)
                .collect();
            let some: Vec<u32> = parents.iter().copied().step_by(3).collect();
            for collapsed in [Vec::new(), some.clone(), parents.clone()] {
                let set: HashSet<u32> = collapsed.iter().copied().collect();
                let want = visible_rows(&calls.nodes, &set);
                for first in [0, want.len() as u32 / 2, want.len() as u32] {
                    let got = rows_of(session, query(collapsed.clone(), first, 40));
                    assert_eq!(got.total as usize, want.len());
                    assert_eq!(got.epoch, 7);
                    let from = got.first as usize;
                    assert!(from <= first as usize);
                    let rows: Vec<RowView> = want[from..(from + 40).min(want.len())]
                        .iter()
                        .map(|&n| row(calls, n))
                        .collect();
                    assert_eq!(got.rows, rows, "thread {thread}, first {first}");
                }
            }
            // A node deep inside collapsed nodes is revealed.
            if let Some(deep) =
                (0..calls.nodes.len() as u32).max_by_key(|&n| calls.nodes[n as usize].depth)
            {
                let ancestors = ancestors(&calls.nodes, deep);
                let mut q = query(some.clone(), 0, 30);
                q.reveal = Some(deep);
                let hidden = rows_of(session, q.clone());
                let hidden_revealed = hidden.revealed.unwrap();
                assert!(hidden_revealed.expanded.is_empty());
                if ancestors.iter().any(|a| some.contains(a)) {
                    assert_eq!(hidden_revealed.position, None);
                }
                q.expand = true;
                let got = rows_of(session, q);
                let revealed = got.revealed.clone().unwrap();
                let mut expanded: Vec<u32> = some
                    .iter()
                    .copied()
                    .filter(|c| ancestors.contains(c))
                    .collect();
                expanded.sort_unstable();
                assert_eq!(revealed.expanded, expanded);
                let set: HashSet<u32> = some
                    .iter()
                    .copied()
                    .filter(|c| !ancestors.contains(c))
                    .collect();
                let want = visible_rows(&calls.nodes, &set);
                let position = want.iter().position(|&n| n == deep).unwrap();
                assert_eq!(revealed.position, Some(position as u32));
                assert_eq!(got.rows[position - got.first as usize].node, deep);
            }
            // Searches.
            for text in ["CHAR", "re", "nothing like it"] {
                let want = search_rows(&calls.nodes, text, label);
                let mut q = query(some.clone(), 0, 25);
                q.search = format!(" {text} ");
                let got = rows_of(session, q.clone());
                assert_eq!(got.total as usize, want.len());
                let nodes: Vec<u32> = got.rows.iter().map(|r| r.node).collect();
                assert_eq!(nodes, want[..want.len().min(25)].to_vec());
                if let Some(&last) = want.last() {
                    q.reveal = Some(last);
                    let got = rows_of(session, q);
                    assert_eq!(got.revealed.unwrap().position, Some(want.len() as u32 - 1));
                    assert_eq!(got.rows.last().unwrap().node, last);
                }
            }
            // Flame charts: the whole thread, and zoomed into its middle.
            let start = calls.nodes.first().map_or(0.0, |n| n.t0 as f64);
            let end = tree.end_t as f64;
            let span = (end - start).max(100.0);
            for (t0, t1, width) in [
                (start, start + span, 1200.0),
                (start + span * 0.4, start + span * 0.45, 900.0),
                (start + span * 0.5, start + span * 0.5 + 100.0, 300.0),
            ] {
                let out = run(
                    session,
                    Request::Timeline(TimelineQuery {
                        generation: 0,
                        thread: thread as u32,
                        t0,
                        t1,
                        width,
                    }),
                );
                let Response::Timeline(got) = &out[0] else {
                    panic!("{:?}", out[0]);
                };
                assert_eq!(got.query.generation, v.generation);
                let want = painted(calls, t0, t1, width);
                let nodes: Vec<u32> = got.frames.iter().map(|f| f.node).collect();
                assert_eq!(nodes, want, "thread {thread}, {t0}..{t1}");
                for f in &got.frames {
                    let n = &calls.nodes[f.node as usize];
                    assert_eq!((f.code, f.depth, f.t0, f.t1), (n.code, n.depth, n.t0, n.t1));
                }
            }
        }
        // The view's first rows are those of its thread.
        let mut q = rows_query(v.rows.thread);
        q.reveal = v.rows.revealed.as_ref().map(|r| r.node);
        q.expand = true;
        let mut first = rows_of(session, q);
        first.epoch = v.rows.epoch;
        assert_eq!(first, v.rows);
    }

    /// What the worker holds per structure for a real trace:
    /// `TRACESIEVE_MEASURE=target/bench-traces/calls-1700000.tsieve cargo
    /// test -p tracesieve-viewer --lib --release -- --ignored --nocapture measure`.
    #[test]
    #[ignore]
    fn measure() {
        let Ok(path) = std::env::var("TRACESIEVE_MEASURE") else {
            return;
        };
        let bytes = std::fs::read(&path).unwrap();
        let started = std::time::Instant::now();
        let (mut session, _) = opened(bytes);
        let elapsed = started.elapsed();
        let open = &session.open.as_ref().unwrap().traces[0];
        let frames: usize = open.index.threads.iter().map(|t| t.len()).sum();
        let mib = |b: usize| b as f64 / (1 << 20) as f64;
        println!(
            "{path}: {} events, {frames} frames, opened in {elapsed:?}",
            open.index.events
        );
        println!(
            "  call index: {:.1} MiB ({:.1} bytes a frame)",
            mib(open.index.bytes()),
            open.index.bytes() as f64 / frames as f64
        );
        println!(
            "  shown tree (as recorded): {:.1} MiB",
            mib(open.shown.tree.bytes())
        );
        println!(
            "  profile: {} nodes, {:.2} MiB",
            open.profile.len(),
            mib(open.profile.bytes())
        );
        println!(
            "  chunk index: {} chunks, {:.2} MiB",
            open.chunks.len(),
            mib(open.chunks.capacity() * std::mem::size_of::<ChunkEntry>())
        );
        println!(
            "  tables: {} codes, {} sources, {} threads",
            open.tables.trace.codes.len(),
            open.tables.trace.sources.len(),
            open.index.threads.len()
        );
        let skip = "[meta]\nname = \"b\"\nversion = 1\n[scope]\ndefault_exec = \"inherit\"\ndefault_value_action = \"inherit\"\n[[scope.rules]]\nselector = \"obj:*.square\"\nexec = \"skip\"\n";
        let started = std::time::Instant::now();
        let out = run(&mut session, play(1, state(skip)));
        let v = view(&out[0]);
        println!(
            "  re-filter: {:?}, {} calls kept",
            started.elapsed(),
            v.calls_kept
        );
        let open = &session.open.as_ref().unwrap().traces[0];
        println!(
            "  shown tree (filtered): {:.1} MiB",
            mib(open.shown.tree.bytes())
        );
        let out = run(&mut session, play(2, state("")));
        let v = view(&out[0]);
        let started = std::time::Instant::now();
        let mut q = rows_query(0);
        q.first = v.threads[0].calls as u32 / 2;
        let rows = rows_of(&mut session, q);
        println!(
            "  rows in the middle: {:?} ({} rows)",
            started.elapsed(),
            rows.rows.len()
        );
        let started = std::time::Instant::now();
        let out = run(
            &mut session,
            Request::Timeline(TimelineQuery {
                generation: 2,
                thread: 0,
                t0: v.start_t as f64,
                t1: v.end_t as f64,
                width: 1200.0,
            }),
        );
        let Response::Timeline(t) = &out[0] else {
            panic!()
        };
        println!(
            "  whole timeline: {:?} ({} frames painted)",
            started.elapsed(),
            t.frames.len()
        );
        let bytes = |r: &Response| crate::protocol::encode(r).unwrap().len();
        let timeline = bytes(&out[0]);
        let view = bytes(&Response::View(Box::new(v.clone())));
        let rows = bytes(&Response::Rows(Box::new(rows)));
        println!("  messages: view {view} B, rows {rows} B, whole timeline {timeline} B");
    }

    #[test]
    fn downloads_are_trace_files() {
        let (mut session, _) = opened(write_trace(&recorded()));
        let out = run(&mut session, Request::Download);
        let Response::Download { name, .. } = out.last().unwrap() else {
            panic!("{out:?}");
        };
        assert_eq!(name, "t.refiltered.tsieve");
        assert!(read_trace(&downloaded(&out)).is_ok());
        assert_eq!(refiltered_name("<b>.tsieve"), "_b_.refiltered.tsieve");
        assert_eq!(
            playground_path(&recorded(), 1),
            "/proj/.codetracer/playground-2.toml"
        );
    }
}
