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
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::rc::Rc;
use tracesieve_engine::trace::{Attr, Name, SequenceKind, Slot, Value, ValueBounds};

/// Encodes values with fixed bounds. What it learns about each type (its
/// name, whether it is named or expanded, its slots) is kept, so an object
/// costs a dictionary walk and no further lookups on its type.
pub struct Encoder {
    bounds: ValueBounds,
    repr: bool,
    types: RefCell<FxHashMap<usize, Rc<TypeInfo>>>,
}

/// The state of one value's encoding: the containers being expanded (to
/// find cycles) and how many more may be expanded.
struct Walk {
    path: Vec<usize>,
    budget: u32,
}

/// What an object's type says about encoding it.
struct TypeInfo {
    /// `module.QualName` (`QualName` for builtins), shared by every value of the type.
    name: Name,
    shape: Shape,
    /// Keeps the type alive, so its address is not reused for another.
    _type: Py<PyType>,
}

enum Shape {
    /// Named, not expanded: modules, classes, functions, methods, code.
    Named(&'static str),
    /// Expanded: instance dict, slot members (name, descriptor), `args` for
    /// exceptions (the `BaseException.args` descriptor).
    Instance {
        slots: Vec<(String, Py<PyAny>)>,
        args: Option<Py<PyAny>>,
    },
}

/// Types whose instances are named, not expanded, with the word shown.
const NAMED_TYPES: [(&str, &str); 9] = [
    ("module", "module"),
    ("function", "function"),
    ("builtin_function_or_method", "builtin"),
    ("method", "method"),
    ("method_descriptor", "method"),
    ("wrapper_descriptor", "method"),
    ("classmethod", "classmethod"),
    ("staticmethod", "staticmethod"),
    ("code", "code"),
];

impl Encoder {
    /// An encoder with `bounds`; `repr` allows calling `repr()` on objects
    /// without a structural encoding.
    pub fn new(bounds: ValueBounds, repr: bool) -> Encoder {
        Encoder {
            bounds,
            repr,
            types: RefCell::new(FxHashMap::default()),
        }
    }

    /// The encoding of `obj`.
    pub fn encode(&self, obj: &Bound<'_, PyAny>) -> Value {
        let mut walk = Walk {
            path: Vec::new(),
            budget: self.bounds.max_nodes,
        };
        self.encode_at(obj, 0, &mut walk)
    }

    fn encode_at(&self, obj: &Bound<'_, PyAny>, depth: u32, walk: &mut Walk) -> Value {
        walk.budget = walk.budget.saturating_sub(1);
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
        let info = self.type_info(obj);
        if let Shape::Named(word) = info.shape {
            return Value::Object {
                type_name: named_label(obj, word).into(),
                attrs: Vec::new(),
                length: 0,
            };
        }
        let id = obj.as_ptr() as usize;
        if walk.path.contains(&id) {
            return Value::Cycle {
                type_name: info.name.clone(),
            };
        }
        if depth >= self.bounds.max_depth || walk.budget == 0 {
            return Value::Deep {
                type_name: info.name.clone(),
            };
        }
        walk.path.push(id);
        let value = self.container(obj, &info, depth, walk);
        walk.path.pop();
        value
    }

    /// What is known about `obj`'s type, learnt on first sight.
    fn type_info(&self, obj: &Bound<'_, PyAny>) -> Rc<TypeInfo> {
        let ty = obj.get_type();
        let key = ty.as_ptr() as usize;
        if let Some(info) = self.types.borrow().get(&key) {
            return info.clone();
        }
        let info = Rc::new(learn_type(&ty));
        self.types.borrow_mut().insert(key, info.clone());
        info
    }

    fn container(
        &self,
        obj: &Bound<'_, PyAny>,
        info: &TypeInfo,
        depth: u32,
        walk: &mut Walk,
    ) -> Value {
        let max = self.bounds.max_items as usize;
        // Items stop at `max_items`, or earlier when the value's node budget
        // runs out; the container's `length` shows what was cut.
        let mut items = |iter: &mut dyn ExactSizeIterator<Item = Bound<'_, PyAny>>| -> Vec<Value> {
            let mut out = Vec::with_capacity(iter.len().min(max));
            for item in iter.take(max) {
                if walk.budget == 0 {
                    break;
                }
                out.push(self.encode_at(&item, depth + 1, walk));
            }
            out
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
            let mut entries = Vec::with_capacity(dict.len().min(max));
            for (k, v) in dict.iter().take(max) {
                if walk.budget == 0 {
                    break;
                }
                entries.push((
                    self.encode_at(&k, depth + 1, walk),
                    self.encode_at(&v, depth + 1, walk),
                ));
            }
            return Value::Dict {
                entries,
                length: dict.len() as u64,
            };
        }
        let (attrs, length) = self.instance_attrs(obj, info);
        if length == 0 && self.repr {
            return self.repr_of(obj, info.name.clone());
        }
        let mut kept = Vec::with_capacity(attrs.len());
        for (name, value) in attrs {
            if walk.budget == 0 {
                break;
            }
            kept.push(Attr {
                name,
                value: Slot::Value {
                    value: self.encode_at(&value, depth + 1, walk),
                },
            });
        }
        Value::Object {
            type_name: info.name.clone(),
            attrs: kept,
            length: length as u64,
        }
    }

