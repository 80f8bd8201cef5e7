//! Stage 4: the type space becomes token streams, one per output file.
//!
//! Spec text only ever reaches the output as string literals (quoted by `quote`, so escaped)
//! or as doc lines already neutralised by [`crate::naming::doc_line`]. Identifiers come from
//! [`crate::naming`] and are ASCII by construction.
//!
//! * this module: the emitter, shared helpers, type expressions and the layout of a module
//!   file;
//! * [`types`]: structs, unions, newtypes and aliases, with their `Loose` decoders;
//! * [`enums`]: `api/enums.rs`, the shared enums of values;
//! * [`methods`]: call functions, alias functions, `impl Method`, docs links;
//! * [`registry`]: the file `api/registry.rs`;
//! * [`events`]: `events.rs` from the event specs, an `Event` enum per scope.

mod enums;
pub(crate) mod events;
mod methods;
mod registry;
mod schema;
mod types;

use crate::ir::{AliasFn, Api, Method, Module, Ty};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;
use std::collections::BTreeSet;

pub(crate) struct Emitter<'a> {
    pub api: &'a Api,
    /// Path of the hand-written runtime, e.g. `crate::runtime`.
    pub rt: TokenStream,
}

pub(super) fn ident(s: &str) -> Ident {
    Ident::new(s, Span::call_site())
}

