//! speedscope's own file format (the `file-format-schema.json` its npm
//! package ships; <https://www.speedscope.app>), the format py-spy writes.
//!
//! The output (shown spread out; the export writes it on one line):
//!
//! ```json
//! {
//!   "$schema": "https://www.speedscope.app/file-format-schema.json",
//!   "activeProfileIndex": 0,
//!   "exporter": "tracesieve 0.1.0",
//!   "name": "app.py",
//!   "profiles": [
//!     {"type": "evented", "name": "app.py · MainThread", "unit": "nanoseconds",
//!      "events": [{"type": "O", "frame": 0, "at": 1000}, {"type": "C", "frame": 0, "at": 3000}],
//!      "startValue": 1000, "endValue": 3000}
//!   ],
//!   "shared": {"frames": [{"name": "<__main__>", "file": "/p/app.py", "line": 1}]}
//! }
//! ```
//!
//! * One evented profile per thread with activations, in the order of the
//!   threads' first activations; a trace set ([`write_speedscope_set`]) gives
//!   the profiles of each process in turn. A process with no activation at
//!   all gets one empty profile, so that every process shows.
//! * A profile is named `PROGRAM · THREAD`: the program's `argv` (with
//!   `(pid N)`, and how a child started, `(pid N, fork)`, when the trace
//!   has a process record), then the thread's name from its first
//!   `thread_start` (`thread N` without one). The file's `name` is the
//!   first trace's program.
//! * Every activation (`call`, `resume`, `throw`) opens its code's frame
//!   (`O`), and its `return`, `yield` or `unwind` closes it (`C`); a
//!   generator shows one frame per resumption, as in the trace. An exit with
//!   no open activation is left out; what a cut-short trace left open is
//!   closed at the process's last timestamp, innermost first.
//! * A frame is a code: `name` its label (`<pkg.mod>` for module bodies,
//!   else the qualname, under the recording's naming mode), `file` its
//!   `co_filename` and `line` its first line; speedscope shows `file:line`
//!   beside the name. Frames are shared by every profile (one per distinct
//!   name, file and line, so a code that both a parent and its forked child
//!   ran is one frame). A code missing from the table is the frame
//!   `<code ID>` (the first [`MISSING_FRAMES`] such ids; any further ones
//!   share the frame `<code ?>`).
//! * `at` is in nanoseconds on the first trace's clock (a child process of
//!   a set moved by the difference of the start times, in milliseconds),
//!   never decreasing on a thread (a damaged trace's timestamps are
//!   clamped). A profile spans its thread's first to last event
//!   (`startValue`, `endValue`), so that speedscope's time order opens on
//!   the thread's work, not on the interpreter's start-up before it; an
//!   empty profile spans its process's recording.
//! * Lines, values and raised exceptions are not exported.
//!
//! # Streaming
//!
//! speedscope wants each thread's events together, and a trace interleaves
//! its threads; holding one thread's events while writing another's would
//! grow with the trace. So [`write_speedscope`] reads a trace's events once
//! per thread with activations ([`Rereadable`]), writing that thread's
//! profile as it reads: its memory holds the frames (bounded by the code
//! tables), the threads' names and the open activations of one thread,
//! never anything that grows with the number of events. A trace with one
//! thread is read once; one with T threads, T times.

use super::chrome::process_label;
use super::codes::{unknown_code, Codes};
use crate::trace::model::{Event, Trace, TraceHeader};
use crate::trace::stream::{EventStream, ReadError, Tables};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;
use std::io::{self, Read, Write};

/// How many distinct ids of codes missing from the table get a frame of
/// their own (`<code ID>`); further ones share `<code ?>`.
pub const MISSING_FRAMES: usize = 1024;

/// The JSON schema the output follows (speedscope's `$schema` value).
pub const SCHEMA: &str = "https://www.speedscope.app/file-format-schema.json";

