//! Where each chunk of a trace file is, so that any chunk can be decoded
//! again on its own: a reader that keeps an index ([`TraceReader::indexing`])
//! notes every chunk it decodes, and a [`ChunkReplayer`] made from it when
//! reading ends decodes the events of one chunk from its bytes. The viewer
//! keeps this instead of the events, and reads a call's events back from the
//! file when they are shown.

use super::codec::{self, CHUNK_HEADER_BYTES, MAX_CHUNK_BYTES};
use super::decode::Decoder;
use super::model::Event;
use super::reader::{TraceError, TraceReader};
use serde::{Deserialize, Serialize};

/// One decoded chunk of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkEntry {
    /// File offset of the chunk's header.
    pub offset: u64,
    /// Its length, header included.
    pub bytes: u32,
    /// The number of its first event in the file (counting from 0).
    pub first_event: u64,
    /// How many events it holds.
    pub events: u32,
    /// The time and thread of the event before it (where its deltas start).
    pub start: (u64, u32),
}

impl ChunkEntry {
    /// The file range `offset .. offset + bytes`.
    pub fn range(&self) -> std::ops::Range<u64> {
        self.offset..self.offset + u64::from(self.bytes)
    }
}

/// Decodes chunks of a file again, one at a time, with the tables of a
/// complete reading of it.
#[derive(Debug)]
pub struct ChunkReplayer {
    decoder: Decoder,
    scratch: Vec<u8>,
}

impl ChunkReplayer {
    pub(crate) fn new(decoder: Decoder) -> ChunkReplayer {
        ChunkReplayer {
            decoder,
            scratch: Vec::new(),
        }
    }

    /// The events of the chunk `entry` describes, from `bytes`, its bytes
    /// in the file ([`ChunkEntry::range`]). Fails if they are not that
    /// chunk (the file changed since it was indexed).
    pub fn events(&mut self, entry: &ChunkEntry, bytes: &[u8]) -> Result<Vec<Event>, TraceError> {
        let changed = |why: &str| {
            TraceError::BadHeader {
            reason: format!(
                "chunk at byte {} cannot be read again ({why}): the file changed after it was opened",
                entry.offset
            ),
        }
        };
        let field = |at: usize| {
            bytes
                .get(at..at + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
                .unwrap_or(0)
        };
        let (clen, ulen, crc) = (field(0) as usize, field(4) as usize, field(8));
        let body = bytes
            .get(CHUNK_HEADER_BYTES..)
            .filter(|body| body.len() == clen && ulen <= MAX_CHUNK_BYTES)
            .filter(|_| clen <= codec::max_compressed_bytes(ulen))
            .ok_or_else(|| changed("its length"))?;
        if crc32fast::hash(body) != crc {
            return Err(changed("its checksum"));
        }
        self.scratch.clear();
        self.scratch.resize(ulen, 0);
        match lz4_flex::block::decompress_into(body, &mut self.scratch) {
            Ok(n) if n == ulen => {}
            _ => return Err(changed("it does not decompress")),
        }
        self.decoder.set_position(entry.start);
        let decoded = self.decoder.decode_chunk(&self.scratch, body.len());
        self.scratch.clear();
        decoded.map_err(|e| changed(&e.0))?;
        let events = self.decoder.take_events();
        if events.len() != entry.events as usize {
            return Err(changed("its events"));
        }
        Ok(events)
    }
}

impl TraceReader {
    /// The replayer of this reader's file, once it is read (with its index,
    /// [`TraceReader::indexing`]).
    pub fn replayer(&self) -> Option<ChunkReplayer> {
        self.decoder_snapshot().map(ChunkReplayer::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::decode::Keep;
    use crate::trace::model::Trace;
    use crate::trace::refilter::testkit::{int, string, TraceBuilder};
    use crate::trace::TraceWriter;
    use crate::ValueKind;

    fn trace() -> Trace {
        let mut b = TraceBuilder::new();
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        b.thread(0, "MainThread");
        for i in 0..200 {
            b.call(0, f, &[("n", int(i))]);
            b.line(
                0,
                4,
                &[(ValueKind::Local, "s", string(&"x".repeat(i as usize % 7)))],
            );
            if i % 50 == 0 {
                b.thread(1 + (i / 50) as u32, "worker");
                b.call(1 + (i / 50) as u32, f, &[]);
            }
            b.ret(0, int(i));
        }
        b.finish()
    }

    /// The trace written in chunks of about `chunk_bytes`, with a code
    /// defined midway, so that later chunks need tables from earlier ones.
    fn file(trace: &Trace, chunk_bytes: usize) -> Vec<u8> {
        let mut w =
            TraceWriter::with_chunk_bytes(Vec::new(), &trace.header, chunk_bytes).expect("writer");
        w.tables(trace).expect("tables");
        for event in &trace.events {
            w.event(event).expect("event");
        }
        w.finish(trace.trailer.as_ref().expect("trailer"))
            .expect("finish")
    }

    #[test]
    fn every_chunk_decodes_again_to_its_events() {
        let trace = trace();
        for chunk_bytes in [64, 300, 64 << 10] {
            let bytes = file(&trace, chunk_bytes);
            let mut reader = TraceReader::indexing(Keep::All);
            reader.push(&bytes).expect("reads");
            let index = reader.index().expect("an index").to_vec();
            let mut replayer = reader.replayer().expect("a replayer");
            let read = reader.finish().expect("finishes").trace;
            assert_eq!(
                index.iter().map(|c| u64::from(c.events)).sum::<u64>(),
                read.events.len() as u64
            );
            assert_eq!(index.first().map(|c| c.offset), Some(12));
            // Backwards, so that no chunk relies on the one before it.
            for entry in index.iter().rev() {
                let range = entry.range();
                let chunk = &bytes[range.start as usize..range.end as usize];
                let events = replayer.events(entry, chunk).expect("decodes again");
                let first = entry.first_event as usize;
                assert_eq!(events, read.events[first..first + events.len()]);
            }
            // Other bytes are refused, not misread.
            let last = index.last().expect("chunks");
            let wrong = &bytes[..last.bytes as usize];
            assert!(replayer.events(last, wrong).is_err());
        }
    }
}
