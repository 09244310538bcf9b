//! The call tree view model: the frames of a trace, per thread, in the order
//! they started, with what the tree, the timeline and the source view need.
//!
//! The worker answers the page's questions from its call index (see
//! `index`: rows, searches, flame charts, anchors); [`CallTree::build`]
//! builds the whole tree of a trace's events, with [`visible_rows`],
//! [`search_rows`] and [`ancestors`], as the model the session tests check
//! those answers against. Pure Rust, no browser types.

use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use tracesieve_engine::trace::{Event, Trace};

/// How a frame was entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Entry {
    /// A `call` event.
    Call,
    /// A `resume` of a generator or coroutine.
    Resume,
    /// An exception thrown into a suspended generator.
    Throw,
}

/// How a frame ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Exit {
    /// A `return`.
    Return,
    /// A `yield` (the frame may be resumed later, as a new node).
    Yield,
    /// An exception left the frame.
    Unwind,
    /// The trace ends before the frame does.
    Open,
}

/// One frame: a call, resume or throw and everything up to its exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallNode {
    /// The code object (index into the displayed trace's code table).
    pub code: u32,
    /// Nesting depth on its thread, 0 for outermost frames.
    pub depth: u32,
    /// How many nodes follow this one in its subtree (they come right after it).
    pub size: u32,
    /// Index of the entering event in the trace's events.
    pub start: u32,
    /// Index of the exiting event, or the number of events when still open.
    pub end: u32,
    /// Time of the entering event (ns since the recording started).
    pub t0: u64,
    /// Time of the exiting event (the trace's last time when still open).
    pub t1: u64,
    /// How it was entered.
    pub entry: Entry,
    /// How it ended.
    pub exit: Exit,
}

/// The frames of one thread, in pre-order (a node's subtree follows it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadCalls {
    /// The thread number in the displayed trace.
    pub thread: u32,
    /// The thread's name (`MainThread`, …).
    pub name: String,
    /// The nodes.
    pub nodes: Vec<CallNode>,
    /// The deepest depth, plus one (0 when the thread has no frames).
    pub depth: u32,
}

/// Every thread's frames.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallTree {
    /// Threads in order of their first event.
    pub threads: Vec<ThreadCalls>,
    /// Time of the trace's last event.
    pub end_t: u64,
}

/// A node of a [`CallTree`]: thread index and node index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct NodeKey {
    /// Index into [`CallTree::threads`].
    pub thread: u32,
    /// Index into that thread's nodes.
    pub node: u32,
}

impl CallTree {
    /// The call tree of `trace`. Exits with no open frame (a damaged trace)
    /// are ignored; frames still open at the end are closed as [`Exit::Open`].
    pub fn build(trace: &Trace) -> CallTree {
        let end_t = trace.events.last().map_or(0, Event::time);
        let mut threads: Vec<ThreadCalls> = Vec::new();
        let mut stacks: Vec<Vec<usize>> = Vec::new();
        let mut slot_of = std::collections::HashMap::<u32, usize>::new();
        for (index, event) in trace.events.iter().enumerate() {
            let number = event.thread();
            let slot = *slot_of.entry(number).or_insert_with(|| {
                threads.push(ThreadCalls {
                    thread: number,
                    name: String::new(),
                    nodes: Vec::new(),
                    depth: 0,
                });
                stacks.push(Vec::new());
                threads.len() - 1
            });
            let calls = &mut threads[slot];
            let stack = &mut stacks[slot];
            let entered = match event {
                Event::ThreadStart { name, .. } => {
                    if calls.name.is_empty() {
                        calls.name = name.clone();
                    }
                    None
                }
                Event::Call { code, .. } => Some((*code, Entry::Call)),
                Event::Resume { code, .. } => Some((*code, Entry::Resume)),
                Event::Throw { code, .. } => Some((*code, Entry::Throw)),
                Event::Return { .. } => close(calls, stack, index, event.time(), Exit::Return),
                Event::Yield { .. } => close(calls, stack, index, event.time(), Exit::Yield),
                Event::Unwind { .. } => close(calls, stack, index, event.time(), Exit::Unwind),
                Event::Line { .. } | Event::Raise { .. } => None,
            };
            if let Some((code, entry)) = entered {
                let depth = stack.len() as u32;
                calls.depth = calls.depth.max(depth + 1);
                stack.push(calls.nodes.len());
                calls.nodes.push(CallNode {
                    code,
                    depth,
                    size: 0,
                    start: index as u32,
                    end: trace.events.len() as u32,
                    t0: event.time(),
                    t1: end_t,
                    entry,
                    exit: Exit::Open,
                });
            }
        }
        for (calls, stack) in threads.iter_mut().zip(&mut stacks) {
            while let Some(open) = stack.pop() {
                let size = calls.nodes.len() - open - 1;
                calls.nodes[open].size = size as u32;
            }
        }
        CallTree { threads, end_t }
    }