/// The events of one trace, read from the first as often as asked.
pub trait Rereadable {
    /// Reads every event from the first, handing each to `each` in order;
    /// stops at the first error of either.
    fn read_events(
        &mut self,
        each: &mut dyn FnMut(&Event) -> Result<(), ReadError>,
    ) -> Result<(), ReadError>;
}

/// A trace file's events, each reading from a stream `open` opens anew.
pub struct Reopen<F>(pub F);

impl<R: Read, F: FnMut() -> Result<EventStream<R>, ReadError>> Rereadable for Reopen<F> {
    fn read_events(
        &mut self,
        each: &mut dyn FnMut(&Event) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        let mut events = (self.0)()?;
        while let Some(event) = events.next_event()? {
            each(&event)?;
        }
        events.finish()?;
        Ok(())
    }
}

impl Rereadable for &[Event] {
    fn read_events(
        &mut self,
        each: &mut dyn FnMut(&Event) -> Result<(), ReadError>,
    ) -> Result<(), ReadError> {
        self.iter().try_for_each(each)
    }
}

/// The speedscope JSON of `trace` (see the module docs): the bytes
/// [`write_speedscope`] writes for its file.
pub fn to_speedscope(trace: &Trace) -> String {
    let mut names: Vec<(u32, &str)> = Vec::new();
    for event in &trace.events {
        if let Event::ThreadStart { thread, name, .. } = event {
            if names.iter().all(|(t, _)| t != thread) {
                names.push((*thread, name));
            }
        }
    }
    let mut out = Vec::new();
    let mut events: &[Event] = &trace.events;
    let result = (|| -> Result<(), ReadError> {
        let mut writer = Writer::start(&mut out, &trace.header)?;
        writer.process(trace, &names, &mut events, Process::alone(&trace.header))?;
        Ok(writer.end()?)
    })();
    match result {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Writes the speedscope JSON of a trace file to `out`: `tables` from
/// [`crate::trace::stream::read_tables`], `events` its events as often as
/// needed (once per thread with activations, see the module docs). A file
/// cut short or damaged is exported up to the damage, its open activations
/// closed. Fails when reading fails, or with [`ReadError::Io`] when writing
/// does; `out` is flushed at the end.
pub fn write_speedscope<W: Write>(
    tables: &Tables,
    events: &mut dyn Rereadable,
    out: W,
) -> Result<(), ReadError> {
    write_speedscope_set((tables, events), || None, out)
}

/// A trace of a set to export: its tables and its events.
pub type Member = (Tables, Box<dyn Rereadable>);

/// Writes the speedscope JSON of a trace set (a program and its child
/// processes): the profiles of `first`, then of each trace `next` hands
/// out until it returns `None`, each process's timestamps moved onto the
/// first trace's clock. The file's name and exporter are the first
/// trace's. A set of one trace gives the bytes of [`write_speedscope`].
pub fn write_speedscope_set<W: Write>(
    first: (&Tables, &mut dyn Rereadable),
    mut next: impl FnMut() -> Option<Result<Member, ReadError>>,
    out: W,
) -> Result<(), ReadError> {
    let (tables, events) = first;
    let start = tables.trace.header.start_unix_ms;
    let mut writer = Writer::start(out, &tables.trace.header)?;
    writer.process(
        &tables.trace,
        &thread_names(tables),
        events,
        Process::of(&tables.trace.header, start),
    )?;
    while let Some(member) = next() {
        let (tables, mut events) = member?;
        let process = Process::of(&tables.trace.header, start);
        writer.process(&tables.trace, &thread_names(&tables), &mut *events, process)?;
    }
    Ok(writer.end()?)
}

/// The first name of each thread, from the tables.
fn thread_names(tables: &Tables) -> Vec<(u32, &str)> {
    tables
        .thread_names
        .iter()
        .map(|(thread, name)| (*thread, &**name))
        .collect()
}

/// Where a trace's events go on the export's clock.
#[derive(Debug, Clone, Copy)]
struct Process {
    /// Nanoseconds after the first process of the set started.
    offset_ns: u64,
}

impl Process {
    /// A trace exported alone, on its own clock.
    fn alone(header: &TraceHeader) -> Process {
        Process::of(header, header.start_unix_ms)
    }

    /// A trace of a set whose first trace started at `start` (milliseconds
    /// since the epoch).
    fn of(header: &TraceHeader, start: u64) -> Process {
        Process {
            offset_ns: header
                .start_unix_ms
                .saturating_sub(start)
                .saturating_mul(1_000_000),
        }
    }
}

/// A frame of `shared.frames`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Frame {
    name: String,
    /// File and line, when the code is known.
    place: Option<(String, u32)>,
}

/// The frames, shared by every profile, each once.
#[derive(Default)]
struct Frames {
    list: Vec<Frame>,
    index: FxHashMap<Frame, u32>,
}

impl Frames {
    /// The index of `frame`, added if new.
    fn intern(&mut self, frame: Frame) -> u32 {
        if let Some(&index) = self.index.get(&frame) {
            return index;
        }
        let index = u32::try_from(self.list.len()).unwrap_or(u32::MAX);
        self.list.push(frame.clone());
        self.index.insert(frame, index);
        index
    }
}

/// One process's codes mapped to frames, as they are first used.
struct ProcessFrames<'t> {
    codes: Codes<'t>,
    /// By table position.
    known: Vec<Option<u32>>,
    /// By id, codes missing from the table (at most [`MISSING_FRAMES`]).
    missing: FxHashMap<u32, u32>,
}

