//! The compact call index the worker keeps instead of a trace's events.
//!
//! One streaming pass over the file feeds every decoded event to
//! [`IndexBuilder::event`], a chunk at a time, and lets the events go. What
//! stays is, per thread, a struct of arrays with a few bytes per frame (code,
//! parent, first and last event, times, own events, how it started and
//! ended), and a [`Profile`] of the values: how often each value name
//! occurs per code and site, with the attribute names inside, so that the
//! statistics of a re-filter are exact without reading the events again.
//! The lines and values of a frame are decoded again from the file's chunks
//! when the frame is shown (see `session`).
//!
//! Nothing here decides what is traced, redacted or dropped: the session
//! asks the engine (`decide_codes`, `policy`) with what this module counts.

use crate::calltree::{CallNode, CallTree, Entry, Exit, ThreadCalls};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use tracesieve_engine::trace::policy::{self, Site};
use tracesieve_engine::trace::{Attr, Event, FilterStats, Name, Slot, Trace, Value, Var};
use tracesieve_engine::{Decision, ValueKind};

/// No frame, no code.
pub const NONE: u32 = u32::MAX;

/// A small multiplicative hasher for integer keys (the index hashes thread
/// numbers, code ids and name addresses, millions of times).
#[derive(Default, Clone, Copy)]
pub struct QuickHasher(u64);

impl Hasher for QuickHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// A hash map with [`QuickHasher`].
pub type QuickMap<K, V> = HashMap<K, V, BuildHasherDefault<QuickHasher>>;

/// How a frame started and ended, in one byte: entry in bits 0-1, exit in bits 2-3.
fn pack(entry: Entry, exit: Exit) -> u8 {
    let e = match entry {
        Entry::Call => 0,
        Entry::Resume => 1,
        Entry::Throw => 2,
    };
    let x = match exit {
        Exit::Return => 0,
        Exit::Yield => 1,
        Exit::Unwind => 2,
        Exit::Open => 3,
    };
    e | x << 2
}

fn entry_of(kind: u8) -> Entry {
    match kind & 3 {
        0 => Entry::Call,
        1 => Entry::Resume,
        _ => Entry::Throw,
    }
}

fn exit_of(kind: u8) -> Exit {
    match kind >> 2 {
        0 => Exit::Return,
        1 => Exit::Yield,
        2 => Exit::Unwind,
        _ => Exit::Open,
    }
}

/// The frames of one thread, in pre-order (a frame's subtree follows it),
/// as parallel arrays indexed by frame.
#[derive(Debug, Default)]
pub struct ThreadIndex {
    /// The thread number in the file.
    pub number: u32,
    /// Its name, from its first `thread_start`.
    pub name: String,
    /// The code's position in the code table ([`NONE`] for an unknown id).
    pub code: Vec<u32>,
    /// The enclosing frame ([`NONE`] for outermost frames).
    pub parent: Vec<u32>,
    /// How many frames follow in its subtree.
    pub size: Vec<u32>,
    /// The number of the entering event in the file.
    pub start: Vec<u32>,
    /// The number of the exiting event; for a frame still open at the end,
    /// of its last own event (its entry when it has none).
    pub end: Vec<u32>,
    /// Time of the entering event.
    pub t0: Vec<u64>,
    /// Time of the event `end` numbers.
    pub t1: Vec<u64>,
    /// Its own `line` and `raise` events (those it is the innermost frame of).
    pub own: Vec<u32>,
    /// Entry and exit, packed.
    kind: Vec<u8>,
    /// Open frames, innermost last.
    stack: Vec<u32>,
}

impl ThreadIndex {
    /// How many frames.
    pub fn len(&self) -> usize {
        self.code.len()
    }

    /// Whether the thread has no frames.
    pub fn is_empty(&self) -> bool {
        self.code.is_empty()
    }

    /// How frame `f` was entered.
    pub fn entry(&self, f: usize) -> Entry {
        entry_of(self.kind[f])
    }