    fn bytes(&self, bytes: &[u8]) -> Value {
        let keep = bytes.len().min(self.bounds.max_string_bytes as usize);
        Value::Bytes {
            value: bytes[..keep].to_vec(),
            length: bytes.len() as u64,
        }
    }

    fn repr_of(&self, obj: &Bound<'_, PyAny>, type_name: Name) -> Value {
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

/// Looks at a type once: its name, whether its instances are named or
/// expanded, and its slot members. Lookups use `mappingproxy.get`, which
/// returns None instead of raising for a missing key.
fn learn_type(ty: &Bound<'_, PyType>) -> TypeInfo {
    let py = ty.py();
    let name = qualified_type_name(ty);
    let plain = ty.name().map(|n| n.to_string()).unwrap_or_default();
    let named = NAMED_TYPES
        .iter()
        .find(|(t, _)| *t == plain)
        .map(|(_, word)| *word);
    let is_class = ty.is_subclass_of::<PyType>().unwrap_or(false);
    let shape = match (named, is_class) {
        (Some(word), _) => Shape::Named(word),
        (None, true) => Shape::Named("class"),
        (None, false) => Shape::Instance {
            slots: slot_members(ty),
            args: exception_args(ty),
        },
    };
    let _ = PyErr::take(py);
    TypeInfo {
        name: name.into(),
        shape,
        _type: ty.clone().unbind(),
    }
}

/// `(name, member descriptor)` for every `__slots__` entry along the MRO.
fn slot_members(ty: &Bound<'_, PyType>) -> Vec<(String, Py<PyAny>)> {
    let mut members = Vec::new();
    for class in ty.mro().iter() {
        let Ok(class_dict) = class.getattr("__dict__") else {
            continue;
        };
        let get = |key: &str| {
            class_dict
                .call_method1("get", (key,))
                .ok()
                .filter(|v| !v.is_none())
        };
        let Some(names) = get("__slots__") else {
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
            let Some(member) = get(&name) else { continue };
            if member
                .get_type()
                .name()
                .map(|n| n == "member_descriptor")
                .unwrap_or(false)
            {
                members.push((name, member.unbind()));
            }
        }
    }
    members
}

/// The `BaseException.args` descriptor, for exception types.
fn exception_args(ty: &Bound<'_, PyType>) -> Option<Py<PyAny>> {
    let py = ty.py();
    let base = py.get_type::<pyo3::exceptions::PyBaseException>();
    if !ty.is_subclass(&base).unwrap_or(false) {
        return None;
    }
    base.getattr("__dict__")
        .ok()?
        .call_method1("get", ("args",))
        .ok()
        .map(Bound::unbind)
}

/// The label of a named object: `function pkg.f`, `class pkg.C`, `module pkg`.
fn named_label(obj: &Bound<'_, PyAny>, word: &str) -> String {
    let text = |attr: &str| {
        obj.getattr(attr).ok().and_then(|n| {
            n.cast_exact::<PyString>()
                .ok()
                .map(|s| s.to_string_lossy().into_owned())
        })
    };
    let name = match word {
        "module" => text("__name__"),
        "class" => obj.cast::<PyType>().ok().map(qualified_type_name),
        "code" => text("co_qualname"),
        _ => text("__qualname__"),
    };
    let _ = PyErr::take(obj.py());
    format!("{word} {}", name.unwrap_or_default())
}

impl Encoder {
    /// The first `max_items` attributes of an instance, and how many it has:
    /// its `__dict__` entries with string keys, then its slot members, then
    /// `args` for exceptions. Nothing here calls `__getattribute__` or a
    /// property.
    fn instance_attrs<'py>(
        &self,
        obj: &Bound<'py, PyAny>,
        info: &TypeInfo,
    ) -> (Vec<(Name, Bound<'py, PyAny>)>, usize) {
        let py = obj.py();
        let Shape::Instance { slots, args } = &info.shape else {
            return (Vec::new(), 0);
        };
        let max = self.bounds.max_items as usize;
        let mut attrs = Vec::new();
        let mut length = 0;
        let mut add = |name: &dyn Fn() -> Name, value: Bound<'py, PyAny>| {
            if length < max {
                attrs.push((name(), value));
            }
            length += 1;
        };
        // SAFETY: `obj` is a live object and the GIL is held; NULL (no instance
        // dict, as for a slots-only class) becomes an error that is dropped.
        let dict = unsafe {
            Bound::from_owned_ptr_or_err(
                py,
                ffi::PyObject_GenericGetDict(obj.as_ptr(), std::ptr::null_mut()),
            )
        };
        if let Ok(dict) = dict {
            if let Ok(dict) = dict.cast_exact::<PyDict>() {
                for (key, value) in dict.iter() {
                    if let Ok(key) = key.cast_exact::<PyString>() {
                        add(&|| Name::from(key.to_string_lossy()), value);
                    }
                }
            }
        }
        let owner = obj.get_type();
        for (name, member) in slots {
            // An unset slot raises AttributeError: it is simply not there.
            if let Ok(value) = member.bind(py).call_method1("__get__", (obj, &owner)) {
                add(&|| Name::from(name.as_str()), value);
            }
        }
        if let Some(descriptor) = args {
            if let Ok(value) = descriptor.bind(py).call_method1("__get__", (obj, &owner)) {
                add(&|| Name::from("args"), value);
            }
        }
        let _ = PyErr::take(py);
        (attrs, length)
    }
}
