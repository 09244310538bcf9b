// Runs the engine-parity corpus (target/parity/engine/cases.json, written by
// engine-wasm/tests/engine_parity.rs with the native engine's results)
// through engine-wasm's JavaScript API. Shared by node.mjs and the Chromium
// page: `api` is the loaded wasm-bindgen module.

const PROBLEM_FIELDS = ["message", "source", "line", "column", "rule", "pattern", "code", "text"];

/** The problem record of a thrown filter error, with its fields in order. */
function problemJson(error) {
  if (!(error instanceof Error) || typeof error.line === "undefined") {
    throw new Error(`expected a filter Error with a place, got ${error}`);
  }
  return JSON.stringify(Object.fromEntries(PROBLEM_FIELDS.map((k) => [k, error[k]])));
}

function runCase(api, c) {
  if (c.type === "explain") {
    const chain = api.loadChain(c.sources, c.options);
    try {
      return api.explainJson(chain, c.scope, c.values);
    } finally {
      chain.free();
    }
  }
  // A broken filter: checkFilter returns the problem, loadChain throws it.
  const [source] = c.sources;
  const checked = JSON.stringify(api.checkFilter(source.text, source.path, c.options));
  let thrown = "null";
  try {
    api.loadChain(c.sources, c.options).free();
  } catch (error) {
    thrown = problemJson(error);
  }
  if (checked !== thrown) {
    return `checkFilter gave ${checked} but loadChain threw ${thrown}`;
  }
  return checked;
}

/** Runs every case; returns {total, failures: [{id, expected, actual}]}. */
export function runEngineCases(api, corpus) {
  const failures = [];
  for (const c of corpus.cases) {
    let actual;
    try {
      actual = runCase(api, c);
    } catch (error) {
      actual = `threw ${error && error.stack ? error.stack : error}`;
    }
    if (actual !== c.expected) {
      failures.push({ id: c.id, expected: c.expected, actual });
    }
  }
  return { total: corpus.cases.length, failures };
}
