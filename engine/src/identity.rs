//! Module identity: which dotted name a code object's module has, and why.
//!
//! Two modes (spec section 4): `globals` takes the `__name__` the recorder saw
//! at the code object's first start; `paths` derives the name from the file
//! path and a snapshot of the interpreter's import state, as a pure function,
//! so the browser computes exactly what the recorder did.

use crate::path::{self, Platform};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// The files and folders whose presence marks a project directory, for the
/// `paths` mode's marker rule.
pub const PROJECT_MARKERS: [&str; 5] = [
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    ".git",
    ".codetracer",
];

/// How module names are chosen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NamingMode {
    /// From `__name__` in the frame's globals (ADR 0016).
    #[default]
    Globals,
    /// From the file path and the resolver inputs (the legacy resolver, with D4).
    Paths,
}

impl std::str::FromStr for NamingMode {
    type Err = String;

    /// Parses `globals` or `paths`.
    fn from_str(text: &str) -> Result<NamingMode, String> {
        match text {
            "globals" => Ok(NamingMode::Globals),
            "paths" => Ok(NamingMode::Paths),
            other => Err(format!(
                "unknown module naming '{other}' (expected globals or paths)"
            )),
        }
    }
}

/// One `sys.modules` entry that has a file: the module's name and its
/// `__spec__.origin` (or `__file__`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleFile {
    /// `__spec__.name`, else `__name__`, else the `sys.modules` key.
    pub name: String,
    /// The module's file, as Python reports it.
    pub path: String,
}

/// The snapshot of import state that the `paths` mode reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolverInputs {
    /// How the paths below are spelled and compared.
    #[serde(default)]
    pub platform: Platform,
    /// The working directory, for empty and relative `sys.path` entries.
    #[serde(default)]
    pub cwd: String,
    /// The string entries of `sys.path`, in order.
    #[serde(default)]
    pub sys_path: Vec<String>,
    /// `sys.modules` entries with files, in dictionary order.
    #[serde(default)]
    pub modules: Vec<ModuleFile>,
    /// Directories holding one of [`PROJECT_MARKERS`], found above the traced files.
    #[serde(default)]
    pub markers: Vec<String>,
}

/// Why a module has the name it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameReason {
    /// `__name__` from the frame's globals.
    DunderName,
    /// The file lies under this `sys.path` entry.
    SysPathRoot(String),
    /// A `sys.modules` entry with this name has this file.
    SysModules(String),
    /// The nearest project marker is in this directory.
    ProjectMarker(String),
    /// Named after the file alone.
    ParentDirectory,
    /// `__name__` was missing.
    NoDunderName,
    /// `__name__` was not a dotted identifier.
    InvalidDunderName(String),
    /// No path rule gave a dotted identifier.
    Unresolved,
    /// The caller supplied the name directly.
    Given,
}

impl fmt::Display for NameReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameReason::DunderName => f.write_str("`__name__`"),
            NameReason::SysPathRoot(root) => write!(f, "sys.path root {root}"),
            NameReason::SysModules(entry) => write!(f, "sys.modules entry {entry}"),
            NameReason::ProjectMarker(dir) => write!(f, "project marker at {dir}"),
            NameReason::ParentDirectory => f.write_str("parent directory"),
            NameReason::NoDunderName => f.write_str("no `__name__`"),
            NameReason::InvalidDunderName(name) => {
                write!(f, "`__name__` {name:?} is not a dotted identifier")
            }
            NameReason::Unresolved => f.write_str(
                "no sys.path root, sys.modules entry or file name gives a dotted identifier",
            ),
            NameReason::Given => f.write_str("given"),
        }
    }
}

impl Serialize for NameReason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A module name (or its absence) with the reason it was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleIdentity {
    /// The dotted name, if one was found.
    pub name: Option<String>,
    /// Why.
    pub reason: NameReason,
}

impl ModuleIdentity {
    /// A name the caller already knows.
    pub fn given(name: Option<String>) -> ModuleIdentity {
        ModuleIdentity {
            name,
            reason: NameReason::Given,
        }
    }
}

/// The module identity of a code object under `mode`.
pub fn module_identity(
    mode: NamingMode,
    dunder_name: Option<&str>,
    filename: &str,
    inputs: &ResolverInputs,
) -> ModuleIdentity {
    match mode {
        NamingMode::Globals => from_dunder_name(dunder_name),
        NamingMode::Paths => from_paths(filename, inputs),
    }
}

/// `globals` mode: `__name__` if it is a dotted identifier (D8).
pub fn from_dunder_name(dunder_name: Option<&str>) -> ModuleIdentity {
    match dunder_name {
        Some(name) if path::is_valid_module_name(name) => ModuleIdentity {
            name: Some(name.to_string()),
            reason: NameReason::DunderName,
        },
        Some(name) => ModuleIdentity {
            name: None,
            reason: NameReason::InvalidDunderName(name.to_string()),
        },
        None => ModuleIdentity {
            name: None,
            reason: NameReason::NoDunderName,
        },
    }
}

