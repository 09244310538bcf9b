//! Path strings in POSIX form, root containment and module-name shapes.
//!
//! Everything here is textual: no file system is touched, so the results are
//! the same in the recorder, natively and in the browser (D4).

use serde::{Deserialize, Serialize};

/// The path rules a set of paths follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// `/`-separated, case-sensitive.
    #[default]
    Posix,
    /// `\` and `/` both separate, case-insensitive, drive letters (D4).
    Windows,
}

impl Platform {
    /// The platform this program was built for.
    pub fn host() -> Platform {
        if cfg!(windows) {
            Platform::Windows
        } else {
            Platform::Posix
        }
    }
}

/// The POSIX form of `path`: `/` separators, no `.` components, no repeated or
/// trailing `/`; `..` is kept. On Windows `C:\a\b.py` becomes `C:/a/b.py` (B5).
pub fn to_posix(path: &str, platform: Platform) -> String {
    let unified;
    let path = if platform == Platform::Windows {
        unified = path.replace('\\', "/");
        unified.as_str()
    } else {
        path
    };
    let (prefix, rest) = split_prefix(path, platform);
    let mut out = String::with_capacity(path.len());
    out.push_str(prefix);
    let mut first = true;
    for part in rest.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if !first {
            out.push('/');
        }
        out.push_str(part);
        first = false;
    }
    out
}

/// Splits off the part of a `/`-separated path that makes it absolute:
/// `/`, `C:/`, `C:` or `//server/share/`.
fn split_prefix(path: &str, platform: Platform) -> (&str, &str) {
    if platform == Platform::Windows {
        let bytes = path.as_bytes();
        if bytes.len() >= 2 && bytes[1] == b':' && bytes[0].is_ascii_alphabetic() {
            return if bytes.get(2) == Some(&b'/') {
                (&path[..3], &path[3..])
            } else {
                (&path[..2], &path[2..])
            };
        }
        if let Some(unc) = path.strip_prefix("//") {
            let server_end = unc.find('/').map_or(unc.len(), |i| i + 1);
            let share_end = unc[server_end..]
                .find('/')
                .map_or(unc.len(), |i| server_end + i + 1);
            return (&path[..2 + share_end], &path[2 + share_end..]);
        }
    }
    match path.strip_prefix('/') {
        Some(rest) => ("/", rest),
        None => ("", path),
    }
}

/// Whether the POSIX-form `path` is absolute under `platform`.
pub fn is_absolute(path: &str, platform: Platform) -> bool {
    let (prefix, _) = split_prefix(path, platform);
    prefix.ends_with('/')
}

/// The part of `path` below `root`, both in POSIX form, if `root` contains it:
/// `path == root` (giving `""`) or `path` starts with `root + "/"`. A root of
/// `/` (or `C:/`) contains every absolute path. Windows compares
/// case-insensitively and returns the path's own spelling (D4).
pub fn strip_root<'p>(path: &'p str, root: &str, platform: Platform) -> Option<&'p str> {
    if root.is_empty() {
        return None;
    }
    let head = prefix_len(path, root, platform)?;
    let rest = &path[head..];
    if root.ends_with('/') || rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix('/')
    }
}

/// The byte length of the prefix of `path` that equals `root` under the
/// platform's comparison, if `path` starts with `root`.
fn prefix_len(path: &str, root: &str, platform: Platform) -> Option<usize> {
    match platform {
        Platform::Posix => path.starts_with(root).then_some(root.len()),
        Platform::Windows => {
            let mut path_chars = path.char_indices();
            for r in root.chars() {
                let (_, p) = path_chars.next()?;
                if !p.to_lowercase().eq(r.to_lowercase()) {
                    return None;
                }
            }
            Some(path_chars.next().map_or(path.len(), |(i, _)| i))
        }
    }
}

/// Whether two POSIX-form paths name the same file under `platform`.
pub fn same_path(a: &str, b: &str, platform: Platform) -> bool {
    match platform {
        Platform::Posix => a == b,
        Platform::Windows => a
            .chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase)),
    }
}

/// Resolves `.` and `..` in a relative `/`-separated path; `None` when `..`
/// climbs above its start.
pub fn resolve_dots(path: &str) -> Option<String> {
    let mut kept: Vec<&str> = Vec::new();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            kept.pop()?;
        } else {
            kept.push(part);
        }
    }
    Some(kept.join("/"))
}

/// The dotted module name a path relative to an import root spells:
/// `pkg/mod.py` gives `pkg.mod`, `pkg/__init__.py` gives `pkg`. Not validated.
pub fn module_from_relative(relative: &str) -> Option<String> {
    let mut parts: Vec<&str> = relative.split('/').filter(|p| !p.is_empty()).collect();
    let last = parts.pop()?;
    match last.strip_suffix(".py") {
        Some("__init__") => {}
        Some(stem) => parts.push(stem),
        None => parts.push(last),
    }
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("."))
    }
}

