// End-to-end tests of the viewer in headless Chromium (the system's, through
// playwright-core): load the page, drop traces, browse, edit filters, share.
//
// Usage: node tests/browser/run.mjs DIST_DIR TRACES_DIR
//   DIST_DIR    the output of `trunk build --release`
//   TRACES_DIR  made by tests/browser/make-traces.sh
// Screenshots of each state go to target/e2e-screenshots/. Prints one line
// per test and `N passed, M failed`; exits 1 if any failed.
// tests/browser/run.sh does all three steps.

import { chromium } from 'playwright-core';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { serve } from './serve.mjs';
import { CHROMIUM } from './chromium.mjs';

const [distDir, tracesDir] = process.argv.slice(2);
if (!distDir || !tracesDir) {
  console.error('usage: node tests/browser/run.mjs DIST_DIR TRACES_DIR');
  process.exit(2);
}
const SHOTS = resolve('target/e2e-screenshots');
const HOSTILE_NAME = '"><img src=x onerror="window.__pwned=\'name\'">.tsieve';

await rm(SHOTS, { recursive: true, force: true });
await mkdir(SHOTS, { recursive: true });
const server = await serve(distDir, 0, { '/traces/': tracesDir });
const browser = await chromium.launch(CHROMIUM);
const trace = async (name) => readFile(join(tracesDir, name));

// ---------------------------------------------------------------- helpers

