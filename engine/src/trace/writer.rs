//! Writes trace files, streaming, in the format described in
//! [`super::codec`].
//!
//! [`TraceWriter`] appends records to an in-memory buffer and writes it out
//! as a compressed chunk whenever it passes the chunk size, so memory stays
//! bounded however long the recording runs: only the table of interned
//! names and the set of code ids grow, with the number of distinct ones.
//! Records are validated as they are written (a code object is defined
//! once, events name defined code objects, resolver inputs name what was
//! already written), so the writer never produces a file its reader
//! rejects; an invalid record is refused with [`io::ErrorKind::InvalidInput`]
//! and leaves the writer as it was.

use super::codec::{self, put_bytes, put_sv, put_uv, tag, CHUNK_HEADER_BYTES, MAGIC};
use super::model::{
    CodeInfo, Event, SequenceKind, Slot, SourceFile, Trace, TraceHeader, Trailer, Value, Var,
    FORMAT_VERSION,
};
use crate::explain::ValueKind;
use crate::identity::ModuleFile;
use rustc_hash::{FxHashMap, FxHashSet};
use std::io::{self, Write};

/// A streaming trace writer over any byte sink.
///
/// Dropping the writer without [`TraceWriter::finish`] or
/// [`TraceWriter::flush`] loses the buffered records (at most about one
/// chunk); what was already written stays readable.
pub struct TraceWriter<W: Write> {
    sink: W,
    /// Records of the open chunk.
    buf: Vec<u8>,
    /// The record being encoded (its string definitions go to `buf` first).
    rec: Vec<u8>,
    /// The compressed chunk being written.
    out: Vec<u8>,
    strings: FxHashMap<Box<str>, u32>,
    codes: FxHashSet<u32>,
    sys_paths: u64,
    modules: u64,
    markers: u64,
    prev_t: u64,
    prev_thread: u32,
    chunk_bytes: usize,
    bytes_written: u64,
    chunks_written: u64,
    broken: bool,
}

impl<W: Write> TraceWriter<W> {
    /// Starts a trace: writes the magic number, the format version and a
    /// first chunk holding only the header, and flushes the sink.
    pub fn new(sink: W, header: &TraceHeader) -> io::Result<TraceWriter<W>> {
        TraceWriter::with_chunk_bytes(sink, header, codec::DEFAULT_CHUNK_BYTES)
    }

    /// Like [`TraceWriter::new`], sealing chunks once they hold `chunk_bytes`
    /// of records (clamped to 1 byte .. 8 MiB; the default is 64 KiB).
    pub fn with_chunk_bytes(
        mut sink: W,
        header: &TraceHeader,
        chunk_bytes: usize,
    ) -> io::Result<TraceWriter<W>> {
        let json = serde_json::to_vec(header)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut preamble = [0u8; codec::PREAMBLE_BYTES];
        preamble[..8].copy_from_slice(&MAGIC);
        preamble[8..10].copy_from_slice(&FORMAT_VERSION.major.to_le_bytes());
        preamble[10..12].copy_from_slice(&FORMAT_VERSION.minor.to_le_bytes());
        sink.write_all(&preamble)?;
        let mut writer = TraceWriter {
            sink,
            buf: Vec::with_capacity(chunk_bytes.clamp(64, codec::DEFAULT_CHUNK_BYTES) + 1024),
            rec: Vec::with_capacity(256),
            out: Vec::new(),
            strings: FxHashMap::default(),
            codes: FxHashSet::default(),
            sys_paths: 0,
            modules: 0,
            markers: 0,
            prev_t: 0,
            prev_thread: 0,
            chunk_bytes: chunk_bytes.clamp(1, codec::MAX_CHUNK_BYTES - codec::MAX_RECORD_BYTES),
            bytes_written: codec::PREAMBLE_BYTES as u64,
            chunks_written: 0,
            broken: false,
        };
        writer.record(|enc| {
            enc.rec.push(tag::HEADER);
            put_bytes(enc.rec, &json);
            Ok(())
        })?;
        writer.flush()?;
        Ok(writer)
    }

