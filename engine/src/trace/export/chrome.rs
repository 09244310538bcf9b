//! Chrome Trace Event JSON, which Perfetto (ui.perfetto.dev), speedscope and
//! `chrome://tracing` open.
//!
//! The output is the JSON object form:
//!
//! ```json
//! {
//!   "traceEvents": [
//!     {"name": "process_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "python app.py"}},
//!     {"name": "thread_name", "ph": "M", "pid": 1, "tid": 0, "args": {"name": "MainThread"}},
//!     {"name": "<__main__>", "cat": "call", "ph": "B", "pid": 1, "tid": 0, "ts": 1.0,
//!      "args": {"module": "__main__", "qualname": "<module>", "file": "/p/app.py", "line": 1}},
//!     {"name": "raise ValueError", "cat": "raise", "ph": "i", "s": "t", "pid": 1, "tid": 0,
//!      "ts": 2.5, "args": {"line": 7, "exception": "ValueError(args=('bad',))"}},
//!     {"name": "<__main__>", "cat": "call", "ph": "E", "pid": 1, "tid": 0, "ts": 3.0,
//!      "args": {"exit": "return"}}
//!   ],
//!   "displayTimeUnit": "ns",
//!   "otherData": {"recorder": "tracesieve 0.1.0", "python": "3.12.3", "argv": ["app.py"]}
//! }
//! ```
//!
//! * Every traced activation is a `B`/`E` pair on its thread (`pid` 1,
//!   `tid` = the trace's thread number): `call` begins with category
//!   `call`, `resume` with `resume`, `throw` with `throw`; `return`,
//!   `yield` and `unwind` end it (`args.exit`). A generator therefore shows
//!   one slice per resumption, as in the trace.
//! * `name` is the code's label (`<pkg.mod>` for module bodies, else the
//!   qualname) under the recording's naming mode; `args` hold the module
//!   name, qualname, file and first line.
//! * Raised exceptions are thread-scoped instant events (`ph` `i`); lines
//!   and values are not exported.
//! * `ts` is in microseconds since the recording started (fractional: the
//!   trace has nanoseconds). Per thread, `ts` never decreases (a damaged
//!   trace's timestamps are clamped).
//! * A trace cut short leaves activations open: each is closed with an `E`
//!   at the trace's last timestamp, innermost first, so the JSON stays valid
//!   and balanced. An exit with no open activation is left out.
//! * `thread_name` metadata events name each thread that has a
//!   `thread_start`; `process_name` is the program's `argv`.

use super::{recorded_labels, render_slot};
use crate::trace::model::{Event, Slot, Trace, Value};
use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::{json, Value as Json};

/// The Chrome Trace Event JSON of `trace` (see the module docs).
pub fn to_chrome(trace: &Trace) -> String {
    serde_json::to_string(&to_chrome_json(trace)).unwrap_or_default()
}

