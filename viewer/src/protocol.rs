//! The messages between the page and the worker, and what they carry.
//!
//! Every message is one [`Request`] or [`Response`] encoded with postcard
//! ([`encode`], [`decode`]) and posted as a `Uint8Array`; an `Open` is
//! posted as `[Uint8Array, Blob]`, the file itself, which the worker reads
//! in slices (the page never copies it). The worker owns the trace and its
//! call tree; the page holds only what it draws: the rows in its scroll
//! range ([`TreeQuery`] → [`RowsView`]) and the frames its flame chart
//! paints ([`TimelineQuery`] → [`TimelineView`]).
//!
//! ```text
//! page                                   worker
//!  |                      <- Ready         (wasm loaded; earlier messages would be lost)
//!  | Open {names, tree} + Blobs ->     (one trace, or the files of a trace set)
//!  |                      <- Progress*     (after each slice decoded, over all the files)
//!  |                      <- Opened        (summary, sources, record-time filters, the processes)
//!  |                      <- View {gen 0}  (the trace as recorded, with the first rows)
//!  | Process {process, tree} ->            (another process of the set)
//!  |                      <- Switched      (its summary and sources)
//!  |                      <- View          (its re-filtered trace, same generation)
//!  | Playground {gen, state, tree, selected} ->   (debounced, after each edit)
//!  |                      <- View {gen} | FilterProblem {gen}
//!  |                         (FilterOk {gen} when no trace is open)
//!  | Rows {tree} ->       <- Rows          (the tree rows the page shows)
//!  | Timeline {window} -> <- Timeline      (the frames the flame chart paints)
//!  | Lanes {window} ->    <- Lanes         (the same, for every process of a set)
//!  | Frame {key} ->       <- Frame {key, frame}
//!  | Why {code, value} -> <- Why {why}
//!  | Download ->          <- DownloadPart* then Download {name, bytes}
//!                         (the worker posts them as one Blob beside the Download)
//!  |                      <- Failed {message}  (a trace that cannot be read, a bad request)
//! ```

use crate::calltree::{Entry, Exit, NodeKey};
use crate::steps::{Frame, Moment, Role};
use serde::{Deserialize, Serialize};
use tracesieve_engine::trace::policy::InnerName;
pub use tracesieve_engine::trace::summary::{
    FilterSummary, RefilterReport, StatsSummary, TraceSummary,
};
use tracesieve_engine::{Framework, NamingMode};

/// The filter playground's state: what a share link holds, and what the
/// worker re-filters with. Never holds trace data.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaygroundState {
    /// The user filter texts, in chain order, after the built-in head.
    /// Empty (or blank) texts are left out of the chain.
    pub filters: Vec<String>,
    /// How module names are chosen.
    pub naming: NamingMode,
    /// Extra `sys.path` roots for the `paths` naming, tried first.
    pub roots: Vec<String>,
    /// The built-in framework filter after the default one.
    pub framework: Option<Framework>,
}

/// A message from the page to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Read trace files: the `Blob`s posted with this request (see
    /// [`crate::session::Attachment`]), one trace or the files of a trace
    /// set (opened together, one process each).
    Open {
        /// The file names, for messages and downloads, in the order of the files.
        names: Vec<String>,
        /// The rows to send with the first view.
        tree: TreeQuery,
    },
    /// Show another process of the set (an index into [`Opened::processes`]).
    Process {
        /// The process.
        process: u32,
        /// The rows to send with its view.
        tree: TreeQuery,
        /// A frame of that process to select (and reveal) in its view.
        selected: Option<NodeKey>,
    },
    /// Re-filter and relabel the open trace with this state.
    Playground {
        /// Answers carry it back; the page ignores stale ones.
        generation: u64,
        /// The state.
        state: PlaygroundState,
        /// The rows to send with the view (no nodes collapsed; the thread
        /// is that of the selected frame when it is still there).
        tree: TreeQuery,
        /// The selected frame, to find again in the new view.
        selected: Option<NodeKey>,
    },
    /// Rows of the displayed call tree.
    Rows(TreeQuery),
    /// The frames a flame chart paints.
    Timeline(TimelineQuery),
    /// The frames the timeline paints for every thread of every process
    /// of the set (the query's window is on the set's clock; its thread is
    /// not used).
    Lanes(TimelineQuery),
    /// Cut out the steps of one frame of the displayed trace.
    Frame {
        /// The frame.
        key: NodeKey,
    },
    /// Explain a code object, or one of its values.
    Why {
        /// The code, as an index into the *recorded* trace's code table.
        code: u32,
        /// The value, if the question is about one.
        value: Option<ValueRef>,
    },
    /// The displayed (re-filtered) trace as a trace file.
    Download,
    /// The step of the displayed trace that a recorded event is in (a row
    /// of the exceptions list).
    At(EventAt),
    /// The function table of the displayed trace (for its generation).
    Functions {
        /// The view's generation, echoed.
        generation: u64,
    },
}

