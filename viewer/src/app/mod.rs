//! The page: loading, the views, the playground, and the messages that tie
//! them to the worker. [`App`] holds the state; the components draw it.

mod dom;
mod exceptions;
mod functions;
mod keys;
mod lanes;
mod playground;
mod shared;
mod source;
mod summary;
mod timeline;
mod tree;
mod why;
pub mod worker;

use crate::calltree::NodeKey;
use crate::format;
use crate::protocol::{
    EventAt, FilterProblem, FunctionsView, LanesView, Opened, PlaygroundState, ProcessView,
    Request, Response, RowsView, SourceView, TimelineQuery, TimelineView, TraceView, TreeQuery,
    ValueRef, WhyView,
};
use crate::share;
use crate::steps::{Frame, Moment, StepKind};
use exceptions::ExceptionsList;
use functions::FunctionsTable;
use gloo_timers::callback::Timeout;
use keys::{Key, KeysHelp};
use playground::Playground;
use shared::Shared;
use source::SourcePane;
use std::collections::HashSet;
use summary::Summary;
use timeline::Timeline;
use tracesieve_engine::{Framework, NamingMode};
use tree::CallTreeView;
use wasm_bindgen::JsCast;
use web_sys::{Blob, DragEvent, File, HtmlInputElement, HtmlSelectElement};
use why::WhyPanel;
use worker::WorkerHandle;
use yew::prelude::*;

/// Milliseconds between the last edit and the re-filter.
const DEBOUNCE_MS: u32 = 150;
/// How many times a failed worker is replaced.
const MAX_RESTARTS: u32 = 3;

/// Mounts the app on the page's body.
pub fn start() {
    console_error_panic_hook::set_once();
    yew::Renderer::<App>::new().render();
}

/// Which view fills the upper pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// The call tree.
    Tree,
    /// The flame chart.
    Timeline,
    /// The summary.
    Summary,
    /// The exceptions raised.
    Exceptions,
    /// The function table.
    Functions,
}

/// A message shown above the views.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Banner {
    /// An error (red) or a warning (amber).
    pub error: bool,
    /// The text.
    pub text: String,
}

/// Reading progress.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Loading {
    name: String,
    bytes: u64,
    total: u64,
    events: u64,
}

/// Everything that happens to the page.
pub enum Msg {
    /// The worker answered.
    Worker(Response),
    /// The worker could not start or stopped.
    WorkerFailed(String),
    /// Files were picked or dropped: one trace, or the files of a trace set.
    OpenFiles(Vec<File>),
    /// The traces at `?trace=URL` (one, or a set) were fetched: each
    /// with its name, and the file or why there is none.
    Fetched(Vec<(String, Result<Blob, String>)>),
    /// Something is dragged over the page (or left it).
    Dragging(bool),
    /// The editor's text changed.
    Edit(String),
    /// Another filter was picked in the editor (`len` adds one).
    PickFilter(usize),
    /// The naming mode changed.
    Naming(NamingMode),
    /// The roots field changed.
    Roots(String),
    /// The framework preset changed.
    Framework(Option<Framework>),
    /// Back to the record-time state.
    Reset,
    /// The debounce timer of `generation` fired.
    Flush(u64),
    /// A tab was picked.
    Tab(Tab),
    /// A process of the set was picked.
    Process(usize),
    /// A thread was picked.
    Thread(usize),
    /// The search text changed.
    Search(String),
    /// A node was expanded or collapsed.
    Toggle(u32),
    /// The tree needs rows `first..first + count`.
    Range(u32, u32),
    /// The timeline shows another window: it needs the frames to paint.
    Window(TimelineQuery),
    /// A frame was selected (with its displayed code).
    Select(NodeKey, u32),
    /// A frame of a process of the set was picked on the timeline (with
    /// its displayed code): that process is shown, the frame selected.
    Pick(usize, NodeKey, u32),
    /// A step was picked.
    Step(usize),
    /// Go to a step of a frame (selecting the frame).
    Go(Moment),
    /// Go to the step a recorded event is in (the worker finds it).
    GoToEvent(EventAt),
    /// Show the calls of the function with this label in the call tree.
    ShowCalls(String),
    /// A key was pressed (see [`keys`]).
    Key(Key),
    /// "why?" about a code (recorded index) and maybe one of its values.
    Why(u32, Option<ValueRef>),
    /// Close the "why?" panel.
    CloseWhy,
    /// Download the active filter.
    DownloadFilter,
    /// Ask the worker for the re-filtered trace.
    DownloadTrace,
    /// Make and copy a share link.
    Share,
    /// The clipboard answered.
    Copied(Result<(), String>),
    /// Close a banner.
    Dismiss(usize),
    /// The URL fragment changed.
    HashChanged,
}

