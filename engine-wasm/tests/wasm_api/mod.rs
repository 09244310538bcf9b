//! engine-wasm's JavaScript API, called from wasm: errors are `Error`
//! objects with their place, the streaming reader decodes in pieces,
//! results have the engine's JSON shapes. Run in node (`wasm_node.rs`) and
//! in headless Chromium (`wasm_browser.rs`).

#[path = "../../../engine/benches/support/trace.rs"]
mod synthetic;

use js_sys::{Array, Reflect, Uint8Array};
use tracesieve_engine::trace::write_trace;
use tracesieve_engine_wasm::{
    chain_for_trace, check_filter, explain, export_json, load_chain, read_trace, refilter, relabel,
    TraceReader,
};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

const BROKEN: &str =
    "[meta]\nname = \"x\"\nversion = 1\n[scope]\ndefault_exec = \"trace\"\ndefault_value_action = \"allow\"\n[[scope.rules]]\nselector = \"pkg:regex:app.(\"\n";

fn get(object: &JsValue, key: &str) -> JsValue {
    Reflect::get(object, &key.into()).expect("an object")
}

fn sources(path: &str, text: &str) -> JsValue {
    let source = js_sys::Object::new();
    Reflect::set(&source, &"path".into(), &path.into()).unwrap();
    Reflect::set(&source, &"text".into(), &text.into()).unwrap();
    Array::of1(&source).into()
}

#[wasm_bindgen_test]
fn check_filter_returns_the_problem_with_its_place() {
    let problem = check_filter(BROKEN.into(), Some("/p/f.toml".into()), JsValue::UNDEFINED)
        .expect("options are valid");
    assert_eq!(get(&problem, "source"), "/p/f.toml");
    assert_eq!(get(&problem, "line").as_f64(), Some(8.0));
    assert!(get(&problem, "column").as_f64().is_some());
    assert!(get(&problem, "message")
        .as_string()
        .unwrap()
        .contains("scope.rules[0]"));
    let valid = check_filter(BROKEN.replace("app.(", "app"), None, JsValue::NULL).unwrap();
    assert!(valid.is_null());
}

#[wasm_bindgen_test]
fn load_chain_throws_an_error_object() {
    let error = match load_chain(sources("/p/f.toml", BROKEN), JsValue::UNDEFINED) {
        Ok(_) => panic!("the filter is broken"),
        Err(error) => error,
    };
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&error, "line").as_f64(), Some(8.0));
    assert_eq!(get(&error, "source"), "/p/f.toml");
    let bad_options = js_sys::JSON::parse(r#"{"framework": "nose"}"#).unwrap();
    let usage = load_chain(Array::new().into(), bad_options)
        .err()
        .expect("a TypeError");
    assert!(usage.is_instance_of::<js_sys::TypeError>());
}

#[wasm_bindgen_test]
fn explain_gives_the_decision_shape() {
    let chain = load_chain(Array::new().into(), JsValue::UNDEFINED).expect("built-ins load");
    let scope = js_sys::JSON::parse(
        r#"{"filename": "/proj/app/auth.py", "qualname": "login", "module": "app.auth"}"#,
    )
    .unwrap();
    let values =
        js_sys::JSON::parse(r#"["arg:password", {"kind": "local", "name": "count"}]"#).unwrap();
    let decision = explain(&chain, scope, values).expect("explains");
    assert_eq!(get(&decision, "module_name"), "app.auth");
    let values: Array = get(&decision, "values").dyn_into().unwrap();
    assert_eq!(get(&values.get(0), "action"), "redact");
    assert_eq!(get(&values.get(1), "action"), "allow");
}

#[wasm_bindgen_test]
fn the_reader_streams_and_the_trace_is_browsable() {
    let bytes = write_trace(&synthetic::synthetic_trace(2_000));
    let mut reader = TraceReader::new();
    assert!(reader.header().unwrap().is_null());
    for piece in bytes.chunks(bytes.len() / 3 + 1) {
        reader.push(piece).expect("a valid trace");
    }
    assert_eq!(
        get(&reader.progress().unwrap(), "bytes").as_f64(),
        Some(bytes.len() as f64)
    );
    assert_eq!(get(&reader.header().unwrap(), "cwd"), "/srv/shop");
    let trace = reader.finish().expect("complete");
    assert!(trace.event_count() >= 2_000);
    let events: Array = trace.events(0, 3).unwrap().dyn_into().unwrap();
    assert_eq!(events.length(), 3);
    assert_eq!(get(&events.get(1), "event"), "call");
    let summary = trace.summary().unwrap();
    assert_eq!(
        get(&summary, "total_events").as_f64(),
        Some(trace.event_count() as f64)
    );
    assert!(trace.truncation().unwrap().is_null());
    let codes: Array = trace.codes().unwrap().dyn_into().unwrap();
    assert_eq!(get(&codes.get(0), "label"), "<__main__>");
}

#[wasm_bindgen_test]
fn refilter_and_relabel_use_the_engine() {
    let bytes = write_trace(&synthetic::synthetic_trace(2_000));
    let trace = read_trace(&bytes).expect("reads");
    let chain = chain_for_trace(
        &trace,
        sources(
            "/srv/shop/.codetracer/trace-filter.toml",
            synthetic::REFILTER_FILTER,
        ),
        JsValue::UNDEFINED,
    )
    .expect("loads");
    let result = refilter(&trace, &chain, JsValue::UNDEFINED).expect("refilters");
    let out: Uint8Array = get(&result, "bytes").dyn_into().unwrap();
    let again = read_trace(&out.to_vec()).expect("the new bytes are a trace");
    assert!(
        again.event_count() < trace.event_count(),
        "requests.* is skipped"
    );
    let stats = get(&result, "stats");
    // requests.api, requests.sessions and (by the built-in default) json.encoder.
    assert_eq!(
        get(&get(&stats, "added"), "scopes_skipped").as_f64(),
        Some(3.0)
    );
    assert!(
        get(&get(&get(&stats, "added"), "dropped"), "arg")
            .as_f64()
            .unwrap()
            > 0.0
    );
    let paths =
        js_sys::JSON::parse(r#"{"moduleNames": "paths", "extraRoots": ["/srv/shop/shop"]}"#)
            .unwrap();
    let labels: Array = relabel(&trace, paths).unwrap().dyn_into().unwrap();
    assert_eq!(labels.length() as usize, 8);
    assert_eq!(get(&labels.get(1), "module_name"), "cart");
    let exported = export_json(
        &again,
        js_sys::JSON::parse(r#"{"canonical": true}"#).unwrap(),
    )
    .expect("exports");
    assert!(exported.starts_with("{\"canonical\":true") || exported.contains("\"canonical\":true"));
}

#[wasm_bindgen_test]
fn foreign_files_are_told_apart() {
    let error = read_trace(b"{\"traceEvents\": []}")
        .err()
        .expect("not a trace");
    assert!(error.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&error, "code"), "not_a_trace");
    let mut reader = TraceReader::new();
    let newer = reader
        .push(b"\x89TSV\r\n\x1a\n\x63\x00\x00\x00")
        .expect_err("a newer format");
    assert_eq!(get(&newer, "code"), "unsupported_version");
}
