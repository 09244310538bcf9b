// Runs the trace-parity manifest (target/parity/traces/manifest.json,
// written by tests/test_trace_parity.py): each permissive trace re-filtered
// by engine-wasm must give exactly the bytes the native `tracesieve
// refilter` wrote. Shared by node.mjs and the Chromium page; `readBytes`
// loads a file of the manifest (fs in node, fetch in the browser).

function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Runs every case; returns {total, failures: [{id, message}]}. */
export async function runTraceCases(api, manifest, readBytes) {
  const failures = [];
  const inputs = new Map();
  for (const c of manifest.cases) {
    try {
      if (!inputs.has(c.input)) {
        inputs.set(c.input, api.readTrace(await readBytes(c.input)));
      }
      const trace = inputs.get(c.input);
      const chain = api.chainFor(trace, c.filters, { builtin: c.builtin, framework: c.framework });
      const result = api.refilter(trace, chain, { moduleNames: c.module_names, extraRoots: c.roots });
      chain.free();
      result.trace.free();
      const expected = await readBytes(c.expected);
      const at = firstDifference(result.bytes, expected);
      if (at >= 0) {
        failures.push({
          id: c.id,
          message: `wasm bytes differ from native at offset ${at} (wasm ${result.bytes.length} bytes, native ${expected.length})`,
        });
      }
    } catch (error) {
      failures.push({ id: c.id, message: `threw ${error && error.stack ? error.stack : error}` });
    }
  }
  for (const trace of inputs.values()) trace.free();
  return { total: manifest.cases.length, failures };
}
