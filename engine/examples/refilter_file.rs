//! Re-filters a trace file as `tracesieve refilter` does (the same engine
//! calls, under the same allocator as the CLI, mimalloc), timing each pass:
//! for measuring the streaming refilter without building the Python
//! extension.
//!
//! ```sh
//! cargo run --release -p tracesieve-engine --example refilter_file -- \
//!     TRACE --filter target/bench-streaming/refilter.toml -o OUT
//! ```
//!
//! The chain is the built-in head the trace was recorded with, then the
//! `--filter` files, in order; names are chosen as the trace was recorded.
//! Prints the events read and written and each pass's time.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;
use tracesieve_engine::trace::refilter::{chain_for, refilter_stream, ChainOptions, Naming};
use tracesieve_engine::trace::stream::{read_tables, EventStream};
use tracesieve_engine::FilterSource;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: refilter_file TRACE [--filter FILE]... -o OUT";

/// The command line: the trace, the user's filter files, the output.
fn options() -> Result<(String, Vec<String>, String), String> {
    let (mut trace, mut filters, mut out) = (None, Vec::new(), None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--filter" => filters.push(value()?),
            "-o" | "--out" => out = Some(value()?),
            _ if trace.is_none() && !arg.starts_with('-') => trace = Some(arg),
            _ => return Err(format!("unknown argument {arg:?}\n{USAGE}")),
        }
    }
    match (trace, out) {
        (Some(trace), Some(out)) => Ok((trace, filters, out)),
        _ => Err(USAGE.to_owned()),
    }
}

fn run() -> Result<(), String> {
    let (path, filters, out) = options()?;
    let open = || File::open(&path).map_err(|e| format!("{path}: {e}"));
    let start = Instant::now();
    let tables = read_tables(open()?).map_err(|e| format!("{path}: {e}"))?;
    let tables_secs = start.elapsed().as_secs_f64();
    let user = filters
        .iter()
        .map(|f| {
            let bytes = std::fs::read(f).map_err(|e| format!("{f}: {e}"))?;
            FilterSource::file_bytes(f.clone(), bytes).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let options = ChainOptions::recorded(&tables.trace);
    let chain = chain_for(&tables.trace, &options, user).map_err(|e| e.to_string())?;
    let naming = Naming::recorded(&tables.trace);
    let events = EventStream::open(open()?).map_err(|e| format!("{path}: {e}"))?;
    let sink = BufWriter::new(File::create(&out).map_err(|e| format!("{out}: {e}"))?);
    let (mut sink, written) = refilter_stream(&tables, events, &chain, &naming, sink)
        .map_err(|e| format!("{path}: {e}"))?;
    sink.flush().map_err(|e| format!("{out}: {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} events -> {} events; tables {tables_secs:.2} s, events {:.2} s, total {secs:.2} s ({:.2} M events/s)",
        tables.events,
        written.events,
        secs - tables_secs,
        tables.events as f64 / secs.max(1e-9) / 1e6,
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("refilter_file: {message}");
            ExitCode::from(2)
        }
    }
}
