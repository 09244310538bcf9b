//! The compact call index the worker keeps instead of a trace's events.
//!
//! One streaming pass over the file feeds every decoded event to
//! [`IndexBuilder::event`], a chunk at a time, and lets the events go. What
//! stays is, per thread, a struct of arrays with a few bytes per frame (code,
//! parent, first and last event, times, own events, how it started and
//! ended), and a [`Profile`] of the values: how often each value name
//! occurs per code and site, with the attribute names and string dict keys
//! inside, so that the statistics of a re-filter are exact without reading
//! the events again.
//! The lines and values of a frame are decoded again from the file's chunks
//! when the frame is shown (see `session`).
//!
//! Nothing here decides what is traced, redacted or dropped: the session
//! asks the engine (`decide_codes`, `policy`) with what this module counts.

use crate::calltree::{Anchor, CallNode, CallTree, Entry, Exit, NodeKey, ThreadCalls};
use crate::exceptions::ExceptionLog;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use tracesieve_engine::trace::policy::{self, Nest, Site};
use tracesieve_engine::trace::secrets::Secrets;
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

/// Elements per block of a [`Column`] (after the first, which grows to it).
const BLOCK_SHIFT: usize = 16;
const BLOCK: usize = 1 << BLOCK_SHIFT;

/// A growable array kept in blocks of [`BLOCK`] elements: growing never
/// copies what it holds (a `Vec` doubles and copies, and in wasm the memory
/// of the old copy stays with the tab), and at most one block is unused.
/// The first block grows like a `Vec` up to [`BLOCK`], so that the many
/// small threads of a program cost little.
#[derive(Debug, Clone)]
pub struct Column<T> {
    blocks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Column<T> {
    fn default() -> Self {
        Column {
            blocks: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Copy> Column<T> {
    /// How many elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `value`.
    pub fn push(&mut self, value: T) {
        if self.blocks.is_empty() {
            self.blocks.push(Vec::new());
        } else if self.len >= BLOCK && self.len & (BLOCK - 1) == 0 {
            self.blocks.push(Vec::with_capacity(BLOCK));
        }
        if let Some(block) = self.blocks.last_mut() {
            block.push(value);
        }
        self.len += 1;
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.blocks.iter().map(Vec::capacity).sum::<usize>() * std::mem::size_of::<T>()
    }
}

impl<T> std::ops::Index<usize> for Column<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        &self.blocks[i >> BLOCK_SHIFT][i & (BLOCK - 1)]
    }
}

impl<T> std::ops::IndexMut<usize> for Column<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.blocks[i >> BLOCK_SHIFT][i & (BLOCK - 1)]
    }
}

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
    pub code: Column<u32>,
    /// The enclosing frame ([`NONE`] for outermost frames).
    pub parent: Column<u32>,
    /// How many frames follow in its subtree.
    pub size: Column<u32>,
    /// The number of the entering event in the file.
    pub start: Column<u32>,
    /// The number of the exiting event; for a frame still open at the end,
    /// of its last own event (its entry when it has none).
    pub end: Column<u32>,
    /// Time of the entering event.
    pub t0: Column<u64>,
    /// Time of the event `end` numbers.
    pub t1: Column<u64>,
    /// Its own `line` and `raise` events (those it is the innermost frame of).
    pub own: Column<u32>,
    /// Entry and exit, packed.
    kind: Column<u8>,
    /// Open frames, innermost last.
    stack: Vec<u32>,
    /// The deepest nesting, plus one (0 without frames).
    pub depth: u32,
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
        [
            &self.code,
            &self.parent,
            &self.size,
            &self.start,
            &self.end,
            &self.own,
        ]
        .iter()
        .map(|c| c.bytes())
        .sum::<usize>()
            + self.t0.bytes()
            + self.t1.bytes()
            + self.kind.bytes()
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
    /// The raises, and what became of them.
    pub exceptions: ExceptionLog,
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

/// How a profile node sits in its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// A value at its site (no parent).
    Site,
    /// An object attribute.
    Attr,
    /// A dict entry under a string key.
    Key,
}

