//! Writes the benchmarks' synthetic trace and the filter they re-filter it
//! with, for engine-wasm's benchmark (engine-wasm/bench/bench.mjs):
//!
//! ```sh
//! cargo run --release -p tracesieve-engine --example synthetic_trace -- OUT_DIR [EVENTS]
//! ```
//!
//! writes `OUT_DIR/synthetic.tsieve` (1,000,000 events by default) and
//! `OUT_DIR/refilter.toml`.

#[path = "../benches/support/trace.rs"]
mod trace;

use std::path::PathBuf;
use tracesieve_engine::trace::try_write_trace;

fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or("usage: synthetic_trace OUT_DIR [EVENTS]")?,
    );
    let events: usize = match args.next() {
        Some(n) => n.parse().map_err(|e| format!("EVENTS: {e}"))?,
        None => 1_000_000,
    };
    let bytes = try_write_trace(&trace::synthetic_trace(events)).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |name: &str, data: &[u8]| {
        std::fs::write(dir.join(name), data).map_err(|e| format!("{name}: {e}"))
    };
    write("synthetic.tsieve", &bytes)?;
    write("refilter.toml", trace::REFILTER_FILTER.as_bytes())?;
    println!(
        "{} bytes, {events} events -> {}",
        bytes.len(),
        dir.display()
    );
    Ok(())
}
