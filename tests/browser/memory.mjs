// Memory of a browser's processes, for the viewer's benchmarks
// (bench.mjs, bench-redact.mjs): PSS from /proc, in MiB.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Memory of `root` and its descendants, in MiB: `all` of them, and the
 * `tab`: the renderer processes (one here: the viewer's page and worker).
 */
export function memory(root) {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' })
    .trim().split('\n').map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter(Boolean).map((m) => [Number(m[1]), Number(m[2]), m[3]]);
  const children = new Map();
  const args = new Map();
  for (const [pid, ppid, command] of rows) {
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
    args.set(pid, command);
  }
  const total = { all: 0, tab: 0 };
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop();
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const pss = Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) / 1024;
      total.all += pss;
      if (/--type=renderer/.test(args.get(pid) ?? '')) total.tab += pss;
    } catch {
      // The process has gone.
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** Samples `memory(root)` every 100 ms; `stop()` returns the peaks. */
export function sampler(root) {
  const peak = memory(root);
  const take = () => {
    const now = memory(root);
    peak.all = Math.max(peak.all, now.all);
    peak.tab = Math.max(peak.tab, now.tab);
  };
  const timer = setInterval(take, 100);
  return { stop() { clearInterval(timer); take(); return { all: Math.round(peak.all), tab: Math.round(peak.tab) }; } };
}