/// The page's state.
pub struct App {
    worker: Option<WorkerHandle>,
    /// Workers started again after one failed.
    restarts: u32,
    loading: Option<Loading>,
    banners: Vec<Banner>,
    dragging: bool,
    opened: Option<Shared<Opened>>,
    sources: Shared<Vec<SourceView>>,
    view: Option<Shared<TraceView>>,
    /// The generation of the view shown (views come in increasing order).
    view_generation: u64,
    play: PlaygroundState,
    /// Set once the playground was edited or restored from a link: a newly
    /// opened trace then keeps it instead of its own filters.
    play_kept: bool,
    active_filter: usize,
    generation: u64,
    debounce: Option<Timeout>,
    problem: Option<FilterProblem>,
    tab: Tab,
    thread: usize,
    search: String,
    collapsed: Shared<HashSet<u32>>,
    /// The rows the worker sent last (of the state numbered `epoch`).
    rows: Shared<RowsView>,
    /// Counts changes of what the rows are (view, thread, search, collapsed
    /// nodes): rows of an older state are not shown.
    epoch: u64,
    /// The rows the tree last needed, and the last rows asked for.
    range: (u32, u32),
    asked: Option<(u64, u32, u32)>,
    /// A row to scroll into sight: a counter and its position.
    scroll_to: Option<(u64, u32)>,
    /// The frames the timeline paints, and the last window asked for.
    painted: Option<Shared<TimelineView>>,
    /// Of a set, the lanes of every process the timeline paints instead.
    lanes: Option<Shared<LanesView>>,
    window_asked: Option<TimelineQuery>,
    /// A window asked for while the worker still paints another: asked
    /// for once it answers (wheel zooms come faster than a whole thread of
    /// millions of frames is painted).
    window_waiting: Option<TimelineQuery>,
    window_busy: bool,
    selected: Option<NodeKey>,
    /// The selected frame's displayed code.
    selected_code: Option<u32>,
    frame: Option<Shared<Frame>>,
    step: usize,
    /// The step to restore when the re-selected frame arrives after a re-filter.
    keep_step: Option<usize>,
    /// The next view is the first of a trace just opened: it opens at the
    /// exception that escaped, if one did (a failing test's assertion).
    land_on_failure: bool,
    /// The function table of the view shown, once asked for and sent.
    functions: Option<Shared<FunctionsView>>,
    why: Option<Shared<WhyView>>,
    share_status: Option<String>,
    share_link: Option<String>,
    _hash_listener: Option<gloo_events::EventListener>,
    _key_listener: Option<gloo_events::EventListener>,
    /// The list of keys is shown.
    help: bool,
}

impl Component for App {
    type Message = Msg;
    type Properties = ();

