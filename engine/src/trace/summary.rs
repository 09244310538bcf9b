//! What a trace holds, at a glance: for `tracesieve info` and the viewer's
//! summary view.

use super::model::{Event, FilterStats, ProcessInfo, Trace};
use super::reader::Truncation;
use super::refilter::Refiltered;
use crate::explain::ValueKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A summary of a trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceSummary {
    /// `tracesieve <version>` that wrote it.
    pub recorder: String,
    /// The traced interpreter's `sys.version`.
    pub python: String,
    /// The traced program's `sys.argv`.
    pub argv: Vec<String>,
    /// The working directory.
    pub cwd: String,
    /// Start, ms since the Unix epoch.
    pub start_unix_ms: u64,
    /// Wall time from start to the last event, in nanoseconds.
    pub duration_ns: u64,
    /// `globals` or `paths`.
    pub naming: String,
    /// `none`, `args` or `all`.
    pub values: String,
    /// Events by kind (`call`, `line`, …).
    pub events: BTreeMap<String, u64>,
    /// All events.
    pub total_events: u64,
    /// Recorded code objects.
    pub codes: usize,
    /// Embedded source files.
    pub sources: usize,
    /// Thread names, by thread number.
    pub threads: Vec<String>,
    /// The record-time filter chain.
    pub filters: Vec<FilterSummary>,
    /// Filter statistics, per value kind.
    pub stats: StatsSummary,
    /// The program's exit status, if the trace is complete.
    pub exit_status: Option<i32>,
    /// Why the recorder detached early, if it did.
    pub detached: Option<String>,
    /// The size in bytes at which recording stopped (`record --max-size`),
    /// if it did.
    #[serde(default)]
    pub size_limit: Option<u64>,
    /// Set when the file ends early or is damaged.
    pub truncation: Option<Truncation>,
    /// Which process of a trace set the trace is, if it is one.
    #[serde(default)]
    pub process: Option<ProcessInfo>,
}

/// One filter of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterSummary {
    /// Path, or `<inline:LABEL>`.
    pub path: String,
    /// `meta.name`, when the filter loads.
    pub name: Option<String>,
    /// SHA-256 of its text.
    pub sha256: String,
}

/// Filter statistics keyed by value kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSummary {
    /// Code objects skipped.
    pub scopes_skipped: u64,
    /// Redacted values per kind.
    pub redacted: BTreeMap<String, u64>,
    /// Dropped values per kind.
    pub dropped: BTreeMap<String, u64>,
}

impl StatsSummary {
    /// The per-kind maps of `stats`.
    pub fn of(stats: &FilterStats) -> StatsSummary {
        let by_kind = |counts: &[u64; 5]| {
            ValueKind::ALL
                .iter()
                .map(|k| (k.token().to_string(), counts[FilterStats::slot(*k)]))
                .collect()
        };
        StatsSummary {
            scopes_skipped: stats.scopes_skipped,
            redacted: by_kind(&stats.redacted),
            dropped: by_kind(&stats.dropped),
        }
    }
}

/// What one re-filtering pass produced: for `tracesieve refilter` and the
/// viewer's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefilterReport {
    /// Events in the new trace.
    pub events: usize,
    /// Code objects in the new trace.
    pub codes: usize,
    /// The new trace's statistics (record time and this pass together).
    pub total: StatsSummary,
    /// What this pass alone skipped, redacted and dropped.
    pub added: StatsSummary,
}

impl RefilterReport {
    /// The report of `result`.
    pub fn of(result: &Refiltered) -> RefilterReport {
        RefilterReport {
            events: result.trace.events.len(),
            codes: result.trace.codes.len(),
            total: StatsSummary::of(&result.stats),
            added: StatsSummary::of(&result.added),
        }
    }
}

/// The event kind's name, as in the JSON export.
pub fn event_kind(event: &Event) -> &'static str {
    match event {
        Event::ThreadStart { .. } => "thread_start",
        Event::Call { .. } => "call",
        Event::Resume { .. } => "resume",
        Event::Throw { .. } => "throw",
        Event::Line { .. } => "line",
        Event::Return { .. } => "return",
        Event::Yield { .. } => "yield",
        Event::Unwind { .. } => "unwind",
        Event::Raise { .. } => "raise",
    }
}

/// Summarises `trace`, read with `truncation`.
pub fn summarize(trace: &Trace, truncation: Option<&Truncation>) -> TraceSummary {
    let mut counts = EventCounts::default();
    trace.events.iter().for_each(|event| counts.add(event));
    counts.summary(trace, truncation)
}

/// The per-event part of a summary, counted one event at a time, so that a
/// trace read as a stream is summarised without holding its events.
#[derive(Debug, Clone, Default)]
pub struct EventCounts {
    events: BTreeMap<String, u64>,
    total: u64,
    threads: BTreeMap<u32, String>,
    last_t: u64,
}

impl EventCounts {
    /// Counts one event.
    pub fn add(&mut self, event: &Event) {
        match self.events.get_mut(event_kind(event)) {
            Some(n) => *n += 1,
            None => {
                self.events.insert(event_kind(event).to_string(), 1);
            }
        }
        self.total += 1;
        self.last_t = event.time();
        if let Event::ThreadStart { thread, name, .. } = event {
            self.threads.insert(*thread, name.clone());
        }
    }

    /// The summary of `trace` (whose events, if any, are not looked at:
    /// the tables of a streamed file) with the events counted so far.
    pub fn summary(self, trace: &Trace, truncation: Option<&Truncation>) -> TraceSummary {
        // Thread numbers are bounded by the reader (decode::MAX_THREAD_NUMBER);
        // a number with no thread_start gets an empty name.
        let mut threads = Vec::new();
        for (number, name) in self.threads {
            threads.resize(number as usize, String::new());
            threads.push(name);
        }
        let names: Vec<Option<String>> = match trace.header.chain() {
            Ok(chain) => chain
                .sources()
                .iter()
                .map(|s| Some(s.meta.name.clone()))
                .collect(),
            Err(_) => vec![None; trace.header.filters.len()],
        };
        let filters = trace
            .header
            .filters
            .iter()
            .zip(names)
            .map(|(f, name)| FilterSummary {
                path: f.path.clone(),
                name,
                sha256: f.sha256.clone(),
            })
            .collect();
        let stats = trace
            .trailer
            .as_ref()
            .map(|t| t.stats.clone())
            .unwrap_or_default();
        let token = |v: serde_json::Value| v.as_str().unwrap_or_default().to_string();
        TraceSummary {
            recorder: trace.header.recorder.clone(),
            python: trace.header.python.clone(),
            argv: trace.header.argv.clone(),
            cwd: trace.header.cwd.clone(),
            start_unix_ms: trace.header.start_unix_ms,
            duration_ns: self.last_t,
            naming: token(serde_json::to_value(trace.header.naming).unwrap_or_default()),
            values: token(serde_json::to_value(trace.header.values).unwrap_or_default()),
            total_events: self.total,
            events: self.events,
            codes: trace.codes.len(),
            sources: trace.sources.len(),
            threads,
            filters,
            stats: StatsSummary::of(&stats),
            exit_status: trace.trailer.as_ref().and_then(|t| t.exit_status),
            detached: trace.trailer.as_ref().and_then(|t| t.detached.clone()),
            size_limit: trace.trailer.as_ref().and_then(|t| t.size_limit),
            truncation: truncation.cloned(),
            process: trace.header.process.clone(),
        }
    }
}
