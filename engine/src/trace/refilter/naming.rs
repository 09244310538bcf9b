//! Module names and decisions for the code objects of a recorded trace,
//! under a naming mode: the same identity and decision the recorder makes.

use crate::explain::{explain, Decision, Scope};
use crate::filter::FilterChain;
use crate::identity::{self, module_identity, ModuleIdentity, NamingMode};
use crate::trace::model::{CodeInfo, Trace};

/// How module names are chosen when re-filtering or relabelling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Naming {
    /// `globals` or `paths`.
    pub mode: NamingMode,
    /// Extra `sys.path` roots tried before the recorded ones (`paths` mode
    /// only), e.g. a root the user adds in the viewer.
    pub extra_roots: Vec<String>,
}

impl Naming {
    /// A mode with no extra roots.
    pub fn new(mode: NamingMode) -> Naming {
        Naming {
            mode,
            extra_roots: Vec::new(),
        }
    }

    /// The naming the trace was recorded with.
    pub fn recorded(trace: &Trace) -> Naming {
        Naming::new(trace.header.naming)
    }
}

/// The module identity of every code of `trace` under `naming`, by code index.
pub fn identities(trace: &Trace, naming: &Naming) -> Vec<ModuleIdentity> {
    trace
        .codes
        .iter()
        .map(|code| code_identity(trace, code, naming))
        .collect()
}

fn code_identity(trace: &Trace, code: &CodeInfo, naming: &Naming) -> ModuleIdentity {
    // The globals mode never reads the resolver inputs: don't build them.
    let inputs = match naming.mode {
        NamingMode::Globals => Default::default(),
        NamingMode::Paths => trace.resolver_inputs(code, &naming.extra_roots),
    };
    module_identity(
        naming.mode,
        code.dunder_name.as_deref(),
        &code.filename,
        &inputs,
    )
}

/// One decision per code of `trace` (by code index), as the recorder would
/// make it under `chain` with `naming`.
pub fn decide_codes(trace: &Trace, chain: &FilterChain, naming: &Naming) -> Vec<Decision> {
    trace
        .codes
        .iter()
        .map(|code| {
            let scope = Scope {
                filename: code.filename.clone(),
                qualname: code.qualname.clone(),
                module: code_identity(trace, code, naming),
                first_line: Some(code.first_line),
            };
            explain(chain, &scope, &[])
        })
        .collect()
}

/// A code object's name under a naming mode, for the viewer's toggle.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Relabel {
    /// The module's dotted name, if one was found.
    pub module_name: Option<String>,
    /// Why (the [`identity::NameReason`] display, e.g. "`__name__`" or
    /// "sys.path root /proj/src").
    pub reason: String,
    /// The display label: `<pkg.mod>` for module bodies, else the qualname (D8).
    pub label: String,
}

/// The module name, reason and label of every code of `trace` (by code
/// index) under `naming`. Needs no filter chain.
pub fn relabel(trace: &Trace, naming: &Naming) -> Vec<Relabel> {
    trace
        .codes
        .iter()
        .map(|code| {
            let id = code_identity(trace, code, naming);
            Relabel {
                label: identity::label(&code.qualname, id.name.as_deref()),
                reason: id.reason.to_string(),
                module_name: id.name,
            }
        })
        .collect()
}
