//! Filters for JavaScript: check, load a chain, explain a scope.

use crate::js::{error_with, from_js, options, to_js, usage_error};
use crate::options::{ChainInput, SourceInput, ValueInput};
use crate::problem::Problem;
use tracesieve_engine::{builtin, FilterError, FilterSource, ScopeQuery, ValueQuery};
use wasm_bindgen::prelude::*;

/// A loaded filter chain (the built-in head and the given files), ready to
/// explain scopes and re-filter traces.
#[wasm_bindgen]
pub struct FilterChain {
    pub(crate) chain: tracesieve_engine::FilterChain,
}

#[wasm_bindgen]
impl FilterChain {
    /// The chain's identity (hex), which keys cached decisions.
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        format!("{:016x}", self.chain.id().0)
    }

    /// Each source of the chain: path, project root, SHA-256, `[meta]`.
    pub fn sources(&self) -> Result<JsValue, JsValue> {
        to_js(self.chain.sources())
    }
}

/// Throws `error` as an `Error` with the problem's fields (`message`,
/// `source`, `line`, `column`, `rule`, `pattern`, `code`, `text`).
pub(crate) fn filter_error(error: &FilterError) -> JsValue {
    let problem = Problem::of(error);
    error_with(&problem.text, &problem)
}

fn load(sources: &[SourceInput], input: &ChainInput) -> Result<FilterChain, FilterError> {
    input.load(sources).map(|chain| FilterChain { chain })
}

/// Checks one filter's text as it would load after the built-in head
/// (`options`: `{builtin, framework, platform}` as for `loadChain`).
/// Returns `null` when it is valid, else the problem: `{message, source,
/// line, column, rule, pattern, code, text}`. Without `path` the filter is
/// inline (`<inline:filter>`, no project root).
#[wasm_bindgen(js_name = checkFilter)]
pub fn check_filter(
    text: String,
    path: Option<String>,
    #[wasm_bindgen(js_name = options)] chain_options: JsValue,
) -> Result<JsValue, JsValue> {
    let input: ChainInput = options(chain_options, "checkFilter options")?;
    let source = match path {
        Some(path) => SourceInput {
            path,
            text,
            inline: false,
        },
        None => SourceInput {
            path: "filter".into(),
            text,
            inline: true,
        },
    };
    match load(&[source], &input) {
        Ok(_) => Ok(JsValue::NULL),
        Err(error) => to_js(&Problem::of(&error)),
    }
}

/// Loads a chain: the built-in head chosen by `options` (`{builtin: true,
/// framework: null | "pytest" | "unittest", platform: "posix" |
/// "windows"}`), then `sources` (`[{path, text, inline?}]`) in order.
/// Throws the first problem as an `Error` with its place.
#[wasm_bindgen(js_name = loadChain)]
pub fn load_chain(
    sources: JsValue,
    #[wasm_bindgen(js_name = options)] chain_options: JsValue,
) -> Result<FilterChain, JsValue> {
    let sources: Vec<SourceInput> = from_js(sources, "loadChain sources")?;
    let input: ChainInput = options(chain_options, "loadChain options")?;
    load(&sources, &input).map_err(|e| filter_error(&e))
}

fn decision_json(chain: &FilterChain, scope: JsValue, values: JsValue) -> Result<String, JsValue> {
    let query: ScopeQuery = from_js(scope, "explain scope")?;
    let values: Vec<ValueInput> = options(values, "explain values")?;
    let values = values
        .iter()
        .map(ValueInput::to_query)
        .collect::<Result<Vec<ValueQuery>, String>>()
        .map_err(|e| usage_error(&format!("explain values: {e}")))?;
    let decision = tracesieve_engine::explain(
        &chain.chain,
        &query.resolve(chain.chain.platform()),
        &values,
    );
    serde_json::to_string(&decision).map_err(|e| usage_error(&e.to_string()))
}

/// What `chain` decides for a scope (`{filename, qualname, module?,
/// firstLine?, moduleNames?, sysPath?, cwd?, modules?, markers?}`) and
/// values (`["arg:password", {kind: "local", name: "x"}]`): the decision
/// object `tracesieve explain --json` prints.
#[wasm_bindgen]
pub fn explain(chain: &FilterChain, scope: JsValue, values: JsValue) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(&decision_json(chain, scope, values)?)
}

/// [`explain`] as the JSON text itself: byte for byte what the native
/// engine writes.
#[wasm_bindgen(js_name = explainJson)]
pub fn explain_json(
    chain: &FilterChain,
    scope: JsValue,
    values: JsValue,
) -> Result<String, JsValue> {
    decision_json(chain, scope, values)
}

/// The text of a built-in filter: `default`, `pytest` or `unittest`.
#[wasm_bindgen(js_name = builtinFilter)]
pub fn builtin_filter(name: &str) -> Result<String, JsValue> {
    builtin::text(name)
        .map(str::to_string)
        .map_err(|e| usage_error(&e))
}

/// The engine's filter source for a JavaScript source record.
pub(crate) fn sources_of(sources: JsValue, what: &str) -> Result<Vec<FilterSource>, JsValue> {
    let sources: Vec<SourceInput> = from_js(sources, what)?;
    Ok(sources.iter().map(SourceInput::to_source).collect())
}
