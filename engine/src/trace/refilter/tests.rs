//! Tests of re-filtering: decisions, frames, values, threads, statistics.
use super::testkit::*;
use super::*;
use crate::explain::Decision;
use crate::explain::ValueKind;
use crate::identity::ModuleFile;
use crate::identity::NamingMode;
use crate::trace::model::{Attr, Event, FilterStats, SequenceKind, Slot, Trace, Value};

fn kinds(trace: &Trace) -> Vec<String> {
    trace
        .events
        .iter()
        .map(|e| {
            let (tag, code) = match e {
                Event::ThreadStart { thread, name, .. } => return format!("start{thread}:{name}"),
                Event::Call { code, .. } => ("call", Some(*code)),
                Event::Resume { code, .. } => ("resume", Some(*code)),
                Event::Throw { code, .. } => ("throw", Some(*code)),
                Event::Line { line, .. } => return format!("line{line}@{}", e.thread()),
                Event::Return { .. } => ("return", None),
                Event::Yield { .. } => ("yield", None),
                Event::Unwind { .. } => ("unwind", None),
                Event::Raise { line, .. } => return format!("raise{line}@{}", e.thread()),
            };
            match code {
                Some(c) => format!("{tag}:{}@{}", trace.codes[c as usize].qualname, e.thread()),
                None => format!("{tag}@{}", e.thread()),
            }
        })
        .collect()
}

fn skip(selector: &str) -> String {
    user(&format!(
        "[[scope.rules]]\nselector='{selector}'\nexec='skip'\n"
    ))
}

fn globals() -> Naming {
    Naming::new(NamingMode::Globals)
}

#[test]
fn skipping_a_function_removes_its_frame_and_keeps_its_callees() {
    let mut b = TraceBuilder::new();
    let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
    let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
    let g = b.code("/p/app/n.py", "g", 1, Some("app.n"));
    b.source("/p/app/m.py", "m");
    b.source("/p/app/n.py", "n");
    b.source("/p/other.py", "unused");
    b.thread(0, "MainThread");
    b.call(0, main, &[]);
    b.line(0, 1, &[]);
    b.call(0, f, &[("x", int(1))]);
    b.line(0, 4, &[(ValueKind::Local, "y", int(2))]);
    b.call(0, g, &[]);
    b.line(0, 2, &[]);
    b.ret(0, int(3));
    b.raise(0, 5, int(0));
    b.line(0, 5, &[]);
    b.unwind(0, int(0));
    b.line(0, 2, &[]);
    b.ret(0, Slot::Value { value: Value::None });
    let trace = b.finish();

    let out = refilter(&trace, &chain(&skip("obj:app.m.f")), &globals());
    assert_eq!(
        kinds(&out.trace),
        [
            "start0:MainThread",
            "call:<module>@0",
            "line1@0",
            "call:g@0",
            "line2@0",
            "return@0",
            "line2@0",
            "return@0"
        ]
    );
    let names: Vec<&str> = out
        .trace
        .codes
        .iter()
        .map(|c| c.qualname.as_str())
        .collect();
    assert_eq!(names, ["<module>", "g"]);
    assert_eq!(
        out.trace.codes.iter().map(|c| c.id).collect::<Vec<_>>(),
        [0, 1]
    );
    let sources: Vec<&str> = out.trace.sources.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(sources, ["/p/app/m.py", "/p/app/n.py"]);
    assert_eq!(out.stats.scopes_skipped, 1);
    assert_eq!(out.trace.trailer.as_ref().unwrap().stats, out.stats);
    assert_eq!(out.trace.header.filters.len(), 2, "builtin + user");
    assert_eq!(
        out.trace.header.filters[1].path,
        "/p/.codetracer/trace-filter.toml"
    );

    // Skipping the callee's whole file instead: `f` stays, `g` goes, and
    // the source of its file with it.
    let out = refilter(&trace, &chain(&skip("file:app/n.py")), &globals());
    let sources: Vec<&str> = out.trace.sources.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(sources, ["/p/app/m.py"]);
    assert_eq!(
        kinds(&out.trace),
        [
            "start0:MainThread",
            "call:<module>@0",
            "line1@0",
            "call:f@0",
            "line4@0",
            "raise5@0",
            "line5@0",
            "unwind@0",
            "line2@0",
            "return@0"
        ]
    );
}

