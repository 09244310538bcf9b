//! Source stepping: the lines one frame ran, and the values visible at each.
//!
//! The worker cuts a frame out of the displayed trace with [`Frame::of`];
//! the page steps through it and asks [`Frame::state_at`] for the values.
//! A trace records only the variables that changed since the frame's
//! previous line, so the state at a step is the fold of the changes so far.

use crate::calltree::CallNode;
use crate::calltree::NodeKey;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use tracesieve_engine::trace::export::render_slot;
use tracesieve_engine::trace::policy::{inner_names, InnerName, Site};
use tracesieve_engine::trace::{CodeInfo, Event, Slot, Trace};
use tracesieve_engine::{Action, Decision, ValueKind};

/// At most this many steps are cut out of one frame.
pub const MAX_STEPS: usize = 20_000;

/// What a value is to its frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// A call argument.
    Arg,
    /// A local variable.
    Local,
    /// A global seen from the frame.
    Global,
    /// The value returned, yielded or unwound.
    Return,
    /// An exception raised at this step.
    Exception,
}

impl Role {
    /// The engine's site for a value of this role named `name` (exits are
    /// named `return`, `yield` or `unwind`).
    pub fn site(self, name: &str, module_level: bool) -> Site<'_> {
        match self {
            Role::Arg => Site::Arg(name),
            Role::Local => Site::Local { name, module_level },
            Role::Global => Site::Global(name),
            Role::Return => match name {
                "yield" => Site::Yield,
                "unwind" => Site::Unwind,
                _ => Site::Return,
            },
            Role::Exception => Site::Raise,
        }
    }

    /// The role of a recorded variable of `kind`.
    pub fn of(kind: ValueKind) -> Role {
        match kind {
            ValueKind::Arg => Role::Arg,
            ValueKind::Global => Role::Global,
            ValueKind::Ret => Role::Return,
            ValueKind::Local | ValueKind::Attr => Role::Local,
        }
    }

    /// The word shown in the values table.
    pub fn word(self) -> &'static str {
        match self {
            Role::Arg => "arg",
            Role::Local => "local",
            Role::Global => "global",
            Role::Return => "return",
            Role::Exception => "raise",
        }
    }
}

/// Whether a value is there, or which marker stands for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Marker {
    /// The value is recorded.
    Value,
    /// The filter said `redact`.
    Redacted,
    /// The filter said `drop` (only returns keep a marker).
    Dropped,
    /// Not captured (`--values`).
    Absent,
}

/// One value as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueView {
    /// Its role.
    pub role: Role,
    /// The variable name (`return`/`yield`/`unwind` for exits, `exception` for raises).
    pub name: String,
    /// The value rendered as Python-like text (the engine's rendering), or the marker.
    pub text: String,
    /// Whether the value is there.
    pub marker: Marker,
    /// For a redacted or dropped value: whether the record-time chain
    /// decided so (then the value is not in the file, and no filter can
    /// bring it back). Set by [`Frame::mark_record_time`].
    pub at_record_time: bool,
    /// For a redacted value: whether it was redacted by value, its name
    /// being allowed (it holds a text redacted earlier in the trace, see
    /// the engine's `trace::secrets`). Set by [`Frame::mark_by_value`].
    pub by_value: bool,
    /// For a value redacted by value: where the text it held was learned
    /// ("arg `password` in shop.login"), when known. Set by
    /// [`Frame::texts_held`].
    pub learned_from: Option<String>,
    /// Then, the step where that text was learned, when it is displayed.
    pub learned_at: Option<Moment>,
    /// The attributes and dict keys inside the value that a filter
    /// decides by themselves (see the engine's `InnerName`); the worker
    /// keeps those that the shown or the record-time filter redacts or
    /// drops, as the recorded value holds them.
    pub inner: Vec<InnerName>,
}

/// A step of a frame of the displayed trace: where the page can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moment {
    /// The frame.
    pub key: NodeKey,
    /// Its code (displayed index).
    pub code: u32,
    /// The step (from 0).
    pub step: usize,
}

