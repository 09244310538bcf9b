// engine-wasm's side of the trace benchmarks: reading and re-filtering the
// synthetic trace of one million events in node (V8's wasm engine, as in
// Chromium), timed as the median of several runs. The native side is
// `cargo bench -p tracesieve-engine --bench trace`; scripts/bench.sh runs
// both and writes the ratios into BENCHMARKS.md.
//
// Usage: node engine-wasm/bench/bench.mjs TRACE_DIR [RUNS]
// (TRACE_DIR from `cargo run --release -p tracesieve-engine --example
// synthetic_trace -- TRACE_DIR`). Prints one JSON object.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";

const [dir, runsArg] = process.argv.slice(2);
if (!dir) {
  console.error("usage: node engine-wasm/bench/bench.mjs TRACE_DIR [RUNS]");
  process.exit(2);
}
const runs = Number(runsArg ?? 7);
const api = createRequire(import.meta.url)(new URL("../../target/engine-wasm/node/tracesieve_engine_wasm.js", import.meta.url).pathname);
const bytes = new Uint8Array(await readFile(join(dir, "synthetic.tsieve")));
const filter = await readFile(join(dir, "refilter.toml"), "utf8");

function median(work) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    work();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] / 1000;
}

const trace = api.readTrace(bytes);
const events = trace.eventCount;
const read = median(() => api.readTrace(bytes).free());
const chain = api.chainFor(trace, [{ path: "/srv/shop/.codetracer/trace-filter.toml", text: filter }], {});
const refilter = median(() => api.refilter(trace, chain, {}).trace.free());
console.log(JSON.stringify({ events, bytes: bytes.length, runs, read_s: read, refilter_write_s: refilter }));