let shot = 0;
async function screenshot(page, name) {
  shot += 1;
  await page.screenshot({ path: join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`) });
}

/** The pages of the running test, closed after it. */
let pages = [];

/** A fresh page; collects page errors, which fail the test that made them. */
async function open(url = server.url) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  pages.push(page);
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  // What a Content-Security-Policy blocked (only `tracesieve view` sends one).
  page.blocked = [];
  page.on('console', (m) => { if (m.text().includes('Content Security Policy')) page.blocked.push(m.text()); });
  page.on('dialog', (d) => { page.errors.push(`a dialog opened: ${d.message()}`); d.dismiss(); });
  await page.goto(url);
  await page.waitForSelector('[data-testid=drop-zone]');
  return page;
}

/** Drops a file on the drop zone, as a user's drag and drop would. */
async function drop(page, bytes, name) {
  await dropAll(page, [[name, bytes]]);
}

/** Drops several files at once: `files` is a list of [name, bytes]. */
async function dropAll(page, files) {
  const encoded = files.map(([name, bytes]) => ({ name, b64: Buffer.from(bytes).toString('base64') }));
  await page.evaluate((files) => {
    const transfer = new DataTransfer();
    for (const { name, b64 } of files) {
      transfer.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name));
    }
    const zone = document.querySelector('[data-testid=drop-zone]');
    zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, encoded);
}

/** The files of the recorded trace set forking.tsieve: [name, bytes], its child first. */
async function forkingSet() {
  const children = (await readdir(join(tracesDir, 'forking.tsieve.d'))).filter((n) => n.endsWith('.tsieve'));
  assert(children.length === 1, `expected one child trace, got ${children}`);
  return [
    [children[0], await readFile(join(tracesDir, 'forking.tsieve.d', children[0]))],
    ['forking.tsieve', await trace('forking.tsieve')],
    ['notes.txt', Buffer.from('not a trace')],
  ];
}

/** The process selector's options' texts. */
const processLabels = (page) => page.$$eval('[data-testid=process-select] option', (els) => els.map((e) => e.textContent));

/** Picks process `index` and waits for its rows to hold `label`. */
async function switchProcess(page, index, label) {
  await page.selectOption('[data-testid=process-select]', String(index));
  await waitFor(`${label} in process ${index}`, async () => (await rowLabels(page)).includes(label));
}

async function waitFor(what, predicate, timeout = 15000) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await predicate();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    await new Promise((ok) => setTimeout(ok, 50));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const rowLabels = (page) => page.$$eval('[data-testid=call-row] .label', (els) => els.map((e) => e.textContent));
const statsText = (page) => page.textContent('[data-testid=filter-stats]');
const callsKept = async (page) => {
  const m = /calls kept (\d+) of (\d+)/.exec(await statsText(page));
  assert(m, 'no call counts in filter-stats');
  return [Number(m[1]), Number(m[2])];
};
const editor = (page) => page.locator('[data-testid=filter-editor]');

async function openSample() {
  const page = await open();
  await drop(page, await trace('sample.tsieve'), 'sample.tsieve');
  await page.waitForSelector('[data-testid=call-row]');
  return page;
}

/** Edits the editor's text and waits until the worker answered. */
async function setFilter(page, text) {
  const before = await statsText(page);
  await editor(page).fill(text);
  await waitFor('the playground to answer', async () => {
    if (await page.$('[data-testid=filter-error]')) return true;
    const busy = await page.$('.busy');
    return !busy && (await statsText(page)) !== before;
  });
}

// ---------------------------------------------------------------- tests

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

test('the page loads with a welcome and no errors', async () => {
  const page = await open();
  await page.waitForSelector('text=Drop a trace anywhere');
  assert(await page.$('[data-testid=file-input]'), 'no file input');
  await screenshot(page, 'welcome');
});

test('a dropped trace shows its calls, searchable by name', async () => {
  const page = await openSample();
  const labels = await rowLabels(page);
  assert(labels.includes('<__main__>'), `no <__main__> row in ${labels.slice(0, 5)}`);
  assert(labels.includes('main'), 'no main row');
  await screenshot(page, 'sample-tree');
  await page.fill('[data-testid=search]', 'charge');
  await waitFor('search results', async () => {
    const found = await rowLabels(page);
    return found.length === 2 && found.every((l) => l === 'charge');
  });
  await screenshot(page, 'search-charge');
});

test('the file button opens a trace too', async () => {
  const page = await open();
  await page.setInputFiles('[data-testid=file-input]', join(tracesDir, 'threads.tsieve'));
  await page.waitForSelector('[data-testid=call-row]');
  const options = await page.$$eval('[data-testid=thread-select] option', (os) => os.map((o) => o.textContent));
  assert(options.length === 3, `expected 3 threads, got ${options}`);
  assert(options.some((o) => o.includes('worker-1')), `no worker-1 in ${options}`);
  await page.selectOption('[data-testid=thread-select]', { index: 1 });
  await waitFor('the worker thread rows', async () => (await rowLabels(page)).includes('work'));
  await screenshot(page, 'threads');
});

test('selecting a call shows its source, steps and values, redacted ones as such', async () => {
  const page = await openSample();
  await page.fill('[data-testid=search]', 'charge');
  await waitFor('charge rows', async () => (await rowLabels(page)).length === 2);
  await page.locator('[data-testid=call-row]').first().click();
  await page.waitForSelector('[data-testid=source-view] .src-line.current');
  const line = await page.getAttribute('[data-testid=source-view] .src-line.current', 'data-line');
  assert(line === '9', `current line ${line}, expected 9 (last4 = …)`);
  const values = await page.$$eval('[data-testid=value-row]', (rows) => rows.map((r) => r.textContent));
  assert(values.some((v) => v.includes('amount') && v.includes('1847')), `no amount in ${values}`);
  assert(values.some((v) => v.includes('api_key') && v.includes('redacted at record time')),
    `api_key not shown as redacted at record time in ${values}`);
  assert(!values.some((v) => v.includes('card_number')), 'card_number (dropped) is shown');
  assert(!values.some((v) => v.includes('sk_test_not_a_real_key')), 'the API key value leaked');
  await page.click('[data-testid=step-forward]');
  await waitFor('the next line', async () =>
    (await page.getAttribute('[data-testid=source-view] .src-line.current', 'data-line')) === '10');
  await screenshot(page, 'source-and-values');
  // why? on the redacted value: the record-time decision says why.
  await page.locator('[data-testid=value-row]', { hasText: 'api_key' }).locator('button.why').click();
  await page.waitForSelector('[data-testid=why-panel]');
  const why = await page.textContent('[data-testid=why-panel]');
  assert(why.includes('redact'), 'why? does not say redact');
  assert(why.includes('obj:shop.payment.*'), `why? does not name the rule: ${why.slice(0, 300)}`);
  assert(why.includes('module name'), 'why? has no module name');
  await screenshot(page, 'why-value');
});

test('a failing test recorded by the pytest plugin opens at its assertion; the exceptions tab lists what was raised and where it went', async () => {
  const page = await open();
  await drop(page, await trace('failing-test.tsieve'), 'failing-test.tsieve');
  // It opens at the raise of the exception that escaped: the failing assert.
  await page.waitForSelector('[data-testid=source-view] .src-line.current');
  await waitFor('the failing assertion', async () =>
    (await page.getAttribute('[data-testid=source-view] .src-line.current', 'data-line')) === '28');
  const values = await page.$$eval('[data-testid=value-row]', (rows) => rows.map((r) => r.textContent));
  assert(values.some((v) => v.includes('got') && v.includes('54')), `no got = 54 at the assertion in ${values}`);
  // Beside the lines, the values they wrote.
  const inline = await page.textContent('[data-testid=source-view] .src-line[data-line="27"] [data-testid=inline-values]');
  assert(inline.includes('got = 54.0'), `line 27 wrote ${inline}`);
  const quantity = await page.textContent('[data-testid=source-view] .src-line[data-line="25"] [data-testid=inline-values]');
  assert(quantity.includes('quantity = 0'), `line 25 wrote ${quantity}`);
  await screenshot(page, 'failing-test-opens-at-assertion');
  await page.locator('button.tab', { hasText: 'Exceptions (2)' }).click();
  await page.waitForSelector('[data-testid=exception-row]');
  const rows = await page.$$eval('[data-testid=exception-row]', (els) => els.map((e) => e.textContent));
  assert(rows.length === 2, `expected 2 exception rows, got ${rows}`);
  assert(rows[0].includes('ValueError') && rows[0].includes('parse_quantity:14') && rows[0].includes('caught in') &&
    rows[0].includes('parse_quantity:15'), `ValueError row: ${rows[0]}`);
  assert(rows[1].includes('AssertionError') && rows[1].includes('test_total_with_discount:28') &&
    rows[1].includes('escaped'), `AssertionError row: ${rows[1]}`);
  await screenshot(page, 'exceptions-tab');
  // A row opens the source where it was raised.
  await page.locator('[data-testid=exception-row]').first().click();
  await waitFor('the ValueError raise', async () =>
    (await page.getAttribute('[data-testid=source-view] .src-line.current', 'data-line')) === '14');
  // And from the keyboard: Enter on a focused row.
  await page.locator('[data-testid=exception-row]').nth(1).focus();
  await page.keyboard.press('Enter');
  await waitFor('the assertion again', async () =>
    (await page.getAttribute('[data-testid=source-view] .src-line.current', 'data-line')) === '28');
  // A filter that skips parse_quantity leaves its raise out of the list.
  await setFilter(page, '[meta]\nname = "skip"\nversion = 1\n[scope]\ndefault_exec = "inherit"\ndefault_value_action = "inherit"\n' +
    '[[scope.rules]]\nselector = "obj:cart_checks.parse_quantity"\nexec = "skip"\n');
  await waitFor('one exception left', async () =>
    (await page.$$eval('[data-testid=exception-row]', (els) => els.length)) === 1);
});

test('a value the playground redacts says so, unlike one redacted at record time', async () => {
  const page = await openSample();
  const text = await editor(page).inputValue();
  const stricter = text.replace('selector = "arg:amount"\naction = "allow"', 'selector = "arg:amount"\naction = "redact"');
  assert(stricter !== text, 'the sample filter no longer allows arg:amount');
  await setFilter(page, stricter);
  await page.fill('[data-testid=search]', 'charge');
  await waitFor('charge rows', async () => (await rowLabels(page)).length === 2);
  await page.locator('[data-testid=call-row]').first().click();
  await page.waitForSelector('[data-testid=source-view] .src-line.current');
  const rows = await waitFor('the frame values', async () => {
    const values = await page.$$eval('[data-testid=value-row]', (els) => els.map((e) => e.textContent));
    return values.some((v) => v.includes('amount')) && values;
  });
  const amount = rows.find((v) => v.includes('amount'));
  assert(amount.includes('redacted') && !amount.includes('record time'), `amount: ${amount}`);
  assert(!rows.some((v) => v.includes('1847')), `the amount is still shown: ${rows}`);
  assert(rows.some((v) => v.includes('api_key') && v.includes('redacted at record time')), `api_key: ${rows}`);
  await screenshot(page, 'playground-redaction');
});

test('a text the playground redacts is redacted by value where it travels, and the page says from where', async () => {
  const page = await open();
  await drop(page, await trace('secrets.tsieve'), 'secrets.tsieve');
  await page.waitForSelector('[data-testid=call-row]');
  const text = await editor(page).inputValue();
  await setFilter(page, `${text}\n[[scope.rules]]\nselector = "file:glob:**"\n\n[[scope.rules.value_patterns]]\nselector = "arg:password"\naction = "redact"\n`);
  await page.fill('[data-testid=search]', 'audit');
  await waitFor('the audit row', async () => (await rowLabels(page)).length === 1);
  await page.locator('[data-testid=call-row]').first().click();
  await page.waitForSelector('[data-testid=source-view] .src-line.current');
  const entry = await waitFor('the entry argument', async () => {
    const values = await page.$$eval('[data-testid=value-row]', (rows) => rows.map((r) => r.textContent));
    return values.find((v) => v.includes('entry'));
  });
  assert(entry.includes('redacted by value: same text as arg `password` in'), `entry: ${entry}`);
  assert(!entry.includes('login by ada'), `the message is still shown: ${entry}`);
  await screenshot(page, 'redacted-by-value');
  await page.locator('[data-testid=value-row]', { hasText: 'entry' }).locator('button.why').click();
  await page.waitForSelector('[data-testid=why-panel]');
  const why = await page.textContent('[data-testid=why-panel]');
  assert(why.includes('Redacted by value') && why.includes('same text as arg `password` in'), `why?: ${why.slice(0, 600)}`);
  // The step where the text was learned: `login`'s call, step 1; "go there" selects it.
  assert(entry.includes('in __main__.login, step 1'), `entry: ${entry}`);
  await page.click('[data-testid=why-panel] button[title=Close]');
  await page.click('[data-testid=go-learned]');
  await waitFor('login selected at its first step', async () => {
    const count = await page.textContent('.step-count');
    const values = await page.$$eval('[data-testid=value-row]', (rows) => rows.map((r) => r.textContent));
    return count.startsWith('step 1 of') && values.some((v) => v.includes('password') && v.includes('redacted'));
  });
  await screenshot(page, 'go-where-learned');
  // A dict entry redacted by its key: why? names the pattern that matched.
  await page.fill('[data-testid=search]', 'connect');
  await waitFor('the connect row', async () => (await rowLabels(page)).length === 1);
  await page.locator('[data-testid=call-row]').first().click();
  const options = await waitFor('the options argument', async () => {
    const values = await page.$$eval('[data-testid=value-row]', (rows) => rows.map((r) => r.textContent));
    return values.find((v) => v.includes('options') && v.includes("'host'"));
  });
  assert(options.includes("'password': <redacted>"), `options: ${options}`);
  await page.locator('[data-testid=value-row]', { hasText: 'options' }).locator('button.why').click();
  const whyOptions = await waitFor('the entry note', async () => {
    const text = await page.textContent('[data-testid=why-panel]');
    return text.includes('redacts the `password` entry') && text;
  });
  assert(whyOptions.includes('a dict key is decided by the value patterns of `arg`'), `why?: ${whyOptions.slice(0, 800)}`);
});

test('a filter that skips a package removes its calls and changes the counts', async () => {
  const page = await openSample();
  const [kept, total] = await callsKept(page);
  assert(kept === total && total > 0, `before: ${kept} of ${total}`);
  assert((await rowLabels(page)).includes('Cart.add'), 'no Cart.add before');
  const text = await editor(page).inputValue();
  await setFilter(page, `${text}\n[[scope.rules]]\nselector = "pkg:shop.cart"\nexec = "skip"\nreason = "Not today."\n`);
  const [after] = await waitFor('fewer calls', async () => {
    const counts = await callsKept(page);
    return counts[0] < kept && counts;
  });
  const labels = await rowLabels(page);
  assert(!labels.some((l) => l.startsWith('Cart')), `cart calls still shown: ${labels}`);
  assert(labels.includes('charge'), 'other calls went too');
  const stats = await statsText(page);
  assert(/\(\d+ skipped\)/.test(stats) && !stats.includes('(0 skipped)'), `stats: ${stats}`);
  assert(await page.$('text=Skipped by this chain'), 'no skipped list');
  await screenshot(page, `filter-skips-cart-${after}-of-${total}`);
});

test('a broken filter shows the engine error at its line and column', async () => {
  const page = await openSample();
  const lines = (await editor(page).inputValue()).split('\n');
  const at = lines.findIndex((l) => l.startsWith('selector = "pkg:shop.*"'));
  assert(at >= 0, 'sample filter changed');
  lines[at] = 'selector = "pkg:shop:oops"';
  await setFilter(page, lines.join('\n'));
  const error = await page.waitForSelector('[data-testid=filter-error]');
  const message = await error.textContent();
  assert(message.startsWith(`line ${at + 1}, column 17: scope.rules[0]: invalid selector 'pkg:shop:oops'`),
    `error: ${message}`);
  const marked = await page.textContent('.gutter .error-line');
  assert(marked === String(at + 1), `gutter marks line ${marked}`);
  assert(await page.$('.editor .error-band'), 'no band on the error line');
  // A click on the message puts the caret at the error.
  await page.click('[data-testid=filter-error]');
  const caret = await editor(page).evaluate((area) => area.value.slice(0, area.selectionStart).split('\n'));
  assert(caret.length === at + 1 && caret.at(-1).length === 16, `caret at ${caret.length}:${caret.at(-1).length + 1}`);
  await screenshot(page, 'filter-error');
  // Fixing it clears the error.
  lines[at] = 'selector = "pkg:shop.*"';
  await editor(page).fill(lines.join('\n'));
  await waitFor('the error to clear', async () => !(await page.$('[data-testid=filter-error]')));
});

test('switching the naming mode relabels module bodies', async () => {
  const page = await openSample();
  assert((await rowLabels(page)).includes('<__main__>'), 'no <__main__> in globals mode');
  await page.click('[data-testid=mode-toggle]');
  await waitFor('paths labels', async () => (await rowLabels(page)).includes('<main>'));
  const labels = await rowLabels(page);
  assert(!labels.includes('<__main__>'), 'still <__main__>');
  assert(labels.includes('<shop.cart>'), `no <shop.cart> in paths mode: ${labels.slice(0, 8)}`);
  await screenshot(page, 'naming-paths');
  // An extra root renames the package's modules.
  await page.fill('[data-testid=roots]', `${resolve('sample/shop')}`);
  await waitFor('the extra root', async () => (await rowLabels(page)).includes('<cart>'));
  await screenshot(page, 'naming-paths-root');
});

test('a share link restores the filter, naming and roots in a fresh page', async () => {
  const page = await openSample();
  const text = `${await editor(page).inputValue()}\n# shared <script>alert(1)</script>\n`;
  await editor(page).fill(text);
  await page.click('[data-testid=mode-toggle]');
  await page.click('[data-testid=share-button]');
  const link = await page.inputValue('[data-testid=share-link]');
  assert(/#f1=[A-Za-z0-9_-]+$/.test(link), `link: ${link}`);
  assert(link.length < 8200, 'link too long');
  await screenshot(page, 'share-link');
  const fresh = await open(link);
  await waitFor('the restored filter', async () => (await editor(fresh).inputValue()) === text);
  const mode = await fresh.textContent('[data-testid=mode-toggle] .on');
  assert(mode === 'paths', `mode ${mode}`);
  await drop(fresh, await trace('sample.tsieve'), 'sample.tsieve');
  await fresh.waitForSelector('[data-testid=call-row]');
  assert((await editor(fresh).inputValue()) === text, 'the trace replaced the shared filter');
  await waitFor('paths labels', async () => (await rowLabels(fresh)).includes('<main>'));
  await screenshot(fresh, 'share-restored');
});

test('bad share links get clear messages', async () => {
  const page = await open(`${server.url}#f9=abc`);
  const banner = await page.textContent('[data-testid=error-banner]');
  assert(banner.includes("format 'f9'"), `banner: ${banner}`);
  const long = await open(`${server.url}#f1=${'A'.repeat(9000)}`);
  assert((await long.textContent('[data-testid=error-banner]')).includes('too long'), 'no too-long message');
  const damaged = await open(`${server.url}#f1=AAAA`);
  assert((await damaged.textContent('[data-testid=error-banner]')).includes('damaged'), 'no damaged message');
  await screenshot(page, 'share-unknown-version');
});

test('hostile strings in values and file names render as text', async () => {
  const page = await open();
  await drop(page, await trace('hostile.tsieve'), HOSTILE_NAME);
  await page.waitForSelector('[data-testid=call-row]');
  assert((await page.textContent('.file-name')) === HOSTILE_NAME, 'the file name is not shown as text');
  await page.fill('[data-testid=search]', 'greet');
  await waitFor('greet', async () => (await rowLabels(page)).includes('greet'));
  await page.locator('[data-testid=call-row]').first().click();
  await page.waitForSelector('[data-testid=value-row]');
  const values = await page.$$eval('[data-testid=value-row] .value', (els) => els.map((e) => e.textContent));
  assert(values.some((v) => v.includes("<script>window.__pwned = \\'script\\'</script>")), `values: ${values}`);
  assert(values.some((v) => v.includes('"><img src=x onerror=')), `values: ${values}`);
  await page.click('[data-testid=step-forward]');
  await screenshot(page, 'hostile-values');
  await page.fill('[data-testid=search]', 'inner');
  await waitFor('inner', async () => (await rowLabels(page)).includes('inner'));
  await page.locator('[data-testid=call-row]').first().click();
  await page.waitForSelector('[data-testid=source-view] .src-line.current');
  assert((await page.textContent('.source-head .place')).includes('"><img src=x onerror=window.__pwned=1>.py'),
    'the hostile file name is not shown as text');
  await screenshot(page, 'hostile-file-name');
  const injected = await page.evaluate(() => ({
    pwned: window.__pwned,
    images: document.querySelectorAll('img').length,
    scripts: [...document.querySelectorAll('script')].filter((s) => s.textContent.includes('__pwned')).length,
  }));
  assert(injected.pwned === undefined, `script ran: ${injected.pwned}`);
  assert(injected.images === 0 && injected.scripts === 0, `elements injected: ${JSON.stringify(injected)}`);
});

test('a truncated trace shows what was read and says it is incomplete', async () => {
  const page = await open();
  const bytes = await trace('busy.tsieve');
  await drop(page, bytes.subarray(0, Math.floor(bytes.length * 0.75)), 'cut.tsieve');
  const banner = await (await page.waitForSelector('[data-testid=error-banner]')).textContent();
  assert(banner.includes('“cut.tsieve” is incomplete'), `banner: ${banner}`);
  assert(banner.includes('interrupted') || banner.includes('ends'), `banner: ${banner}`);
  await page.waitForSelector('[data-testid=call-row]');
  const [kept] = await callsKept(page);
  assert(kept > 1000 && kept < 6002, `calls read: ${kept}`);
  await screenshot(page, 'truncated');
});

test('foreign, newer-version and garbage files get clear messages', async () => {
  const page = await open();
  const cases = [
    ['trace.json', await trace('codetracer/trace.json'), 'CodeTracer trace.json'],
    ['garbage.bin', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)), 'not a tracesieve trace'],
    ['empty.tsieve', Buffer.alloc(0), 'the file is empty'],
  ];
  const newer = Buffer.from(await trace('sample.tsieve'));
  newer.writeUInt16LE(9, 8); // the major format version follows the 8-byte magic number
  cases.push(['newer.tsieve', newer, 'written by a newer tracesieve']);
  const head = (await trace('sample.tsieve')).subarray(0, 10);
  cases.push(['head.tsieve', head, 'no readable header']);
  for (const [name, bytes, expected] of cases) {
    await drop(page, bytes, name);
    const text = await waitFor(`the message for ${name}`, async () => {
      const banners = await page.$$eval('[data-testid=error-banner]', (bs) => bs.map((b) => b.textContent));
      return banners.find((b) => b.includes(`“${name}”`));
    });
    assert(text.includes(expected), `${name}: ${text}`);
  }
  await screenshot(page, 'bad-files');
  // The page still works: a good trace opens after them.
  await drop(page, await trace('sample.tsieve'), 'sample.tsieve');
  await page.waitForSelector('[data-testid=call-row]');
});