    /// Appends a version of `sys.path` (the first one is the one at start).
    pub fn sys_path(&mut self, entries: &[String]) -> io::Result<()> {
        self.record(|enc| {
            enc.rec.push(tag::SYS_PATH);
            put_uv(enc.rec, entries.len() as u64);
            for entry in entries {
                enc.sid(entry)?;
            }
            Ok(())
        })?;
        self.sys_paths += 1;
        Ok(())
    }

    /// Appends a `sys.modules` entry with a file.
    pub fn module(&mut self, m: &ModuleFile) -> io::Result<()> {
        self.record(|enc| {
            enc.rec.push(tag::MODULE);
            enc.sid(&m.name)?;
            enc.sid(&m.path)
        })?;
        self.modules += 1;
        Ok(())
    }

    /// Appends a directory holding a project marker.
    pub fn marker(&mut self, dir: &str) -> io::Result<()> {
        self.record(|enc| {
            enc.rec.push(tag::MARKER);
            enc.sid(dir)
        })?;
        self.markers += 1;
        Ok(())
    }

    /// Appends an embedded source file.
    pub fn source(&mut self, s: &SourceFile) -> io::Result<()> {
        self.record(|enc| {
            enc.rec.push(tag::SOURCE);
            enc.sid(&s.path)?;
            put_ostr(enc.rec, s.text.as_deref());
            put_ostr(enc.rec, s.omitted.as_deref());
            Ok(())
        })
    }

    /// Appends a code object. Its id must be new, and its resolver inputs
    /// must count only `sys.path` versions, modules and markers already
    /// written.
    pub fn code(&mut self, c: &CodeInfo) -> io::Result<()> {
        if self.codes.contains(&c.id) {
            return Err(invalid(format!("code object {} is written twice", c.id)));
        }
        let at = c.inputs;
        let sys_path_ok =
            u64::from(at.sys_path) < self.sys_paths || (at.sys_path == 0 && self.sys_paths == 0);
        if !sys_path_ok
            || u64::from(at.modules) > self.modules
            || u64::from(at.markers) > self.markers
        {
            return Err(invalid(format!(
                "code object {} refers to resolver inputs not written yet \
                 (sys_path {}, modules {}, markers {}; written: {} sys.path versions, {} modules, {} markers)",
                c.id, at.sys_path, at.modules, at.markers, self.sys_paths, self.modules, self.markers
            )));
        }
        self.record(|enc| {
            enc.rec.push(tag::CODE);
            put_uv(enc.rec, u64::from(c.id));
            enc.sid(&c.filename)?;
            enc.sid(&c.qualname)?;
            put_uv(enc.rec, u64::from(c.first_line));
            enc.osid(c.dunder_name.as_deref())?;
            put_uv(enc.rec, u64::from(at.sys_path));
            put_uv(enc.rec, u64::from(at.modules));
            put_uv(enc.rec, u64::from(at.markers));
            Ok(())
        })?;
        self.codes.insert(c.id);
        Ok(())
    }

