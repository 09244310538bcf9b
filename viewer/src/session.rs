//! The worker's side: one open trace, re-filtered and relabelled on request.
//!
//! [`Session::handle`] answers one [`Request`] with zero or more
//! [`Response`]s. Everything that decides what is traced, redacted, dropped
//! or how a module is named is asked of the engine: the reader, `summarize`,
//! `chain_for`, `refilter`, `relabel`, `decide_codes` and `Decision`.
//! Pure Rust: the worker binary only moves bytes in and out.

use crate::calltree::{CallTree, NodeKey};
use crate::protocol::{
    CodeView, FilterProblem, FilterSummary, Opened, PlaygroundState, RefilterReport, Request,
    Response, SkippedCode, SourceView, StatsSummary, TraceView, ValueRef, ValueWhyView, WhyView,
    MAX_SKIPPED,
};
use crate::steps::{Frame, Role};
use std::rc::Rc;
use tracesieve_engine::trace::refilter::{
    chain_for, decide_codes, refilter, relabel, ChainOptions, Naming,
};
use tracesieve_engine::trace::summary::summarize;
use tracesieve_engine::trace::{
    try_write_trace, Event, RecordedFilter, Trace, TraceError, TraceReader,
};
use tracesieve_engine::{
    builtin, Action, Decision, FilterChain, FilterError, FilterSource, Platform, ValueKind,
};

/// Bytes decoded between two progress reports.
pub const SLICE_BYTES: usize = 1 << 20;

/// The file that comes with a [`Request::Open`], read one slice at a time
/// so that the whole file is never held as one more copy.
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
    open: Option<OpenTrace>,
}

/// A trace that was read, and how it is displayed now.
struct OpenTrace {
    name: String,
    recorded: Rc<Trace>,
    /// The record-time chain, loaded again (`None` if it no longer loads).
    recorded_chain: Option<FilterChain>,
    recorded_naming: Naming,
    /// Record-time decisions of every code (empty if the chain no longer loads).
    recorded_decisions: Vec<Decision>,
    /// The record-time user filters (the chain after the built-in head).
    user_filters: Vec<RecordedFilter>,
    /// Whether the record-time chain started with the built-in default.
    builtin_head: bool,
    recorded_calls: u64,
    shown: Shown,
}

/// The displayed trace and what produced it.
struct Shown {
    trace: Rc<Trace>,
    /// Shared with the views sent to the page (encoded, never copied).
    tree: Rc<CallTree>,
    naming: Naming,
    /// The playground chain (`None` until it loads, or when the record-time
    /// chain no longer loads).
    chain: Option<FilterChain>,
    /// Decisions of every recorded code under `chain` and `naming`.
    decisions: Vec<Decision>,
    /// Displayed code index → recorded code index.
    code_map: Vec<u32>,
}

impl Session {
    /// A session with no trace.
    pub fn new() -> Session {
        Session::default()
    }

    /// Answers `request`, passing each response to `out` as soon as it is
    /// ready. `file` is what came with an [`Request::Open`].
    pub fn handle(
        &mut self,
        request: Request,
        file: Option<&mut dyn Attachment>,
        out: &mut dyn FnMut(Response),
    ) {
        match request {
            Request::Open { name } => match file {
                Some(file) => self.open(name, file, out),
                None => out(bad_request("no file came with the request to open one")),
            },
            Request::Playground { generation, state } => match self.open.as_mut() {
                Some(open) => out(open.playground(generation, &state)),
                None => out(validate(generation, &state)),
            },
            Request::Frame { key } => match self.open.as_ref() {
                Some(open) => out(open.frame(key)),
                None => out(no_trace()),
            },
            Request::Why { code, value } => match self.open.as_ref() {
                Some(open) => out(open.why(code, value.as_ref())),
                None => out(no_trace()),
            },
            Request::Download => match self.open.as_ref() {
                Some(open) => out(open.download()),
                None => out(no_trace()),
            },
        }
    }