#[test]
fn sources_follow_the_first_kept_code_of_each_file() {
    let mut b = TraceBuilder::new();
    let a1 = b.code("/p/a.py", "a1", 1, Some("a"));
    let b1 = b.code("/p/b.py", "b1", 1, Some("b"));
    let a2 = b.code("/p/a.py", "a2", 5, Some("a"));
    b.source("/p/a.py", "A");
    b.source("/p/b.py", "B");
    b.thread(0, "MainThread");
    for code in [a1, b1, a2] {
        b.call(0, code, &[]);
        b.ret(0, int(0));
    }
    let out = refilter(&b.finish(), &chain(&skip("obj:a.a1")), &globals());
    let sources: Vec<&str> = out.trace.sources.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(sources, ["/p/b.py", "/p/a.py"]);
}

fn generator_trace() -> Trace {
    let mut b = TraceBuilder::new();
    let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
    let gen = b.code("/p/app/m.py", "gen", 3, Some("app.m"));
    let helper = b.code("/p/app/m.py", "helper", 9, Some("app.m"));
    b.thread(0, "MainThread");
    b.call(0, main, &[]);
    b.line(0, 1, &[]);
    b.call(0, gen, &[]);
    b.line(0, 4, &[]);
    b.yield_(0, int(1));
    b.line(0, 2, &[]);
    b.resume(0, gen);
    b.call(0, helper, &[]);
    b.line(0, 10, &[]);
    b.ret(0, int(5));
    b.line(0, 5, &[]);
    b.yield_(0, int(2));
    b.line(0, 3, &[]);
    b.throw(0, gen, string("stop"));
    b.raise(0, 5, string("stop"));
    b.unwind(0, string("stop"));
    b.line(0, 6, &[]);
    b.ret(0, Slot::Value { value: Value::None });
    b.finish()
}

#[test]
fn generator_frames_follow_yield_resume_and_throw() {
    let trace = generator_trace();
    let out = refilter(&trace, &chain(&skip("obj:app.m.helper")), &globals());
    assert_eq!(
        kinds(&out.trace),
        [
            "start0:MainThread",
            "call:<module>@0",
            "line1@0",
            "call:gen@0",
            "line4@0",
            "yield@0",
            "line2@0",
            "resume:gen@0",
            "line5@0",
            "yield@0",
            "line3@0",
            "throw:gen@0",
            "raise5@0",
            "unwind@0",
            "line6@0",
            "return@0"
        ]
    );
    let out = refilter(&trace, &chain(&skip("obj:app.m.gen")), &globals());
    assert_eq!(
        kinds(&out.trace),
        [
            "start0:MainThread",
            "call:<module>@0",
            "line1@0",
            "line2@0",
            "call:helper@0",
            "line10@0",
            "return@0",
            "line3@0",
            "line6@0",
            "return@0"
        ]
    );
}

#[test]
fn threads_are_renumbered_by_first_kept_event() {
    let mut b = TraceBuilder::new();
    let boot = b.code("/p/app/boot.py", "boot", 1, Some("app.boot"));
    let work = b.code("/p/app/w.py", "work", 1, Some("app.w"));
    let main = b.code("/p/app/m.py", "main", 1, Some("app.m"));
    b.thread(0, "MainThread");
    b.call(0, boot, &[]);
    b.thread(1, "idle");
    b.call(1, boot, &[]);
    b.thread(2, "worker");
    b.call(2, work, &[]);
    b.line(1, 2, &[]);
    b.ret(1, int(0));
    b.ret(0, int(0));
    b.call(0, main, &[]);
    b.ret(2, int(1));
    b.ret(0, int(2));
    let trace = b.finish();
    let out = refilter(&trace, &chain(&skip("obj:app.boot.boot")), &globals());
    assert_eq!(
        kinds(&out.trace),
        [
            "start0:worker",
            "call:work@0",
            "start1:MainThread",
            "call:main@1",
            "return@0",
            "return@1"
        ]
    );
    // The regenerated thread start takes the time of the first kept event.
    let (Event::ThreadStart { t: start, .. }, Event::Call { t: call, .. }) =
        (&out.trace.events[2], &out.trace.events[3])
    else {
        panic!("start then call");
    };
    assert_eq!(start, call);
    assert_eq!(out.stats.scopes_skipped, 1, "each code counted once");
}