/// One node of the value profile: a named value at a site of a code, or an
/// attribute or a dict entry (by its string key) inside one.
#[derive(Debug)]
struct ProfileNode {
    /// The enclosing node ([`NONE`] for a value at its site).
    parent: u32,
    via: Via,
    /// The code's position (for a value at its site).
    code: u32,
    site: SiteKind,
    name: Name,
    /// How often it occurs as a value (markers are left as they are by the policy).
    count: u64,
    /// Whether one of its values could teach a text to redact by value
    /// ([`Secrets::can_teach`]).
    teaches: bool,
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
    /// (parent node, hash of the key's text) → node.
    keys: QuickMap<(u32, u64), u32>,
    /// Set when the profile grew past [`MAX_PROFILE_NODES`]: it is not kept
    /// up any more, and the statistics are counted by reading the file.
    pub overflowed: bool,
    unnamed: Option<Name>,
    exception: Option<Name>,
}

/// What [`Profile::count`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileCount {
    /// The redactions and drops, by kind.
    pub stats: FilterStats,
    /// Whether a value taken out could teach a text to redact by value:
    /// then only a pass over the events (in order) knows what else is
    /// redacted.
    pub teaches: bool,
}

/// The most profile nodes kept (a few hundred per code in real traces).
pub const MAX_PROFILE_NODES: usize = 1 << 21;

impl Profile {
    /// How many nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Bytes held (nodes and their maps, roughly).
    pub fn bytes(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<ProfileNode>()
            + (self.tops.capacity() + self.attrs.capacity() + self.keys.capacity()) * 24
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
                    via: Via::Site,
                    code,
                    site,
                    name: name.clone(),
                    count: 0,
                    teaches: false,
                });
                self.tops.insert(key, node);
                node
            }
        };
        self.occurs(node, value);
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
        self.keys = QuickMap::default();
    }

    /// Counts one occurrence of `value` at `node`, and what is inside it.
    fn occurs(&mut self, node: u32, value: &Value) {
        let n = &mut self.nodes[node as usize];
        n.count += 1;
        n.teaches |= Secrets::can_teach(value);
        self.inside(node, value);
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
                                via: Via::Attr,
                                code: NONE,
                                site: SiteKind::Arg,
                                name: attr.name.clone(),
                                count: 0,
                                teaches: false,
                            });
                            self.attrs.insert(key, node);
                            node
                        }
                    };
                    self.occurs(node, value);
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
                    match k {
                        Value::Str { value: key, .. } => {
                            if let Some(node) = self.key_node(parent, key) {
                                self.occurs(node, v);
                            }
                        }
                        _ => self.inside(parent, v),
                    }
                }
            }
            _ => {}
        }
    }

    /// The node of the dict entries under `key` inside `parent`. The map
    /// holds a hash of the key; if two keys ever share one, the profile
    /// gives up (the statistics are then counted from the file).
    fn key_node(&mut self, parent: u32, key: &str) -> Option<u32> {
        let mut hasher = QuickHasher::default();
        hasher.write(key.as_bytes());
        let hash = (parent, hasher.finish());
        if let Some(&node) = self.keys.get(&hash) {
            if &*self.nodes[node as usize].name == key {
                return Some(node);
            }
            self.give_up();
            return None;
        }
        let node = self.nodes.len() as u32;
        self.nodes.push(ProfileNode {
            parent,
            via: Via::Key,
            code: NONE,
            site: SiteKind::Arg,
            name: Name::from(key),
            count: 0,
            teaches: false,
        });
        self.keys.insert(hash, node);
        Some(node)
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
    /// [`policy::slot`] and [`policy::filter_nested`] on one stand-in value
    /// per node, times how often the node occurs. `kept(code)` says whether a
    /// code is recorded; `module_level(code)` whether it is a module body.
    /// The counts are exact when nothing taken out could teach a text to
    /// redact by value ([`ProfileCount::teaches`] is false).
    pub fn count(
        &self,
        decisions: &[Decision],
        kept: impl Fn(u32) -> bool,
        module_level: impl Fn(u32) -> bool,
    ) -> ProfileCount {
        let mut total = FilterStats::default();
        let mut teaches = false;
        // Whether each node's values reach the policy whole (every
        // enclosing value and attribute allowed).
        let mut open = vec![false; self.nodes.len()];
        for (i, node) in self.nodes.iter().enumerate() {
            // The code's decision, and how dict keys are decided here: as
            // the kind of the site's value, or `attr` inside an attribute.
            let (decision, parent_open, nest) = if node.parent == NONE {
                let decision = decisions
                    .get(node.code as usize)
                    .filter(|_| kept(node.code));
                (decision, true, Nest::ATTR)
            } else {
                let mut in_attr = false;
                let mut top = node.parent as usize;
                while self.nodes[top].parent != NONE {
                    in_attr |= self.nodes[top].via == Via::Attr;
                    top = self.nodes[top].parent as usize;
                }
                let code = self.nodes[top].code;
                let nest = if in_attr {
                    Nest::ATTR
                } else {
                    self.site(top, module_level(code)).nest()
                };
                (
                    decisions.get(code as usize).filter(|_| kept(code)),
                    open[node.parent as usize],
                    nest,
                )
            };
            let Some(decision) = decision.filter(|_| parent_open) else {
                continue;
            };
            let stand_in = Value::Int { value: 0 };
            let mut one = FilterStats::default();
            match node.via {
                Via::Site => {
                    let site = self.site(i, module_level(node.code));
                    policy::slot(
                        decision,
                        site,
                        Slot::Value { value: stand_in },
                        &mut one,
                        &mut Secrets::default(),
                    );
                }
                Via::Attr => {
                    let object = Value::Object {
                        type_name: node.name.clone(),
                        attrs: vec![Attr {
                            name: node.name.clone(),
                            value: Slot::Value { value: stand_in },
                        }],
                        length: 1,
                    };
                    policy::filter_nested(
                        decision,
                        nest,
                        object,
                        &mut one,
                        &mut Secrets::default(),
                    );
                }
                Via::Key => {
                    let key = Value::Str {
                        value: node.name.to_string(),
                        length: node.name.len() as u64,
                    };
                    let dict = Value::Dict {
                        entries: vec![(key, stand_in)],
                        length: 1,
                    };
                    policy::filter_nested(decision, nest, dict, &mut one, &mut Secrets::default());
                }
            }
            if one == FilterStats::default() {
                open[i] = true;
            } else {
                teaches |= node.teaches;
                for k in 0..one.redacted.len() {
                    total.redacted[k] += one.redacted[k] * node.count;
                    total.dropped[k] += one.dropped[k] * node.count;
                }
            }
        }
        ProfileCount {
            stats: total,
            teaches,
        }
    }
}