    /// Reads a trace; the one open before stays open if this one cannot be read.
    fn open(&mut self, name: String, file: &mut dyn Attachment, out: &mut dyn FnMut(Response)) {
        let total = file.size();
        let mut reader = TraceReader::new();
        let mut start = 0;
        while start < total {
            let end = total.min(start + SLICE_BYTES as u64);
            let pushed = file
                .read(start, end)
                .map_err(|e| format!("cannot read “{name}”: {e}"))
                .and_then(|slice| reader.push(&slice).map_err(|e| unreadable(&name, &e)));
            if let Err(message) = pushed {
                return out(Response::Failed { message });
            }
            start = end;
            let progress = reader.progress();
            out(Response::Progress {
                bytes: progress.bytes,
                total,
                events: progress.events,
            });
        }
        let outcome = match reader.finish() {
            Ok(outcome) => outcome,
            Err(e) => {
                return out(Response::Failed {
                    message: unreadable(&name, &e),
                })
            }
        };
        let trace = outcome.trace;
        let summary = summarize(&trace, outcome.truncation.as_ref());
        let warning = outcome.truncation.as_ref().map(|t| {
            format!(
                "“{name}” is incomplete: {}. Showing what could be read: {} events from the first {} bytes.",
                t.reason,
                trace.events.len(),
                t.valid_bytes
            )
        });
        let user_filters: Vec<RecordedFilter> = trace
            .header
            .filters
            .iter()
            .filter(|f| !f.inline)
            .cloned()
            .collect();
        let recorded_state = PlaygroundState {
            filters: user_filters.iter().map(|f| f.text.clone()).collect(),
            naming: trace.header.naming,
            roots: Vec::new(),
            framework: trace.header.framework,
        };
        let opened = Opened {
            name: name.clone(),
            summary,
            sources: trace
                .sources
                .iter()
                .map(|s| SourceView {
                    path: s.path.clone(),
                    text: s.text.clone(),
                    omitted: s.omitted.clone(),
                })
                .collect(),
            recorded: recorded_state,
            filter_paths: user_filters.iter().map(|f| f.path.clone()).collect(),
            warning,
        };
        let recorded_chain = trace.header.chain().ok();
        let recorded_naming = Naming::recorded(&trace);
        let builtin_head = trace
            .header
            .filters
            .iter()
            .any(|f| f.inline && f.path == "<inline:builtin-default>");
        let recorded = Rc::new(trace);
        let decisions = recorded_chain
            .as_ref()
            .map(|chain| decide_codes(&recorded, chain, &recorded_naming))
            .unwrap_or_default();
        let shown = Shown {
            tree: Rc::new(CallTree::build(&recorded)),
            code_map: (0..recorded.codes.len() as u32).collect(),
            trace: Rc::clone(&recorded),
            naming: recorded_naming.clone(),
            chain: recorded_chain.clone(),
            decisions: decisions.clone(),
        };
        let open = OpenTrace {
            name,
            recorded_calls: count_calls(&recorded),
            recorded,
            recorded_chain,
            recorded_naming,
            recorded_decisions: decisions,
            user_filters,
            builtin_head,
            shown,
        };
        out(Response::Opened(Box::new(opened)));
        let view = open.view(0, None);
        self.open = Some(open);
        out(view);
    }
}

