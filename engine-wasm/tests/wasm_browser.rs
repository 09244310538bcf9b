//! engine-wasm's API tests in headless Chromium (chromedriver from PATH,
//! options in ../webdriver.json).
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod wasm_api;
