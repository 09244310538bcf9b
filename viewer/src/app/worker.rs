//! The page's handle on the worker: starts it, queues requests until it
//! says it is ready, and turns its messages into [`Response`]s.

use crate::protocol::{self, Request, Response};
use js_sys::{Array, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, ErrorEvent, MessageEvent, Url, Worker};
use yew::Callback;

/// The worker's script and module, as trunk names them (`data-bin="worker"`).
const SCRIPT: &str = "worker.js";
const MODULE: &str = "worker_bg.wasm";

/// A running worker.
pub struct WorkerHandle {
    worker: Worker,
    state: Rc<RefCell<Queue>>,
    _onmessage: Closure<dyn FnMut(MessageEvent)>,
    _onerror: Closure<dyn FnMut(ErrorEvent)>,
}

/// Requests posted before the worker is ready.
#[derive(Default)]
struct Queue {
    ready: bool,
    waiting: Vec<(Vec<u8>, Vec<Blob>)>,
}

impl WorkerHandle {
    /// Starts the worker; `on_response` receives its answers and
    /// `on_failure` a message when it cannot start or crashes.
    pub fn spawn(
        on_response: Callback<Response>,
        on_failure: Callback<String>,
    ) -> Result<WorkerHandle, String> {
        let worker =
            Worker::new(&loader_url()?).map_err(|e| describe("cannot start the worker", &e))?;
        let state = Rc::new(RefCell::new(Queue::default()));
        let queue = Rc::clone(&state);
        let poster = worker.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            // A download comes as `[bytes, Blob]`: the file stays a Blob.
            let (bytes, blob) = match event.data().dyn_into::<Array>() {
                Ok(parts) => (
                    Uint8Array::new(&parts.get(0)).to_vec(),
                    parts.get(1).dyn_into::<Blob>().ok(),
                ),
                Err(data) => (Uint8Array::new(&data).to_vec(), None),
            };
            match protocol::decode::<Response>(&bytes) {
                Ok(Response::Download { name, .. }) if blob.is_some() => {
                    if let Some(blob) = &blob {
                        if let Err(message) = super::dom::download_blob(&name, blob) {
                            on_response.emit(Response::Failed { message });
                        }
                    }
                }
                Ok(Response::Ready) => {
                    let waiting = {
                        let mut queue = queue.borrow_mut();
                        queue.ready = true;
                        std::mem::take(&mut queue.waiting)
                    };
                    for (message, files) in waiting {
                        send(&poster, &message, &files);
                    }
                }
                Ok(response) => on_response.emit(response),
                Err(message) => on_response.emit(Response::Failed { message }),
            }
        });
        let onerror = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default();
            on_failure.emit(format!("the viewer's worker stopped ({})", event.message()));
        });
        worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
        Ok(WorkerHandle {
            worker,
            state,
            _onmessage: onmessage,
            _onerror: onerror,
        })
    }

    /// Sends `request`, with `files` beside it for an `Open`, now or as
    /// soon as the worker is ready.
    pub fn post(&self, request: &Request, files: Vec<Blob>) -> Result<(), String> {
        let bytes = protocol::encode(request)?;
        let mut state = self.state.borrow_mut();
        if state.ready {
            drop(state);
            send(&self.worker, &bytes, &files);
        } else {
            state.waiting.push((bytes, files));
        }
        Ok(())
    }
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// Posts encoded bytes, transferring their buffer; with files, posts
/// `[bytes, file, file, …]` (a `Blob` is passed by reference, not copied).
fn send(worker: &Worker, bytes: &[u8], files: &[Blob]) {
    let array = Uint8Array::from(bytes);
    let transfer = Array::of1(&array.buffer());
    let message: JsValue = if files.is_empty() {
        array.into()
    } else {
        let parts = Array::of1(&array);
        for file in files {
            parts.push(file);
        }
        parts.into()
    };
    if let Err(e) = worker.post_message_with_transfer(&message, &transfer) {
        web_sys::console::error_2(&"tracesieve: cannot post to the worker".into(), &e);
    }
}

/// A blob URL of a classic worker script that loads trunk's no-modules
/// build of the worker from this page's base URL.
fn loader_url() -> Result<String, String> {
    let base = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.base_uri().ok().flatten())
        .ok_or("the page has no base URL")?;
    let script = Url::new_with_base(SCRIPT, &base).map_err(|e| describe("bad worker URL", &e))?;
    let module = Url::new_with_base(MODULE, &base).map_err(|e| describe("bad worker URL", &e))?;
    let source = format!(
        "importScripts({});wasm_bindgen({{module_or_path:{}}});",
        js_string(&script.href()),
        js_string(&module.href())
    );
    let parts = Array::of1(&JsValue::from_str(&source));
    let options = BlobPropertyBag::new();
    options.set_type("text/javascript");
    let blob = Blob::new_with_str_sequence_and_options(&parts, &options)
        .map_err(|e| describe("cannot build the worker loader", &e))?;
    Url::create_object_url_with_blob(&blob)
        .map_err(|e| describe("cannot build the worker loader", &e))
}

/// A JavaScript string literal for `text`.
fn js_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// `what: <the JavaScript error>`.
pub fn describe(what: &str, error: &JsValue) -> String {
    format!("{what}: {}", js_message(error))
}

/// The message of a JavaScript error (or the thrown value, as text).
pub fn js_message(error: &JsValue) -> String {
    error
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}