/// At most this many inner names are kept for one value.
const MAX_INNER_NAMES: usize = 64;

impl ValueView {
    /// The view of `slot`.
    pub fn new(role: Role, name: impl Into<String>, slot: &Slot) -> ValueView {
        ValueView {
            role,
            name: name.into(),
            text: render_slot(slot),
            marker: match slot {
                Slot::Value { .. } => Marker::Value,
                Slot::Redacted => Marker::Redacted,
                Slot::Dropped => Marker::Dropped,
                Slot::Absent => Marker::Absent,
            },
            at_record_time: false,
            by_value: false,
            learned_from: None,
            learned_at: None,
            inner: match slot {
                Slot::Value { value } => inner_names(value, MAX_INNER_NAMES),
                _ => Vec::new(),
            },
        }
    }

    /// Where the value stands, as the engine's value policy sees it.
    pub fn site(&self, module_level: bool) -> Site<'_> {
        self.role.site(&self.name, module_level)
    }
}

/// What happened at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepKind {
    /// The frame starts (call, resume or throw), at its first line.
    Enter,
    /// A line is about to run.
    Line,
    /// An exception is raised at the line.
    Raise,
    /// The frame exits (return, yield or unwind).
    Exit,
}

/// One step of a frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// What happened.
    pub kind: StepKind,
    /// The source line (the code's first line for [`StepKind::Enter`]).
    pub line: u32,
    /// The values that changed at this step.
    pub changes: Vec<ValueView>,
}

impl Step {
    /// The change of the value of `role` named `name` at this step.
    pub fn change(&self, role: Role, name: &str) -> Option<&ValueView> {
        self.changes
            .iter()
            .find(|c| c.role == role && c.name == name)
    }
}

/// The steps of one frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// The code object (displayed trace's index).
    pub code: u32,
    /// The file the code comes from.
    pub filename: String,
    /// The steps, starting with the entry.
    pub steps: Vec<Step>,
    /// Set when the frame had more than [`MAX_STEPS`] steps.
    pub cut: bool,
}

impl Frame {
    /// The steps of `node`, a frame on thread `thread` of `trace`.
    pub fn of(trace: &Trace, thread: u32, node: &CallNode) -> Frame {
        let end = (node.end as usize).min(trace.events.len().saturating_sub(1));
        let events = trace
            .events
            .iter()
            .take(end + 1)
            .skip(node.start as usize)
            .filter(|e| e.thread() == thread);
        let code = trace.codes.get(node.code as usize);
        Frame::from_events(events, node.code, code)
    }