    /// Appends an event. Call, Resume and Throw must name a code object
    /// already written.
    pub fn event(&mut self, e: &Event) -> io::Result<()> {
        if let Event::Call { code, .. } | Event::Resume { code, .. } | Event::Throw { code, .. } = e
        {
            if !self.codes.contains(code) {
                return Err(invalid(format!(
                    "an event refers to code object {code}, which was not written"
                )));
            }
        }
        let thread = e.thread();
        let t = e.time();
        let (prev_t, prev_thread) = (self.prev_t, self.prev_thread);
        self.record(|enc| {
            let (kind, list) = match e {
                Event::ThreadStart { .. } => (tag::EV_THREAD_START, false),
                Event::Call { args, .. } => (tag::EV_CALL, !args.is_empty()),
                Event::Resume { .. } => (tag::EV_RESUME, false),
                Event::Throw { .. } => (tag::EV_THROW, false),
                Event::Line { vars, .. } => (tag::EV_LINE, !vars.is_empty()),
                Event::Return { .. } => (tag::EV_RETURN, false),
                Event::Yield { .. } => (tag::EV_YIELD, false),
                Event::Unwind { .. } => (tag::EV_UNWIND, false),
                Event::Raise { .. } => (tag::EV_RAISE, false),
            };
            let mut tg = tag::EVENT | kind;
            if thread != prev_thread {
                tg |= tag::EV_THREAD;
            }
            if list {
                tg |= tag::EV_LIST;
            }
            let dt = if t >= prev_t {
                t - prev_t
            } else {
                tg |= tag::EV_BACK;
                prev_t - t
            };
            enc.rec.push(tg);
            if thread != prev_thread {
                put_uv(enc.rec, u64::from(thread));
            }
            put_uv(enc.rec, dt);
            match e {
                Event::ThreadStart { name, .. } => enc.sid(name),
                Event::Call { code, args, .. } => {
                    put_uv(enc.rec, u64::from(*code));
                    enc.vars(args)
                }
                Event::Resume { code, .. } => {
                    put_uv(enc.rec, u64::from(*code));
                    Ok(())
                }
                Event::Throw {
                    code, exception, ..
                } => {
                    put_uv(enc.rec, u64::from(*code));
                    enc.slot(exception, 1)
                }
                Event::Line { line, vars, .. } => {
                    put_uv(enc.rec, u64::from(*line));
                    enc.vars(vars)
                }
                Event::Return { value, .. }
                | Event::Yield { value, .. }
                | Event::Unwind { value, .. } => enc.slot(value, 1),
                Event::Raise {
                    line, exception, ..
                } => {
                    put_uv(enc.rec, u64::from(*line));
                    enc.slot(exception, 1)
                }
            }
        })?;
        self.prev_t = t;
        self.prev_thread = thread;
        Ok(())
    }

