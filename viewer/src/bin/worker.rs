//! The Web Worker: decodes and re-filters traces off the page's thread.
//! Each message is a postcard-encoded request (see `protocol`); the
//! session's answers are posted back as they are ready, the buffer
//! transferred rather than copied.

use js_sys::{Array, Uint8Array};
use std::cell::RefCell;
use std::rc::Rc;
use tracesieve_viewer::protocol::{self, Request, Response};
use tracesieve_viewer::session::Session;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

fn main() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let session = Rc::new(RefCell::new(Session::new()));
    let reply = scope.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let bytes = Uint8Array::new(&event.data()).to_vec();
        let mut send = |response: Response| post(&reply, &response);
        match protocol::decode::<Request>(&bytes) {
            Ok(request) => match session.try_borrow_mut() {
                Ok(mut session) => session.handle(request, &mut send),
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

/// Posts `response` to the page.
fn post(scope: &DedicatedWorkerGlobalScope, response: &Response) {
    let bytes = match protocol::encode(response) {
        Ok(bytes) => bytes,
        Err(message) => match protocol::encode(&Response::Failed { message }) {
            Ok(bytes) => bytes,
            Err(_) => return,
        },
    };
    let array = Uint8Array::from(bytes.as_slice());
    let transfer = Array::of1(&array.buffer());
    if let Err(e) = scope.post_message_with_transfer(&array, &transfer) {
        web_sys::console::error_2(&"tracesieve worker: cannot post a message".into(), &e);
    }
}