    /// The node at `key`, if it exists.
    pub fn node(&self, key: NodeKey) -> Option<&CallNode> {
        self.threads
            .get(key.thread as usize)?
            .nodes
            .get(key.node as usize)
    }

    /// How many frames the tree holds, over all threads.
    pub fn len(&self) -> usize {
        self.threads.iter().map(|t| t.nodes.len()).sum()
    }

    /// Whether the tree has no frames.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The innermost node of thread `thread` at `depth` that runs at time
    /// `t`, for clicks on the timeline.
    pub fn hit(&self, thread: usize, depth: u32, t: u64) -> Option<NodeKey> {
        let calls = self.threads.get(thread)?;
        // Nodes start in time order: the candidates start at or before `t`.
        let upto = calls.nodes.partition_point(|n| n.t0 <= t);
        calls.nodes[..upto]
            .iter()
            .rposition(|n| n.depth == depth && n.t1 >= t)
            .map(|node| NodeKey {
                thread: thread as u32,
                node: node as u32,
            })
    }
}

/// A frame named in terms that survive re-filtering and relabelling: its
/// thread's name, its code (as an index into the recorded trace's table)
/// and how many frames of that code came before it on that thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The thread's name.
    pub thread: String,
    /// The recorded code index.
    pub code: u32,
    /// Frames of the same code before it on the thread.
    pub ordinal: usize,
}

impl CallTree {
    /// The anchor of `key`; `recorded` maps a code index of this tree to
    /// the recorded trace's.
    pub fn anchor(&self, key: NodeKey, recorded: impl Fn(u32) -> u32) -> Option<Anchor> {
        let calls = self.threads.get(key.thread as usize)?;
        let node = calls.nodes.get(key.node as usize)?;
        let code = recorded(node.code);
        let ordinal = calls.nodes[..key.node as usize]
            .iter()
            .filter(|n| recorded(n.code) == code)
            .count();
        Some(Anchor {
            thread: calls.name.clone(),
            code,
            ordinal,
        })
    }

    /// The frame `anchor` names in this tree, if it is still there.
    pub fn locate(&self, anchor: &Anchor, recorded: impl Fn(u32) -> u32) -> Option<NodeKey> {
        let (thread, calls) = self
            .threads
            .iter()
            .enumerate()
            .find(|(_, t)| t.name == anchor.thread)?;
        let node = calls
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| recorded(n.code) == anchor.code)
            .nth(anchor.ordinal)?
            .0;
        Some(NodeKey {
            thread: thread as u32,
            node: node as u32,
        })
    }
}

/// Pops the innermost open frame of a thread and records how it ended.
fn close(
    calls: &mut ThreadCalls,
    stack: &mut Vec<usize>,
    index: usize,
    t: u64,
    exit: Exit,
) -> Option<(u32, Entry)> {
    let open = stack.pop()?;
    let size = calls.nodes.len() - open - 1;
    let node = &mut calls.nodes[open];
    node.end = index as u32;
    node.t1 = t;
    node.exit = exit;
    node.size = size as u32;
    None
}

/// The rows of a tree view: every node, except those inside a collapsed
/// node's subtree.
pub fn visible_rows(nodes: &[CallNode], collapsed: &HashSet<u32>) -> Vec<u32> {
    let mut rows = Vec::with_capacity(nodes.len());
    let mut index = 0usize;
    while index < nodes.len() {
        rows.push(index as u32);
        let skip = if collapsed.contains(&(index as u32)) {
            nodes[index].size as usize
        } else {
            0
        };
        index += 1 + skip;
    }
    rows
}

/// The nodes whose label contains `query` (case-insensitive), in order.
/// `label` gives a node's label from its code index.
pub fn search_rows<'a>(
    nodes: &[CallNode],
    query: &str,
    label: impl Fn(u32) -> &'a str,
) -> Vec<u32> {
    let query = query.to_lowercase();
    let mut cache: std::collections::HashMap<u32, bool> = Default::default();
    nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| {
            *cache
                .entry(n.code)
                .or_insert_with(|| label(n.code).to_lowercase().contains(&query))
        })
        .map(|(i, _)| i as u32)
        .collect()
}