    fn create(ctx: &Context<Self>) -> App {
        let link = ctx.link();
        let mut banners = Vec::new();
        let worker =
            match WorkerHandle::spawn(link.callback(Msg::Worker), link.callback(Msg::WorkerFailed))
            {
                Ok(worker) => Some(worker),
                Err(e) => {
                    banners.push(Banner {
                        error: true,
                        text: e,
                    });
                    None
                }
            };
        let mut app = App {
            worker,
            restarts: 0,
            loading: None,
            banners,
            dragging: false,
            opened: None,
            sources: Shared::new(Vec::new()),
            view: None,
            view_generation: 0,
            play: PlaygroundState::default(),
            play_kept: false,
            active_filter: 0,
            generation: 0,
            debounce: None,
            problem: None,
            tab: Tab::Tree,
            thread: 0,
            search: String::new(),
            collapsed: Shared::new(HashSet::new()),
            rows: Shared::new(RowsView::default()),
            epoch: 0,
            range: (0, 100),
            asked: None,
            scroll_to: None,
            painted: None,
            lanes: None,
            window_asked: None,
            window_waiting: None,
            window_busy: false,
            selected: None,
            selected_code: None,
            frame: None,
            step: 0,
            keep_step: None,
            land_on_failure: false,
            functions: None,
            why: None,
            share_status: None,
            share_link: None,
            _key_listener: keys::listen(link.callback(Msg::Key)),
            help: false,
            _hash_listener: web_sys::window().map(|w| {
                let callback = link.callback(|_: ()| Msg::HashChanged);
                gloo_events::EventListener::new(&w, "hashchange", move |_| callback.emit(()))
            }),
        };
        app.restore_link();
        // `?trace=URL`, repeated for the files of a trace set.
        let urls = dom::query_params("trace");
        if let Some(first) = urls.first() {
            app.loading = Some(Loading {
                name: url_name(first),
                bytes: 0,
                total: 0,
                events: 0,
            });
            link.send_future(async move {
                let mut fetched = Vec::with_capacity(urls.len());
                for url in &urls {
                    fetched.push((url_name(url), dom::fetch_blob(url).await));
                }
                Msg::Fetched(fetched)
            });
        }
        app
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        match msg {
            Msg::Worker(response) => self.on_response(response),
            Msg::WorkerFailed(text) => {
                // Start a fresh worker: the failed one held the trace, so it is closed.
                self.loading = None;
                self.worker = None;
                self.window_busy = false;
                self.window_waiting = None;
                let closed = self.opened.take().is_some();
                self.view = None;
                self.selected = None;
                self.frame = None;
                self.why = None;
                self.error(if closed {
                    format!("{text}; the trace was closed: open it again")
                } else {
                    text
                });
                // A worker that cannot even start would fail again: give up after a few.
                if self.restarts < MAX_RESTARTS {
                    self.restarts += 1;
                    let link = ctx.link();
                    match WorkerHandle::spawn(
                        link.callback(Msg::Worker),
                        link.callback(Msg::WorkerFailed),
                    ) {
                        Ok(worker) => self.worker = Some(worker),
                        Err(e) => self.error(e),
                    }
                }
            }
            Msg::OpenFiles(files) => {
                self.banners.clear();
                let files = files.into_iter().map(|f| (f.name(), f.into())).collect();
                self.open(files);
            }
            Msg::Fetched(fetched) => {
                self.banners.clear();
                let mut files = Vec::new();
                for (name, file) in fetched {
                    match file {
                        Ok(file) => files.push((name, file)),
                        Err(text) => self.error(text),
                    }
                }
                if files.is_empty() {
                    self.loading = None;
                } else {
                    self.open(files);
                }
            }
            Msg::Dragging(on) => {
                if self.dragging == on {
                    return false;
                }
                self.dragging = on;
            }
            Msg::Edit(text) => {
                while self.play.filters.len() <= self.active_filter {
                    self.play.filters.push(String::new());
                }
                self.play.filters[self.active_filter] = text;
                self.changed(ctx);
            }
            Msg::PickFilter(index) => {
                while self.play.filters.len() <= index {
                    self.play.filters.push(String::new());
                }
                self.active_filter = index;
            }
            Msg::Naming(mode) => {
                self.play.naming = mode;
                self.changed(ctx);
            }
            Msg::Roots(text) => {
                self.play.roots = text.lines().map(str::to_string).collect();
                self.changed(ctx);
            }
            Msg::Framework(framework) => {
                self.play.framework = framework;
                self.changed(ctx);
            }
            Msg::Reset => {
                if let Some(opened) = &self.opened {
                    self.play = opened.recorded.clone();
                    self.active_filter = 0;
                    self.play_kept = false;
                    self.generation += 1;
                    self.flush(self.generation);
                }
            }
            Msg::Flush(generation) => {
                self.flush(generation);
                return false;
            }
            Msg::Tab(tab) => {
                self.tab = tab;
                self.ask_functions();
            }
            Msg::Key(key) => return self.key(key),
            Msg::ShowCalls(label) => {
                self.tab = Tab::Tree;
                self.search = label;
                self.refresh_rows(false);
            }
            Msg::Process(process) => {
                let shown = self.opened.as_ref().map(|o| o.process);
                if shown.is_none() || shown == Some(process) {
                    return false;
                }
                self.clear_selection();
                self.thread = 0;
                self.search.clear();
                self.epoch += 1;
                let tree = self.first_rows_query();
                self.post(Request::Process {
                    process: process as u32,
                    tree,
                    selected: None,
                });
            }
            Msg::Thread(thread) => {
                self.thread = thread;
                self.collapsed = Shared::new(HashSet::new());
                self.refresh_rows(false);
            }
            Msg::Search(text) => {
                self.search = text;
                self.refresh_rows(false);
            }
            Msg::Toggle(node) => {
                let mut collapsed = (*self.collapsed).clone();
                if !collapsed.remove(&node) {
                    collapsed.insert(node);
                }
                self.collapsed = Shared::new(collapsed);
                self.refresh_rows(false);
            }
            Msg::Range(first, count) => {
                self.range = (first, count);
                if self.view.is_some() && self.asked != Some((self.epoch, first, count)) {
                    self.asked = Some((self.epoch, first, count));
                    let query = TreeQuery {
                        reveal: None,
                        ..self.tree_query(false)
                    };
                    self.post(Request::Rows(query));
                }
                return false;
            }
            Msg::Window(query) => {
                if self.view.is_some() && self.window_asked.as_ref() != Some(&query) {
                    self.window_asked = Some(query.clone());
                    if self.window_busy {
                        self.window_waiting = Some(query);
                        return false;
                    }
                    self.window_busy = true;
                    self.post_window(query);
                }
                return false;
            }
            Msg::Select(key, code) => {
                if self.selected == Some(key) {
                    return false;
                }
                self.select(key, code);
            }
            Msg::Pick(process, key, code) => {
                let Some(shown) = self.opened.as_ref().map(|o| o.process) else {
                    return false;
                };
                if process == shown {
                    if self.selected == Some(key) {
                        return false;
                    }
                    self.select(key, code);
                } else {
                    self.clear_selection();
                    self.search.clear();
                    self.epoch += 1;
                    let tree = self.first_rows_query();
                    self.post(Request::Process {
                        process: process as u32,
                        tree,
                        selected: Some(key),
                    });
                }
            }
            Msg::Step(step) => self.step = step,
            Msg::Go(at) => self.go(at),
            Msg::GoToEvent(at) => self.post(Request::At(at)),
            Msg::Why(code, value) => self.post(Request::Why { code, value }),
            Msg::CloseWhy => self.why = None,
            Msg::DownloadFilter => {
                let text = self
                    .play
                    .filters
                    .get(self.active_filter)
                    .cloned()
                    .unwrap_or_default();
                if let Err(e) =
                    dom::download("trace-filter.toml", text.as_bytes(), "application/toml")
                {
                    self.error(e);
                }
            }
            Msg::DownloadTrace => self.post(Request::Download),
            Msg::Share => match share::encode(&self.play) {
                Ok(fragment) => match dom::set_fragment(&fragment) {
                    Ok(url) => {
                        self.share_status = Some("Copying the link…".into());
                        self.share_link = Some(url.clone());
                        ctx.link()
                            .send_future(async move { Msg::Copied(dom::copy_text(&url).await) });
                    }
                    Err(e) => self.share_status = Some(e),
                },
                Err(e) => {
                    self.share_status = Some(e.to_string());
                    self.share_link = None;
                }
            },
            Msg::Copied(result) => {
                self.share_status = Some(match result {
                    Ok(()) => {
                        "Link copied: it holds the filter, naming mode and roots, never trace data."
                            .into()
                    }
                    Err(e) => format!("{e}; copy the link below instead."),
                });
            }
            Msg::Dismiss(index) => {
                if index < self.banners.len() {
                    self.banners.remove(index);
                }
            }
            Msg::HashChanged => {
                // Our own links are set with `replaceState`, which fires no `hashchange`.
                self.restore_link();
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let ondragover = link.callback(|e: DragEvent| {
            e.prevent_default();
            Msg::Dragging(true)
        });
        let ondragleave = link.callback(|e: DragEvent| {
            // Only leaving the window counts (no related target).
            Msg::Dragging(e.related_target().is_some())
        });
        let ondrop = link.batch_callback(|e: DragEvent| {
            e.prevent_default();
            let files = e
                .data_transfer()
                .and_then(|d| d.files())
                .map(|list| dom::file_list(&list))
                .unwrap_or_default();
            let mut messages = vec![Msg::Dragging(false)];
            if !files.is_empty() {
                messages.push(Msg::OpenFiles(files));
            }
            messages
        });
        let onpick = link.batch_callback(|e: Event| {
            let input = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok());
            let files = input
                .as_ref()
                .and_then(|i| i.files())
                .map(|list| dom::file_list(&list))
                .unwrap_or_default();
            if let Some(input) = &input {
                // Picking the same file again fires `change` again.
                input.set_value("");
            }
            if files.is_empty() {
                Vec::new()
            } else {
                vec![Msg::OpenFiles(files)]
            }
        });
        html! {
            <div class={classes!("app", self.dragging.then_some("dragging"))}
                data-testid="drop-zone" {ondragover} {ondragleave} {ondrop}>
                <header class="top">
                    <h1>{ "tracesieve" }</h1>
                    if let Some(opened) = &self.opened {
                        <span class="file-name" title={opened.name.clone()}>{ set_name(opened) }</span>
                    }
                    <label class="button open" title="One trace, or every file of a trace set (TRACE and TRACE.d/*.tsieve)">
                        { "Open trace…" }
                        <input type="file" multiple=true data-testid="file-input" accept=".tsieve,application/octet-stream" onchange={onpick} />
                    </label>
                    <span class="privacy">{ "Nothing leaves your browser." }</span>
                    <button class="keys" data-testid="keys-button" title="Keys (?)"
                        onclick={link.callback(|_: MouseEvent| Msg::Key(Key::Help))}>{ "?" }</button>
                </header>
                { for self.banners.iter().enumerate().map(|(i, b)| html! {
                    <div class={classes!("banner", if b.error { "error" } else { "warning" })} data-testid="error-banner" role="alert">
                        <span>{ &b.text }</span>
                        <button onclick={link.callback(move |_: MouseEvent| Msg::Dismiss(i))} title="Dismiss">{ "×" }</button>
                    </div>
                }) }
                if let Some(loading) = &self.loading {
                    { progress(loading) }
                }
                <main class="layout">
                    <section class="views">{ self.views(ctx) }</section>
                    <aside class="playground">{ self.playground(ctx) }</aside>
                </main>
                if self.help {
                    <KeysHelp on_close={link.callback(|_| Msg::Key(Key::Close))} />
                }
                if let Some(why) = &self.why {
                    <WhyPanel why={why.clone()} on_close={link.callback(|_| Msg::CloseWhy)} />
                }
                if self.dragging {
                    <div class="drop-overlay">{ "Drop a trace to open it" }</div>
                }
            </div>
        }
    }
}

impl App {
    /// Hands `files` (one trace, or the files of a set) to the worker to
    /// read (the page never copies them).
    fn open(&mut self, files: Vec<(String, Blob)>) {
        let (names, blobs): (Vec<String>, Vec<Blob>) = files.into_iter().unzip();
        let name = match names.as_slice() {
            [one] => one.clone(),
            many => format!("{} files", many.len()),
        };
        self.loading = Some(Loading {
            name,
            bytes: 0,
            total: blobs.iter().map(|b| b.size() as u64).sum(),
            events: 0,
        });
        self.epoch += 1;
        let tree = self.first_rows_query();
        self.post_with(Request::Open { names, tree }, blobs);
    }