    /// Bytes of records waiting in the open chunk (uncompressed).
    pub fn buffered_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Bytes written to the sink so far.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written
    }

    /// Chunks written to the sink so far (the header chunk included).
    pub fn chunks_written(&self) -> u64 {
        self.chunks_written
    }

    /// The sink.
    pub fn get_ref(&self) -> &W {
        &self.sink
    }

    /// Seals the buffered records into a chunk, writes it and flushes the
    /// sink. Everything written so far is then readable.
    pub fn flush(&mut self) -> io::Result<()> {
        self.seal()?;
        self.sink.flush().inspect_err(|_| self.broken = true)
    }

    /// Writes the tables of `trace` (its `sys.path` versions, modules,
    /// markers, sources and code objects, in that order), not its events:
    /// what a whole trace holds before its first event.
    pub fn tables(&mut self, trace: &Trace) -> io::Result<()> {
        for entries in &trace.sys_paths {
            self.sys_path(entries)?;
        }
        for m in &trace.modules {
            self.module(m)?;
        }
        for dir in &trace.markers {
            self.marker(dir)?;
        }
        for source in &trace.sources {
            self.source(source)?;
        }
        for code in &trace.codes {
            self.code(code)?;
        }
        Ok(())
    }

    /// Ends the trace with its trailer, writes everything, flushes and
    /// returns the sink.
    pub fn finish(mut self, trailer: &Trailer) -> io::Result<W> {
        let json = serde_json::to_vec(trailer)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.record(|enc| {
            enc.rec.push(tag::TRAILER);
            put_bytes(enc.rec, &json);
            Ok(())
        })?;
        self.flush()?;
        Ok(self.sink)
    }

    /// The sink, without sealing the open chunk or flushing: for a writer
    /// that must not write another byte (a forked child's copy of its
    /// parent's recording). Buffered records are dropped.
    pub fn into_sink_unsealed(self) -> W {
        self.sink
    }

    /// Writes the buffered records, flushes and returns the sink, without a
    /// trailer: the file reads as a recording that ended early.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.flush()?;
        Ok(self.sink)
    }

    /// Encodes one record (after the string definitions it needs) into the
    /// open chunk, or leaves everything as it was if encoding fails.
    fn record(&mut self, encode: impl FnOnce(&mut Enc<'_>) -> io::Result<()>) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other(
                "the trace writer failed earlier and writes no more",
            ));
        }
        let mark_buf = self.buf.len();
        let mark_strings = self.strings.len();
        self.rec.clear();
        let result = encode(&mut Enc {
            rec: &mut self.rec,
            defs: &mut self.buf,
            strings: &mut self.strings,
        });
        let size = self.buf.len() - mark_buf + self.rec.len();
        let result = result.and_then(|()| {
            if size > codec::MAX_RECORD_BYTES {
                Err(invalid(format!(
                    "a record of {size} bytes is larger than the {} bytes a record may hold",
                    codec::MAX_RECORD_BYTES
                )))
            } else {
                Ok(())
            }
        });
        if let Err(e) = result {
            self.buf.truncate(mark_buf);
            if self.strings.len() > mark_strings {
                let keep = mark_strings as u64;
                self.strings.retain(|_, id| u64::from(*id) < keep);
            }
            return Err(e);
        }
        self.buf.extend_from_slice(&self.rec);
        if self.buf.len() >= self.chunk_bytes {
            self.seal()?;
        }
        Ok(())
    }

    /// Compresses the open chunk and writes it.
    fn seal(&mut self) -> io::Result<()> {
        if self.broken {
            return Err(io::Error::other(
                "the trace writer failed earlier and writes no more",
            ));
        }
        if self.buf.is_empty() {
            return Ok(());
        }
        let len = self.buf.len();
        let need = CHUNK_HEADER_BYTES + codec::max_compressed_bytes(len);
        if self.out.len() < need {
            self.out.resize(need, 0);
        }
        let (head, body) = self.out.split_at_mut(CHUNK_HEADER_BYTES);
        let n = lz4_flex::block::compress_into(&self.buf, body)
            .map_err(|e| io::Error::other(format!("compressing a trace chunk failed: {e}")))?;
        let compressed = body
            .get(..n)
            .ok_or_else(|| io::Error::other("bad compressed size"))?;
        let crc = crc32fast::hash(compressed);
        head[0..4].copy_from_slice(&(n as u32).to_le_bytes());
        head[4..8].copy_from_slice(&(len as u32).to_le_bytes());
        head[8..12].copy_from_slice(&crc.to_le_bytes());
        let total = CHUNK_HEADER_BYTES + n;
        if let Err(e) = self.sink.write_all(&self.out[..total]) {
            self.broken = true;
            return Err(e);
        }
        self.bytes_written += total as u64;
        self.chunks_written += 1;
        self.buf.clear();
        // Give back the memory a very large record took.
        let keep = self.chunk_bytes.saturating_mul(2).max(1 << 20);
        if self.buf.capacity() > keep {
            self.buf.shrink_to(keep);
        }
        if self.out.capacity() > keep {
            self.out.truncate(0);
            self.out.shrink_to(keep);
        }
        if self.rec.capacity() > keep {
            self.rec.shrink_to(keep);
        }
        Ok(())
    }
}

/// An error for a record the format cannot hold.
fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

/// Appends an optional inline string.
fn put_ostr(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => put_uv(buf, 0),
        Some(s) => {
            put_uv(buf, s.len() as u64 + 1);
            buf.extend_from_slice(s.as_bytes());
        }
    }
}

/// The encoder of one record.
struct Enc<'a> {
    rec: &'a mut Vec<u8>,
    defs: &'a mut Vec<u8>,
    strings: &'a mut FxHashMap<Box<str>, u32>,
}