/// An event of the recorded trace: where the page can ask to go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventAt {
    /// The recorded thread number.
    pub thread: u32,
    /// The event's number in the recorded trace.
    pub position: u64,
}

/// A window of rows of the displayed call tree, as the page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeQuery {
    /// Echoed in the answer: the page ignores rows of an older state.
    pub epoch: u64,
    /// The thread (displayed index).
    pub thread: u32,
    /// The search text: rows are the nodes whose label contains it,
    /// ignoring case (all rows when blank).
    pub search: String,
    /// Collapsed nodes: their subtrees have no rows.
    pub collapsed: Vec<u32>,
    /// The first row wanted.
    pub first: u32,
    /// How many rows.
    pub count: u32,
    /// A node to keep in sight: the rows are around it unless it is among
    /// those asked for (or it has no row).
    pub reveal: Option<u32>,
    /// Whether the collapsed ancestors of `reveal` are expanded to show it.
    pub expand: bool,
}

/// Rows of the displayed call tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowsView {
    /// The query's epoch.
    pub epoch: u64,
    /// The generation of the view they are rows of.
    pub generation: u64,
    /// The thread.
    pub thread: u32,
    /// How many rows there are in all.
    pub total: u32,
    /// The position of the first row sent.
    pub first: u32,
    /// The rows from `first` on.
    pub rows: Vec<RowView>,
    /// Where the node to reveal is, if asked.
    pub revealed: Option<Revealed>,
}

/// Where a revealed node is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revealed {
    /// The node.
    pub node: u32,
    /// Its row (`None` when it is not a search result).
    pub position: Option<u32>,
    /// The collapsed ancestors that were expanded to show it.
    pub expanded: Vec<u32>,
}

/// One row of the call tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowView {
    /// The node (index in its thread, pre-order).
    pub node: u32,
    /// The code object (displayed index).
    pub code: u32,
    /// Nesting depth.
    pub depth: u32,
    /// How many nodes its subtree holds besides it.
    pub size: u32,
    /// Nanoseconds from its entry to its exit.
    pub duration: u64,
    /// How it was entered.
    pub entry: Entry,
    /// How it ended.
    pub exit: Exit,
}

/// The frames a flame chart paints for a window of time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineQuery {
    /// The view's generation.
    pub generation: u64,
    /// The thread (displayed index).
    pub thread: u32,
    /// The window's start, in nanoseconds.
    pub t0: f64,
    /// Its end.
    pub t1: f64,
    /// The chart's width in CSS pixels.
    pub width: f64,
}

/// What the flame chart paints: every frame in the window, except that of
/// the frames narrower than two pixels only one per pixel column and depth.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineView {
    /// The query.
    pub query: TimelineQuery,
    /// The frames, in painting order.
    pub frames: Vec<PaintedFrame>,
}

/// What the timeline of a set paints: one group of lanes per process, in
/// process-tree order, each lane painted as [`TimelineView`] is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LanesView {
    /// The query (its generation that of the process shown).
    pub query: TimelineQuery,
    /// The processes.
    pub groups: Vec<LaneGroup>,
}

/// The lanes of one process of a set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LaneGroup {
    /// The process (an index into [`Opened::processes`]).
    pub process: u32,
    /// Its label, as the process selector shows it.
    pub label: String,
    /// One lane per thread, in displayed order.
    pub lanes: Vec<Lane>,
    /// The labels of the codes its painted frames are of, by displayed
    /// code index (another process's codes are not in the page's view).
    pub codes: Vec<(u32, String)>,
}

/// One thread's lane in a [`LaneGroup`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Lane {
    /// The thread (displayed index in its process).
    pub thread: u32,
    /// Its name.
    pub name: String,
    /// The deepest depth, plus one.
    pub depth: u32,
    /// The frames, in painting order, their times on the set's clock.
    pub frames: Vec<PaintedFrame>,
}

