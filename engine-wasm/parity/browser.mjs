// Engine and trace parity in headless Chromium (the system's, driven by
// playwright-core): the same corpus as node.mjs, run by page.html against
// engine-wasm built for the web (target/engine-wasm/web).
// Usage: node engine-wasm/parity/browser.mjs
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { report } from "./report.mjs";
import { serve } from "../../tests/browser/serve.mjs";
import { CHROMIUM } from "../../tests/browser/chromium.mjs";

const repo = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
const server = await serve(repo);
const browser = await chromium.launch(CHROMIUM);
let ok = false;
try {
  const page = await browser.newPage();
  page.on("console", (message) => {
    if (message.type() === "error") console.error(`[chromium] ${message.text()}`);
  });
  await page.goto(`${server.url}engine-wasm/parity/page.html?root=${encodeURIComponent(repo)}`);
  await page.waitForFunction(() => window.parityResult !== undefined, null, { timeout: 600_000 });
  const result = await page.evaluate(() => window.parityResult);
  if (result.error) {
    console.error(`parity page failed: ${result.error}`);
  } else {
    ok = [report("engine parity (Chromium)", result.engine), report("trace parity (Chromium)", result.traces)].every(Boolean);
  }
} finally {
  await browser.close();
  await server.close();
}
process.exit(ok ? 0 : 1);