/// `paths` mode: the longest `sys.path` root containing the file, then a
/// `sys.modules` entry for the file, then the nearest project marker, then
/// the file's own name. A catch-all root (`/`) counts only as a last resort.
pub fn from_paths(filename: &str, inputs: &ResolverInputs) -> ModuleIdentity {
    let platform = inputs.platform;
    let file = absolute(filename, &inputs.cwd, platform);
    let found = |name: Option<String>, reason: NameReason| {
        name.filter(|n| path::is_valid_module_name(n))
            .map(|n| ModuleIdentity {
                name: Some(n),
                reason,
            })
    };
    let root = longest_root(&file, inputs);
    let catch_all = root.as_ref().filter(|(r, _)| r.ends_with('/'));
    if let Some((root, entry)) = root.as_ref().filter(|(r, _)| !r.ends_with('/')) {
        let below = path::strip_root(&file, root, platform).unwrap_or_default();
        if let Some(id) = found(
            path::module_from_relative(below),
            NameReason::SysPathRoot(entry.clone()),
        ) {
            return id;
        }
    }
    if let Some(id) = from_sys_modules(&file, inputs) {
        return id;
    }
    if let Some(marker) = nearest_marker(&file, inputs) {
        let below = path::strip_root(&file, &marker, platform).unwrap_or_default();
        if let Some(id) = found(
            path::module_from_relative(below),
            NameReason::ProjectMarker(marker.clone()),
        ) {
            return id;
        }
    }
    let stem = path::file_name(&file)
        .rsplit_once('.')
        .map_or(path::file_name(&file), |(stem, _)| stem);
    if stem != "__init__" {
        if let Some(id) = found(Some(stem.to_string()), NameReason::ParentDirectory) {
            return id;
        }
    }
    if let Some((root, entry)) = catch_all {
        let below = path::strip_root(&file, root, platform).unwrap_or_default();
        if let Some(id) = found(
            path::module_from_relative(below),
            NameReason::SysPathRoot(entry.clone()),
        ) {
            return id;
        }
    }
    ModuleIdentity {
        name: None,
        reason: NameReason::Unresolved,
    }
}

/// `path` in POSIX form, joined to `cwd` when relative.
fn absolute(path: &str, cwd: &str, platform: Platform) -> String {
    let posix = path::to_posix(path, platform);
    if path::is_absolute(&posix, platform) || cwd.is_empty() {
        posix
    } else {
        path::to_posix(
            &format!("{}/{posix}", path::to_posix(cwd, platform)),
            platform,
        )
    }
}

/// The longest `sys.path` root containing `file`: (normalised root, entry as written).
fn longest_root(file: &str, inputs: &ResolverInputs) -> Option<(String, String)> {
    let mut best: Option<(String, String)> = None;
    for entry in &inputs.sys_path {
        let spelled = if entry.is_empty() {
            inputs.cwd.as_str()
        } else {
            entry.as_str()
        };
        if spelled.is_empty() {
            continue;
        }
        let root = absolute(spelled, &inputs.cwd, inputs.platform);
        let longer = best.as_ref().is_none_or(|(b, _)| root.len() > b.len());
        if longer && path::strip_root(file, &root, inputs.platform).is_some() {
            best = Some((root, entry.clone()));
        }
    }
    best
}

fn from_sys_modules(file: &str, inputs: &ResolverInputs) -> Option<ModuleIdentity> {
    let platform = inputs.platform;
    inputs.modules.iter().find_map(|module| {
        let candidate = absolute(&module.path, &inputs.cwd, platform);
        let compiled = file.ends_with(".py")
            && candidate.len() == file.len() + 1
            && candidate.ends_with(['c', 'C'])
            && path::same_path(&candidate[..file.len()], file, platform);
        // An entry whose name is not a dotted identifier names nothing (D8).
        ((compiled || path::same_path(&candidate, file, platform))
            && path::is_valid_module_name(&module.name))
        .then(|| ModuleIdentity {
            name: Some(module.name.clone()),
            reason: NameReason::SysModules(module.name.clone()),
        })
    })
}

fn nearest_marker(file: &str, inputs: &ResolverInputs) -> Option<String> {
    let mut dir = path::parent(file);
    while let Some(current) = dir {
        if inputs.markers.iter().any(|m| {
            path::same_path(
                &absolute(m, &inputs.cwd, inputs.platform),
                current,
                inputs.platform,
            )
        }) {
            return Some(current.to_string());
        }
        dir = path::parent(current);
    }
    None
}

/// The qualname CPython gives a module body's code object.
pub const MODULE_BODY: &str = "<module>";

/// Whether a code object with this qualname is a module body: its locals
/// are its globals, so the stricter of the `local` and `global` actions
/// decides them (D7, docs/filters.md), and it is labelled by its module.
pub fn is_module_body(qualname: &str) -> bool {
    qualname == MODULE_BODY
}