impl Profile {
    /// The site of the top node `node` (a value at its site).
    fn site(&self, node: usize, module_level: bool) -> Site<'_> {
        let node = &self.nodes[node];
        match node.site {
            SiteKind::Arg => Site::Arg(&node.name),
            SiteKind::Local => Site::Local {
                name: &node.name,
                module_level,
            },
            SiteKind::Global => Site::Global(&node.name),
            SiteKind::Return => Site::Return,
            SiteKind::Yield => Site::Yield,
            SiteKind::Unwind => Site::Unwind,
            SiteKind::Raise => Site::Raise,
        }
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
        let thread = event.thread();
        let slot = self.slot(thread);
        let calls = &mut self.index.threads[slot];
        let top = calls.stack.last().copied();
        let top_code = top.map(|f| calls.code[f as usize]);
        let depth = calls.stack.len();
        let exceptions = &mut self.index.exceptions;
        match event {
            Event::ThreadStart { name, .. } => {
                if calls.name.is_empty() {
                    calls.name = name.clone();
                }
            }
            Event::Call { code, args, .. } => {
                exceptions.went_on(thread, depth, top.unwrap_or(NONE), 0);
                self.index.calls += 1;
                let position = self.positions.get(code).copied().unwrap_or(NONE);
                push(calls, position, number, t, Entry::Call);
                self.profile.vars(position, args, false);
            }
            Event::Resume { code, .. } => {
                exceptions.went_on(thread, depth, top.unwrap_or(NONE), 0);
                let position = self.positions.get(code).copied().unwrap_or(NONE);
                push(calls, position, number, t, Entry::Resume);
            }
            Event::Throw {
                code, exception, ..
            } => {
                exceptions.went_on(thread, depth, top.unwrap_or(NONE), 0);
                let position = self.positions.get(code).copied().unwrap_or(NONE);
                push(calls, position, number, t, Entry::Throw);
                let name = self.profile.exception();
                self.profile.top(position, SiteKind::Arg, &name, exception);
            }
            Event::Line { vars, line, .. } => {
                if let (Some(f), Some(code)) = (top, top_code) {
                    exceptions.went_on(thread, depth, f, *line);
                    own(calls, f, number, t);
                    self.profile.vars(code, vars, true);
                }
            }
            Event::Raise {
                exception, line, ..
            } => {
                if let (Some(f), Some(code)) = (top, top_code) {
                    exceptions.raised(thread, number, f, depth, *line, exception);
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
                    if exit == Exit::Unwind {
                        exceptions.unwound(thread, depth);
                    } else {
                        exceptions.went_on(thread, depth, f, 0);
                    }
                    calls.stack.pop();
                    let f = f as usize;
                    calls.size[f] = (calls.len() - f - 1) as u32;
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
            // Frames still open at the end hold every frame after them.
            let n = calls.len();
            for f in std::mem::take(&mut calls.stack) {
                calls.size[f as usize] = (n - f as usize - 1) as u32;
            }
        }
        (self.index, self.profile)
    }
}

fn push(calls: &mut ThreadIndex, code: u32, number: u32, t: u64, entry: Entry) {
    let f = calls.code.len() as u32;
    calls.code.push(code);
    calls.size.push(0);
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
    calls.depth = calls.depth.max(calls.stack.len() as u32);
}

fn own(calls: &mut ThreadIndex, f: u32, number: u32, t: u64) {
    let f = f as usize;
    calls.own[f] = calls.own[f].saturating_add(1);
    calls.end[f] = number;
    calls.t1[f] = t;
}

/// One thread of the displayed tree: which frames of the index it shows,
/// and how they nest.
#[derive(Debug, Default)]
pub struct ShownThread {
    /// The thread's slot in the index.
    pub slot: usize,
    /// Its number in the displayed trace.
    pub number: u32,
    /// Displayed node → frame of the index; `None` when every frame is
    /// shown (the same numbers, nested as in the index).
    frames: Option<Vec<u32>>,
    /// The enclosing displayed node, when `frames` is set.
    parent: Vec<u32>,
    /// How many nodes follow in its subtree, when `frames` is set.
    size: Vec<u32>,
    len: usize,
    /// The deepest depth, plus one (0 when the thread has no frames).
    pub depth: u32,
}

impl ShownThread {
    /// How many nodes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the thread shows no frames.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held besides the index.
    pub fn bytes(&self) -> usize {
        (self.frames.as_ref().map_or(0, Vec::capacity)
            + self.parent.capacity()
            + self.size.capacity())
            * 4
    }
}

/// The displayed call tree: per thread, the frames of the index it shows
/// (a few bytes a node when filtered, nothing when shown as recorded). The
/// page asks for the rows and timeline frames it draws; nothing else of
/// the tree leaves the worker.
#[derive(Debug, Default)]
pub struct ShownTree {
    /// Threads in displayed order.
    pub threads: Vec<ShownThread>,
    /// Recorded code position → displayed code index (empty: the same).
    codes: Vec<u32>,
    /// The last displayed event's time (frames still open end then).
    pub end_t: u64,
    /// The event number frames still open end at.
    end_event: u32,
    /// Events in the displayed trace.
    pub events: u64,
    /// `call` events in it.
    pub calls: u64,
}

impl ShownTree {
    /// Thread `thread`, if it exists.
    pub fn thread(&self, thread: usize) -> Option<&ShownThread> {
        self.threads.get(thread)
    }

