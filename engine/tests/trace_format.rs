//! The trace file format: round trips, streaming, damage and hostile input.

use proptest::prelude::*;
use tracesieve_engine::identity::ModuleFile;
use tracesieve_engine::trace::codec::{CHUNK_HEADER_BYTES, MAGIC, MAX_CHUNK_BYTES, PREAMBLE_BYTES};
use tracesieve_engine::trace::stream::read_tables;
use tracesieve_engine::trace::{
    read_trace, write_trace, Attr, CodeInfo, Event, FilterStats, InputsAt, ReadOutcome,
    RecordedFilter, SequenceKind, Slot, SourceFile, Trace, TraceError, TraceHeader, TraceReader,
    TraceWriter, Trailer, Value, ValueBounds, ValuesMode, Var, FORMAT_VERSION,
};
use tracesieve_engine::{Framework, NamingMode, Platform, ValueKind};

fn header() -> TraceHeader {
    TraceHeader {
        recorder: "tracesieve 0.1.0".into(),
        python: "3.11.7 (main, Jan  1 2024) [GCC 12.2.0]".into(),
        platform: Platform::Windows,
        argv: vec!["app.py".into(), "--naïve".into(), "日本語".into()],
        cwd: "C:\\proj".into(),
        start_unix_ms: 1_700_000_000_123,
        filters: vec![
            RecordedFilter {
                path: "<inline:builtin-default>".into(),
                text: "[meta]\nname = \"builtin-default\"\nversion = 1\n".into(),
                project_root: None,
                sha256: "ab".repeat(32),
                inline: true,
            },
            RecordedFilter {
                path: "C:\\proj\\.codetracer\\trace-filter.toml".into(),
                text: "# ünïcödé ✓\n".into(),
                project_root: Some("C:\\proj".into()),
                sha256: "cd".repeat(32),
                inline: false,
            },
        ],
        framework: Some(Framework::Pytest),
        naming: NamingMode::Paths,
        values: ValuesMode::All,
        bounds: ValueBounds {
            max_depth: 4,
            max_items: 10,
            max_string_bytes: 100,
            max_nodes: 50,
        },
        repr: true,
        process: None,
    }
}

fn int(v: i64) -> Value {
    Value::Int { value: v }
}

fn val(value: Value) -> Slot {
    Slot::Value { value }
}

/// Every value variant, nested, with cut and uncut lengths.
fn every_value() -> Vec<Value> {
    let object = Value::Object {
        type_name: "app.models.User".into(),
        attrs: vec![
            Attr {
                name: "name".into(),
                value: val(Value::Str {
                    value: "Zoë 🐍".into(),
                    length: 7,
                }),
            },
            Attr {
                name: "password".into(),
                value: Slot::Redacted,
            },
            Attr {
                name: "token".into(),
                value: Slot::Dropped,
            },
            Attr {
                name: "lazy".into(),
                value: Slot::Absent,
            },
        ],
        length: 6,
    };
    vec![
        Value::None,
        Value::Bool { value: true },
        Value::Bool { value: false },
        int(0),
        int(-1),
        int(i64::MAX),
        int(i64::MIN),
        Value::BigInt {
            digits: "-123456789012345678901234567890".into(),
        },
        Value::Float { value: 0.1 },
        Value::Float { value: -0.0 },
        Value::Float {
            value: f64::INFINITY,
        },
        Value::Float {
            value: f64::NEG_INFINITY,
        },
        Value::Float {
            value: f64::MIN_POSITIVE,
        },
        Value::Str {
            value: String::new(),
            length: 0,
        },
        Value::Str {
            value: "cut ✂".into(),
            length: 10_000,
        },
        Value::Bytes {
            value: vec![0, 1, 0xFF, 0x89],
            length: 4,
        },
        Value::Bytes {
            value: vec![7; 3],
            length: u64::MAX,
        },
        Value::Sequence {
            kind: SequenceKind::List,
            items: vec![int(1), Value::None, object.clone()],
            length: 3,
        },
        Value::Sequence {
            kind: SequenceKind::Tuple,
            items: vec![],
            length: 0,
        },
        Value::Sequence {
            kind: SequenceKind::Set,
            items: vec![int(3)],
            length: 40,
        },
        Value::Sequence {
            kind: SequenceKind::FrozenSet,
            items: vec![Value::Sequence {
                kind: SequenceKind::Tuple,
                items: vec![int(1), int(2)],
                length: 2,
            }],
            length: 1,
        },
        Value::Dict {
            entries: vec![
                (
                    Value::Str {
                        value: "k".into(),
                        length: 1,
                    },
                    Value::Dict {
                        entries: vec![(int(1), object.clone())],
                        length: 1,
                    },
                ),
                (Value::None, Value::Bool { value: true }),
            ],
            length: 99,
        },
        object,
        Value::Object {
            type_name: "object".into(),
            attrs: vec![],
            length: 0,
        },
        Value::Repr {
            type_name: "numpy.ndarray".into(),
            text: "array([1, 2, 3])".into(),
            length: 16,
        },
        Value::Repr {
            type_name: "Big".into(),
            text: "<Big ".into(),
            length: 1 << 40,
        },
        Value::ReprError {
            type_name: "Broken".into(),
            message: "ValueError: nope".into(),
        },
        Value::Deep {
            type_name: "list".into(),
        },
        Value::Cycle {
            type_name: "dict".into(),
        },
    ]
}

