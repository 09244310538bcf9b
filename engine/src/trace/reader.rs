//! Reads trace files, streaming: bytes can arrive in slices of any size
//! (the browser reads a dropped file piece by piece) and every complete
//! chunk is decoded at once. See [`super::codec`] for the format and for
//! what counts as damage.
//!
//! Nothing here panics on any input, and allocations are bounded by the
//! declared chunk lengths, which are checked against
//! [`MAX_CHUNK_BYTES`] first.

use super::codec::{self, Corrupt, CHUNK_HEADER_BYTES, MAGIC, MAX_CHUNK_BYTES};
use super::decode::{Decoder, Keep};
use super::index::ChunkEntry;
use super::model::{Event, FormatVersion, Name, Trace, TraceHeader, FORMAT_VERSION};
use super::sniff::{describe, SNIFF_BYTES};
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
    /// An intact chunk goes over one of the reader's limits (the memory its
    /// events decode to, thread numbers, open frames): tracesieve
    /// never writes such a file, so it is hostile or damaged, and reading
    /// stops rather than holding what it asks for.
    #[error(
        "{reason}; tracesieve never writes such a file: it is damaged or not a real recording"
    )]
    OverLimit {
        /// Which chunk, where, and which limit.
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
    decoder: Decoder,
    /// Decompression buffer.
    scratch: Vec<u8>,
    truncation: Option<Truncation>,
    failed: Option<TraceError>,
    /// Every chunk decoded, when an index is kept.
    index: Option<Vec<ChunkEntry>>,
}

impl Default for TraceReader {
    fn default() -> TraceReader {
        TraceReader::new()
    }
}

impl TraceReader {
    /// A reader waiting for the first byte, keeping every event in memory.
    pub fn new() -> TraceReader {
        TraceReader::keeping(Keep::All)
    }

    /// A reader waiting for the first byte, doing with decoded events what
    /// `keep` says: hold them all, hand them out chunk by chunk
    /// ([`TraceReader::take_events`]), or let them go (tables only).
    pub fn keeping(keep: Keep) -> TraceReader {
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
            decoder: Decoder::new(keep),
            index: None,
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
        while !input.is_empty() {
            let used = self.push_some(input)?;
            input = input.get(used..).unwrap_or_default();
        }
        Ok(())
    }