    /// The index frame of node `n` of `t`.
    fn frame(t: &ShownThread, n: usize) -> usize {
        match &t.frames {
            Some(frames) => frames[n] as usize,
            None => n,
        }
    }

    /// The thread slot and frame of the index that `node` of `thread` shows.
    pub fn frame_of(&self, thread: usize, node: u32) -> Option<(usize, usize)> {
        let t = self.threads.get(thread)?;
        ((node as usize) < t.len).then(|| (t.slot, Self::frame(t, node as usize)))
    }

    fn parent(index: &CallIndex, t: &ShownThread, n: usize) -> u32 {
        match t.frames {
            Some(_) => t.parent[n],
            None => index.threads[t.slot].parent[n],
        }
    }

    fn size(index: &CallIndex, t: &ShownThread, n: usize) -> u32 {
        match t.frames {
            Some(_) => t.size[n],
            None => index.threads[t.slot].size[n],
        }
    }

    fn t0(index: &CallIndex, t: &ShownThread, n: usize) -> u64 {
        index.threads[t.slot].t0[Self::frame(t, n)]
    }

    /// When the first node of `t` starts.
    pub fn first_t0(index: &CallIndex, t: &ShownThread) -> Option<u64> {
        (t.len > 0).then(|| Self::t0(index, t, 0))
    }