const VALUES: &str = "[[scope.rules]]\nselector='pkg:app.*'\n\
    [[scope.rules.value_patterns]]\nselector='arg:bulky'\naction='drop'\n\
    [[scope.rules.value_patterns]]\nselector='local:tmp'\naction='drop'\n\
    [[scope.rules.value_patterns]]\nselector='local:hidden'\naction='redact'\n\
    [[scope.rules.value_patterns]]\nselector='global:CONFIG'\naction='drop'\n\
    [[scope.rules.value_patterns]]\nselector='arg:exception'\naction='redact'\n\
    [[scope.rules.value_patterns]]\nselector='ret:literal:app.m.f'\naction='drop'\n\
    [[scope.rules.value_patterns]]\nselector='ret:literal:<yield>'\naction='redact'\n\
    [[scope.rules.value_patterns]]\nselector='ret:literal:<unwind>'\naction='drop'\n\
    [[scope.rules.value_patterns]]\nselector='attr:internal'\naction='drop'\n";

fn object(attrs: &[(&str, Slot)]) -> Slot {
    Slot::Value {
        value: Value::Object {
            type_name: "app.m.Box".into(),
            attrs: attrs
                .iter()
                .map(|(name, value)| Attr {
                    name: (*name).into(),
                    value: value.clone(),
                })
                .collect(),
            length: attrs.len() as u64,
        },
    }
}

fn value_trace() -> TraceBuilder {
    let mut b = TraceBuilder::new();
    let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
    let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
    let gen = b.code("/p/app/m.py", "gen", 9, Some("app.m"));
    let boxed = object(&[("internal", int(1)), ("password", int(2)), ("ok", int(3))]);
    let nested = Slot::Value {
        value: Value::Dict {
            entries: vec![(
                Value::Str {
                    value: "k".into(),
                    length: 1,
                },
                Value::Sequence {
                    kind: SequenceKind::List,
                    items: vec![match &boxed {
                        Slot::Value { value } => value.clone(),
                        _ => unreachable!(),
                    }],
                    length: 1,
                },
            )],
            length: 1,
        },
    };
    b.thread(0, "MainThread");
    b.call(0, main, &[]);
    b.line(
        0,
        1,
        &[
            (ValueKind::Local, "CONFIG", int(1)),
            (ValueKind::Local, "tmp", int(2)),
            (ValueKind::Local, "hidden", int(3)),
            (ValueKind::Local, "kept", int(4)),
        ],
    );
    b.call(
        0,
        f,
        &[
            ("bulky", int(1)),
            ("password", string("hunter2")),
            ("n", nested),
        ],
    );
    b.line(
        0,
        4,
        &[
            (ValueKind::Global, "CONFIG", int(1)),
            (ValueKind::Local, "CONFIG", int(9)),
            (ValueKind::Local, "tmp", int(2)),
            (ValueKind::Local, "b", boxed),
        ],
    );
    b.ret(0, int(7));
    b.call(0, gen, &[]);
    b.yield_(0, int(1));
    b.throw(0, gen, string("boom"));
    b.raise(
        0,
        10,
        object(&[("internal", int(1)), ("token", int(2)), ("x", int(3))]),
    );
    b.unwind(0, string("boom"));
    b.ret(0, Slot::Value { value: Value::None });
    b
}

