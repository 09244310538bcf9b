//! The `paths` naming mode's inputs, tracked as the program runs: `sys.path`
//! versions, `sys.modules` files and project-marker directories, written to
//! the trace in order so each code object can be named later with the inputs
//! in force when it first started.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyModule, PyString};
use rustc_hash::FxHashSet;
use std::io::Write;
use std::path::Path;
use tracesieve_engine::identity::{ModuleFile, PROJECT_MARKERS};
use tracesieve_engine::path::{self, Platform};
use tracesieve_engine::trace::{inputs_at, InputsAt, TraceWriter};
use tracesieve_engine::ResolverInputs;

/// What has been written so far (kept, for naming in the `paths` mode).
pub struct InputsTracker {
    cwd: String,
    sys_paths: Vec<Vec<String>>,
    modules_len: Option<usize>,
    modules_seen: FxHashSet<String>,
    modules: Vec<ModuleFile>,
    checked_dirs: FxHashSet<String>,
    markers: Vec<String>,
}

impl InputsTracker {
    /// A tracker for a program running in `cwd`.
    pub fn new(cwd: String) -> InputsTracker {
        InputsTracker {
            cwd,
            sys_paths: Vec::new(),
            modules_len: None,
            modules_seen: FxHashSet::default(),
            modules: Vec::new(),
            checked_dirs: FxHashSet::default(),
            markers: Vec::new(),
        }
    }

    /// The inputs `at` describes, as the engine's `paths` mode reads them.
    pub fn resolver_inputs(&self, at: InputsAt, platform: Platform) -> ResolverInputs {
        inputs_at(
            platform,
            &self.cwd,
            &self.sys_paths,
            &self.modules,
            &self.markers,
            at,
            &[],
        )
    }

    /// Records what changed since the last call and returns the inputs in
    /// force for a code object from `filename`.
    pub fn update<W: Write>(
        &mut self,
        py: Python<'_>,
        filename: &str,
        platform: Platform,
        writer: &mut TraceWriter<W>,
    ) -> PyResult<InputsAt> {
        let sys = crate::modules::get(py)?.sys.bind(py);
        self.update_sys_path(&sys.getattr("path")?, writer)?;
        self.update_modules(&sys.getattr("modules")?, writer)?;
        self.update_markers(filename, platform, writer)?;
        Ok(InputsAt {
            sys_path: self.sys_paths.len().saturating_sub(1) as u32,
            modules: self.modules.len() as u32,
            markers: self.markers.len() as u32,
        })
    }

    fn update_sys_path<W: Write>(
        &mut self,
        sys_path: &Bound<'_, PyAny>,
        writer: &mut TraceWriter<W>,
    ) -> PyResult<()> {
        let Ok(list) = sys_path.cast::<PyList>() else {
            return Ok(());
        };
        // Non-string entries are skipped, not fatal (D4).
        let entries: Vec<String> = list
            .iter()
            .filter_map(|e| e.extract::<String>().ok())
            .collect();
        if self.sys_paths.last() != Some(&entries) {
            writer.sys_path(&entries)?;
            self.sys_paths.push(entries);
        }
        Ok(())
    }

    fn update_modules<W: Write>(
        &mut self,
        modules: &Bound<'_, PyAny>,
        writer: &mut TraceWriter<W>,
    ) -> PyResult<()> {
        let Ok(modules) = modules.cast::<PyDict>() else {
            return Ok(());
        };
        if self.modules_len == Some(modules.len()) {
            return Ok(());
        }
        self.modules_len = Some(modules.len());
        for (key, module) in modules.iter() {
            let Ok(key) = key.cast_exact::<PyString>() else {
                continue;
            };
            let key = key.to_string_lossy();
            if self.modules_seen.contains(key.as_ref()) {
                continue;
            }
            self.modules_seen.insert(key.to_string());
            if let Some(file) = module_file(&module, &key) {
                writer.module(&file)?;
                self.modules.push(file);
            }
        }
        Ok(())
    }

    fn update_markers<W: Write>(
        &mut self,
        filename: &str,
        platform: Platform,
        writer: &mut TraceWriter<W>,
    ) -> PyResult<()> {
        let file = path::to_posix(filename, platform);
        if !path::is_absolute(&file, platform) {
            return Ok(());
        }
        let mut dir = path::parent(&file);
        while let Some(current) = dir {
            if !self.checked_dirs.insert(current.to_string()) {
                break; // This directory and all above it were checked before.
            }
            if PROJECT_MARKERS
                .iter()
                .any(|m| Path::new(current).join(m).exists())
            {
                writer.marker(current)?;
                self.markers.push(current.to_string());
            }
            dir = path::parent(current);
        }
        Ok(())
    }
}

/// The (name, file) of a module object, read from its `__dict__` so that no
/// module-level `__getattr__` runs: `__spec__.name` (else `__name__`, else the
/// key) and `__spec__.origin` when it has a location (else `__file__`).
fn module_file(module: &Bound<'_, PyAny>, key: &str) -> Option<ModuleFile> {
    let module = module.cast::<PyModule>().ok()?;
    let dict = module.dict();
    let text = |v: Option<Bound<'_, PyAny>>| {
        v.and_then(|v| v.extract::<String>().ok())
            .filter(|s| !s.is_empty())
    };
    // Only an exact ModuleSpec is read: a spec object of the program's could
    // run its own code on attribute reads.
    let spec_type = crate::modules::get(module.py())
        .ok()
        .and_then(|m| m.module_spec.as_ref());
    let spec = dict
        .get_item("__spec__")
        .ok()
        .flatten()
        .filter(|s| spec_type.is_some_and(|t| s.get_type().is(t.bind(module.py()))));
    let spec_attr = |name: &str| spec.as_ref().and_then(|s| s.getattr(name).ok());
    let name = text(spec_attr("name"))
        .or_else(|| text(dict.get_item("__name__").ok().flatten()))
        .unwrap_or_else(|| key.to_string());
    let has_location = spec_attr("has_location")
        .map(|v| v.is_truthy().unwrap_or(false))
        .unwrap_or(false);
    let path = if has_location {
        text(spec_attr("origin"))
    } else {
        None
    }
    .or_else(|| text(dict.get_item("__file__").ok().flatten()))?;
    Some(ModuleFile { name, path })
}
