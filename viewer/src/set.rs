//! Trace sets: the files of a multi-process recording (`TRACE` and
//! `TRACE.d/PID.tsieve`) opened together. Which trace is the program, the
//! process tree order the selector lists them in, their labels, the common
//! clock, and the counts of the whole set. No DOM, no decoding.

use crate::protocol::{ProcessView, RefilterReport, StatsSummary};
use std::collections::BTreeMap;
use tracesieve_engine::trace::{ProcessInfo, ProcessStart};

/// What the ordering needs of one trace of a set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The file name.
    pub name: String,
    /// The header's process record, if any.
    pub process: Option<ProcessInfo>,
    /// When the recording started (milliseconds since the epoch).
    pub start_unix_ms: u64,
    /// The program's command line.
    pub argv: Vec<String>,
    /// Whether the file is cut or damaged.
    pub incomplete: bool,
}

/// At most this many characters of a command line in a process label.
const ARGV_CHARS: usize = 60;

/// The first trace of the set: the one `record` ran (`started: program`),
/// else one with no process record, else the earliest; ties go to the
/// file listed first.
pub fn first(members: &[Member]) -> usize {
    let rank = |m: &Member| match &m.process {
        Some(p) if p.started == ProcessStart::Program => 0,
        None => 1,
        Some(_) => 2,
    };
    (0..members.len())
        .min_by_key(|&i| (rank(&members[i]), members[i].start_unix_ms))
        .unwrap_or(0)
}

/// The members in process-tree order, each with its depth: the first
/// trace, then each process after its parent, siblings by start time (then
/// file name). A process whose parent is not in the set, or that cannot be
/// reached from the first (parents naming each other), hangs under the
/// first, as `tracesieve info` lists a set.
pub fn tree_order(members: &[Member]) -> Vec<(usize, u32)> {
    if members.is_empty() {
        return Vec::new();
    }
    let root = first(members);
    // The first trace holding each pid is that pid's process.
    let mut by_pid = BTreeMap::new();
    for (i, m) in members.iter().enumerate() {
        if let Some(p) = &m.process {
            by_pid.entry(p.pid).or_insert(i);
        }
    }
    let mut rest: Vec<usize> = (0..members.len()).filter(|&i| i != root).collect();
    rest.sort_by(|&a, &b| {
        let key = |i: usize| (members[i].start_unix_ms, &members[i].name);
        key(a).cmp(&key(b))
    });
    let mut children: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in &rest {
        let parent = members[i]
            .process
            .as_ref()
            .and_then(|p| by_pid.get(&p.parent).copied())
            .filter(|&p| p != i)
            .unwrap_or(root);
        children.entry(parent).or_default().push(i);
    }
    let mut ordered = Vec::with_capacity(members.len());
    let mut reached = vec![false; members.len()];
    let mut stack = vec![(root, 0u32)];
    while let Some((i, depth)) = stack.pop() {
        if std::mem::replace(&mut reached[i], true) {
            continue;
        }
        ordered.push((i, depth));
        if let Some(kids) = children.get(&i) {
            stack.extend(kids.iter().rev().map(|&k| (k, depth + 1)));
        }
    }
    ordered.extend(rest.into_iter().filter(|&i| !reached[i]).map(|i| (i, 1)));
    ordered
}

/// A process's label: `4242 fork · app.py` (pid, how it started, the
/// command line, shortened), or the file name for a trace with no process
/// record; `· incomplete` for a cut or damaged file.
pub fn label(member: &Member) -> String {
    let argv = shorten(&member.argv.join(" "));
    let mut text = match &member.process {
        Some(p) => format!("{} {} · {argv}", p.pid, p.started.word()),
        None if argv.is_empty() => member.name.clone(),
        None => format!("{} · {argv}", member.name),
    };
    if member.incomplete {
        text.push_str(" · incomplete");
    }
    text
}

