//! Python objects to the engine's [`Value`], within bounds, without running
//! the traced program's code (unless `--repr` asks for `repr()`).
//!
//! Built-in types are read through the C API (exact types only: a subclass
//! could override `__iter__`); other objects become their type name plus the
//! attributes in their instance `__dict__` and `__slots__`, read without
//! `__getattribute__`. Callables, modules and classes are named, not expanded.
//!
//! Nothing here looks an attribute up on a class or on an object whose type
//! the program defined: a metaclass can define `__dict__`, `__module__` or
//! `__getattribute__`, and an instance `__getattr__`, each of which would
//! run the program's code. Type dictionaries are read through the type
//! object (`tp_dict`, `tp_mro`, `PyType_GetQualName`), their keys matched
//! only as exact strings, and names of callables through the C getters of
//! the exact built-in types (see [`named_label`]).

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
    Named(Named),
    /// Expanded: instance dict, slot members (name, descriptor), `args` for
    /// exceptions (the `BaseException.args` descriptor).
    Instance {
        slots: Vec<(String, Py<PyAny>)>,
        args: Option<Py<PyAny>>,
    },
}

extern "C" {
    /// `types.MethodType` (public C API, not declared by pyo3-ffi).
    static mut PyMethod_Type: ffi::PyTypeObject;
}

/// What an object of a named (not expanded) type is labelled with.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Named {
    Module,
    Function,
    Builtin,
    Method,
    /// A `method_descriptor` or `wrapper_descriptor` (shown as `method`).
    Descriptor,
    ClassMethod,
    StaticMethod,
    Code,
    Class,
}

impl Named {
    fn word(self) -> &'static str {
        match self {
            Named::Module => "module",
            Named::Function => "function",
            Named::Builtin => "builtin",
            Named::Method | Named::Descriptor => "method",
            Named::ClassMethod => "classmethod",
            Named::StaticMethod => "staticmethod",
            Named::Code => "code",
            Named::Class => "class",
        }
    }
}