/// [`to_chrome`] as a JSON value.
pub fn to_chrome_json(trace: &Trace) -> Json {
    let labels = recorded_labels(trace);
    let mut out: Vec<ChromeEvent> = Vec::with_capacity(trace.events.len() + 4);
    out.push(ChromeEvent {
        name: "process_name".into(),
        ph: "M",
        tid: 0,
        args: Some(json!({"name": trace.header.argv.join(" ")})),
        ..ChromeEvent::default()
    });
    for event in &trace.events {
        if let Event::ThreadStart { thread, name, .. } = event {
            out.push(ChromeEvent {
                name: "thread_name".into(),
                ph: "M",
                tid: *thread,
                args: Some(json!({"name": name})),
                ..ChromeEvent::default()
            });
        }
    }

    // Per thread: the open activations (name) and the last timestamp written.
    let mut stacks: FxHashMap<u32, Vec<String>> = FxHashMap::default();
    let mut last_ts: FxHashMap<u32, u64> = FxHashMap::default();
    let mut threads: Vec<u32> = Vec::new();
    let mut end = 0u64;
    let mut clamp = |thread: u32, t: u64| -> u64 {
        let last = last_ts.entry(thread).or_insert(0);
        *last = (*last).max(t);
        end = end.max(*last);
        *last
    };
    for event in &trace.events {
        let thread = event.thread();
        match event {
            Event::ThreadStart { .. } | Event::Line { .. } => {}
            Event::Call { t, code, .. }
            | Event::Resume { t, code, .. }
            | Event::Throw { t, code, .. } => {
                let cat = match event {
                    Event::Call { .. } => "call",
                    Event::Resume { .. } => "resume",
                    _ => "throw",
                };
                let (name, args) = match trace.codes.get(*code as usize) {
                    Some(info) => {
                        let label = labels.get(*code as usize);
                        (
                            label.map_or_else(|| info.qualname.clone(), |l| l.label.clone()),
                            json!({
                                "module": label.and_then(|l| l.module_name.clone()),
                                "qualname": info.qualname,
                                "file": info.filename,
                                "line": info.first_line,
                            }),
                        )
                    }
                    None => (format!("<code {code}>"), json!({})),
                };
                let ts = clamp(thread, *t);
                let stack = stacks.entry(thread).or_insert_with(|| {
                    threads.push(thread);
                    Vec::new()
                });
                stack.push(name.clone());
                out.push(ChromeEvent {
                    name,
                    cat: Some(cat),
                    ph: "B",
                    tid: thread,
                    ts: Some(micros(ts)),
                    args: Some(args),
                    ..ChromeEvent::default()
                });
            }
            Event::Return { t, .. } | Event::Yield { t, .. } | Event::Unwind { t, .. } => {
                let Some(name) = stacks.get_mut(&thread).and_then(Vec::pop) else {
                    continue;
                };
                let exit = match event {
                    Event::Return { .. } => "return",
                    Event::Yield { .. } => "yield",
                    _ => "unwind",
                };
                let ts = clamp(thread, *t);
                out.push(ChromeEvent {
                    name,
                    cat: Some("call"),
                    ph: "E",
                    tid: thread,
                    ts: Some(micros(ts)),
                    args: Some(json!({ "exit": exit })),
                    ..ChromeEvent::default()
                });
            }
            Event::Raise {
                t, line, exception, ..
            } => {
                let ts = clamp(thread, *t);
                let name = match &**exception {
                    Slot::Value {
                        value:
                            Value::Object { type_name, .. }
                            | Value::Repr { type_name, .. }
                            | Value::ReprError { type_name, .. }
                            | Value::Deep { type_name }
                            | Value::Cycle { type_name },
                    } => format!("raise {type_name}"),
                    _ => "raise".to_string(),
                };
                out.push(ChromeEvent {
                    name,
                    cat: Some("raise"),
                    ph: "i",
                    s: Some("t"),
                    tid: thread,
                    ts: Some(micros(ts)),
                    args: Some(json!({"line": line, "exception": render_slot(exception)})),
                    ..ChromeEvent::default()
                });
            }
        }
    }
    // Close what a cut-short trace left open, innermost first, at the last timestamp.
    for thread in threads {
        let stack = stacks.remove(&thread).unwrap_or_default();
        for name in stack.into_iter().rev() {
            out.push(ChromeEvent {
                name,
                cat: Some("call"),
                ph: "E",
                tid: thread,
                ts: Some(micros(end)),
                args: Some(json!({"exit": "unfinished"})),
                ..ChromeEvent::default()
            });
        }
    }
    json!({
        "traceEvents": out,
        "displayTimeUnit": "ns",
        "otherData": {
            "recorder": trace.header.recorder,
            "python": trace.header.python,
            "argv": trace.header.argv,
        },
    })
}

/// Nanoseconds to (fractional) microseconds.
fn micros(t: u64) -> f64 {
    t as f64 / 1000.0
}

#[derive(Serialize)]
struct ChromeEvent {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cat: Option<&'static str>,
    ph: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    s: Option<&'static str>,
    pid: u32,
    tid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    ts: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<Json>,
}

