//! Any text as a trace-filter file, alone and after the built-in filter: it
//! loads or gives problems with a place, and never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tracesieve_engine::{builtin, FilterChain, FilterSource, Platform};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = FilterSource::file("/p/.codetracer/trace-filter.toml", text);
    let _ = FilterChain::load(std::slice::from_ref(&file), Platform::Posix);
    let mut chain = builtin::sources(None);
    chain.push(file);
    let _ = FilterChain::load(&chain, Platform::Windows);
});