fn code(id: u32, qualname: &str, inputs: InputsAt) -> CodeInfo {
    CodeInfo {
        id,
        filename: "C:\\proj\\app.py".into(),
        qualname: qualname.into(),
        first_line: id * 10 + 1,
        dunder_name: if id.is_multiple_of(2) {
            Some("app".into())
        } else {
            None
        },
        inputs,
    }
}

/// A trace with every event, value and slot variant, several threads and
/// times going backwards once.
fn rich_trace() -> Trace {
    let values = every_value();
    let mut events = vec![Event::ThreadStart {
        thread: 0,
        name: "MainThread".into(),
        t: 0,
    }];
    let mut t = 100;
    let kinds = [
        ValueKind::Arg,
        ValueKind::Local,
        ValueKind::Global,
        ValueKind::Ret,
        ValueKind::Attr,
    ];
    for (i, value) in values.iter().enumerate() {
        t += 1_000 + i as u64 * 37;
        let i32 = i as u32;
        events.push(Event::Call {
            thread: 0,
            t,
            code: i32 % 4,
            args: vec![
                Var {
                    kind: kinds[i % 5],
                    name: format!("arg_{}", i % 3).into(),
                    value: val(value.clone()),
                },
                Var {
                    kind: ValueKind::Arg,
                    name: "secret".into(),
                    value: Slot::Redacted,
                },
            ],
        });
        t += 10;
        events.push(Event::Line {
            thread: 0,
            t,
            line: 1 + i32,
            vars: vec![Var {
                kind: ValueKind::Local,
                name: "変数".into(),
                value: val(value.clone()),
            }],
        });
        events.push(Event::Return {
            thread: 0,
            t: t + 5,
            value: val(value.clone()),
        });
    }
    events.extend([
        Event::ThreadStart {
            thread: 1,
            name: "worker-1".into(),
            t: t + 100,
        },
        Event::Call {
            thread: 1,
            t: t + 200,
            code: 3,
            args: vec![],
        },
        Event::Line {
            thread: 1,
            t: t + 300,
            line: 31,
            vars: vec![],
        },
        // Another thread's clock reading may be slightly earlier.
        Event::Line {
            thread: 0,
            t: t + 250,
            line: 5,
            vars: vec![Var {
                kind: ValueKind::Global,
                name: "CONFIG".into(),
                value: Slot::Absent,
            }],
        },
        Event::Yield {
            thread: 1,
            t: t + 400,
            value: val(int(42)),
        },
        Event::Resume {
            thread: 1,
            t: t + 500,
            code: 3,
        },
        Event::Throw {
            thread: 1,
            t: t + 600,
            code: 3,
            exception: Box::new(val(values[22].clone())),
        },
        Event::Raise {
            thread: 1,
            t: t + 700,
            line: 33,
            exception: Box::new(Slot::Redacted),
        },
        Event::Unwind {
            thread: 1,
            t: t + 800,
            value: val(Value::Object {
                type_name: "KeyError".into(),
                attrs: vec![],
                length: 2,
            }),
        },
        Event::Return {
            thread: 0,
            t: t + 900,
            value: Slot::Dropped,
        },
        Event::Return {
            thread: 0,
            t: u64::MAX,
            value: Slot::Absent,
        },
    ]);
    Trace {
        header: header(),
        codes: vec![
            code(0, "<module>", InputsAt::default()),
            code(
                1,
                "main",
                InputsAt {
                    sys_path: 1,
                    modules: 2,
                    markers: 1,
                },
            ),
            code(
                2,
                "User.__init__",
                InputsAt {
                    sys_path: 1,
                    modules: 2,
                    markers: 1,
                },
            ),
            code(
                3,
                "worker.<locals>.gen",
                InputsAt {
                    sys_path: 1,
                    modules: 2,
                    markers: 1,
                },
            ),
        ],
        sys_paths: vec![
            vec!["C:\\proj".into(), "C:\\py\\lib".into()],
            vec![String::new(), "C:\\proj".into()],
        ],
        modules: vec![
            ModuleFile {
                name: "app".into(),
                path: "C:\\proj\\app.py".into(),
            },
            ModuleFile {
                name: "app.models".into(),
                path: "C:\\proj\\app\\models.py".into(),
            },
        ],
        markers: vec!["C:\\proj".into()],
        sources: vec![
            SourceFile {
                path: "C:\\proj\\app.py".into(),
                text: Some("def main():\n    print('héllo')\n".into()),
                omitted: None,
            },
            SourceFile {
                path: "C:\\proj\\big.py".into(),
                text: None,
                omitted: Some("over the 1 MiB cap".into()),
            },
            SourceFile {
                path: "C:\\proj\\empty.py".into(),
                text: Some(String::new()),
                omitted: None,
            },
        ],
        events,
        trailer: Some(Trailer {
            exit_status: Some(-9),
            end_unix_ms: 1_700_000_999_000,
            stats: FilterStats {
                scopes_skipped: 3,
                redacted: [1, 2, 3, 4, 5],
                dropped: [5, 4, 3, 2, 1],
            },
            detached: Some("internal fault".into()),
            size_limit: None,
        }),
    }
}

