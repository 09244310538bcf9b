//! The trace file format, byte by byte, and the small encoding helpers the
//! [writer](super::writer) and the [reader](super::reader) share.
//!
//! # File layout
//!
//! ```text
//! file    = magic version chunk*
//! magic   = 89 54 53 56 0D 0A 1A 0A        (\x89 "TSV" \r \n \x1a \n)
//! version = major:u16le minor:u16le        (currently 1.1)
//! chunk   = clen:u32le ulen:u32le crc:u32le payload[clen]
//! ```
//!
//! The magic number follows PNG's design: the high-bit first byte catches
//! 7-bit transfers, `\r\n` and the lone `\n` catch line-ending conversion in
//! either direction, and `\x1a` stops `type` on DOS-like systems.
//!
//! A reader rejects a major version other than its own and accepts any
//! minor version of its major version (see *Extensions* below).
//!
//! Each chunk's `payload` is one LZ4 *block* (the raw block format, no LZ4
//! frame header), `clen` bytes long, decompressing to exactly `ulen` bytes;
//! `crc` is the CRC-32 (IEEE 802.3, as in zlib and PNG) of the `clen`
//! compressed bytes. `ulen` is at most [`MAX_CHUNK_BYTES`] and `clen` at most
//! the LZ4 worst case for that size (`16 + 4 + ulen * 110 / 100`); larger
//! declared lengths are corruption. Chunks are independently decompressible
//! (no LZ4 dictionary is shared between them), but the *decoding state*
//! (interned strings, known code ids, the previous timestamp and thread)
//! carries over from chunk to chunk for the whole file. A record never spans
//! two chunks.
//!
//! The first chunk holds the header record first (the writer puts it alone
//! in that chunk and writes it at once). The last record of a complete file
//! is the trailer; nothing follows it, neither in its chunk nor after it.
//!
//! # Records
//!
//! The decompressed bytes of a chunk are a sequence of records, each a tag
//! byte followed by its fields. Field types:
//!
//! * `uv`: unsigned LEB128 varint (7 bits per byte, least significant group
//!   first, high bit set on every byte but the last; at most 10 bytes for
//!   64 bits). Fields documented as u32 must fit in 32 bits.
//! * `sv`: signed: zigzag (`(n << 1) ^ (n >> 63)`) then `uv`.
//! * `str`: `uv` byte length, then that many bytes of UTF-8.
//! * `bytes`: `uv` length, then that many bytes.
//! * `sid`: `uv` string id: an index into the file's string table, which
//!   string-definition records fill in order (the first one defines id 0).
//!   A `sid` must refer to a string defined by an earlier record.
//! * `osid`: optional string id: `0` for none, `id + 1` otherwise.
//! * `ostr`: optional inline string: `uv` `0` for none, `len + 1` then `len`
//!   bytes of UTF-8.
//!
//! | tag | record | fields |
//! |---|---|---|
//! | `0x01` | header | `str`: the [`TraceHeader`](super::TraceHeader) as JSON |
//! | `0x02` | string definition | `str`: the string; gets the next id |
//! | `0x03` | `sys.path` version | `uv` count, then count × `sid` |
//! | `0x04` | module | name `sid`, path `sid` |
//! | `0x05` | project marker dir | `sid` |
//! | `0x06` | source file | path `sid`, text `ostr`, omitted `ostr` |
//! | `0x07` | code object | id `uv` (u32), filename `sid`, qualname `sid`, first line `uv` (u32), `__name__` `osid`, inputs: sys_path `uv`, modules `uv`, markers `uv` (u32 each) |
//! | `0x08` | trailer | `str`: the [`Trailer`](super::Trailer) as JSON |
//! | `0x20`–`0x3F` | extension | `bytes`; skipped by readers that do not know the tag |
//! | `0x80`–`0xFF` | event | see below |
//!
//! Other tags are corruption. Code ids are unique within a file (not
//! necessarily dense). A code record's inputs refer to what was written
//! before it: `modules` and `markers` are at most the number of module and
//! marker records so far, and `sys_path` is less than the number of
//! `sys.path` records so far (or 0 when there is none yet).
//!
//! ## Events
//!
//! An event tag is `0x80 | flags | kind`, with `kind` in the low 4 bits and
//! the flags
//!
//! * `0x10` *thread*: a `uv` thread number follows the tag. Without it, the
//!   event's thread is the previous event's (0 before the first event).
//! * `0x20` *list*: the event carries a non-empty argument/variable list
//!   (Call and Line only). Without it the list is empty and not written.
//! * `0x40` *back*: the time delta below is subtracted, not added.
//!
//! Then: `[thread uv]`, `dt uv` (the event's time is the previous event's
//! time plus `dt`, or minus it with *back*; the first event's predecessor
//! has time 0), then the kind's fields:
//!
//! | kind | event | fields after `dt` |
//! |---|---|---|
//! | 0 | ThreadStart | name `sid` |
//! | 1 | Call | code `uv`, `[uv count, count × var]` |
//! | 2 | Resume | code `uv` |
//! | 3 | Throw | code `uv`, exception `slot` |
//! | 4 | Line | line `uv`, `[uv count, count × var]` |
//! | 5 | Return | `slot` |
//! | 6 | Yield | `slot` |
//! | 7 | Unwind | `slot` |
//! | 8 | Raise | line `uv`, exception `slot` |
//!
//! `code` must be the id of an earlier code record. So a Call without
//! arguments, on the same thread, less than 16 µs after the previous event,
//! of one of the first 128 code objects costs 4 bytes; a Line without
//! variables below line 128 costs the same.
//!
//! A `var` is `uv (name_sid << 3 | kind)`, kind being 0 `arg`, 1 `local`,
//! 2 `global`, 3 `ret`, 4 `attr`, followed by a `slot`.
//!
//! ## Values
//!
//! A `slot` is one byte: `0x40` redacted, `0x41` dropped, `0x42` absent, or
//! else the first byte of a `value`. A `value` starts with a byte whose low
//! five bits are its kind and whose bit `0x20` (*cut*) says that an explicit
//! full length `uv` is present; without *cut*, the full length equals the
//! number of bytes/items written. Only the kinds marked (cut) may set it.
//! Bits `0x40` and `0x80` of a value byte are never set.
//!
//! | kind | value | fields |
//! |---|---|---|
//! | 0 | None | |
//! | 1 | False | |
//! | 2 | True | |
//! | 3 | Int | `sv` |
//! | 4 | BigInt | digits `str` |
//! | 5 | Float | 8 bytes: the IEEE-754 bits, little-endian |
//! | 6 | Str (cut) | `uv n`, `[length uv]`, `n` bytes of UTF-8 |
//! | 7 | Bytes (cut) | `uv n`, `[length uv]`, `n` bytes |
//! | 8–11 | list, tuple, set, frozenset (cut) | `uv n`, `[length uv]`, `n` × `value` |
//! | 12 | Dict (cut) | `uv n`, `[length uv]`, `n` × (key `value`, value `value`) |
//! | 13 | Object (cut) | type `sid`, `uv n`, `[length uv]`, `n` × (name `sid`, `slot`) |
//! | 14 | Repr (cut) | type `sid`, `uv n`, `[length uv]`, `n` bytes of UTF-8 |
//! | 15 | ReprError | type `sid`, message `str` |
//! | 16 | Deep | type `sid` |
//! | 17 | Cycle | type `sid` |
//! | 18 | Redacted | (since 1.1) |
//!
//! Values nest at most [`MAX_VALUE_DEPTH`] levels (a scalar at the top is
//! level 1); deeper nesting is corruption (and the writer refuses it).
//! Value strings are written inline, not interned, so the writer's memory
//! does not grow with distinct values; names (variables, attributes, types,
//! files, qualnames, modules, threads) are interned.
//!
//! ## Extensions
//!
//! A later minor version may add header or trailer JSON fields, records
//! with tags `0x20`–`0x3F`, and value kinds; everything else needs a new
//! major version. A reader of an earlier minor version reads such a file up
//! to the first value of a kind it does not know, as up to any invalid
//! record. Version 1.1 added value kind 18, Redacted.
//!
//! # Damage
//!
//! Reading stops at the first chunk that is cut short, declares impossible
//! lengths, fails its CRC, does not decompress to `ulen` bytes, or whose
//! records are invalid (a bad tag, a field running past the end of the
//! chunk, invalid UTF-8, an unknown string or code id, out-of-range numbers,
//! records after the trailer). Such a chunk is dropped whole, and
//! everything before it is the result, with a
//! [`Truncation`](super::Truncation) saying where and why. A chunk with a
//! valid CRC but invalid records is treated this way too, rather than as an
//! error: it can only come from a faulty or hostile writer, and the chunks
//! before it are still worth showing. Only damage to the magic number, the
//! version or the first (header) chunk makes the whole file unreadable.
//!
//! # Limits
//!
//! Readers hold one chunk at a time, so what one chunk may cost is bounded
//! (see [`super::decode`]): its declared size ([`MAX_CHUNK_BYTES`]; more is
//! damage, found before anything is allocated), the memory its events and
//! values decode to, thread numbers, and the frames open at once. An intact
//! chunk over the last three is [`OverLimit`](super::TraceError::OverLimit),
//! an error for the whole file: the writer never produces one, and what it
//! asks for is not held. Ids (of strings, codes, threads) are looked up,
//! never used as indexes.