    /// The steps of a frame from its events on its thread: the entering
    /// event first, then everything up to its exit (the events of the
    /// frames it calls are passed over). `code` is the frame's code
    /// (`index` in the displayed code table).
    pub fn from_events<'a>(
        mut events: impl Iterator<Item = &'a Event>,
        index: u32,
        code: Option<&CodeInfo>,
    ) -> Frame {
        let first_line = code.map_or(0, |c| c.first_line);
        let mut steps = Vec::new();
        let enter = match events.next() {
            Some(Event::Call { args, .. }) => args
                .iter()
                .map(|v| ValueView::new(Role::Arg, &*v.name, &v.value))
                .collect(),
            Some(Event::Throw { exception, .. }) => {
                vec![ValueView::new(Role::Arg, "exception", exception)]
            }
            _ => Vec::new(),
        };
        steps.push(Step {
            kind: StepKind::Enter,
            line: first_line,
            changes: enter,
        });
        let mut last_line = first_line;
        let mut depth = 0u32;
        let mut cut = false;
        for event in events {
            if steps.len() >= MAX_STEPS {
                cut = true;
                break;
            }
            match event {
                Event::Call { .. } | Event::Resume { .. } | Event::Throw { .. } => depth += 1,
                Event::Return { value, .. }
                | Event::Yield { value, .. }
                | Event::Unwind { value, .. } => {
                    if depth == 0 {
                        let name = match event {
                            Event::Return { .. } => "return",
                            Event::Yield { .. } => "yield",
                            _ => "unwind",
                        };
                        steps.push(Step {
                            kind: StepKind::Exit,
                            line: last_line,
                            changes: vec![ValueView::new(Role::Return, name, value)],
                        });
                        break;
                    }
                    depth -= 1;
                }
                Event::Line { line, vars, .. } if depth == 0 => {
                    last_line = *line;
                    steps.push(Step {
                        kind: StepKind::Line,
                        line: *line,
                        changes: vars
                            .iter()
                            .map(|v| ValueView::new(Role::of(v.kind), &*v.name, &v.value))
                            .collect(),
                    });
                }
                Event::Raise {
                    line, exception, ..
                } if depth == 0 => {
                    last_line = *line;
                    steps.push(Step {
                        kind: StepKind::Raise,
                        line: *line,
                        changes: vec![ValueView::new(Role::Exception, "exception", exception)],
                    });
                }
                _ => {}
            }
        }
        Frame {
            code: index,
            filename: code.map(|c| c.filename.clone()).unwrap_or_default(),
            steps,
            cut,
        }
    }

    /// Marks the redacted and dropped values that `recorded`, the
    /// record-time decision of this frame's code, redacted or dropped.
    pub fn mark_record_time(&mut self, recorded: &Decision, module_level: bool) {
        for change in self.steps.iter_mut().flat_map(|s| s.changes.iter_mut()) {
            if matches!(change.marker, Marker::Redacted | Marker::Dropped) {
                change.at_record_time = change
                    .site(module_level)
                    .action(recorded)
                    .is_some_and(|(_, action)| action != Action::Allow);
            }
        }
    }

    /// Marks the redacted values whose name `shown`, the decision this
    /// frame's code is shown with, allows: they were redacted by value.
    pub fn mark_by_value(&mut self, shown: &Decision, module_level: bool) {
        for change in self.steps.iter_mut().flat_map(|s| s.changes.iter_mut()) {
            if change.marker == Marker::Redacted && !change.at_record_time {
                change.by_value = change
                    .site(module_level)
                    .action(shown)
                    .is_none_or(|(_, action)| action == Action::Allow);
            }
        }
    }

    /// For each value redacted by value: its step, its place among the
    /// step's changes, and the first of `texts` that the value's rendering
    /// in `recorded` (this frame before re-filtering, step for step) holds.
    /// A text that rendering escapes (quotes, control characters) is not
    /// found: the value then stays marked by value without an origin.
    pub fn texts_held(&self, recorded: &Frame, texts: &[&str]) -> Vec<(usize, usize, usize)> {
        let mut held = Vec::new();
        for (at, (step, before)) in self.steps.iter().zip(&recorded.steps).enumerate() {
            for (c, change) in step.changes.iter().enumerate().filter(|(_, c)| c.by_value) {
                let raw = before.change(change.role, &change.name);
                if let Some(t) = raw.and_then(|raw| texts.iter().position(|t| raw.text.contains(t)))
                {
                    held.push((at, c, t));
                }
            }
        }
        held
    }

    /// Gives each value the inner names its recorded rendering in
    /// `recorded` (this frame before re-filtering, step for step) holds,
    /// keeping those `keep` wants: entries the shown value no longer has
    /// (dropped) are named too.
    pub fn inner_from(&mut self, recorded: &Frame, keep: impl Fn(&ValueView, &InnerName) -> bool) {
        for (step, before) in self.steps.iter_mut().zip(&recorded.steps) {
            for change in step.changes.iter_mut() {
                let inner = before
                    .change(change.role, &change.name)
                    .map(|raw| raw.inner.iter())
                    .into_iter()
                    .flatten()
                    .filter(|inner| keep(change, inner))
                    .cloned()
                    .collect();
                change.inner = inner;
            }
        }
    }

    /// Keeps the inner names of each value that `keep` wants.
    pub fn keep_inner(&mut self, keep: impl Fn(&ValueView, &InnerName) -> bool) {
        for change in self.steps.iter_mut().flat_map(|s| s.changes.iter_mut()) {
            let inner = std::mem::take(&mut change.inner);
            change.inner = inner.into_iter().filter(|i| keep(change, i)).collect();
        }
    }

    /// The values visible at step `index`: arguments, then locals, globals
    /// and (at an exit or raise) the returned value or exception, each name
    /// with its latest value, in order of first appearance within its role.
    pub fn state_at(&self, index: usize) -> Vec<ValueView> {
        let mut state: Vec<ValueView> = Vec::new();
        let last = index.min(self.steps.len().saturating_sub(1));
        for (at, step) in self.steps.iter().enumerate().take(last + 1) {
            for change in &step.changes {
                let transient = matches!(change.role, Role::Return | Role::Exception);
                if transient && at != last {
                    continue;
                }
                match state
                    .iter_mut()
                    .find(|v| v.role == change.role && v.name == change.name)
                {
                    Some(slot) => *slot = change.clone(),
                    None => state.push(change.clone()),
                }
            }
        }
        // A stable sort keeps first-appearance order within a role.
        state.sort_by_key(|v| v.role);
        state
    }

    /// Every step at which the value of `role` named `name` changed: the
    /// step, the line that wrote it (as [`Frame::written_until`] places
    /// it), and the value.
    pub fn history(&self, role: Role, name: &str) -> Vec<(usize, u32, ValueView)> {
        self.steps
            .iter()
            .enumerate()
            .filter_map(|(at, step)| {
                let change = step.change(role, name)?;
                Some((at, self.writing_line(at), change.clone()))
            })
            .collect()
    }

    /// The line whose running made step `at`'s changes.
    fn writing_line(&self, at: usize) -> u32 {
        let step = &self.steps[at];
        match (step.kind, at.checked_sub(1)) {
            (StepKind::Line | StepKind::Exit, Some(before)) => self.steps[before].line,
            _ => step.line,
        }
    }

    /// The values each line of the frame wrote up to step `index`, each
    /// name with its latest text, for the source view's values beside the
    /// lines: a line step's changes were made by the line before it, an
    /// entry's arguments belong to the first line, an exit's value to the
    /// line that returned it. Raised exceptions are left out.
    pub fn written_until(&self, index: usize) -> BTreeMap<u32, Vec<(String, String)>> {
        let mut out: BTreeMap<u32, Vec<(String, String)>> = BTreeMap::new();
        let last = index.min(self.steps.len().saturating_sub(1));
        for (at, step) in self.steps.iter().enumerate().take(last + 1) {
            let line = self.writing_line(at);
            for change in step.changes.iter().filter(|c| c.role != Role::Exception) {
                let names = out.entry(line).or_default();
                match names.iter_mut().find(|(name, _)| *name == change.name) {
                    Some(written) => written.1 = change.text.clone(),
                    None => names.push((change.name.clone(), change.text.clone())),
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calltree::CallTree;
    use crate::testkit::*;
    use tracesieve_engine::trace::{Slot, Value};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn sample() -> Trace {
        trace(vec![
            thread_start(0, "MainThread", 0),
            call(0, 0, 1),
            line(0, 1, 2),
            call_with(
                0,
                1,
                3,
                vec![
                    int_var(ValueKind::Arg, "amount", 5),
                    marker_var(ValueKind::Arg, "card", Slot::Redacted),
                ],
            ),
            line(0, 4, 4),
            thread_start(1, "other", 5),
            line(1, 9, 5),
            line_with(0, 5, 6, vec![int_var(ValueKind::Local, "total", 5)]),
            call(0, 2, 7),
            line(0, 8, 8),
            ret(0, 9),
            line_with(0, 5, 10, vec![int_var(ValueKind::Local, "total", 6)]),
            Event::Return {
                thread: 0,
                t: 11,
                value: Slot::Dropped,
            },
        ])
    }

    #[test]
    fn a_frame_holds_its_own_lines_only() {
        let t = sample();
        let tree = CallTree::build(&t);
        let node = tree.threads[0].nodes[1];
        let frame = Frame::of(&t, 0, &node);
        let lines: Vec<(StepKind, u32)> = frame.steps.iter().map(|s| (s.kind, s.line)).collect();
        assert_eq!(
            lines,
            vec![
                (StepKind::Enter, 3),
                (StepKind::Line, 4),
                (StepKind::Line, 5),
                (StepKind::Line, 5),
                (StepKind::Exit, 5),
            ]
        );
        assert_eq!(frame.filename, "/proj/shop/pay.py");
        assert!(!frame.cut);
    }

    #[test]
    fn each_line_shows_what_it_wrote_up_to_the_step() {
        let t = sample();
        let tree = CallTree::build(&t);
        let frame = Frame::of(&t, 0, &tree.threads[0].nodes[1]);
        let names = |step: usize| -> Vec<(u32, Vec<String>)> {
            frame
                .written_until(step)
                .into_iter()
                .map(|(line, values)| {
                    (
                        line,
                        values
                            .into_iter()
                            .map(|(n, v)| format!("{n}={v}"))
                            .collect(),
                    )
                })
                .collect()
        };
        let card = frame.steps[0].changes[1].text.clone();
        // Step 2 is line 5 about to run: line 4 wrote total = 5.
        assert_eq!(
            names(2),
            [
                (3, vec!["amount=5".to_string(), format!("card={card}")]),
                (4, vec!["total=5".to_string()]),
            ]
        );
        let at_exit = names(4);
        assert_eq!(at_exit[2].0, 5);
        assert_eq!(at_exit[2].1[0], "total=6");
        assert!(at_exit[2].1[1].starts_with("return="));
    }

    #[test]
    fn a_value_s_history_is_every_step_that_changed_it() {
        let t = sample();
        let tree = CallTree::build(&t);
        let frame = Frame::of(&t, 0, &tree.threads[0].nodes[1]);
        let history: Vec<(usize, u32, String)> = frame
            .history(Role::Local, "total")
            .into_iter()
            .map(|(step, line, v)| (step, line, v.text))
            .collect();
        assert_eq!(history, [(2, 4, "5".to_string()), (3, 5, "6".to_string())]);
        assert!(frame.history(Role::Local, "nothing").is_empty());
    }

    #[test]
    fn state_folds_changes_and_shows_markers() {
        let t = sample();
        let tree = CallTree::build(&t);
        let frame = Frame::of(&t, 0, &tree.threads[0].nodes[1]);
        let at = |i: usize| -> Vec<(Role, String, String)> {
            frame
                .state_at(i)
                .into_iter()
                .map(|v| (v.role, v.name, v.text))
                .collect()
        };
        assert_eq!(
            at(0),
            vec![
                (Role::Arg, "amount".into(), "5".into()),
                (Role::Arg, "card".into(), "<redacted>".into()),
            ]
        );
        assert_eq!(at(2)[2], (Role::Local, "total".into(), "5".into()));
        assert_eq!(at(3)[2], (Role::Local, "total".into(), "6".into()));
        let exit = frame.state_at(4);
        assert_eq!(exit.len(), 4);
        assert_eq!(exit[3].role, Role::Return);
        assert_eq!(exit[3].marker, Marker::Dropped);
        // The return shows only at the exit step.
        assert!(frame.state_at(3).iter().all(|v| v.role != Role::Return));
        // Out of range: the last step.
        assert_eq!(frame.state_at(99), exit);
    }

    #[test]
    fn values_render_with_the_engine() {
        let v = ValueView::new(
            Role::Local,
            "s",
            &Slot::Value {
                value: Value::Str {
                    value: "<script>".into(),
                    length: 8,
                },
            },
        );
        assert_eq!(v.text, "'<script>'");
        assert_eq!(v.marker, Marker::Value);
    }

    #[test]
    fn an_open_frame_runs_to_the_end_of_the_trace() {
        let t = trace(vec![call(0, 0, 1), line(0, 1, 2), line(0, 2, 3)]);
        let tree = CallTree::build(&t);
        let frame = Frame::of(&t, 0, &tree.threads[0].nodes[0]);
        assert_eq!(frame.steps.len(), 3);
    }
}
