//! The streaming Chrome export through the public API: files laid out as the
//! recorder writes them (each code defined just before its first use, ids
//! not dense), read in small slices, written while they are read.

use std::cell::Cell;
use std::io::{self, BufWriter, Cursor, Read, Write};
use std::rc::Rc;
use tracesieve_engine::trace::export::chrome::{to_chrome, write_chrome};
use tracesieve_engine::trace::stream::{read_tables, EventStream};
use tracesieve_engine::trace::{
    read_trace, Attr, CodeInfo, Event, FilterStats, InputsAt, Slot, TraceHeader, TraceWriter,
    Trailer, Value, ValueBounds, ValuesMode, Var,
};
use tracesieve_engine::{NamingMode, Platform, ValueKind};

fn header() -> TraceHeader {
    TraceHeader {
        recorder: "tracesieve 0.1.0".into(),
        python: "3.12.3".into(),
        platform: Platform::Posix,
        argv: vec!["app.py".into(), "--name=\"x\"".into()],
        cwd: "/p".into(),
        start_unix_ms: 1_700_000_000_000,
        filters: Vec::new(),
        framework: None,
        naming: NamingMode::Globals,
        values: ValuesMode::All,
        bounds: ValueBounds::default(),
        repr: false,
        process: None,
    }
}

fn code(id: u32, qualname: &str, first_line: u32) -> CodeInfo {
    CodeInfo {
        id,
        filename: "/p/app.py".into(),
        qualname: qualname.into(),
        first_line,
        dunder_name: Some("__main__".into()),
        inputs: InputsAt {
            sys_path: 0,
            modules: 0,
            markers: 0,
        },
    }
}

fn error(type_name: &str) -> Slot {
    Slot::Value {
        value: Value::Object {
            type_name: type_name.into(),
            attrs: vec![Attr {
                name: "args".into(),
                value: Slot::Redacted,
            }],
            length: 1,
        },
    }
}

/// A recording laid out as the recorder writes it: codes 40 (the module),
/// 7 (`work`) and 1000 (`gen`), each defined just before its first call;
/// `rounds` rounds of calls on two threads; with a trailer when `complete`,
/// else cut short with frames open.
fn recording(rounds: u32, complete: bool, chunk_bytes: usize) -> Vec<u8> {
    let mut w = TraceWriter::with_chunk_bytes(Vec::new(), &header(), chunk_bytes).expect("header");
    w.sys_path(&["/p".into()]).expect("sys.path");
    let mut t = 0u64;
    let mut next = || {
        t += 1_500;
        t
    };
    let event = |w: &mut TraceWriter<Vec<u8>>, e: Event| w.event(&e).expect("event");
    event(
        &mut w,
        Event::ThreadStart {
            thread: 0,
            name: "MainThread".into(),
            t: next(),
        },
    );
    w.code(&code(40, "<module>", 1)).expect("code");
    let call = |thread, t, code| Event::Call {
        thread,
        t,
        code,
        args: Vec::new(),
    };
    event(&mut w, call(0, next(), 40));
    w.code(&code(7, "work", 3)).expect("code");
    event(
        &mut w,
        Event::ThreadStart {
            thread: 1,
            name: "worker \"1\"".into(),
            t: next(),
        },
    );
    event(&mut w, call(1, next(), 7));
    w.code(&code(1000, "gen", 9)).expect("code");
    for round in 0..rounds {
        let thread = round % 2;
        event(
            &mut w,
            Event::Call {
                thread,
                t: next(),
                code: 7,
                args: vec![Var {
                    kind: ValueKind::Arg,
                    name: "round".into(),
                    value: Slot::Value {
                        value: Value::Int {
                            value: i64::from(round),
                        },
                    },
                }],
            },
        );
        event(&mut w, call(thread, next(), 1000));
        event(
            &mut w,
            Event::Yield {
                thread,
                t: next(),
                value: Slot::Absent,
            },
        );
        if round % 5 == 0 {
            event(
                &mut w,
                Event::Raise {
                    thread,
                    t: next(),
                    line: 4,
                    exception: Box::new(error("ValueError")),
                },
            );
            event(
                &mut w,
                Event::Unwind {
                    thread,
                    t: next(),
                    value: error("ValueError"),
                },
            );
        } else {
            event(
                &mut w,
                Event::Resume {
                    thread,
                    t: next(),
                    code: 1000,
                },
            );
            event(
                &mut w,
                Event::Return {
                    thread,
                    t: next(),
                    value: Slot::Absent,
                },
            );
            event(
                &mut w,
                Event::Return {
                    thread,
                    t: next(),
                    value: Slot::Absent,
                },
            );
        }
    }
    if !complete {
        return w.into_inner().expect("flushed");
    }
    for thread in [1, 0] {
        event(
            &mut w,
            Event::Return {
                thread,
                t: next(),
                value: Slot::Absent,
            },
        );
    }
    w.finish(&Trailer {
        exit_status: Some(0),
        end_unix_ms: 1_700_000_000_100,
        stats: FilterStats::default(),
        detached: None,
        size_limit: None,
    })
    .expect("trailer")
}