pub(super) fn doc_attr(line: &str) -> TokenStream {
    let text = format!(" {line}");
    quote!(#[doc = #text])
}

pub(super) fn docs(lines: &[String]) -> TokenStream {
    let mut out = TokenStream::new();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.extend(quote!(#[doc = ""]));
        }
        out.extend(doc_attr(l));
    }
    out
}

pub(super) fn cfg_for(scopes: &BTreeSet<String>) -> TokenStream {
    let feats: Vec<&String> = scopes.iter().collect();
    match feats.as_slice() {
        [] => TokenStream::new(),
        [one] => quote!(#[cfg(feature = #one)]),
        many => quote!(#[cfg(any(#(feature = #many),*))]),
    }
}

impl Emitter<'_> {
    pub(super) fn ty(&self, t: &Ty, m: &Module) -> TokenStream {
        match t {
            Ty::Bool => quote!(bool),
            Ty::I32 => quote!(i32),
            Ty::I64 => quote!(i64),
            Ty::F64 => quote!(f64),
            Ty::String => quote!(String),
            Ty::Value => quote!(::serde_json::Value),
            Ty::Query(q) => {
                let rt = &self.rt;
                match q {
                    crate::ir::QueryParam::Filter => quote!(#rt::Filter),
                    crate::ir::QueryParam::Order => quote!(#rt::Order),
                }
            }
            Ty::Runtime(r) => {
                let rt = &self.rt;
                match r {
                    crate::schema::RuntimeType::DialogId => quote!(#rt::DialogId),
                }
            }
            Ty::JsonMap => quote!(::serde_json::Map<String, ::serde_json::Value>),
            Ty::Vec(inner) => {
                let i = self.ty(inner, m);
                quote!(Vec<#i>)
            }
            Ty::Map(inner) => {
                let i = self.ty(inner, m);
                quote!(::std::collections::BTreeMap<String, #i>)
            }
            Ty::Option(inner) => {
                let i = self.ty(inner, m);
                quote!(Option<#i>)
            }
            Ty::Box(inner) => {
                let i = self.ty(inner, m);
                quote!(Box<#i>)
            }
            Ty::Named(i) => {
                let n = ident(m.types.get(*i).map_or("UnknownType", |t| t.name.as_str()));
                quote!(#n)
            }
            Ty::Shared(i) => {
                let (Some(s), Some((_, t))) = (self.api.shared.get(*i), self.api.shared_def(*i))
                else {
                    return quote!(UnknownType);
                };
                let mut path = TokenStream::new();
                for _ in 0..m.path.len() {
                    path.extend(quote!(super::));
                }
                for seg in self.api.shared_prefix.iter().chain(&s.module) {
                    let id = ident(seg);
                    path.extend(quote!(#id::));
                }
                let n = ident(&t.name);
                quote!(#path #n)
            }
            Ty::Enum(i) => {
                let Some(e) = self.api.enums.get(*i) else {
                    return quote!(UnknownType);
                };
                let n = ident(&e.name);
                if e.runtime {
                    let rt = &self.rt;
                    return quote!(#rt::#n);
                }
                let mut path = TokenStream::new();
                for _ in 0..m.path.len() {
                    path.extend(quote!(super::));
                }
                quote!(#path enums::#n)
            }
        }
    }

    /// One module file.
    pub fn module(&self, m: &Module) -> TokenStream {
        let api = self.api;
        let mut items = TokenStream::new();
        let ns = if m.wire.is_empty() {
            "Bitrix24 REST methods, one module per namespace of the wire name.".to_owned()
        } else {
            format!("Methods under `{}.`.", m.wire)
        };
        let ns = format!(" {ns}");
        items.extend(quote!(#![doc = #ns]));
        if m.path.is_empty() {
            items.extend(quote! {
                /// Enums of values, each defined once and shared by every spec that has it.
                pub mod enums;
                /// The method table and calls by wire name.
                pub mod registry;
            });
            if !api.shared.is_empty() {
                let scopes: BTreeSet<String> = api
                    .shared
                    .iter()
                    .flat_map(|s| s.scopes.iter().cloned())
                    .collect();
                let cfg = cfg_for(&scopes);
                let id = ident(&api.types.wire);
                items.extend(quote! {
                    /// Types defined once by the type specs, one module per scope.
                    #cfg
                    pub mod #id;
                });
            }
        }
        for (name, child) in &m.children {
            let cfg = cfg_for(&child.subtree_scopes(api));
            let id = ident(name);
            // `landing.landing.*`, `tasks.flow.Flow.*`: the wire names nest a namespace in
            // one of the same name.
            let allow = if m.path.last() == Some(name) {
                quote!(#[allow(clippy::module_inception)])
            } else {
                TokenStream::new()
            };
            items.extend(quote!(#cfg #allow pub mod #id;));
        }
        let subtree = m.subtree_scopes(api);
        let own = m.own_scopes(api);
        let item_cfg = !(subtree.len() == 1 && own == subtree) || m.path.is_empty();

        // Primaries and aliases, in wire-name order.
        enum Entry<'e> {
            Primary(usize),
            Alias(&'e AliasFn),
        }
        let mut entries: Vec<(String, Entry)> = Vec::new();
        for &i in &m.methods {
            entries.push((api.methods[i].spec.method.clone(), Entry::Primary(i)));
        }
        for a in &m.aliases {
            entries.push((a.wire.clone(), Entry::Alias(a)));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, e) in &entries {
            match e {
                Entry::Primary(i) => {
                    let method = &api.methods[*i];
                    // This method's types run from its request up to the next method's request.
                    let end = m
                        .methods
                        .iter()
                        .map(|&j| api.methods[j].request)
                        .filter(|&r| r > method.request)
                        .min()
                        .unwrap_or(m.types.len());
                    let cfg = if item_cfg {
                        cfg_for(&[method.spec.scope.clone()].into())
                    } else {
                        TokenStream::new()
                    };
                    items.extend(self.method_fn(method, &cfg));
                    let link: Vec<String> = methods::docs_link(method).into_iter().collect();
                    for (i, t) in m.types[method.request..end].iter().enumerate() {
                        let extra: &[String] = if i == 0 { &link } else { &[] };
                        items.extend(self.type_def(t, m, &cfg, extra));
                    }
                    items.extend(self.method_impl(method, m, &cfg));
                    items.extend(self.list_field_enum(method, m, &cfg));
                }
                Entry::Alias(a) => {
                    let method = &api.methods[a.method];
                    let cfg = if item_cfg {
                        cfg_for(&[method.spec.scope.clone()].into())
                    } else {
                        TokenStream::new()
                    };
                    items.extend(self.alias_fn(a, method, m, &cfg));
                }
            }
        }
        items
    }

    /// A file of the `types` tree: `types.rs` (one module per scope) or `types/<scope>.rs`
    /// (each type spec's type and its nested types, behind the features of its users).
    pub fn types_module(&self, m: &Module) -> TokenStream {
        let api = self.api;
        let mut items = TokenStream::new();
        if m.path.len() < 2 {
            items.extend(
                quote!(#![doc = " Types defined once by the type specs, one module per scope."]),
            );
            for (name, child) in &m.children {
                let scopes: BTreeSet<String> = api
                    .shared
                    .iter()
                    .filter(|s| s.module == child.path)
                    .flat_map(|s| s.scopes.iter().cloned())
                    .collect();
                let cfg = cfg_for(&scopes);
                let id = ident(name);
                items.extend(quote!(#cfg pub mod #id;));
            }
            return items;
        }
        let doc = format!(" Types of the type specs of the scope `{}`.", m.wire);
        items.extend(quote!(#![doc = #doc]));
        let mine: Vec<&crate::ir::SharedType> =
            api.shared.iter().filter(|s| s.module == m.path).collect();
        for (k, s) in mine.iter().enumerate() {
            let end = mine.get(k + 1).map_or(m.types.len(), |n| n.index);
            let cfg = cfg_for(&s.scopes);
            let link: Vec<String> = s
                .docs
                .as_deref()
                .filter(|u| methods::safe_url(u))
                .map(|u| format!("Official documentation: <{u}>."))
                .into_iter()
                .collect();
            for (i, t) in m.types.get(s.index..end).unwrap_or(&[]).iter().enumerate() {
                let extra: &[String] = if i == 0 { &link } else { &[] };
                items.extend(self.type_def(t, m, &cfg, extra));
            }
        }
        items
    }

    pub(super) fn module_of(&self, method: &Method) -> &Module {
        let mut node = &self.api.root;
        for seg in &method.module {
            match node.children.get(seg) {
                Some(c) => node = c,
                None => break,
            }
        }
        node
    }
}