/// A frame the flame chart paints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaintedFrame {
    /// The node.
    pub node: u32,
    /// The code object (displayed index).
    pub code: u32,
    /// Nesting depth.
    pub depth: u32,
    /// Its entry's time.
    pub t0: u64,
    /// Its exit's time.
    pub t1: u64,
}

/// A value asked about: its role and name in a frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueRef {
    /// Its role.
    pub role: Role,
    /// Its name as shown (`return`, `yield`, `unwind` for exits).
    pub name: String,
    /// Whether the frame shows it redacted by value (the frame's `ValueView`).
    #[serde(default)]
    pub by_value: bool,
    /// Then, where the text it holds was learned, when known.
    #[serde(default)]
    pub learned_from: Option<String>,
    /// The attributes and dict keys inside it that a filter takes out
    /// (the frame's `ValueView::inner`).
    #[serde(default)]
    pub inner: Vec<InnerName>,
}

/// A message from the worker to the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Response {
    /// The worker is listening.
    Ready,
    /// Reading progress.
    Progress {
        /// Bytes decoded.
        bytes: u64,
        /// Bytes in the file.
        total: u64,
        /// Events decoded.
        events: u64,
    },
    /// The trace (or trace set) is read.
    Opened(Box<Opened>),
    /// Another process of the set is shown (its view follows): what the
    /// page shows of it. The playground stays as it is.
    Switched(Box<Opened>),
    /// The displayed trace changed.
    View(Box<TraceView>),
    /// Rows of the call tree.
    Rows(Box<RowsView>),
    /// The frames a flame chart paints.
    Timeline(Box<TimelineView>),
    /// The frames the timeline paints for every process of the set.
    Lanes(Box<LanesView>),
    /// The playground's filters load (answers a playground request made
    /// while no trace is open: there is nothing to re-filter).
    FilterOk {
        /// The request's generation.
        generation: u64,
    },
    /// A filter of the playground does not load.
    FilterProblem {
        /// The request's generation.
        generation: u64,
        /// What is wrong, and where.
        problem: FilterProblem,
    },
    /// The steps of a frame.
    Frame {
        /// The frame asked about.
        key: NodeKey,
        /// Its steps.
        frame: Frame,
    },
    /// An explanation.
    Why(Box<WhyView>),
    /// A part of a file to save: the parts come in order, before the
    /// [`Response::Download`] that ends the file (the worker joins them
    /// into a `Blob` posted with it, outside wasm memory).
    DownloadPart {
        /// The next bytes.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// A file to save (its last part, after any [`Response::DownloadPart`]s).
    Download {
        /// Suggested file name.
        name: String,
        /// Its bytes.
        #[serde(with = "serde_bytes")]
        bytes: Vec<u8>,
    },
    /// The function table.
    Functions(Box<FunctionsView>),
    /// The step an [`Request::At`] asked for (`None` when no displayed
    /// frame holds the event).
    At(Option<Moment>),
    /// Something could not be done; the message says what and why.
    Failed {
        /// For people.
        message: String,
    },
}

/// What the page learns once a trace is read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Opened {
    /// The file name.
    pub name: String,
    /// The engine's summary of the trace as read.
    pub summary: TraceSummary,
    /// Embedded source files.
    pub sources: Vec<SourceView>,
    /// The playground state the trace was recorded with (its user filters,
    /// naming mode and framework).
    pub recorded: PlaygroundState,
    /// The paths of the record-time user filters, by index.
    pub filter_paths: Vec<String>,
    /// Set when the file is cut or damaged: what was read is shown anyway.
    pub warning: Option<String>,
    /// The processes of the set, in process-tree order (one for a single trace).
    pub processes: Vec<ProcessView>,
    /// Which of them this is.
    pub process: usize,
    /// The files of the set that could not be read, each with why.
    pub left_out: Vec<String>,
}

/// A process of an opened trace set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessView {
    /// Its trace's file name.
    pub name: String,
    /// Its pid, when the trace has a process record.
    pub pid: Option<u32>,
    /// For the selector: `4242 fork · app.py`.
    pub label: String,
    /// Its depth in the process tree (0 for the program).
    pub depth: u32,
    /// When it started, in nanoseconds after the first process started:
    /// its frames are this much later on the set's clock.
    pub offset_ns: u64,
}

/// An embedded source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceView {
    /// The filename as in the code table.
    pub path: String,
    /// The text, when the recorder embedded it.
    pub text: Option<String>,
    /// Why there is no text.
    pub omitted: Option<String>,
}

