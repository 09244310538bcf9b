//! The code table of a trace looked up by code id, with each code's label
//! and a short, readable name with its location, for the exports that name
//! activations (Chrome, speedscope).

use super::recorded_labels;
use crate::trace::model::{CodeInfo, Trace};
use crate::trace::refilter::Relabel;
use rustc_hash::FxHashMap;
use std::borrow::Cow;

/// The code table of a trace, looked up by code id (ids need not be dense
/// nor in table order).
pub struct Codes<'t> {
    codes: &'t [CodeInfo],
    /// By table position.
    labels: Vec<Relabel>,
    /// By table position: [`located_name`] of each code.
    names: Vec<String>,
    /// Code id to table position.
    positions: FxHashMap<u32, usize>,
}

impl<'t> Codes<'t> {
    /// The code table of `trace`, labelled under its recorded naming mode.
    pub fn new(trace: &'t Trace) -> Codes<'t> {
        let mut positions = FxHashMap::default();
        for (position, code) in trace.codes.iter().enumerate() {
            positions.entry(code.id).or_insert(position);
        }
        let labels = recorded_labels(trace);
        let names = trace
            .codes
            .iter()
            .enumerate()
            .map(|(position, info)| {
                let label = labels.get(position).map_or(&info.qualname, |l| &l.label);
                located_name(label, &info.filename, info.first_line)
            })
            .collect();
        Codes {
            codes: &trace.codes,
            labels,
            names,
            positions,
        }
    }

    /// How many codes the table holds.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The table position of the code with id `code`, if the table has it.
    pub fn position(&self, code: u32) -> Option<usize> {
        self.positions.get(&code).copied()
    }

    /// The code at table position `position`.
    pub fn at(&self, position: usize) -> Option<&CodeInfo> {
        self.codes.get(position)
    }

    /// The label of the code at `position`: `<pkg.mod>` for a module body,
    /// else its qualname.
    pub fn label_at(&self, position: usize) -> &str {
        match (self.labels.get(position), self.codes.get(position)) {
            (Some(label), _) => &label.label,
            (None, Some(info)) => &info.qualname,
            (None, None) => "",
        }
    }

    /// The short name of an activation of `code` with its location, as
    /// [`located_name`] makes it; `<code ID>` for a code missing from the
    /// table.
    pub fn located_name(&self, code: u32) -> Cow<'_, str> {
        match self.position(code).and_then(|p| self.names.get(p)) {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(unknown_code(code)),
        }
    }

    /// The file of the code with id `code`, if the table has it.
    pub fn filename(&self, code: u32) -> Option<&str> {
        let position = self.position(code)?;
        Some(&self.at(position)?.filename)
    }
}

/// `label (file.py:line)`: a label with the last part of its file's path
/// and a line, e.g. `fib (main.py:13)`.
pub fn located_name(label: &str, filename: &str, line: u32) -> String {
    format!("{label} ({}:{line})", base_name(filename))
}

/// The last part of a path (after the last `/` or `\`), or the whole text
/// when it ends in one.
pub fn base_name(filename: &str) -> &str {
    match filename.rsplit(['/', '\\']).next() {
        Some(last) if !last.is_empty() => last,
        _ => filename,
    }
}

/// The name of a code missing from the table: `<code ID>`.
pub fn unknown_code(code: u32) -> String {
    format!("<code {code}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_the_last_part_of_the_path_and_the_line() {
        assert_eq!(
            located_name("fib", "/home/u/main.py", 13),
            "fib (main.py:13)"
        );
        assert_eq!(
            located_name("<app.m>", "C:\\p\\app\\m.py", 1),
            "<app.m> (m.py:1)"
        );
        assert_eq!(located_name("f", "<string>", 2), "f (<string>:2)");
        assert_eq!(base_name("/p/dir/"), "/p/dir/");
        assert_eq!(base_name(""), "");
    }
}