/// A longer trace over few code objects, for chunking and streaming.
fn long_trace(events: usize) -> Trace {
    let mut trace = rich_trace();
    trace.events.truncate(1);
    let mut t = 1_000;
    for i in 0..events {
        t += 700 + (i as u64 * 7919) % 3000;
        let i32 = i as u32;
        trace.events.push(match i % 4 {
            0 => Event::Call {
                thread: 0,
                t,
                code: i32 % 4,
                args: if i % 8 == 0 {
                    vec![Var {
                        kind: ValueKind::Arg,
                        name: "n".into(),
                        value: val(int(i as i64)),
                    }]
                } else {
                    vec![]
                },
            },
            1 | 2 => Event::Line {
                thread: 0,
                t,
                line: 10 + i32 % 50,
                vars: if i % 3 == 0 {
                    vec![Var {
                        kind: ValueKind::Local,
                        name: format!("v{}", i % 5).into(),
                        value: val(Value::Str {
                            value: format!("item {i}"),
                            length: 5 + i.to_string().len() as u64,
                        }),
                    }]
                } else {
                    vec![]
                },
            },
            _ => Event::Return {
                thread: 0,
                t,
                value: val(Value::None),
            },
        });
    }
    trace
}

/// Writes with small chunks, so even short traces have many.
fn write_small_chunks(trace: &Trace, chunk_bytes: usize) -> Vec<u8> {
    let mut w = TraceWriter::with_chunk_bytes(Vec::new(), &trace.header, chunk_bytes).unwrap();
    for p in &trace.sys_paths {
        w.sys_path(p).unwrap();
    }
    for m in &trace.modules {
        w.module(m).unwrap();
    }
    for d in &trace.markers {
        w.marker(d).unwrap();
    }
    for s in &trace.sources {
        w.source(s).unwrap();
    }
    for c in &trace.codes {
        w.code(c).unwrap();
    }
    for e in &trace.events {
        w.event(e).unwrap();
    }
    match &trace.trailer {
        Some(trailer) => w.finish(trailer).unwrap(),
        None => w.into_inner().unwrap(),
    }
}

/// Chunk start offsets and end offsets of a well-formed file.
fn chunks(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut at = PREAMBLE_BYTES;
    while at < bytes.len() {
        let clen = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let end = at + CHUNK_HEADER_BYTES + clen;
        out.push((at, end));
        at = end;
    }
    assert_eq!(at, bytes.len());
    out
}