impl<'t> ProcessFrames<'t> {
    fn new(trace: &'t Trace) -> ProcessFrames<'t> {
        let codes = Codes::new(trace);
        ProcessFrames {
            known: vec![None; codes.len()],
            codes,
            missing: FxHashMap::default(),
        }
    }

    /// The frame of `code`.
    fn frame(&mut self, frames: &mut Frames, code: u32) -> u32 {
        let Some(position) = self.codes.position(code) else {
            if let Some(&frame) = self.missing.get(&code) {
                return frame;
            }
            if self.missing.len() >= MISSING_FRAMES {
                return frames.intern(Frame {
                    name: "<code ?>".into(),
                    place: None,
                });
            }
            let frame = frames.intern(Frame {
                name: unknown_code(code),
                place: None,
            });
            self.missing.insert(code, frame);
            return frame;
        };
        if let Some(Some(frame)) = self.known.get(position) {
            return *frame;
        }
        let place = self
            .codes
            .at(position)
            .map(|info| (info.filename.clone(), info.first_line));
        let frame = frames.intern(Frame {
            name: self.codes.label_at(position).to_string(),
            place,
        });
        if let Some(slot) = self.known.get_mut(position) {
            *slot = Some(frame);
        }
        frame
    }
}

/// One thread's profile being written: its open frames and last timestamp.
struct Track {
    thread: u32,
    /// The frames of the open activations, innermost last.
    stack: Vec<u32>,
    /// The last timestamp written (never decreasing).
    last: u64,
    /// The first and the last `at` written, once one is.
    span: Option<(u64, u64)>,
}

impl Track {
    fn new(thread: u32) -> Track {
        Track {
            thread,
            stack: Vec::new(),
            last: 0,
            span: None,
        }
    }

    /// `t`, clamped so that it never goes back on the thread.
    fn clamp(&mut self, t: u64) -> u64 {
        self.last = self.last.max(t);
        self.last
    }
}

/// Writes the file: the header, the profiles one by one, then the frames.
struct Writer<W> {
    out: W,
    frames: Frames,
    /// Whether a profile has been written.
    any_profile: bool,
}

impl<W: Write> Writer<W> {
    /// Writes everything before the first profile.
    fn start(mut out: W, header: &TraceHeader) -> io::Result<Writer<W>> {
        out.write_all(b"{\"$schema\":")?;
        scalar(&mut out, SCHEMA)?;
        out.write_all(b",\"activeProfileIndex\":0,\"exporter\":")?;
        scalar(
            &mut out,
            &format!("tracesieve {}", env!("CARGO_PKG_VERSION")),
        )?;
        out.write_all(b",\"name\":")?;
        scalar(&mut out, &process_label(header))?;
        out.write_all(b",\"profiles\":[")?;
        Ok(Writer {
            out,
            frames: Frames::default(),
            any_profile: false,
        })
    }

