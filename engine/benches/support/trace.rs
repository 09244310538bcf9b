//! A synthetic trace of a chosen size for the reading and re-filtering
//! benchmarks (native criterion and engine-wasm in node) and for the
//! streaming benchmark's trace (`examples/synth_trace.rs`): a web-shop-like
//! program whose calls go through project code, the standard library and a
//! site-packages dependency, with arguments, locals and returns of every
//! common value shape, secrets among them.
//!
//! The events come one at a time from [`SyntheticEvents`], so a trace of
//! any size can be streamed through a `TraceWriter` in constant memory;
//! [`synthetic_trace`] collects them into a whole [`Trace`] for the
//! benchmarks that work on one in memory. With one thread (what
//! [`synthetic_trace`] uses) the program is the benchmarks' historical one;
//! with more, worker threads serve requests too and the threads take turns
//! every few events, in the middle of calls, as they do under the GIL.

use std::collections::VecDeque;
use tracesieve_engine::trace::{
    Attr, CodeInfo, Event, FilterStats, InputsAt, Name, RecordedFilter, SequenceKind, Slot,
    SourceFile, Trace, TraceHeader, Trailer, Value, ValueBounds, ValuesMode, Var,
};
use tracesieve_engine::{builtin, FilterChain, NamingMode, Platform, ValueKind};

/// The user filter the benchmarks re-filter with (after the built-in
/// default): skips the dependency, redacts the service's values by default
/// and drops card numbers.
pub const REFILTER_FILTER: &str = r#"
[meta]
name = "bench"
version = 1

[scope]
default_exec = "inherit"
default_value_action = "inherit"

[[scope.rules]]
selector = "pkg:glob:requests.*"
exec = "skip"

[[scope.rules]]
selector = "obj:shop.payment.*"
value_default = "redact"

[[scope.rules.value_patterns]]
selector = "arg:amount"
action = "allow"

[[scope.rules.value_patterns]]
selector = "arg:card_number"
action = "drop"
"#;

/// (file, qualname, `__name__`, first line) of the program's code objects.
const CODES: &[(&str, &str, &str, u32)] = &[
    ("/srv/shop/main.py", "<module>", "__main__", 1),
    ("/srv/shop/shop/cart.py", "Cart.add", "shop.cart", 10),
    ("/srv/shop/shop/cart.py", "Cart.total", "shop.cart", 20),
    ("/srv/shop/shop/payment.py", "charge", "shop.payment", 5),
    ("/srv/shop/shop/auth.py", "login", "shop.auth", 3),
    (
        "/usr/lib/python3.12/json/encoder.py",
        "JSONEncoder.encode",
        "json.encoder",
        183,
    ),
    (
        "/srv/venv/lib/python3.12/site-packages/requests/api.py",
        "post",
        "requests.api",
        103,
    ),
    (
        "/srv/venv/lib/python3.12/site-packages/requests/sessions.py",
        "Session.request",
        "requests.sessions",
        500,
    ),
];

/// The code object the worker threads run, when there are any (its id is
/// `CODES.len()`).
const WORKER_CODE: (&str, &str, &str, u32) =
    ("/srv/shop/shop/server.py", "Worker.run", "shop.server", 30);

/// Events in one request of the program.
const EVENTS_PER_REQUEST: usize = 31;

/// The names the events use, made once and shared (cloning a [`Name`] only
/// counts a reference), so that streaming a long trace does not allocate
/// them anew for every event.
struct Names {
    user: Name,
    password: Name,
    token: Name,
    session_ttl: Name,
    self_: Name,
    item: Name,
    count: Name,
    total: Name,
    card_number: Name,
    amount: Name,
    payload: Name,
    o: Name,
    chunks: Name,
    url: Name,
    method: Name,
    resp: Name,
    status: Name,
    item_type: Name,
    sku: Name,
    price: Name,
    tags: Name,
}

impl Names {
    fn new() -> Names {
        Names {
            user: "user".into(),
            password: "password".into(),
            token: "token".into(),
            session_ttl: "SESSION_TTL".into(),
            self_: "self".into(),
            item: "item".into(),
            count: "count".into(),
            total: "total".into(),
            card_number: "card_number".into(),
            amount: "amount".into(),
            payload: "payload".into(),
            o: "o".into(),
            chunks: "chunks".into(),
            url: "url".into(),
            method: "method".into(),
            resp: "resp".into(),
            status: "status".into(),
            item_type: "shop.cart.Item".into(),
            sku: "sku".into(),
            price: "price".into(),
            tags: "tags".into(),
        }
    }
}

fn str_value(text: &str) -> Slot {
    Slot::Value {
        value: Value::Str {
            value: text.into(),
            length: text.len() as u64,
        },
    }
}

fn int(value: i64) -> Slot {
    Slot::Value {
        value: Value::Int { value },
    }
}

fn var(kind: ValueKind, name: &Name, value: Slot) -> Var {
    Var {
        kind,
        name: name.clone(),
        value,
    }
}

