//! The Web Worker: decodes and re-filters traces off the page's thread.
//! Each message is a postcard-encoded request (see `protocol`), with the
//! files' `Blob`s beside an `Open`, read here in slices; the session's
//! answers are posted back as they are ready, the buffer transferred rather
//! than copied. The worker keeps the file's `Blob` while its trace is
//! open, and reads a frame's chunks again from it when the frame is shown.

use js_sys::{Array, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use tracesieve_viewer::app::worker::js_message;
use tracesieve_viewer::protocol::{self, Request, Response};
use tracesieve_viewer::session::{Attachment, Session};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, DedicatedWorkerGlobalScope, FileReaderSync, MessageEvent};

fn main() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let session = Rc::new(RefCell::new(Session::new()));
    let reply = scope.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let (message, files) = unpack(event.data());
        // The parts of a download, held as JavaScript arrays (outside wasm
        // memory) until the last one, then posted as one Blob.
        let parts = Array::new();
        let mut send = |response: Response| match response {
            Response::DownloadPart { bytes } => {
                parts.push(&Uint8Array::from(bytes.as_slice()));
            }
            Response::Download { name, bytes } => {
                parts.push(&Uint8Array::from(bytes.as_slice()));
                let blob = Blob::new_with_u8_array_sequence(&parts);
                parts.set_length(0);
                match blob {
                    Ok(blob) => post_with(
                        &reply,
                        &Response::Download {
                            name,
                            bytes: Vec::new(),
                        },
                        Some(&blob),
                    ),
                    Err(e) => post(
                        &reply,
                        &Response::Failed {
                            message: format!("cannot save the trace: {}", js_message(&e)),
                        },
                    ),
                }
            }
            other => {
                if matches!(other, Response::Failed { .. }) {
                    parts.set_length(0);
                }
                post(&reply, &other)
            }
        };
        let files = files
            .into_iter()
            .map(|f| Box::new(f) as Box<dyn Attachment>)
            .collect();
        match protocol::decode::<Request>(&message.to_vec()) {
            Ok(request) => match session.try_borrow_mut() {
                Ok(mut session) => session.handle(request, files, &mut send),
                Err(_) => send(Response::Failed {
                    message: "the worker is busy".into(),
                }),
            },
            Err(message) => send(Response::Failed { message }),
        }
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    post(&scope, &Response::Ready);
}

/// The request bytes of a message, and the files beside them, if any
/// (`[bytes, blob, blob, …]`).
fn unpack(data: JsValue) -> (Uint8Array, Vec<BlobFile>) {
    match data.dyn_into::<Array>() {
        Ok(parts) => {
            let files = (1..parts.length())
                .filter_map(|i| {
                    Some(BlobFile {
                        blob: parts.get(i).dyn_into::<Blob>().ok()?,
                        reader: FileReaderSync::new().ok()?,
                    })
                })
                .collect();
            (Uint8Array::new(&parts.get(0)), files)
        }
        Err(data) => (Uint8Array::new(&data), Vec::new()),
    }
}

/// A file the page sent, read synchronously (workers may block).
struct BlobFile {
    blob: Blob,
    reader: FileReaderSync,
}

impl Attachment for BlobFile {
    fn size(&self) -> u64 {
        self.blob.size() as u64
    }

    fn read(&mut self, start: u64, end: u64) -> Result<Vec<u8>, String> {
        let slice = self
            .blob
            .slice_with_f64_and_f64(start as f64, end as f64)
            .map_err(|e| js_message(&e))?;
        let buffer = self
            .reader
            .read_as_array_buffer(&slice)
            .map_err(|e| js_message(&e))?;
        Ok(Uint8Array::new(&buffer).to_vec())
    }
}

/// Posts `response` to the page.
fn post(scope: &DedicatedWorkerGlobalScope, response: &Response) {
    post_with(scope, response, None)
}

/// Posts `response` to the page, as `[bytes, blob]` with a blob.
fn post_with(scope: &DedicatedWorkerGlobalScope, response: &Response, blob: Option<&Blob>) {
    let bytes = match protocol::encode(response) {
        Ok(bytes) => bytes,
        Err(message) => match protocol::encode(&Response::Failed { message }) {
            Ok(bytes) => bytes,
            Err(_) => return,
        },
    };
    let array = Uint8Array::from(bytes.as_slice());
    let transfer = Array::of1(&array.buffer());
    let message: JsValue = match blob {
        Some(blob) => Array::of2(&array, blob).into(),
        None => array.into(),
    };
    if let Err(e) = scope.post_message_with_transfer(&message, &transfer) {
        web_sys::console::error_2(&"tracesieve worker: cannot post a message".into(), &e);
    }
}