/// A code object of the displayed trace, named under the playground's naming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeView {
    /// Index in the recorded trace's code table (for "why?").
    pub recorded: u32,
    /// The label: `<pkg.mod>` for module bodies, else the qualname.
    pub label: String,
    /// The module name, if one was found.
    pub module: Option<String>,
    /// Where the module name came from.
    pub module_reason: String,
    /// `co_filename`.
    pub filename: String,
    /// `co_firstlineno`.
    pub first_line: u32,
}

/// A code object the playground's filter skips.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedCode {
    /// Index in the recorded trace's code table.
    pub recorded: u32,
    /// Its label.
    pub label: String,
    /// `co_filename`.
    pub filename: String,
}

/// The displayed trace: the recorded one re-filtered and relabelled by the
/// playground (or as recorded, for generation 0). Of a trace set, it is the
/// process shown, except the counts (`calls_kept`, `calls_recorded`,
/// `report`), which are the whole set's, and the times (`start_t`,
/// `end_t`, the timeline's), which are on the set's clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceView {
    /// The playground generation this answers.
    pub generation: u64,
    /// The threads that have frames, in displayed order.
    pub threads: Vec<ThreadView>,
    /// The first frame's start (ns; of a set, the earliest process's).
    pub start_t: u64,
    /// The time of the last event (of a set, the latest process's).
    pub end_t: u64,
    /// How many processes the counts are of.
    pub processes: u32,
    /// The selected frame, found again (see [`Request::Playground`]).
    pub selected: Option<NodeKey>,
    /// The first rows to show (their thread is the one to show).
    pub rows: RowsView,
    /// The code objects, by displayed index.
    pub codes: Vec<CodeView>,
    /// The codes the playground's filter skips (at most [`MAX_SKIPPED`]).
    pub skipped: Vec<SkippedCode>,
    /// How many codes it skips in all.
    pub skipped_total: usize,
    /// Call events kept.
    pub calls_kept: u64,
    /// Call events in the recorded trace.
    pub calls_recorded: u64,
    /// The re-filtering report.
    pub report: RefilterReport,
    /// The chain in force (built-in head and user filters).
    pub chain: Vec<FilterSummary>,
    /// The program's command line as this chain records it (the values of
    /// secret-like options redacted by the engine's `policy::redact_argv`).
    pub argv: Vec<String>,
    /// The exceptions raised in displayed frames.
    pub exceptions: ExceptionsView,
}

/// The exceptions raised in the displayed trace's frames (see
/// [`crate::exceptions`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionsView {
    /// The rows listed, in event order: every one that escaped (up to
    /// [`MAX_ESCAPED_LISTED`]), and the first others (up to
    /// [`MAX_EXCEPTIONS_LISTED`] in all).
    pub rows: Vec<ExceptionRow>,
    /// How many raises the displayed trace holds.
    pub total: u64,
    /// Where the page opens a trace first: the raise of the last exception
    /// that escaped the recorded code (a test's failing assertion, a
    /// program's uncaught error), when there is one and the run did not
    /// end with exit status 0.
    pub failure: Option<Moment>,
}

/// The function table of the displayed trace (see [`crate::functions`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionsView {
    /// The view generation it is of.
    pub generation: u64,
    /// One row per displayed code that ran, by total time.
    pub rows: Vec<FunctionRow>,
    /// Who called whom, by total time.
    pub edges: Vec<CallEdge>,
}

/// A function's calls and times.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionRow {
    /// The code (displayed index).
    pub code: u32,
    /// Its calls (resumes of a generator are not calls).
    pub calls: u64,
    /// Time in its frames that no frame of the same code encloses (ns).
    pub total_ns: u64,
    /// Time in its frames less their displayed children's (ns).
    pub self_ns: u64,
}

/// Calls of one code by another.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEdge {
    /// The calling code (displayed index; `u32::MAX` for a thread's outermost frames).
    pub caller: u32,
    /// The called code.
    pub callee: u32,
    /// How many calls.
    pub calls: u64,
    /// Time in the callee's frames under that caller (ns).
    pub total_ns: u64,
}

/// At most this many exceptions are listed.
pub const MAX_EXCEPTIONS_LISTED: usize = 500;

/// At most this many escaped exceptions are listed.
pub const MAX_ESCAPED_LISTED: usize = 100;