/// The exact built-in types whose instances are named, not expanded (a
/// subclass, or a class of the program that happens to have one of these
/// names, is expanded as any other object).
fn named_type(ty: *mut ffi::PyTypeObject) -> Option<Named> {
    // Only the addresses of the interpreter's static type objects are
    // taken; nothing is read or written through them.
    let table: [(*mut ffi::PyTypeObject, Named); 9] = [
        (&raw mut ffi::PyModule_Type, Named::Module),
        (&raw mut ffi::PyFunction_Type, Named::Function),
        (&raw mut ffi::PyCFunction_Type, Named::Builtin),
        (&raw mut PyMethod_Type, Named::Method),
        (&raw mut ffi::PyMethodDescr_Type, Named::Descriptor),
        (&raw mut ffi::PyWrapperDescr_Type, Named::Descriptor),
        (&raw mut ffi::PyClassMethod_Type, Named::ClassMethod),
        (&raw mut ffi::PyStaticMethod_Type, Named::StaticMethod),
        (&raw mut ffi::PyCode_Type, Named::Code),
    ];
    table
        .iter()
        .find(|(t, _)| *t == ty)
        .map(|(_, named)| *named)
}

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
                Err(_) => match big_int_digits(i) {
                    Ok(digits) => Value::BigInt { digits },
                    Err(error) => Value::ReprError {
                        type_name: Name::from("int"),
                        message: error.to_string(),
                    },
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
        if let Shape::Named(named) = info.shape {
            return Value::Object {
                type_name: named_label(obj, named).into(),
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

/// `module.QualName` of a type (`QualName` for builtins), as `__module__`
/// and `__qualname__` would give it without a metaclass in the way: the
/// qualified name from the type object, the module from the type's own
/// dictionary (heap types) or its C name (static types).
fn qualified_type_name(ty: &Bound<'_, PyType>) -> String {
    let qualname = ty
        .qualname()
        .map(|q| q.to_string())
        .unwrap_or_else(|_| "?".into());
    let _ = PyErr::take(ty.py());
    match type_module(ty) {
        Some(module) if module != "builtins" => format!("{module}.{qualname}"),
        _ => qualname,
    }
}

/// `type.__module__` read as CPython's own getter reads it, without a lookup
/// on the type (a metaclass may define `__module__`): `__module__` in a heap
/// type's dictionary, if a string, else the part of a static type's C name
/// before its last dot, else `builtins`.
fn type_module(ty: &Bound<'_, PyType>) -> Option<String> {
    let raw = ty.as_type_ptr();
    // SAFETY: `raw` is a live type object; reading its flags and C name.
    let (heap, c_name) = unsafe {
        (
            (*raw).tp_flags & ffi::Py_TPFLAGS_HEAPTYPE != 0,
            (*raw).tp_name,
        )
    };
    if heap {
        let module = type_dict_get(ty, "__module__")?;
        let module = module.cast::<PyString>().ok()?;
        return Some(module.to_string_lossy().into_owned());
    }
    if c_name.is_null() {
        return None;
    }
    // SAFETY: a static type's `tp_name` is a NUL-terminated C string.
    let c_name = unsafe { std::ffi::CStr::from_ptr(c_name) }.to_string_lossy();
    Some(match c_name.rfind('.') {
        Some(dot) => c_name[..dot].to_string(),
        None => "builtins".to_string(),
    })
}

/// A type's own dictionary (`tp_dict`), read through the type object: no
/// `__dict__` lookup, which a metaclass property could answer. `None` for
/// static built-in types on 3.12+, whose dictionary lives elsewhere (they
/// have no `__slots__` and no `__module__` entry to read).
fn type_dict<'py>(ty: &Bound<'py, PyType>) -> Option<Bound<'py, PyDict>> {
    // SAFETY: `tp_dict` of a live type is NULL or a borrowed dict.
    let dict = unsafe { (*ty.as_type_ptr()).tp_dict };
    // SAFETY: as above; a new strong reference is taken.
    let dict = unsafe { Bound::from_borrowed_ptr_or_opt(ty.py(), dict) }?;
    dict.cast_into::<PyDict>().ok()
}

/// `key` in a type's own dictionary. The dictionary is walked and only
/// exact-string keys are compared, so no key's `__eq__` or `__hash__` runs
/// (a class namespace may hold keys of any type).
fn type_dict_get<'py>(ty: &Bound<'py, PyType>, key: &str) -> Option<Bound<'py, PyAny>> {
    exact_key(&type_dict(ty)?, key)
}

/// The value under the exact-string key `key` in `dict`, found by walking it.
fn exact_key<'py>(dict: &Bound<'py, PyDict>, key: &str) -> Option<Bound<'py, PyAny>> {
    let found = dict.iter().find_map(|(k, v)| {
        let k = k.cast_exact::<PyString>().ok()?;
        (k.to_str().ok()? == key).then_some(v)
    });
    let _ = PyErr::take(dict.py());
    found
}

/// Whether `name` is defined on `ty` or a class of its MRO, read through the
/// type objects (as `inspect.getattr_static` does, without running code).
pub(crate) fn defined_on_type(ty: &Bound<'_, PyType>, name: &str) -> bool {
    ty.mro().iter().any(|class| {
        class
            .cast::<PyType>()
            .ok()
            .and_then(|class| type_dict_get(class, name))
            .is_some()
    })
}

/// Looks at a type once: its name, whether its instances are named or
/// expanded, and its slot members, all read through the type objects.
fn learn_type(ty: &Bound<'_, PyType>) -> TypeInfo {
    let py = ty.py();
    let name = qualified_type_name(ty);
    let raw = ty.as_type_ptr();
    // SAFETY: subtype checks between live type objects; no code runs.
    let (is_class, is_exception) = unsafe {
        (
            ffi::PyType_IsSubtype(raw, &raw mut ffi::PyType_Type) != 0,
            ffi::PyType_IsSubtype(raw, ffi::PyExc_BaseException.cast()) != 0,
        )
    };
    let shape = match (named_type(raw), is_class) {
        (Some(named), _) => Shape::Named(named),
        (None, true) => Shape::Named(Named::Class),
        (None, false) => Shape::Instance {
            slots: slot_members(ty),
            args: if is_exception {
                exception_args(py)
            } else {
                None
            },
        },
    };
    let _ = PyErr::take(py);
    TypeInfo {
        name: name.into(),
        shape,
        _type: ty.clone().unbind(),
    }
}

