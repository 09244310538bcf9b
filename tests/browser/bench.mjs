// Viewer timings in headless Chromium, for BENCHMARKS.md: for each trace,
// the time from choosing the file to the first call-tree row, the time from
// a filter edit to the updated counts (debounce included), the time to paint
// rows after a jump to the middle of the tree, and peak memory over all of
// it: the viewer tab's (its renderer process, which runs the page and its
// worker, as Chrome's task manager counts a tab) and the whole browser's.
// Memory is proportional set size (shared pages divided among the processes
// that map them, so nothing is counted twice).
//
// Usage: node tests/browser/bench.mjs DIST_DIR TRACE...
//   (tests/browser/bench.sh records traces of 100 k and 1 M events first)

import { chromium } from 'playwright-core';
import { basename } from 'node:path';
import { memory, sampler } from './memory.mjs';
import { serve } from './serve.mjs';
import { CHROMIUM } from './chromium.mjs';

const [distDir, ...traces] = process.argv.slice(2);
if (!distDir || traces.length === 0) {
  console.error('usage: node tests/browser/bench.mjs DIST_DIR TRACE...');
  process.exit(2);
}

/**
 * One scripted session on `path` in a fresh browser: open the trace with the
 * file button, skip the most frequent function in the playground, clear the
 * filter, jump to the middle of the tree, select a call there. With `sample`, also the tab's and
 * the browser's memory: empty, once opened, and at the peak. Memory is
 * sampled in its own run, as reading /proc slows the browser down.
 */
async function run(path, sample) {
  const launched = await chromium.launchServer(CHROMIUM);
  const pid = launched.process().pid;
  const browser = await chromium.connect(launched.wsEndpoint());
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(server.url);
  await page.waitForSelector('[data-testid=drop-zone]');
  // The empty page, settled.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  await page.waitForTimeout(500);
  const idle = sample ? memory(pid) : null;
  const openPeak = sample ? sampler(pid) : null;
  // Timed in the page: from the file input's change event to the first call-tree row.
  await page.evaluate(() => {
    document.addEventListener('change', () => { window.__chosen = performance.now(); }, { capture: true });
    new MutationObserver(() => {
      if (!window.__shown && document.querySelector('[data-testid=call-row]')) window.__shown = performance.now();
    }).observe(document.body, { childList: true, subtree: true });
  });
  await page.setInputFiles('[data-testid=file-input]', path);
  await page.waitForSelector('[data-testid=call-row]', { timeout: 120000 });
  const open = Math.round(await page.evaluate(() => window.__shown - window.__chosen));
  await page.waitForTimeout(300);
  const opened = openPeak?.stop();
  const sessionPeak = sample ? sampler(pid) : null;

  // A filter edit that skips the most frequent function.
  const stats = () => page.textContent('[data-testid=filter-stats]');
  const label = await page.$$eval('[data-testid=call-row] .label', (els) => els.map((e) => e.textContent).pop());
  const before = await stats();
  const edit = Date.now();
  await page.fill('[data-testid=filter-editor]',
    `[meta]\nname = "bench"\nversion = 1\n[scope]\ndefault_exec = "inherit"\ndefault_value_action = "inherit"\n[[scope.rules]]\nselector = "obj:*.${label}"\nexec = "skip"\n`);
  await page.waitForFunction((b) => document.querySelector('[data-testid=filter-stats]')?.textContent !== b
    && !document.querySelector('.busy'), before, { timeout: 120000 });
  const refilter = Date.now() - edit;

  // Back to all calls, then jump to the middle of the tree.
  await page.fill('[data-testid=filter-editor]', '');
  await page.waitForFunction(() => /\(0 skipped\)/.test(document.querySelector('[data-testid=filter-stats]')?.textContent ?? ''), null, { timeout: 120000 });
  const scroll = await page.evaluate(async () => {
    const tree = document.querySelector('.tree');
    const t0 = performance.now();
    tree.scrollTop = tree.scrollHeight / 2;
    tree.dispatchEvent(new Event('scroll'));
    // The worker sends the rows there: wait until they are drawn.
    const inSight = () => [...document.querySelectorAll('[data-testid=call-row]')]
      .some((r) => r.offsetTop >= tree.scrollTop && r.offsetTop < tree.scrollTop + tree.clientHeight);
    while (!inSight() && performance.now() - t0 < 60000) {
      await new Promise((ok) => requestAnimationFrame(ok));
    }
    await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
    const rows = [...document.querySelectorAll('[data-testid=call-row]')];
    return { ms: performance.now() - t0, visible: inSight(), rows: rows.length };
  });
  // Select a call in the middle: its steps are decoded from the file's chunks.
  const chosen = Date.now();
  await page.$$eval('[data-testid=call-row]', (rows) => {
    const tree = document.querySelector('.tree');
    const row = rows.find((r) => r.offsetTop >= tree.scrollTop) ?? rows.at(-1);
    row.click();
  });
  await page.waitForSelector('[data-testid=value-row]', { timeout: 120000 });
  const frame = Date.now() - chosen;
  const events = /([\d\u202F]+) events/.exec(await stats())?.[1]?.replace(/\u202F/g, ',');
  const session = sessionPeak?.stop();
  await browser.close();
  await launched.close();
  const timings = { events, open, refilter, scroll, frame };
  if (!sample) return timings;
  return {
    ...timings,
    idle: { tab: Math.round(idle.tab), all: Math.round(idle.all) },
    opened,
    peak: { tab: Math.max(opened.tab, session.tab), all: Math.max(opened.all, session.all) },
  };
}

const server = await serve(distDir);
const results = [];
for (const path of traces) {
  const timed = await run(path, false);
  const { idle, opened, peak } = await run(path, true);
  results.push({ trace: basename(path), ...timed, idle, opened, peak });
  console.log(JSON.stringify(results.at(-1)));
}
await server.close();
console.log('\n| trace | events | file chosen → first rows | filter edit → counts (incl. 150 ms debounce) | jump to middle → rows (DOM rows) | select a call → its values |');
console.log('|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.trace} | ${r.events} | ${r.open} ms | ${r.refilter} ms | ${r.scroll.ms.toFixed(0)} ms (${r.scroll.rows}) | ${r.frame} ms |`);
}
console.log('\n| trace | tab: empty → opened → peak | whole browser: empty → opened → peak |');
console.log('|---|---|---|');
for (const r of results) {
  console.log(`| ${r.trace} | ${r.idle.tab} → ${r.opened.tab} → ${r.peak.tab} MiB | ${r.idle.all} → ${r.opened.all} → ${r.peak.all} MiB |`);
}