    /// How frame `f` ended.
    pub fn exit(&self, f: usize) -> Exit {
        exit_of(self.kind[f])
    }

    /// The frames directly inside `f`, in order.
    pub fn children(&self, f: usize) -> impl Iterator<Item = usize> + '_ {
        let end = f + 1 + self.size[f] as usize;
        let mut next = f + 1;
        std::iter::from_fn(move || {
            (next < end).then(|| {
                let child = next;
                next += 1 + self.size[child] as usize;
                child
            })
        })
    }

    /// Bytes held, for the record.
    pub fn bytes(&self) -> usize {
        self.code.capacity() * 4 * 6 + self.t0.capacity() * 16 + self.kind.capacity()
    }
}

/// Every thread's frames, and what the trace as a whole needs.
#[derive(Debug, Default)]
pub struct CallIndex {
    /// Threads in order of their first event.
    pub threads: Vec<ThreadIndex>,
    /// How many events the file holds (up to any damage).
    pub events: u64,
    /// Time of the last event.
    pub last_t: u64,
    /// How many `call` events.
    pub calls: u64,
}

/// What a value is to its frame, for the profile (a [`Site`] without its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum SiteKind {
    Arg,
    Local,
    Global,
    Return,
    Yield,
    Unwind,
    Raise,
}

/// One node of the value profile: a named value at a site of a code, or an
/// attribute inside one.
#[derive(Debug)]
struct ProfileNode {
    /// The enclosing node ([`NONE`] for a value at its site).
    parent: u32,
    /// The code's position (for a value at its site).
    code: u32,
    site: SiteKind,
    name: Name,
    /// How often it occurs as a value (markers are left as they are by the policy).
    count: u64,
}

/// How often each value occurs, by code, site and name, and each attribute
/// within those: enough to count what a value policy redacts and drops
/// without reading the values again.
#[derive(Debug, Default)]
pub struct Profile {
    nodes: Vec<ProfileNode>,
    /// (code, site, name address) → node.
    tops: QuickMap<(u32, SiteKind, usize), u32>,
    /// (parent node, attribute name address) → node.
    attrs: QuickMap<(u32, usize), u32>,
    /// Set when the profile grew past [`MAX_PROFILE_NODES`]: it is not kept
    /// up any more, and the statistics are counted by reading the file.
    pub overflowed: bool,
    unnamed: Option<Name>,
    exception: Option<Name>,
}

/// The most profile nodes kept (a few hundred per code in real traces).
pub const MAX_PROFILE_NODES: usize = 1 << 21;

