//! The function table of the displayed trace (speedscope's sandwich view):
//! per code, its calls, total time and self time, and per caller and callee
//! pair, how often and how long.
//!
//! One pass over the displayed tree's nodes of every thread. A code's
//! total time counts each of its frames that no frame of the same code
//! encloses (recursion is not counted twice); self time is a frame's time
//! less its displayed children's, so the time of code a filter skips is
//! its displayed caller's own, as in a trace recorded with that filter.
//! Frames still open at the end run to the trace's last event.

use crate::calltree::{CallNode, Entry};
use crate::index::{CallIndex, ShownTree, NONE};
use crate::protocol::{CallEdge, FunctionRow, FunctionsView};
use std::collections::HashMap;

/// The table of `tree`.
pub fn table(tree: &ShownTree, index: &CallIndex) -> FunctionsView {
    let mut rows: HashMap<u32, FunctionRow> = HashMap::new();
    let mut edges: HashMap<(u32, u32), CallEdge> = HashMap::new();
    for thread in 0..tree.threads.len() {
        let mut walk = Walk::default();
        tree.each_node(index, thread, |parent, node| {
            walk.visit(parent, node, &mut rows, &mut edges)
        });
        walk.close_all(&mut rows);
    }
    let mut rows: Vec<FunctionRow> = rows.into_values().collect();
    rows.sort_by(|a, b| b.total_ns.cmp(&a.total_ns).then(a.code.cmp(&b.code)));
    let mut edges: Vec<CallEdge> = edges.into_values().collect();
    edges.sort_by(|a, b| {
        b.total_ns
            .cmp(&a.total_ns)
            .then((a.caller, a.callee).cmp(&(b.caller, b.callee)))
    });
    FunctionsView {
        generation: 0,
        rows,
        edges,
    }
}

/// A frame on the walk's stack.
struct Open {
    node: u32,
    code: u32,
    /// Its time less its children's so far.
    own_ns: u64,
}

/// The pre-order walk of one thread: the stack of enclosing frames, and how
/// many frames of each code it holds.
#[derive(Default)]
struct Walk {
    stack: Vec<Open>,
    active: HashMap<u32, u32>,
    next: u32,
}

impl Walk {
    fn visit(
        &mut self,
        parent: u32,
        node: CallNode,
        rows: &mut HashMap<u32, FunctionRow>,
        edges: &mut HashMap<(u32, u32), CallEdge>,
    ) {
        let this = self.next;
        self.next += 1;
        while self.stack.last().is_some_and(|open| open.node != parent) {
            self.close(rows);
        }
        let duration = node.t1.saturating_sub(node.t0);
        let caller = self.stack.last().map_or(NONE, |open| open.code);
        if let Some(open) = self.stack.last_mut() {
            open.own_ns = open.own_ns.saturating_sub(duration);
        }
        let outermost = self.active.get(&node.code).copied().unwrap_or(0) == 0;
        let is_call = node.entry == Entry::Call;
        let row = rows.entry(node.code).or_insert_with(|| FunctionRow {
            code: node.code,
            ..FunctionRow::default()
        });
        row.calls += u64::from(is_call);
        if outermost {
            row.total_ns += duration;
        }
        let edge = edges
            .entry((caller, node.code))
            .or_insert_with(|| CallEdge {
                caller,
                callee: node.code,
                ..CallEdge::default()
            });
        edge.calls += u64::from(is_call);
        edge.total_ns += duration;
        *self.active.entry(node.code).or_insert(0) += 1;
        self.stack.push(Open {
            node: this,
            code: node.code,
            own_ns: duration,
        });
    }

    fn close(&mut self, rows: &mut HashMap<u32, FunctionRow>) {
        if let Some(open) = self.stack.pop() {
            if let Some(n) = self.active.get_mut(&open.code) {
                *n -= 1;
            }
            if let Some(row) = rows.get_mut(&open.code) {
                row.self_ns += open.own_ns;
            }
        }
    }

    fn close_all(&mut self, rows: &mut HashMap<u32, FunctionRow>) {
        while !self.stack.is_empty() {
            self.close(rows);
        }
    }
}