fn item(n: &Names, i: i64) -> Slot {
    Slot::Value {
        value: Value::Object {
            type_name: n.item_type.clone(),
            attrs: vec![
                Attr {
                    name: n.sku.clone(),
                    value: str_value(&format!("SKU-{i:05}")),
                },
                Attr {
                    name: n.price.clone(),
                    value: Slot::Value {
                        value: Value::Float {
                            value: i as f64 * 1.25,
                        },
                    },
                },
                Attr {
                    name: n.tags.clone(),
                    value: Slot::Value {
                        value: Value::Sequence {
                            kind: SequenceKind::List,
                            items: vec![
                                Value::Str {
                                    value: "sale".into(),
                                    length: 4,
                                },
                                Value::Int { value: i % 7 },
                            ],
                            length: 2,
                        },
                    },
                },
            ],
            length: 3,
        },
    }
}

/// Appends request `i` of the program on `thread`: [`EVENTS_PER_REQUEST`]
/// events, their times left at 0 for the caller to set.
fn request(out: &mut VecDeque<Event>, n: &Names, thread: u32, i: i64) {
    let call = |code: u32, args: Vec<Var>| Event::Call {
        thread,
        t: 0,
        code,
        args,
    };
    let line = |line: u32, vars: Vec<Var>| Event::Line {
        thread,
        t: 0,
        line,
        vars,
    };
    let ret = |value: Slot| Event::Return {
        thread,
        t: 0,
        value,
    };
    use ValueKind::{Arg, Global, Local};
    out.push_back(call(
        4,
        vec![
            var(Arg, &n.user, str_value("ada")),
            var(Arg, &n.password, str_value("hunter2")),
        ],
    ));
    out.push_back(line(
        4,
        vec![var(Local, &n.token, str_value("tok-1234567890"))],
    ));
    out.push_back(line(5, vec![var(Global, &n.session_ttl, int(3600))]));
    out.push_back(ret(str_value("session-abc")));
    for k in 0..3 {
        out.push_back(call(
            1,
            vec![
                var(Arg, &n.self_, Slot::Absent),
                var(Arg, &n.item, item(n, i * 3 + k)),
            ],
        ));
        out.push_back(line(11, vec![var(Local, &n.count, int(k + 1))]));
        out.push_back(line(12, vec![]));
        out.push_back(ret(Slot::Value { value: Value::None }));
    }
    out.push_back(call(2, vec![var(Arg, &n.self_, Slot::Absent)]));
    out.push_back(line(21, vec![var(Local, &n.total, int(i * 4))]));
    out.push_back(ret(int(i * 4)));
    out.push_back(call(
        3,
        vec![
            var(Arg, &n.card_number, str_value("4111111111111111")),
            var(Arg, &n.amount, int(i * 4)),
        ],
    ));
    out.push_back(line(
        6,
        vec![var(Local, &n.payload, str_value("{\"amount\": 12}"))],
    ));
    out.push_back(call(
        5,
        vec![
            var(Arg, &n.self_, Slot::Absent),
            var(Arg, &n.o, Slot::Absent),
        ],
    ));
    out.push_back(line(200, vec![var(Local, &n.chunks, int(3))]));
    out.push_back(ret(str_value("{\"amount\": 12}")));
    out.push_back(call(
        6,
        vec![var(Arg, &n.url, str_value("https://pay.example/charge"))],
    ));
    out.push_back(call(7, vec![var(Arg, &n.method, str_value("POST"))]));
    out.push_back(line(575, vec![var(Local, &n.resp, int(200))]));
    out.push_back(ret(int(200)));
    out.push_back(ret(int(200)));
    out.push_back(line(7, vec![var(Local, &n.status, int(200))]));
    out.push_back(ret(Slot::Value {
        value: Value::Bool { value: true },
    }));
}

/// The events of the synthetic program, one at a time, in constant memory
/// (at most one request's events per thread are held).
///
/// The main thread (0) starts the module, the worker threads (1 ..
/// `threads`) start `Worker.run`, then every thread serves requests of
/// [`EVENTS_PER_REQUEST`] events, taking turns every 3 to 11 events, until
/// about `events` events are made; the workers then return, and the module
/// last. The total is the least count of that shape that reaches `events`
/// (or the bare program, when `events` is smaller). Times grow by 100 per
/// event.
pub struct SyntheticEvents {
    names: Names,
    target: usize,
    threads: u32,
    /// Events made so far (queued or pending included).
    made: usize,
    /// Events still to come after the requests (the returns).
    closing: usize,
    next_request: i64,
    t: u64,
    /// Ready events, their times set: the start and the end of the program.
    ready: VecDeque<Event>,
    /// Per thread, the rest of its current request (times not set yet).
    pending: Vec<VecDeque<Event>>,
    /// The thread whose turn it is.
    current: usize,
    /// Events left in its turn.
    turn_left: usize,
    turns: usize,
    ended: bool,
}