/// `text` cut to [`ARGV_CHARS`] characters, with `…` when cut.
fn shorten(text: &str) -> String {
    if text.chars().count() <= ARGV_CHARS {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(ARGV_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// The processes of a set as the page lists them, in tree order: each
/// with its label, depth and start on the set's clock (nanoseconds after
/// the first trace started, as `tracesieve export --format chrome` places
/// them: the difference of the start times, known to the millisecond).
pub fn processes(members: &[Member]) -> Vec<(usize, ProcessView)> {
    let origin = members.get(first(members)).map_or(0, |m| m.start_unix_ms);
    tree_order(members)
        .into_iter()
        .map(|(i, depth)| {
            let m = &members[i];
            let view = ProcessView {
                name: m.name.clone(),
                pid: m.process.as_ref().map(|p| p.pid),
                label: label(m),
                depth,
                offset_ns: m
                    .start_unix_ms
                    .saturating_sub(origin)
                    .saturating_mul(1_000_000),
            };
            (i, view)
        })
        .collect()
}

/// The counts of a set re-filtered: each process's added up.
pub fn sum_reports<'r>(reports: impl IntoIterator<Item = &'r RefilterReport>) -> RefilterReport {
    let mut sum = RefilterReport::default();
    for r in reports {
        sum.events += r.events;
        sum.codes += r.codes;
        add_stats(&mut sum.total, &r.total);
        add_stats(&mut sum.added, &r.added);
    }
    sum
}

fn add_stats(sum: &mut StatsSummary, stats: &StatsSummary) {
    sum.scopes_skipped += stats.scopes_skipped;
    for (kind, n) in &stats.redacted {
        *sum.redacted.entry(kind.clone()).or_default() += n;
    }
    for (kind, n) in &stats.dropped {
        *sum.dropped.entry(kind.clone()).or_default() += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn member(name: &str, process: Option<(u32, u32, ProcessStart)>, start: u64) -> Member {
        Member {
            name: name.into(),
            process: process.map(|(pid, parent, started)| ProcessInfo {
                pid,
                parent,
                started,
            }),
            start_unix_ms: start,
            argv: vec!["app.py".into()],
            incomplete: false,
        }
    }

    #[test]
    fn the_program_comes_first_and_children_follow_their_parents() {
        use ProcessStart::*;
        // Listed by file name, as a folder gives them.
        let members = vec![
            member("12.tsieve", Some((12, 11, Fork)), 1_005),
            member("11.tsieve", Some((11, 10, Spawn)), 1_002),
            member("13.tsieve", Some((13, 10, Exec)), 1_003),
            member("99.tsieve", Some((99, 77, Fork)), 1_001),
            member("trace.tsieve", Some((10, 1, Program)), 1_000),
        ];
        let order: Vec<(&str, u32)> = tree_order(&members)
            .into_iter()
            .map(|(i, d)| (members[i].name.as_str(), d))
            .collect();
        assert_eq!(
            order,
            vec![
                ("trace.tsieve", 0),
                // 99's parent is not in the set: under the first.
                ("99.tsieve", 1),
                ("11.tsieve", 1),
                ("12.tsieve", 2),
                ("13.tsieve", 1),
            ]
        );
        let views = processes(&members);
        assert_eq!(views[0].1.offset_ns, 0);
        assert_eq!(views[3].1.offset_ns, 5_000_000);
        assert_eq!(views[3].1.label, "12 fork · app.py");
        assert_eq!(views[3].1.pid, Some(12));
    }

    #[test]
    fn loops_and_traces_without_a_process_record_are_still_listed() {
        use ProcessStart::*;
        let members = vec![
            member("a.tsieve", Some((5, 6, Fork)), 10),
            member("b.tsieve", Some((6, 5, Fork)), 11),
            member("plain.tsieve", None, 20),
        ];
        let order = tree_order(&members);
        assert_eq!(order, vec![(2, 0), (0, 1), (1, 1)]);
        assert_eq!(first(&[]), 0);
        assert!(tree_order(&[]).is_empty());
        let mut plain = member("plain.tsieve", None, 0);
        plain.incomplete = true;
        plain.argv = vec!["x".repeat(100)];
        let text = label(&plain);
        assert!(text.starts_with("plain.tsieve · xxx"), "{text}");
        assert!(text.ends_with("… · incomplete"), "{text}");
    }

    #[test]
    fn reports_add_up() {
        let one = RefilterReport {
            events: 10,
            codes: 3,
            total: StatsSummary {
                scopes_skipped: 1,
                redacted: [("arg".to_string(), 2)].into(),
                dropped: BTreeMap::new(),
            },
            added: StatsSummary::default(),
        };
        let sum = sum_reports([&one, &one]);
        assert_eq!(sum.events, 20);
        assert_eq!(sum.codes, 6);
        assert_eq!(sum.total.scopes_skipped, 2);
        assert_eq!(sum.total.redacted["arg"], 4);
    }
}