/// Whether `name` is a dotted Python identifier, such as `pkg.mod` or `__main__`.
/// Each part follows Python's identifier rules (Unicode letters allowed, no
/// leading digit); keywords are not checked.
pub fn is_valid_module_name(name: &str) -> bool {
    !name.is_empty() && name.split('.').all(is_identifier)
}

fn is_identifier(part: &str) -> bool {
    let mut chars = part.chars();
    match chars.next() {
        Some(first) if first == '_' || unicode_ident::is_xid_start(first) => {
            chars.all(unicode_ident::is_xid_continue)
        }
        _ => false,
    }
}

/// Whether `filename` names no real file (`<string>`, `<frozen importlib._bootstrap>`):
/// after trimming it starts with `<` and ends with `>`. Such code is never recorded.
pub fn is_synthetic_filename(filename: &str) -> bool {
    let trimmed = filename.trim();
    trimmed.starts_with('<') && trimmed.ends_with('>')
}

/// The last component of a POSIX-form path.
pub fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The POSIX-form parent directory of `path`, if it has one.
pub fn parent(path: &str) -> Option<&str> {
    let cut = path.rfind('/')?;
    if cut == 0 {
        return (path.len() > 1).then_some("/");
    }
    let dir = &path[..cut];
    // Keep the slash of a drive root such as `C:/`.
    if dir.ends_with(':') {
        return (path.len() > cut + 1).then_some(&path[..=cut]);
    }
    Some(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Platform::{Posix, Windows};

    #[test]
    fn posix_form() {
        assert_eq!(to_posix("/a/b.py", Posix), "/a/b.py");
        assert_eq!(to_posix("a/./b.py", Posix), "a/b.py");
        assert_eq!(to_posix("a/../b.py", Posix), "a/../b.py");
        assert_eq!(to_posix("a//b/", Posix), "a/b");
        assert_eq!(to_posix("./a.py", Posix), "a.py");
        assert_eq!(to_posix("", Posix), "");
        assert_eq!(to_posix("/", Posix), "/");
        assert_eq!(to_posix("a\\b", Posix), "a\\b");
        assert_eq!(to_posix(r"C:\a\b.py", Windows), "C:/a/b.py");
        assert_eq!(to_posix(r"\\srv\share\x.py", Windows), "//srv/share/x.py");
    }

    #[test]
    fn roots_respect_boundaries() {
        assert_eq!(strip_root("/opt/app/m.py", "/opt/app", Posix), Some("m.py"));
        assert_eq!(strip_root("/opt/application/m.py", "/opt/app", Posix), None);
        assert_eq!(strip_root("/opt/app", "/opt/app", Posix), Some(""));
        assert_eq!(
            strip_root("/usr/lib/x.py", "/", Posix),
            Some("usr/lib/x.py")
        );
        assert_eq!(strip_root("rel/x.py", "/", Posix), None);
        assert_eq!(
            strip_root("C:/Users/Me/p/m.py", "c:/users/me", Windows),
            Some("p/m.py")
        );
        assert_eq!(strip_root("C:/Users/Me/p/m.py", "c:/users/me", Posix), None);
        assert_eq!(strip_root("C:/x.py", "C:/", Windows), Some("x.py"));
    }

    #[test]
    fn module_names_from_paths() {
        assert_eq!(
            module_from_relative("pkg/module/__init__.py").as_deref(),
            Some("pkg.module")
        );
        assert_eq!(module_from_relative("__init__.py"), None);
        assert_eq!(module_from_relative("a//b.py").as_deref(), Some("a.b"));
        assert_eq!(module_from_relative("a/b.pyc").as_deref(), Some("a.b.pyc"));
        assert!(is_valid_module_name("pkg.mod"));
        assert!(is_valid_module_name("__main__"));
        assert!(is_valid_module_name("modülé"));
        assert!(!is_valid_module_name("my-mod"));
        assert!(!is_valid_module_name("a..b"));
        assert!(!is_valid_module_name(" app"));
        assert!(!is_valid_module_name("<run_path>"));
        assert!(!is_valid_module_name("9abc"));
    }

    #[test]
    fn synthetic_filenames() {
        for real in ["example.py", " /tmp/module.py ", "src/<tricky>.py"] {
            assert!(!is_synthetic_filename(real), "{real}");
        }
        for synthetic in ["<string>", "  <stdin>  ", "<frozen importlib._bootstrap>"] {
            assert!(is_synthetic_filename(synthetic), "{synthetic}");
        }
    }

    #[test]
    fn parents() {
        assert_eq!(parent("/a/b.py"), Some("/a"));
        assert_eq!(parent("/b.py"), Some("/"));
        assert_eq!(parent("/"), None);
        assert_eq!(parent("C:/b.py"), Some("C:/"));
        assert_eq!(parent("b.py"), None);
        assert_eq!(
            resolve_dots("src/../app/./x.py").as_deref(),
            Some("app/x.py")
        );
        assert_eq!(resolve_dots("../x.py"), None);
    }
}