impl SyntheticEvents {
    /// The events of a program of `threads` threads (at least 1) with about
    /// `events` events.
    pub fn new(events: usize, threads: u32) -> SyntheticEvents {
        let threads = threads.max(1);
        let mut ready = VecDeque::new();
        ready.push_back(Event::ThreadStart {
            thread: 0,
            name: "MainThread".into(),
            t: 0,
        });
        ready.push_back(Event::Call {
            thread: 0,
            t: 1,
            code: 0,
            args: vec![],
        });
        let names = Names::new();
        let mut t = 1;
        for thread in 1..threads {
            t += 100;
            ready.push_back(Event::ThreadStart {
                thread,
                name: format!("Worker-{thread}"),
                t,
            });
            t += 100;
            ready.push_back(Event::Call {
                thread,
                t,
                code: CODES.len() as u32,
                args: vec![var(ValueKind::Arg, &names.self_, Slot::Absent)],
            });
        }
        SyntheticEvents {
            names,
            target: events,
            threads,
            made: ready.len(),
            closing: threads as usize,
            next_request: 0,
            t,
            ready,
            pending: (0..threads).map(|_| VecDeque::new()).collect(),
            current: 0,
            turn_left: 3,
            turns: 0,
            ended: false,
        }
    }

    /// Passes the turn to the next thread.
    fn next_turn(&mut self) {
        self.current = (self.current + 1) % self.threads as usize;
        self.turns += 1;
        self.turn_left = 3 + self.turns * 5 % 9;
    }

    /// Queues the returns that end the program.
    fn end(&mut self) {
        self.ended = true;
        for thread in 1..self.threads {
            self.t += 100;
            self.ready.push_back(Event::Return {
                thread,
                t: self.t,
                value: Slot::Value { value: Value::None },
            });
        }
        self.ready.push_back(Event::Return {
            thread: 0,
            t: self.t + 1,
            value: Slot::Value { value: Value::None },
        });
    }
}

impl Iterator for SyntheticEvents {
    type Item = Event;

    fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            if self.ended {
                return None;
            }
            let th = self.current;
            if self.pending[th].is_empty() && self.made + self.closing < self.target {
                request(
                    &mut self.pending[th],
                    &self.names,
                    th as u32,
                    self.next_request,
                );
                self.next_request += 1;
                self.made += EVENTS_PER_REQUEST;
            }
            if let Some(mut event) = self.pending[th].pop_front() {
                self.t += 100;
                *event.time_mut() = self.t;
                if self.threads > 1 {
                    self.turn_left -= 1;
                    if self.turn_left == 0 {
                        self.next_turn();
                    }
                }
                return Some(event);
            }
            if self.pending.iter().all(VecDeque::is_empty) {
                self.end();
            } else {
                self.next_turn();
            }
        }
    }
}

/// The trace's header: recorded with the built-in default filter and every
/// value allowed.
pub fn header() -> TraceHeader {
    let chain = FilterChain::load(&builtin::sources(None), Platform::Posix)
        .expect("the built-in filter loads");
    TraceHeader {
        recorder: "tracesieve 0.1.0".into(),
        python: "3.12.3 (synthetic)".into(),
        platform: Platform::Posix,
        argv: vec!["main.py".into()],
        cwd: "/srv/shop".into(),
        start_unix_ms: 1_767_225_600_000,
        filters: RecordedFilter::from_chain(&chain),
        framework: None,
        naming: NamingMode::Globals,
        values: ValuesMode::All,
        bounds: ValueBounds::default(),
        repr: false,
        process: None,
    }
}

/// What a program of `threads` threads writes before its first event: its
/// `sys.path`, project markers, sources and code objects (no modules), as a
/// trace without events or trailer.
pub fn tables(threads: u32) -> Trace {
    let mut code_list: Vec<_> = CODES.to_vec();
    if threads > 1 {
        code_list.push(WORKER_CODE);
    }
    let codes = code_list
        .iter()
        .enumerate()
        .map(|(id, (filename, qualname, dunder, first_line))| CodeInfo {
            id: id as u32,
            filename: filename.to_string(),
            qualname: qualname.to_string(),
            first_line: *first_line,
            dunder_name: Some(dunder.to_string()),
            inputs: InputsAt::default(),
        })
        .collect();
    let mut sources: Vec<SourceFile> = Vec::new();
    for (filename, ..) in &code_list {
        if !sources.iter().any(|s| s.path == *filename) {
            sources.push(SourceFile {
                path: filename.to_string(),
                text: Some(format!("# {filename}\n")),
                omitted: None,
            });
        }
    }
    Trace {
        header: header(),
        codes,
        sys_paths: vec![vec![
            "/srv/shop".into(),
            "/usr/lib/python3.12".into(),
            "/srv/venv/lib/python3.12/site-packages".into(),
        ]],
        modules: vec![],
        markers: vec!["/srv/shop".into()],
        sources,
        events: vec![],
        trailer: None,
    }
}

/// The trailer: the program exited with status 0.
pub fn trailer() -> Trailer {
    Trailer {
        exit_status: Some(0),
        end_unix_ms: 1_767_225_601_000,
        stats: FilterStats::default(),
        detached: None,
        size_limit: None,
    }
}

/// A complete single-threaded trace of about `events` events, recorded
/// with the built-in default filter and every value allowed.
pub fn synthetic_trace(events: usize) -> Trace {
    Trace {
        events: SyntheticEvents::new(events, 1).collect(),
        trailer: Some(trailer()),
        ..tables(1)
    }
}