impl Profile {
    /// How many nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether nothing was profiled.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn top(&mut self, code: u32, site: SiteKind, name: &Name, slot: &Slot) {
        let Slot::Value { value } = slot else {
            return;
        };
        if self.overflowed {
            return;
        }
        let key = (code, site, Name::as_ptr(name) as *const u8 as usize);
        let node = match self.tops.get(&key) {
            Some(&node) => node,
            None => {
                let node = self.nodes.len() as u32;
                self.nodes.push(ProfileNode {
                    parent: NONE,
                    code,
                    site,
                    name: name.clone(),
                    count: 0,
                });
                self.tops.insert(key, node);
                node
            }
        };
        self.nodes[node as usize].count += 1;
        self.inside(node, value);
        if self.nodes.len() > MAX_PROFILE_NODES {
            self.give_up();
        }
    }

    /// Stops profiling and lets go of what was profiled: the statistics
    /// are counted by reading the file instead.
    pub fn give_up(&mut self) {
        self.overflowed = true;
        self.nodes = Vec::new();
        self.tops = QuickMap::default();
        self.attrs = QuickMap::default();
    }

    /// Counts the attributes of `value`, at every depth, under `parent`.
    fn inside(&mut self, parent: u32, value: &Value) {
        match value {
            Value::Object { attrs, .. } => {
                for attr in attrs {
                    let Slot::Value { value } = &attr.value else {
                        continue;
                    };
                    let key = (parent, Name::as_ptr(&attr.name) as *const u8 as usize);
                    let node = match self.attrs.get(&key) {
                        Some(&node) => node,
                        None => {
                            let node = self.nodes.len() as u32;
                            self.nodes.push(ProfileNode {
                                parent,
                                code: NONE,
                                site: SiteKind::Arg,
                                name: attr.name.clone(),
                                count: 0,
                            });
                            self.attrs.insert(key, node);
                            node
                        }
                    };
                    self.nodes[node as usize].count += 1;
                    self.inside(node, value);
                }
            }
            Value::Sequence { items, .. } => {
                for item in items {
                    self.inside(parent, item);
                }
            }
            Value::Dict { entries, .. } => {
                for (k, v) in entries {
                    self.inside(parent, k);
                    self.inside(parent, v);
                }
            }
            _ => {}
        }
    }

    fn vars(&mut self, code: u32, vars: &[Var], line: bool) {
        for var in vars {
            let site = match (line, var.kind) {
                (false, _) => SiteKind::Arg,
                (true, ValueKind::Global) => SiteKind::Global,
                (true, _) => SiteKind::Local,
            };
            self.top(code, site, &var.name, &var.value);
        }
    }

    fn unnamed(&mut self) -> Name {
        self.unnamed.get_or_insert_with(|| Name::from("")).clone()
    }

    fn exception(&mut self) -> Name {
        self.exception
            .get_or_insert_with(|| Name::from("exception"))
            .clone()
    }

    /// What the value policy redacts and drops of the profiled values under
    /// `decisions` (by code position), counted by the engine's
    /// [`policy::slot`] and [`policy::filter_attrs`] on one stand-in value per
    /// node, times how often the node occurs. `kept(code)` says whether a
    /// code is recorded; `module_level(code)` whether it is a module body.
    pub fn count(
        &self,
        decisions: &[Decision],
        kept: impl Fn(u32) -> bool,
        module_level: impl Fn(u32) -> bool,
    ) -> FilterStats {
        let mut total = FilterStats::default();
        // Whether each node's values reach the policy whole (every
        // enclosing value and attribute allowed).
        let mut open = vec![false; self.nodes.len()];
        for (i, node) in self.nodes.iter().enumerate() {
            let (decision, parent_open) = if node.parent == NONE {
                let decision = decisions
                    .get(node.code as usize)
                    .filter(|_| kept(node.code));
                (decision, true)
            } else {
                let mut top = node.parent as usize;
                while self.nodes[top].parent != NONE {
                    top = self.nodes[top].parent as usize;
                }
                let code = self.nodes[top].code;
                (
                    decisions.get(code as usize).filter(|_| kept(code)),
                    open[node.parent as usize],
                )
            };
            let Some(decision) = decision.filter(|_| parent_open) else {
                continue;
            };
            let stand_in = Value::Int { value: 0 };
            let mut one = FilterStats::default();
            if node.parent == NONE {
                let site = match node.site {
                    SiteKind::Arg => Site::Arg(&node.name),
                    SiteKind::Local => Site::Local {
                        name: &node.name,
                        module_level: module_level(node.code),
                    },
                    SiteKind::Global => Site::Global(&node.name),
                    SiteKind::Return => Site::Return,
                    SiteKind::Yield => Site::Yield,
                    SiteKind::Unwind => Site::Unwind,
                    SiteKind::Raise => Site::Raise,
                };
                policy::slot(decision, site, Slot::Value { value: stand_in }, &mut one);
            } else {
                let object = Value::Object {
                    type_name: node.name.clone(),
                    attrs: vec![Attr {
                        name: node.name.clone(),
                        value: Slot::Value { value: stand_in },
                    }],
                    length: 1,
                };
                policy::filter_attrs(decision, object, &mut one);
            }
            if one == FilterStats::default() {
                open[i] = true;
            } else {
                for k in 0..one.redacted.len() {
                    total.redacted[k] += one.redacted[k] * node.count;
                    total.dropped[k] += one.dropped[k] * node.count;
                }
            }
        }
        total
    }
}

