//! Reading a trace file from any [`Read`] without holding it: the tables in
//! one pass ([`read_tables`]), the events one by one in another
//! ([`EventStream`]). Memory stays bounded by one chunk and its decoded
//! events (see [`super::decode`] for the budgets), plus the tables, whatever
//! the number of events. `info`, `refilter` and the exports are built on it.
//!
//! A tool that writes the tables before the events (as the trace format and
//! the JSON export do) reads the file twice: the tables first, then the
//! events.

use super::decode::Keep;
use super::model::{Event, Name, Trace, TraceHeader};
use super::reader::{ReadOutcome, ReadProgress, TraceError, TraceReader, Truncation};
use std::io::{self, Read};

/// How many bytes are read from the source at a time.
const READ_BYTES: usize = 64 << 10;

/// Why a file could not be streamed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file is not a readable trace.
    #[error("{0}")]
    Trace(#[from] TraceError),
    /// Reading the file failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Everything of a trace but its events, read in one pass.
#[derive(Debug, Clone)]
pub struct Tables {
    /// The header, tables and trailer; `events` is empty.
    pub trace: Trace,
    /// Each thread's name, from its first `thread_start`, in the order of
    /// those `thread_start`s.
    pub thread_names: Vec<(u32, Name)>,
    /// How many distinct threads its events are on.
    pub threads: usize,
    /// How many events the file holds (up to any damage).
    pub events: u64,
    /// Set when the file ends early or is damaged.
    pub truncation: Option<Truncation>,
}

/// Reads the header, the tables and the trailer of the trace in `source`,
/// checking and counting the events without keeping them.
pub fn read_tables<R: Read>(source: R) -> Result<Tables, ReadError> {
    let mut pump = Pump::new(source, Keep::Tables);
    while pump.more()? {}
    let thread_names = pump.reader.thread_names().to_vec();
    let events = pump.reader.progress().events;
    let threads = pump.reader.thread_count();
    let ReadOutcome { trace, truncation } = pump.reader.finish()?;
    Ok(Tables {
        trace,
        thread_names,
        threads,
        events,
        truncation,
    })
}

/// Feeds a [`TraceReader`] from a source, a chunk at a time.
struct Pump<R> {
    source: R,
    reader: TraceReader,
    buf: Vec<u8>,
    /// The bytes of `buf` read and not yet pushed: `buf[at..filled]`.
    at: usize,
    filled: usize,
    eof: bool,
}

impl<R: Read> Pump<R> {
    fn new(source: R, keep: Keep) -> Pump<R> {
        Pump {
            source,
            reader: TraceReader::keeping(keep),
            buf: vec![0; READ_BYTES],
            at: 0,
            filled: 0,
            eof: false,
        }
    }

    /// Decodes up to the end of the next chunk, reading from the source as
    /// needed; false once the source is used up (or decoding stopped at
    /// damage, after which nothing more is read).
    fn more(&mut self) -> Result<bool, ReadError> {
        if self.reader.stopped() {
            return Ok(false);
        }
        if self.at < self.filled {
            let rest = self.buf.get(self.at..self.filled).unwrap_or_default();
            self.at += self.reader.push_some(rest)?;
            return Ok(true);
        }
        if self.eof {
            return Ok(false);
        }
        let n = loop {
            match self.source.read(&mut self.buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        };
        if n == 0 {
            self.eof = true;
            return Ok(false);
        }
        (self.at, self.filled) = (0, n);
        Ok(true)
    }
}

/// The events of a trace, one by one, decoded a chunk at a time.
pub struct EventStream<R> {
    pump: Pump<R>,
    header: TraceHeader,
    batch: std::vec::IntoIter<Event>,
}

impl<R: Read> EventStream<R> {
    /// Starts reading `source`: reads up to the header, and fails at once
    /// when the file is not a readable trace (from its first bytes).
    pub fn open(source: R) -> Result<EventStream<R>, ReadError> {
        let mut pump = Pump::new(source, Keep::Stream);
        let header = loop {
            if let Some(header) = pump.reader.header() {
                break header.clone();
            }
            if !pump.more()? {
                // Says why: not a trace, or cut before its header.
                pump.reader.finish()?;
                return Err(TraceError::BadHeader {
                    reason: "the file has no header".to_owned(),
                }
                .into());
            }
        };
        Ok(EventStream {
            pump,
            header,
            batch: Vec::new().into_iter(),
        })
    }

    /// The header.
    pub fn header(&self) -> &TraceHeader {
        &self.header
    }

    /// The tables read so far: every code an event names is in them by the
    /// time the event is handed out.
    pub fn tables(&self) -> Option<&Trace> {
        self.pump.reader.trace()
    }

    /// How far reading has come.
    pub fn progress(&self) -> ReadProgress {
        self.pump.reader.progress()
    }

    /// The next event, `None` at the end (or at damage: see [`EventStream::finish`]).
    pub fn next_event(&mut self) -> Result<Option<Event>, ReadError> {
        loop {
            if let Some(event) = self.batch.next() {
                return Ok(Some(event));
            }
            let events = self.pump.reader.take_events();
            if !events.is_empty() {
                self.batch = events.into_iter();
                continue;
            }
            if !self.pump.more()? {
                let events = self.pump.reader.take_events();
                if events.is_empty() {
                    return Ok(None);
                }
                self.batch = events.into_iter();
            }
        }
    }

    /// Reads what is left and ends: the tables and trailer (no events), with
    /// the truncation when the file ended early or was damaged.
    pub fn finish(mut self) -> Result<ReadOutcome, ReadError> {
        while self.next_event()?.is_some() {}
        Ok(self.pump.reader.finish()?)
    }
}