impl Enc<'_> {
    /// The id of `s`, defining it first if new.
    #[inline]
    fn intern(&mut self, s: &str) -> io::Result<u32> {
        if let Some(&id) = self.strings.get(s) {
            return Ok(id);
        }
        let id = u32::try_from(self.strings.len())
            .map_err(|_| invalid("more than 2^32 distinct names".to_owned()))?;
        self.defs.push(tag::STRING);
        put_bytes(self.defs, s.as_bytes());
        self.strings.insert(s.into(), id);
        Ok(id)
    }

    #[inline]
    fn sid(&mut self, s: &str) -> io::Result<()> {
        let id = self.intern(s)?;
        put_uv(self.rec, u64::from(id));
        Ok(())
    }

    fn osid(&mut self, s: Option<&str>) -> io::Result<()> {
        match s {
            None => put_uv(self.rec, 0),
            Some(s) => {
                let id = self.intern(s)?;
                put_uv(self.rec, u64::from(id) + 1);
            }
        }
        Ok(())
    }

    fn vars(&mut self, vars: &[Var]) -> io::Result<()> {
        if vars.is_empty() {
            return Ok(());
        }
        put_uv(self.rec, vars.len() as u64);
        for var in vars {
            let id = self.intern(&var.name)?;
            put_uv(self.rec, (u64::from(id) << 3) | kind_code(var.kind));
            self.slot(&var.value, 1)?;
        }
        Ok(())
    }

    fn slot(&mut self, slot: &Slot, depth: usize) -> io::Result<()> {
        match slot {
            Slot::Value { value } => self.value(value, depth),
            Slot::Redacted => {
                self.rec.push(tag::SLOT_REDACTED);
                Ok(())
            }
            Slot::Dropped => {
                self.rec.push(tag::SLOT_DROPPED);
                Ok(())
            }
            Slot::Absent => {
                self.rec.push(tag::SLOT_ABSENT);
                Ok(())
            }
        }
    }

    /// A value kind byte with its full length when it differs from `n`.
    fn head(&mut self, kind: u8, n: usize, length: u64) {
        if length == n as u64 {
            self.rec.push(kind);
            put_uv(self.rec, n as u64);
        } else {
            self.rec.push(kind | tag::VAL_CUT);
            put_uv(self.rec, n as u64);
            put_uv(self.rec, length);
        }
    }

    fn value(&mut self, value: &Value, depth: usize) -> io::Result<()> {
        if depth > codec::MAX_VALUE_DEPTH {
            return Err(invalid(format!(
                "a value nests deeper than {} levels",
                codec::MAX_VALUE_DEPTH
            )));
        }
        match value {
            Value::None => self.rec.push(tag::VAL_NONE),
            Value::Bool { value: false } => self.rec.push(tag::VAL_FALSE),
            Value::Bool { value: true } => self.rec.push(tag::VAL_TRUE),
            Value::Int { value } => {
                self.rec.push(tag::VAL_INT);
                put_sv(self.rec, *value);
            }
            Value::BigInt { digits } => {
                self.rec.push(tag::VAL_BIGINT);
                put_bytes(self.rec, digits.as_bytes());
            }
            Value::Float { value } => {
                self.rec.push(tag::VAL_FLOAT);
                self.rec.extend_from_slice(&value.to_bits().to_le_bytes());
            }
            Value::Str { value, length } => {
                self.head(tag::VAL_STR, value.len(), *length);
                self.rec.extend_from_slice(value.as_bytes());
            }
            Value::Bytes { value, length } => {
                self.head(tag::VAL_BYTES, value.len(), *length);
                self.rec.extend_from_slice(value);
            }
            Value::Sequence {
                kind,
                items,
                length,
            } => {
                let k = match kind {
                    SequenceKind::List => tag::VAL_LIST,
                    SequenceKind::Tuple => tag::VAL_TUPLE,
                    SequenceKind::Set => tag::VAL_SET,
                    SequenceKind::FrozenSet => tag::VAL_FROZENSET,
                };
                self.head(k, items.len(), *length);
                for item in items {
                    self.value(item, depth + 1)?;
                }
            }
            Value::Dict { entries, length } => {
                self.head(tag::VAL_DICT, entries.len(), *length);
                for (k, v) in entries {
                    self.value(k, depth + 1)?;
                    self.value(v, depth + 1)?;
                }
            }
            Value::Object {
                type_name,
                attrs,
                length,
            } => {
                let type_id = self.intern(type_name)?;
                let cut = *length != attrs.len() as u64;
                self.rec
                    .push(tag::VAL_OBJECT | if cut { tag::VAL_CUT } else { 0 });
                put_uv(self.rec, u64::from(type_id));
                put_uv(self.rec, attrs.len() as u64);
                if cut {
                    put_uv(self.rec, *length);
                }
                for attr in attrs {
                    self.sid(&attr.name)?;
                    self.slot(&attr.value, depth + 1)?;
                }
            }
            Value::Repr {
                type_name,
                text,
                length,
            } => {
                let type_id = self.intern(type_name)?;
                let cut = *length != text.len() as u64;
                self.rec
                    .push(tag::VAL_REPR | if cut { tag::VAL_CUT } else { 0 });
                put_uv(self.rec, u64::from(type_id));
                put_uv(self.rec, text.len() as u64);
                if cut {
                    put_uv(self.rec, *length);
                }
                self.rec.extend_from_slice(text.as_bytes());
            }
            Value::ReprError { type_name, message } => {
                self.rec.push(tag::VAL_REPR_ERROR);
                self.sid(type_name)?;
                put_bytes(self.rec, message.as_bytes());
            }
            Value::Deep { type_name } => {
                self.rec.push(tag::VAL_DEEP);
                self.sid(type_name)?;
            }
            Value::Cycle { type_name } => {
                self.rec.push(tag::VAL_CYCLE);
                self.sid(type_name)?;
            }
            Value::Redacted => self.rec.push(tag::VAL_REDACTED),
        }
        Ok(())
    }
}