/// Builds a [`CallIndex`] and a [`Profile`] from events fed in file order.
#[derive(Debug, Default)]
pub struct IndexBuilder {
    index: CallIndex,
    profile: Profile,
    slot_of: QuickMap<u32, usize>,
    /// The thread of the last event, and its slot.
    last: Option<(u32, usize)>,
    /// Code id → position in the code table.
    positions: QuickMap<u32, u32>,
}

impl IndexBuilder {
    /// A builder with no events.
    pub fn new() -> IndexBuilder {
        IndexBuilder::default()
    }

    /// Learns the code table so far (codes are defined before events name them).
    pub fn codes(&mut self, tables: &Trace) {
        for (position, code) in tables.codes.iter().enumerate().skip(self.positions.len()) {
            self.positions.entry(code.id).or_insert(position as u32);
        }
    }

    fn slot(&mut self, number: u32) -> usize {
        if let Some((thread, slot)) = self.last {
            if thread == number {
                return slot;
            }
        }
        let threads = &mut self.index.threads;
        let slot = *self.slot_of.entry(number).or_insert_with(|| {
            threads.push(ThreadIndex {
                number,
                ..ThreadIndex::default()
            });
            threads.len() - 1
        });
        self.last = Some((number, slot));
        slot
    }

    /// Takes in the next event of the file.
    pub fn event(&mut self, event: &Event) {
        let number = u32::try_from(self.index.events).unwrap_or(NONE - 1);
        self.index.events += 1;
        let t = event.time();
        self.index.last_t = t;
        let slot = self.slot(event.thread());
        let calls = &mut self.index.threads[slot];
        let top = calls.stack.last().copied();
        let top_code = top.map(|f| calls.code[f as usize]);
        match event {
            Event::ThreadStart { name, .. } => {
                if calls.name.is_empty() {
                    calls.name = name.clone();
                }
            }
            Event::Call { code, args, .. } => {
                self.index.calls += 1;
                let position = self.positions.get(code).copied().unwrap_or(NONE);
                push(calls, position, number, t, Entry::Call);
                self.profile.vars(position, args, false);
            }
            Event::Resume { code, .. } => {
                let position = self.positions.get(code).copied().unwrap_or(NONE);
                push(calls, position, number, t, Entry::Resume);
            }
            Event::Throw {
                code, exception, ..
            } => {
                let position = self.positions.get(code).copied().unwrap_or(NONE);
                push(calls, position, number, t, Entry::Throw);
                let name = self.profile.exception();
                self.profile.top(position, SiteKind::Arg, &name, exception);
            }
            Event::Line { vars, .. } => {
                if let (Some(f), Some(code)) = (top, top_code) {
                    own(calls, f, number, t);
                    self.profile.vars(code, vars, true);
                }
            }
            Event::Raise { exception, .. } => {
                if let (Some(f), Some(code)) = (top, top_code) {
                    own(calls, f, number, t);
                    let name = self.profile.unnamed();
                    self.profile.top(code, SiteKind::Raise, &name, exception);
                }
            }
            Event::Return { value, .. }
            | Event::Yield { value, .. }
            | Event::Unwind { value, .. } => {
                if let (Some(f), Some(code)) = (top, top_code) {
                    let (exit, site) = match event {
                        Event::Return { .. } => (Exit::Return, SiteKind::Return),
                        Event::Yield { .. } => (Exit::Yield, SiteKind::Yield),
                        _ => (Exit::Unwind, SiteKind::Unwind),
                    };
                    calls.stack.pop();
                    let f = f as usize;
                    calls.end[f] = number;
                    calls.t1[f] = t;
                    calls.kind[f] = pack(entry_of(calls.kind[f]), exit);
                    let name = self.profile.unnamed();
                    self.profile.top(code, site, &name, value);
                }
            }
        }
    }

