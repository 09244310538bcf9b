//! A small builder of hand-made traces, for the tests of re-filtering and of
//! the exports.

use crate::filter::{builtin, FilterChain, FilterSource};
use crate::identity::NamingMode;
use crate::path::Platform;
use crate::trace::model::*;
use crate::ValueKind;

/// A chain that traces everything and allows every value.
pub const PERMISSIVE: &str = "[meta]\nname='permissive'\nversion=1\n[scope]\ndefault_exec='trace'\ndefault_value_action='allow'\n";

pub fn permissive() -> FilterChain {
    FilterChain::load(
        &[FilterSource::inline("permissive", PERMISSIVE)],
        Platform::Posix,
    )
    .unwrap()
}

/// The built-in chain followed by `user` as `/p/.codetracer/trace-filter.toml`.
pub fn chain(user: &str) -> FilterChain {
    let mut sources = builtin::sources(None);
    sources.push(FilterSource::file("/p/.codetracer/trace-filter.toml", user));
    FilterChain::load(&sources, Platform::Posix).unwrap()
}

/// A user filter: `[meta]`, inheriting defaults, then `rules`.
pub fn user(rules: &str) -> String {
    format!("[meta]\nname='u'\nversion=1\n[scope]\ndefault_exec='inherit'\ndefault_value_action='inherit'\n{rules}")
}

pub fn int(v: i64) -> Slot {
    Slot::Value {
        value: Value::Int { value: v },
    }
}

pub fn string(s: &str) -> Slot {
    Slot::Value {
        value: Value::Str {
            value: s.into(),
            length: s.len() as u64,
        },
    }
}

pub struct TraceBuilder {
    pub trace: Trace,
    /// The time of the last event; each event adds 1000 ns.
    pub clock: u64,
}

impl TraceBuilder {
    pub fn new() -> TraceBuilder {
        TraceBuilder {
            trace: Trace {
                header: TraceHeader {
                    recorder: "tracesieve 0.1.0".into(),
                    python: "3.12.3".into(),
                    platform: Platform::Posix,
                    argv: vec!["/p/app/m.py".into(), "--flag".into()],
                    cwd: "/p".into(),
                    start_unix_ms: 1_767_225_600_000,
                    filters: RecordedFilter::from_chain(&permissive()),
                    framework: None,
                    naming: NamingMode::Globals,
                    values: ValuesMode::All,
                    bounds: ValueBounds::default(),
                    repr: false,
                    process: None,
                },
                codes: Vec::new(),
                sys_paths: vec![vec!["/p".into()]],
                modules: Vec::new(),
                markers: Vec::new(),
                sources: Vec::new(),
                events: Vec::new(),
                trailer: None,
            },
            clock: 0,
        }
    }

    /// Records `chain` as the record-time chain.
    pub fn filters(&mut self, chain: &FilterChain) -> &mut Self {
        self.trace.header.filters = RecordedFilter::from_chain(chain);
        self
    }

    /// A new code, first seen with the resolver inputs as they are now.
    pub fn code(
        &mut self,
        filename: &str,
        qualname: &str,
        first_line: u32,
        dunder: Option<&str>,
    ) -> u32 {
        let t = &mut self.trace;
        let id = t.codes.len() as u32;
        t.codes.push(CodeInfo {
            id,
            filename: filename.into(),
            qualname: qualname.into(),
            first_line,
            dunder_name: dunder.map(str::to_string),
            inputs: InputsAt {
                sys_path: t.sys_paths.len().saturating_sub(1) as u32,
                modules: t.modules.len() as u32,
                markers: t.markers.len() as u32,
            },
        });
        id
    }

    pub fn source(&mut self, path: &str, text: &str) {
        self.trace.sources.push(SourceFile {
            path: path.into(),
            text: Some(text.into()),
            omitted: None,
        });
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1000;
        self.clock
    }

    fn push(&mut self, event: Event) {
        self.trace.events.push(event);
    }

    /// A thread start, at the time of the thread's next event (as the recorder writes it).
    pub fn thread(&mut self, thread: u32, name: &str) {
        let t = self.clock + 1000;
        self.push(Event::ThreadStart {
            thread,
            name: (*name).into(),
            t,
        });
    }

    pub fn call(&mut self, thread: u32, code: u32, args: &[(&str, Slot)]) {
        let t = self.tick();
        let args = args
            .iter()
            .map(|(name, value)| Var {
                kind: ValueKind::Arg,
                name: (*name).into(),
                value: value.clone(),
            })
            .collect();
        self.push(Event::Call {
            thread,
            t,
            code,
            args,
        });
    }

    pub fn resume(&mut self, thread: u32, code: u32) {
        let t = self.tick();
        self.push(Event::Resume { thread, t, code });
    }

    pub fn throw(&mut self, thread: u32, code: u32, exception: Slot) {
        let t = self.tick();
        self.push(Event::Throw {
            thread,
            t,
            code,
            exception: Box::new(exception),
        });
    }

    pub fn line(&mut self, thread: u32, line: u32, vars: &[(ValueKind, &str, Slot)]) {
        let t = self.tick();
        let vars = vars
            .iter()
            .map(|(kind, name, value)| Var {
                kind: *kind,
                name: (*name).into(),
                value: value.clone(),
            })
            .collect();
        self.push(Event::Line {
            thread,
            t,
            line,
            vars,
        });
    }

    pub fn ret(&mut self, thread: u32, value: Slot) {
        let t = self.tick();
        self.push(Event::Return { thread, t, value });
    }

    pub fn yield_(&mut self, thread: u32, value: Slot) {
        let t = self.tick();
        self.push(Event::Yield { thread, t, value });
    }

    pub fn unwind(&mut self, thread: u32, value: Slot) {
        let t = self.tick();
        self.push(Event::Unwind { thread, t, value });
    }

    pub fn raise(&mut self, thread: u32, line: u32, exception: Slot) {
        let t = self.tick();
        self.push(Event::Raise {
            thread,
            t,
            line,
            exception: Box::new(exception),
        });
    }

    /// The trace, with a trailer (exit status 0, given statistics).
    pub fn finish_with(&self, stats: FilterStats) -> Trace {
        let mut trace = self.trace.clone();
        trace.trailer = Some(Trailer {
            exit_status: Some(0),
            end_unix_ms: trace.header.start_unix_ms + self.clock / 1_000_000 + 1,
            stats,
            detached: None,
            size_limit: None,
        });
        trace
    }

    /// The trace with a trailer and no statistics.
    pub fn finish(&self) -> Trace {
        self.finish_with(FilterStats::default())
    }

    /// The trace without a trailer, as when the recording was cut short.
    pub fn truncated(&self) -> Trace {
        self.trace.clone()
    }
}