    /// The displayed code of a recorded code position.
    fn code(&self, recorded: u32) -> u32 {
        if self.codes.is_empty() {
            recorded
        } else {
            self.codes.get(recorded as usize).copied().unwrap_or(NONE)
        }
    }

    /// Node `n` of thread `thread` (which must exist), its depth found
    /// through its ancestors.
    pub fn node(&self, index: &CallIndex, thread: usize, n: u32) -> CallNode {
        let t = &self.threads[thread];
        self.node_at(index, t, n as usize, Self::depth_in(index, t, n as usize))
    }

    fn node_at(&self, index: &CallIndex, t: &ShownThread, n: usize, depth: u32) -> CallNode {
        let calls = &index.threads[t.slot];
        let f = Self::frame(t, n);
        let open = calls.exit(f) == Exit::Open;
        CallNode {
            code: self.code(calls.code[f]),
            depth,
            size: Self::size(index, t, n),
            start: calls.start[f],
            end: if open { self.end_event } else { calls.end[f] },
            t0: calls.t0[f],
            t1: if open { self.end_t } else { calls.t1[f] },
            entry: calls.entry(f),
            exit: calls.exit(f),
        }
    }

    fn depth_in(index: &CallIndex, t: &ShownThread, n: usize) -> u32 {
        let mut depth = 0;
        let mut p = Self::parent(index, t, n);
        while p != NONE {
            depth += 1;
            p = Self::parent(index, t, p as usize);
        }
        depth
    }

    /// Visits every node of thread `thread` in pre-order with its parent
    /// node ([`NONE`] for an outermost one); the nodes' depths are left 0.
    pub fn each_node(
        &self,
        index: &CallIndex,
        thread: usize,
        mut visit: impl FnMut(u32, CallNode),
    ) {
        let Some(t) = self.threads.get(thread) else {
            return;
        };
        for n in 0..t.len {
            visit(Self::parent(index, t, n), self.node_at(index, t, n, 0));
        }
    }

    /// The nodes enclosing `node` (itself excluded), outermost first.
    pub fn ancestors(&self, index: &CallIndex, thread: usize, node: u32) -> Vec<u32> {
        let Some(t) = self.threads.get(thread).filter(|t| (node as usize) < t.len) else {
            return Vec::new();
        };
        let mut path = Vec::new();
        let mut p = Self::parent(index, t, node as usize);
        while p != NONE {
            path.push(p);
            p = Self::parent(index, t, p as usize);
        }
        path.reverse();
        path
    }

    /// The collapsed nodes that hide rows: existing ones, in order, none
    /// inside another's subtree.
    fn outermost(index: &CallIndex, t: &ShownThread, collapsed: &[u32]) -> Vec<(usize, usize)> {
        let mut sorted: Vec<usize> = collapsed
            .iter()
            .map(|&c| c as usize)
            .filter(|&c| c < t.len)
            .collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut hiding: Vec<(usize, usize)> = Vec::new();
        for c in sorted {
            if hiding.last().is_some_and(|&(p, size)| c <= p + size) {
                continue;
            }
            let size = Self::size(index, t, c) as usize;
            if size > 0 {
                hiding.push((c, size));
            }
        }
        hiding
    }

    /// The rows of a tree view of `thread` with the subtrees of
    /// `collapsed` hidden: how many there are, and the nodes of rows
    /// `first..first + count` (fewer at the end).
    pub fn rows(
        &self,
        index: &CallIndex,
        thread: usize,
        collapsed: &[u32],
        first: usize,
        count: usize,
    ) -> (usize, Vec<u32>) {
        let Some(t) = self.threads.get(thread) else {
            return (0, Vec::new());
        };
        let hiding = Self::outermost(index, t, collapsed);
        let total = t.len - hiding.iter().map(|&(_, size)| size).sum::<usize>();
        // Row `first` is node `first` plus the rows hidden before it.
        let mut node = first;
        let mut next = 0;
        while let Some(&(c, size)) = hiding.get(next) {
            if c >= node {
                break;
            }
            node += size;
            next += 1;
        }
        let mut rows = Vec::with_capacity(count.min(total.saturating_sub(first)));
        while rows.len() < count && node < t.len {
            rows.push(node as u32);
            match hiding.get(next) {
                Some(&(c, size)) if c == node => {
                    node += size + 1;
                    next += 1;
                }
                _ => node += 1,
            }
        }
        (total, rows)
    }