use std::fmt;

/// The 8 bytes every trace file starts with.
pub const MAGIC: [u8; 8] = *b"\x89TSV\r\n\x1a\n";

/// Bytes before the first chunk: the magic number and the version.
pub const PREAMBLE_BYTES: usize = 12;

/// Bytes of a chunk's header (lengths and CRC).
pub const CHUNK_HEADER_BYTES: usize = 12;

/// The largest decompressed chunk a reader accepts (16 MiB): the writer
/// seals chunks at 64 KiB, or at one record of at most [`MAX_RECORD_BYTES`].
pub const MAX_CHUNK_BYTES: usize = 16 << 20;

/// The largest single record the writer accepts (8 MiB, including the
/// string definitions it brings along).
pub const MAX_RECORD_BYTES: usize = 8 << 20;

/// The decompressed size at which the writer seals a chunk by default.
pub const DEFAULT_CHUNK_BYTES: usize = 64 << 10;

/// The deepest nesting of values the format allows.
pub const MAX_VALUE_DEPTH: usize = 64;

/// The largest compressed payload allowed for a decompressed size.
pub fn max_compressed_bytes(uncompressed: usize) -> usize {
    lz4_flex::block::get_maximum_output_size(uncompressed)
}

/// The most bytes an LZ4 block of `compressed` bytes can decompress to: a
/// match's length grows by 255 for each extra byte, so about 255 per byte.
/// A chunk declaring more is damage, found before anything is allocated.
pub fn max_decompressed_bytes(compressed: usize) -> usize {
    compressed.saturating_mul(255).saturating_add(64)
}

