//! Says what a file that is not a trace is, from its first bytes, so that a
//! user who drops a JSON export, a CodeTracer trace or a compressed file
//! learns what to do instead. Only [`SNIFF_BYTES`] bytes are ever looked at.

use super::codec::MAGIC;

/// How many bytes of a non-trace file are looked at to say what it is.
pub const SNIFF_BYTES: usize = 256;

/// Says what a file that is not a trace seems to be.
pub fn describe(bytes: &[u8]) -> String {
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