    /// The row of `node` in a tree view of `thread` with the subtrees of
    /// `collapsed` hidden; `None` when it is hidden.
    pub fn position(
        &self,
        index: &CallIndex,
        thread: usize,
        collapsed: &[u32],
        node: u32,
    ) -> Option<usize> {
        let t = self.threads.get(thread)?;
        let node = node as usize;
        if node >= t.len {
            return None;
        }
        let mut hidden = 0;
        for (c, size) in Self::outermost(index, t, collapsed) {
            if c >= node {
                break;
            }
            if node <= c + size {
                return None;
            }
            hidden += size;
        }
        Some(node - hidden)
    }

    /// The nodes of `thread` whose displayed code `matches`, in order.
    pub fn search(
        &self,
        index: &CallIndex,
        thread: usize,
        matches: impl Fn(u32) -> bool,
    ) -> Vec<u32> {
        let Some(t) = self.threads.get(thread) else {
            return Vec::new();
        };
        let codes = &index.threads[t.slot].code;
        let mut cache: QuickMap<u32, bool> = QuickMap::default();
        (0..t.len)
            .filter(|&n| {
                let code = self.code(codes[Self::frame(t, n)]);
                *cache.entry(code).or_insert_with(|| matches(code))
            })
            .map(|n| n as u32)
            .collect()
    }

    /// The frames of `thread` a flame chart `width` pixels wide paints for
    /// the times `t0..t1`, in the order it paints them: every frame in the
    /// window, except that of the frames narrower than two pixels only the
    /// first is painted per pixel column and depth.
    pub fn paint(
        &self,
        index: &CallIndex,
        thread: usize,
        t0: f64,
        t1: f64,
        width: f64,
    ) -> Vec<(u32, CallNode)> {
        let Some(t) = self.threads.get(thread).filter(|t| t.len > 0) else {
            return Vec::new();
        };
        // Nodes start in time order: those running at `t0` and starting
        // before it are the node started last before it and its ancestors.
        let first = partition(t.len, |n| (Self::t0(index, t, n) as f64) < t0);
        let last = partition(t.len, |n| (Self::t0(index, t, n) as f64) <= t1);
        let mut path: Vec<(u32, u32)> = Vec::new();
        if first > 0 {
            let before = first as u32 - 1;
            for (depth, a) in self
                .ancestors(index, thread, before)
                .into_iter()
                .chain([before])
                .enumerate()
            {
                path.push((a, depth as u32));
            }
        }
        let scale = width / (t1 - t0);
        let mut painted = vec![f64::NEG_INFINITY; t.depth as usize + 1];
        let mut out = Vec::new();
        let mut consider = |n: u32, node: CallNode| {
            if (node.t1 as f64) < t0 || (node.t0 as f64) > t1 {
                return;
            }
            let x0 = ((node.t0 as f64 - t0) * scale).max(-1.0);
            let x1 = ((node.t1 as f64 - t0) * scale).min(width + 1.0);
            let w = (x1 - x0).max(1.0);
            let level = node.depth as usize;
            if w < 2.0 && x0.floor() <= painted.get(level).copied().unwrap_or(f64::INFINITY) {
                return;
            }
            if let Some(p) = painted.get_mut(level) {
                *p = (x0 + w).floor();
            }
            out.push((n, node));
        };
        for &(a, depth) in &path {
            consider(a, self.node_at(index, t, a as usize, depth));
        }
        for n in first..last {
            let p = Self::parent(index, t, n);
            while path.last().is_some_and(|&(a, _)| a != p) {
                path.pop();
            }
            let depth = path.last().map_or(0, |&(_, d)| d + 1);
            path.push((n as u32, depth));
            consider(n as u32, self.node_at(index, t, n, depth));
        }
        out
    }

    /// The anchor of `node` of `thread`: its thread's name, recorded code
    /// and how many nodes of that code come before it.
    pub fn anchor(&self, index: &CallIndex, thread: usize, node: u32) -> Option<Anchor> {
        let t = self
            .threads
            .get(thread)
            .filter(|t| (node as usize) < t.len)?;
        let calls = &index.threads[t.slot];
        let code = calls.code[Self::frame(t, node as usize)];
        let ordinal = (0..node as usize)
            .filter(|&n| calls.code[Self::frame(t, n)] == code)
            .count();
        Some(Anchor {
            thread: calls.name.clone(),
            code,
            ordinal,
        })
    }