impl OpenTrace {
    /// Re-filters and relabels with `state`.
    fn playground(&mut self, generation: u64, state: &PlaygroundState) -> Response {
        let (sources, paths) = self.sources(state);
        let options = ChainOptions {
            builtin: self.builtin_head,
            framework: state.framework,
            append: false,
        };
        let chain = match chain_for(&self.recorded, &options, sources) {
            Ok(chain) => chain,
            Err(e) => {
                return Response::FilterProblem {
                    generation,
                    problem: problem(&e, &paths),
                }
            }
        };
        let naming = Naming {
            mode: state.naming,
            extra_roots: state
                .roots
                .iter()
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect(),
        };
        let unchanged = naming == self.recorded_naming
            && self
                .recorded_chain
                .as_ref()
                .is_some_and(|c| c.id() == chain.id());
        let decisions = decide_codes(&self.recorded, &chain, &naming);
        // Let go of the trace shown until now before building the next one,
        // so that two re-filtered copies are never held at once.
        self.shown.trace = Rc::clone(&self.recorded);
        self.shown.tree = Rc::default();
        let (trace, report) = if unchanged {
            (Rc::clone(&self.recorded), None)
        } else {
            let result = refilter(&self.recorded, &chain, &naming);
            let report = RefilterReport::of(&result);
            (Rc::new(result.trace), Some(report))
        };
        let code_map = decisions
            .iter()
            .enumerate()
            .filter(|(_, d)| d.is_recorded())
            .map(|(i, _)| i as u32)
            .collect();
        self.shown = Shown {
            tree: Rc::new(CallTree::build(&trace)),
            trace,
            naming,
            chain: Some(chain),
            decisions,
            code_map,
        };
        self.view(generation, report)
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
                None => FilterSource::file(playground_path(&self.recorded, index), text.clone()),
            };
            paths.push((source.display_path(), index));
            sources.push(source);
        }
        (sources, paths)
    }

    /// The view of the displayed trace.
    fn view(&self, generation: u64, report: Option<RefilterReport>) -> Response {
        let shown = &self.shown;
        let labels = relabel(&shown.trace, &shown.naming);
        let codes = shown
            .trace
            .codes
            .iter()
            .zip(labels)
            .enumerate()
            .map(|(i, (code, label))| CodeView {
                recorded: shown.code_map.get(i).copied().unwrap_or(i as u32),
                label: label.label,
                module: label.module_name,
                module_reason: label.reason,
                filename: code.filename.clone(),
                first_line: code.first_line,
            })
            .collect();
        let skipped: Vec<SkippedCode> = shown
            .decisions
            .iter()
            .enumerate()
            .filter(|(_, d)| !d.is_recorded())
            .map(|(i, d)| SkippedCode {
                recorded: i as u32,
                label: d.label(),
                filename: self
                    .recorded
                    .codes
                    .get(i)
                    .map(|c| c.filename.clone())
                    .unwrap_or_default(),
            })
            .collect();
        let report = report.unwrap_or_else(|| {
            let stats = shown
                .trace
                .trailer
                .as_ref()
                .map(|t| t.stats.clone())
                .unwrap_or_default();
            RefilterReport {
                events: shown.trace.events.len(),
                codes: shown.trace.codes.len(),
                total: StatsSummary::of(&stats),
                added: StatsSummary::default(),
            }
        });
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
        Response::View(Box::new(TraceView {
            generation,
            tree: Rc::clone(&shown.tree),
            codes,
            skipped_total: skipped.len(),
            skipped: skipped.into_iter().take(MAX_SKIPPED).collect(),
            calls_kept: count_calls(&shown.trace),
            calls_recorded: self.recorded_calls,
            report,
            chain,
        }))
    }

    /// The steps of a displayed frame.
    fn frame(&self, key: NodeKey) -> Response {
        let shown = &self.shown;
        let Some(calls) = shown.tree.threads.get(key.thread as usize) else {
            return bad_request("no such thread in the displayed trace");
        };
        let Some(node) = calls.nodes.get(key.node as usize) else {
            return bad_request("no such call in the displayed trace");
        };
        let mut frame = Frame::of(&shown.trace, calls.thread, node);
        let recorded = shown.code_map.get(frame.code as usize).map(|&c| c as usize);
        if let Some(index) = recorded {
            if let (Some(decision), Some(info)) = (
                self.recorded_decisions.get(index),
                self.recorded.codes.get(index),
            ) {
                frame.mark_record_time(decision, info.qualname == "<module>");
            }
        }
        Response::Frame { key, frame }
    }

    /// The playground's and the recording's explanations of a code or value.
    fn why(&self, code: u32, value: Option<&ValueRef>) -> Response {
        let index = code as usize;
        let Some(info) = self.recorded.codes.get(index) else {
            return bad_request("no such code object in the trace");
        };
        let module_level = info.qualname == "<module>";
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

    /// The displayed trace as a trace file.
    fn download(&self) -> Response {
        match try_write_trace(&self.shown.trace) {
            Ok(bytes) => Response::Download {
                name: refiltered_name(&self.name),
                bytes,
            },
            Err(e) => Response::Failed {
                message: format!("cannot write the re-filtered trace: {e}"),
            },
        }
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

/// How many `call` events a trace holds.
fn count_calls(trace: &Trace) -> u64 {
    trace
        .events
        .iter()
        .filter(|e| matches!(e, Event::Call { .. }))
        .count() as u64
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
    use crate::protocol::PlaygroundState;
    use crate::steps::{Marker, StepKind};
    use crate::testkit::*;
    use tracesieve_engine::trace::{write_trace, Slot, Trace};
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
        session.handle(request, None, &mut |r| out.push(r));
        out
    }

    fn open(session: &mut Session, name: &str, mut bytes: Vec<u8>) -> Vec<Response> {
        let mut out = Vec::new();
        let request = Request::Open { name: name.into() };
        session.handle(request, Some(&mut bytes), &mut |r| out.push(r));
        out
    }

    fn opened(bytes: Vec<u8>) -> (Session, Vec<Response>) {
        let mut session = Session::new();
        let out = open(&mut session, "t.tsieve", bytes);
        (session, out)
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
        let out = run(
            &mut session,
            Request::Playground {
                generation: 1,
                state: state(USER),
            },
        );
        let same = view(&out[0]);
        assert_eq!((same.calls_kept, same.report.events), (3, 10));
        let skip = format!(
            "{USER}\n[[scope.rules]]\nselector = \"obj:shop.pay.refund\"\nexec = \"skip\"\n"
        );
        let out = run(
            &mut session,
            Request::Playground {
                generation: 2,
                state: state(&skip),
            },
        );
        let v = view(&out[0]);
        assert_eq!(v.generation, 2);
        assert_eq!(v.calls_kept, 2);
        assert_eq!(v.skipped.len(), 1);
        assert_eq!(v.skipped[0].label, "refund");
        assert_eq!(v.report.added.scopes_skipped, 1);
        assert!(v.codes.iter().all(|c| c.label != "refund"));
    }

    #[test]
    fn a_broken_filter_is_placed_at_its_line() {
        let (mut session, _) = opened(write_trace(&recorded()));
        let broken = "[meta]\nname = \"x\"\nversion = 1\n[scope]\ndefault_exec = \"inherit\"\ndefault_value_action = \"inherit\"\n[[scope.rules]]\nselector = \"pkg:foo:bar\"\nexec = \"skip\"\n";
        let out = run(
            &mut session,
            Request::Playground {
                generation: 5,
                state: state(broken),
            },
        );
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
            Request::Playground {
                generation: 1,
                state: PlaygroundState {
                    filters: vec![USER.into()],
                    naming: NamingMode::Paths,
                    roots: vec!["/proj/shop".into()],
                    framework: None,
                },
            },
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
        let out = run(
            &mut session,
            Request::Playground {
                generation: 1,
                state: state(allow),
            },
        );
        assert!(matches!(out[0], Response::View(_)), "{:?}", out[0]);
        let out = run(
            &mut session,
            Request::Why {
                code: 1,
                value: Some(ValueRef {
                    role: Role::Arg,
                    name: "note".into(),
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
    fn filters_are_checked_without_a_trace() {
        let mut session = Session::new();
        let out = run(
            &mut session,
            Request::Playground {
                generation: 4,
                state: state(USER),
            },
        );
        assert_eq!(out, vec![Response::FilterOk { generation: 4 }]);
        let out = run(
            &mut session,
            Request::Playground {
                generation: 5,
                state: state("[meta]\nname = 3\n"),
            },
        );
        let Response::FilterProblem { problem, .. } = &out[0] else {
            panic!("{:?}", out[0]);
        };
        assert_eq!(problem.filter, Some(0));
        assert_eq!(problem.line, Some(2), "{}", problem.text());
    }

    #[test]
    fn downloads_are_trace_files() {
        let (mut session, _) = opened(write_trace(&recorded()));
        let out = run(&mut session, Request::Download);
        let Response::Download { name, bytes } = &out[0] else {
            panic!("{:?}", out[0]);
        };
        assert_eq!(name, "t.refiltered.tsieve");
        assert!(tracesieve_engine::trace::read_trace(bytes).is_ok());
        assert_eq!(refiltered_name("<b>.tsieve"), "_b_.refiltered.tsieve");
        assert_eq!(
            playground_path(&recorded(), 1),
            "/proj/.codetracer/playground-2.toml"
        );
    }
}