#[test]
fn values_are_redacted_and_dropped_where_they_stand() {
    let trace = value_trace().finish();
    let out = refilter(&trace, &chain(&user(VALUES)), &globals());
    let ev = &out.trace.events;
    let Event::Line { vars, .. } = &ev[2] else {
        panic!("module line")
    };
    // Module level (D7): CONFIG dropped as a global, tmp dropped, hidden redacted.
    let got: Vec<(&str, &Slot)> = vars.iter().map(|v| (&*v.name, &v.value)).collect();
    assert_eq!(got, [("hidden", &Slot::Redacted), ("kept", &int(4))]);
    let Event::Call { args, .. } = &ev[3] else {
        panic!("call f")
    };
    assert_eq!(args.len(), 2, "bulky is left out");
    assert_eq!(&*args[0].name, "password");
    assert_eq!(args[0].value, Slot::Redacted, "built-in secret pattern");
    // Attributes are decided inside containers.
    let Slot::Value {
        value: Value::Dict { entries, .. },
    } = &args[1].value
    else {
        panic!("dict kept")
    };
    let Value::Sequence { items, .. } = &entries[0].1 else {
        panic!("list kept")
    };
    let Value::Object { attrs, length, .. } = &items[0] else {
        panic!("object kept")
    };
    assert_eq!(*length, 3);
    let attrs: Vec<(&str, &Slot)> = attrs.iter().map(|a| (&*a.name, &a.value)).collect();
    assert_eq!(attrs, [("password", &Slot::Redacted), ("ok", &int(3))]);
    // In a function: the global CONFIG is dropped, a local CONFIG is not.
    let Event::Line { vars, .. } = &ev[4] else {
        panic!("f line")
    };
    let names: Vec<(ValueKind, &str)> = vars.iter().map(|v| (v.kind, &*v.name)).collect();
    assert_eq!(
        names,
        [(ValueKind::Local, "CONFIG"), (ValueKind::Local, "b")]
    );
    assert_eq!(
        ev[5],
        Event::Return {
            thread: 0,
            t: ev[5].time(),
            value: Slot::Dropped
        }
    );
    assert!(matches!(
        &ev[7],
        Event::Yield {
            value: Slot::Redacted,
            ..
        }
    ));
    assert!(matches!(
        &ev[8],
        Event::Throw { exception, .. } if **exception == Slot::Redacted
    ));
    let Event::Raise { exception, .. } = &ev[9] else {
        panic!("raise keeps the exception")
    };
    let Slot::Value {
        value: Value::Object { attrs, .. },
    } = &**exception
    else {
        panic!("raise keeps the exception")
    };
    let names: Vec<&str> = attrs.iter().map(|a| &*a.name).collect();
    assert_eq!(names, ["token", "x"]);
    assert_eq!(attrs[0].value, Slot::Redacted);
    assert!(matches!(
        &ev[10],
        Event::Unwind {
            value: Slot::Dropped,
            ..
        }
    ));

    // arg, local, global, ret, attr
    assert_eq!(out.added.redacted, [2, 1, 0, 1, 3]);
    assert_eq!(out.added.dropped, [1, 3, 1, 2, 3]);
    assert_eq!(out.stats, out.added, "the input had no statistics");
}

#[test]
fn a_dropped_thrown_exception_keeps_a_marker() {
    let trace = value_trace().finish();
    let rules = "[[scope.rules]]\nselector='pkg:app.*'\n\
        [[scope.rules.value_patterns]]\nselector='arg:exception'\naction='drop'\n";
    let out = refilter(&trace, &chain(&user(rules)), &globals());
    assert!(out.trace.events.iter().any(|e| matches!(
        e,
        Event::Throw { exception, .. } if **exception == Slot::Dropped
    )));
    assert_eq!(out.added.dropped[0], 1);
}

#[test]
fn statistics_add_up_over_passes() {
    let before = FilterStats {
        scopes_skipped: 4,
        redacted: [1, 1, 1, 1, 1],
        dropped: [0, 0, 0, 0, 7],
    };
    let trace = value_trace().finish_with(before.clone());
    let out = refilter(&trace, &chain(&user(VALUES)), &globals());
    assert_eq!(out.stats.scopes_skipped, 4);
    assert_eq!(out.stats.redacted, [3, 2, 1, 2, 4]);
    assert_eq!(out.stats.dropped, [1, 3, 1, 2, 10]);
    assert_eq!(out.trace.trailer.unwrap().stats, out.stats);
    // Without a trailer, the statistics are this pass's.
    let out = refilter(
        &value_trace().truncated(),
        &chain(&user(VALUES)),
        &globals(),
    );
    assert!(out.trace.trailer.is_none());
    assert_eq!(out.stats, out.added);
}

#[test]
fn refiltering_is_idempotent_and_the_record_chain_is_the_identity() {
    for (trace, rules) in [
        (value_trace().finish(), user(VALUES)),
        (generator_trace(), skip("obj:app.m.helper")),
        (generator_trace(), skip("obj:app.m.gen")),
    ] {
        let f = chain(&rules);
        let once = refilter(&trace, &f, &globals());
        let twice = refilter(&once.trace, &f, &globals());
        assert_eq!(twice.trace, once.trace);
        assert_eq!(twice.added, FilterStats::default());
        // `once` is a trace recorded with `f`: its own chain changes nothing.
        let recorded_chain = once.trace.header.chain().unwrap();
        let again = refilter(&once.trace, &recorded_chain, &Naming::recorded(&once.trace));
        assert_eq!(again.trace, once.trace);
    }
}