/// A source handing out at most `slice` bytes per read.
struct Slices<'a> {
    bytes: &'a [u8],
    slice: usize,
    /// Set to `written` when the source is used up.
    at_end: Rc<Cell<Option<usize>>>,
    written: Rc<Cell<usize>>,
}

impl Read for Slices<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.slice).min(self.bytes.len());
        if n == 0 && self.at_end.get().is_none() {
            self.at_end.set(Some(self.written.get()));
        }
        let (head, rest) = self.bytes.split_at(n);
        buf[..n].copy_from_slice(head);
        self.bytes = rest;
        Ok(n)
    }
}

/// A sink counting what reaches it.
struct Counting {
    out: Vec<u8>,
    written: Rc<Cell<usize>>,
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(buf);
        self.written.set(self.out.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `write_chrome` of `bytes` read in slices of `slice` bytes: the output,
/// and how much of it had been written when the events ran out.
fn stream(bytes: &[u8], slice: usize) -> (String, usize) {
    let tables = read_tables(Cursor::new(bytes)).expect("tables");
    let written = Rc::new(Cell::new(0));
    let at_end = Rc::new(Cell::new(None));
    let source = Slices {
        bytes,
        slice,
        at_end: Rc::clone(&at_end),
        written: Rc::clone(&written),
    };
    let events = EventStream::open(source).expect("opens");
    let mut sink = Counting {
        out: Vec::new(),
        written,
    };
    write_chrome(&tables, events, BufWriter::new(&mut sink)).expect("writes");
    let at_end = at_end.get().expect("the source was read to its end");
    (String::from_utf8(sink.out).expect("UTF-8"), at_end)
}

#[test]
fn recorder_layout_with_sparse_code_ids_streams_as_read_whole() {
    for complete in [true, false] {
        for chunk_bytes in [64 << 10, 300] {
            let bytes = recording(40, complete, chunk_bytes);
            let read = read_trace(&bytes).expect("reads");
            assert_eq!(read.truncation.is_none(), complete);
            let expected = to_chrome(&read.trace);
            for slice in [1, 7, 4096, 1 << 20] {
                let (streamed, _) = stream(&bytes, slice);
                assert_eq!(streamed, expected, "complete {complete}, slice {slice}");
            }
            let json: serde_json::Value = serde_json::from_str(&expected).expect("JSON");
            let begins: Vec<&str> = json["traceEvents"]
                .as_array()
                .expect("events")
                .iter()
                .filter(|e| e["ph"] == "B")
                .take(4)
                .map(|e| e["name"].as_str().expect("name"))
                .collect();
            assert_eq!(
                begins,
                [
                    "<__main__> (app.py:1)",
                    "work (app.py:3)",
                    "work (app.py:3)",
                    "gen (app.py:9)"
                ]
            );
        }
    }
}

#[test]
fn the_export_is_written_while_the_file_is_read() {
    let bytes = recording(20_000, false, 4 << 10);
    let (streamed, written_at_end) = stream(&bytes, 4 << 10);
    assert_eq!(
        streamed,
        to_chrome(&read_trace(&bytes).expect("reads").trace)
    );
    // Only the events of the last slice, what the BufWriter holds and the
    // closing of the open frames are left when the source runs out.
    assert!(
        written_at_end > streamed.len() * 9 / 10,
        "{written_at_end} of {} bytes written when the file ended",
        streamed.len()
    );
}