    /// The innermost displayed node of the thread numbered `number` in the
    /// recorded trace whose events hold event `position` (its entry, its
    /// exit or anything between).
    pub fn node_at_event(&self, index: &CallIndex, number: u32, position: u64) -> Option<NodeKey> {
        let (thread, t) = self
            .threads
            .iter()
            .enumerate()
            .find(|(_, t)| index.threads[t.slot].number == number)?;
        let calls = &index.threads[t.slot];
        let start = |n: usize| u64::from(calls.start[Self::frame(t, n)]);
        let end = |n: usize| u64::from(calls.end[Self::frame(t, n)]);
        // Nodes are in pre-order, so their entries are in event order: the
        // last one entered at or before `position`, or one enclosing it.
        let (mut low, mut high) = (0, t.len);
        while low < high {
            let mid = (low + high) / 2;
            if start(mid) <= position {
                low = mid + 1;
            } else {
                high = mid;
            }
        }
        let mut node = low.checked_sub(1)?;
        while end(node) < position {
            let parent = Self::parent(index, t, node);
            if parent == NONE {
                return None;
            }
            node = parent as usize;
        }
        Some(NodeKey {
            thread: thread as u32,
            node: node as u32,
        })
    }

    /// The node `anchor` names in this tree, if it is still there.
    pub fn locate(&self, index: &CallIndex, anchor: &Anchor) -> Option<NodeKey> {
        let (thread, t) = self
            .threads
            .iter()
            .enumerate()
            .find(|(_, t)| index.threads[t.slot].name == anchor.thread)?;
        let calls = &index.threads[t.slot];
        let node = (0..t.len)
            .filter(|&n| calls.code[Self::frame(t, n)] == anchor.code)
            .nth(anchor.ordinal)?;
        Some(NodeKey {
            thread: thread as u32,
            node: node as u32,
        })
    }

    /// The whole tree as the page once received it (for the tests).
    pub fn tree(&self, index: &CallIndex) -> CallTree {
        let threads = self
            .threads
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let mut depths: Vec<u32> = Vec::with_capacity(t.len);
                let nodes = (0..t.len)
                    .map(|n| {
                        let p = Self::parent(index, t, n);
                        let depth = if p == NONE { 0 } else { depths[p as usize] + 1 };
                        depths.push(depth);
                        self.node_at(index, t, n, depth)
                    })
                    .collect();
                ThreadCalls {
                    thread: t.number,
                    name: index.threads[t.slot].name.clone(),
                    nodes,
                    depth: self.threads[i].depth,
                }
            })
            .collect();
        CallTree {
            threads,
            end_t: self.end_t,
        }
    }

    /// Bytes held besides the index.
    pub fn bytes(&self) -> usize {
        self.threads.iter().map(ShownThread::bytes).sum::<usize>() + self.codes.capacity() * 4
    }
}

