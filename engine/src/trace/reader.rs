//! Reads trace files, streaming: bytes can arrive in slices of any size
//! (the browser reads a dropped file piece by piece) and every complete
//! chunk is decoded at once. See [`super::codec`] for the format and for
//! what counts as damage.
//!
//! Nothing here panics on any input, and allocations are bounded by the
//! declared chunk lengths, which are checked against
//! [`MAX_CHUNK_BYTES`] first.

use super::codec::{
    self, corrupt, tag, Corrupt, Cursor, CHUNK_HEADER_BYTES, MAGIC, MAX_CHUNK_BYTES,
    MAX_VALUE_DEPTH,
};
use super::model::{
    Attr, CodeInfo, Event, FormatVersion, InputsAt, Name, SequenceKind, Slot, SourceFile, Trace,
    TraceHeader, Trailer, Value, Var, FORMAT_VERSION,
};
use crate::explain::ValueKind;
use crate::identity::ModuleFile;
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

/// Why a file cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum TraceError {
    /// The file does not start with the trace magic number.
    #[error("not a tracesieve trace: {found}")]
    NotATrace {
        /// What the file seems to be instead.
        found: String,
    },
    /// The file is a trace of a format version this reader does not know.
    #[error(
        "unsupported trace format version {}.{}: this tracesieve reads version {}.x; {}",
        .found.major, .found.minor, .supported.major, version_hint(.found, .supported)
    )]
    UnsupportedVersion {
        /// The file's version.
        found: FormatVersion,
        /// The version this reader writes (it reads every minor version of its major).
        supported: FormatVersion,
    },
    /// The file is cut or damaged before its header could be read.
    #[error("the trace has no readable header: {reason}")]
    BadHeader {
        /// What is wrong.
        reason: String,
    },
}

fn version_hint(found: &FormatVersion, supported: &FormatVersion) -> &'static str {
    if found.major > supported.major {
        "the file was written by a newer tracesieve: upgrade tracesieve to read it"
    } else {
        "the file was written by an older tracesieve, whose traces this version no longer reads"
    }
}

/// Where and why a file stops being readable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncation {
    /// The length of the readable prefix: the file's bytes up to the end of
    /// the last good chunk (or the trailer's chunk, when bytes follow it).
    pub valid_bytes: u64,
    /// What happened, for people.
    pub reason: String,
}

/// How far reading has come.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ReadProgress {
    /// Bytes pushed so far.
    pub bytes: u64,
    /// Chunks decoded (the header chunk included).
    pub chunks: u64,
    /// Events decoded.
    pub events: u64,
}

/// A trace read from a file, whole or up to where it was damaged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadOutcome {
    /// What could be read. Its trailer is `None` unless the file is complete.
    pub trace: Trace,
    /// Set when the file ends early, has a bad chunk or has bytes after
    /// the trailer.
    pub truncation: Option<Truncation>,
}

/// Reads a whole trace from memory.
pub fn read_trace(bytes: &[u8]) -> Result<ReadOutcome, TraceError> {
    let mut reader = TraceReader::new();
    reader.push(bytes)?;
    reader.finish()
}

/// How many bytes of a non-trace file are looked at to say what it is.
const SNIFF_BYTES: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Waiting for the 8-byte magic number.
    Magic,
    /// Not a trace: collecting the first bytes to say what it is.
    Sniff,
    /// Waiting for the 4-byte version.
    Version,
    /// Waiting for a chunk's 12-byte header.
    ChunkHead,
    /// Waiting for a chunk's payload.
    ChunkBody { clen: u32, ulen: u32, crc: u32 },
    /// A damaged chunk was met: the rest is ignored.
    Stopped,
    /// The trailer was read: nothing should follow.
    Done,
}

/// A streaming trace decoder.
#[derive(Debug)]
pub struct TraceReader {
    stage: Stage,
    /// Bytes of the unit (magic, version, chunk header, chunk payload) being gathered.
    pending: Vec<u8>,
    /// The first bytes of a file that is not a trace.
    sniff: Vec<u8>,
    /// File offset of the first byte of the current unit.
    offset: u64,
    /// File offset of the current chunk.
    chunk_start: u64,
    /// Bytes pushed.
    bytes: u64,
    /// End of the last good chunk.
    valid_bytes: u64,
    chunks: u64,
    after_trailer: u64,
    state: State,
    /// Decompression buffer.
    scratch: Vec<u8>,
    truncation: Option<Truncation>,
    failed: Option<TraceError>,
}

