//! Traces for JavaScript: streaming reading, views of a read trace by
//! range, re-filtering, relabelling and the JSON export.

use crate::filters::{filter_error, sources_of, FilterChain};
use crate::js::{error_with, options, to_js, usage_error};
use crate::options::{ExportInput, NamingInput, RefilterChainInput};
use crate::problem::TraceProblem;
use tracesieve_engine::trace::export::json;
use tracesieve_engine::trace::refilter::{self, chain_for};
use tracesieve_engine::trace::summary::{summarize, RefilterReport};
use tracesieve_engine::trace::{self as engine_trace, ReadOutcome, TraceError};
use wasm_bindgen::prelude::*;

fn trace_error(error: &TraceError) -> JsValue {
    let problem = TraceProblem::of(error);
    error_with(&problem.message, &problem)
}

/// Decodes a trace file as its bytes arrive: `push` each chunk, watch
/// `progress()`, then `finish()` for the [`Trace`].
#[wasm_bindgen]
pub struct TraceReader {
    reader: engine_trace::TraceReader,
}

impl Default for TraceReader {
    fn default() -> TraceReader {
        TraceReader::new()
    }
}

#[wasm_bindgen]
impl TraceReader {
    /// A reader waiting for the first bytes.
    #[wasm_bindgen(constructor)]
    pub fn new() -> TraceReader {
        TraceReader {
            reader: engine_trace::TraceReader::new(),
        }
    }

    /// Decodes `bytes`, the next part of the file. Throws (`code`:
    /// `not_a_trace`, `unsupported_version`, `bad_header`, `over_limit`) when the file
    /// cannot be a readable trace; damage later in the file is not an
    /// error: `finish()` keeps what was read and says where it stopped.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), JsValue> {
        self.reader.push(bytes).map_err(|e| trace_error(&e))
    }

    /// `{bytes, chunks, events}` decoded so far.
    pub fn progress(&self) -> Result<JsValue, JsValue> {
        to_js(&self.reader.progress())
    }

    /// The header (as in the JSON export), once read; else `null`.
    pub fn header(&self) -> Result<JsValue, JsValue> {
        match self.reader.header() {
            Some(header) => to_js(&json::header_to_json(header, false)),
            None => Ok(JsValue::NULL),
        }
    }

    /// The trace read so far; the reader is used up.
    pub fn finish(self) -> Result<Trace, JsValue> {
        self.reader
            .finish()
            .map(|outcome| Trace { outcome })
            .map_err(|e| trace_error(&e))
    }
}

/// A decoded trace (whole, or up to where its file was damaged).
#[wasm_bindgen]
pub struct Trace {
    outcome: ReadOutcome,
}

#[wasm_bindgen]
impl Trace {
    /// Decodes a whole file at once (see [`TraceReader`] for streaming).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(bytes: &[u8]) -> Result<Trace, JsValue> {
        engine_trace::read_trace(bytes)
            .map(|outcome| Trace { outcome })
            .map_err(|e| trace_error(&e))
    }

    /// What the trace holds at a glance (`tracesieve info --json`).
    pub fn summary(&self) -> Result<JsValue, JsValue> {
        to_js(&summarize(
            &self.outcome.trace,
            self.outcome.truncation.as_ref(),
        ))
    }

    /// The header, as in the JSON export.
    pub fn header(&self) -> Result<JsValue, JsValue> {
        to_js(&json::header_to_json(&self.outcome.trace.header, false))
    }

    /// The code table with recorded module names and labels, as in the
    /// JSON export.
    pub fn codes(&self) -> Result<JsValue, JsValue> {
        to_js(&json::codes_to_json(&self.outcome.trace))
    }

    /// The number of events.
    #[wasm_bindgen(getter, js_name = eventCount)]
    pub fn event_count(&self) -> usize {
        self.outcome.trace.events.len()
    }

    /// Events `start..end` (clamped to the trace), as in the JSON export.
    pub fn events(&self, start: usize, end: usize) -> Result<JsValue, JsValue> {
        let events = &self.outcome.trace.events;
        let end = end.min(events.len());
        let start = start.min(end);
        to_js(&json::events_to_json(&events[start..end], false))
    }

    /// The embedded sources: `[{path, text, omitted}]`.
    pub fn sources(&self) -> Result<JsValue, JsValue> {
        to_js(&self.outcome.trace.sources)
    }

    /// Where and why the file stopped being readable, or `null`.
    pub fn truncation(&self) -> Result<JsValue, JsValue> {
        to_js(&self.outcome.truncation)
    }

    /// The trace written again as a trace file.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Result<Vec<u8>, JsValue> {
        engine_trace::try_write_trace(&self.outcome.trace)
            .map_err(|e| usage_error(&format!("cannot encode the trace: {e}")))
    }
}