    /// No frame selected, no steps, no "why?".
    fn clear_selection(&mut self) {
        self.selected = None;
        self.selected_code = None;
        self.frame = None;
        self.why = None;
        self.collapsed = Shared::new(HashSet::new());
    }

    /// The worker answered a window: the one asked for meanwhile, if any,
    /// is asked for now.
    fn window_answered(&mut self) {
        self.window_busy = false;
        if let Some(query) = self.window_waiting.take() {
            self.window_busy = true;
            self.post_window(query);
        }
    }

    /// The first rows of thread 0, nothing collapsed: what a newly shown
    /// trace or process starts with.
    fn first_rows_query(&self) -> TreeQuery {
        TreeQuery {
            thread: 0,
            collapsed: Vec::new(),
            first: 0,
            reveal: None,
            ..self.tree_query(false)
        }
    }

    /// The rows the tree shows now, as a query; the selected frame is
    /// kept in sight when it has a row (made to have one with `expand`).
    fn tree_query(&self, expand: bool) -> TreeQuery {
        TreeQuery {
            epoch: self.epoch,
            thread: self.thread as u32,
            search: self.search.clone(),
            collapsed: self.collapsed.iter().copied().collect(),
            first: self.range.0,
            count: self.range.1,
            reveal: self
                .selected
                .filter(|key| key.thread as usize == self.thread)
                .map(|key| key.node),
            expand,
        }
    }

