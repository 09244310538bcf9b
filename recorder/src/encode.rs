//! Python objects to the engine's [`Value`], within bounds, without running
//! the traced program's code (unless `--repr` asks for `repr()`).
//!
//! Built-in types are read through the C API (exact types only: a subclass
//! could override `__iter__`); other objects become their type name plus the
//! attributes in their instance `__dict__` and `__slots__`, read without
//! `__getattribute__`. Callables, modules and classes are named, not expanded.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString,
    PyTuple, PyType,
};
use tracesieve_engine::trace::{Attr, SequenceKind, Slot, Value, ValueBounds};

/// Encodes values with fixed bounds.
pub struct Encoder {
    bounds: ValueBounds,
    repr: bool,
}

impl Encoder {
    /// An encoder with `bounds`; `repr` allows calling `repr()` on objects
    /// without a structural encoding.
    pub fn new(bounds: ValueBounds, repr: bool) -> Encoder {
        Encoder { bounds, repr }
    }

    /// The encoding of `obj`.
    pub fn encode(&self, obj: &Bound<'_, PyAny>) -> Value {
        let mut path = Vec::new();
        self.encode_at(obj, 0, &mut path)
    }

    fn encode_at(&self, obj: &Bound<'_, PyAny>, depth: u32, path: &mut Vec<usize>) -> Value {
        if obj.is_none() {
            return Value::None;
        }
        if let Ok(b) = obj.cast_exact::<PyBool>() {
            return Value::Bool { value: b.is_true() };
        }
        if let Ok(i) = obj.cast_exact::<PyInt>() {
            return match i.extract::<i64>() {
                Ok(value) => Value::Int { value },
                Err(_) => Value::BigInt {
                    digits: i.to_string(),
                },
            };
        }
        if let Ok(f) = obj.cast_exact::<PyFloat>() {
            return Value::Float { value: f.value() };
        }
        if let Ok(s) = obj.cast_exact::<PyString>() {
            let text = s.to_string_lossy();
            return Value::Str {
                length: text.len() as u64,
                value: cut_str(&text, self.bounds.max_string_bytes),
            };
        }
        if let Ok(b) = obj.cast_exact::<PyBytes>() {
            return self.bytes(b.as_bytes());
        }
        if let Ok(b) = obj.cast_exact::<PyByteArray>() {
            return self.bytes(&b.to_vec());
        }
        let type_name = type_name(obj);
        if let Some(label) = named_object(obj) {
            return Value::Object {
                type_name: label,
                attrs: Vec::new(),
                length: 0,
            };
        }
        let id = obj.as_ptr() as usize;
        if path.contains(&id) {
            return Value::Cycle { type_name };
        }
        if depth >= self.bounds.max_depth {
            return Value::Deep { type_name };
        }
        path.push(id);
        let value = self.container(obj, type_name, depth, path);
        path.pop();
        value
    }

    fn container(
        &self,
        obj: &Bound<'_, PyAny>,
        type_name: String,
        depth: u32,
        path: &mut Vec<usize>,
    ) -> Value {
        let max = self.bounds.max_items as usize;
        let mut items = |iter: &mut dyn Iterator<Item = Bound<'_, PyAny>>| -> Vec<Value> {
            iter.take(max)
                .map(|item| self.encode_at(&item, depth + 1, path))
                .collect()
        };
        if let Ok(list) = obj.cast_exact::<PyList>() {
            let length = list.len() as u64;
            return Value::Sequence {
                kind: SequenceKind::List,
                items: items(&mut list.iter()),
                length,
            };
        }
        if let Ok(tuple) = obj.cast_exact::<PyTuple>() {
            let length = tuple.len() as u64;
            return Value::Sequence {
                kind: SequenceKind::Tuple,
                items: items(&mut tuple.iter()),
                length,
            };
        }
        if let Ok(set) = obj.cast_exact::<PySet>() {
            let length = set.len() as u64;
            return Value::Sequence {
                kind: SequenceKind::Set,
                items: items(&mut set.iter()),
                length,
            };
        }
        if let Ok(set) = obj.cast_exact::<PyFrozenSet>() {
            let length = set.len() as u64;
            return Value::Sequence {
                kind: SequenceKind::FrozenSet,
                items: items(&mut set.iter()),
                length,
            };
        }
        if let Ok(dict) = obj.cast_exact::<PyDict>() {
            let entries = dict
                .iter()
                .take(max)
                .map(|(k, v)| {
                    (
                        self.encode_at(&k, depth + 1, path),
                        self.encode_at(&v, depth + 1, path),
                    )
                })
                .collect();
            return Value::Dict {
                entries,
                length: dict.len() as u64,
            };
        }
        let attrs = instance_attrs(obj);
        if attrs.is_empty() && self.repr {
            return self.repr_of(obj, type_name);
        }
        let length = attrs.len() as u64;
        let attrs = attrs
            .into_iter()
            .take(max)
            .map(|(name, value)| Attr {
                name,
                value: Slot::Value {
                    value: self.encode_at(&value, depth + 1, path),
                },
            })
            .collect();
        Value::Object {
            type_name,
            attrs,
            length,
        }
    }

    fn bytes(&self, bytes: &[u8]) -> Value {
        let keep = bytes.len().min(self.bounds.max_string_bytes as usize);
        Value::Bytes {
            value: bytes[..keep].to_vec(),
            length: bytes.len() as u64,
        }
    }

    fn repr_of(&self, obj: &Bound<'_, PyAny>, type_name: String) -> Value {
        match obj.repr() {
            Ok(text) => {
                let text = text.to_string_lossy();
                Value::Repr {
                    length: text.len() as u64,
                    text: cut_str(&text, self.bounds.max_string_bytes),
                    type_name,
                }
            }
            Err(error) => Value::ReprError {
                type_name,
                message: error_text(obj.py(), &error),
            },
        }
    }
}