/// Record tags.
pub(crate) mod tag {
    pub const HEADER: u8 = 0x01;
    pub const STRING: u8 = 0x02;
    pub const SYS_PATH: u8 = 0x03;
    pub const MODULE: u8 = 0x04;
    pub const MARKER: u8 = 0x05;
    pub const SOURCE: u8 = 0x06;
    pub const CODE: u8 = 0x07;
    pub const TRAILER: u8 = 0x08;
    pub const EXTENSION_FIRST: u8 = 0x20;
    pub const EXTENSION_LAST: u8 = 0x3F;
    pub const EVENT: u8 = 0x80;

    pub const EV_THREAD: u8 = 0x10;
    pub const EV_LIST: u8 = 0x20;
    pub const EV_BACK: u8 = 0x40;
    pub const EV_KIND_MASK: u8 = 0x0F;

    pub const EV_THREAD_START: u8 = 0;
    pub const EV_CALL: u8 = 1;
    pub const EV_RESUME: u8 = 2;
    pub const EV_THROW: u8 = 3;
    pub const EV_LINE: u8 = 4;
    pub const EV_RETURN: u8 = 5;
    pub const EV_YIELD: u8 = 6;
    pub const EV_UNWIND: u8 = 7;
    pub const EV_RAISE: u8 = 8;