/// `(name, member descriptor)` for every `__slots__` entry along the MRO,
/// each class's `__slots__` read from its own dictionary. A `__slots__` that
/// is not a string, tuple, list or dict (an iterable of the program's, whose
/// `__iter__` would run) is not iterated: that class's member descriptors
/// are taken from its dictionary instead, in dictionary order.
fn slot_members(ty: &Bound<'_, PyType>) -> Vec<(String, Py<PyAny>)> {
    let mut members = Vec::new();
    for class in ty.mro().iter() {
        let Ok(class) = class.cast::<PyType>() else {
            continue;
        };
        let Some(class_dict) = type_dict(class) else {
            continue;
        };
        let Some(slots) = exact_key(&class_dict, "__slots__") else {
            continue;
        };
        let names: Option<Vec<String>> = if let Ok(one) = slots.cast_exact::<PyString>() {
            Some(vec![one.to_string_lossy().into_owned()])
        } else if let Ok(tuple) = slots.cast_exact::<PyTuple>() {
            Some(tuple.iter().filter_map(|n| slot_name(&n)).collect())
        } else if let Ok(list) = slots.cast_exact::<PyList>() {
            Some(list.iter().filter_map(|n| slot_name(&n)).collect())
        } else if let Ok(dict) = slots.cast_exact::<PyDict>() {
            Some(dict.keys().iter().filter_map(|n| slot_name(&n)).collect())
        } else {
            None
        };
        let is_member = |value: &Bound<'_, PyAny>| {
            value.get_type().as_type_ptr() == &raw mut ffi::PyMemberDescr_Type
        };
        match names {
            Some(names) => {
                for name in names {
                    if let Some(member) = exact_key(&class_dict, &name).filter(is_member) {
                        members.push((name, member.unbind()));
                    }
                }
            }
            None => {
                for (key, value) in class_dict.iter() {
                    if let (Ok(key), true) = (key.cast_exact::<PyString>(), is_member(&value)) {
                        members.push((key.to_string_lossy().into_owned(), value.unbind()));
                    }
                }
            }
        }
    }
    let _ = PyErr::take(ty.py());
    members
}

/// A `__slots__` entry's name: a string (a subclass's text is read through
/// the C API, not its `__str__`).
fn slot_name(name: &Bound<'_, PyAny>) -> Option<String> {
    name.cast::<PyString>()
        .ok()
        .map(|s| s.to_string_lossy().into_owned())
}

/// The `BaseException.args` descriptor. `BaseException` is a built-in whose
/// type is `type` itself, so its `__dict__` lookup runs no program code.
fn exception_args(py: Python<'_>) -> Option<Py<PyAny>> {
    let base = py.get_type::<pyo3::exceptions::PyBaseException>();
    let args = base
        .getattr("__dict__")
        .ok()?
        .get_item("args")
        .ok()
        .map(Bound::unbind);
    let _ = PyErr::take(py);
    args
}

/// A read of an attribute that an exact built-in type defines itself in C
/// (a member or getset descriptor of `function`, `code`,
/// `builtin_function_or_method`, `method_descriptor`, …), with the generic
/// lookup: no `__getattribute__` or `__getattr__` of the program is involved.
fn builtin_attr<'py>(obj: &Bound<'py, PyAny>, name: &str) -> Option<Bound<'py, PyAny>> {
    let py = obj.py();
    let name = PyString::new(py, name);
    // SAFETY: `obj` and `name` are live; a new reference or NULL with an
    // error set (cleared by the caller's PyErr::take).
    unsafe {
        Bound::from_owned_ptr_or_opt(
            py,
            ffi::PyObject_GenericGetAttr(obj.as_ptr(), name.as_ptr()),
        )
    }
}

fn text_of(value: Option<Bound<'_, PyAny>>) -> Option<String> {
    value.and_then(|v| {
        v.cast_exact::<PyString>()
            .ok()
            .map(|s| s.to_string_lossy().into_owned())
    })
}

