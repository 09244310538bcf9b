//! Hand-made traces for the view models' tests.

use tracesieve_engine::trace::{
    CodeInfo, Event, InputsAt, Slot, Trace, TraceHeader, Trailer, Value, ValueBounds, ValuesMode,
    Var,
};
use tracesieve_engine::{NamingMode, Platform, ValueKind};

/// A trace of `events` with three codes (`<module>`, `charge`, `refund`) of
/// `/proj/shop/pay.py` and its source.
pub fn trace(events: Vec<Event>) -> Trace {
    let code = |id: u32, qualname: &str, first_line: u32| CodeInfo {
        id,
        filename: "/proj/shop/pay.py".into(),
        qualname: qualname.into(),
        first_line,
        dunder_name: Some("shop.pay".into()),
        inputs: InputsAt::default(),
    };
    Trace {
        header: TraceHeader {
            recorder: "tracesieve test".into(),
            python: "3.12.0".into(),
            platform: Platform::Posix,
            argv: vec!["pay.py".into()],
            cwd: "/proj".into(),
            start_unix_ms: 0,
            filters: Vec::new(),
            framework: None,
            naming: NamingMode::Globals,
            values: ValuesMode::All,
            bounds: ValueBounds::default(),
            repr: false,
            process: None,
        },
        codes: vec![
            code(0, "<module>", 1),
            code(1, "charge", 3),
            code(2, "refund", 7),
        ],
        sys_paths: vec![vec!["/proj".into()]],
        modules: Vec::new(),
        markers: Vec::new(),
        sources: vec![tracesieve_engine::trace::SourceFile {
            path: "/proj/shop/pay.py".into(),
            text: Some("import os\n\ndef charge(card, amount):\n    total = amount\n    return total\n\ndef refund():\n    pass\n".into()),
            omitted: None,
        }],
        events,
        trailer: Some(Trailer::default()),
    }
}

/// `thread_start`.
pub fn thread_start(thread: u32, name: &str, t: u64) -> Event {
    Event::ThreadStart {
        thread,
        name: name.into(),
        t,
    }
}

/// A `call` of `code` with no arguments.
pub fn call(thread: u32, code: u32, t: u64) -> Event {
    call_with(thread, code, t, Vec::new())
}

/// A `call` of `code` with `args`.
pub fn call_with(thread: u32, code: u32, t: u64, args: Vec<Var>) -> Event {
    Event::Call {
        thread,
        t,
        code,
        args,
    }
}

/// A `line` with no variables.
pub fn line(thread: u32, line: u32, t: u64) -> Event {
    line_with(thread, line, t, Vec::new())
}

/// A `line` with changed variables.
pub fn line_with(thread: u32, line: u32, t: u64, vars: Vec<Var>) -> Event {
    Event::Line {
        thread,
        t,
        line,
        vars,
    }
}

/// A `return` of `None`.
pub fn ret(thread: u32, t: u64) -> Event {
    Event::Return {
        thread,
        t,
        value: Slot::Value { value: Value::None },
    }
}

/// An exception object of type `type_name`, as recorded.
pub fn exception(type_name: &str) -> Slot {
    Slot::Value {
        value: Value::Object {
            type_name: type_name.into(),
            attrs: Vec::new(),
            length: 0,
        },
    }
}

/// A `raise` of a `type_name` exception at `line`.
pub fn raise(thread: u32, line: u32, type_name: &str, t: u64) -> Event {
    Event::Raise {
        thread,
        t,
        line,
        exception: Box::new(exception(type_name)),
    }
}

/// An `unwind` by a `type_name` exception.
pub fn unwind(thread: u32, type_name: &str, t: u64) -> Event {
    Event::Unwind {
        thread,
        t,
        value: exception(type_name),
    }
}

/// A variable holding an int.
pub fn int_var(kind: ValueKind, name: &str, value: i64) -> Var {
    Var {
        kind,
        name: name.into(),
        value: Slot::Value {
            value: Value::Int { value },
        },
    }
}

/// A variable holding a marker.
pub fn marker_var(kind: ValueKind, name: &str, slot: Slot) -> Var {
    Var {
        kind,
        name: name.into(),
        value: slot,
    }
}
