//! Re-filtering: applying another filter chain (and naming mode) to a trace
//! that is already recorded, with exactly the rules the recorder follows.
//!
//! # The parity contract
//!
//! For a program `P` and a filter chain `F`,
//! `refilter(record(P, permissive), F)` equals `record(P, F)` (timestamps
//! aside). Both sides follow these rules:
//!
//! * **Decisions.** Every code object is decided once by [`decide_codes`]:
//!   its module identity comes from [`crate::identity::module_identity`] under the naming
//!   mode, with the resolver inputs in force when the code was first seen
//!   ([`crate::trace::Trace::resolver_inputs`]); the scope is `{filename, qualname,
//!   module, first_line}`. A code whose decision is not
//!   [`crate::Decision::is_recorded`] (skipped, or a synthetic file) is not
//!   recorded.
//! * **Frames.** Per thread, a stack of frames follows the input events:
//!   `call`, `resume` and `throw` push their code; `return`, `yield` and
//!   `unwind` pop; `line` and `raise` belong to the frame on top. Every event
//!   of a frame whose code is not recorded disappears; the events of the
//!   frames it calls stay (a skip removes one code object, not a subtree).
//! * **Codes.** The recorded codes keep their table order (first-seen order)
//!   and are renumbered from 0; events refer to the new numbers.
//! * **Values.** Each value goes through [`crate::trace::policy::slot`] once, at its site:
//!   call arguments as `arg NAME` (a dropped argument is left out); the
//!   exception thrown into a generator as `arg exception` (when dropped, the
//!   `throw` event keeps a [`crate::trace::Slot::Dropped`] marker because the event has no
//!   way to leave it out); line variables as `local` (with the D7 rule when
//!   the frame's code is a module body, qualname `<module>`) or `global`;
//!   returns, yields and unwinds as `ret` (a dropped one keeps its
//!   [`crate::trace::Slot::Dropped`] marker); raised exceptions have only their attributes
//!   decided. The strings redacted or dropped are learned in event order,
//!   and every value kept after them is redacted by value
//!   ([`crate::trace::secrets`]), as the recorder does.
//! * **Header argv.** Secret-looking `--option` values are redacted with the
//!   new chain ([`crate::trace::policy::redact_argv`]).
//! * **Threads.** Threads are numbered from 0 in the order of their first
//!   recorded event, and a `thread_start` (with the thread's name and that
//!   event's time) is written immediately before it. Input `thread_start`
//!   events are not copied: they are regenerated.
//! * **Tables.** `sys_paths`, `modules` and `markers` are copied unchanged
//!   (the recorder snapshots them for every code object it sees, recorded or
//!   not). `sources` keeps one entry per file of a recorded code, in the
//!   order of the first recorded code of each file.
//! * **Header and trailer.** The header is the input's with `filters`
//!   replaced by the new chain and `naming` by the new mode. The trailer (if
//!   any) is the input's with its statistics replaced (see below).
//! * **Statistics** are cumulative, so that re-filtering with the chain a
//!   trace was recorded with changes nothing and re-filtering is idempotent:
//!   the input trailer's counts, plus the input codes whose decision is
//!   `exec = skip`, plus the redactions and drops [`crate::trace::policy::slot`] makes in
//!   this pass. Code with a synthetic filename is never in a trace, so the
//!   recorder does not count it as skipped either.
//!
//! # Where parity cannot hold
//!
//! Re-filtering only removes. Against `record(P, F)`, the result differs when
//! the input trace already lost something that `F` would have kept:
//!
//! * a scope skipped at record time cannot come back, nor can the events of
//!   a thread that ran only skipped code;
//! * a value recorded as redacted, dropped or absent stays so, even where
//!   `F` would allow it (or would drop a value the input only redacted: the
//!   `<redacted>` marker stays);
//! * values cut at the input's bounds stay cut; the input's value mode
//!   (`--values`) and `repr` setting are the output's;
//! * statistics include the input's counts: when the input was recorded with
//!   a filter that redacted or skipped something, those counts stay even
//!   when `F` would not have done it (or skips the scope they came from);
//!   the scopes skipped at record time were decided under the input's
//!   naming mode, and stay counted when re-filtering under the other one.
//!
//! Events that belong to no frame (a `line`, `raise` or exit with an empty
//! stack, as in a hostile or damaged trace) and events naming an unknown
//! code are left out: there is no decision to filter them with.
//!
//! `relabel` answers the viewer's naming-mode toggle without a chain.
//!
//! # Layout
//!
//! [`naming`] gives module identities and decisions per code, [`chain`]
//! builds the chain, [`rewrite`] applies the rules above one event at a time
//! ([`EventFilter`]). [`refilter`] runs it over a trace in memory;
//! [`refilter_stream`] over a file read twice (the tables, then the events),
//! writing as it goes, with the same bytes.

