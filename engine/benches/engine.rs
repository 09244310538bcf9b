//! Criterion benchmarks of the engine's hot paths:
//!
//! - `load/builtin_chain`: loading the built-in default chain;
//! - `explain/first`: one uncached `explain` under the built-ins plus a
//!   50-rule project filter, cycling over about a hundred scopes;
//! - `cache/hit`: one `DecisionCache::get` hit in a cache of 1000 decisions;
//! - `value/secret_patterns`: one `Decision::action(ValueKind::Local, name)`
//!   against the built-in secret patterns, cycling over a mix of names;
//! - `value/scrub_N`: redaction by value of one 8-entry dict of strings
//!   against `N` learned texts (0, 16, 1024; `Secrets::scrub`).
//!
//! Run with `cargo bench -p tracesieve-engine --bench engine`.

mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;
use tracesieve_engine::trace::secrets::Secrets;
use tracesieve_engine::trace::Value;
use tracesieve_engine::{
    builtin, explain, from_dunder_name, Action, CodeId, DecisionCache, FilterChain, Platform,
    Scope, ValueKind,
};

/// How many decisions the cache holds in `cache/hit`.
const CACHED_DECISIONS: usize = 1000;

fn load(c: &mut Criterion) {
    let sources = builtin::sources(None);
    let mut group = c.benchmark_group("load");
    group.bench_function("builtin_chain", |b| {
        b.iter(|| FilterChain::load(black_box(&sources), black_box(Platform::Posix)))
    });
    group.finish();
}

fn explain_first(c: &mut Criterion) {
    let chain = support::user_chain();
    let scopes = support::scopes();
    assert!(scopes.len() >= 100, "{} scopes", scopes.len());
    let mut group = c.benchmark_group("explain");
    group.bench_function("first", |b| {
        let mut next = 0;
        b.iter(|| {
            let scope = &scopes[next];
            next = (next + 1) % scopes.len();
            explain(black_box(&chain), black_box(scope), &[])
        })
    });
    group.finish();
}

/// A code object address as CPython would hand it out: 16-byte aligned and
/// spread over the heap.
fn code_id(i: usize) -> CodeId {
    0x7f3a_1c00_0000 + (i as CodeId) * 0x1d0
}

fn cache_hit(c: &mut Criterion) {
    let chain = support::user_chain();
    let scopes = support::scopes();
    let mut cache = DecisionCache::new();
    for i in 0..CACHED_DECISIONS {
        let scope: &Scope = &scopes[i % scopes.len()];
        cache.get_or_explain(&chain, code_id(i), || scope.clone());
    }
    assert_eq!(cache.len(), CACHED_DECISIONS);
    // Visit the keys in a scattered order, as a running program would.
    let keys: Vec<CodeId> = (0..CACHED_DECISIONS)
        .map(|i| code_id((i * 617) % CACHED_DECISIONS))
        .collect();
    let chain_id = chain.id();
    let mut group = c.benchmark_group("cache");
    group.bench_function("hit", |b| {
        let mut next = 0;
        b.iter(|| {
            let code = keys[next];
            next = (next + 1) % keys.len();
            black_box(&cache)
                .get(black_box(chain_id), black_box(code))
                .is_some()
        })
    });
    group.finish();
}

fn value_secret_patterns(c: &mut Criterion) {
    let chain = support::builtin_chain();
    let scope = Scope::new(
        "/proj/src/acme/auth/views.py",
        "login",
        from_dunder_name(Some("acme.auth.views")),
    );
    let decision = explain(&chain, &scope, &[]);
    for (names, expected) in [
        (support::SECRET_NAMES, Action::Redact),
        (support::ORDINARY_NAMES, Action::Allow),
    ] {
        for &name in names {
            assert_eq!(decision.action(ValueKind::Local, name), expected, "{name}");
        }
    }
    let names = support::value_names();
    let mut group = c.benchmark_group("value");
    group.bench_function("secret_patterns", |b| {
        let mut next = 0;
        b.iter(|| {
            let name = names[next];
            next = (next + 1) % names.len();
            black_box(&decision).action(ValueKind::Local, black_box(name))
        })
    });
    group.finish();
}

/// A dict of 8 ordinary strings (about 40 bytes each), none holding a
/// learned text, so each scrub scans every string in full.
fn scrub_fixture() -> Value {
    let text = |s: String| Value::Str {
        length: s.len() as u64,
        value: s,
    };
    let entries = (0..8)
        .map(|i| {
            (
                text(format!("field_{i}")),
                text(format!("GET /api/v1/orders/{i:06}?page=3&sort=date")),
            )
        })
        .collect();
    Value::Dict { entries, length: 8 }
}

fn value_scrub(c: &mut Criterion) {
    let value = scrub_fixture();
    let mut group = c.benchmark_group("value");
    for learned in [0usize, 16, 1024] {
        let mut secrets = Secrets::default();
        for i in 0..learned {
            secrets.learn_text(&format!("tok-{i:08x}-secret"), String::new);
        }
        let mut scrubbed = 0;
        // Built once before timing: the automaton is rebuilt only after a new text.
        secrets.scrub(value.clone(), &mut scrubbed);
        group.bench_function(format!("scrub_{learned}"), |b| {
            b.iter_batched(
                || value.clone(),
                |v| secrets.scrub(black_box(v), &mut scrubbed),
                criterion::BatchSize::SmallInput,
            )
        });
        assert_eq!(scrubbed, 0);
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = load, explain_first, cache_hit, value_secret_patterns, value_scrub
}
criterion_main!(benches);
