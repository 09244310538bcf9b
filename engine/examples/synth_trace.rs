//! Writes a synthetic trace of any size, streaming, for the streaming
//! benchmark (`scripts/bench-streaming.sh`):
//!
//! ```sh
//! cargo run --release -p tracesieve-engine --example synth_trace -- \
//!     --events 100000000 -o target/bench-streaming/synthetic.tsieve \
//!     [--threads 4] [--refilter-filter target/bench-streaming/refilter.toml]
//! ```
//!
//! The program is the one of the benchmarks' synthetic trace
//! (`benches/support/trace.rs`: project code, the standard library, a
//! site-packages dependency, values of every common shape, secrets), here
//! with `--threads` threads (4 by default: the main thread and three
//! workers) taking turns every few events. Its events are generated one at a
//! time and written through a `TraceWriter`, so memory does not grow with
//! `--events`. `--refilter-filter` also writes the filter the benchmarks
//! re-filter with. Prints the event count and the file's size.

#[allow(dead_code)] // `synthetic_trace` (a whole trace in memory) is for the benchmarks
#[path = "../benches/support/trace.rs"]
mod trace;

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use tracesieve_engine::trace::TraceWriter;

const USAGE: &str = "usage: synth_trace --events N -o FILE [--threads T] [--refilter-filter FILE]";

/// The command line.
struct Options {
    events: usize,
    out: PathBuf,
    threads: u32,
    refilter_filter: Option<PathBuf>,
}

/// A count, with `_` or `,` allowed between digits (`100_000_000`).
fn count(text: &str, what: &str) -> Result<u64, String> {
    let digits: String = text.chars().filter(|c| *c != '_' && *c != ',').collect();
    digits
        .parse()
        .map_err(|e| format!("{what} {text:?}: {e}\n{USAGE}"))
}

fn options() -> Result<Options, String> {
    let mut events = None;
    let mut out = None;
    let mut threads = 4;
    let mut refilter_filter = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--events" | "-n" => events = Some(count(&value()?, "--events")? as usize),
            "--out" | "-o" => out = Some(PathBuf::from(value()?)),
            "--threads" => {
                threads = u32::try_from(count(&value()?, "--threads")?)
                    .ok()
                    .filter(|t| (1..=1000).contains(t))
                    .ok_or(format!("--threads: 1 to 1000\n{USAGE}"))?
            }
            "--refilter-filter" => refilter_filter = Some(PathBuf::from(value()?)),
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            _ => return Err(format!("unknown argument {arg:?}\n{USAGE}")),
        }
    }
    Ok(Options {
        events: events.ok_or(format!("--events is required\n{USAGE}"))?,
        out: out.ok_or(format!("-o is required\n{USAGE}"))?,
        threads,
        refilter_filter,
    })
}

/// Streams the trace into `opts.out`; returns the number of events.
fn write(opts: &Options) -> std::io::Result<u64> {
    let tables = trace::tables(opts.threads);
    let file = File::create(&opts.out)?;
    let mut w = TraceWriter::new(BufWriter::with_capacity(1 << 20, file), &tables.header)?;
    for entries in &tables.sys_paths {
        w.sys_path(entries)?;
    }
    for m in &tables.modules {
        w.module(m)?;
    }
    for dir in &tables.markers {
        w.marker(dir)?;
    }
    for source in &tables.sources {
        w.source(source)?;
    }
    for code in &tables.codes {
        w.code(code)?;
    }
    let mut events = 0u64;
    for event in trace::SyntheticEvents::new(opts.events, opts.threads) {
        w.event(&event)?;
        events += 1;
    }
    let file = w
        .finish(&trace::trailer())?
        .into_inner()
        .map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(events)
}

fn main() -> ExitCode {
    let opts = match options() {
        Ok(opts) => opts,
        Err(message) => {
            eprintln!("synth_trace: {message}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &opts.refilter_filter {
        if let Err(e) = std::fs::write(path, trace::REFILTER_FILTER) {
            eprintln!("synth_trace: {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let start = Instant::now();
    let events = match write(&opts) {
        Ok(events) => events,
        Err(e) => {
            eprintln!("synth_trace: {}: {e}", opts.out.display());
            return ExitCode::FAILURE;
        }
    };
    let secs = start.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&opts.out).map_or(0, |m| m.len());
    println!(
        "{events} events, {bytes} bytes ({:.1} MiB), {} threads -> {} in {secs:.2} s ({:.2} M events/s)",
        bytes as f64 / (1024.0 * 1024.0),
        opts.threads,
        opts.out.display(),
        events as f64 / secs.max(1e-9) / 1e6,
    );
    ExitCode::SUCCESS
}
