//! engine-wasm's API tests in node (`cargo test --target wasm32-unknown-unknown`).
#![cfg(target_arch = "wasm32")]

mod wasm_api;