    /// Asks for the frames the timeline paints for `query`: of the thread
    /// shown, or of a set of more than one process, the lanes of every one.
    fn post_window(&mut self, query: TimelineQuery) {
        if self.set_shown().is_some() {
            self.post(Request::Lanes(query));
        } else {
            self.post(Request::Timeline(query));
        }
    }

    /// The process shown, when a set of more than one process is open.
    fn set_shown(&self) -> Option<usize> {
        self.opened
            .as_ref()
            .filter(|o| o.processes.len() > 1)
            .map(|o| o.process)
    }

    /// Selects frame `key` (of displayed code `code`) and asks for its steps.
    /// Answers a key; whether the page changed.
    fn key(&mut self, key: Key) -> bool {
        match key {
            Key::Search => {
                keys::focus_search();
                return false;
            }
            Key::Help => self.help = !self.help,
            Key::Close => {
                self.help = false;
                self.why = None;
            }
            Key::StepForward | Key::StepBack => {
                let Some(frame) = &self.frame else {
                    return false;
                };
                let last = frame.steps.len().saturating_sub(1);
                self.step = match key {
                    Key::StepForward => (self.step + 1).min(last),
                    _ => self.step.saturating_sub(1),
                };
            }
            Key::Next | Key::Previous => {
                let rows = &self.rows.rows;
                let at = self
                    .selected
                    .and_then(|key| rows.iter().position(|r| r.node == key.node));
                let next = match (key, at) {
                    (_, None) => rows.first(),
                    (Key::Next, Some(i)) => rows.get(i + 1),
                    (_, Some(i)) => i.checked_sub(1).and_then(|i| rows.get(i)),
                };
                let Some(row) = next else {
                    return false;
                };
                let (node, code) = (row.node, row.code);
                self.tab = Tab::Tree;
                self.select(
                    NodeKey {
                        thread: self.thread as u32,
                        node,
                    },
                    code,
                );
            }
            Key::Expand | Key::Collapse => {
                let Some(node) = self.selected.map(|k| k.node) else {
                    return false;
                };
                let has_children = self
                    .rows
                    .rows
                    .iter()
                    .find(|r| r.node == node)
                    .is_some_and(|r| r.size > 0);
                let collapsed = self.collapsed.contains(&node);
                let toggle = match key {
                    Key::Expand => collapsed,
                    _ => !collapsed && has_children,
                };
                if !toggle {
                    return false;
                }
                let mut set = (*self.collapsed).clone();
                if !set.remove(&node) {
                    set.insert(node);
                }
                self.collapsed = Shared::new(set);
                self.refresh_rows(false);
            }
        }
        true
    }

    /// Asks for the function table of the view shown, if the functions
    /// tab shows and it is not there.
    fn ask_functions(&mut self) {
        if self.tab == Tab::Functions && self.functions.is_none() && self.view.is_some() {
            self.post(Request::Functions {
                generation: self.view_generation,
            });
        }
    }

    /// Selects the frame of `at` (unless it is selected) and its step.
    fn go(&mut self, at: Moment) {
        if self.selected == Some(at.key) {
            self.step = at.step;
        } else {
            self.select(at.key, at.code);
            // Kept until the frame's steps arrive.
            self.keep_step = Some(at.step);
        }
    }

    fn select(&mut self, key: NodeKey, code: u32) {
        if key.thread as usize != self.thread {
            self.thread = key.thread as usize;
            self.collapsed = Shared::new(HashSet::new());
        }
        self.selected = Some(key);
        self.selected_code = Some(code);
        self.frame = None;
        self.step = 0;
        self.keep_step = None;
        self.post(Request::Frame { key });
        self.refresh_rows(true);
    }

    /// What the rows are changed: asks for them again (`expand`ing the
    /// selected frame's ancestors).
    fn refresh_rows(&mut self, expand: bool) {
        self.epoch += 1;
        if self.view.is_some() {
            self.asked = Some((self.epoch, self.range.0, self.range.1));
            self.post(Request::Rows(self.tree_query(expand)));
        }
    }