/// The 3-bit code of a variable kind.
#[inline]
fn kind_code(kind: ValueKind) -> u64 {
    match kind {
        ValueKind::Arg => 0,
        ValueKind::Local => 1,
        ValueKind::Global => 2,
        ValueKind::Ret => 3,
        ValueKind::Attr => 4,
    }
}

/// Writes a whole trace, as [`try_write_trace`] does. A trace that breaks
/// the model's rules (an event naming an unknown code object, a code object
/// twice, a value nested too deep, …) is written up to the first offending
/// record, without a trailer, so that reading it back reports a truncation
/// rather than silently losing the rest.
pub fn write_trace(trace: &Trace) -> Vec<u8> {
    let mut writer = match TraceWriter::new(Vec::new(), &trace.header) {
        Ok(writer) => writer,
        Err(_) => return Vec::new(),
    };
    match write_body(&mut writer, trace) {
        Ok(()) => match &trace.trailer {
            Some(trailer) => writer.finish(trailer).unwrap_or_default(),
            None => writer.into_inner().unwrap_or_default(),
        },
        Err(_) => writer.into_inner().unwrap_or_default(),
    }
}

/// Writes a whole trace into memory: the header, the `sys.path` versions,
/// modules, markers, sources, code objects, events and (if any) the
/// trailer. Fails on a trace that breaks the model's rules.
pub fn try_write_trace(trace: &Trace) -> io::Result<Vec<u8>> {
    let mut writer = TraceWriter::new(Vec::new(), &trace.header)?;
    write_body(&mut writer, trace)?;
    match &trace.trailer {
        Some(trailer) => writer.finish(trailer),
        None => writer.into_inner(),
    }
}

