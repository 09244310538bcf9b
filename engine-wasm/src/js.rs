//! Moving values across the JavaScript boundary: results go out as JSON
//! (parsed into plain objects, so they have exactly the engine's documented
//! JSON shapes), options come in through serde-wasm-bindgen, and errors go
//! out as `Error` objects carrying a serialisable record's fields.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// `value` as a plain JavaScript value with its serde JSON shape.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(value).map_err(|e| usage_error(&e.to_string()))?;
    js_sys::JSON::parse(&text)
}

/// Reads an argument of type `T`; `what` names it in the error message.
pub fn from_js<T: DeserializeOwned>(value: JsValue, what: &str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value).map_err(|e| usage_error(&format!("{what}: {e}")))
}

/// Reads an options object; `undefined` or `null` gives the defaults.
pub fn options<T: DeserializeOwned + Default>(value: JsValue, what: &str) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        Ok(T::default())
    } else {
        from_js(value, what)
    }
}

/// An `Error` whose own properties are `record`'s fields (its `message`
/// included, when it has one).
pub fn error_with<T: Serialize>(message: &str, record: &T) -> JsValue {
    let error = js_sys::Error::new(message);
    if let Ok(fields) = to_js(record) {
        if let Some(fields) = fields.dyn_ref::<js_sys::Object>() {
            js_sys::Object::assign(&error, fields);
        }
    }
    error.into()
}

/// A `TypeError` for arguments that are not what the API takes.
pub fn usage_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}