/// The label of a code object: `<NAME>` for module bodies (`<module>` when the
/// module has no name), the qualname otherwise (D8).
pub fn label(qualname: &str, module_name: Option<&str>) -> String {
    match module_name {
        Some(name) if is_module_body(qualname) => format!("<{name}>"),
        _ => qualname.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(sys_path: &[&str]) -> ResolverInputs {
        ResolverInputs {
            cwd: "/home/u/cwd".into(),
            sys_path: sys_path.iter().map(|s| s.to_string()).collect(),
            ..ResolverInputs::default()
        }
    }

    fn name(id: ModuleIdentity) -> Option<String> {
        id.name
    }

    #[test]
    fn globals_mode_validates_dunder_name() {
        assert_eq!(
            from_dunder_name(Some("app.main")).name.as_deref(),
            Some("app.main")
        );
        assert_eq!(
            from_dunder_name(Some("__main__")).name.as_deref(),
            Some("__main__")
        );
        let invalid = from_dunder_name(Some("<run_path>"));
        assert_eq!(invalid.name, None);
        assert_eq!(
            invalid.reason.to_string(),
            "`__name__` \"<run_path>\" is not a dotted identifier"
        );
        assert_eq!(from_dunder_name(None).reason, NameReason::NoDunderName);
    }

    #[test]
    fn roots_respect_boundaries_and_the_longest_wins() {
        // B1: /opt/app does not contain /opt/application.
        let id = from_paths("/opt/application/module.py", &inputs(&["/opt/app"]));
        assert_eq!(id.name.as_deref(), Some("module"));
        assert_eq!(id.reason, NameReason::ParentDirectory);
        // B3: the longest root wins whatever the order.
        for order in [
            ["/home/u/proj", "/home/u/proj/src"],
            ["/home/u/proj/src", "/home/u/proj"],
        ] {
            let id = from_paths("/home/u/proj/src/pkg/m.py", &inputs(&order));
            assert_eq!(id.name.as_deref(), Some("pkg.m"));
            assert_eq!(id.reason.to_string(), "sys.path root /home/u/proj/src");
        }
        // An empty entry is the working directory.
        assert_eq!(
            name(from_paths("/home/u/cwd/a/b.py", &inputs(&[""]))).as_deref(),
            Some("a.b")
        );
        assert_eq!(
            name(from_paths("/lib/pkg/__init__.py", &inputs(&["/lib"]))).as_deref(),
            Some("pkg")
        );
    }

    #[test]
    fn catch_all_root_is_the_last_resort() {
        // B2: `/` is a root of lowest priority; the file's own name comes first.
        let id = from_paths("/usr/lib/x.py", &inputs(&["/"]));
        assert_eq!(id.name.as_deref(), Some("x"));
        let id = from_paths("/usr/lib/__init__.py", &inputs(&["/"]));
        assert_eq!(id.name.as_deref(), Some("usr.lib"));
    }

    #[test]
    fn sys_modules_beats_markers_and_parent_directory() {
        let mut i = inputs(&[]);
        i.modules.push(ModuleFile {
            name: "bad name".into(),
            path: "/p/x/m.py".into(),
        });
        i.modules.push(ModuleFile {
            name: "x.m".into(),
            path: "/p/x/m.pyc".into(),
        });
        i.markers.push("/p".into());
        let id = from_paths("/p/x/m.py", &i);
        assert_eq!(id.name.as_deref(), Some("x.m"));
        assert_eq!(id.reason.to_string(), "sys.modules entry x.m");
        let id = from_paths("/p/y/n.py", &i);
        assert_eq!(id.name.as_deref(), Some("y.n"));
        assert_eq!(id.reason.to_string(), "project marker at /p");
    }

    #[test]
    fn windows_compares_case_insensitively_and_keeps_spelling() {
        let i = ResolverInputs {
            platform: Platform::Windows,
            sys_path: vec![r"c:\users\me\proj".into()],
            ..ResolverInputs::default()
        };
        let id = from_paths(r"C:\Users\Me\proj\Pkg\m.py", &i);
        assert_eq!(id.name.as_deref(), Some("Pkg.m"));
        assert_eq!(id.reason.to_string(), r"sys.path root c:\users\me\proj");
        let mut i = i;
        i.sys_path.clear();
        i.modules.push(ModuleFile {
            name: "pkg.m".into(),
            path: r"c:\users\me\proj\pkg\m.py".into(),
        });
        assert_eq!(
            name(from_paths(r"C:\Users\Me\proj\Pkg\m.py", &i)).as_deref(),
            Some("pkg.m")
        );
    }

    #[test]
    fn naming_mode_tokens() {
        assert_eq!("globals".parse(), Ok(NamingMode::Globals));
        assert_eq!("paths".parse(), Ok(NamingMode::Paths));
        let error = "Paths".parse::<NamingMode>().unwrap_err();
        assert_eq!(
            error,
            "unknown module naming 'Paths' (expected globals or paths)"
        );
    }

    #[test]
    fn labels() {
        assert_eq!(label("<module>", Some("pkg.mod")), "<pkg.mod>");
        assert_eq!(label("<module>", None), "<module>");
        assert_eq!(label("C.m", Some("pkg")), "C.m");
    }
}