/// `Type: message` for a Python exception, without running more than `str()`
/// on it (used only for `repr` failures, where user code already ran).
fn error_text(py: Python<'_>, error: &PyErr) -> String {
    let name = error
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    match error.value(py).str() {
        Ok(message) => format!("{name}: {}", message.to_string_lossy()),
        Err(_) => name,
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
fn cut_str(text: &str, max: u32) -> String {
    let mut end = text.len().min(max as usize);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// `module.QualName` of an object's type (`QualName` for builtins).
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    qualified_type_name(&obj.get_type())
}

fn qualified_type_name(ty: &Bound<'_, PyType>) -> String {
    let qualname = ty
        .qualname()
        .map(|q| q.to_string())
        .unwrap_or_else(|_| "?".into());
    match ty.module().map(|m| m.to_string()) {
        Ok(module) if module != "builtins" => format!("{module}.{qualname}"),
        _ => qualname,
    }
}

/// A label for objects that are named rather than expanded: modules,
/// classes, functions, methods, code objects.
fn named_object(obj: &Bound<'_, PyAny>) -> Option<String> {
    let kind = obj.get_type().name().ok()?.to_string();
    let named = |attr: &str| {
        obj.getattr(attr).ok().and_then(|n| {
            n.cast_exact::<PyString>()
                .ok()
                .map(|s| s.to_string_lossy().into_owned())
        })
    };
    match kind.as_str() {
        "module" => Some(format!("module {}", named("__name__").unwrap_or_default())),
        "function"
        | "builtin_function_or_method"
        | "method"
        | "method_descriptor"
        | "wrapper_descriptor"
        | "classmethod"
        | "staticmethod"
        | "code" => Some(format!(
            "{kind} {}",
            named("__qualname__")
                .or_else(|| named("co_qualname"))
                .unwrap_or_default()
        )),
        _ if obj.is_instance_of::<PyType>() => obj
            .cast::<PyType>()
            .ok()
            .map(|t| format!("class {}", qualified_type_name(t))),
        _ => None,
    }
}

/// The attributes of an instance: its `__dict__` entries with string keys,
/// then `__slots__` members, then `args` for exceptions. Nothing here calls
/// `__getattribute__` or a property.
fn instance_attrs<'py>(obj: &Bound<'py, PyAny>) -> Vec<(String, Bound<'py, PyAny>)> {
    let py = obj.py();
    let mut attrs = Vec::new();
    // SAFETY: `obj` is a live object and the GIL is held; a NULL result is
    // turned into an error and cleared.
    let dict = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyObject_GenericGetDict(obj.as_ptr(), std::ptr::null_mut()),
        )
    };
    // No instance dict (a slots-only class) is not an error.
    if let Ok(dict) = dict {
        if let Ok(dict) = dict.cast_exact::<PyDict>() {
            for (key, value) in dict.iter() {
                if let Ok(key) = key.cast_exact::<PyString>() {
                    attrs.push((key.to_string_lossy().into_owned(), value));
                }
            }
        }
    }
    for class in obj.get_type().mro().iter() {
        let Ok(class_dict) = class.getattr("__dict__") else {
            continue;
        };
        let Ok(names) = class_dict.get_item("__slots__") else {
            continue;
        };
        let names: Vec<String> = match names.cast_exact::<PyString>() {
            Ok(one) => vec![one.to_string_lossy().into_owned()],
            Err(_) => names
                .try_iter()
                .map(|it| it.flatten().filter_map(|n| n.extract().ok()).collect())
                .unwrap_or_default(),
        };
        for name in names {
            let Ok(member) = class_dict.get_item(&name) else {
                continue;
            };
            if member
                .get_type()
                .name()
                .map(|n| n == "member_descriptor")
                .unwrap_or(false)
            {
                if let Ok(value) = member.call_method1("__get__", (obj, obj.get_type())) {
                    attrs.push((name, value));
                }
            }
        }
    }
    if obj.is_instance_of::<pyo3::exceptions::PyBaseException>() {
        let args = py
            .get_type::<pyo3::exceptions::PyBaseException>()
            .getattr("__dict__")
            .and_then(|d| d.get_item("args"))
            .and_then(|descriptor| descriptor.call_method1("__get__", (obj, obj.get_type())));
        if let Ok(args) = args {
            attrs.push(("args".to_string(), args));
        }
    }
    let _ = PyErr::take(py);
    attrs
}
