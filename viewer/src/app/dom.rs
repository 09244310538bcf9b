//! Small browser helpers: files in and out, the URL, the clipboard.

use super::worker::describe;
use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, File, FileList, HtmlAnchorElement, Url};

fn window() -> Result<web_sys::Window, String> {
    web_sys::window().ok_or_else(|| "no browser window".to_string())
}

/// The file at `url` (for `?trace=URL`), as a `Blob` the worker reads.
pub async fn fetch_blob(url: &str) -> Result<Blob, String> {
    let fail = |e: JsValue| describe(&format!("cannot fetch the trace at {url}"), &e);
    let response = JsFuture::from(window()?.fetch_with_str(url))
        .await
        .map_err(fail)?;
    let response: web_sys::Response = response
        .dyn_into()
        .map_err(|_| format!("cannot fetch the trace at {url}: no response"))?;
    if !response.ok() {
        return Err(format!(
            "cannot fetch the trace at {url}: the server answered {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let blob = JsFuture::from(response.blob().map_err(fail)?)
        .await
        .map_err(fail)?;
    blob.dyn_into()
        .map_err(|_| format!("cannot fetch the trace at {url}: no body"))
}

/// Saves `bytes` as a download named `name`.
pub fn download(name: &str, bytes: &[u8], mime: &str) -> Result<(), String> {
    let fail = |e: JsValue| describe(&format!("cannot save {name}"), &e);
    let parts = Array::of1(&Uint8Array::from(bytes));
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(fail)?;
    download_blob(name, &blob)
}

/// Saves `blob` as a download named `name`.
pub fn download_blob(name: &str, blob: &Blob) -> Result<(), String> {
    let fail = |e: JsValue| describe(&format!("cannot save {name}"), &e);
    let url = Url::create_object_url_with_blob(blob).map_err(fail)?;
    let document = window()?.document().ok_or("no document")?;
    let anchor: HtmlAnchorElement = document
        .create_element("a")
        .map_err(fail)?
        .dyn_into()
        .map_err(|_| "cannot create a link".to_string())?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    // The download has started: the URL can go.
    let _ = Url::revoke_object_url(&url);
    Ok(())
}

/// The page's URL fragment, without `#`.
pub fn fragment() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .map(|h| h.trim_start_matches('#').to_string())
        .unwrap_or_default()
}

/// Replaces the URL fragment without reloading or scrolling; returns the full URL.
pub fn set_fragment(fragment: &str) -> Result<String, String> {
    let window = window()?;
    let location = window.location();
    let href = location.href().map_err(|e| describe("no page URL", &e))?;
    let base = href.split('#').next().unwrap_or(&href);
    let url = format!("{base}#{fragment}");
    window
        .history()
        .and_then(|h| h.replace_state_with_url(&JsValue::NULL, "", Some(&url)))
        .map_err(|e| describe("cannot change the page URL", &e))?;
    Ok(url)
}

/// The values of the query parameter `name`, in order (none if absent).
pub fn query_params(name: &str) -> Vec<String> {
    let Some(search) = web_sys::window().and_then(|w| w.location().search().ok()) else {
        return Vec::new();
    };
    web_sys::UrlSearchParams::new_with_str(&search)
        .map(|params| {
            params
                .get_all(name)
                .iter()
                .filter_map(|v| v.as_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The files of a file list (an input's or a drop's).
pub fn file_list(list: &FileList) -> Vec<File> {
    (0..list.length()).filter_map(|i| list.get(i)).collect()
}

/// Puts `text` on the clipboard.
pub async fn copy_text(text: &str) -> Result<(), String> {
    let clipboard = window()?.navigator().clipboard();
    JsFuture::from(clipboard.write_text(text))
        .await
        .map(|_| ())
        .map_err(|e| describe("cannot copy to the clipboard", &e))
}