    /// Rows from the worker: shown if they are rows of the state shown.
    fn take_rows(&mut self, rows: RowsView) {
        if rows.generation != self.view_generation || rows.epoch != self.epoch {
            return;
        }
        if let Some(revealed) = &rows.revealed {
            if !revealed.expanded.is_empty() {
                let mut collapsed = (*self.collapsed).clone();
                for node in &revealed.expanded {
                    collapsed.remove(node);
                }
                self.collapsed = Shared::new(collapsed);
            }
            if let Some(position) = revealed.position {
                let count = self.scroll_to.map_or(0, |(n, _)| n + 1);
                self.scroll_to = Some((count, position));
            }
        }
        self.rows = Shared::new(rows);
    }

    fn post(&mut self, request: Request) {
        self.post_with(request, Vec::new());
    }

    fn post_with(&mut self, request: Request, files: Vec<Blob>) {
        let result = match &self.worker {
            Some(worker) => worker.post(&request, files),
            None => Err("the viewer's worker is not running; reload the page".into()),
        };
        if let Err(e) = result {
            self.loading = None;
            self.error(e);
        }
    }

    fn error(&mut self, text: String) {
        self.banners.push(Banner { error: true, text });
    }

    /// Restores the playground from a share link in the URL, if there is
    /// one; says so in a banner when the link cannot be read.
    fn restore_link(&mut self) {
        match share::decode(&dom::fragment()) {
            Ok(Some(state)) => {
                self.play = state;
                self.active_filter = 0;
                self.play_kept = true;
                self.share_status = Some("Filter restored from the link.".into());
                self.generation += 1;
                self.flush(self.generation);
            }
            Ok(None) => {}
            Err(e) => self.error(e.to_string()),
        }
    }

    /// The playground changed: re-filter after a pause.
    fn changed(&mut self, ctx: &Context<Self>) {
        self.play_kept = true;
        self.share_link = None;
        self.share_status = None;
        self.generation += 1;
        let generation = self.generation;
        let link = ctx.link().clone();
        self.debounce = Some(Timeout::new(DEBOUNCE_MS, move || {
            link.send_message(Msg::Flush(generation))
        }));
    }

    /// Sends the playground to the worker, unless a later edit superseded it.
    fn flush(&mut self, generation: u64) {
        if generation != self.generation {
            return;
        }
        self.debounce = None;
        // The new view comes with its rows: no node collapsed, the
        // selected frame's thread when it is still there.
        self.epoch += 1;
        let tree = TreeQuery {
            collapsed: Vec::new(),
            reveal: None,
            ..self.tree_query(false)
        };
        self.post(Request::Playground {
            generation,
            state: self.play.clone(),
            tree,
            selected: self.selected.filter(|_| self.view.is_some()),
        });
    }