    /// Writes the profiles of one trace: one per thread with activations,
    /// reading `events` once per such thread.
    fn process(
        &mut self,
        trace: &Trace,
        names: &[(u32, &str)],
        events: &mut dyn Rereadable,
        process: Process,
    ) -> Result<(), ReadError> {
        let program = profile_program(&trace.header);
        let mut codes = ProcessFrames::new(trace);
        // The first pass writes the first thread's profile, and learns the
        // other threads (in the order of their first activations) and the
        // process's last timestamp.
        let mut threads: Vec<u32> = Vec::new();
        let mut seen: FxHashSet<u32> = FxHashSet::default();
        let mut end = 0u64;
        let mut first: Option<Track> = None;
        events.read_events(&mut |event| {
            end = end.max(event.time());
            let thread = event.thread();
            if is_activation(event) && seen.insert(thread) {
                threads.push(thread);
                if first.is_none() {
                    self.open_profile(&program, Some(&thread_label(names, thread)))?;
                    first = Some(Track::new(thread));
                }
            }
            match &mut first {
                Some(track) if track.thread == thread => {
                    self.event(track, &mut codes, event, process)
                }
                _ => Ok(()),
            }
        })?;
        let Some(first) = first else {
            // No activation: one empty profile, so that the process shows.
            self.open_profile(&program, None)?;
            return Ok(self.close_profile(Track::new(0), process, end)?);
        };
        self.close_profile(first, process, end)?;
        for &thread in threads.iter().skip(1) {
            self.open_profile(&program, Some(&thread_label(names, thread)))?;
            let mut track = Track::new(thread);
            events.read_events(&mut |event| {
                if event.thread() == thread {
                    self.event(&mut track, &mut codes, event, process)
                } else {
                    Ok(())
                }
            })?;
            self.close_profile(track, process, end)?;
        }
        Ok(())
    }

    /// Writes a profile up to its first event.
    fn open_profile(&mut self, program: &str, thread: Option<&str>) -> io::Result<()> {
        let name = match thread {
            Some(thread) => format!("{program} · {thread}"),
            None => program.to_string(),
        };
        if self.any_profile {
            self.out.write_all(b",")?;
        }
        self.any_profile = true;
        self.out.write_all(b"{\"type\":\"evented\",\"name\":")?;
        scalar(&mut self.out, &name)?;
        self.out
            .write_all(b",\"unit\":\"nanoseconds\",\"events\":[")
    }

    /// Closes what the thread left open, innermost first, at `end`, then
    /// the profile: it spans the thread's first to last event (an empty
    /// one, the process).
    fn close_profile(&mut self, mut track: Track, process: Process, end: u64) -> io::Result<()> {
        while let Some(frame) = track.stack.pop() {
            self.frame_event(&mut track, b'C', frame, process.offset_ns + end)?;
        }
        let (start, end) = track
            .span
            .unwrap_or((process.offset_ns, process.offset_ns + end));
        write!(self.out, "],\"startValue\":{start},\"endValue\":{end}}}")
    }

    /// Writes what `event` of the track's thread does to its frames.
    fn event(
        &mut self,
        track: &mut Track,
        codes: &mut ProcessFrames<'_>,
        event: &Event,
        process: Process,
    ) -> Result<(), ReadError> {
        match event {
            Event::Call { t, code, .. }
            | Event::Resume { t, code, .. }
            | Event::Throw { t, code, .. } => {
                let frame = codes.frame(&mut self.frames, *code);
                let at = process.offset_ns + track.clamp(*t);
                track.stack.push(frame);
                self.frame_event(track, b'O', frame, at)?;
            }
            Event::Return { t, .. } | Event::Yield { t, .. } | Event::Unwind { t, .. } => {
                if let Some(frame) = track.stack.pop() {
                    let at = process.offset_ns + track.clamp(*t);
                    self.frame_event(track, b'C', frame, at)?;
                }
            }
            Event::ThreadStart { .. } | Event::Line { .. } | Event::Raise { .. } => {}
        }
        Ok(())
    }

