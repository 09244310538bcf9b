//! The streaming CodeTracer export through the public API, file to file:
//! `read_tables` and `EventStream` over a trace file, `trace.json` written
//! through a `BufWriter`, the same bytes as `to_codetracer` of the trace
//! read whole.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::PathBuf;
use tracesieve_engine::trace::export::codetracer::{to_codetracer, write_codetracer};
use tracesieve_engine::trace::stream::{read_tables, EventStream};
use tracesieve_engine::trace::{
    read_trace, write_trace, CodeInfo, Event, FilterStats, InputsAt, RecordedFilter, Slot, Trace,
    TraceHeader, Trailer, Value, ValueBounds, ValuesMode, Var,
};
use tracesieve_engine::{NamingMode, Platform, ValueKind};

/// A scratch file, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        Scratch(std::env::temp_dir().join(format!(
            "tracesieve-export-streaming-{}-{name}",
            std::process::id()
        )))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn code(id: u32, filename: &str, qualname: &str, first_line: u32, dunder: &str) -> CodeInfo {
    CodeInfo {
        id,
        filename: filename.into(),
        qualname: qualname.into(),
        first_line,
        dunder_name: Some(dunder.into()),
        inputs: InputsAt::default(),
    }
}

fn int(value: i64) -> Slot {
    Slot::Value {
        value: Value::Int { value },
    }
}

/// Two threads and codes numbered 10, 2 and 5 (in that table order), on
/// Windows with a relative program path.
fn trace(trailer: bool) -> Trace {
    let arg = |name: &str, value: Slot| Var {
        kind: ValueKind::Arg,
        name: name.into(),
        value,
    };
    let local = |name: &str, value: Slot| Var {
        kind: ValueKind::Local,
        name: name.into(),
        value,
    };
    let events = vec![
        Event::ThreadStart {
            thread: 0,
            name: "MainThread".into(),
            t: 10,
        },
        Event::Call {
            thread: 0,
            t: 10,
            code: 10,
            args: vec![],
        },
        Event::Line {
            thread: 0,
            t: 20,
            line: 1,
            vars: vec![local("n", int(2))],
        },
        Event::Call {
            thread: 0,
            t: 30,
            code: 5,
            args: vec![arg("x", int(1)), arg("secret", Slot::Redacted)],
        },
        Event::ThreadStart {
            thread: 1,
            name: "worker".into(),
            t: 40,
        },
        Event::Call {
            thread: 1,
            t: 40,
            code: 2,
            args: vec![arg("x", int(7))],
        },
        Event::Line {
            thread: 1,
            t: 50,
            line: 4,
            vars: vec![local("y", int(8))],
        },
        Event::Line {
            thread: 0,
            t: 60,
            line: 21,
            vars: vec![local("y", int(9))],
        },
        Event::Raise {
            thread: 0,
            t: 70,
            line: 21,
            exception: Box::new(Slot::Value {
                value: Value::Str {
                    value: "boom".into(),
                    length: 4,
                },
            }),
        },
        Event::Unwind {
            thread: 0,
            t: 80,
            value: Slot::Dropped,
        },
        Event::Return {
            thread: 1,
            t: 90,
            value: int(56),
        },
    ];
    Trace {
        header: TraceHeader {
            recorder: "tracesieve 0.1.0".into(),
            python: "3.12.3".into(),
            platform: Platform::Windows,
            argv: vec!["app\\main.py".into(), "-v".into()],
            cwd: "C:\\proj".into(),
            start_unix_ms: 1_767_225_600_000,
            filters: Vec::<RecordedFilter>::new(),
            framework: None,
            naming: NamingMode::Globals,
            values: ValuesMode::All,
            bounds: ValueBounds::default(),
            repr: false,
            process: None,
        },
        codes: vec![
            code(10, "C:\\proj\\app\\main.py", "<module>", 1, "__main__"),
            code(2, "C:\\proj\\app\\work.py", "work", 3, "app.work"),
            code(5, "C:\\proj\\app\\main.py", "helper", 20, "__main__"),
        ],
        sys_paths: vec![vec!["C:\\proj".into()]],
        modules: vec![],
        markers: vec![],
        sources: vec![],
        events,
        trailer: trailer.then(|| Trailer {
            exit_status: Some(3),
            end_unix_ms: 1_767_225_600_100,
            stats: FilterStats::default(),
            detached: None,
            size_limit: None,
        }),
    }
}

#[test]
fn streams_file_to_file_with_the_bytes_of_to_codetracer() {
    for trailer in [true, false] {
        let trace = trace(trailer);
        let bytes = write_trace(&trace);
        let input = Scratch::new(&format!("in-{trailer}.tsieve"));
        let output = Scratch::new(&format!("out-{trailer}.json"));
        std::fs::write(&input.0, &bytes).expect("trace file written");

        let tables =
            read_tables(BufReader::new(File::open(&input.0).expect("open"))).expect("tables read");
        assert_eq!(tables.events, trace.events.len() as u64);
        let events =
            EventStream::open(BufReader::new(File::open(&input.0).expect("open"))).expect("open");
        let side = write_codetracer(
            &tables,
            events,
            BufWriter::new(File::create(&output.0).expect("create")),
        )
        .expect("exported");
        let trace_json = std::fs::read_to_string(&output.0).expect("trace.json read");

        let whole = to_codetracer(&read_trace(&bytes).expect("read whole").trace);
        assert_eq!(trace_json, whole.trace_json);
        assert_eq!(side.metadata_json, whole.metadata_json);
        assert_eq!(side.paths_json, whole.paths_json);

        // Calls name the functions of their codes, not of table positions.
        let records: Vec<serde_json::Value> =
            serde_json::from_str(&trace_json).expect("trace.json parses");
        let functions: Vec<&str> = records
            .iter()
            .filter_map(|r| r.get("Function"))
            .map(|f| f["name"].as_str().expect("a name"))
            .collect();
        assert_eq!(functions, ["<toplevel>", "<__main__>", "work", "helper"]);
        let called: Vec<&str> = records
            .iter()
            .filter_map(|r| r.get("Call"))
            .map(|c| functions[c["function_id"].as_u64().expect("an id") as usize])
            .collect();
        assert_eq!(called, ["<toplevel>", "<__main__>", "helper", "work"]);
        let paths: Vec<String> = serde_json::from_str(&side.paths_json).expect("paths parse");
        assert_eq!(paths, ["C:\\proj\\app\\main.py", "C:\\proj\\app\\work.py"]);
    }
}