/// `Owner.name` for a callable bound to or defined on `owner` (a type, or an
/// instance whose type is used), as CPython's `__qualname__` getters of
/// builtins and method descriptors build it, but with the owner's qualified
/// name read from the type object rather than through a lookup that a
/// metaclass could answer.
fn owned_name(owner: &Bound<'_, PyAny>, name: &str) -> String {
    let owner_type = match owner.cast::<PyType>() {
        Ok(ty) => ty.clone(),
        Err(_) => owner.get_type(),
    };
    match owner_type.qualname() {
        Ok(qualname) => format!("{qualname}.{name}"),
        Err(_) => name.to_string(),
    }
}

/// The label of a named object: `function pkg.f`, `class pkg.C`, `module
/// pkg`. Every read goes through C getters of the exact built-in type (or
/// the type object, for classes), so none of the program's code runs: not a
/// module's `__getattr__`, not a metaclass's `__qualname__` or `__module__`
/// (CPython's own `__qualname__` of a builtin method or method descriptor
/// would look the owner's `__qualname__` up), not the `__getattr__` of a
/// callable a bound method wraps.
fn named_label(obj: &Bound<'_, PyAny>, named: Named) -> String {
    let py = obj.py();
    let name = match named {
        // SAFETY: `obj` is an exact module; reads `__name__` from its dict.
        Named::Module => text_of(unsafe {
            Bound::from_owned_ptr_or_opt(py, ffi::PyModule_GetNameObject(obj.as_ptr()))
        }),
        Named::Class => obj.cast::<PyType>().ok().map(qualified_type_name),
        Named::Code => text_of(builtin_attr(obj, "co_qualname")),
        Named::Function => text_of(builtin_attr(obj, "__qualname__")),
        // Copied from the wrapped callable into the instance dict when the
        // program made it.
        Named::ClassMethod | Named::StaticMethod => text_of(builtin_attr(obj, "__qualname__")),
        Named::Method => builtin_attr(obj, "__func__")
            .filter(|f| f.get_type().as_type_ptr() == &raw mut ffi::PyFunction_Type)
            .and_then(|f| text_of(builtin_attr(&f, "__qualname__"))),
        Named::Builtin => text_of(builtin_attr(obj, "__name__")).map(|name| {
            match builtin_attr(obj, "__self__") {
                // SAFETY: a type check of a live object.
                Some(owner)
                    if !owner.is_none() && unsafe { ffi::PyModule_Check(owner.as_ptr()) } == 0 =>
                {
                    owned_name(&owner, &name)
                }
                _ => name,
            }
        }),
        Named::Descriptor => {
            text_of(builtin_attr(obj, "__name__")).map(|name| {
                match builtin_attr(obj, "__objclass__") {
                    Some(owner) => owned_name(&owner, &name),
                    None => name,
                }
            })
        }
    };
    let _ = PyErr::take(py);
    format!("{} {}", named.word(), name.unwrap_or_default())
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
        let dict = instance_dict(obj);
        if let Some(dict) = dict {
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

/// An object's instance dict, without making one where it has none: an
/// object whose type keeps the dict at a fixed offset (most C types with a
/// `__dict__`, such as `functools.partial`, whose constructor behaves
/// differently once its argument has a dict) is read at that offset; other
/// objects (a managed dict, or a variable-size object) through
/// `PyObject_GenericGetDict`.
fn instance_dict<'py>(obj: &Bound<'py, PyAny>) -> Option<Bound<'py, PyAny>> {
    let py = obj.py();
    let raw = obj.as_ptr();
    // SAFETY: reading the flags and dict offset of a live object's type.
    let (managed, offset) = unsafe {
        let ty = ffi::Py_TYPE(raw);
        (
            (*ty).tp_flags & ffi::Py_TPFLAGS_MANAGED_DICT != 0,
            (*ty).tp_dictoffset,
        )
    };
    if !managed && offset == 0 {
        return None;
    }
    if !managed && offset > 0 {
        // SAFETY: a positive `tp_dictoffset` is the offset of the object's
        // `PyObject *` dict slot (NULL until a dict is made).
        let slot = unsafe { *(raw.cast::<u8>().offset(offset).cast::<*mut ffi::PyObject>()) };
        // SAFETY: NULL or a borrowed reference to the dict.
        return unsafe { Bound::from_borrowed_ptr_or_opt(py, slot) };
    }
    // SAFETY: `obj` is live and the GIL is held; NULL (no instance dict)
    // becomes an error that is dropped.
    let dict = unsafe {
        Bound::from_owned_ptr_or_err(py, ffi::PyObject_GenericGetDict(raw, std::ptr::null_mut()))
    };
    let _ = PyErr::take(py);
    dict.ok()
}