impl Default for TraceReader {
    fn default() -> TraceReader {
        TraceReader::new()
    }
}

impl TraceReader {
    /// A reader waiting for the first byte.
    pub fn new() -> TraceReader {
        TraceReader {
            stage: Stage::Magic,
            pending: Vec::new(),
            sniff: Vec::new(),
            offset: 0,
            chunk_start: 0,
            bytes: 0,
            valid_bytes: 0,
            chunks: 0,
            after_trailer: 0,
            state: State::default(),
            scratch: Vec::new(),
            truncation: None,
            failed: None,
        }
    }

    /// Feeds the next bytes of the file and decodes every chunk they
    /// complete. Fails only when the file cannot be read at all (not a
    /// trace, an unsupported version, no readable header); damage further
    /// on stops decoding and is reported by [`TraceReader::finish`].
    pub fn push(&mut self, mut input: &[u8]) -> Result<(), TraceError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.bytes = self.bytes.saturating_add(input.len() as u64);
        while !input.is_empty() {
            let need = match self.stage {
                Stage::Stopped => return Ok(()),
                Stage::Done => {
                    self.after_trailer = self.after_trailer.saturating_add(input.len() as u64);
                    return Ok(());
                }
                Stage::Sniff => {
                    let take = SNIFF_BYTES
                        .saturating_sub(self.sniff.len())
                        .min(input.len());
                    let (head, rest) = input.split_at(take);
                    self.sniff.extend_from_slice(head);
                    input = rest;
                    if self.sniff.len() >= SNIFF_BYTES {
                        let e = TraceError::NotATrace {
                            found: describe(&self.sniff),
                        };
                        return Err(self.fail(e));
                    }
                    continue;
                }
                Stage::Magic => MAGIC.len(),
                Stage::Version => 4,
                Stage::ChunkHead => CHUNK_HEADER_BYTES,
                Stage::ChunkBody { clen, .. } => clen as usize,
            };
            if self.pending.is_empty() && input.len() >= need {
                let (unit, rest) = input.split_at(need);
                input = rest;
                self.unit(unit)?;
            } else {
                let take = need.saturating_sub(self.pending.len()).min(input.len());
                let (head, rest) = input.split_at(take);
                self.pending.extend_from_slice(head);
                input = rest;
                if self.pending.len() >= need {
                    let unit = std::mem::take(&mut self.pending);
                    let result = self.unit(&unit);
                    self.pending = unit;
                    self.pending.clear();
                    if self.pending.capacity() > (1 << 20) {
                        self.pending.shrink_to(1 << 20);
                    }
                    result?;
                }
            }
        }
        Ok(())
    }

    /// How far reading has come.
    pub fn progress(&self) -> ReadProgress {
        ReadProgress {
            bytes: self.bytes,
            chunks: self.chunks,
            events: self
                .state
                .trace
                .as_ref()
                .map_or(0, |t| t.events.len() as u64),
        }
    }

    /// The header, once the first chunk is decoded.
    pub fn header(&self) -> Option<&TraceHeader> {
        self.state.trace.as_ref().map(|t| &t.header)
    }

    /// What has been decoded so far (complete chunks only).
    pub fn trace(&self) -> Option<&Trace> {
        self.state.trace.as_ref()
    }

    /// The damage met so far, if decoding stopped at a bad chunk.
    pub fn truncation(&self) -> Option<&Truncation> {
        self.truncation.as_ref()
    }

    /// Ends reading: the trace, with a [`Truncation`] when the file ended
    /// early or was damaged after its header.
    pub fn finish(self) -> Result<ReadOutcome, TraceError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let have = self.pending.len();
        let truncation = match self.stage {
            Stage::Magic => {
                return Err(if self.bytes == 0 {
                    TraceError::NotATrace {
                        found: describe(&[]),
                    }
                } else if MAGIC.starts_with(&self.pending) {
                    TraceError::BadHeader {
                        reason: format!(
                            "the file ends after {have} bytes, inside the magic number"
                        ),
                    }
                } else {
                    TraceError::NotATrace {
                        found: describe(&self.pending),
                    }
                });
            }
            Stage::Sniff => {
                return Err(TraceError::NotATrace {
                    found: describe(&self.sniff),
                })
            }
            Stage::Version => {
                return Err(TraceError::BadHeader {
                    reason: format!(
                        "the file ends after {} bytes, inside the format version",
                        MAGIC.len() + have
                    ),
                })
            }
            Stage::ChunkHead | Stage::ChunkBody { .. } if self.state.trace.is_none() => {
                return Err(TraceError::BadHeader {
                    reason: format!(
                        "the file ends after {} bytes, inside its first chunk, which holds the header",
                        self.bytes
                    ),
                })
            }
            Stage::ChunkHead if have == 0 => Some(Truncation {
                valid_bytes: self.valid_bytes,
                reason: "the file ends after its last complete chunk without a trailer: \
                         the recording was interrupted or is still being written"
                    .to_owned(),
            }),
            Stage::ChunkHead => Some(Truncation {
                valid_bytes: self.valid_bytes,
                reason: format!(
                    "the file ends inside the header of chunk #{} at byte {} \
                     ({have} of {CHUNK_HEADER_BYTES} bytes): the recording was interrupted",
                    self.chunks + 1,
                    self.chunk_start
                ),
            }),
            Stage::ChunkBody { clen, .. } => Some(Truncation {
                valid_bytes: self.valid_bytes,
                reason: format!(
                    "the file ends inside chunk #{} at byte {} ({have} of its {clen} bytes): \
                     the recording was interrupted",
                    self.chunks + 1,
                    self.chunk_start
                ),
            }),
            Stage::Stopped => self.truncation,
            Stage::Done if self.after_trailer > 0 => Some(Truncation {
                valid_bytes: self.valid_bytes,
                reason: format!(
                    "{} bytes after the trailer were ignored",
                    self.after_trailer
                ),
            }),
            Stage::Done => None,
        };
        match self.state.trace {
            Some(trace) => Ok(ReadOutcome { trace, truncation }),
            None => Err(TraceError::BadHeader {
                reason: "the file has no header".to_owned(),
            }),
        }
    }

    /// Records a fatal error and returns it.
    fn fail(&mut self, e: TraceError) -> TraceError {
        self.failed = Some(e.clone());
        e
    }

    /// Handles one complete unit of the current stage.
    fn unit(&mut self, unit: &[u8]) -> Result<(), TraceError> {
        let start = self.offset;
        self.offset = self.offset.saturating_add(unit.len() as u64);
        match self.stage {
            Stage::Magic => {
                if unit == MAGIC {
                    self.stage = Stage::Version;
                } else {
                    self.sniff = unit.to_vec();
                    self.stage = Stage::Sniff;
                }
                Ok(())
            }
            Stage::Version => {
                let major = u16::from_le_bytes([byte(unit, 0), byte(unit, 1)]);
                let minor = u16::from_le_bytes([byte(unit, 2), byte(unit, 3)]);
                let found = FormatVersion { major, minor };
                if major != FORMAT_VERSION.major {
                    return Err(self.fail(TraceError::UnsupportedVersion {
                        found,
                        supported: FORMAT_VERSION,
                    }));
                }
                self.valid_bytes = self.offset;
                self.stage = Stage::ChunkHead;
                Ok(())
            }
            Stage::ChunkHead => {
                self.chunk_start = start;
                let clen = le32(unit, 0);
                let ulen = le32(unit, 4);
                let crc = le32(unit, 8);
                if ulen as usize > MAX_CHUNK_BYTES {
                    return self.bad_chunk(format!(
                        "it declares {ulen} decompressed bytes, more than the {MAX_CHUNK_BYTES} allowed"
                    ));
                }
                if clen == 0 || clen as usize > codec::max_compressed_bytes(ulen as usize) {
                    return self.bad_chunk(format!(
                        "it declares {clen} compressed bytes for {ulen} decompressed bytes, which LZ4 cannot produce"
                    ));
                }
                self.stage = Stage::ChunkBody { clen, ulen, crc };
                Ok(())
            }
            Stage::ChunkBody { ulen, crc, .. } => {
                let actual = crc32fast::hash(unit);
                if actual != crc {
                    return self.bad_chunk(format!(
                        "its checksum does not match (CRC-32 {actual:08x}, expected {crc:08x})"
                    ));
                }
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                scratch.resize(ulen as usize, 0);
                let decompressed = lz4_flex::block::decompress_into(unit, &mut scratch);
                let result = match decompressed {
                    Ok(n) if n == ulen as usize => match self.state.decode_chunk(&scratch) {
                        Ok(_) if self.state.trace.is_none() => {
                            Err(Corrupt("it does not hold the header".to_owned()))
                        }
                        other => other,
                    },
                    Ok(n) => Err(Corrupt(format!(
                        "it decompresses to {n} bytes, not the {ulen} it declares"
                    ))),
                    Err(e) => Err(Corrupt(format!("it does not decompress ({e})"))),
                };
                scratch.clear();
                if scratch.capacity() > (1 << 20) {
                    scratch.shrink_to(1 << 20);
                }
                self.scratch = scratch;
                match result {
                    Ok(ended) => {
                        self.chunks += 1;
                        self.valid_bytes = self.offset;
                        self.stage = if ended { Stage::Done } else { Stage::ChunkHead };
                        Ok(())
                    }
                    Err(Corrupt(reason)) => self.bad_chunk(reason),
                }
            }
            Stage::Sniff | Stage::Stopped | Stage::Done => Ok(()),
        }
    }

    /// Stops at a damaged chunk: an error for the header chunk, a
    /// truncation for any other.
    fn bad_chunk(&mut self, reason: String) -> Result<(), TraceError> {
        if self.state.trace.is_none() {
            return Err(self.fail(TraceError::BadHeader {
                reason: format!(
                    "the first chunk (at byte {}) is damaged: {reason}",
                    self.chunk_start
                ),
            }));
        }
        self.truncation = Some(Truncation {
            valid_bytes: self.valid_bytes,
            reason: format!(
                "chunk #{} at byte {} is damaged: {reason}; the trace is read up to the chunk before it",
                self.chunks + 1,
                self.chunk_start
            ),
        });
        self.stage = Stage::Stopped;
        Ok(())
    }
}

