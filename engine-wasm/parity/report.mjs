// Prints a parity run's result and tells whether it passed.

/** Logs `result` under `title`; returns true when nothing failed. */
export function report(title, result) {
  const { total, failures } = result;
  if (total === 0) {
    console.error(`${title}: no cases (was the corpus written?)`);
    return false;
  }
  if (failures.length === 0) {
    console.log(`${title}: ${total} cases, all identical`);
    return true;
  }
  console.error(`${title}: ${failures.length} of ${total} cases differ`);
  for (const f of failures.slice(0, 10)) {
    console.error(`  ${f.id}`);
    if (f.message) console.error(`    ${f.message}`);
    if (f.expected !== undefined) {
      console.error(`    native: ${String(f.expected).slice(0, 400)}`);
      console.error(`    wasm:   ${String(f.actual).slice(0, 400)}`);
    }
  }
  return false;
}