/// The nodes on the path from the root to `node` (itself excluded), outermost first.
pub fn ancestors(nodes: &[CallNode], node: u32) -> Vec<u32> {
    let Some(target) = nodes.get(node as usize) else {
        return Vec::new();
    };
    let mut path = Vec::new();
    let mut depth = target.depth;
    for index in (0..node as usize).rev() {
        if depth == 0 {
            break;
        }
        if nodes[index].depth == depth - 1 {
            path.push(index as u32);
            depth -= 1;
        }
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{call, line, ret, thread_start, trace};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn nests_calls_per_thread_and_closes_open_frames() {
        let t = trace(vec![
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
        ]);
        let tree = CallTree::build(&t);
        assert_eq!(tree.threads.len(), 2);
        let main = &tree.threads[0];
        assert_eq!(main.name, "MainThread");
        assert_eq!(main.nodes.len(), 3);
        assert_eq!(main.depth, 2);
        // The module body is still open at the end and holds both calls.
        assert_eq!(main.nodes[0].exit, Exit::Open);
        assert_eq!(main.nodes[0].size, 2);
        assert_eq!(main.nodes[0].t1, 9);
        assert_eq!((main.nodes[1].start, main.nodes[1].end), (3, 6));
        assert_eq!(main.nodes[1].depth, 1);
        assert_eq!(main.nodes[2].exit, Exit::Return);
        assert_eq!(tree.threads[1].name, "worker");
        assert_eq!(tree.threads[1].nodes[0].t1, 9);
        assert_eq!(tree.len(), 4);
    }

    #[test]
    fn stray_exits_are_ignored() {
        let t = trace(vec![ret(0, 1), call(0, 0, 2), ret(0, 3), ret(0, 4)]);
        let tree = CallTree::build(&t);
        assert_eq!(tree.threads[0].nodes.len(), 1);
        assert_eq!(tree.threads[0].nodes[0].end, 2);
    }

    #[test]
    fn collapsing_hides_a_subtree() {
        let t = trace(vec![
            call(0, 0, 1),
            call(0, 1, 2),
            call(0, 2, 3),
            ret(0, 4),
            ret(0, 5),
            call(0, 1, 6),
            ret(0, 7),
        ]);
        let tree = CallTree::build(&t);
        let nodes = &tree.threads[0].nodes;
        assert_eq!(visible_rows(nodes, &HashSet::new()), vec![0, 1, 2, 3]);
        assert_eq!(visible_rows(nodes, &HashSet::from([1])), vec![0, 1, 3]);
        assert_eq!(visible_rows(nodes, &HashSet::from([0])), vec![0]);
        assert_eq!(ancestors(nodes, 2), vec![0, 1]);
        assert_eq!(ancestors(nodes, 3), vec![0]);
    }

    #[test]
    fn search_matches_labels_without_case() {
        let t = trace(vec![
            call(0, 0, 1),
            call(0, 1, 2),
            ret(0, 3),
            call(0, 2, 4),
            ret(0, 5),
        ]);
        let tree = CallTree::build(&t);
        let labels = ["<__main__>", "Charge", "refund"];
        let rows = search_rows(&tree.threads[0].nodes, "CHAR", |c| labels[c as usize]);
        assert_eq!(rows, vec![1]);
    }

    #[test]
    fn anchors_find_a_frame_again_after_a_skip() {
        let before = CallTree::build(&trace(vec![
            thread_start(0, "MainThread", 0),
            call(0, 0, 1),
            call(0, 1, 2),
            ret(0, 3),
            call(0, 2, 4),
            ret(0, 5),
            call(0, 2, 6),
            ret(0, 7),
        ]));
        let key = NodeKey { thread: 0, node: 3 };
        let anchor = before.anchor(key, |c| c).unwrap();
        assert_eq!((anchor.code, anchor.ordinal), (2, 1));
        // Code 1 skipped: codes renumbered (0 -> 0, 2 -> 1).
        let after = CallTree::build(&trace(vec![
            thread_start(0, "MainThread", 0),
            call(0, 0, 1),
            call(0, 1, 4),
            ret(0, 5),
            call(0, 1, 6),
            ret(0, 7),
        ]));
        let recorded = |c: u32| [0, 2][c as usize];
        assert_eq!(
            after.locate(&anchor, recorded),
            Some(NodeKey { thread: 0, node: 2 })
        );
        let gone = before
            .anchor(NodeKey { thread: 0, node: 1 }, |c| c)
            .unwrap();
        assert_eq!(after.locate(&gone, recorded), None);
    }

    #[test]
    fn hit_finds_the_frame_under_a_point() {
        let t = trace(vec![
            call(0, 0, 0),
            call(0, 1, 10),
            ret(0, 20),
            call(0, 2, 30),
            ret(0, 40),
            ret(0, 50),
        ]);
        let tree = CallTree::build(&t);
        assert_eq!(tree.hit(0, 1, 35).map(|k| k.node), Some(2));
        assert_eq!(tree.hit(0, 0, 35).map(|k| k.node), Some(0));
        assert_eq!(tree.hit(0, 1, 25), None);
        assert_eq!(tree.hit(3, 0, 1), None);
    }
}