    pub const SLOT_REDACTED: u8 = 0x40;
    pub const SLOT_DROPPED: u8 = 0x41;
    pub const SLOT_ABSENT: u8 = 0x42;

    pub const VAL_CUT: u8 = 0x20;
    pub const VAL_KIND_MASK: u8 = 0x1F;

    pub const VAL_NONE: u8 = 0;
    pub const VAL_FALSE: u8 = 1;
    pub const VAL_TRUE: u8 = 2;
    pub const VAL_INT: u8 = 3;
    pub const VAL_BIGINT: u8 = 4;
    pub const VAL_FLOAT: u8 = 5;
    pub const VAL_STR: u8 = 6;
    pub const VAL_BYTES: u8 = 7;
    pub const VAL_LIST: u8 = 8;
    pub const VAL_TUPLE: u8 = 9;
    pub const VAL_SET: u8 = 10;
    pub const VAL_FROZENSET: u8 = 11;
    pub const VAL_DICT: u8 = 12;
    pub const VAL_OBJECT: u8 = 13;
    pub const VAL_REPR: u8 = 14;
    pub const VAL_REPR_ERROR: u8 = 15;
    pub const VAL_DEEP: u8 = 16;
    pub const VAL_CYCLE: u8 = 17;
    pub const VAL_REDACTED: u8 = 18;
}