/// Decodes a whole trace file (the same as `Trace.fromBytes`).
#[wasm_bindgen(js_name = readTrace)]
pub fn read_trace(bytes: &[u8]) -> Result<Trace, JsValue> {
    Trace::from_bytes(bytes)
}

/// The chain that re-filters `trace`, as `tracesieve refilter` builds it:
/// the built-in default and the framework filter the trace was recorded
/// with (`options`: `{builtin?, framework?, append?}` override them;
/// `append` starts from the trace's own chain instead), then `sources`
/// (`[{path, text, inline?}]`), for the platform the trace was recorded on.
#[wasm_bindgen(js_name = chainFor)]
pub fn chain_for_trace(
    trace: &Trace,
    sources: JsValue,
    #[wasm_bindgen(js_name = options)] chain_options: JsValue,
) -> Result<FilterChain, JsValue> {
    let user = sources_of(sources, "chainFor sources")?;
    let input: RefilterChainInput = options(chain_options, "chainFor options")?;
    let trace = &trace.outcome.trace;
    chain_for(trace, &input.for_trace(trace), user)
        .map(|chain| FilterChain { chain })
        .map_err(|e| filter_error(&e))
}

/// Re-filters `trace` with `chain` (`options`: `{moduleNames?,
/// extraRoots?}`). Returns `{bytes, stats, trace}`: the new trace file's
/// bytes, `{events, codes, total, added}` statistics, and the new trace.
#[wasm_bindgen]
pub fn refilter(
    trace: &Trace,
    chain: &FilterChain,
    #[wasm_bindgen(js_name = options)] naming_options: JsValue,
) -> Result<JsValue, JsValue> {
    let naming: NamingInput = options(naming_options, "refilter options")?;
    let input = &trace.outcome.trace;
    let result = refilter::refilter(input, &chain.chain, &naming.for_trace(input));
    let bytes = engine_trace::try_write_trace(&result.trace)
        .map_err(|e| usage_error(&format!("cannot encode the trace: {e}")))?;
    let stats = to_js(&RefilterReport::of(&result))?;
    let out = js_sys::Object::new();
    js_sys::Reflect::set(&out, &"bytes".into(), &js_sys::Uint8Array::from(&bytes[..]))?;
    js_sys::Reflect::set(&out, &"stats".into(), &stats)?;
    let trace = Trace {
        outcome: ReadOutcome {
            trace: result.trace,
            truncation: None,
        },
    };
    js_sys::Reflect::set(&out, &"trace".into(), &trace.into())?;
    Ok(out.into())
}

/// Every code's module name, its reason and its label under a naming
/// (`options`: `{moduleNames?, extraRoots?}`), by code index:
/// `[{module_name, reason, label}]`.
#[wasm_bindgen]
pub fn relabel(
    trace: &Trace,
    #[wasm_bindgen(js_name = options)] naming_options: JsValue,
) -> Result<JsValue, JsValue> {
    let naming: NamingInput = options(naming_options, "relabel options")?;
    let input = &trace.outcome.trace;
    to_js(&refilter::relabel(input, &naming.for_trace(input)))
}

/// The JSON export (`tracesieve export --format json`; `options`:
/// `{canonical?, pretty?}`).
#[wasm_bindgen(js_name = exportJson)]
pub fn export_json(
    trace: &Trace,
    #[wasm_bindgen(js_name = options)] export_options: JsValue,
) -> Result<String, JsValue> {
    let input: ExportInput = options(export_options, "exportJson options")?;
    let trace = &trace.outcome.trace;
    Ok(if input.pretty {
        json::to_string_pretty(trace, input.canonical)
    } else {
        json::to_string(trace, input.canonical)
    })
}