#[test]
fn a_hand_recorded_trace_is_a_fixed_point_of_its_own_chain() {
    let f = chain(&user(VALUES));
    let mut b = TraceBuilder::new();
    b.filters(&f);
    let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
    let fun = b.code("/p/app/m.py", "f", 3, Some("app.m"));
    b.source("/p/app/m.py", "...");
    b.thread(0, "MainThread");
    b.call(0, main, &[]);
    b.line(0, 1, &[(ValueKind::Local, "hidden", Slot::Redacted)]);
    b.call(0, fun, &[("password", Slot::Redacted), ("x", int(1))]);
    b.line(
        0,
        4,
        &[(ValueKind::Local, "b", object(&[("token", Slot::Redacted)]))],
    );
    b.ret(0, Slot::Dropped);
    b.ret(0, Slot::Value { value: Value::None });
    let trace = b.finish_with(FilterStats {
        scopes_skipped: 2,
        redacted: [1, 1, 0, 0, 1],
        dropped: [0, 1, 0, 1, 0],
    });
    let out = refilter(
        &trace,
        &trace.header.chain().unwrap(),
        &Naming::recorded(&trace),
    );
    assert_eq!(out.trace, trace);
}

/// Codes of a trace whose `sys.path` changed between the first sightings.
fn paths_trace() -> Trace {
    let mut b = TraceBuilder::new();
    b.trace.sys_paths = vec![vec!["/p".into()]];
    let a = b.code("/p/src/app/m.py", "<module>", 1, Some("__main__"));
    b.trace.sys_paths.push(vec!["/p/src".into(), "/p".into()]);
    let n = b.code("/p/src/app/n.py", "<module>", 1, Some("__main__"));
    b.trace.markers.push("/q".into());
    b.trace.modules.push(ModuleFile {
        name: "lib.tool".into(),
        path: "/q/lib/tool.py".into(),
    });
    let tool = b.code("/q/lib/tool.py", "run", 1, Some("lib.tool"));
    let z = b.code("/r/z.py", "<module>", 1, Some("z"));
    // Entries found after `z.py`'s module body was first seen: only
    // codes first seen later resolve with them.
    b.trace.modules.push(ModuleFile {
        name: "late.name".into(),
        path: "/r/z.py".into(),
    });
    b.trace.markers.push("/r".into());
    let later = b.code("/r/z.py", "later", 5, Some("z"));
    b.thread(0, "MainThread");
    for code in [a, n, tool, z, later] {
        b.call(0, code, &[]);
        b.ret(0, int(0));
    }
    b.finish()
}