fn write_body(writer: &mut TraceWriter<Vec<u8>>, trace: &Trace) -> io::Result<()> {
    writer.tables(trace)?;
    for event in &trace.events {
        writer.event(event)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::NamingMode;
    use crate::path::Platform;
    use crate::trace::model::{InputsAt, ValueBounds, ValuesMode};
    use crate::trace::reader::read_trace;

    fn header() -> TraceHeader {
        TraceHeader {
            recorder: "tracesieve test".into(),
            python: "3.11.7".into(),
            platform: Platform::Posix,
            argv: vec!["app.py".into()],
            cwd: "/proj".into(),
            start_unix_ms: 1,
            filters: Vec::new(),
            framework: None,
            naming: NamingMode::Globals,
            values: ValuesMode::All,
            bounds: ValueBounds::default(),
            repr: false,
            process: None,
        }
    }

    fn code(id: u32) -> CodeInfo {
        CodeInfo {
            id,
            filename: "/proj/app.py".into(),
            qualname: format!("f{id}"),
            first_line: 1,
            dunder_name: Some("app".into()),
            inputs: InputsAt::default(),
        }
    }

    #[test]
    fn calls_and_lines_cost_a_few_bytes() {
        let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
        for id in 0..100 {
            w.code(&code(id)).unwrap();
        }
        w.flush().unwrap();
        let mut t = 1_000_000u64;
        let mut sizes = Vec::new();
        for i in 0..1000u32 {
            t += 1_500 + u64::from(i % 7) * 1_000; // 1.5 µs .. 7.5 µs apart
            let before = w.buffered_bytes();
            w.event(&Event::Call {
                thread: 0,
                t,
                code: i % 100,
                args: Vec::new(),
            })
            .unwrap();
            let call = w.buffered_bytes() - before;
            t += 900;
            let before = w.buffered_bytes();
            w.event(&Event::Line {
                thread: 0,
                t,
                line: 1 + i % 120,
                vars: Vec::new(),
            })
            .unwrap();
            let line = w.buffered_bytes() - before;
            sizes.push((call, line));
        }
        // The first call carries the time since the recording started.
        for (call, line) in sizes.iter().skip(1) {
            assert!(*call <= 4, "a call took {call} bytes");
            assert!(*line <= 4, "a line took {line} bytes");
        }
        // A later line number and a thread switch still fit in 6 bytes.
        let before = w.buffered_bytes();
        w.event(&Event::Line {
            thread: 3,
            t: t + 10_000,
            line: 9_000,
            vars: Vec::new(),
        })
        .unwrap();
        assert!(w.buffered_bytes() - before <= 6);
    }

    #[test]
    fn names_are_interned() {
        let mut w = TraceWriter::new(Vec::new(), &header()).unwrap();
        w.code(&code(0)).unwrap();
        let var = |v: i64| Var {
            kind: ValueKind::Local,
            name: "counter".into(),
            value: Slot::Value {
                value: Value::Int { value: v },
            },
        };
        let before = w.buffered_bytes();
        w.event(&Event::Line {
            thread: 0,
            t: 10,
            line: 2,
            vars: vec![var(1)],
        })
        .unwrap();
        let first = w.buffered_bytes() - before;
        let before = w.buffered_bytes();
        w.event(&Event::Line {
            thread: 0,
            t: 20,
            line: 3,
            vars: vec![var(2)],
        })
        .unwrap();
        let second = w.buffered_bytes() - before;
        assert!(first > "counter".len() + second, "{first} vs {second}");
        assert!(second <= 7, "{second}");
    }

    #[test]
    fn invalid_records_are_refused_and_change_nothing() {
        let mut w = TraceWriter::with_chunk_bytes(Vec::new(), &header(), 1 << 20).unwrap();
        w.code(&code(0)).unwrap();
        let before = w.buffered_bytes();
        let err = w
            .event(&Event::Resume {
                thread: 0,
                t: 5,
                code: 7,
            })
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("code object 7"));
        assert_eq!(
            w.code(&code(0)).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        let mut later = code(1);
        later.inputs.modules = 1;
        assert!(w.code(&later).is_err());
        later.inputs = InputsAt {
            sys_path: 1,
            modules: 0,
            markers: 0,
        };
        assert!(w.code(&later).is_err());
        assert_eq!(w.buffered_bytes(), before);

        // A value too deep, with names never seen before: the names'
        // definitions are rolled back with the record.
        let mut deep = Value::None;
        for _ in 0..codec::MAX_VALUE_DEPTH {
            deep = Value::Sequence {
                kind: SequenceKind::List,
                items: vec![deep],
                length: 1,
            };
        }
        let fresh = |value: Value| Event::Call {
            thread: 0,
            t: 9,
            code: 0,
            args: vec![
                Var {
                    kind: ValueKind::Arg,
                    name: "brand_new_name".into(),
                    value: Slot::Value {
                        value: Value::Object {
                            type_name: "brand.NewType".into(),
                            attrs: Vec::new(),
                            length: 0,
                        },
                    },
                },
                Var {
                    kind: ValueKind::Arg,
                    name: "other".into(),
                    value: Slot::Value { value },
                },
            ],
        };
        assert!(w.event(&fresh(deep)).is_err());
        assert_eq!(w.buffered_bytes(), before);
        // The same names again, with a legal value, are defined afresh.
        let ok = fresh(Value::None);
        w.event(&ok).unwrap();
        let bytes = w.finish(&Trailer::default()).unwrap();
        let read = read_trace(&bytes).unwrap();
        assert_eq!(read.truncation, None);
        assert_eq!(read.trace.events, vec![ok]);
    }

    #[test]
    fn the_first_chunk_holds_only_the_header() {
        let w = TraceWriter::new(Vec::new(), &header()).unwrap();
        assert_eq!(w.chunks_written(), 1);
        assert_eq!(w.bytes_written(), w.get_ref().len() as u64);
        assert_eq!(w.buffered_bytes(), 0);
        let bytes = w.into_inner().unwrap();
        assert_eq!(&bytes[..8], &MAGIC);
        assert_eq!(&bytes[8..12], &[1, 0, 1, 0]);
        let read = read_trace(&bytes).unwrap();
        assert_eq!(read.trace.header, header());
        assert!(read.trace.events.is_empty());
        assert!(read
            .truncation
            .unwrap()
            .reason
            .contains("without a trailer"));
    }

    #[test]
    fn write_trace_stops_at_an_invalid_record() {
        let mut trace = read_trace(
            &TraceWriter::new(Vec::new(), &header())
                .unwrap()
                .into_inner()
                .unwrap(),
        )
        .unwrap()
        .trace;
        trace.codes.push(code(0));
        trace.events.push(Event::Resume {
            thread: 0,
            t: 1,
            code: 0,
        });
        trace.events.push(Event::Resume {
            thread: 0,
            t: 2,
            code: 5,
        });
        trace.events.push(Event::Resume {
            thread: 0,
            t: 3,
            code: 0,
        });
        trace.trailer = Some(Trailer::default());
        assert!(try_write_trace(&trace).is_err());
        let read = read_trace(&write_trace(&trace)).unwrap();
        assert_eq!(read.trace.events.len(), 1);
        assert!(read.trace.trailer.is_none());
        assert!(read.truncation.is_some());
    }

    #[test]
    fn a_failing_sink_stops_the_writer() {
        struct Full(usize);
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 == 0 {
                    return Err(io::Error::other("disk full"));
                }
                let n = buf.len().min(self.0);
                self.0 -= n;
                Ok(n)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let size = TraceWriter::new(Vec::new(), &header())
            .unwrap()
            .bytes_written() as usize;
        let mut w = TraceWriter::new(Full(size + 10), &header()).unwrap();
        w.code(&code(0)).unwrap();
        let big = SourceFile {
            path: "/proj/app.py".into(),
            text: Some("x = 1\n".repeat(100)),
            omitted: None,
        };
        w.source(&big).unwrap();
        assert!(w.flush().is_err());
        assert!(w
            .event(&Event::Resume {
                thread: 0,
                t: 1,
                code: 0
            })
            .is_err());
    }
}