    /// Writes one `O` or `C` event of the track.
    fn frame_event(&mut self, track: &mut Track, kind: u8, frame: u32, at: u64) -> io::Result<()> {
        match &mut track.span {
            Some((_, last)) => {
                *last = at;
                self.out.write_all(b",")?;
            }
            None => track.span = Some((at, at)),
        }
        self.out.write_all(b"{\"type\":\"")?;
        self.out.write_all(&[kind])?;
        write!(self.out, "\",\"frame\":{frame},\"at\":{at}}}")
    }

    /// Writes the frames and everything after, and flushes.
    fn end(mut self) -> io::Result<()> {
        self.out.write_all(b"],\"shared\":{\"frames\":[")?;
        for (i, frame) in self.frames.list.iter().enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            self.out.write_all(b"{\"name\":")?;
            scalar(&mut self.out, &frame.name)?;
            if let Some((file, line)) = &frame.place {
                self.out.write_all(b",\"file\":")?;
                scalar(&mut self.out, file)?;
                write!(self.out, ",\"line\":{line}")?;
            }
            self.out.write_all(b"}")?;
        }
        self.out.write_all(b"]}}")?;
        self.out.flush()
    }
}

/// Whether `event` opens a frame.
fn is_activation(event: &Event) -> bool {
    matches!(
        event,
        Event::Call { .. } | Event::Resume { .. } | Event::Throw { .. }
    )
}

/// The thread's name from its first `thread_start`, else `thread N`.
fn thread_label(names: &[(u32, &str)], thread: u32) -> String {
    match names.iter().find(|(t, _)| *t == thread) {
        Some((_, name)) => (*name).to_string(),
        None => format!("thread {thread}"),
    }
}

/// The program part of a profile's name: `argv`, with the pid and how a
/// child started when the trace has a process record.
fn profile_program(header: &TraceHeader) -> String {
    let argv = header.argv.join(" ");
    match &header.process {
        Some(p) if p.started == crate::trace::model::ProcessStart::Program => {
            format!("{argv} (pid {})", p.pid)
        }
        Some(p) => format!("{argv} (pid {}, {})", p.pid, p.started.word()),
        None => argv,
    }
}