#[test]
fn naming_modes_change_what_pkg_rules_match() {
    let trace = paths_trace();
    let f = chain(&skip("pkg:app.*"));
    // globals: every module body is `__main__`, nothing matches `app.*`.
    let out = refilter(&trace, &f, &globals());
    assert_eq!(out.trace.codes.len(), 5);
    assert_eq!(out.trace.header.naming, NamingMode::Globals);
    // paths: `m.py` was first seen with sys.path [/p] (src.app.m),
    // `n.py` after /p/src was added (app.n): only `n.py` is skipped.
    let paths = Naming::new(NamingMode::Paths);
    let out = refilter(&trace, &f, &paths);
    let files: Vec<&str> = out
        .trace
        .codes
        .iter()
        .map(|c| c.filename.as_str())
        .collect();
    assert_eq!(
        files,
        ["/p/src/app/m.py", "/q/lib/tool.py", "/r/z.py", "/r/z.py"]
    );
    assert_eq!(out.trace.header.naming, NamingMode::Paths);
    assert_eq!(out.stats.scopes_skipped, 1);
    // An extra root makes `m.py` `app.m` too.
    let extra = Naming {
        mode: NamingMode::Paths,
        extra_roots: vec!["/p/src".into()],
    };
    let out = refilter(&trace, &f, &extra);
    assert_eq!(out.trace.codes.len(), 3);

    let labels = relabel(&trace, &paths);
    let got: Vec<(Option<&str>, &str, &str)> = labels
        .iter()
        .map(|l| {
            (
                l.module_name.as_deref(),
                l.reason.as_str(),
                l.label.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (Some("src.app.m"), "sys.path root /p", "<src.app.m>"),
            (Some("app.n"), "sys.path root /p/src", "<app.n>"),
            (Some("lib.tool"), "sys.modules entry lib.tool", "run"),
            (Some("z"), "parent directory", "<z>"),
            (Some("late.name"), "sys.modules entry late.name", "later"),
        ]
    );
    let labels = relabel(&trace, &globals());
    assert_eq!(labels[0].label, "<__main__>");
    assert_eq!(labels[0].reason, "`__name__`");
    assert_eq!(labels[3].module_name.as_deref(), Some("z"));
}

#[test]
fn decisions_follow_the_code_table() {
    let trace = paths_trace();
    let f = chain(&skip("pkg:lib.*"));
    let d = decide_codes(&trace, &f, &Naming::new(NamingMode::Paths));
    assert_eq!(d.len(), 5);
    assert_eq!(
        d.iter().map(Decision::is_recorded).collect::<Vec<_>>(),
        [true, true, false, true, true]
    );
    assert_eq!(d[1].label(), "<app.n>");
    assert_eq!(d[2].object_name(), Some("lib.tool.run"));
}

#[test]
fn events_without_a_frame_or_code_are_left_out() {
    let mut b = TraceBuilder::new();
    let main = b.code("/p/app/m.py", "main", 1, Some("app.m"));
    b.thread(0, "MainThread");
    b.line(0, 1, &[(ValueKind::Local, "x", int(1))]);
    b.raise(0, 1, int(1));
    b.ret(0, int(1));
    b.call(0, 99, &[("secret", int(1))]);
    b.line(0, 2, &[]);
    b.ret(0, int(1));
    b.call(0, main, &[]);
    b.ret(0, int(2));
    let out = refilter(&b.finish(), &permissive(), &globals());
    assert_eq!(
        kinds(&out.trace),
        ["start0:MainThread", "call:main@0", "return@0"]
    );
}

#[test]
fn synthetic_files_are_not_recorded_nor_counted_as_skipped() {
    let mut b = TraceBuilder::new();
    let s = b.code("<string>", "<module>", 1, Some("__main__"));
    let real = b.code("/p/app/m.py", "f", 1, Some("app.m"));
    b.thread(0, "MainThread");
    b.call(0, s, &[]);
    b.call(0, real, &[]);
    b.ret(0, int(1));
    b.ret(0, int(2));
    let out = refilter(&b.finish(), &permissive(), &globals());
    assert_eq!(
        kinds(&out.trace),
        ["start0:MainThread", "call:f@0", "return@0"]
    );
    assert_eq!(out.stats.scopes_skipped, 0);
}

/// What the recorder would write for one small program, permissively and
/// with a filter: re-filtering the first gives the second (canonical JSON).
#[test]
fn refiltering_a_permissive_recording_matches_recording_with_the_filter() {
    let rules = "[[scope.rules]]\nselector='obj:app.m.helper'\nexec='skip'\n\
        [[scope.rules]]\nselector='pkg:app.*'\n\
        [[scope.rules.value_patterns]]\nselector='local:tmp'\naction='drop'\n";
    let f = chain(&user(rules));
    let program = |b: &mut TraceBuilder, filtered: bool| {
        let main = b.code("/p/app/m.py", "<module>", 1, Some("app.m"));
        let helper = (!filtered).then(|| b.code("/p/app/m.py", "helper", 3, Some("app.m")));
        let login = b.code("/p/app/m.py", "login", 6, Some("app.m"));
        b.source("/p/app/m.py", "src");
        let secret = if filtered {
            Slot::Redacted
        } else {
            string("hunter2")
        };
        b.thread(0, "MainThread");
        b.call(0, main, &[]);
        // `tmp` is dropped: the recorder leaves it out.
        let module_vars = match filtered {
            true => vec![],
            false => vec![(ValueKind::Local, "tmp", int(1))],
        };
        b.line(0, 1, &module_vars);
        if let Some(helper) = helper {
            b.call(0, helper, &[]);
            b.line(0, 4, &[]);
        } else {
            b.clock += 2000;
        }
        b.call(0, login, &[("user", string("bob")), ("password", secret)]);
        b.line(0, 7, &[]);
        b.ret(0, int(1));
        if helper.is_some() {
            b.ret(0, Slot::Value { value: Value::None });
        } else {
            b.clock += 1000;
        }
        b.ret(0, Slot::Value { value: Value::None });
    };
    let mut permissive_run = TraceBuilder::new();
    program(&mut permissive_run, false);
    let mut filtered_run = TraceBuilder::new();
    filtered_run.filters(&f);
    program(&mut filtered_run, true);
    let recorded = filtered_run.finish_with(FilterStats {
        scopes_skipped: 1,
        redacted: [1, 0, 0, 0, 0],
        dropped: [0, 1, 0, 0, 0],
    });
    let refiltered = refilter(&permissive_run.finish(), &f, &globals());
    use crate::trace::export::json::to_string;
    assert_eq!(
        to_string(&refiltered.trace, true),
        to_string(&recorded, true)
    );
    assert_eq!(
        refiltered.trace, recorded,
        "equal with these timestamps too"
    );
}

#[test]
fn code_ids_are_ids_not_table_positions() {
    // The format allows unique, non-dense ids: here the table holds f with
    // id 7 first, then g with id 3. Redacting g's argument must redact g's,
    // not whatever sits at position 3 (or f's, at position 0).
    let mut b = TraceBuilder::new();
    let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
    let g = b.code("/p/app/m.py", "g", 9, Some("app.m"));
    b.thread(0, "MainThread");
    b.call(0, f, &[("payload", string("f's"))]);
    b.call(0, g, &[("payload", string("g's"))]);
    b.ret(0, int(1));
    b.ret(0, int(2));
    let mut trace = b.finish();
    let renumber = |id: u32| if id == f { 7 } else { 3 };
    for code in &mut trace.codes {
        code.id = renumber(code.id);
    }
    for event in &mut trace.events {
        if let Event::Call { code, .. } = event {
            *code = renumber(*code);
        }
    }
    let chain = chain(&user(
        "[[scope.rules]]\nselector='obj:app.m.g'\n\
         [[scope.rules.value_patterns]]\nselector='arg:payload'\naction='redact'\n",
    ));
    let out = refilter(&trace, &chain, &globals());
    let args: Vec<(String, Slot)> = out
        .trace
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Call { code, args, .. } => Some((
                out.trace.codes[*code as usize].qualname.clone(),
                args[0].value.clone(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        args,
        [
            ("f".to_string(), string("f's")),
            ("g".to_string(), Slot::Redacted)
        ]
    );
}

#[test]
fn streaming_refilter_writes_the_bytes_of_the_whole_trace_refilter() {
    use crate::trace::stream::{read_tables, EventStream};
    use crate::trace::{try_write_trace, write_trace};
    use std::io::Cursor;

    let mut truncated = value_trace().finish();
    truncated.trailer = None;
    let traces = [
        generator_trace(),
        paths_trace(),
        value_trace().finish(),
        truncated,
    ];
    let chains = [
        chain(&user("")),
        chain(&skip("pkg:glob:app.*")),
        chain(&user(VALUES)),
    ];
    for trace in &traces {
        let bytes = write_trace(trace);
        let read = crate::trace::read_trace(&bytes).expect("reads").trace;
        for chain in &chains {
            for naming in [globals(), Naming::new(NamingMode::Paths)] {
                let whole = refilter(&read, chain, &naming);
                let expected = try_write_trace(&whole.trace).expect("writes");
                let tables = read_tables(Cursor::new(&bytes)).expect("tables");
                let events = EventStream::open(Cursor::new(&bytes)).expect("opens");
                let (written, report) =
                    refilter_stream(&tables, events, chain, &naming, Vec::new()).expect("streams");
                assert!(written == expected, "the streamed bytes differ");
                assert_eq!(report.events, whole.trace.events.len() as u64);
                assert_eq!(report.codes, whole.trace.codes.len());
                assert_eq!((report.stats, report.added), (whole.stats, whole.added));
            }
        }
    }
}

#[test]
fn an_event_filter_can_forget_its_frames_and_reuse_its_decisions() {
    let mut b = TraceBuilder::new();
    let f = b.code("/p/app/m.py", "f", 3, Some("app.m"));
    b.thread(0, "MainThread");
    b.call(0, f, &[]);
    b.line(0, 4, &[]);
    let trace = b.finish();
    let chain = chain(&user(""));
    let decisions = decide_codes(&trace, &chain, &globals());
    let mut filter = EventFilter::with_decisions(
        &trace,
        thread_names(&trace.events),
        decisions.clone(),
        &chain,
        &globals(),
    );
    assert_eq!(filter.decisions().len(), decisions.len());
    let mut out = Vec::new();
    filter.event(&trace.events[1], &mut out);
    filter.forget_frames();
    // The line has no frame to belong to any more: it is left out.
    filter.event(&trace.events[2], &mut out);
    assert_eq!(out.len(), 2, "thread_start and call only: {out:?}");
}
