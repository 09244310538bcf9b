//! Memory must not grow with the number of events: every streaming reader
//! of a trace (the tables pass, the event stream, `refilter`, the exports)
//! is run over the same program at two sizes, ten times apart, under an
//! allocator that tracks the peak of live heap bytes. One test, so that
//! nothing else allocates while it measures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, Cursor};
use std::sync::atomic::{AtomicUsize, Ordering};
use tracesieve_engine::trace::export::{chrome, codetracer, json, speedscope};
use tracesieve_engine::trace::refilter::{refilter_stream, Naming};
use tracesieve_engine::trace::stream::{read_tables, EventStream, ReadError};
use tracesieve_engine::trace::{
    CodeInfo, Event, FilterStats, InputsAt, RecordedFilter, Slot, TraceHeader, TraceWriter,
    Trailer, Value, ValueBounds, ValuesMode, Var,
};
use tracesieve_engine::{builtin, FilterChain, NamingMode, Platform, ValueKind};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
        PEAK.fetch_max(live, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The peak of live heap bytes over `f`, above what was live before it.
fn peak_over(f: impl FnOnce()) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    f();
    PEAK.load(Ordering::Relaxed).saturating_sub(before)
}

fn header() -> TraceHeader {
    let chain = FilterChain::load(&builtin::sources(None), Platform::Posix).expect("built-in");
    TraceHeader {
        recorder: "tracesieve test".into(),
        python: "3.12.3".into(),
        platform: Platform::Posix,
        argv: vec!["/p/app.py".into()],
        cwd: "/p".into(),
        start_unix_ms: 1,
        filters: RecordedFilter::from_chain(&chain),
        framework: None,
        naming: NamingMode::Globals,
        values: ValuesMode::All,
        bounds: ValueBounds::default(),
        repr: false,
        process: None,
    }
}

/// A file of about `calls * 4` events: a loop calling a function with an
/// argument, a line with a local, and a return, on two threads.
fn trace_file(calls: u64) -> Vec<u8> {
    let mut w = TraceWriter::new(Vec::new(), &header()).expect("writer");
    w.sys_path(&["/p".to_string()]).expect("sys.path");
    for (id, qualname) in [(0, "<module>"), (1, "work")] {
        w.code(&CodeInfo {
            id,
            filename: "/p/app.py".into(),
            qualname: qualname.into(),
            first_line: 1 + id,
            dunder_name: Some("app".into()),
            inputs: InputsAt::default(),
        })
        .expect("code");
    }
    let int = |value: i64| Slot::Value {
        value: Value::Int { value },
    };
    let mut t = 0;
    let mut tick = || {
        t += 100;
        t
    };
    for thread in 0..2 {
        let (name, t) = (format!("thread-{thread}"), tick());
        w.event(&Event::ThreadStart { thread, name, t })
            .expect("start");
        w.event(&Event::Call {
            thread,
            t: tick(),
            code: 0,
            args: Vec::new(),
        })
        .expect("call");
    }
    for i in 0..calls {
        let thread = (i % 2) as u32;
        let var = |kind, name: &str, value| Var {
            kind,
            name: name.into(),
            value,
        };
        let events = [
            Event::Call {
                thread,
                t: tick(),
                code: 1,
                args: vec![var(ValueKind::Arg, "n", int(i as i64))],
            },
            Event::Line {
                thread,
                t: tick(),
                line: 3,
                vars: vec![var(ValueKind::Local, "total", int(2 * i as i64))],
            },
            Event::Return {
                thread,
                t: tick(),
                value: int(i as i64),
            },
            Event::Line {
                thread,
                t: tick(),
                line: 5,
                vars: Vec::new(),
            },
        ];
        for event in &events {
            w.event(event).expect("event");
        }
    }
    w.finish(&Trailer {
        exit_status: Some(0),
        end_unix_ms: 2,
        stats: FilterStats::default(),
        detached: None,
        size_limit: None,
    })
    .expect("finish")
}

/// The peak heap of each streaming reader over `file`.
fn peaks(file: &[u8]) -> Vec<(&'static str, usize)> {
    let chain = FilterChain::load(&builtin::sources(None), Platform::Posix).expect("built-in");
    let naming = Naming::new(NamingMode::Globals);
    let tables = read_tables(Cursor::new(file)).expect("tables");
    let stream = || EventStream::open(Cursor::new(file)).expect("opens");
    // The thread that reads ahead needs its input for good.
    let shared: &'static [u8] = Box::leak(file.to_vec().into_boxed_slice());
    let done = |result: Result<(), ReadError>| result.expect("streams");
    vec![
        (
            "read_tables",
            peak_over(|| drop(read_tables(Cursor::new(file)).expect("tables"))),
        ),
        (
            "events",
            peak_over(|| {
                let mut events = stream();
                while events.next_event().expect("event").is_some() {}
            }),
        ),
        (
            "events, read ahead",
            peak_over(|| {
                let mut events = EventStream::open_ahead(Cursor::new(shared)).expect("opens");
                while events.next_event().expect("event").is_some() {}
            }),
        ),
        (
            "refilter",
            peak_over(|| {
                refilter_stream(&tables, stream(), &chain, &naming, io::sink()).expect("refilter");
            }),
        ),
        (
            "json",
            peak_over(|| done(json::write_json(&tables, stream(), false, true, io::sink()))),
        ),
        (
            "json --canonical",
            peak_over(|| done(json::write_json(&tables, stream(), true, false, io::sink()))),
        ),
        (
            "chrome",
            peak_over(|| done(chrome::write_chrome(&tables, stream(), io::sink()))),
        ),
        (
            "speedscope",
            peak_over(|| {
                let mut events = speedscope::Reopen(|| Ok(stream()));
                done(speedscope::write_speedscope(
                    &tables,
                    &mut events,
                    io::sink(),
                ));
            }),
        ),
        (
            "codetracer",
            peak_over(|| {
                codetracer::write_codetracer(&tables, stream(), io::sink()).expect("codetracer");
            }),
        ),
    ]
}

#[test]
fn streaming_readers_hold_no_more_for_ten_times_the_events() {
    let small = trace_file(10_000);
    let large = trace_file(100_000);
    let (small, large) = (peaks(&small), peaks(&large));
    for ((name, small), (_, large)) in small.iter().zip(&large) {
        // About 360,000 more events: holding them would take over 20 MiB.
        let growth = large.saturating_sub(*small);
        assert!(
            growth < 2 << 20,
            "{name}: {small} bytes at 40 k events, {large} at 400 k (grows by {growth})"
        );
        assert!(*large < 16 << 20, "{name}: {large} bytes");
    }
}