fn byte(bytes: &[u8], i: usize) -> u8 {
    bytes.get(i).copied().unwrap_or(0)
}

fn le32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([
        byte(bytes, at),
        byte(bytes, at + 1),
        byte(bytes, at + 2),
        byte(bytes, at + 3),
    ])
}

/// Says what a file that is not a trace seems to be.
fn describe(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "the file is empty".to_owned();
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let trimmed = match body.iter().position(|b| !b.is_ascii_whitespace()) {
        Some(i) => body.get(i..).unwrap_or(&[]),
        None => &[],
    };
    let contains = |needle: &[u8]| trimmed.windows(needle.len()).any(|w| w == needle);
    if bytes.starts_with(&[0xC0, 0xDE, 0x72, 0xAC, 0xE2]) {
        return "it is a CodeTracer binary trace (trace.bin or .ct); tracesieve reads only its own trace files"
            .to_owned();
    }
    if let Some(first @ (b'[' | b'{')) = trimmed.first() {
        if *first == b'['
            && (contains(b"\"Path\"")
                || contains(b"\"Step\"")
                || contains(b"\"Function\"")
                || contains(b"\"Call\""))
        {
            return "it looks like a CodeTracer trace.json (JSON events); tracesieve can export that format but reads only its own trace files"
                .to_owned();
        }
        if contains(b"\"traceEvents\"") {
            return "it looks like Chrome Trace Event JSON; tracesieve can export that format but reads only its own trace files"
                .to_owned();
        }
        if contains(b"\"workdir\"") {
            return "it looks like CodeTracer's trace_metadata.json, not a trace".to_owned();
        }
        return "it looks like JSON (perhaps a trace exported as JSON); tracesieve reads only its own binary trace files"
            .to_owned();
    }
    if bytes.starts_with(&[0x1F, 0x8B]) {
        return "it is gzip-compressed: decompress it first".to_owned();
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return "it is a ZIP archive: extract the trace from it first".to_owned();
    }
    if bytes.starts_with(b"\x28\xB5\x2F\xFD") {
        return "it is zstd-compressed: decompress it first".to_owned();
    }
    if bytes
        .get(..MAGIC.len() + 4)
        .unwrap_or(bytes)
        .windows(4)
        .any(|w| w == b"TSV\r" || w == b"TSV\n")
    {
        return "it starts like a tracesieve trace but its magic number is damaged, \
                probably by a text-mode transfer that changed line endings or the 8th bit; \
                copy the file as binary"
            .to_owned();
    }
    let shown = bytes.get(..16).unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) if text.chars().all(|c| !c.is_control() || c.is_whitespace()) => {
            let start: String = text.chars().take(40).collect();
            format!("it is text, starting with {start:?}")
        }
        _ => {
            let hex: Vec<String> = shown.iter().map(|b| format!("{b:02x}")).collect();
            format!("its first bytes are {}", hex.join(" "))
        }
    }
}

