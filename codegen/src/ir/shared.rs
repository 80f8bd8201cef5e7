//! The type space of the type specs (`specs/types/<scope>.<name>.md`): each type once, in
//! the module `types::<scope>`, named after its own segment in UpperCamel case
//! (`crm.multifield` → `types::crm::Multifield`), its nested shapes named after it. Built by
//! the same [`Builder`] as method types. A type's `cfg` is its own scope and every scope whose
//! methods or events use it, directly or through other types ([`usage`]); it is a request
//! type (with `new` and setters) when some method's `params` use it.
//!
//! References between type specs never form a cycle (`codegen::check` refuses one), so a
//! [`Ty::Shared`] never needs a `Box`.

use super::*;
use crate::spec::TypeSpec;

/// The module of the shared types under the `api` root.
pub const TYPES_MODULE: &str = "types";

/// Names a shared type may not take: generated code in its module names these (`String`,
/// `Option`, `Vec`, `Box`, `Result`, `Into` and `IntoIterator` in setters, ...).
pub const SHARED_RESERVED_TYPES: &[&str] = &[
    "Box",
    "Default",
    "Err",
    "Into",
    "IntoIterator",
    "None",
    "Ok",
    "Option",
    "Result",
    "Self",
    "Some",
    "String",
    "Vec",
];

/// One type spec in the type space.
#[derive(Debug, Clone)]
pub struct SharedType {
    /// Its name, `crm.multifield`.
    pub name: String,
    /// Its own scope.
    pub scope: String,
    /// The spec file.
    pub file: String,
    /// The official page (`docs`).
    pub docs: Option<String>,
    /// The module path from the `api` root (`["types", "crm"]`).
    pub module: Vec<String>,
    /// Index of its type in that module; its nested types follow it.
    pub index: usize,
    /// The features it is compiled under (its `cfg`).
    pub scopes: BTreeSet<String>,
}

/// Who uses a type spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    /// The scopes of the methods, events and types that use it.
    pub scopes: BTreeSet<String>,
    /// Some method's `params` use it (so it gets a request type's `new` and setters).
    pub request: bool,
}

/// Every type's usage: the direct users given (by type name) spread along the references
/// between types (a type used by `T` is used by whoever uses `T`), plus its own scope.
/// Bounded by the number of types, so a cycle (an error reported elsewhere) cannot hang it.
pub fn usage(types: &[TypeSpec], direct: &BTreeMap<String, Usage>) -> BTreeMap<String, Usage> {
    let mut out: BTreeMap<String, Usage> = BTreeMap::new();
    for t in types {
        let u = out.entry(t.name.clone()).or_default();
        u.scopes.insert(t.scope.clone());
        if let Some(d) = direct.get(&t.name) {
            u.scopes.extend(d.scopes.iter().cloned());
            u.request |= d.request;
        }
    }
    for _ in 0..=types.len() {
        let mut changed = false;
        for t in types {
            let Some(from) = out.get(&t.name).cloned() else {
                continue;
            };
            for r in t.schema.shared_names() {
                if let Some(u) = out.get_mut(r) {
                    let before = (u.scopes.len(), u.request);
                    u.scopes.extend(from.scopes.iter().cloned());
                    u.request |= from.request;
                    changed |= before != (u.scopes.len(), u.request);
                }
            }
        }
        if !changed {
            break;
        }
    }
    out
}

/// The `types` module (children per scope), the types, and their indexes by name.
pub(super) struct SharedSpace {
    pub module: Module,
    pub list: Vec<SharedType>,
    pub by_name: BTreeMap<String, usize>,
}

/// Builds the type specs' type space; shared enums go to `enums` (each behind the type's
/// `cfg`). The names depend only on the type specs.
pub(super) fn build_shared(
    types: &[TypeSpec],
    usage: &BTreeMap<String, Usage>,
    enums: &mut EnumTable,
) -> SharedSpace {
    let mut sorted: Vec<&TypeSpec> = types.iter().collect();
    sorted.sort_by(|a, b| (&a.name, &a.file).cmp(&(&b.name, &b.file)));
    sorted.dedup_by(|b, a| a.name == b.name);
    let mut root = Module {
        path: vec![TYPES_MODULE.to_owned()],
        wire: TYPES_MODULE.to_owned(),
        ..Module::default()
    };
    // Module idents per scope, then every root name of a scope before any nested one.
    let mut module_names = Names::default();
    let mut scope_idents: BTreeMap<&str, String> = BTreeMap::new();
    for t in &sorted {
        if !scope_idents.contains_key(t.scope.as_str()) {
            let id = module_names.take(&naming::snake(&t.scope, "scope"));
            scope_idents.insert(&t.scope, id);
        }
    }
    let mut names: BTreeMap<&str, Names> = BTreeMap::new();
    let mut list = Vec::new();
    let mut by_name = BTreeMap::new();
    let mut root_names = Vec::new();
    for t in &sorted {
        let own = t
            .name
            .strip_prefix(t.scope.as_str())
            .and_then(|r| r.strip_prefix('.'))
            .unwrap_or(&t.name);
        let n = names
            .entry(&t.scope)
            .or_insert_with(|| Names::with_reserved(SHARED_RESERVED_TYPES.iter().copied()))
            .take(&naming::pascal(own, "Type"));
        root_names.push(n);
        by_name.insert(t.name.clone(), list.len());
        let ident = scope_idents
            .get(t.scope.as_str())
            .cloned()
            .unwrap_or_default();
        list.push(SharedType {
            name: t.name.clone(),
            scope: t.scope.clone(),
            file: t.file.clone(),
            docs: t.docs.clone(),
            module: vec![TYPES_MODULE.to_owned(), ident],
            index: 0,
            scopes: usage
                .get(&t.name)
                .map(|u| u.scopes.clone())
                .unwrap_or_else(|| [t.scope.clone()].into()),
        });
    }
    for (i, t) in sorted.iter().enumerate() {
        let ident = list[i].module[1].clone();
        let module = root
            .children
            .entry(ident.clone())
            .or_insert_with(|| Module {
                path: list[i].module.clone(),
                wire: t.scope.clone(),
                ..Module::default()
            });
        let Some(scope_names) = names.get_mut(t.scope.as_str()) else {
            continue;
        };
        let request = usage.get(&t.name).is_some_and(|u| u.request);
        let mut b = Builder {
            module,
            names: scope_names,
            scope: t.scope.clone(),
            side: if request {
                Side::Request
            } else {
                Side::Response
            },
            defs: Vec::new(),
            enums: &mut *enums,
            shared: &by_name,
            enum_scopes: list[i].scopes.clone(),
        };
        let shown = naming::doc_line(&t.name, 120).unwrap_or_default();
        let name = root_names[i].clone();
        list[i].index = b.root_value(
            &name,
            &name,
            &t.schema,
            format!("The type `{shown}`, defined once for every spec that refers to it."),
        );
    }
    SharedSpace {
        module: root,
        list,
        by_name,
    }
}