/// A raise of the displayed trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRow {
    /// The exception's type (`None` when its value was not recorded).
    pub type_name: Option<String>,
    /// The displayed thread it was raised on.
    pub thread: u32,
    /// Where it was raised: a displayed code and a line.
    pub raised: Place,
    /// What became of it.
    pub outcome: ExceptionOutcome,
    /// Its raise event, for [`Request::At`].
    pub at: EventAt,
}

/// A displayed code, and a line of it (0: not known).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// The code (displayed index).
    pub code: u32,
    /// The line, or 0.
    pub line: u32,
}

/// What became of an exception, in the displayed trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExceptionOutcome {
    /// Handled in a displayed frame.
    Caught(Place),
    /// Raised again where it was held (the next row continues it).
    RaisedAgain,
    /// It left the recorded code: uncaught, or caught by code the trace
    /// does not hold.
    Escaped,
    /// The trace ends while it unwinds.
    Unfinished,
}

/// A thread of the displayed trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadView {
    /// Its number in the displayed trace.
    pub thread: u32,
    /// Its name.
    pub name: String,
    /// How many frames.
    pub calls: u64,
    /// The deepest depth, plus one.
    pub depth: u32,
}

/// At most this many skipped codes are listed.
pub const MAX_SKIPPED: usize = 500;

/// A filter that does not load: which one, where, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterProblem {
    /// Index of the playground filter (`None` for an error outside them).
    pub filter: Option<usize>,
    /// 1-based line, when the error has a place.
    pub line: Option<usize>,
    /// 1-based column (characters), when the error has a place.
    pub column: Option<usize>,
    /// The engine's message (`FilterError::message`).
    pub message: String,
}

impl FilterProblem {
    /// `line L, column C: message`, or the message alone.
    pub fn text(&self) -> String {
        match (self.line, self.column) {
            (Some(line), Some(column)) => {
                format!("line {line}, column {column}: {}", self.message)
            }
            (Some(line), None) => format!("line {line}: {}", self.message),
            _ => self.message.clone(),
        }
    }
}

/// The engine's explanations for a "why?" question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhyView {
    /// What was asked, for the panel's title.
    pub title: String,
    /// The playground's decision (the `Decision` JSON), pretty-printed.
    pub playground: String,
    /// For a value: the playground's action and the engine's JSON for it.
    pub playground_value: Option<ValueWhyView>,
    /// The record-time decision's action for the value, when the question
    /// is about a value.
    pub recorded_value: Option<ValueWhyView>,
    /// The record-time decision (the `Decision` JSON), pretty-printed.
    pub recorded: Option<String>,
    /// Sentences for people: what decided, and what the trace can still show.
    pub notes: Vec<String>,
}

/// One value's explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueWhyView {
    /// `allow`, `redact` or `drop`.
    pub action: String,
    /// The selector kind and name decided (`local password`).
    pub query: String,
    /// The engine's explanation JSON, pretty-printed.
    pub json: String,
    /// A one-line reading of it.
    pub summary: String,
}

/// Encodes a message for `postMessage`.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, String> {
    postcard::to_allocvec(message).map_err(|e| format!("cannot encode a message: {e}"))
}

/// Decodes a message received from the other side.
pub fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, String> {
    postcard::from_bytes(bytes).map_err(|e| format!("cannot decode a message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn messages_round_trip() {
        let request = Request::Playground {
            generation: 3,
            state: PlaygroundState {
                filters: vec!["[meta]\nname = 'x'\n".into()],
                naming: NamingMode::Paths,
                roots: vec!["/proj/src".into()],
                framework: Some(Framework::Pytest),
            },
            tree: TreeQuery {
                search: "charge".into(),
                collapsed: vec![1, 7],
                count: 60,
                ..TreeQuery::default()
            },
            selected: Some(NodeKey { thread: 0, node: 3 }),
        };
        let bytes = encode(&request).unwrap();
        assert_eq!(decode::<Request>(&bytes).unwrap(), request);
        let open = Request::Open {
            names: vec!["t.tsieve".into()],
            tree: TreeQuery::default(),
        };
        assert_eq!(decode::<Request>(&encode(&open).unwrap()).unwrap(), open);
        assert!(decode::<Response>(&[0xFF, 0xFF]).is_err());
    }

    #[test]
    fn problems_read_like_the_engine() {
        let p = FilterProblem {
            filter: Some(0),
            line: Some(3),
            column: Some(5),
            message: "scope.rules[0]: bad".into(),
        };
        assert_eq!(p.text(), "line 3, column 5: scope.rules[0]: bad");
    }
}