/// The first of `0..len` for which `pred` is false (it is true before, false after).
fn partition(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

impl CallIndex {
    /// Bytes the index holds.
    pub fn bytes(&self) -> usize {
        self.threads.iter().map(ThreadIndex::bytes).sum()
    }

    /// The tree of the trace as recorded: every frame, threads in order of
    /// their first event, open frames ending at the last event.
    pub fn recorded(&self) -> ShownTree {
        ShownTree {
            threads: self
                .threads
                .iter()
                .enumerate()
                .map(|(slot, calls)| ShownThread {
                    slot,
                    number: calls.number,
                    frames: None,
                    parent: Vec::new(),
                    size: Vec::new(),
                    len: calls.len(),
                    depth: calls.depth,
                })
                .collect(),
            codes: Vec::new(),
            end_t: self.last_t,
            end_event: u32::try_from(self.events).unwrap_or(NONE),
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
    pub fn filtered(&self, shown: &[u32]) -> ShownTree {
        let code_of = |code: u32| shown.get(code as usize).copied().unwrap_or(NONE);
        let mut threads: Vec<(u32, ShownThread)> = Vec::new();
        let mut events = 0u64;
        let mut calls_kept = 0u64;
        // The last kept event: its number and time.
        let mut last = (0u32, 0u64, false);
        for (slot, calls) in self.threads.iter().enumerate() {
            let kept = (0..calls.len())
                .filter(|&f| code_of(calls.code[f]) != NONE)
                .count();
            if kept == 0 {
                continue;
            }
            let mut frames = Vec::with_capacity(kept);
            let mut parent = Vec::with_capacity(kept);
            // The open frames of the index: the last frame of each one's
            // subtree, the innermost kept node at or around it, and how
            // many kept nodes enclose its callees.
            let mut stack: Vec<(usize, u32, u32)> = Vec::new();
            let mut deepest = 0;
            for f in 0..calls.len() {
                while stack.last().is_some_and(|&(end, _, _)| end < f) {
                    stack.pop();
                }
                let (outer, level) = stack.last().map_or((NONE, 0), |&(_, n, l)| (n, l));
                let end = f + calls.size[f] as usize;
                if code_of(calls.code[f]) == NONE {
                    stack.push((end, outer, level));
                    continue;
                }
                deepest = deepest.max(level + 1);
                stack.push((end, frames.len() as u32, level + 1));
                let open = calls.exit(f) == Exit::Open;
                events += 1 + u64::from(calls.own[f]) + u64::from(!open);
                if calls.entry(f) == Entry::Call {
                    calls_kept += 1;
                }
                if !last.2 || calls.end[f] > last.0 {
                    last = (calls.end[f], calls.t1[f], true);
                }
                frames.push(f as u32);
                parent.push(outer);
            }
            let mut size = vec![0u32; kept];
            for n in (0..kept).rev() {
                let p = parent[n];
                if p != NONE {
                    size[p as usize] += size[n] + 1;
                }
            }
            events += 1; // its thread_start
            let first = calls.start[frames[0] as usize];
            threads.push((
                first,
                ShownThread {
                    slot,
                    number: 0,
                    frames: Some(frames),
                    parent,
                    size,
                    len: kept,
                    depth: deepest,
                },
            ));
        }
        threads.sort_by_key(|t| t.0);
        ShownTree {
            threads: threads
                .into_iter()
                .enumerate()
                .map(|(number, (_, mut t))| {
                    t.number = number as u32;
                    t
                })
                .collect(),
            codes: shown.to_vec(),
            end_t: last.1,
            end_event: u32::try_from(self.events).unwrap_or(NONE),
            events,
            calls: calls_kept,
        }
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
    fn the_profile_says_whether_what_a_filter_takes_out_could_teach_a_text() {
        use tracesieve_engine::filter::{builtin, FilterChain, FilterSource};
        use tracesieve_engine::trace::refilter::{decide_codes, Naming};
        use tracesieve_engine::Platform;
        let text = |name: &str, s: &str| Var {
            kind: ValueKind::Local,
            name: name.into(),
            value: Slot::Value {
                value: Value::Str {
                    value: s.into(),
                    length: s.len() as u64,
                },
            },
        };
        let t = trace(vec![
            thread_start(0, "MainThread", 0),
            call(0, 1, 1),
            line_with(
                0,
                4,
                2,
                vec![
                    int_var(ValueKind::Local, "n", 7),
                    text("short", "abc"),
                    text("long", "hunter2-xyz"),
                ],
            ),
            ret(0, 3),
        ]);
        let (_, profile) = index(&t);
        let count = |pattern: &str| {
            let mut sources = builtin::sources(None);
            sources.push(FilterSource::file(
                "/proj/.codetracer/trace-filter.toml",
                format!("[meta]\nname = \"t\"\nversion = 1\n[scope]\ndefault_exec = \"inherit\"\ndefault_value_action = \"inherit\"\n[[scope.rules]]\nselector = \"pkg:shop.*\"\n[[scope.rules.value_patterns]]\nselector = \"{pattern}\"\naction = \"redact\"\n"),
            ));
            let chain = FilterChain::load(&sources, Platform::Posix).unwrap();
            let decisions = decide_codes(&t, &chain, &Naming::recorded(&t));
            profile.count(&decisions, |_| true, |c| c == 0)
        };
        // An int or a string under six bytes teaches nothing: the counts are exact.
        for pattern in ["local:n", "local:short"] {
            let got = count(pattern);
            assert_eq!(
                (got.stats.redacted[1], got.teaches),
                (1, false),
                "{pattern}"
            );
        }
        let got = count("local:long");
        assert_eq!((got.stats.redacted[1], got.teaches), (1, true));
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
        assert_eq!(index.recorded().tree(&index), CallTree::build(&t));
        assert_eq!(index.calls, 4);
        let main = &index.threads[0];
        assert_eq!(main.children(0).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(main.own[0], 2);
    }
}