impl Default for ChromeEvent {
    fn default() -> ChromeEvent {
        ChromeEvent {
            name: String::new(),
            cat: None,
            ph: "i",
            s: None,
            pid: 1,
            tid: 0,
            ts: None,
            args: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::model::Attr;
    use crate::trace::refilter::testkit::{int, TraceBuilder};

    /// Checks B/E balance and per-thread monotonic `ts`; returns (B count, E count).
    fn check(json: &Json) -> (usize, usize) {
        let events = json["traceEvents"].as_array().expect("traceEvents");
        let mut stacks: FxHashMap<u64, Vec<String>> = FxHashMap::default();
        let mut last: FxHashMap<u64, f64> = FxHashMap::default();
        let (mut b, mut e) = (0, 0);
        for ev in events {
            assert_eq!(ev["pid"], 1);
            let tid = ev["tid"].as_u64().expect("tid");
            let ph = ev["ph"].as_str().expect("ph");
            if ph == "M" {
                continue;
            }
            let ts = ev["ts"].as_f64().expect("ts");
            let prev = last.insert(tid, ts).unwrap_or(0.0);
            assert!(ts >= prev, "ts goes back on thread {tid}: {prev} then {ts}");
            let name = ev["name"].as_str().unwrap().to_string();
            match ph {
                "B" => {
                    b += 1;
                    stacks.entry(tid).or_default().push(name);
                }
                "E" => {
                    e += 1;
                    let open = stacks.get_mut(&tid).and_then(Vec::pop);
                    assert_eq!(open.as_deref(), Some(name.as_str()), "E matches its B");
                }
                "i" => assert_eq!(ev["s"], "t"),
                other => panic!("unexpected phase {other}"),
            }
        }
        assert!(stacks.values().all(Vec::is_empty), "every B is closed");
        (b, e)
    }

    fn sample() -> TraceBuilder {
        let mut b = TraceBuilder::new();
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
        let g = b.code("/p/app/m.py", "gen", 9, Some("app.m"));
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        b.thread(1, "worker");
        b.call(1, f, &[("n", int(1))]);
        b.call(0, g, &[]);
        b.yield_(0, int(1));
        b.raise(
            1,
            4,
            Slot::Value {
                value: Value::Object {
                    type_name: "ValueError".into(),
                    attrs: vec![Attr {
                        name: "args".into(),
                        value: int(1),
                    }],
                    length: 1,
                },
            },
        );
        b.unwind(1, Slot::Redacted);
        b.resume(0, g);
        b.ret(0, int(2));
        b
    }

    #[test]
    fn complete_trace_is_balanced_and_monotonic() {
        let mut b = sample();
        b.ret(0, int(0));
        let text = to_chrome(&b.finish());
        let json: Json = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(check(&json), (4, 4));
        let events = json["traceEvents"].as_array().unwrap();
        let thread_names: Vec<&str> = events
            .iter()
            .filter(|e| e["name"] == "thread_name")
            .map(|e| e["args"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(thread_names, ["MainThread", "worker"]);
        let first_call = events.iter().find(|e| e["ph"] == "B").unwrap();
        assert_eq!(first_call["name"], "<app.m>");
        assert_eq!(first_call["args"]["module"], "app.m");
        assert_eq!(first_call["args"]["file"], "/p/app/m.py");
        assert_eq!(first_call["args"]["line"], 1);
        assert_eq!(first_call["ts"], 1.0, "1000 ns is 1 µs");
        let raise = events.iter().find(|e| e["ph"] == "i").unwrap();
        assert_eq!(raise["name"], "raise ValueError");
        assert_eq!(raise["tid"], 1);
        let resume = events.iter().find(|e| e["cat"] == "resume").unwrap();
        assert_eq!(resume["name"], "gen");
    }

    #[test]
    fn truncated_trace_is_closed_at_the_last_timestamp() {
        let mut b = sample();
        // Thread 1 calls again and never returns; main never returns either.
        let f = 1;
        b.call(1, f, &[]);
        b.call(1, f, &[]);
        let mut trace = b.truncated();
        // A damaged timestamp: earlier than the previous event on its thread.
        if let Some(Event::Call { t, .. }) = trace.events.last_mut() {
            *t = 1;
        }
        let json = to_chrome_json(&trace);
        assert_eq!(check(&json), (6, 6));
        let events = json["traceEvents"].as_array().unwrap();
        let unfinished: Vec<&Json> = events
            .iter()
            .filter(|e| e["args"]["exit"] == "unfinished")
            .collect();
        assert_eq!(unfinished.len(), 3);
        let last_ts = micros(trace.events.iter().map(Event::time).max().unwrap());
        assert!(unfinished.iter().all(|e| e["ts"] == last_ts));
    }

    #[test]
    fn exits_without_a_call_are_left_out() {
        let mut b = TraceBuilder::new();
        b.thread(0, "MainThread");
        b.ret(0, int(1));
        let json = to_chrome_json(&b.finish());
        assert_eq!(check(&json), (0, 0));
    }
}