/// Appends `v` as an unsigned LEB128 varint.
#[inline]
pub(crate) fn put_uv(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends `v` zigzag-encoded.
#[inline]
pub(crate) fn put_sv(buf: &mut Vec<u8>, v: i64) {
    put_uv(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Appends a length-prefixed byte string.
#[inline]
pub(crate) fn put_bytes(buf: &mut Vec<u8>, bytes: &[u8]) {
    put_uv(buf, bytes.len() as u64);
    buf.extend_from_slice(bytes);
}

/// Why a chunk's records could not be decoded. Boxed, so that the results
/// of the decoder's many small reads stay two words wide.
#[derive(Debug, Clone, PartialEq, Eq)]
// A `Box<str>` would be two words itself; the rare failure pays the extra allocation.
#[allow(clippy::box_collection)]
pub(crate) struct Corrupt(pub Box<String>);

impl Corrupt {
    /// A failure saying `what`.
    pub(crate) fn new(what: impl Into<String>) -> Corrupt {
        Corrupt(Box::new(what.into()))
    }
}

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shorthand for a decoding failure.
pub(crate) fn corrupt<T>(what: impl Into<String>) -> Result<T, Corrupt> {
    Err(Corrupt::new(what))
}

/// A bounds-checked reading position in a decompressed chunk.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, Corrupt> {
        match self.bytes.get(self.pos) {
            Some(&b) => {
                self.pos += 1;
                Ok(b)
            }
            None => corrupt("a record runs past the end of its chunk"),
        }
    }

    #[inline]
    pub(crate) fn uv(&mut self) -> Result<u64, Corrupt> {
        let mut v: u64 = 0;
        let mut shift = 0u32;
        loop {
            let b = self.u8()?;
            let low = u64::from(b & 0x7F);
            if shift == 63 && low > 1 {
                return corrupt("a varint overflows 64 bits");
            }
            v |= low << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
            shift += 7;
            if shift > 63 {
                return corrupt("a varint is longer than 10 bytes");
            }
        }
    }

    #[inline]
    pub(crate) fn sv(&mut self) -> Result<i64, Corrupt> {
        let u = self.uv()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    #[inline]
    pub(crate) fn u32v(&mut self, what: &str) -> Result<u32, Corrupt> {
        let v = self.uv()?;
        u32::try_from(v).map_err(|_| Corrupt::new(format!("{what} {v} does not fit in 32 bits")))
    }

    /// A count of items that each take at least one byte: bounded by what is left.
    pub(crate) fn count(&mut self) -> Result<usize, Corrupt> {
        let n = self.uv()?;
        if n > self.remaining() as u64 {
            return corrupt(format!(
                "a count of {n} items exceeds the {} bytes left in the chunk",
                self.remaining()
            ));
        }
        Ok(n as usize)
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Corrupt> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len());
        match end.and_then(|end| self.bytes.get(self.pos..end).map(|s| (s, end))) {
            Some((slice, end)) => {
                self.pos = end;
                Ok(slice)
            }
            None => corrupt(format!(
                "a field of {n} bytes runs past the end of its chunk"
            )),
        }
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], Corrupt> {
        let n = self.uv()?;
        let n = usize::try_from(n)
            .map_err(|_| Corrupt::new(format!("a length of {n} is too large")))?;
        self.take(n)
    }

    pub(crate) fn str_of_len(&mut self, n: usize) -> Result<&'a str, Corrupt> {
        let raw = self.take(n)?;
        std::str::from_utf8(raw)
            .map_err(|e| Corrupt::new(format!("a string is not valid UTF-8 ({e})")))
    }

    pub(crate) fn str(&mut self) -> Result<&'a str, Corrupt> {
        let raw = self.bytes()?;
        std::str::from_utf8(raw)
            .map_err(|e| Corrupt::new(format!("a string is not valid UTF-8 ({e})")))
    }

    pub(crate) fn ostr(&mut self) -> Result<Option<&'a str>, Corrupt> {
        match self.uv()? {
            0 => Ok(None),
            n => {
                let n = usize::try_from(n - 1)
                    .map_err(|_| Corrupt::new(format!("a length of {n} is too large")))?;
                self.str_of_len(n).map(Some)
            }
        }
    }

    pub(crate) fn f64(&mut self) -> Result<f64, Corrupt> {
        let raw = self.take(8)?;
        let mut le = [0u8; 8];
        le.copy_from_slice(raw);
        Ok(f64::from_bits(u64::from_le_bytes(le)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip() {
        let values = [
            0u64,
            1,
            127,
            128,
            255,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ];
        for v in values {
            let mut buf = Vec::new();
            put_uv(&mut buf, v);
            let mut c = Cursor::new(&buf);
            assert_eq!(c.uv().unwrap(), v);
            assert!(c.is_empty());
        }
        for v in [0i64, 1, -1, 63, -64, 64, -65, i64::MAX, i64::MIN] {
            let mut buf = Vec::new();
            put_sv(&mut buf, v);
            let mut c = Cursor::new(&buf);
            assert_eq!(c.sv().unwrap(), v);
            assert!(c.is_empty());
        }
        let mut buf = Vec::new();
        put_sv(&mut buf, -64);
        assert_eq!(buf.len(), 1);
    }

    #[test]
    fn bad_varints_are_corrupt() {
        // 11 continuation bytes.
        assert!(Cursor::new(&[0xFF; 11]).uv().is_err());
        // The tenth byte may only hold one bit.
        let mut too_big = vec![0xFF; 9];
        too_big.push(0x02);
        assert!(Cursor::new(&too_big).uv().is_err());
        let mut max = vec![0xFF; 9];
        max.push(0x01);
        assert_eq!(Cursor::new(&max).uv().unwrap(), u64::MAX);
        // Cut short.
        assert!(Cursor::new(&[0x80]).uv().is_err());
        assert!(Cursor::new(&[]).u8().is_err());
    }

    #[test]
    fn lengths_are_bounded_by_the_chunk() {
        let mut buf = Vec::new();
        put_uv(&mut buf, u64::MAX);
        assert!(Cursor::new(&buf).bytes().is_err());
        assert!(Cursor::new(&buf).count().is_err());
        assert!(Cursor::new(&buf).ostr().is_err());
        let mut c = Cursor::new(&[3, b'a', b'b']);
        assert!(c.str().is_err());
        let mut c = Cursor::new(&[2, 0xC3, 0x28]);
        assert!(c.str().is_err());
    }

    #[test]
    fn magic_detects_text_mode_damage() {
        assert!(MAGIC[0] >= 0x80);
        assert!(MAGIC.windows(2).any(|w| w == b"\r\n"));
        assert!(MAGIC.contains(&0x1A));
        assert_eq!(MAGIC[7], b'\n');
    }
}