/// The decoding state, which carries over from chunk to chunk.
#[derive(Debug, Default)]
struct State {
    trace: Option<Trace>,
    strings: Vec<Name>,
    code_ids: FxHashSet<u32>,
    prev_t: u64,
    prev_thread: u32,
}

/// Lengths to roll back to when a chunk turns out to be damaged.
struct Snapshot {
    header: bool,
    strings: usize,
    codes: usize,
    sys_paths: usize,
    modules: usize,
    markers: usize,
    sources: usize,
    events: usize,
    trailer: bool,
    prev_t: u64,
    prev_thread: u32,
}

impl State {
    fn snapshot(&self) -> Snapshot {
        let t = self.trace.as_ref();
        Snapshot {
            header: t.is_some(),
            strings: self.strings.len(),
            codes: t.map_or(0, |t| t.codes.len()),
            sys_paths: t.map_or(0, |t| t.sys_paths.len()),
            modules: t.map_or(0, |t| t.modules.len()),
            markers: t.map_or(0, |t| t.markers.len()),
            sources: t.map_or(0, |t| t.sources.len()),
            events: t.map_or(0, |t| t.events.len()),
            trailer: t.is_some_and(|t| t.trailer.is_some()),
            prev_t: self.prev_t,
            prev_thread: self.prev_thread,
        }
    }

