//! A synthetic trace of a chosen size for the reading and re-filtering
//! benchmarks (native criterion and engine-wasm in node): a web-shop-like
//! program whose calls go through project code, the standard library and a
//! site-packages dependency, with arguments, locals and returns of every
//! common value shape, secrets among them.

use tracesieve_engine::trace::{
    Attr, CodeInfo, Event, FilterStats, InputsAt, RecordedFilter, SequenceKind, Slot, SourceFile,
    Trace, TraceHeader, Trailer, Value, ValueBounds, ValuesMode, Var,
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

fn var(kind: ValueKind, name: &str, value: Slot) -> Var {
    Var {
        kind,
        name: name.into(),
        value,
    }
}

fn item(i: i64) -> Slot {
    Slot::Value {
        value: Value::Object {
            type_name: "shop.cart.Item".into(),
            attrs: vec![
                Attr {
                    name: "sku".into(),
                    value: str_value(&format!("SKU-{i:05}")),
                },
                Attr {
                    name: "price".into(),
                    value: Slot::Value {
                        value: Value::Float {
                            value: i as f64 * 1.25,
                        },
                    },
                },
                Attr {
                    name: "tags".into(),
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

/// One request of the program: about 30 events.
fn request(events: &mut Vec<Event>, i: i64, t: &mut u64) {
    let at = |t: &mut u64| {
        *t += 100;
        *t
    };
    let call = |code: u32, args: Vec<Var>, t: u64| Event::Call {
        thread: 0,
        t,
        code,
        args,
    };
    let line = |line: u32, vars: Vec<Var>, t: u64| Event::Line {
        thread: 0,
        t,
        line,
        vars,
    };
    let ret = |value: Slot, t: u64| Event::Return {
        thread: 0,
        t,
        value,
    };
    use ValueKind::{Arg, Global, Local};
    events.push(call(
        4,
        vec![
            var(Arg, "user", str_value("ada")),
            var(Arg, "password", str_value("hunter2")),
        ],
        at(t),
    ));
    events.push(line(
        4,
        vec![var(Local, "token", str_value("tok-1234567890"))],
        at(t),
    ));
    events.push(line(5, vec![var(Global, "SESSION_TTL", int(3600))], at(t)));
    events.push(ret(str_value("session-abc"), at(t)));
    for k in 0..3 {
        events.push(call(
            1,
            vec![
                var(Arg, "self", Slot::Absent),
                var(Arg, "item", item(i * 3 + k)),
            ],
            at(t),
        ));
        events.push(line(11, vec![var(Local, "count", int(k + 1))], at(t)));
        events.push(line(12, vec![], at(t)));
        events.push(ret(Slot::Value { value: Value::None }, at(t)));
    }
    events.push(call(2, vec![var(Arg, "self", Slot::Absent)], at(t)));
    events.push(line(21, vec![var(Local, "total", int(i * 4))], at(t)));
    events.push(ret(int(i * 4), at(t)));
    events.push(call(
        3,
        vec![
            var(Arg, "card_number", str_value("4111111111111111")),
            var(Arg, "amount", int(i * 4)),
        ],
        at(t),
    ));
    events.push(line(
        6,
        vec![var(Local, "payload", str_value("{\"amount\": 12}"))],
        at(t),
    ));
    events.push(call(
        5,
        vec![var(Arg, "self", Slot::Absent), var(Arg, "o", Slot::Absent)],
        at(t),
    ));
    events.push(line(200, vec![var(Local, "chunks", int(3))], at(t)));
    events.push(ret(str_value("{\"amount\": 12}"), at(t)));
    events.push(call(
        6,
        vec![var(Arg, "url", str_value("https://pay.example/charge"))],
        at(t),
    ));
    events.push(call(7, vec![var(Arg, "method", str_value("POST"))], at(t)));
    events.push(line(575, vec![var(Local, "resp", int(200))], at(t)));
    events.push(ret(int(200), at(t)));
    events.push(ret(int(200), at(t)));
    events.push(line(7, vec![var(Local, "status", int(200))], at(t)));
    events.push(ret(
        Slot::Value {
            value: Value::Bool { value: true },
        },
        at(t),
    ));
}

/// A complete trace of about `events` events, recorded with the built-in
/// default filter and every value allowed.
pub fn synthetic_trace(events: usize) -> Trace {
    let chain = FilterChain::load(&builtin::sources(None), Platform::Posix)
        .expect("the built-in filter loads");
    let codes = CODES
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
    for (filename, ..) in CODES {
        if !sources.iter().any(|s| s.path == *filename) {
            sources.push(SourceFile {
                path: filename.to_string(),
                text: Some(format!("# {filename}\n")),
                omitted: None,
            });
        }
    }
    let mut list = vec![
        Event::ThreadStart {
            thread: 0,
            name: "MainThread".into(),
            t: 0,
        },
        Event::Call {
            thread: 0,
            t: 1,
            code: 0,
            args: vec![],
        },
    ];
    let mut t = 1;
    let mut i = 0;
    while list.len() + 1 < events {
        request(&mut list, i, &mut t);
        i += 1;
    }
    list.push(Event::Return {
        thread: 0,
        t: t + 1,
        value: Slot::Value { value: Value::None },
    });
    Trace {
        header: TraceHeader {
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
        },
        codes,
        sys_paths: vec![vec![
            "/srv/shop".into(),
            "/usr/lib/python3.12".into(),
            "/srv/venv/lib/python3.12/site-packages".into(),
        ]],
        modules: vec![],
        markers: vec!["/srv/shop".into()],
        sources,
        events: list,
        trailer: Some(Trailer {
            exit_status: Some(0),
            end_unix_ms: 1_767_225_601_000,
            stats: FilterStats::default(),
            detached: None,
        }),
    }
}
