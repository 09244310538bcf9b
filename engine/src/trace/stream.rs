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

/// The events of a trace, one by one, decoded a chunk at a time: in the
/// caller's thread ([`EventStream::open`]), or ahead of it in a thread of
/// its own ([`EventStream::open_ahead`], not on wasm32).
pub struct EventStream<R> {
    header: TraceHeader,
    batch: std::vec::IntoIter<Event>,
    source: Batches<R>,
    /// Batches handed out (chunks with events) and events in them.
    chunks: u64,
    events: u64,
}

/// Where decoded batches come from.
enum Batches<R> {
    /// Decoded on demand in this thread.
    Here(Box<Pump<R>>),
    /// Decoded ahead in another thread.
    #[cfg(not(target_arch = "wasm32"))]
    Ahead(ahead::Ahead),
}

impl<R: Read> EventStream<R> {
    /// Starts reading `source`: reads up to the header, and fails at once
    /// when the file is not a readable trace (from its first bytes).
    pub fn open(source: R) -> Result<EventStream<R>, ReadError> {
        let (pump, header) = Self::open_pump(source)?;
        Ok(EventStream {
            header,
            batch: Vec::new().into_iter(),
            source: Batches::Here(Box::new(pump)),
            chunks: 0,
            events: 0,
        })
    }

    fn open_pump(source: R) -> Result<(Pump<R>, TraceHeader), ReadError> {
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
        Ok((pump, header))
    }

    /// The header.
    pub fn header(&self) -> &TraceHeader {
        &self.header
    }

    /// How far reading has come, in what was handed out: the chunks that
    /// held events, and the events.
    pub fn progress(&self) -> ReadProgress {
        ReadProgress {
            bytes: match &self.source {
                Batches::Here(pump) => pump.reader.progress().bytes,
                #[cfg(not(target_arch = "wasm32"))]
                Batches::Ahead(_) => 0,
            },
            chunks: self.chunks,
            events: self.events,
        }
    }

    /// The next event, `None` at the end (or at damage: see [`EventStream::finish`]).
    pub fn next_event(&mut self) -> Result<Option<Event>, ReadError> {
        loop {
            if let Some(event) = self.batch.next() {
                return Ok(Some(event));
            }
            let events = match &mut self.source {
                Batches::Here(pump) => next_batch(pump)?,
                #[cfg(not(target_arch = "wasm32"))]
                Batches::Ahead(ahead) => ahead.next_batch()?,
            };
            let Some(events) = events else {
                return Ok(None);
            };
            self.chunks += 1;
            self.events += events.len() as u64;
            self.batch = events.into_iter();
        }
    }

    /// Reads what is left and ends: the tables and trailer (no events), with
    /// the truncation when the file ended early or was damaged.
    pub fn finish(mut self) -> Result<ReadOutcome, ReadError> {
        while self.next_event()?.is_some() {}
        match self.source {
            Batches::Here(pump) => Ok(pump.reader.finish()?),
            #[cfg(not(target_arch = "wasm32"))]
            Batches::Ahead(ahead) => ahead.finish(),
        }
    }
}