    /// The index and the profile, once every event is in.
    pub fn finish(mut self) -> (CallIndex, Profile) {
        for calls in &mut self.index.threads {
            calls.stack = Vec::new();
            let n = calls.len();
            calls.size = vec![0; n];
            for f in (0..n).rev() {
                let p = calls.parent[f];
                if p != NONE {
                    calls.size[p as usize] += calls.size[f] + 1;
                }
            }
            for v in [
                &mut calls.code,
                &mut calls.parent,
                &mut calls.start,
                &mut calls.end,
                &mut calls.own,
            ] {
                v.shrink_to_fit();
            }
            calls.t0.shrink_to_fit();
            calls.t1.shrink_to_fit();
            calls.kind.shrink_to_fit();
        }
        (self.index, self.profile)
    }
}

fn push(calls: &mut ThreadIndex, code: u32, number: u32, t: u64, entry: Entry) {
    let f = calls.code.len() as u32;
    calls.code.push(code);
    calls
        .parent
        .push(calls.stack.last().copied().unwrap_or(NONE));
    calls.start.push(number);
    calls.end.push(number);
    calls.t0.push(t);
    calls.t1.push(t);
    calls.own.push(0);
    calls.kind.push(pack(entry, Exit::Open));
    calls.stack.push(f);
}

fn own(calls: &mut ThreadIndex, f: u32, number: u32, t: u64) {
    let f = f as usize;
    calls.own[f] = calls.own[f].saturating_add(1);
    calls.end[f] = number;
    calls.t1[f] = t;
}

/// The displayed call tree, and where its nodes are in the index.
#[derive(Debug, Default)]
pub struct Displayed {
    /// The tree the page draws.
    pub tree: CallTree,
    /// Displayed thread → thread slot in the index.
    pub threads: Vec<usize>,
    /// Displayed node → frame in the index, per displayed thread (empty
    /// when every frame is shown: the same numbers).
    pub frames: Vec<Vec<u32>>,
    /// Events in the displayed trace.
    pub events: u64,
    /// `call` events in it.
    pub calls: u64,
}

impl CallIndex {
    /// The tree of the trace as recorded: every frame, threads in order of
    /// their first event, open frames ending at the last event.
    pub fn recorded(&self) -> Displayed {
        let threads = self
            .threads
            .iter()
            .map(|calls| {
                let mut depth = vec![0u32; calls.len()];
                let mut deepest = 0;
                let nodes = (0..calls.len())
                    .map(|f| {
                        let p = calls.parent[f];
                        depth[f] = if p == NONE { 0 } else { depth[p as usize] + 1 };
                        deepest = deepest.max(depth[f] + 1);
                        let open = calls.exit(f) == Exit::Open;
                        CallNode {
                            code: calls.code[f],
                            depth: depth[f],
                            size: calls.size[f],
                            start: calls.start[f],
                            end: if open {
                                u32::try_from(self.events).unwrap_or(NONE)
                            } else {
                                calls.end[f]
                            },
                            t0: calls.t0[f],
                            t1: if open { self.last_t } else { calls.t1[f] },
                            entry: calls.entry(f),
                            exit: calls.exit(f),
                        }
                    })
                    .collect();
                ThreadCalls {
                    thread: calls.number,
                    name: calls.name.clone(),
                    nodes,
                    depth: deepest,
                }
            })
            .collect();
        Displayed {
            tree: CallTree {
                threads,
                end_t: self.last_t,
            },
            threads: (0..self.threads.len()).collect(),
            frames: Vec::new(),
            events: self.events,
            calls: self.calls,
        }
    }