/// Ints of more bits than this are given in hexadecimal: turning one into
/// decimal takes time that grows with the square of its size.
const DECIMAL_BITS_LIMIT: u64 = 1 << 16;

/// The digits of an int too large for 64 bits, worked out here rather than
/// by `str()`, which refuses ints of more than `sys.get_int_max_str_digits()`
/// digits (4,300 by default) and would report that to the program's
/// unraisable hook: decimal up to [`DECIMAL_BITS_LIMIT`] bits, hexadecimal
/// (`0x…`) above it. Only `int`'s own methods run.
fn big_int_digits(int: &Bound<'_, PyInt>) -> PyResult<String> {
    let negative = int.lt(0)?;
    let magnitude = if negative {
        int.neg()?
    } else {
        int.clone().into_any()
    };
    let sign = if negative { "-" } else { "" };
    let bits: u64 = magnitude.call_method0("bit_length")?.extract()?;
    if bits > DECIMAL_BITS_LIMIT {
        let hex: String = magnitude.call_method1("__format__", ("x",))?.extract()?;
        return Ok(format!("{sign}0x{hex}"));
    }
    let bytes: Vec<u8> = magnitude
        .call_method1("to_bytes", (bits.div_ceil(8), "little"))?
        .extract()?;
    Ok(format!("{sign}{}", decimal_digits(&bytes)))
}

/// The decimal digits of an unsigned number given as little-endian bytes.
fn decimal_digits(little_endian: &[u8]) -> String {
    const CHUNK: u64 = 10_000_000_000_000_000_000; // 10^19, the most a u64 holds
    let mut limbs: Vec<u64> = little_endian
        .chunks(8)
        .map(|chunk| {
            let mut limb = [0u8; 8];
            limb[..chunk.len()].copy_from_slice(chunk);
            u64::from_le_bytes(limb)
        })
        .collect();
    let mut chunks = Vec::new();
    loop {
        while limbs.last() == Some(&0) {
            limbs.pop();
        }
        if limbs.is_empty() {
            break;
        }
        let mut remainder: u128 = 0;
        for limb in limbs.iter_mut().rev() {
            let value = (remainder << 64) | u128::from(*limb);
            *limb = (value / u128::from(CHUNK)) as u64;
            remainder = value % u128::from(CHUNK);
        }
        chunks.push(remainder as u64);
    }
    let Some((first, rest)) = chunks.split_last() else {
        return "0".to_string();
    };
    let mut text = first.to_string();
    for chunk in rest.iter().rev() {
        text.push_str(&format!("{chunk:019}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::decimal_digits;

    #[test]
    fn decimal_digits_of_little_endian_numbers() {
        assert_eq!(decimal_digits(&[]), "0");
        assert_eq!(decimal_digits(&[0, 0]), "0");
        assert_eq!(decimal_digits(&[1]), "1");
        assert_eq!(
            decimal_digits(&u64::MAX.to_le_bytes()),
            u64::MAX.to_string()
        );
        let big = u128::MAX - 12345;
        assert_eq!(decimal_digits(&big.to_le_bytes()), big.to_string());
        // 10^19 exactly: a chunk of zeros below a 1.
        let ten19: u128 = 10_000_000_000_000_000_000;
        assert_eq!(decimal_digits(&ten19.to_le_bytes()), ten19.to_string());
        let mut bytes = (ten19 * 7 + 5).to_le_bytes().to_vec();
        bytes.extend([0; 5]);
        assert_eq!(decimal_digits(&bytes), (ten19 * 7 + 5).to_string());
    }
}
