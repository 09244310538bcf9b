// Viewer timings in headless Chromium, for BENCHMARKS.md: for each trace,
// the time from the drop to the first call-tree row, the browser's peak
// memory (proportional set size of all its processes) meanwhile, the time from a
// filter edit to the updated counts (debounce included), and the time to
// paint rows after a jump to the middle of the tree.
//
// Usage: node tests/browser/bench.mjs DIST_DIR TRACE...
//   (tests/browser/bench.sh records traces of 100 k and 1 M events first)

import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { serve } from './serve.mjs';
import { CHROMIUM } from './chromium.mjs';

const [distDir, ...traces] = process.argv.slice(2);
if (!distDir || traces.length === 0) {
  console.error('usage: node tests/browser/bench.mjs DIST_DIR TRACE...');
  process.exit(2);
}

/**
 * Memory of `root` and its descendants, in MiB: the sum of their
 * proportional set sizes (shared pages divided among the processes that
 * map them, so nothing is counted twice).
 */
function treeRss(root) {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' })
    .trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
  const children = new Map();
  for (const [pid, ppid] of rows) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  let total = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      total += Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0);
    } catch {
      // The process has gone.
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return total / 1024;
}

const server = await serve(distDir);
const results = [];
for (const path of traces) {
  const launched = await chromium.launchServer(CHROMIUM);
  const pid = launched.process().pid;
  const browser = await chromium.connect(launched.wsEndpoint());
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(server.url);
  await page.waitForSelector('[data-testid=drop-zone]');
  const bytes = await readFile(path);
  const idle = treeRss(pid);
  // Hand the file to the page first, so that only the viewer's work is timed.
  await page.evaluate((b64) => {
    window.__file = new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'bench.tsieve');
  }, bytes.toString('base64'));
  let peak = treeRss(pid);
  const sampler = setInterval(() => { peak = Math.max(peak, treeRss(pid)); }, 100);
  const start = Date.now();
  await page.evaluate(() => {
    const transfer = new DataTransfer();
    transfer.items.add(window.__file);
    document.querySelector('[data-testid=drop-zone]')
      .dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  });
  await page.waitForSelector('[data-testid=call-row]', { timeout: 120000 });
  const open = Date.now() - start;
  await page.waitForTimeout(300);
  clearInterval(sampler);
  peak = Math.max(peak, treeRss(pid));

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
    await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
    const rows = [...document.querySelectorAll('[data-testid=call-row]')];
    const visible = rows.some((r) => Math.abs(r.offsetTop - tree.scrollTop) < tree.clientHeight);
    return { ms: performance.now() - t0, visible, rows: rows.length };
  });
  const events = /([\d\u202F]+) events/.exec(await stats())?.[1]?.replace(/\u202F/g, ',');
  results.push({ trace: basename(path), events, open, peak: Math.round(peak), idle: Math.round(idle), refilter, scroll });
  console.log(JSON.stringify(results.at(-1)));
  await browser.close();
  await launched.close();
}
await server.close();
console.log('\n| trace | events | drop → first rows | browser memory: peak (empty page) | filter edit → counts (incl. 150 ms debounce) | jump to middle → rows (DOM rows) |');
console.log('|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.trace} | ${r.events} | ${r.open} ms | ${r.peak} MiB (${r.idle}) | ${r.refilter} ms | ${r.scroll.ms.toFixed(0)} ms (${r.scroll.rows}) |`);
}
