//! The settings of a recording as Python hands them to `start`: one dict,
//! typed on the Python side as `tracesieve._types.RecordOptions`, read here
//! into [`RecordOptions`]. A key left out takes its default; a key this
//! recorder does not know is refused, so that a misspelt setting is never
//! silently ignored.

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The settings of one recording (everything `start` needs besides the
/// trace's path and the user's filter files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOptions {
    /// Whether the built-in default filter heads the chain.
    pub builtin_filter: bool,
    /// The built-in framework filter after it: `pytest` or `unittest`.
    pub framework: Option<String>,
    /// How module names are chosen: `globals` or `paths`.
    pub module_names: String,
    /// Which values are captured: `none`, `args` or `all`.
    pub values: String,
    /// Containers nested deeper are not expanded (1 to [`crate::hooks::MAX_DEPTH`]).
    pub max_depth: u32,
    /// Items kept per container.
    pub max_items: u32,
    /// Bytes kept of a `str` or `bytes` value.
    pub max_string_bytes: u32,
    /// Values encoded per recorded value, in all.
    pub max_nodes: u32,
    /// Whether objects without a structural encoding get their `repr()`.
    pub repr: bool,
    /// Whether source files are embedded in the trace.
    pub sources: bool,
    /// Source files larger than this are not embedded.
    pub max_source_bytes: u64,
    /// The program's `sys.argv`, for the trace's header (redacted there).
    pub argv: Vec<String>,
    /// Code whose filename starts with this (tracesieve's own package) is
    /// never recorded.
    pub ignore_prefix: String,
    /// Recording stops once the trace file holds this many bytes.
    pub max_size: Option<u64>,
    /// `(parent pid, how it started)` for a process of a trace set.
    pub process: Option<(u32, String)>,
}

impl Default for RecordOptions {
    fn default() -> RecordOptions {
        RecordOptions {
            builtin_filter: true,
            framework: None,
            module_names: "globals".to_string(),
            values: "all".to_string(),
            max_depth: 3,
            max_items: 32,
            max_string_bytes: 256,
            max_nodes: 100,
            repr: false,
            sources: true,
            max_source_bytes: 1_048_576,
            argv: Vec::new(),
            ignore_prefix: String::new(),
            max_size: None,
            process: None,
        }
    }
}

impl RecordOptions {
    /// Reads `options` (`None`: every default). Raises TypeError for a key
    /// that is not a setting, or a value of the wrong type, naming the key;
    /// other extraction errors (an OverflowError for a negative count) are
    /// raised as they are, as for a function's arguments.
    pub fn from_dict(options: Option<&Bound<'_, PyDict>>) -> PyResult<RecordOptions> {
        let mut read = RecordOptions::default();
        let Some(options) = options else {
            return Ok(read);
        };
        for (key, value) in options.iter() {
            let Ok(key) = key.extract::<String>() else {
                return Err(PyTypeError::new_err(format!(
                    "recording option names are strings (found {})",
                    key.repr()?
                )));
            };
            let key = key.as_str();
            match key {
                "builtin_filter" => read.builtin_filter = field(key, &value)?,
                "framework" => read.framework = field(key, &value)?,
                "module_names" => read.module_names = field(key, &value)?,
                "values" => read.values = field(key, &value)?,
                "max_depth" => read.max_depth = field(key, &value)?,
                "max_items" => read.max_items = field(key, &value)?,
                "max_string_bytes" => read.max_string_bytes = field(key, &value)?,
                "max_nodes" => read.max_nodes = field(key, &value)?,
                "repr" => read.repr = field(key, &value)?,
                "sources" => read.sources = field(key, &value)?,
                "max_source_bytes" => read.max_source_bytes = field(key, &value)?,
                "argv" => read.argv = field(key, &value)?,
                "ignore_prefix" => read.ignore_prefix = field(key, &value)?,
                "max_size" => read.max_size = field(key, &value)?,
                "process" => read.process = field(key, &value)?,
                _ => {
                    return Err(PyTypeError::new_err(format!(
                        "unknown recording option '{key}'"
                    )))
                }
            }
        }
        Ok(read)
    }
}

/// The value of the setting `key`; a TypeError names the key.
fn field<'a, 'py, T>(key: &str, value: &'a Bound<'py, PyAny>) -> PyResult<T>
where
    T: FromPyObject<'a, 'py>,
    T::Error: Into<PyErr>,
{
    value.extract::<T>().map_err(|error| {
        let error: PyErr = error.into();
        if error.is_instance_of::<PyTypeError>(value.py()) {
            let named = PyTypeError::new_err(format!("recording option '{key}': {error}"));
            named.set_cause(value.py(), Some(error));
            named
        } else {
            error
        }
    })
}