test('a crashed worker is replaced: the page says so and the next trace opens', async () => {
  const page = await openSample();
  const [first] = page.workers();
  assert(first, 'no worker');
  // An uncaught error in the worker, as a fault in its wasm would raise.
  await first.evaluate(() => setTimeout(() => { throw new Error('simulated worker fault'); }));
  const banner = await waitFor('the crash message', async () => {
    const banners = await page.$$eval('[data-testid=error-banner]', (bs) => bs.map((b) => b.textContent));
    return banners.find((b) => b.includes('worker stopped'));
  });
  assert(banner.includes('simulated worker fault') && banner.includes('open it again'), `banner: ${banner}`);
  assert((await page.$$('[data-testid=call-row]')).length === 0, 'the trace of the crashed worker is still shown');
  await screenshot(page, 'worker-crashed');
  await waitFor('a new worker', async () => page.workers().some((w) => w !== first));
  await drop(page, await trace('sample.tsieve'), 'sample.tsieve');
  await page.waitForSelector('[data-testid=call-row]');
  const [kept] = await callsKept(page);
  const text = await editor(page).inputValue();
  await setFilter(page, `${text}\n[[scope.rules]]\nselector = "pkg:shop.cart"\nexec = "skip"\n`);
  await waitFor('the new worker to re-filter', async () => (await callsKept(page))[0] < kept);
});