    fn on_response(&mut self, response: Response) {
        match response {
            Response::Ready => {}
            Response::Progress {
                bytes,
                total,
                events,
            } => {
                if let Some(loading) = &mut self.loading {
                    loading.bytes = bytes;
                    loading.total = total;
                    loading.events = events;
                }
            }
            Response::Opened(opened) => {
                self.loading = None;
                for text in opened.left_out.iter().chain(&opened.warning) {
                    self.banners.push(Banner {
                        error: false,
                        text: text.clone(),
                    });
                }
                if !self.play_kept {
                    self.play = opened.recorded.clone();
                    self.active_filter = 0;
                }
                self.problem = None;
                self.view = None;
                self.view_generation = 0;
                self.selected = None;
                self.frame = None;
                self.why = None;
                self.thread = 0;
                self.collapsed = Shared::new(HashSet::new());
                self.sources = Shared::new(opened.sources.clone());
                self.opened = Some(Shared::new(*opened));
                self.land_on_failure = true;
                if self.play_kept {
                    // The link's (or the edited) filter applies to the new trace.
                    self.generation += 1;
                    self.flush(self.generation);
                }
            }
            Response::Switched(opened) => {
                self.clear_selection();
                self.thread = 0;
                self.sources = Shared::new(opened.sources.clone());
                self.opened = Some(Shared::new(*opened));
            }
            Response::View(view) => {
                if view.generation < self.view_generation {
                    return;
                }
                if view.generation == self.generation {
                    self.problem = None;
                }
                self.view_generation = view.generation;
                // The worker found the selected frame again, if it is still
                // there, and chose the thread (the selected frame's).
                let mut view = *view;
                let rows = std::mem::take(&mut view.rows);
                let found = view.selected;
                self.thread = rows.thread as usize;
                self.collapsed = Shared::new(HashSet::new());
                self.selected = None;
                self.selected_code = None;
                self.frame = None;
                self.painted = None;
                self.lanes = None;
                self.window_asked = None;
                self.window_waiting = None;
                self.view = Some(Shared::new(view));
                self.functions = None;
                self.ask_functions();
                if let Some(key) = found {
                    self.keep_step = Some(self.step);
                    self.selected = Some(key);
                    self.selected_code = rows
                        .rows
                        .iter()
                        .find(|r| r.node == key.node)
                        .map(|r| r.code);
                    self.post(Request::Frame { key });
                }
                if rows.epoch == self.epoch {
                    self.take_rows(rows);
                } else {
                    // The tree changed since: these rows do for now.
                    self.rows = Shared::new(rows);
                    self.refresh_rows(false);
                }
                if std::mem::take(&mut self.land_on_failure) && found.is_none() {
                    if let Some(failure) = self.view.as_ref().and_then(|v| v.exceptions.failure) {
                        self.go(failure);
                    }
                }
            }
            Response::Functions(table) => {
                if table.generation == self.view_generation {
                    self.functions = Some(Shared::new(*table));
                }
            }
            Response::At(Some(at)) => self.go(at),
            Response::At(None) => {
                self.error("That step is in no frame the playground's filter keeps.".to_string())
            }
            Response::Rows(rows) => self.take_rows(*rows),
            Response::Lanes(lanes) => {
                self.window_answered();
                if lanes.query.generation == self.view_generation {
                    self.lanes = Some(Shared::new(*lanes));
                }
            }
            Response::Timeline(painted) => {
                self.window_answered();
                if painted.query.generation == self.view_generation {
                    self.painted = Some(Shared::new(*painted));
                }
            }
            Response::FilterOk { generation } => {
                if generation == self.generation {
                    self.problem = None;
                }
            }
            Response::FilterProblem {
                generation,
                problem,
            } => {
                if generation == self.generation {
                    self.problem = Some(problem);
                }
            }
            Response::Frame { key, frame } => {
                if self.selected == Some(key) {
                    self.selected_code = Some(frame.code);
                    // Start at the first line rather than the call itself,
                    // or where the user was before a re-filter.
                    let first_line = frame.steps.iter().position(|s| s.kind == StepKind::Line);
                    self.step = match self.keep_step.take() {
                        Some(step) => step.min(frame.steps.len().saturating_sub(1)),
                        None => first_line.unwrap_or(0),
                    };
                    self.frame = Some(Shared::new(frame));
                }
            }
            Response::Why(why) => self.why = Some(Shared::new(*why)),
            // The worker joins the parts of a download into a Blob; the
            // handle saves it (see `worker::WorkerHandle::spawn`).
            Response::DownloadPart { .. } => {}
            Response::Download { name, bytes } => {
                if let Err(e) = dom::download(&name, &bytes, "application/octet-stream") {
                    self.error(e);
                }
            }
            Response::Failed { message } => {
                self.loading = None;
                self.window_busy = false;
                self.error(message);
            }
        }
    }

    fn views(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let (Some(opened), Some(view)) = (&self.opened, &self.view) else {
            return html! {
                <div class="welcome">
                    <h2>{ "Drop a trace anywhere on this page" }</h2>
                    <p>{ "or use “Open trace…”. Record one with " }<code>{ "tracesieve record -o trace.tsieve app.py" }</code>{ "." }</p>
                    <p>{ "The trace is read and re-filtered here, in your browser, by the same engine the recorder uses: nothing is uploaded." }</p>
                </div>
            };
        };
        let tab = |t: Tab, name: &str| {
            html! {
                <button class={classes!("tab", (self.tab == t).then_some("active"))}
                    onclick={link.callback(move |_: MouseEvent| Msg::Tab(t))}>{ name.to_string() }</button>
            }
        };
        let on_thread = link.callback(|e: Event| {
            let value = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
                .map(|s| s.value())
                .unwrap_or_default();
            Msg::Thread(value.parse().unwrap_or(0))
        });
        let on_process = link.callback(|e: Event| {
            let value = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlSelectElement>().ok())
                .map(|s| s.value())
                .unwrap_or_default();
            Msg::Process(value.parse().unwrap_or(0))
        });
        let on_search = link.callback(|e: InputEvent| {
            Msg::Search(
                e.target()
                    .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
                    .map(|i| i.value())
                    .unwrap_or_default(),
            )
        });
        let on_select = link.callback(|(key, code): (NodeKey, u32)| Msg::Select(key, code));
        let on_pick = link.callback(|(process, key, code)| Msg::Pick(process, key, code));
        let on_why_code = link.callback(|code: u32| Msg::Why(code, None));
        let selected_code = self
            .selected_code
            .filter(|_| self.selected.is_some())
            .and_then(|code| view.codes.get(code as usize).cloned());
        let why_value = {
            let recorded = selected_code.as_ref().map(|c| c.recorded);
            link.batch_callback(move |value: ValueRef| {
                recorded
                    .map(|code| Msg::Why(code, Some(value)))
                    .into_iter()
                    .collect::<Vec<_>>()
            })
        };
        html! {
            <>
                <nav class="view-bar">
                    { tab(Tab::Tree, "Call tree") }
                    { tab(Tab::Timeline, "Timeline") }
                    { tab(Tab::Summary, "Summary") }
                    { tab(Tab::Functions, "Functions") }
                    { tab(Tab::Exceptions, &format!("Exceptions ({})", format::count(view.exceptions.total))) }
                    if opened.processes.len() > 1 {
                        <select class="processes" data-testid="process-select" onchange={on_process} title="Process">
                            { for opened.processes.iter().enumerate().map(|(i, p)| html! {
                                <option value={i.to_string()} selected={i == opened.process}>
                                    { process_label(p) }
                                </option>
                            }) }
                        </select>
                    }
                    <select class="threads" data-testid="thread-select" onchange={on_thread} title="Thread">
                        { for view.threads.iter().enumerate().map(|(i, t)| html! {
                            <option value={i.to_string()} selected={i == self.thread}>
                                { format!("thread {} {} ({} calls)", t.thread, t.name, format::count(t.calls)) }
                            </option>
                        }) }
                    </select>
                    <input class="search" type="search" placeholder="Search calls by name" data-testid="search"
                        value={self.search.clone()} oninput={on_search} />
                    if !self.search.trim().is_empty() {
                        <span class="matches">{ match self.rows.total { 1 => "1 match".to_string(), n => format!("{} matches", format::count(u64::from(n))) } }</span>
                    }
                </nav>
                <div class="view-body">
                    { match self.tab {
                        Tab::Tree => html! {
                            <CallTreeView view={view.clone()} rows={self.rows.clone()}
                                collapsed={self.collapsed.clone()} searching={!self.search.trim().is_empty()}
                                selected={self.selected} scroll_to={self.scroll_to} on_select={on_select.clone()}
                                on_toggle={link.callback(Msg::Toggle)} on_why={on_why_code.clone()}
                                on_range={link.callback(|(first, count)| Msg::Range(first, count))} />
                        },
                        Tab::Timeline => html! {
                            <Timeline view={view.clone()} thread={self.thread} selected={self.selected}
                                painted={self.painted.clone()} on_select={on_select.clone()}
                                process={self.set_shown()} lanes={self.lanes.clone()} {on_pick}
                                on_window={link.callback(Msg::Window)} />
                        },
                        Tab::Summary => html! {
                            <Summary opened={opened.clone()} view={Some(view.clone())} />
                        },
                        Tab::Functions => html! {
                            <FunctionsTable view={view.clone()} table={self.functions.clone()}
                                on_show={link.callback(Msg::ShowCalls)} />
                        },
                        Tab::Exceptions => html! {
                            <ExceptionsList view={view.clone()} on_go={link.callback(Msg::GoToEvent)} />
                        },
                    } }
                </div>
                <SourcePane sources={self.sources.clone()} code={selected_code} frame={self.frame.clone()}
                    step={self.step} on_step={link.callback(Msg::Step)} on_why={why_value} on_why_code={on_why_code}
                    on_go={link.callback(Msg::Go)} />
            </>
        }
    }

