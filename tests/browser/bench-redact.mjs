// Filter-edit timings in headless Chromium for redactions that the viewer's
// worker answers from its profile (an int local) vs. by reading every event
// (a string local of >= 6 bytes that could teach a text to redact by value).
// The traces come from tests/browser/programs/strings.py (see BENCHMARKS.md,
// "A playground filter that redacts strings").
//
// Usage: node tests/browser/bench-redact.mjs DIST_DIR RUNS TRACE...
// Per trace: RUNS timed sessions (fresh browser each), then one session with
// the renderer's / browser's PSS sampled every 100 ms (sampling slows things).
// Each session: open the trace (change event -> first call row), then
//   (a) filter redacting local:size   (ints: profile path)
//   (b) empty filter, wait until the stats are back
//   (c) filter redacting local:label  (strings: full pass over the events)
// Edits are timed from page.fill to [data-testid=filter-stats] text changed
// and no .busy element (150 ms debounce included).

import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { memory, sampler } from './memory.mjs';
import { serve } from './serve.mjs';
import { CHROMIUM } from './chromium.mjs';
import { chromium } from 'playwright-core';

const [distDir, runsArg, ...traces] = process.argv.slice(2);
const RUNS = Number(runsArg);
if (!distDir || !RUNS || traces.length === 0) {
  console.error('usage: node tests/browser/bench-redact.mjs DIST_DIR RUNS TRACE...');
  process.exit(2);
}
const TIMEOUT = 600000;
const filter = (pattern) => `[meta]
name = "bench"
version = 1
[scope]
default_exec = "inherit"
default_value_action = "inherit"
[[scope.rules]]
selector = "file:glob:**"
[[scope.rules.value_patterns]]
selector = "${pattern}"
action = "redact"
`;
const INT = process.env.INT_PATTERN ?? 'local:size';
const STR = process.env.STR_PATTERN ?? 'local:label';

const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function run(path, sample) {
  const launched = await chromium.launchServer(CHROMIUM);
  const pid = launched.process().pid;
  const browser = await chromium.connect(launched.wsEndpoint());
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(server.url);
  await page.waitForSelector('[data-testid=drop-zone]');
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  await page.waitForTimeout(500);
  const idle = sample ? memory(pid) : null;
  const mem = {};
  let s = sample ? sampler(pid) : null;

  await page.evaluate(() => {
    document.addEventListener('change', () => { window.__chosen = performance.now(); }, { capture: true });
    new MutationObserver(() => {
      if (!window.__shown && document.querySelector('[data-testid=call-row]')) window.__shown = performance.now();
    }).observe(document.body, { childList: true, subtree: true });
  });
  await page.setInputFiles('[data-testid=file-input]', path);
  await page.waitForSelector('[data-testid=call-row]', { timeout: TIMEOUT });
  const open = Math.round(await page.evaluate(() => window.__shown - window.__chosen));
  // Let the worker finish whatever it does after the first rows (profile, counts).
  await page.waitForFunction(() => !document.querySelector('.busy')
    && /events/.test(document.querySelector('[data-testid=filter-stats]')?.textContent ?? ''), null, { timeout: TIMEOUT });
  await page.waitForTimeout(1000);
  if (s) { mem.opened = s.stop(); s = sampler(pid); }

  const stats = () => page.textContent('[data-testid=filter-stats]');
  // "kind: total (+added by this filter)" for each kind of the redacted row.
  const redacted = () => page.$eval('[data-testid=filter-stats] table.kinds', (t) => {
    const kinds = [...t.querySelectorAll('thead th')].slice(1).map((th) => th.textContent);
    const cells = [...t.querySelectorAll('tr[data-stat=redacted] td')].map((td) => td.textContent.trim());
    return kinds.map((k, i) => `${k}: ${cells[i]}`).join('; ');
  });
  const baseline = await stats();
  const edit = async (text) => {
    const before = await stats();
    const t0 = Date.now();
    await page.fill('[data-testid=filter-editor]', text);
    await page.waitForFunction((b) => document.querySelector('[data-testid=filter-stats]')?.textContent !== b
      && !document.querySelector('.busy'), before, { timeout: TIMEOUT });
    return Date.now() - t0;
  };

  // (a) ints: profile path
  const loadA = load();
  const ints = await edit(filter(INT));
  const intsRedacted = await redacted();
  if (s) { mem.ints = s.stop(); s = sampler(pid); }
  // (b) reset
  const t0 = Date.now();
  await page.fill('[data-testid=filter-editor]', '');
  await page.waitForFunction((b) => document.querySelector('[data-testid=filter-stats]')?.textContent === b
    && !document.querySelector('.busy'), baseline, { timeout: TIMEOUT });
  const reset = Date.now() - t0;
  await page.waitForTimeout(1000);
  if (s) { mem.reset = s.stop(); s = sampler(pid); }
  // (c) strings: full pass
  const loadC = load();
  const strings = await edit(filter(STR));
  const stringsRedacted = await redacted();
  if (s) { mem.strings = s.stop(); }
  const events = /([\d\u202F,]+) events/.exec(baseline)?.[1]?.replace(/[\u202F,]/g, '');
  await browser.close();
  await launched.close();
  return {
    events: Number(events), open, ints, reset, strings, intsRedacted, stringsRedacted,
    load: { a: loadA, c: loadC },
    ...(sample ? { idle: { tab: Math.round(idle.tab), all: Math.round(idle.all) }, mem } : {}),
  };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const server = await serve(distDir);
const results = [];
for (const path of traces) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await run(path, false);
    console.log(JSON.stringify({ trace: basename(path), run: i + 1, ...r }));
    runs.push(r);
  }
  let mem = null;
  if (!process.env.NO_MEMORY) {
    mem = await run(path, true);
    console.log(JSON.stringify({ trace: basename(path), run: 'memory', ...mem }));
  }
  results.push({ trace: basename(path), bytes: statSync(path).size, events: runs[0].events, runs, mem });
}
await server.close();
console.log('\n| trace | events | bytes | open → first rows | redact int (profile) | reset to empty | redact string (full pass) |');
console.log('|---|---|---|---|---|---|---|');
for (const r of results) {
  const col = (k) => `${median(r.runs.map((x) => x[k]))} ms (${r.runs.map((x) => x[k]).join(', ')})`;
  console.log(`| ${r.trace} | ${r.events} | ${r.bytes} | ${col('open')} | ${col('ints')} | ${col('reset')} | ${col('strings')} |`);
}
if (results.some((r) => r.mem)) {
  console.log('\n| trace | tab PSS peak MiB: idle / open / int edit / reset / string edit | whole browser, same |');
  console.log('|---|---|---|');
  for (const r of results.filter((r) => r.mem)) {
    const m = r.mem;
    console.log(`| ${r.trace} | ${m.idle.tab} / ${m.mem.opened.tab} / ${m.mem.ints.tab} / ${m.mem.reset.tab} / ${m.mem.strings.tab} | ${m.idle.all} / ${m.mem.opened.all} / ${m.mem.ints.all} / ${m.mem.reset.all} / ${m.mem.strings.all} |`);
  }
}