/// The events of the next chunk that has some, `None` at the end.
fn next_batch<R: Read>(pump: &mut Pump<R>) -> Result<Option<Vec<Event>>, ReadError> {
    loop {
        let events = pump.reader.take_events();
        if !events.is_empty() {
            return Ok(Some(events));
        }
        if !pump.more()? {
            let events = pump.reader.take_events();
            return Ok((!events.is_empty()).then_some(events));
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl<R: Read + Send + 'static> EventStream<R> {
    /// Like [`EventStream::open`], but decodes in a thread of its own,
    /// one chunk ahead of the caller, so that decoding and
    /// what the caller does with the events run at once.
    pub fn open_ahead(source: R) -> Result<EventStream<R>, ReadError> {
        let (pump, header) = Self::open_pump(source)?;
        Ok(EventStream {
            header,
            batch: Vec::new().into_iter(),
            source: Batches::Ahead(ahead::Ahead::start(pump)),
            chunks: 0,
            events: 0,
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod ahead {
    //! Decoding in a thread of its own, handing batches over a bounded channel.

    use super::{next_batch, Pump, ReadError};
    use crate::trace::model::Event;
    use crate::trace::reader::ReadOutcome;
    use std::io::Read;
    use std::sync::mpsc::{sync_channel, Receiver};

    /// Batches waiting in the channel: none, so that at most two chunks'
    /// events are held (the one the caller uses, and the next, decoded and
    /// waiting to be handed over), whatever each may cost.
    const AHEAD: usize = 0;

    enum Message {
        Events(Vec<Event>),
        End(Box<Result<ReadOutcome, ReadError>>),
    }

    /// The receiving end of a decoding thread.
    pub(super) struct Ahead {
        batches: Receiver<Message>,
        end: Option<Box<Result<ReadOutcome, ReadError>>>,
    }

    impl Ahead {
        pub(super) fn start<R: Read + Send + 'static>(mut pump: Pump<R>) -> Ahead {
            let (send, batches) = sync_channel(AHEAD);
            // When the caller stops early, the channel closes and the
            // thread ends at its next send.
            std::thread::spawn(move || {
                let end = loop {
                    match next_batch(&mut pump) {
                        Ok(Some(events)) => {
                            if send.send(Message::Events(events)).is_err() {
                                return;
                            }
                        }
                        Ok(None) => break pump.reader.finish().map_err(ReadError::from),
                        Err(e) => break Err(e),
                    }
                };
                let _ = send.send(Message::End(Box::new(end)));
            });
            Ahead { batches, end: None }
        }

        pub(super) fn next_batch(&mut self) -> Result<Option<Vec<Event>>, ReadError> {
            if self.end.is_some() {
                return Ok(None);
            }
            match self.batches.recv() {
                Ok(Message::Events(events)) => Ok(Some(events)),
                Ok(Message::End(end)) => match *end {
                    Err(e) => Err(e),
                    end => {
                        self.end = Some(Box::new(end));
                        Ok(None)
                    }
                },
                Err(_) => Err(ReadError::Io(std::io::Error::other(
                    "the decoding thread stopped",
                ))),
            }
        }

        pub(super) fn finish(mut self) -> Result<ReadOutcome, ReadError> {
            while self.next_batch()?.is_some() {}
            match self.end.take() {
                Some(end) => *end,
                None => Err(ReadError::Io(std::io::Error::other(
                    "the decoding thread stopped",
                ))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::refilter::testkit::{int, TraceBuilder};
    use crate::trace::{read_trace, write_trace, TraceWriter};
    use std::io::Cursor;

    /// A trace of `n` calls, written in small chunks.
    fn file(n: i64, trailer: bool) -> Vec<u8> {
        let mut b = TraceBuilder::new();
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        b.thread(0, "MainThread");
        for i in 0..n {
            b.call(0, f, &[("n", int(i))]);
            b.ret(0, int(i));
        }
        let trace = b.finish();
        let mut w = TraceWriter::with_chunk_bytes(Vec::new(), &trace.header, 256).expect("writer");
        w.tables(&trace).expect("tables");
        for event in &trace.events {
            w.event(event).expect("event");
        }
        match (&trace.trailer, trailer) {
            (Some(t), true) => w.finish(t).expect("finish"),
            _ => w.into_inner().expect("bytes"),
        }
    }

    fn all<R: Read>(mut stream: EventStream<R>) -> (Vec<Event>, ReadOutcome) {
        let mut events = Vec::new();
        while let Some(event) = stream.next_event().expect("events") {
            events.push(event);
        }
        (events, stream.finish().expect("finishes"))
    }

    #[test]
    fn reading_ahead_gives_what_reading_in_place_gives() {
        for (n, trailer) in [(0, true), (3, true), (2000, true), (2000, false)] {
            let bytes = file(n, trailer);
            let whole = read_trace(&bytes).expect("reads");
            let here = all(EventStream::open(Cursor::new(bytes.clone())).expect("opens"));
            let ahead = all(EventStream::open_ahead(Cursor::new(bytes.clone())).expect("opens"));
            assert_eq!(here.0, whole.trace.events);
            assert_eq!(ahead.0, whole.trace.events);
            assert_eq!(here.1.truncation, whole.truncation);
            assert_eq!(ahead.1, here.1);
        }
    }

    #[test]
    fn a_stream_dropped_early_lets_its_thread_go() {
        let bytes = file(5000, true);
        let mut stream = EventStream::open_ahead(Cursor::new(bytes)).expect("opens");
        assert!(stream.next_event().expect("an event").is_some());
        drop(stream);
    }

    #[test]
    fn not_a_trace_fails_when_opened() {
        let text = Cursor::new(b"{\"traceEvents\": []}".repeat(50));
        let error = EventStream::open_ahead(text).err().expect("not a trace");
        assert!(
            error.to_string().contains("Chrome Trace Event JSON"),
            "{error}"
        );
        assert!(EventStream::open(Cursor::new(write_trace(&TraceBuilder::new().finish()))).is_ok());
    }
}