    /// Like [`TraceReader::push`], but stops right after a chunk is
    /// decoded, so that a caller taking events chunk by chunk holds one
    /// chunk's events at a time. Returns how many bytes of `input` it used
    /// (all of them, unless a chunk ended before the end of `input`).
    pub fn push_some(&mut self, input: &[u8]) -> Result<usize, TraceError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let total = input.len();
        let mut input = input;
        let chunks = self.chunks;
        while !input.is_empty() && self.chunks == chunks {
            let need = match self.stage {
                Stage::Stopped => {
                    input = &[];
                    break;
                }
                Stage::Done => {
                    self.after_trailer = self.after_trailer.saturating_add(input.len() as u64);
                    input = &[];
                    break;
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
        let used = total - input.len();
        self.bytes = self.bytes.saturating_add(used as u64);
        Ok(used)
    }

    /// A reader that also notes where every chunk is ([`TraceReader::index`]),
    /// so that any chunk can be decoded again later ([`TraceReader::replayer`]).
    pub fn indexing(keep: Keep) -> TraceReader {
        TraceReader {
            index: Some(Vec::new()),
            ..TraceReader::keeping(keep)
        }
    }

    /// The chunks decoded so far, when an index is kept (the header's first).
    pub fn index(&self) -> Option<&[ChunkEntry]> {
        self.index.as_deref()
    }

    /// What decoding chunks again needs of the decoding state.
    pub(crate) fn decoder_snapshot(&self) -> Option<Decoder> {
        self.index.as_ref().map(|_| self.decoder.replaying())
    }

    /// Whether decoding stopped at a damaged chunk: nothing more is read.
    pub fn stopped(&self) -> bool {
        self.stage == Stage::Stopped
    }

    /// How far reading has come.
    pub fn progress(&self) -> ReadProgress {
        ReadProgress {
            bytes: self.bytes,
            chunks: self.chunks,
            events: self.decoder.events(),
        }
    }

    /// The header, once the first chunk is decoded.
    pub fn header(&self) -> Option<&TraceHeader> {
        self.decoder.trace().map(|t| &t.header)
    }

    /// What has been decoded so far (complete chunks only): the header and
    /// tables, and the events when they are all kept.
    pub fn trace(&self) -> Option<&Trace> {
        self.decoder.trace()
    }

    /// Each thread's name, from its first `thread_start` so far, in that order.
    pub fn thread_names(&self) -> &[(u32, Name)] {
        self.decoder.thread_names()
    }

    /// How many distinct threads the events read so far are on.
    pub fn thread_count(&self) -> usize {
        self.decoder.thread_count()
    }

    /// The events decoded since the last call, when they are handed out
    /// chunk by chunk ([`Keep::Stream`]); empty otherwise.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.decoder.take_events()
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
            Stage::ChunkHead | Stage::ChunkBody { .. } if self.decoder.trace().is_none() => {
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
        match self.decoder.into_trace() {
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
                // Damage like a flipped bit, so a truncation; nothing is
                // allocated for it.
                if ulen as usize > MAX_CHUNK_BYTES {
                    return self.bad_chunk(format!(
                        "it declares {ulen} decompressed bytes, more than the {MAX_CHUNK_BYTES} allowed"
                    ));
                }
                if clen == 0
                    || clen as usize > codec::max_compressed_bytes(ulen as usize)
                    || ulen as usize > codec::max_decompressed_bytes(clen as usize)
                {
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
                let start = self.decoder.position();
                let first_event = self.decoder.events();
                let mut scratch = std::mem::take(&mut self.scratch);
                scratch.clear();
                scratch.resize(ulen as usize, 0);
                let decompressed = lz4_flex::block::decompress_into(unit, &mut scratch);
                let result = match decompressed {
                    Ok(n) if n == ulen as usize => {
                        match self.decoder.decode_chunk(&scratch, unit.len()) {
                            Ok(_) if self.decoder.trace().is_none() => {
                                Err(Corrupt::new("it does not hold the header"))
                            }
                            other => other,
                        }
                    }
                    Ok(n) => Err(Corrupt::new(format!(
                        "it decompresses to {n} bytes, not the {ulen} it declares"
                    ))),
                    Err(e) => Err(Corrupt::new(format!("it does not decompress ({e})"))),
                };
                scratch.clear();
                if scratch.capacity() > (1 << 20) {
                    scratch.shrink_to(1 << 20);
                }
                self.scratch = scratch;
                match result {
                    Ok(ended) => {
                        if let Some(index) = &mut self.index {
                            index.push(ChunkEntry {
                                offset: self.chunk_start,
                                bytes: (self.offset - self.chunk_start) as u32,
                                first_event,
                                events: (self.decoder.events() - first_event) as u32,
                                start,
                            });
                        }
                        self.chunks += 1;
                        self.valid_bytes = self.offset;
                        self.stage = if ended { Stage::Done } else { Stage::ChunkHead };
                        Ok(())
                    }
                    Err(Corrupt(reason)) if self.decoder.over_limit() => {
                        Err(self.over_limit(*reason))
                    }
                    Err(Corrupt(reason)) => self.bad_chunk(*reason),
                }
            }
            Stage::Sniff | Stage::Stopped | Stage::Done => Ok(()),
        }
    }

    /// Fails reading at a chunk over a limit.
    fn over_limit(&mut self, reason: String) -> TraceError {
        self.fail(TraceError::OverLimit {
            reason: format!(
                "chunk #{} at byte {} goes over a reader limit: {reason}",
                self.chunks + 1,
                self.chunk_start
            ),
        })
    }

    /// Stops at a damaged chunk: an error for the header chunk, a
    /// truncation for any other.
    fn bad_chunk(&mut self, reason: String) -> Result<(), TraceError> {
        if self.decoder.trace().is_none() {
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