test('?trace=URL opens a trace from the server', async () => {
  const page = await open(`${server.url}?trace=traces/sample.tsieve`);
  await page.waitForSelector('[data-testid=call-row]');
  assert((await page.textContent('.file-name')) === 'sample.tsieve', 'wrong name');
  const missing = await open(`${server.url}?trace=traces/missing.tsieve`);
  const banner = await (await missing.waitForSelector('[data-testid=error-banner]')).textContent();
  assert(banner.includes('404'), `banner: ${banner}`);
});

test('`tracesieve view TRACE` serves this viewer with the trace loaded', async () => {
  // The command serves $TRACESIEVE_VIEWER_DIR (this build) instead of the bundled copy.
  const command = spawn(process.env.TRACESIEVE ?? '.venv/bin/tracesieve',
    ['view', '--no-browser', '--port', '0', join(tracesDir, 'sample.tsieve')],
    { env: { ...process.env, TRACESIEVE_VIEWER_DIR: resolve(distDir) }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise((ok, fail) => {
      command.stdout.once('data', (data) => ok(String(data)));
      command.once('exit', (status) => fail(new Error(`tracesieve view exited with ${status}`)));
    });
    const url = /at (http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(line)?.[1];
    assert(url, `no address in: ${line}`);
    const page = await open(url);
    await page.waitForSelector('[data-testid=call-row]');
    assert((await page.textContent('.file-name')) === 'sample.tsieve', 'wrong name');
    // The page, its worker and the wasm run under the server's policy: a call's
    // source and values (worker round trips) work, nothing blocked.
    await page.click('[data-testid=call-row]');
    await page.waitForSelector('[data-testid=source-view] .src-line.current');
    await screenshot(page, 'tracesieve-view');
    assert(page.blocked.length === 0, `blocked by the page's policy: ${page.blocked.join(' | ')}`);
  } finally {
    command.kill();
  }
});

test('several files dropped at once open as a trace set: switching process shows the child\'s calls, filtered too', async () => {
  const page = await open();
  await dropAll(page, await forkingSet());
  await page.waitForSelector('[data-testid=call-row]');
  // The program first, its forked child under it; the file that is not a trace is left out, said so.
  const labels = await processLabels(page);
  assert(labels.length === 2, `processes: ${labels}`);
  assert(/^\d+ program · .*forking\.py$/.test(labels[0]), `program: ${labels[0]}`);
  assert(/^\s*└ \d+ fork · .*forking\.py$/.test(labels[1]), `child: ${labels[1]}`);
  const banner = await page.textContent('[data-testid=error-banner]');
  assert(banner.includes('notes.txt'), `banner: ${banner}`);
  assert((await page.textContent('.file-name')).includes('2 processes'), 'no set name');
  let rows = await rowLabels(page);
  assert(rows.includes('wait_for_child') && !rows.includes('child_work'), `program rows: ${rows}`);
  const [kept, total] = await callsKept(page);
  assert(kept === total && (await statsText(page)).includes('in all 2 processes'), await statsText(page));
  await switchProcess(page, 1, 'child_work');
  rows = await rowLabels(page);
  assert(!rows.includes('wait_for_child') && rows.filter((l) => l === 'square').length === 10, `child rows: ${rows}`);
  await page.click('[data-testid=call-row] >> text=child_work');
  await page.waitForSelector('[data-testid=source-view] .src-line.current');
  assert((await page.textContent('.source-head .label')) === 'child_work', 'child_work not selected');
  await screenshot(page, 'set-child-process');
  // The filter applies to every process: the counts are the set's, the child's view its own re-filter.
  await setFilter(page, '[meta]\nname = "no-square"\nversion = 1\n\n[scope]\ndefault_exec = "inherit"\ndefault_value_action = "inherit"\n\n[[scope.rules]]\nselector = "obj:__main__.square"\nexec = "skip"\n');
  const [after] = await waitFor('fewer calls', async () => {
    const counts = await callsKept(page);
    return counts[0] === total - 10 && counts;
  });
  rows = await rowLabels(page);
  assert(rows.includes('child_work') && !rows.includes('square'), `filtered child rows: ${rows}`);
  await page.click('text=Timeline');
  await page.waitForSelector('[data-testid=timeline][data-painted=yes]');
  await screenshot(page, `set-child-timeline-${after}-of-${total}`);
  await page.click('text=Call tree');
  await switchProcess(page, 0, 'wait_for_child');
  assert((await processLabels(page)).length === 2, 'selector lost');
  await page.click('text=Summary');
  const summary = await page.textContent('[data-testid=summary]');
  assert(summary.includes('started by program'), `summary: ${summary.slice(0, 300)}`);
});

test('the timeline of a trace set shows a lane group per process; a click in the child\'s selects the child and its frame', async () => {
  const page = await open();
  await dropAll(page, await forkingSet());
  await page.waitForSelector('[data-testid=call-row]');
  await page.click('text=Timeline');
  const canvas = await page.waitForSelector('[data-testid=timeline][data-painted=yes]');
  const headers = await waitFor('a lane group per process', async () => {
    const texts = await page.$$eval('[data-testid=lane-header]', (els) => els.map((e) => e.textContent.trim()));
    return texts.length === 2 && texts;
  });
  assert(/^\d+ program · .*forking\.py$/.test(headers[0]), `program header: ${headers[0]}`);
  assert(/^\d+ fork · .*forking\.py$/.test(headers[1]), `child header: ${headers[1]}`);
  await screenshot(page, 'set-timeline');
  // The child's rows lie under its header, its frames wherever it ran on the set's clock.
  const head = await (await page.$('[data-testid=lane-header][data-process="1"]')).boundingBox();
  const box = await canvas.boundingBox();
  const shown = () => page.$eval('[data-testid=process-select]', (s) => s.value);
  let picked = false;
  for (let i = 1; i < 40 && !picked; i++) {
    for (let depth = 0; depth < 4 && !picked; depth++) {
      await page.mouse.click(box.x + (box.width * i) / 40, head.y + 20 + 18 * depth + 9);
      // A pick switches the process shown once the worker answers (slower on a loaded machine).
      picked = await waitFor('the child shown', async () => (await shown()) === '1', 300).catch(() => false);
    }
  }
  picked = picked || await waitFor('the child shown', async () => (await shown()) === '1').catch(() => false);
  assert(picked, 'no frame of the child picked');
  const label = await waitFor('the child\'s frame shown', async () => {
    const text = await page.$('[data-testid=source-view] .src-line.current') && await page.textContent('.source-head .label');
    return text || false;
  });
  // Both groups are still shown, the window kept.
  assert((await page.$$('[data-testid=lane-header]')).length === 2, 'lane groups lost');
  await screenshot(page, 'set-timeline-child-picked');
  await page.click('text=Call tree');
  const rows = await rowLabels(page);
  assert(rows.includes('child_work') && !rows.includes('wait_for_child'), `child rows: ${rows}`);
  const selected = await page.textContent('[data-testid=call-row].selected .label');
  assert(selected === label, `selected row ${selected}, source ${label}`);
});

test('the file button opens several files as a trace set', async () => {
  const page = await open();
  const child = (await readdir(join(tracesDir, 'forking.tsieve.d'))).find((n) => n.endsWith('.tsieve'));
  await page.setInputFiles('[data-testid=file-input]',
    [join(tracesDir, 'forking.tsieve'), join(tracesDir, 'forking.tsieve.d', child)]);
  await page.waitForSelector('[data-testid=call-row]');
  const labels = await processLabels(page);
  assert(labels.length === 2 && labels[1].includes(child.replace('.tsieve', '')), `processes: ${labels}`);
  await switchProcess(page, 1, 'child_work');
});

test('`tracesieve view TRACE` of a trace set serves and opens every process', async () => {
  const command = spawn(process.env.TRACESIEVE ?? '.venv/bin/tracesieve',
    ['view', '--no-browser', '--port', '0', join(tracesDir, 'forking.tsieve')],
    { env: { ...process.env, TRACESIEVE_VIEWER_DIR: resolve(distDir) }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const line = await new Promise((ok, fail) => {
      command.stdout.once('data', (data) => ok(String(data)));
      command.once('exit', (status) => fail(new Error(`tracesieve view exited with ${status}`)));
    });
    const url = /at (http:\/\/127\.0\.0\.1:\d+\/\S*)/.exec(line)?.[1];
    assert(url, `no address in: ${line}`);
    const page = await open(url);
    await page.waitForSelector('[data-testid=call-row]');
    assert((await processLabels(page)).length === 2, 'not opened as a set');
    await switchProcess(page, 1, 'child_work');
    await screenshot(page, 'tracesieve-view-set');
    assert(page.blocked.length === 0, `blocked by the page's policy: ${page.blocked.join(' | ')}`);
    // Only the set's files are served, nothing else of the folder.
    const origin = new URL(url).origin;
    const status = await page.evaluate(async (u) => (await fetch(u)).status, `${origin}/trace/sample.tsieve`);
    assert(status === 404, `a file outside the set answered ${status}`);
  } finally {
    command.kill();
  }
});

test('the timeline draws frames and a click selects one', async () => {
  const page = await openSample();
  await page.click('text=Timeline');
  const canvas = await page.waitForSelector('[data-testid=timeline][data-painted=yes]');
  const box = await canvas.boundingBox();
  // Depth 1 (the row under the module body), near the end: `main`.
  await page.mouse.click(box.x + box.width * 0.9, box.y + 20 + 18 * 1 + 9);
  await waitFor('a selection', async () => (await page.textContent('.source-head .label')) === 'main');
  await page.mouse.move(box.x + box.width * 0.5, box.y + 40);
  await page.mouse.wheel(0, -400);
  await screenshot(page, 'timeline');
});

test('a large tree comes a window at a time: scrolling, collapsing, revealing, the timeline', async () => {
  const page = await open();
  await drop(page, await trace('busy.tsieve'), 'busy.tsieve');
  await page.waitForSelector('[data-testid=call-row]');
  const [calls] = await callsKept(page);
  assert(calls > 6000, `calls: ${calls}`);
  const tree = page.locator('.tree');
  const spacer = () => page.$eval('.tree-spacer', (s) => s.offsetHeight);
  assert(await spacer() === calls * 22, `spacer ${await spacer()} for ${calls} calls`);
  assert((await page.$$('[data-testid=call-row]')).length < 120, 'too many rows in the DOM');
  // Rows where the tree is scrolled to.
  const rowsInSight = () => page.evaluate(() => {
    const t = document.querySelector('.tree');
    return [...document.querySelectorAll('[data-testid=call-row]')]
      .filter((r) => r.offsetTop >= t.scrollTop && r.offsetTop < t.scrollTop + t.clientHeight)
      .map((r) => ({ label: r.querySelector('.label').textContent, node: Number(r.dataset.node), top: r.offsetTop }));
  });
  await tree.evaluate((t) => { t.scrollTop = t.scrollHeight / 2; });
  const middle = await waitFor('rows in the middle', async () => {
    const rows = await rowsInSight();
    return rows.length > 10 && rows.every((r) => r.label === 'square') && rows;
  });
  assert(Math.abs(middle[0].node - calls / 2) < 60, `middle row is node ${middle[0].node}`);
  assert((await page.$$('[data-testid=call-row]')).length < 200, 'too many rows in the DOM');
  await screenshot(page, 'large-tree-middle');
  // Collapsing `run` leaves two rows; expanding it brings them back.
  await tree.evaluate((t) => { t.scrollTop = 0; });
  await waitFor('the top rows', async () => (await rowsInSight()).some((r) => r.label === 'run'));
  await page.locator('[data-testid=call-row]', { hasText: 'run' }).first().locator('.twisty').click();
  await waitFor('run collapsed', async () => (await spacer()) === 2 * 22 && (await rowLabels(page)).length === 2);
  await page.locator('[data-testid=call-row]', { hasText: 'run' }).first().locator('.twisty').click();
  await waitFor('run expanded', async () => (await spacer()) === calls * 22);
  // A search result near the end, selected, stays in sight when the search is cleared.
  await page.fill('[data-testid=search]', 'square');
  await waitFor('6,000 matches', async () => /6[,\u202F ]?000 matches/.test(await page.textContent('.matches')));
  await tree.evaluate((t) => { t.scrollTop = t.scrollHeight; });
  const last = await waitFor('the last matches', async () => {
    const rows = await rowsInSight();
    return rows.length > 0 && rows.at(-1).node === calls - 1 && rows.at(-1);
  });
  await page.locator(`[data-testid=call-row][data-node="${last.node}"]`).click();
  await page.waitForSelector('[data-testid=value-row]');
  await page.fill('[data-testid=search]', '');
  await waitFor('the selected row in sight', async () =>
    (await rowsInSight()).some((r) => r.node === last.node)
    && (await page.$('[data-testid=call-row].selected')) !== null);
  await screenshot(page, 'large-tree-selected');
  // The timeline paints 6,000 calls in about a thousand pixels; a click selects one of them.
  await page.click('text=Timeline');
  const canvas = await page.waitForSelector('[data-testid=timeline][data-painted=yes]');
  const box = await canvas.boundingBox();
  await page.mouse.click(box.x + box.width * 0.5, box.y + 20 + 18 * 1 + 9);
  await waitFor('run selected', async () => (await page.textContent('.source-head .label')) === 'run');
  // Squares are painted once per pixel column; the recording may have gaps between them.
  let square = false;
  for (const at of [0.3, 0.5, 0.7, 0.2, 0.8, 0.4, 0.6]) {
    await page.mouse.click(box.x + box.width * at, box.y + 20 + 18 * 2 + 9);
    square = await waitFor('a square selected', async () => (await page.textContent('.source-head .label')) === 'square', 2000)
      .catch(() => false);
    if (square) break;
  }
  assert(square, 'no square selected from the timeline');
  await screenshot(page, 'large-timeline');
  // Back in the tree, the selected square is in sight.
  await page.click('text=Call tree');
  await waitFor('the square in sight', async () => (await page.$('[data-testid=call-row].selected')) !== null);
});

test('the functions tab ranks functions by time, sorts, shows callers and callees, and shows a function\'s calls in the tree', async () => {
  const page = await openSample();
  await page.locator('button.tab', { hasText: 'Functions' }).click();
  await page.waitForSelector('[data-testid=function-row]');
  const names = () => page.$$eval('[data-testid=function-row] .label', (els) => els.map((e) => e.textContent));
  const byTotal = await names();
  assert(byTotal.length > 3, `too few functions: ${byTotal}`);
  assert(byTotal[0].startsWith('<'), `the module body should take the most time: ${byTotal}`);
  await page.locator('[data-testid=functions-sort]', { hasText: 'calls' }).click();
  const calls = await page.$$eval('[data-testid=function-row] td:nth-child(2)', (els) => els.map((e) => Number(e.textContent.replace(/[^0-9]/g, ''))));
  assert(calls.every((n, i) => i === 0 || calls[i - 1] >= n), `not sorted by calls: ${calls}`);
  await page.locator('[data-testid=functions-sort]', { hasText: 'function' }).click();
  const byName = await names();
  assert(JSON.stringify(byName) === JSON.stringify([...byName].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()))), `not sorted by name: ${byName}`);
  await page.locator('[data-testid=function-row]', { hasText: 'charge' }).first().click();
  const detail = await page.textContent('[data-testid=function-detail]');
  assert(detail.includes('Called by') && detail.includes('main'), `charge's callers: ${detail}`);
  await screenshot(page, 'functions-tab');
  await page.click('[data-testid=function-show]');
  await waitFor('charge rows in the tree', async () => {
    const rows = await rowLabels(page);
    return rows.length > 0 && rows.every((r) => r.includes('charge'));
  });
});

test('the keyboard: ? lists the keys, / searches, n and N move between hits, ] and [ step', async () => {
  const page = await openSample();
  await page.keyboard.press('?');
  await page.waitForSelector('[data-testid=keys-help]');
  const help = await page.textContent('[data-testid=keys-help]');
  assert(help.includes('search calls by name') && help.includes('next, previous step'), `keys list: ${help}`);
  await screenshot(page, 'keys-help');
  await page.keyboard.press('Escape');
  await waitFor('the list closed', async () => (await page.$('[data-testid=keys-help]')) === null);
  await page.keyboard.press('/');
  assert(await page.evaluate(() => document.activeElement?.dataset.testid === 'search'), 'the search box has no focus');
  await page.keyboard.type('charge');
  await waitFor('charge rows', async () => (await rowLabels(page)).length === 2);
  await page.evaluate(() => document.activeElement.blur());
  const selectedNode = () => page.getAttribute('[data-testid=call-row].selected', 'data-node');
  const current = () => page.getAttribute('[data-testid=source-view] .src-line.current', 'data-line');
  await page.keyboard.press('n');
  await page.waitForSelector('[data-testid=source-view] .src-line.current');
  const first = await waitFor('the first hit selected', selectedNode);
  const line = await current();
  await page.keyboard.press(']');
  await waitFor('the next step', async () => (await current()) !== line);
  await page.keyboard.press('[');
  await waitFor('the step before', async () => (await current()) === line);
  await page.keyboard.press('n');
  await waitFor('the second hit selected', async () => { const n = await selectedNode(); return n && n !== first && n; });
  await page.keyboard.press('N');
  await waitFor('the first hit again', async () => (await selectedNode()) === first);
});

test('a value\'s history lists the steps where it changed, and a step goes there', async () => {
  const page = await openSample();
  await page.fill('[data-testid=search]', 'Cart.total');
  await waitFor('the Cart.total row', async () => (await rowLabels(page)).includes('Cart.total'));
  await page.locator('[data-testid=call-row]', { hasText: 'Cart.total' }).first().click();
  await page.waitForSelector('[data-testid=source-view] .src-line.current');
  // The last step: `total` has all its values.
  await page.click('button[title="Last step"]');
  await page.locator('[data-testid=value-name]', { hasText: /^total$/ }).click();
  await page.waitForSelector('[data-testid=value-history]');
  const steps = await page.$$eval('[data-testid=history-step]', (els) => els.map((e) => e.textContent));
  assert(steps.length === 3, `total changed ${steps.length} times: ${steps}`);
  assert(steps[0].includes('line 15') && steps[0].endsWith('0'), `first change: ${steps[0]}`);
  assert(steps[1].includes('1250') && steps[2].includes('1847'), `changes: ${steps}`);
  await page.locator('[data-testid=history-step]').nth(1).click();
  await waitFor('that step', async () => (await page.$eval('[data-testid=history-step]:nth-child(2)', (e) => e.classList.contains('current'))));
  await screenshot(page, 'value-history');
});

test('the summary shows the program, the chain with hashes and statistics', async () => {
  const page = await openSample();
  await page.click('text=Summary');
  const text = await page.textContent('[data-testid=summary]');
  for (const want of ['main.py', 'Python', '3.', '<inline:builtin-default>', 'trace-filter.toml', 'scopes skipped', 'redacted']) {
    assert(text.includes(want), `summary lacks ${want}`);
  }
  assert(/[0-9a-f]{16}…/.test(text), 'no hashes');
  await screenshot(page, 'summary');
});

test('presets, downloads of the filter and of the re-filtered trace', async () => {
  const page = await openSample();
  await page.selectOption('[data-testid=framework]', 'pytest');
  await waitFor('the pytest head', async () => {
    await page.click('text=Summary');
    return (await page.textContent('[data-testid=summary]')).includes('<inline:builtin-pytest>');
  });
  const [filter] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-filter]')]);
  assert(filter.suggestedFilename() === 'trace-filter.toml', filter.suggestedFilename());
  const saved = await readFile(await filter.path(), 'utf8');
  assert(saved === (await editor(page).inputValue()), 'downloaded filter differs');
  const [refiltered] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download-trace]')]);
  assert(refiltered.suggestedFilename() === 'sample.refiltered.tsieve', refiltered.suggestedFilename());
  const bytes = await readFile(await refiltered.path());
  assert(bytes.subarray(1, 4).toString('latin1') === 'TSV', 'not a trace file');
  // It opens again.
  await drop(page, bytes, 'sample.refiltered.tsieve');
  await page.waitForFunction(() => document.querySelector('.file-name')?.textContent === 'sample.refiltered.tsieve');
  await page.click('text=Call tree');
  await page.waitForSelector('[data-testid=call-row]');
  await screenshot(page, 'downloads');
});

// ---------------------------------------------------------------- run

let passed = 0;
let failed = 0;
for (const { name, fn } of tests) {
  pages = [];
  try {
    await fn();
    const errors = pages.flatMap((p) => p.errors);
    if (errors.length) throw new Error(`page errors: ${errors.join('; ')}`);
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`not ok - ${name}\n  ${e.message.split('\n').join('\n  ')}`);
    if (pages.length) await screenshot(pages[pages.length - 1], 'FAILED').catch(() => {});
  } finally {
    for (const page of pages) await page.context().close().catch(() => {});
  }
}
await browser.close();
await server.close();
console.log(`screenshots in ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
