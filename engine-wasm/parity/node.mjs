// Engine and trace parity in node: engine-wasm (target/engine-wasm/node)
// against the native results the Rust and Python tests wrote under
// target/parity/. Usage: node engine-wasm/parity/node.mjs
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { runEngineCases } from "./engine.mjs";
import { runTraceCases } from "./traces.mjs";
import { report } from "./report.mjs";

const repo = new URL("../../", import.meta.url);
const api = createRequire(import.meta.url)(new URL("target/engine-wasm/node/tracesieve_engine_wasm.js", repo).pathname);
const json = async (path) => JSON.parse(await readFile(new URL(path, repo), "utf8"));

const engine = runEngineCases(api, await json("target/parity/engine/cases.json"));
const traces = await runTraceCases(api, await json("target/parity/traces/manifest.json"), async (path) => new Uint8Array(await readFile(path)));
const ok = [report("engine parity (node)", engine), report("trace parity (node)", traces)].every(Boolean);
process.exit(ok ? 0 : 1);