    /// The tree of the trace re-filtered so that only the frames whose code
    /// `shown` maps to a displayed code remain (the frames a skipped one
    /// calls stay, one level up), as the engine's re-filtering writes it:
    /// threads numbered in order of their first kept event, each announced
    /// by a `thread_start`; frames still open end at the last kept event.
    /// `start` and `end` stay event numbers of the recorded file.
    pub fn filtered(&self, shown: &[u32]) -> Displayed {
        let code_of = |code: u32| shown.get(code as usize).copied().unwrap_or(NONE);
        let mut threads: Vec<(u32, usize, ThreadCalls, Vec<u32>)> = Vec::new();
        let mut events = 0u64;
        let mut calls_kept = 0u64;
        // The last kept event: its number and time.
        let mut last = (0u32, 0u64, false);
        for (slot, calls) in self.threads.iter().enumerate() {
            let mut nodes: Vec<CallNode> = Vec::new();
            let mut frames = Vec::new();
            let mut parents: Vec<u32> = Vec::new();
            // Per frame: the innermost kept frame at or around it (a node).
            let mut around = vec![NONE; calls.len()];
            let mut deepest = 0;
            for f in 0..calls.len() {
                let p = calls.parent[f];
                let outer = if p == NONE { NONE } else { around[p as usize] };
                let code = code_of(calls.code[f]);
                if code == NONE {
                    around[f] = outer;
                    continue;
                }
                let depth = if outer == NONE {
                    0
                } else {
                    nodes[outer as usize].depth + 1
                };
                deepest = deepest.max(depth + 1);
                around[f] = nodes.len() as u32;
                let open = calls.exit(f) == Exit::Open;
                events += 1 + u64::from(calls.own[f]) + u64::from(!open);
                if calls.entry(f) == Entry::Call {
                    calls_kept += 1;
                }
                if !last.2 || calls.end[f] > last.0 {
                    last = (calls.end[f], calls.t1[f], true);
                }
                nodes.push(CallNode {
                    code,
                    depth,
                    size: 0,
                    start: calls.start[f],
                    end: calls.end[f],
                    t0: calls.t0[f],
                    t1: calls.t1[f],
                    entry: calls.entry(f),
                    exit: calls.exit(f),
                });
                frames.push(f as u32);
                parents.push(outer);
            }
            if nodes.is_empty() {
                continue;
            }
            for n in (0..nodes.len()).rev() {
                let p = parents[n];
                if p != NONE {
                    nodes[p as usize].size += nodes[n].size + 1;
                }
            }
            events += 1; // its thread_start
            let first = nodes[0].start;
            threads.push((
                first,
                slot,
                ThreadCalls {
                    thread: 0,
                    name: calls.name.clone(),
                    nodes,
                    depth: deepest,
                },
                frames,
            ));
        }
        threads.sort_by_key(|t| t.0);
        let end_t = last.1;
        let mut displayed = Displayed {
            events,
            calls: calls_kept,
            ..Displayed::default()
        };
        for (number, (_, slot, mut calls, frames)) in threads.into_iter().enumerate() {
            calls.thread = number as u32;
            for node in &mut calls.nodes {
                if node.exit == Exit::Open {
                    node.t1 = end_t;
                    node.end = u32::try_from(self.events).unwrap_or(NONE);
                }
            }
            displayed.tree.threads.push(calls);
            displayed.threads.push(slot);
            displayed.frames.push(frames);
        }
        displayed.tree.end_t = end_t;
        displayed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn index(t: &Trace) -> (CallIndex, Profile) {
        let mut b = IndexBuilder::new();
        b.codes(t);
        for e in &t.events {
            b.event(e);
        }
        b.finish()
    }

    #[test]
    fn the_recorded_tree_is_the_tree_of_the_events() {
        let t = trace(vec![
            ret(0, 0),
            thread_start(0, "MainThread", 0),
            call(0, 0, 1),
            line(0, 2, 2),
            call(0, 1, 3),
            thread_start(1, "worker", 4),
            call(1, 2, 5),
            ret(0, 6),
            call(0, 1, 7),
            ret(0, 8),
            ret(1, 9),
            line(0, 3, 10),
        ]);
        let (index, _) = index(&t);
        assert_eq!(index.recorded().tree, CallTree::build(&t));
        assert_eq!(index.calls, 4);
        let main = &index.threads[0];
        assert_eq!(main.children(0).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(main.own[0], 2);
    }
}