    fn playground(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let paths = self
            .opened
            .as_ref()
            .map(|o| o.filter_paths.clone())
            .unwrap_or_default();
        html! {
            <Playground
                state={self.play.clone()}
                active={self.active_filter}
                {paths}
                problem={self.problem.clone()}
                view={self.view.clone()}
                busy={self.debounce.is_some() || (self.opened.is_some() && self.view_generation < self.generation && self.problem.is_none())}
                share_status={self.share_status.clone()}
                share_link={self.share_link.clone()}
                on_edit={link.callback(Msg::Edit)}
                on_pick={link.callback(Msg::PickFilter)}
                on_naming={link.callback(Msg::Naming)}
                on_roots={link.callback(Msg::Roots)}
                on_framework={link.callback(Msg::Framework)}
                on_reset={link.callback(|_| Msg::Reset)}
                on_download_filter={link.callback(|_| Msg::DownloadFilter)}
                on_download_trace={link.callback(|_| Msg::DownloadTrace)}
                on_share={link.callback(|_| Msg::Share)}
                on_why={link.callback(|code| Msg::Why(code, None))}
            />
        }
    }
}

/// The last part of a URL's path: the file name it is opened as.
fn url_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path).to_string()
}

/// The header's name: the file, or of a set, its first file and how many
/// processes it holds.
fn set_name(opened: &Opened) -> String {
    match opened.processes.first() {
        Some(first) if opened.processes.len() > 1 => {
            format!("{} · {} processes", first.name, opened.processes.len())
        }
        _ => opened.name.clone(),
    }
}

/// A process in the selector, indented by its depth in the process tree.
fn process_label(process: &ProcessView) -> String {
    let indent = "\u{a0}\u{a0}".repeat(process.depth as usize);
    let branch = if process.depth > 0 { "└ " } else { "" };
    format!("{indent}{branch}{}", process.label)
}

/// The progress bar while a trace is read.
fn progress(loading: &Loading) -> Html {
    let percent = if loading.total > 0 {
        (loading.bytes as f64 / loading.total as f64 * 100.0).min(100.0)
    } else {
        0.0
    };
    let text = if loading.total == 0 {
        format!("Fetching {}…", loading.name)
    } else {
        format!(
            "Reading {}: {} of {} · {} events",
            loading.name,
            format::bytes(loading.bytes),
            format::bytes(loading.total),
            format::count(loading.events)
        )
    };
    html! {
        <div class="progress" data-testid="progress" role="progressbar" aria-valuenow={format!("{percent:.0}")}>
            <div class="bar" style={format!("width:{percent:.1}%")}></div>
            <span>{ text }</span>
        </div>
    }
}