pub mod chain;
pub mod naming;
pub mod rewrite;
#[cfg(test)]
pub(crate) mod testkit;
#[cfg(test)]
mod tests;

pub use chain::{chain_for, ChainOptions};
pub use naming::{decide_codes, identities, relabel, Naming, Relabel};
pub use rewrite::{thread_names, EventFilter};

use super::model::{FilterStats, Trace};
use super::stream::{EventStream, ReadError, Tables};
use super::writer::TraceWriter;
use crate::filter::FilterChain;
use std::io::{Read, Write};

/// The result of [`refilter`].
#[derive(Debug, Clone, PartialEq)]
pub struct Refiltered {
    /// The re-filtered trace.
    pub trace: Trace,
    /// Its statistics: the input trailer's plus this pass's (the same as in
    /// the output trailer, which may be absent).
    pub stats: FilterStats,
    /// What this pass alone did: codes newly skipped, values newly redacted
    /// or dropped.
    pub added: FilterStats,
}

/// `trace` re-filtered with `chain` and `naming` (see the module docs for
/// the rules and for where parity with recording cannot hold).
pub fn refilter(trace: &Trace, chain: &FilterChain, naming: &Naming) -> Refiltered {
    let mut filter = EventFilter::new(trace, thread_names(&trace.events), chain, naming);
    let mut events = Vec::with_capacity(trace.events.len());
    for event in &trace.events {
        filter.event(event, &mut events);
    }
    events.shrink_to_fit();
    let (trailer, stats) = filter.trailer(trace.trailer.as_ref());
    let added = filter.added().clone();
    Refiltered {
        trace: Trace {
            events,
            trailer,
            ..filter.into_tables()
        },
        stats,
        added,
    }
}

/// What [`refilter_stream`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRefiltered {
    /// Events written.
    pub events: u64,
    /// Code objects written.
    pub codes: usize,
    /// The statistics written in the trailer (the input's plus this pass's).
    pub stats: FilterStats,
    /// What this pass alone did.
    pub added: FilterStats,
}

/// Re-filters a trace file into `out` as it reads it, with the bytes
/// [`refilter`] and [`super::try_write_trace`] give for the whole trace:
/// `tables` come from a first pass over the file ([`super::stream::read_tables`]),
/// `events` stream from a second. Memory does not grow with the events.
pub fn refilter_stream<R: Read, W: Write>(
    tables: &Tables,
    mut events: EventStream<R>,
    chain: &FilterChain,
    naming: &Naming,
    out: W,
) -> Result<(W, StreamRefiltered), ReadError> {
    let names = tables.thread_names.iter().cloned().collect();
    let mut filter = EventFilter::new(&tables.trace, names, chain, naming);
    let mut writer = TraceWriter::new(out, &filter.tables().header)?;
    writer.tables(filter.tables())?;
    let mut batch = Vec::new();
    let mut written = 0u64;
    while let Some(event) = events.next_event()? {
        filter.take(event, &mut batch);
        for new in batch.drain(..) {
            writer.event(&new)?;
            written += 1;
        }
    }
    let (trailer, stats) = filter.trailer(tables.trace.trailer.as_ref());
    let out = match &trailer {
        Some(trailer) => writer.finish(trailer)?,
        None => writer.into_inner()?,
    };
    let report = StreamRefiltered {
        events: written,
        codes: filter.tables().codes.len(),
        stats,
        added: filter.added().clone(),
    };
    Ok((out, report))
}