/// A string or number, as serde_json writes it.
fn scalar<W: Write, T: Serialize + ?Sized>(out: &mut W, value: &T) -> io::Result<()> {
    Ok(serde_json::to_writer(out, value)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::export::failing_sink::FailingAfter;
    use crate::trace::model::{ProcessStart, Slot};
    use crate::trace::refilter::testkit::{int, TraceBuilder};
    use crate::trace::stream::read_tables;
    use crate::trace::{read_trace, write_trace, ProcessInfo, TraceWriter};
    use serde_json::Value as Json;
    use std::cell::Cell;
    use std::io::Cursor;
    use std::rc::Rc;

    /// Two threads, a generator resumed, an exception unwinding.
    fn sample() -> TraceBuilder {
        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        let g = b.code("/p/app/m.py", "gen", 9, Some("app.m"));
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        b.thread(1, "worker");
        b.call(1, f, &[("n", int(1))]);
        b.call(0, g, &[]);
        b.yield_(0, int(1));
        b.raise(1, 4, int(1));
        b.unwind(1, Slot::Redacted);
        b.resume(0, g);
        b.ret(0, int(2));
        b
    }

    /// Checks the file's shape, and per profile that frames open and close
    /// as a stack and `at` never decreases within [startValue, endValue];
    /// returns each profile's name and the frame names it opened.
    fn check(json: &Json) -> Vec<(String, Vec<String>)> {
        assert_eq!(json["$schema"], SCHEMA);
        let frames = json["shared"]["frames"].as_array().expect("frames");
        let mut out = Vec::new();
        for profile in json["profiles"].as_array().expect("profiles") {
            assert_eq!(profile["type"], "evented");
            assert_eq!(profile["unit"], "nanoseconds");
            let start = profile["startValue"].as_u64().expect("startValue");
            let end = profile["endValue"].as_u64().expect("endValue");
            let mut last = start;
            let mut stack = Vec::new();
            let mut opened = Vec::new();
            for event in profile["events"].as_array().expect("events") {
                let at = event["at"].as_u64().expect("at");
                let frame = event["frame"].as_u64().expect("frame");
                assert!(at >= last && at <= end, "{at} after {last}, by {end}");
                last = at;
                let name = frames[frame as usize]["name"].as_str().expect("name");
                match event["type"].as_str() {
                    Some("O") => {
                        stack.push(frame);
                        opened.push(name.to_string());
                    }
                    Some("C") => assert_eq!(stack.pop(), Some(frame), "closes the top"),
                    other => panic!("event type {other:?}"),
                }
            }
            assert!(stack.is_empty(), "every frame closed");
            out.push((profile["name"].as_str().expect("name").to_string(), opened));
        }
        out
    }

    /// A rereadable trace file that counts its reads.
    fn reopening(bytes: &[u8], reads: Rc<Cell<usize>>) -> Box<dyn Rereadable> {
        let bytes = bytes.to_vec();
        Box::new(Reopen(move || {
            reads.set(reads.get() + 1);
            EventStream::open(Cursor::new(bytes.clone()))
        }))
    }

    /// `write_speedscope` of the file of `trace`, and how many times it
    /// read the events.
    fn streamed(bytes: &[u8]) -> (String, usize) {
        let tables = read_tables(Cursor::new(bytes)).expect("tables");
        let reads = Rc::new(Cell::new(0));
        let mut events = reopening(bytes, reads.clone());
        let mut out = Vec::new();
        write_speedscope(&tables, &mut *events, &mut out).expect("writes");
        (String::from_utf8(out).expect("UTF-8"), reads.get())
    }

    /// The streamed export equals the in-memory one of the trace read back.
    fn assert_identical(trace: &Trace) -> Json {
        let bytes = write_trace(trace);
        let (text, _) = streamed(&bytes);
        let read = read_trace(&bytes).expect("reads").trace;
        assert_eq!(text, to_speedscope(&read), "streamed vs. in memory");
        serde_json::from_str(&text).expect("valid JSON")
    }

    #[test]
    fn a_profile_per_thread_with_named_frames() {
        let mut b = sample();
        b.ret(0, int(0));
        let json = assert_identical(&b.finish());
        assert_eq!(json["name"], "/p/app/m.py --flag");
        let profiles = check(&json);
        let names: Vec<&str> = profiles.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "/p/app/m.py --flag · MainThread",
                "/p/app/m.py --flag · worker"
            ]
        );
        assert_eq!(profiles[0].1, ["<app.m>", "gen", "gen"]);
        assert_eq!(profiles[1].1, ["f"]);
        // Each profile spans its thread's first to last event.
        for profile in json["profiles"].as_array().unwrap() {
            let events = profile["events"].as_array().unwrap();
            assert_eq!(profile["startValue"], events[0]["at"]);
            assert_eq!(profile["endValue"], events[events.len() - 1]["at"]);
        }
        let frames = json["shared"]["frames"].as_array().unwrap();
        assert_eq!(frames.len(), 3, "each code once");
        let f = frames.iter().find(|f| f["name"] == "f").unwrap();
        assert_eq!(f["file"], "/p/app/m.py");
        assert_eq!(f["line"], 3);
    }

    #[test]
    fn a_trace_is_read_once_per_thread() {
        let mut b = sample();
        b.call(2, 1, &[]);
        b.ret(0, int(0));
        let bytes = write_trace(&b.finish());
        let (text, reads) = streamed(&bytes);
        assert_eq!(reads, 3);
        let json: Json = serde_json::from_str(&text).unwrap();
        let profiles = check(&json);
        assert_eq!(profiles[2].0, "/p/app/m.py --flag · thread 2");
    }

    #[test]
    fn a_cut_short_trace_is_closed_at_its_last_timestamp() {
        let mut b = sample();
        b.call(1, 1, &[]);
        b.call(1, 1, &[]);
        let mut trace = b.truncated();
        // A damaged timestamp, earlier than the thread's previous event.
        if let Some(Event::Call { t, .. }) = trace.events.last_mut() {
            *t = 1;
        }
        let last = trace.events.iter().map(Event::time).max().unwrap();
        let json = assert_identical(&trace);
        let profiles = check(&json);
        assert_eq!(profiles[1].1, ["f", "f", "f"]);
        for profile in json["profiles"].as_array().unwrap() {
            assert_eq!(profile["endValue"], last);
            let events = profile["events"].as_array().unwrap();
            assert_eq!(events.last().unwrap()["at"], last);
        }
    }

    #[test]
    fn a_trace_without_activations_has_one_empty_profile() {
        for trace in [
            TraceBuilder::new().finish(),
            TraceBuilder::new().truncated(),
        ] {
            let json = assert_identical(&trace);
            assert_eq!(check(&json), [("/p/app/m.py --flag".to_string(), vec![])]);
            assert_eq!(json["shared"]["frames"], serde_json::json!([]));
        }
        let mut b = TraceBuilder::new();
        b.thread(0, "MainThread");
        b.ret(0, int(1));
        let json = assert_identical(&b.finish());
        assert_eq!(check(&json).len(), 1, "an exit without a call is left out");
    }

    #[test]
    fn codes_missing_from_the_table_are_named_by_id() {
        let mut b = sample();
        b.ret(0, int(0));
        let mut trace = b.finish();
        for id in [40, 41, 40] {
            trace.events.push(Event::Call {
                thread: 0,
                t: 99_000,
                code: id,
                args: Vec::new(),
            });
        }
        let json = serde_json::from_str(&to_speedscope(&trace)).unwrap();
        let profiles = check(&json);
        assert_eq!(&profiles[0].1[3..], ["<code 40>", "<code 41>", "<code 40>"]);
        let frames = json["shared"]["frames"].as_array().unwrap();
        assert_eq!(frames.len(), 5);
        assert!(frames.contains(&serde_json::json!({"name": "<code 40>"})));
        // Past the limit, further ids share one frame.
        let mut many = trace.clone();
        many.events.extend(
            (1000..1000 + MISSING_FRAMES as u32 + 5).map(|code| Event::Call {
                thread: 0,
                t: 99_000,
                code,
                args: Vec::new(),
            }),
        );
        let json: Json = serde_json::from_str(&to_speedscope(&many)).unwrap();
        let frames = json["shared"]["frames"].as_array().unwrap();
        assert_eq!(frames.len(), 3 + MISSING_FRAMES + 1);
        let shared: Vec<&Json> = frames.iter().filter(|f| f["name"] == "<code ?>").collect();
        assert_eq!(shared.len(), 1);
        check(&json);
    }

    #[test]
    fn a_long_trace_over_many_chunks_streams_identically() {
        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        for thread in 0..3 {
            b.thread(thread, &format!("T{thread}"));
            b.call(thread, main, &[]);
        }
        for i in 0..6_000 {
            b.call(i % 3, f, &[("i", int(i64::from(i)))]);
            b.ret(i % 3, int(0));
        }
        let trace = b.truncated();
        let mut writer =
            TraceWriter::with_chunk_bytes(Vec::new(), &trace.header, 4 << 10).expect("header");
        writer.tables(&trace).expect("tables");
        for event in &trace.events {
            writer.event(event).expect("event");
        }
        let bytes = writer.into_inner().expect("flushed");
        let (text, reads) = streamed(&bytes);
        assert_eq!(reads, 3);
        let read = read_trace(&bytes).expect("reads").trace;
        assert_eq!(text, to_speedscope(&read));
        let profiles = check(&serde_json::from_str(&text).unwrap());
        assert!(profiles.iter().all(|(_, opened)| opened.len() == 2_001));
    }

    #[test]
    fn a_set_gives_each_process_its_profiles_on_the_first_ones_clock() {
        let mut first = sample();
        first.ret(0, int(0));
        let mut first = first.finish();
        first.header.process = Some(ProcessInfo {
            pid: 4241,
            parent: 1,
            started: ProcessStart::Program,
        });
        let mut child = first.clone();
        child.header.start_unix_ms += 5;
        child.header.process = Some(ProcessInfo {
            pid: 4242,
            parent: 4241,
            started: ProcessStart::Fork,
        });
        let (first_bytes, child_bytes) = (write_trace(&first), write_trace(&child));
        let tables = read_tables(Cursor::new(&first_bytes)).expect("tables");
        let reads = Rc::new(Cell::new(0));
        let mut events = reopening(&first_bytes, reads.clone());
        let child_tables = read_tables(Cursor::new(&child_bytes)).expect("tables");
        let mut rest = vec![Ok((child_tables, reopening(&child_bytes, reads.clone())))].into_iter();
        let mut out = Vec::new();
        write_speedscope_set((&tables, &mut *events), || rest.next(), &mut out).expect("writes");
        assert_eq!(reads.get(), 4, "two threads in each");
        let json: Json = serde_json::from_slice(&out).expect("valid JSON");
        let names: Vec<String> = check(&json).into_iter().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                "/p/app/m.py --flag (pid 4241) · MainThread",
                "/p/app/m.py --flag (pid 4241) · worker",
                "/p/app/m.py --flag (pid 4242, fork) · MainThread",
                "/p/app/m.py --flag (pid 4242, fork) · worker",
            ]
        );
        assert_eq!(
            json["shared"]["frames"].as_array().unwrap().len(),
            3,
            "shared"
        );
        let profiles = json["profiles"].as_array().unwrap();
        assert_eq!(
            profiles[2]["startValue"].as_u64().unwrap(),
            profiles[0]["startValue"].as_u64().unwrap() + 5_000_000
        );
        let ats = |p: &Json| -> Vec<u64> {
            p["events"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["at"].as_u64().unwrap())
                .collect()
        };
        let shifted: Vec<u64> = ats(&profiles[0]).iter().map(|at| at + 5_000_000).collect();
        assert_eq!(ats(&profiles[2]), shifted);
    }

    #[test]
    fn write_and_read_errors_are_errors() {
        let mut b = sample();
        b.ret(0, int(0));
        let bytes = write_trace(&b.finish());
        let full = streamed(&bytes).0.len();
        let tables = read_tables(Cursor::new(&bytes)).expect("tables");
        for left in [0, 10, full / 2, full - 1] {
            let mut events = reopening(&bytes, Rc::default());
            let result = write_speedscope(&tables, &mut *events, FailingAfter { left });
            assert!(
                matches!(result, Err(ReadError::Io(_))),
                "{left}: {result:?}"
            );
        }
        let mut events = reopening(&bytes, Rc::default());
        write_speedscope(&tables, &mut *events, FailingAfter { left: full }).expect("fits");
        // A second read that fails (the file went away) is an error too.
        let reads = Rc::new(Cell::new(0));
        let copy = bytes.clone();
        let mut events = Reopen(move || {
            reads.set(reads.get() + 1);
            if reads.get() > 1 {
                return Err(ReadError::Io(io::Error::other("gone")));
            }
            EventStream::open(Cursor::new(copy.clone()))
        });
        let result = write_speedscope(&tables, &mut events, Vec::new());
        assert!(matches!(result, Err(ReadError::Io(_))), "{result:?}");
    }
}