    fn rollback(&mut self, s: Snapshot) {
        self.strings.truncate(s.strings);
        self.prev_t = s.prev_t;
        self.prev_thread = s.prev_thread;
        if !s.header {
            self.trace = None;
            self.code_ids.clear();
            return;
        }
        if let Some(t) = &mut self.trace {
            for code in t.codes.get(s.codes..).unwrap_or(&[]) {
                self.code_ids.remove(&code.id);
            }
            t.codes.truncate(s.codes);
            t.sys_paths.truncate(s.sys_paths);
            t.modules.truncate(s.modules);
            t.markers.truncate(s.markers);
            t.sources.truncate(s.sources);
            t.events.truncate(s.events);
            if !s.trailer {
                t.trailer = None;
            }
        }
    }

    /// Decodes one chunk's records, all or nothing. Returns whether the
    /// trailer was read.
    fn decode_chunk(&mut self, data: &[u8]) -> Result<bool, Corrupt> {
        let snapshot = self.snapshot();
        match self.records(data) {
            Ok(ended) => Ok(ended),
            Err(e) => {
                self.rollback(snapshot);
                Err(e)
            }
        }
    }

    fn records(&mut self, data: &[u8]) -> Result<bool, Corrupt> {
        let mut cur = Cursor::new(data);
        while !cur.is_empty() {
            let at = cur.pos();
            let tg = cur.u8()?;
            if let Err(Corrupt(why)) = self.record(tg, &mut cur) {
                return corrupt(format!(
                    "the record at offset {at} (tag 0x{tg:02x}) is invalid: {why}"
                ));
            }
            if tg == tag::TRAILER {
                if !cur.is_empty() {
                    return corrupt(format!(
                        "{} bytes of records follow the trailer",
                        cur.remaining()
                    ));
                }
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn string(&self, cur: &mut Cursor<'_>) -> Result<String, Corrupt> {
        self.name(cur).map(|name| name.to_string())
    }

    /// A string of the table, shared rather than copied.
    fn name(&self, cur: &mut Cursor<'_>) -> Result<Name, Corrupt> {
        self.name_at(cur.uv()?)
    }

    /// String `id` of the table.
    fn name_at(&self, id: u64) -> Result<Name, Corrupt> {
        match usize::try_from(id).ok().and_then(|i| self.strings.get(i)) {
            Some(s) => Ok(Name::clone(s)),
            None => corrupt(format!(
                "string id {id} is not defined ({} strings so far)",
                self.strings.len()
            )),
        }
    }

    fn ostring(&self, cur: &mut Cursor<'_>) -> Result<Option<String>, Corrupt> {
        match cur.uv()? {
            0 => Ok(None),
            id => self.name_at(id - 1).map(|name| Some(name.to_string())),
        }
    }

    fn record(&mut self, tg: u8, cur: &mut Cursor<'_>) -> Result<(), Corrupt> {
        if tg == tag::HEADER {
            let json = cur.str()?;
            if self.trace.is_some() {
                return corrupt("a second header");
            }
            let header: TraceHeader = serde_json::from_str(json)
                .map_err(|e| Corrupt(format!("the header does not decode: {e}")))?;
            self.trace = Some(Trace {
                header,
                codes: Vec::new(),
                sys_paths: Vec::new(),
                modules: Vec::new(),
                markers: Vec::new(),
                sources: Vec::new(),
                events: Vec::new(),
                trailer: None,
            });
            return Ok(());
        }
        if self.trace.is_none() {
            return corrupt("the first record of the file is not the header");
        }
        match tg {
            tag::STRING => {
                let s = cur.str()?;
                if self.strings.len() >= u32::MAX as usize {
                    return corrupt("more than 2^32 strings");
                }
                self.strings.push(Name::from(s));
            }
            tag::SYS_PATH => {
                let n = cur.count()?;
                let mut entries = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    entries.push(self.string(cur)?);
                }
                self.trace_mut()?.sys_paths.push(entries);
            }
            tag::MODULE => {
                let name = self.string(cur)?;
                let path = self.string(cur)?;
                self.trace_mut()?.modules.push(ModuleFile { name, path });
            }
            tag::MARKER => {
                let dir = self.string(cur)?;
                self.trace_mut()?.markers.push(dir);
            }
            tag::SOURCE => {
                let path = self.string(cur)?;
                let text = cur.ostr()?.map(str::to_owned);
                let omitted = cur.ostr()?.map(str::to_owned);
                self.trace_mut()?.sources.push(SourceFile {
                    path,
                    text,
                    omitted,
                });
            }
            tag::CODE => self.code(cur)?,
            tag::TRAILER => {
                let json = cur.str()?;
                let trailer: Trailer = serde_json::from_str(json)
                    .map_err(|e| Corrupt(format!("the trailer does not decode: {e}")))?;
                self.trace_mut()?.trailer = Some(trailer);
            }
            tag::EXTENSION_FIRST..=tag::EXTENSION_LAST => {
                cur.bytes()?;
            }
            tag::EVENT..=u8::MAX => self.event(tg, cur)?,
            _ => return corrupt("unknown record tag"),
        }
        Ok(())
    }

    fn trace_mut(&mut self) -> Result<&mut Trace, Corrupt> {
        match &mut self.trace {
            Some(t) => Ok(t),
            None => corrupt("a record before the header"),
        }
    }

    fn code(&mut self, cur: &mut Cursor<'_>) -> Result<(), Corrupt> {
        let id = cur.u32v("code id")?;
        let filename = self.string(cur)?;
        let qualname = self.string(cur)?;
        let first_line = cur.u32v("first line")?;
        let dunder_name = self.ostring(cur)?;
        let inputs = InputsAt {
            sys_path: cur.u32v("sys.path version")?,
            modules: cur.u32v("module count")?,
            markers: cur.u32v("marker count")?,
        };
        if self.code_ids.contains(&id) {
            return corrupt(format!("code object {id} is defined twice"));
        }
        let t = self.trace_mut()?;
        let sys_path_ok = (inputs.sys_path as usize) < t.sys_paths.len()
            || (inputs.sys_path == 0 && t.sys_paths.is_empty());
        if !sys_path_ok
            || inputs.modules as usize > t.modules.len()
            || inputs.markers as usize > t.markers.len()
        {
            return corrupt(format!(
                "code object {id} refers to resolver inputs not read yet \
                 (sys_path {}, modules {}, markers {})",
                inputs.sys_path, inputs.modules, inputs.markers
            ));
        }
        t.codes.push(CodeInfo {
            id,
            filename,
            qualname,
            first_line,
            dunder_name,
            inputs,
        });
        self.code_ids.insert(id);
        Ok(())
    }

    fn known_code(&self, cur: &mut Cursor<'_>) -> Result<u32, Corrupt> {
        let code = cur.u32v("code id")?;
        if !self.code_ids.contains(&code) {
            return corrupt(format!("code object {code} is not defined"));
        }
        Ok(code)
    }

    fn event(&mut self, tg: u8, cur: &mut Cursor<'_>) -> Result<(), Corrupt> {
        let kind = tg & tag::EV_KIND_MASK;
        let thread = if tg & tag::EV_THREAD != 0 {
            cur.u32v("thread")?
        } else {
            self.prev_thread
        };
        let dt = cur.uv()?;
        let t = if tg & tag::EV_BACK != 0 {
            self.prev_t.checked_sub(dt)
        } else {
            self.prev_t.checked_add(dt)
        };
        let Some(t) = t else {
            return corrupt("the event time is out of range");
        };
        let list = tg & tag::EV_LIST != 0;
        if list && kind != tag::EV_CALL && kind != tag::EV_LINE {
            return corrupt("only calls and lines carry a list");
        }
        let event = match kind {
            tag::EV_THREAD_START => Event::ThreadStart {
                thread,
                name: self.string(cur)?,
                t,
            },
            tag::EV_CALL => {
                let code = self.known_code(cur)?;
                let args = if list { self.vars(cur)? } else { Vec::new() };
                Event::Call {
                    thread,
                    t,
                    code,
                    args,
                }
            }
            tag::EV_RESUME => Event::Resume {
                thread,
                t,
                code: self.known_code(cur)?,
            },
            tag::EV_THROW => {
                let code = self.known_code(cur)?;
                Event::Throw {
                    thread,
                    t,
                    code,
                    exception: Box::new(self.slot(cur, 1)?),
                }
            }
            tag::EV_LINE => {
                let line = cur.u32v("line")?;
                let vars = if list { self.vars(cur)? } else { Vec::new() };
                Event::Line {
                    thread,
                    t,
                    line,
                    vars,
                }
            }
            tag::EV_RETURN => Event::Return {
                thread,
                t,
                value: self.slot(cur, 1)?,
            },
            tag::EV_YIELD => Event::Yield {
                thread,
                t,
                value: self.slot(cur, 1)?,
            },
            tag::EV_UNWIND => Event::Unwind {
                thread,
                t,
                value: self.slot(cur, 1)?,
            },
            tag::EV_RAISE => {
                let line = cur.u32v("line")?;
                Event::Raise {
                    thread,
                    t,
                    line,
                    exception: Box::new(self.slot(cur, 1)?),
                }
            }
            _ => return corrupt(format!("unknown event kind {kind}")),
        };
        self.trace_mut()?.events.push(event);
        self.prev_t = t;
        self.prev_thread = thread;
        Ok(())
    }

    fn vars(&self, cur: &mut Cursor<'_>) -> Result<Vec<Var>, Corrupt> {
        let n = cur.count()?;
        let mut vars = Vec::with_capacity(n.min(256));
        for _ in 0..n {
            let packed = cur.uv()?;
            let kind = match packed & 7 {
                0 => ValueKind::Arg,
                1 => ValueKind::Local,
                2 => ValueKind::Global,
                3 => ValueKind::Ret,
                4 => ValueKind::Attr,
                k => return corrupt(format!("unknown variable kind {k}")),
            };
            let name = self.name_at(packed >> 3)?;
            let value = self.slot(cur, 1)?;
            vars.push(Var { kind, name, value });
        }
        Ok(vars)
    }

    fn slot(&self, cur: &mut Cursor<'_>, depth: usize) -> Result<Slot, Corrupt> {
        let b = cur.u8()?;
        Ok(match b {
            tag::SLOT_REDACTED => Slot::Redacted,
            tag::SLOT_DROPPED => Slot::Dropped,
            tag::SLOT_ABSENT => Slot::Absent,
            _ => Slot::Value {
                value: self.value_with(b, cur, depth)?,
            },
        })
    }

    fn value(&self, cur: &mut Cursor<'_>, depth: usize) -> Result<Value, Corrupt> {
        let b = cur.u8()?;
        self.value_with(b, cur, depth)
    }

    /// The full length of a cut-able value with `n` items.
    fn length(cut: bool, n: usize, cur: &mut Cursor<'_>) -> Result<u64, Corrupt> {
        if cut {
            cur.uv()
        } else {
            Ok(n as u64)
        }
    }

    fn value_with(&self, b: u8, cur: &mut Cursor<'_>, depth: usize) -> Result<Value, Corrupt> {
        if depth > MAX_VALUE_DEPTH {
            return corrupt(format!(
                "a value nests deeper than {MAX_VALUE_DEPTH} levels"
            ));
        }
        if b & !(tag::VAL_KIND_MASK | tag::VAL_CUT) != 0 {
            return corrupt(format!("0x{b:02x} is not a value"));
        }
        let kind = b & tag::VAL_KIND_MASK;
        let cut = b & tag::VAL_CUT != 0;
        let cuttable = matches!(kind, tag::VAL_STR..=tag::VAL_REPR);
        if cut && !cuttable {
            return corrupt(format!("value kind {kind} cannot be cut"));
        }
        Ok(match kind {
            tag::VAL_NONE => Value::None,
            tag::VAL_FALSE => Value::Bool { value: false },
            tag::VAL_TRUE => Value::Bool { value: true },
            tag::VAL_INT => Value::Int { value: cur.sv()? },
            tag::VAL_BIGINT => Value::BigInt {
                digits: cur.str()?.to_owned(),
            },
            tag::VAL_FLOAT => Value::Float { value: cur.f64()? },
            tag::VAL_STR => {
                let n = cur.count()?;
                let length = Self::length(cut, n, cur)?;
                Value::Str {
                    value: cur.str_of_len(n)?.to_owned(),
                    length,
                }
            }
            tag::VAL_BYTES => {
                let n = cur.count()?;
                let length = Self::length(cut, n, cur)?;
                Value::Bytes {
                    value: cur.take(n)?.to_vec(),
                    length,
                }
            }
            tag::VAL_LIST | tag::VAL_TUPLE | tag::VAL_SET | tag::VAL_FROZENSET => {
                let seq = match kind {
                    tag::VAL_LIST => SequenceKind::List,
                    tag::VAL_TUPLE => SequenceKind::Tuple,
                    tag::VAL_SET => SequenceKind::Set,
                    _ => SequenceKind::FrozenSet,
                };
                let n = cur.count()?;
                let length = Self::length(cut, n, cur)?;
                let mut items = Vec::with_capacity(n.min(256));
                for _ in 0..n {
                    items.push(self.value(cur, depth + 1)?);
                }
                Value::Sequence {
                    kind: seq,
                    items,
                    length,
                }
            }
            tag::VAL_DICT => {
                let n = cur.count()?;
                let length = Self::length(cut, n, cur)?;
                let mut entries = Vec::with_capacity(n.min(256));
                for _ in 0..n {
                    let k = self.value(cur, depth + 1)?;
                    let v = self.value(cur, depth + 1)?;
                    entries.push((k, v));
                }
                Value::Dict { entries, length }
            }
            tag::VAL_OBJECT => {
                let type_name = self.name(cur)?;
                let n = cur.count()?;
                let length = Self::length(cut, n, cur)?;
                let mut attrs = Vec::with_capacity(n.min(256));
                for _ in 0..n {
                    let name = self.name(cur)?;
                    let value = self.slot(cur, depth + 1)?;
                    attrs.push(Attr { name, value });
                }
                Value::Object {
                    type_name,
                    attrs,
                    length,
                }
            }
            tag::VAL_REPR => {
                let type_name = self.name(cur)?;
                let n = cur.count()?;
                let length = Self::length(cut, n, cur)?;
                Value::Repr {
                    type_name,
                    text: cur.str_of_len(n)?.to_owned(),
                    length,
                }
            }
            tag::VAL_REPR_ERROR => Value::ReprError {
                type_name: self.name(cur)?,
                message: cur.str()?.to_owned(),
            },
            tag::VAL_DEEP => Value::Deep {
                type_name: self.name(cur)?,
            },
            tag::VAL_CYCLE => Value::Cycle {
                type_name: self.name(cur)?,
            },
            _ => return corrupt(format!("unknown value kind {kind}")),
        })
    }
}