/// One chunk holding `records` as they are.
fn raw_chunk(records: &[u8]) -> Vec<u8> {
    let payload = lz4_flex::block::compress(records);
    let mut out = Vec::new();
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&(records.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    out
}

/// The magic, the version and a header chunk.
fn preamble_and_header() -> Vec<u8> {
    TraceWriter::new(Vec::new(), &header())
        .unwrap()
        .into_inner()
        .unwrap()
}

fn push_in_slices(
    bytes: &[u8],
    sizes: impl Iterator<Item = usize>,
) -> Result<ReadOutcome, TraceError> {
    let mut reader = TraceReader::new();
    let mut at = 0;
    for size in sizes {
        if at >= bytes.len() {
            break;
        }
        let end = (at + size).min(bytes.len());
        reader.push(&bytes[at..end])?;
        at = end;
    }
    reader.push(&bytes[at..])?;
    let progress = reader.progress();
    assert_eq!(progress.bytes, bytes.len() as u64);
    reader.finish()
}

#[test]
fn a_rich_trace_round_trips() {
    let trace = rich_trace();
    let bytes = write_trace(&trace);
    let read = read_trace(&bytes).unwrap();
    assert_eq!(read.truncation, None);
    assert_eq!(read.trace, trace);
    // Writing is deterministic.
    assert_eq!(write_trace(&read.trace), bytes);
    assert_eq!(write_small_chunks(&trace, 64 << 10), bytes);
}

#[test]
fn floats_keep_their_bits() {
    let mut trace = rich_trace();
    let specials = [
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7FF0_0000_0000_0001), // signalling NaN payload
        f64::from_bits(0xFFF8_DEAD_BEEF_0001),
        -0.0,
        0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        5e-324,
    ];
    trace.events = specials
        .iter()
        .enumerate()
        .map(|(i, f)| Event::Return {
            thread: 0,
            t: i as u64,
            value: val(Value::Sequence {
                kind: SequenceKind::Tuple,
                items: vec![Value::Float { value: *f }],
                length: 1,
            }),
        })
        .collect();
    let bytes = write_trace(&trace);
    let read = read_trace(&bytes).unwrap();
    assert_eq!(read.truncation, None);
    let bits: Vec<u64> = read
        .trace
        .events
        .iter()
        .map(|e| match e {
            Event::Return {
                value:
                    Slot::Value {
                        value: Value::Sequence { items, .. },
                    },
                ..
            } => match items.as_slice() {
                [Value::Float { value }] => value.to_bits(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        })
        .collect();
    let expected: Vec<u64> = specials.iter().map(|f| f.to_bits()).collect();
    assert_eq!(bits, expected);
    assert_eq!(write_trace(&read.trace), bytes);
}

#[test]
fn a_trace_without_trailer_round_trips_with_a_truncation() {
    let mut trace = rich_trace();
    trace.trailer = None;
    let read = read_trace(&write_trace(&trace)).unwrap();
    assert_eq!(read.trace, trace);
    let truncation = read.truncation.unwrap();
    assert!(
        truncation.reason.contains("without a trailer"),
        "{}",
        truncation.reason
    );
}

#[test]
fn many_chunks_round_trip() {
    let trace = long_trace(20_000);
    let bytes = write_small_chunks(&trace, 256);
    let n = chunks(&bytes).len();
    assert!(n > 200, "only {n} chunks");
    let read = read_trace(&bytes).unwrap();
    assert_eq!(read.truncation, None);
    assert_eq!(read.trace, trace);

    let default = write_trace(&trace);
    assert!(chunks(&default).len() >= 3);
    assert_eq!(read_trace(&default).unwrap().trace, trace);
}

#[test]
fn streaming_gives_the_same_trace_in_any_slices() {
    let trace = long_trace(2_000);
    let bytes = write_small_chunks(&trace, 512);
    let whole = read_trace(&bytes).unwrap();
    assert_eq!(whole.trace, trace);
    let ones = push_in_slices(&bytes, std::iter::repeat(1)).unwrap();
    assert_eq!(ones, whole);
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let random = std::iter::from_fn(move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        Some((seed % 700) as usize)
    });
    assert_eq!(push_in_slices(&bytes, random).unwrap(), whole);
}

#[test]
fn progress_counts_chunks_and_events() {
    let trace = long_trace(1_000);
    let bytes = write_small_chunks(&trace, 1024);
    let mut reader = TraceReader::new();
    assert_eq!(reader.progress().events, 0);
    reader.push(&bytes[..bytes.len() / 2]).unwrap();
    let half = reader.progress();
    assert!(half.chunks > 1 && half.events > 0 && half.events < trace.events.len() as u64);
    assert_eq!(reader.header(), Some(&trace.header));
    reader.push(&bytes[bytes.len() / 2..]).unwrap();
    let done = reader.progress();
    assert_eq!(done.chunks, chunks(&bytes).len() as u64);
    assert_eq!(done.events, trace.events.len() as u64);
    assert_eq!(reader.trace().unwrap().events.len(), trace.events.len());
}

#[test]
fn a_cut_file_reads_up_to_its_last_complete_chunk() {
    let mut trace = rich_trace();
    trace.events.truncate(12);
    let bytes = write_small_chunks(&trace, 48);
    let spans = chunks(&bytes);
    assert!(spans.len() > 5);
    let header_end = spans[0].1;
    for cut in 0..=bytes.len() {
        let result = read_trace(&bytes[..cut]);
        if cut == 0 {
            assert!(
                matches!(result, Err(TraceError::NotATrace { .. })),
                "{result:?}"
            );
            continue;
        }
        if cut < header_end {
            match result {
                Err(TraceError::BadHeader { reason }) => {
                    assert!(reason.contains("ends"), "{reason}")
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
            continue;
        }
        let read = result.unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        if cut == bytes.len() {
            assert_eq!(read.truncation, None);
            assert_eq!(read.trace, trace);
            continue;
        }
        let truncation = read.truncation.clone().unwrap();
        let last_end = spans
            .iter()
            .map(|s| s.1)
            .filter(|end| *end <= cut)
            .max()
            .unwrap();
        assert_eq!(truncation.valid_bytes, last_end as u64, "cut at {cut}");
        assert!(read.trace.trailer.is_none());
        // A prefix of everything, and exactly what the valid prefix holds.
        assert!(trace.events.starts_with(&read.trace.events));
        assert!(trace.codes.starts_with(&read.trace.codes));
        let prefix = read_trace(&bytes[..last_end]).unwrap();
        assert_eq!(prefix.trace, read.trace);
    }
}

#[test]
fn a_flipped_bit_stops_reading_at_its_chunk() {
    let mut trace = rich_trace();
    trace.events.truncate(8);
    let bytes = write_small_chunks(&trace, 64);
    let spans = chunks(&bytes);
    for at in 0..bytes.len() {
        for bit in 0..8 {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1 << bit;
            let result = read_trace(&damaged);
            if at < MAGIC.len() {
                assert!(
                    matches!(result, Err(TraceError::NotATrace { .. })),
                    "{at}: {result:?}"
                );
            } else if at < 10 {
                assert!(
                    matches!(result, Err(TraceError::UnsupportedVersion { .. })),
                    "{at}: {result:?}"
                );
            } else if at < PREAMBLE_BYTES {
                // A newer minor version reads the same.
                assert_eq!(result.unwrap().trace, trace);
            } else if at < spans[0].1 {
                assert!(
                    matches!(result, Err(TraceError::BadHeader { .. })),
                    "{at}: {result:?}"
                );
            } else {
                let read = result.unwrap();
                let (start, _) = spans.iter().find(|s| s.0 <= at && at < s.1).unwrap();
                let truncation = read.truncation.expect("a truncation");
                assert_eq!(
                    truncation.valid_bytes, *start as u64,
                    "bit {bit} of byte {at}"
                );
                assert!(trace.events.starts_with(&read.trace.events));
                assert!(read.trace.trailer.is_none());
            }
        }
    }
}

#[test]
fn a_newer_major_version_is_refused_clearly() {
    let mut bytes = write_trace(&rich_trace());
    bytes[8..10].copy_from_slice(&(FORMAT_VERSION.major + 1).to_le_bytes());
    let err = read_trace(&bytes).unwrap_err();
    assert_eq!(
        err,
        TraceError::UnsupportedVersion {
            found: tracesieve_engine::trace::FormatVersion {
                major: FORMAT_VERSION.major + 1,
                minor: FORMAT_VERSION.minor
            },
            supported: FORMAT_VERSION,
        }
    );
    let message = err.to_string();
    assert!(message.contains("newer tracesieve"), "{message}");
    assert!(
        message.contains(&format!("{}.", FORMAT_VERSION.major + 1)),
        "{message}"
    );
    // Byte by byte, the error comes as soon as the version is complete.
    let mut reader = TraceReader::new();
    for (i, b) in bytes.iter().enumerate() {
        let r = reader.push(&[*b]);
        if i < PREAMBLE_BYTES - 1 {
            r.unwrap();
        } else {
            assert_eq!(r.unwrap_err(), err);
            break;
        }
    }
    assert_eq!(reader.finish().unwrap_err(), err);

    bytes[8..10].copy_from_slice(&0u16.to_le_bytes());
    assert!(read_trace(&bytes)
        .unwrap_err()
        .to_string()
        .contains("older"));
}

#[test]
fn a_newer_minor_version_and_its_extensions_are_read() {
    let trace = rich_trace();
    let mut bytes = write_trace(&trace);
    bytes[10..12].copy_from_slice(&7u16.to_le_bytes());
    // Insert a chunk with an unknown extension record after the header chunk.
    let spans = chunks(&bytes);
    let mut ext = vec![0x2A];
    ext.push(3);
    ext.extend_from_slice(b"abc");
    ext.push(0x3F);
    ext.push(0);
    let mut patched = bytes[..spans[0].1].to_vec();
    patched.extend(raw_chunk(&ext));
    patched.extend_from_slice(&bytes[spans[0].1..]);
    let read = read_trace(&patched).unwrap();
    assert_eq!(read.truncation, None);
    assert_eq!(read.trace, trace);
}

fn not_a_trace(bytes: &[u8]) -> String {
    let whole = read_trace(bytes).unwrap_err();
    let ones = push_in_slices(bytes, std::iter::repeat(1)).unwrap_err();
    assert_eq!(whole, ones);
    match whole {
        TraceError::NotATrace { found } => found,
        other => panic!("{other:?}"),
    }
}

#[test]
fn other_files_are_named() {
    assert!(not_a_trace(b"").contains("empty"));
    let ct = br#"[
{"Path":""},
{"Function":{"path_id":0,"line":1,"name":"<toplevel>"}},
{"Call":{"function_id":0,"args":[]}}
]"#;
    assert!(not_a_trace(ct).contains("CodeTracer trace.json"));
    assert!(not_a_trace(b"\xEF\xBB\xBF  {\"header\": {}}").contains("JSON"));
    assert!(not_a_trace(br#"{"traceEvents":[]}"#).contains("Chrome"));
    assert!(not_a_trace(b"{\"workdir\": \"/x\", \"program\": \"a.py\"}").contains("trace_metadata"));
    assert!(not_a_trace(b"\xC0\xDE\x72\xAC\xE2\x00\x00\x00rest").contains("CodeTracer binary"));
    assert!(not_a_trace(b"\x1f\x8b\x08\x00\x00\x00\x00\x00").contains("gzip"));
    assert!(not_a_trace(b"PK\x03\x04\x14\x00").contains("ZIP"));
    assert!(not_a_trace(b"hello world\nthis is text").contains("text"));
    assert!(not_a_trace(&[0u8, 1, 2, 3, 4, 5, 6, 7, 8, 9]).contains("00 01 02"));
    assert!(not_a_trace(&[7u8; 1000]).contains("07 07"));

    // Text-mode damage: CRLF turned into LF, LF into CRLF, the 8th bit lost.
    let good = write_trace(&rich_trace());
    let crlf_to_lf: Vec<u8> = [&good[..4], &good[5..]].concat();
    assert!(not_a_trace(&crlf_to_lf).contains("text-mode"));
    let lf_to_crlf: Vec<u8> = [&good[..7], b"\r", &good[7..]].concat();
    assert!(not_a_trace(&lf_to_crlf).contains("text-mode"));
    let mut seven_bit = good.clone();
    seven_bit[0] &= 0x7F;
    assert!(not_a_trace(&seven_bit).contains("text-mode"));
    let replaced: Vec<u8> = [b"\xEF\xBF\xBD".as_slice(), &good[1..]].concat();
    assert!(not_a_trace(&replaced).contains("text-mode"));

    // A prefix of the magic number is a cut trace, not another file.
    for n in 1..PREAMBLE_BYTES {
        let err = read_trace(&good[..n]).unwrap_err();
        assert!(matches!(err, TraceError::BadHeader { .. }), "{n}: {err:?}");
    }
    // Errors serialize for JavaScript callers.
    let json = serde_json::to_string(&read_trace(b"").unwrap_err()).unwrap();
    assert!(json.contains("\"error\":\"not_a_trace\""), "{json}");
}

#[test]
fn the_first_chunk_must_hold_the_header() {
    let mut bytes = preamble_and_header();
    bytes.truncate(PREAMBLE_BYTES);
    let mut strings_first = bytes.clone();
    strings_first.extend(raw_chunk(&[0x02, 1, b'a']));
    let err = read_trace(&strings_first).unwrap_err();
    assert!(err.to_string().contains("not the header"), "{err}");

    let mut empty_first = bytes.clone();
    empty_first.extend(raw_chunk(&[]));
    assert!(matches!(
        read_trace(&empty_first),
        Err(TraceError::BadHeader { .. })
    ));

    let mut bad_json = bytes.clone();
    bad_json.extend(raw_chunk(&[0x01, 2, b'{', b'}']));
    let err = read_trace(&bad_json).unwrap_err();
    assert!(err.to_string().contains("header does not decode"), "{err}");

    let mut huge = bytes.clone();
    huge.extend_from_slice(&u32::MAX.to_le_bytes());
    huge.extend_from_slice(&((MAX_CHUNK_BYTES + 1) as u32).to_le_bytes());
    huge.extend_from_slice(&[0; 4]);
    let err = read_trace(&huge).unwrap_err();
    assert!(err.to_string().contains("more than"), "{err}");
}

/// A file whose second chunk holds `records` (after the header chunk).
fn with_records(records: &[u8]) -> Result<ReadOutcome, TraceError> {
    let mut bytes = preamble_and_header();
    bytes.extend(raw_chunk(records));
    read_trace(&bytes)
}

fn damaged(records: &[u8]) -> String {
    let read = with_records(records).unwrap();
    assert!(read.trace.events.is_empty());
    assert!(read.trace.codes.is_empty());
    read.truncation.expect("a truncation").reason
}

#[test]
fn invalid_records_in_an_intact_chunk_are_a_truncation() {
    // Unknown record tag.
    assert!(damaged(&[0x09]).contains("unknown record tag"));
    // Undefined string id in a marker.
    assert!(damaged(&[0x05, 0]).contains("string id 0"));
    // An event naming an unknown code object.
    assert!(damaged(&[0x80 | 2, 5, 0]).contains("code object 0"));
    // A code object, then a call to another.
    let code = [0x02, 1, b'f', 0x07, 0, 0, 0, 1, 0, 0, 0, 0];
    let read = with_records(&code).unwrap();
    assert_eq!(read.trace.codes.len(), 1);
    let mut call_other = code.to_vec();
    call_other.extend_from_slice(&[0x80 | 1, 5, 1]);
    assert!(damaged(&call_other).contains("code object 1"));
    // Defined twice.
    let mut twice = code.to_vec();
    twice.extend_from_slice(&code[3..]);
    assert!(damaged(&twice).contains("twice"));
    // Resolver inputs not written yet.
    let mut ahead = code.to_vec();
    ahead[10] = 1;
    assert!(damaged(&ahead).contains("resolver inputs"));
    // A list flag on a return, a bad slot, a bad value kind, a cut None.
    let mut call = code.to_vec();
    call.extend_from_slice(&[0x80 | 0x20 | 5, 1, 0x40]);
    assert!(damaged(&call).contains("list"));
    let mut bad_slot = code.to_vec();
    bad_slot.extend_from_slice(&[0x80 | 5, 1, 0x43]);
    assert!(damaged(&bad_slot).contains("not a value"));
    let mut bad_kind = code.to_vec();
    bad_kind.extend_from_slice(&[0x80 | 5, 1, 19]);
    assert!(damaged(&bad_kind).contains("unknown value kind"));
    let mut cut_none = code.to_vec();
    cut_none.extend_from_slice(&[0x80 | 5, 1, 0x20]);
    assert!(damaged(&cut_none).contains("cannot be cut"));
    // A variable of kind 5.
    let mut bad_var = code.to_vec();
    bad_var.extend_from_slice(&[0x80 | 0x20 | 1, 1, 0, 1, 5, 0x42]);
    assert!(damaged(&bad_var).contains("variable kind"));
    // Time running below zero.
    assert!(damaged(&[0x80 | 0x40 | 5, 1, 0x42]).contains("time"));
    // An unknown event kind.
    assert!(damaged(&[0x80 | 9, 1]).contains("event kind"));
    // Invalid UTF-8 in a string definition.
    assert!(damaged(&[0x02, 2, 0xC3, 0x28]).contains("UTF-8"));
    // A record cut by the chunk's end.
    assert!(damaged(&[0x02, 5, b'a']).contains("past the end"));
    // A second header.
    let mut second = vec![0x01];
    let json = serde_json::to_vec(&header()).unwrap();
    second.push(0x80 | (json.len() & 0x7F) as u8);
    second.push((json.len() >> 7) as u8);
    second.extend(json);
    assert!(damaged(&second).contains("second header"));
    // Records after the trailer.
    let json = serde_json::to_vec(&Trailer::default()).unwrap();
    let mut after = vec![0x08, json.len() as u8];
    after.extend(json);
    assert_eq!(with_records(&after).unwrap().truncation, None);
    after.push(0x02);
    after.push(0);
    assert!(damaged(&after).contains("follow the trailer"));
    // A value nested too deep.
    let mut deep = code.to_vec();
    deep.extend_from_slice(&[0x80 | 5, 1]);
    for _ in 0..100 {
        deep.extend_from_slice(&[8, 1]);
    }
    deep.push(0);
    assert!(damaged(&deep).contains("deeper"));
}

#[test]
fn a_damaged_chunk_drops_all_its_records() {
    // A chunk that defines a string and a code object and then goes bad
    // leaves nothing behind: the next file position's state is as before.
    let records = [
        0x02,
        1,
        b'f',
        0x07,
        0,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0x80 | 2,
        5,
        0,
        0x80 | 2,
        5,
        9,
    ];
    let read = with_records(&records).unwrap();
    assert!(read.trace.codes.is_empty());
    assert!(read.trace.events.is_empty());
    assert!(read.truncation.unwrap().reason.contains("code object 9"));
}

#[test]
fn bytes_after_the_trailer_are_reported() {
    let trace = rich_trace();
    let mut bytes = write_trace(&trace);
    let valid = bytes.len() as u64;
    bytes.extend_from_slice(b"junk");
    let read = read_trace(&bytes).unwrap();
    assert_eq!(read.trace, trace);
    let truncation = read.truncation.unwrap();
    assert_eq!(truncation.valid_bytes, valid);
    assert!(truncation.reason.contains("4 bytes after the trailer"));
}

#[test]
fn compressed_size_per_event() {
    // Measured, not asserted tightly: printed for the record.
    let trace = long_trace(100_000);
    let bytes = write_trace(&trace);
    let per_event = bytes.len() as f64 / trace.events.len() as f64;
    println!(
        "{} events, {} bytes, {per_event:.2} bytes/event",
        trace.events.len(),
        bytes.len()
    );
    assert!(per_event < 6.0, "{per_event}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_trace(&bytes);
    }

    #[test]
    fn arbitrary_chunks_after_a_header_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut bytes = preamble_and_header();
        bytes.extend_from_slice(&tail);
        let read = read_trace(&bytes).unwrap();
        prop_assert!(read.truncation.is_some());
    }

    #[test]
    fn arbitrary_records_in_a_valid_chunk_never_panic(
        records in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let _ = with_records(&records);
    }

    #[test]
    fn arbitrary_payloads_with_valid_crc_never_panic(
        payload in proptest::collection::vec(any::<u8>(), 1..1024),
        ulen in 0u32..4096,
    ) {
        let mut bytes = preamble_and_header();
        bytes.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&ulen.to_le_bytes());
        bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        bytes.extend_from_slice(&payload);
        let _ = read_trace(&bytes);
    }

    #[test]
    fn mutated_records_never_panic(
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        // Mutate the decompressed records of a real trace, then recompress.
        let trace = rich_trace();
        let bytes = write_trace(&trace);
        let spans = chunks(&bytes);
        let mut records = Vec::new();
        for (start, end) in &spans[1..] {
            let ulen = u32::from_le_bytes(bytes[start + 4..start + 8].try_into().unwrap()) as usize;
            records.extend(lz4_flex::block::decompress(&bytes[start + 12..*end], ulen).unwrap());
        }
        let i = at.index(records.len());
        records[i] = byte;
        records.truncate(cut.index(records.len() + 1).max(i + 1));
        let mut file = bytes[..spans[0].1].to_vec();
        file.extend(raw_chunk(&records));
        let read = read_trace(&file).unwrap();
        // The tables pass checks events without building them, and must
        // come to the same verdict as building them.
        let tables = read_tables(std::io::Cursor::new(&file)).unwrap();
        prop_assert_eq!(&tables.truncation, &read.truncation);
        prop_assert_eq!(&tables.trace.codes, &read.trace.codes);
        prop_assert_eq!(tables.events, read.trace.events.len() as u64);
        // A damaged chunk is dropped whole.
        if read.truncation.is_some_and(|t| t.reason.contains("damaged")) {
            prop_assert!(read.trace.events.is_empty());
        }
    }
}

// --- hostile input: the reader's limits (engine/src/trace/decode.rs) ---

fn uv(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn over_limit(bytes: &[u8]) -> String {
    match read_trace(bytes) {
        Err(e @ TraceError::OverLimit { .. }) => e.to_string(),
        other => panic!("expected a limit error, got {other:?}"),
    }
}

#[test]
fn a_thread_number_over_the_limit_is_an_error_not_an_allocation() {
    // A string, then a thread_start on thread 0xFFFFFFFF: the 407-byte file
    // that made `info` ask for 103 GB.
    let mut records = vec![0x02, 4];
    records.extend_from_slice(b"evil");
    records.push(0x80 | 0x10);
    uv(&mut records, u64::from(u32::MAX));
    records.extend_from_slice(&[0, 0]);
    let mut file = preamble_and_header();
    file.extend(raw_chunk(&records));
    assert!(file.len() < 1024, "{}", file.len());
    let message = over_limit(&file);
    assert!(message.contains("chunk #2 at byte"), "{message}");
    assert!(
        message.contains("thread 4294967295, over the limit"),
        "{message}"
    );
}

#[test]
fn a_chunk_of_tiny_events_over_the_decode_budget_is_an_error() {
    // 16 MiB of three-byte line events (5.6 M events, some 300 MB decoded)
    // in one chunk that compresses to about 64 KiB.
    let line = [0x80 | 4, 0, 1];
    let records: Vec<u8> = line
        .iter()
        .copied()
        .cycle()
        .take(MAX_CHUNK_BYTES / 3 * 3)
        .collect();
    let mut file = preamble_and_header();
    let chunk = raw_chunk(&records);
    assert!(chunk.len() < 100_000, "{}", chunk.len());
    file.extend(chunk);
    let message = over_limit(&file);
    assert!(
        message.contains("decodes to more than 16 MiB of events and values"),
        "{message}"
    );
    // A chunk declaring more than the largest chunk is damage, found from
    // its header before anything is allocated for it.
    let mut declared = preamble_and_header();
    declared.extend_from_slice(&100u32.to_le_bytes());
    declared.extend_from_slice(&(64u32 << 20).to_le_bytes());
    declared.extend_from_slice(&[0; 4]);
    let read = read_trace(&declared).expect("a truncation");
    let reason = read.truncation.expect("a truncation").reason;
    assert!(
        reason.contains("declares 67108864 decompressed bytes"),
        "{reason}"
    );
}

#[test]
fn frames_open_over_the_limit_are_an_error() {
    // One code, then more calls than frames may be open, across chunks each
    // within the decode budget. The time deltas vary (as in a recording), so
    // the chunks hold few events per compressed byte.
    let mut code = vec![0x02, 1, b'f', 0x07, 0, 0, 0, 1, 0, 0, 0, 0];
    code.truncate(12);
    let per_chunk = 50_000;
    let mut seed = 12345u32;
    let mut dt = move || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        ((seed >> 16) & 0x7F) as u8
    };
    let mut calls = Vec::new();
    let mut pairs = Vec::new();
    for _ in 0..per_chunk {
        calls.extend_from_slice(&[0x80 | 1, dt(), 0]);
        pairs.extend_from_slice(&[0x80 | 1, dt(), 0, 0x80 | 5, dt(), 0x42]);
    }
    let mut file = preamble_and_header();
    file.extend(raw_chunk(&code));
    let chunk = raw_chunk(&calls);
    for _ in 0..84 {
        file.extend_from_slice(&chunk);
    }
    let message = over_limit(&file);
    assert!(
        message.contains("opens more than 4194304 frames at once"),
        "{message}"
    );
    // Returns close frames: the same calls, each returned, read whole.
    let mut balanced = preamble_and_header();
    balanced.extend(raw_chunk(&code));
    let chunk = raw_chunk(&pairs);
    for _ in 0..84 {
        balanced.extend_from_slice(&chunk);
    }
    let read = read_trace(&balanced).expect("balanced calls read");
    assert_eq!(read.trace.events.len(), 84 * 2 * per_chunk);
}

#[test]
fn a_chunk_with_more_events_than_its_size_allows_is_an_error() {
    // 100,000 line events that compress to about a kilobyte: the kind of
    // chunk that let a 264 KB file stand for 16.7 M events.
    let line = [0x80 | 4, 0, 1];
    let records: Vec<u8> = line.iter().copied().cycle().take(3 * 100_000).collect();
    let mut file = preamble_and_header();
    file.extend(raw_chunk(&records));
    let message = over_limit(&file);
    assert!(message.contains("more than 64 per byte"), "{message}");
}
