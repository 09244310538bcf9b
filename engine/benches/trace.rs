//! Criterion benchmarks of whole-trace work on a synthetic trace of one
//! million events (`support/trace.rs`):
//!
//! - `trace/read_1m`: decoding the file (`read_trace`);
//! - `trace/refilter_1m`: re-filtering it with the built-in default plus a
//!   user filter that skips a dependency, redacts and drops
//!   (`refilter`, decisions and the value policy included);
//! - `trace/refilter_write_1m`: the same and writing the new file, which is
//!   what engine-wasm's `refilter` does.
//!
//! Run with `cargo bench -p tracesieve-engine --bench trace`. engine-wasm's
//! figures for the same work come from `engine-wasm/bench/bench.mjs`.

#[path = "support/trace.rs"]
mod synthetic;

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;
use synthetic::{synthetic_trace, REFILTER_FILTER};
use tracesieve_engine::trace::refilter::{chain_for, refilter, ChainOptions, Naming};
use tracesieve_engine::trace::{read_trace, try_write_trace, write_trace};
use tracesieve_engine::FilterSource;

const EVENTS: usize = 1_000_000;

fn trace_benches(c: &mut Criterion) {
    let trace = synthetic_trace(EVENTS);
    let bytes = write_trace(&trace);
    let user = FilterSource::file("/srv/shop/.codetracer/trace-filter.toml", REFILTER_FILTER);
    let chain = chain_for(&trace, &ChainOptions::recorded(&trace), [user]).expect("loads");
    let naming = Naming::recorded(&trace);
    let mut group = c.benchmark_group("trace");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("read_1m", |b| {
        b.iter(|| read_trace(black_box(&bytes)).expect("reads"))
    });
    group.bench_function("refilter_1m", |b| {
        b.iter(|| refilter(black_box(&trace), black_box(&chain), black_box(&naming)))
    });
    group.bench_function("refilter_write_1m", |b| {
        b.iter(|| {
            let result = refilter(black_box(&trace), black_box(&chain), black_box(&naming));
            try_write_trace(&result.trace).expect("writes")
        })
    });
    group.finish();
}

criterion_group!(benches, trace_benches);
criterion_main!(benches);
