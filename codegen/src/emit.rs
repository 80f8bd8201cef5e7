//! Stage 4: the type space becomes token streams, one per output file.
//!
//! Spec text only ever reaches the output as string literals (quoted by `quote`, so escaped)
//! or as doc lines already neutralised by [`crate::naming::doc_line`]. Identifiers come from
//! [`crate::naming`] and are ASCII by construction.

use crate::ir::{AliasFn, Api, Body, Field, Method, Module, Ty, TypeDef};
use crate::naming;
use crate::schema::EnumValue;
use crate::spec::Pagination;
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::{format_ident, quote};
use std::collections::BTreeSet;

pub(crate) struct Emitter<'a> {
    pub api: &'a Api,
    /// Path of the hand-written runtime, e.g. `crate::runtime`.
    pub rt: TokenStream,
    /// The same path as text, for serde attribute strings.
    pub rt_text: String,
}

fn ident(s: &str) -> Ident {
    Ident::new(s, Span::call_site())
}

fn doc_attr(line: &str) -> TokenStream {
    let text = format!(" {line}");
    quote!(#[doc = #text])
}

fn docs(lines: &[String]) -> TokenStream {
    let mut out = TokenStream::new();
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            out.extend(quote!(#[doc = ""]));
        }
        out.extend(doc_attr(l));
    }
    out
}

fn cfg_for(scopes: &BTreeSet<String>) -> TokenStream {
    let feats: Vec<&String> = scopes.iter().collect();
    match feats.as_slice() {
        [] => TokenStream::new(),
        [one] => quote!(#[cfg(feature = #one)]),
        many => quote!(#[cfg(any(#(feature = #many),*))]),
    }
}

impl Emitter<'_> {
    fn ty(&self, t: &Ty, m: &Module) -> TokenStream {
        match t {
            Ty::Bool => quote!(bool),
            Ty::I32 => quote!(i32),
            Ty::I64 => quote!(i64),
            Ty::F64 => quote!(f64),
            Ty::String => quote!(String),
            Ty::Value => quote!(::serde_json::Value),
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
        }
    }

    /// Whether the loose decoder is needed for a value of this type (everything but raw JSON).
    fn needs_loose(t: &Ty) -> bool {
        match t {
            Ty::Value => false,
            Ty::Option(inner) => Self::needs_loose(inner),
            _ => true,
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
                /// The method table and calls by wire name.
                pub mod registry;
            });
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
                    for t in &m.types[method.request..end] {
                        items.extend(self.type_def(t, m, &cfg));
                    }
                    items.extend(self.method_impl(method, m, &cfg));
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

    fn method_docs(&self, method: &Method) -> Vec<String> {
        let s = &method.spec;
        let mut lines = vec![format!("Calls `{}`.", s.method)];
        let rate = format_rate(s.rate_limit_per_sec);
        lines.push(format!("Scope `{}`; at most {rate} per second.", s.scope));
        if s.pagination == Pagination::Start {
            lines.push(
                "Pages of 50 rows: set `start` to the offset; the envelope's `next` and `total` say what is left."
                    .to_owned(),
            );
        }
        if !s.aliases.is_empty() {
            let list: Vec<String> = s.aliases.iter().map(|a| format!("`{a}`")).collect();
            lines.push(format!("Also reachable as {}.", list.join(", ")));
        }
        lines
    }

    fn method_fn(&self, method: &Method, cfg: &TokenStream) -> TokenStream {
        let rt = &self.rt;
        let s = &method.spec;
        let doc = docs(&self.method_docs(method));
        let name = ident(&method.fn_ident);
        let m = self.module_of(method);
        let req = ident(&m.types[method.request].name);
        let resp = ident(&m.types[method.response].name);
        let deprecated = if s.deprecated {
            quote!(#[deprecated(note = "marked deprecated in its spec; avoid it in new code")])
        } else {
            TokenStream::new()
        };
        if s.pagination == Pagination::Start {
            quote! {
                #doc #cfg #deprecated
                pub async fn #name(client: &#rt::Client, request: &#req) -> Result<#rt::Envelope<#resp>, #rt::Error> {
                    client.call_envelope(request).await
                }
            }
        } else {
            quote! {
                #doc #cfg #deprecated
                pub async fn #name(client: &#rt::Client, request: &#req) -> Result<#resp, #rt::Error> {
                    client.call(request).await
                }
            }
        }
    }

    fn module_of(&self, method: &Method) -> &Module {
        let mut node = &self.api.root;
        for seg in &method.module {
            match node.children.get(seg) {
                Some(c) => node = c,
                None => break,
            }
        }
        node
    }

    fn method_impl(&self, method: &Method, m: &Module, cfg: &TokenStream) -> TokenStream {
        let rt = &self.rt;
        let req = ident(&m.types[method.request].name);
        let resp = ident(&m.types[method.response].name);
        let wire = &method.spec.method;
        let pagination = match method.spec.pagination {
            Pagination::None => quote!(#rt::Pagination::None),
            Pagination::Start => quote!(#rt::Pagination::Start),
        };
        let rate = Literal::f64_unsuffixed(method.spec.rate_limit_per_sec);
        let errors = &method.spec.errors;
        let errors = (!errors.is_empty()).then(|| {
            quote! { const ERRORS: &'static [&'static str] = &[#(#errors),*]; }
        });
        // Where a list's rows sit, from the response type: the `result` array itself, or
        // the one array field of an object `result` (`{items: [...]}`); the rows' ID key is
        // `ID`, or `id` when only that is declared. A wrapped list also iterates its rows.
        let mut list_consts = TokenStream::new();
        let mut rows = TokenStream::new();
        // A `Vec<T>` (or `Option<Vec<T>>`): its element type, and the index of a named `T`.
        let array = |t: &Ty| -> Option<(Ty, Option<usize>)> {
            let t = match t {
                Ty::Option(t) => t.as_ref(),
                t => t,
            };
            match t {
                Ty::Vec(e) => Some((
                    e.as_ref().clone(),
                    match e.as_ref() {
                        Ty::Named(n) => Some(*n),
                        _ => None,
                    },
                )),
                _ => None,
            }
        };
        let struct_fields = |i: usize| match m.types.get(i).map(|t| &t.body) {
            Some(Body::Struct { fields, .. }) => Some(fields),
            _ => None,
        };
        let item = match (method.spec.pagination, &m.types[method.response].body) {
            (Pagination::Start, Body::Alias(t)) => array(t).map(|a| a.1),
            (Pagination::Start, Body::Struct { fields, .. }) => {
                let arrays: Vec<(&Field, (Ty, Option<usize>))> = fields
                    .iter()
                    .filter_map(|f| array(&f.ty).map(|a| (f, a)))
                    .collect();
                match arrays.as_slice() {
                    [(f, (elem, n))] => {
                        let key = &f.wire;
                        let field = ident(&f.ident);
                        let elem = self.ty(elem, m);
                        let take = if matches!(f.ty, Ty::Option(_)) {
                            quote!(self.#field.unwrap_or_default().into_iter())
                        } else {
                            quote!(self.#field.into_iter())
                        };
                        list_consts
                            .extend(quote! { const ITEMS_KEY: Option<&'static str> = Some(#key); });
                        rows = quote! {
                            #cfg
                            impl ::std::iter::IntoIterator for #resp {
                                type Item = #elem;
                                type IntoIter = ::std::vec::IntoIter<#elem>;
                                fn into_iter(self) -> Self::IntoIter { #take }
                            }
                        };
                        Some(*n)
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        let has =
            |i: usize, key: &str| struct_fields(i).is_some_and(|f| f.iter().any(|f| f.wire == key));
        if let Some(Some(i)) = item {
            if !has(i, "ID") && has(i, "id") {
                list_consts.extend(quote! { const ID_KEY: &'static str = "id"; });
            }
        }
        quote! {
            #cfg
            impl #rt::Method for #req {
                const NAME: &'static str = #wire;
                const PAGINATION: #rt::Pagination = #pagination;
                const RATE_LIMIT_PER_SEC: f64 = #rate;
                #errors
                #list_consts
                type Response = #resp;
            }
            #rows
        }
    }

    fn alias_fn(
        &self,
        a: &AliasFn,
        method: &Method,
        here: &Module,
        cfg: &TokenStream,
    ) -> TokenStream {
        let rt = &self.rt;
        let target = self.module_of(method);
        // Relative path from this module to the method's module.
        let mut path = TokenStream::new();
        for _ in 0..here.path.len() {
            path.extend(quote!(super::));
        }
        for seg in &method.module {
            let id = ident(seg);
            path.extend(quote!(#id::));
        }
        let req_name = ident(&target.types[method.request].name);
        let resp_name = ident(&target.types[method.response].name);
        let req = quote!(#path #req_name);
        let resp = quote!(#path #resp_name);
        let fn_name = ident(&a.fn_ident);
        let wire = &a.wire;
        let mut primary = TokenStream::new();
        for seg in &method.module {
            let id = ident(seg);
            primary.extend(quote!(#id::));
        }
        let lines = vec![
            format!(
                "Calls `{}` under its alias `{}`.",
                method.spec.method, a.wire
            ),
            format!("Same parameters and result as `{}`.", method.spec.method),
        ];
        let doc = docs(&lines);
        let deprecated = if method.spec.deprecated {
            quote!(#[deprecated(note = "marked deprecated in its spec; avoid it in new code")])
        } else {
            TokenStream::new()
        };
        if method.spec.pagination == Pagination::Start {
            quote! {
                #doc #cfg #deprecated
                pub async fn #fn_name(client: &#rt::Client, request: &#req) -> Result<#rt::Envelope<#resp>, #rt::Error> {
                    client.call_envelope_as(#wire, request).await
                }
            }
        } else {
            quote! {
                #doc #cfg #deprecated
                pub async fn #fn_name(client: &#rt::Client, request: &#req) -> Result<#resp, #rt::Error> {
                    client.call_as(#wire, request).await
                }
            }
        }
    }

    /// `impl Loose`: `how` is the runtime function that decodes the type; `consts` are the
    /// `Loose` constants saying which of PHP's "absent" spellings are real values of it.
    fn loose_impl(
        &self,
        name: &Ident,
        how: &str,
        consts: LooseConsts,
        cfg: &TokenStream,
    ) -> TokenStream {
        let rt = &self.rt;
        let how = ident(how);
        let mut cs = TokenStream::new();
        if consts.false_is_value {
            cs.extend(quote!(
                const FALSE_IS_VALUE: bool = true;
            ));
        }
        if consts.empty_string_is_value {
            cs.extend(quote!(
                const EMPTY_STRING_IS_VALUE: bool = true;
            ));
        }
        if consts.empty_array_is_value {
            cs.extend(quote!(
                const EMPTY_ARRAY_IS_VALUE: bool = true;
            ));
        }
        quote! {
            #cfg
            impl #rt::loose::Loose for #name {
                #cs
                fn deserialize_loose<'de, D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    #rt::loose::#how(deserializer)
                }
            }
        }
    }

    fn type_def(&self, t: &TypeDef, m: &Module, cfg: &TokenStream) -> TokenStream {
        let name = ident(&t.name);
        let doc = docs(&t.doc);
        match &t.body {
            Body::Pending => TokenStream::new(),
            Body::Alias(ty) => {
                let ty = self.ty(ty, m);
                quote!(#doc #cfg pub type #name = #ty;)
            }
            Body::Newtype(ty) => {
                let inner = self.ty(ty, m);
                let with = if Self::needs_loose(ty) {
                    let path = format!("{}::loose::de", self.rt_text);
                    quote!(#[serde(deserialize_with = #path)])
                } else {
                    TokenStream::new()
                };
                let loose = self.loose_impl(&name, "plain", LooseConsts::of(ty), cfg);
                quote! {
                    #doc #cfg
                    #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
                    #[serde(transparent)]
                    pub struct #name(#with pub #inner);
                    #loose
                }
            }
            Body::Struct {
                fields,
                extra,
                deny_unknown,
            } => {
                let mut fs = TokenStream::new();
                let mut all_optional = true;
                for f in fields {
                    all_optional &= f.optional;
                    fs.extend(self.field(f, m));
                }
                if let Some((fname, vty)) = extra {
                    let id = ident(fname);
                    let vt = self.ty(vty, m);
                    fs.extend(quote! {
                        /// Keys not declared in the spec, kept as received.
                        #[serde(flatten)]
                        pub #id: ::std::collections::BTreeMap<String, #vt>,
                    });
                }
                let default = if all_optional {
                    quote!(Default,)
                } else {
                    TokenStream::new()
                };
                let de = self.struct_deserialize(
                    &name,
                    fields,
                    extra.as_ref(),
                    *deny_unknown && extra.is_none(),
                    m,
                    cfg,
                );
                let loose = self.loose_impl(&name, "object", LooseConsts::default(), cfg);
                quote! {
                    #doc #cfg
                    #[derive(Debug, Clone, PartialEq, #default ::serde::Serialize)]
                    pub struct #name { #fs }
                    #de
                    #loose
                }
            }
            Body::Union(variants) => {
                let mut vs = TokenStream::new();
                for v in variants {
                    let vid = ident(&v.ident);
                    let vt = self.ty(&v.ty, m);
                    let vdoc = docs(&v.doc.iter().cloned().collect::<Vec<_>>());
                    // Strings are matched strictly so a number never lands in a string branch.
                    let with = if v.ty != Ty::String && Self::needs_loose(&v.ty) {
                        let path = format!("{}::loose::de", self.rt_text);
                        quote!(#[serde(deserialize_with = #path)])
                    } else {
                        TokenStream::new()
                    };
                    vs.extend(quote!(#vdoc #vid(#with #vt),));
                }
                let consts = variants
                    .iter()
                    .fold(LooseConsts::default(), |c, v| c.or(LooseConsts::of(&v.ty)));
                let loose = self.loose_impl(&name, "plain", consts, cfg);
                quote! {
                    #doc #cfg
                    #[derive(Debug, Clone, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
                    #[serde(untagged)]
                    pub enum #name { #vs }
                    #loose
                }
            }
            Body::Enum { values, other } => self.enum_def(&name, &doc, values, other, cfg),
        }
    }

    /// A struct's `Deserialize`, written out instead of derived: one map visitor whose values go
    /// through the loose decoders via the shared `LooseSeed` of the `api` root. Far less code
    /// than `#[derive(Deserialize)]` with a `deserialize_with` wrapper per field, and the
    /// per-type decoders are shared by every field of that type.
    fn struct_deserialize(
        &self,
        name: &Ident,
        fields: &[Field],
        extra: Option<&(String, Ty)>,
        deny: bool,
        m: &Module,
        cfg: &TokenStream,
    ) -> TokenStream {
        let rt = &self.rt;
        let expecting = format!("struct {name}");
        let mut lets = TokenStream::new();
        let mut arms = TokenStream::new();
        let mut inits = TokenStream::new();
        for (i, f) in fields.iter().enumerate() {
            let var = format_ident!("__f{}", i);
            let ty = self.ty(&f.ty, m);
            let wire = &f.wire;
            let id = ident(&f.ident);
            lets.extend(quote!(let mut #var: Option<#ty> = None;));
            let read = if Self::needs_loose(&f.ty) {
                quote!(map.next_value_seed(#rt::loose::Seed::<#ty>::default())?)
            } else {
                quote!(map.next_value::<#ty>()?)
            };
            arms.extend(quote! {
                #wire => {
                    if #var.is_some() {
                        return Err(::serde::de::Error::duplicate_field(#wire));
                    }
                    #var = Some(#read);
                }
            });
            if f.optional {
                inits.extend(quote!(#id: #var.unwrap_or_default(),));
            } else {
                inits.extend(
                    quote!(#id: #var.ok_or_else(|| ::serde::de::Error::missing_field(#wire))?,),
                );
            }
        }
        let (fallback, alone) = if let Some((fname, vty)) = extra {
            let id = ident(fname);
            let vt = self.ty(vty, m);
            lets.extend(
                quote!(let mut __extra: ::std::collections::BTreeMap<String, #vt> = ::std::collections::BTreeMap::new();),
            );
            inits.extend(quote!(#id: __extra,));
            let read = if Self::needs_loose(vty) {
                quote!(map.next_value_seed(#rt::loose::Seed::<#vt>::default())?)
            } else {
                quote!(map.next_value::<#vt>()?)
            };
            (
                quote!(_ => { let value = #read; __extra.insert(key, value); }),
                quote! {
                    #lets
                    while let Some(key) = map.next_key::<String>()? {
                        let value = #read;
                        __extra.insert(key, value);
                    }
                    Ok(#name { #inits })
                },
            )
        } else if deny {
            let names: Vec<&String> = fields.iter().map(|f| &f.wire).collect();
            (
                quote!(_ => return Err(::serde::de::Error::unknown_field(&key, &[#(#names),*])),),
                quote! {
                    if let Some(key) = map.next_key::<String>()? {
                        return Err(::serde::de::Error::unknown_field(&key, &[]));
                    }
                    Ok(#name {})
                },
            )
        } else {
            (
                quote!(_ => { map.next_value::<::serde::de::IgnoredAny>()?; }),
                quote! {
                    while map.next_entry::<::serde::de::IgnoredAny, ::serde::de::IgnoredAny>()?.is_some() {}
                    Ok(#name {})
                },
            )
        };
        let body = if fields.is_empty() {
            alone
        } else {
            quote! {
                #lets
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        #arms
                        #fallback
                    }
                }
                Ok(#name { #inits })
            }
        };
        quote! {
            #cfg
            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    struct __Visitor;
                    impl<'de> ::serde::de::Visitor<'de> for __Visitor {
                        type Value = #name;
                        fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                            f.write_str(#expecting)
                        }
                        fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut map: A) -> Result<#name, A::Error> {
                            #body
                        }
                    }
                    deserializer.deserialize_map(__Visitor)
                }
            }
        }
    }

    fn field(&self, f: &Field, m: &Module) -> TokenStream {
        let id = ident(&f.ident);
        let ty = self.ty(&f.ty, m);
        let mut lines: Vec<String> = f.doc.iter().cloned().collect();
        if let Some(fmt) = f.format {
            lines.push(format!("Format: `{}`.", fmt.as_str()));
        }
        if f.deprecated {
            lines.push("Deprecated in the spec.".to_owned());
        }
        let doc = docs(&lines);
        let mut args: Vec<TokenStream> = Vec::new();
        if f.ident != f.wire {
            let w = &f.wire;
            args.push(quote!(rename = #w));
        }
        if f.optional {
            // `{}` fields are `Value` (null when absent), everything else `Option`.
            let skip = if f.ty == Ty::Value {
                "::serde_json::Value::is_null"
            } else {
                "Option::is_none"
            };
            args.push(quote!(skip_serializing_if = #skip));
        }
        let attr = if args.is_empty() {
            TokenStream::new()
        } else {
            quote!(#[serde(#(#args),*)])
        };
        quote!(#doc #attr pub #id: #ty,)
    }

    fn enum_def(
        &self,
        name: &Ident,
        doc: &TokenStream,
        values: &[(String, EnumValue)],
        other: &str,
        cfg: &TokenStream,
    ) -> TokenStream {
        let rt = &self.rt;
        let other = ident(other);
        let has_str = values.iter().any(|(_, v)| matches!(v, EnumValue::Str(_)));
        let has_int = values.iter().any(|(_, v)| matches!(v, EnumValue::Int(_)));
        let mut variants = TokenStream::new();
        for (vname, v) in values {
            let vid = ident(vname);
            let text = match v {
                EnumValue::Str(s) if s.is_empty() => "The empty string.".to_owned(),
                EnumValue::Str(s) => {
                    format!(
                        "The value {}.",
                        naming::doc_line(&format!("\"{s}\""), 120).unwrap_or_default()
                    )
                }
                EnumValue::Int(n) => format!("The value {n}."),
            };
            let vdoc = doc_attr(&text);
            variants.extend(quote!(#vdoc #vid,));
        }
        let consts = LooseConsts {
            empty_string_is_value: values
                .iter()
                .any(|(_, v)| matches!(v, EnumValue::Str(s) if s.is_empty())),
            ..LooseConsts::default()
        };
        let loose = self.loose_impl(name, "plain", consts, cfg);
        let lit = |s: &str| Literal::string(s);
        if has_str && !has_int {
            let arms_to: Vec<TokenStream> = values
                .iter()
                .map(|(vn, v)| {
                    let vid = ident(vn);
                    let EnumValue::Str(s) = v else {
                        return TokenStream::new();
                    };
                    let l = lit(s);
                    quote!(Self::#vid => #l,)
                })
                .collect();
            let arms_from: Vec<TokenStream> = values
                .iter()
                .map(|(vn, v)| {
                    let vid = ident(vn);
                    let EnumValue::Str(s) = v else {
                        return TokenStream::new();
                    };
                    let l = lit(s);
                    quote!(#l => Self::#vid,)
                })
                .collect();
            let de = format_ident!("de");
            quote! {
                #doc #cfg
                #[derive(Debug, Clone, PartialEq, Eq, Hash)]
                pub enum #name {
                    #variants
                    /// A value the spec does not list, kept as received.
                    #other(String),
                }
                #cfg
                impl #name {
                    /// The value as sent on the wire.
                    pub fn as_str(&self) -> &str {
                        match self { #(#arms_to)* Self::#other(value) => value }
                    }
                }
                #cfg
                impl ::std::fmt::Display for #name {
                    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str(self.as_str())
                    }
                }
                #cfg
                impl ::serde::Serialize for #name {
                    fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                        serializer.serialize_str(self.as_str())
                    }
                }
                #cfg
                impl<'de> ::serde::Deserialize<'de> for #name {
                    fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                        let value: String = #rt::loose::#de(deserializer)?;
                        Ok(match value.as_str() { #(#arms_from)* _ => Self::#other(value) })
                    }
                }
                #loose
            }
        } else if has_int && !has_str {
            let arms_to: Vec<TokenStream> = values
                .iter()
                .map(|(vn, v)| {
                    let vid = ident(vn);
                    let EnumValue::Int(n) = v else {
                        return TokenStream::new();
                    };
                    let l = Literal::i64_unsuffixed(*n);
                    quote!(Self::#vid => #l,)
                })
                .collect();
            let arms_from: Vec<TokenStream> = values
                .iter()
                .map(|(vn, v)| {
                    let vid = ident(vn);
                    let EnumValue::Int(n) = v else {
                        return TokenStream::new();
                    };
                    let l = Literal::i64_unsuffixed(*n);
                    quote!(#l => Self::#vid,)
                })
                .collect();
            quote! {
                #doc #cfg
                #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
                pub enum #name {
                    #variants
                    /// A value the spec does not list, kept as received.
                    #other(i64),
                }
                #cfg
                impl #name {
                    /// The value as sent on the wire.
                    pub fn value(self) -> i64 {
                        match self { #(#arms_to)* Self::#other(value) => value }
                    }
                }
                #cfg
                impl ::serde::Serialize for #name {
                    fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                        serializer.serialize_i64(self.value())
                    }
                }
                #cfg
                impl<'de> ::serde::Deserialize<'de> for #name {
                    fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                        let value: i64 = #rt::loose::de(deserializer)?;
                        Ok(match value { #(#arms_from)* _ => Self::#other(value) })
                    }
                }
                #loose
            }
        } else {
            // Mixed strings and integers: exact string matches first, then integers (also
            // written as numeric strings, as PHP does), else the catch-all keeps the raw value.
            let ser_arms: Vec<TokenStream> = values
                .iter()
                .map(|(vn, v)| {
                    let vid = ident(vn);
                    match v {
                        EnumValue::Str(s) => {
                            let l = lit(s);
                            quote!(Self::#vid => serializer.serialize_str(#l),)
                        }
                        EnumValue::Int(n) => {
                            let l = Literal::i64_unsuffixed(*n);
                            quote!(Self::#vid => serializer.serialize_i64(#l),)
                        }
                    }
                })
                .collect();
            let de_arms: Vec<TokenStream> = values
                .iter()
                .map(|(vn, v)| {
                    let vid = ident(vn);
                    match v {
                        EnumValue::Str(s) => {
                            let l = lit(s);
                            quote!((Some(#l), _) => Self::#vid,)
                        }
                        EnumValue::Int(n) => {
                            let l = Literal::i64_unsuffixed(*n);
                            quote!((_, Some(#l)) => Self::#vid,)
                        }
                    }
                })
                .collect();
            quote! {
                #doc #cfg
                #[derive(Debug, Clone, PartialEq)]
                pub enum #name {
                    #variants
                    /// A value the spec does not list, kept as received.
                    #other(::serde_json::Value),
                }
                #cfg
                impl ::serde::Serialize for #name {
                    fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                        match self { #(#ser_arms)* Self::#other(value) => ::serde::Serialize::serialize(value, serializer) }
                    }
                }
                #cfg
                impl<'de> ::serde::Deserialize<'de> for #name {
                    fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                        let value: ::serde_json::Value = ::serde::Deserialize::deserialize(deserializer)?;
                        let text = value.as_str().map(str::to_owned);
                        let number = value.as_i64().or_else(|| value.as_str().and_then(|t| t.trim().parse::<i64>().ok()));
                        Ok(match (text.as_deref(), number) { #(#de_arms)* _ => Self::#other(value) })
                    }
                }
                #loose
            }
        }
    }

    /// `registry.rs`: the method table and calls by wire name.
    pub fn registry(&self) -> TokenStream {
        let rt = &self.rt;
        let api = self.api;
        let mut infos = Vec::new();
        let mut index_arms = Vec::new();
        let mut check_arms = Vec::new();
        let mut decode_arms = Vec::new();
        for (i, method) in api.methods.iter().enumerate() {
            let s = &method.spec;
            let name = &s.method;
            let aliases = &s.aliases;
            let errors = &s.errors;
            let scope = &s.scope;
            let deprecated = s.deprecated;
            let rate = Literal::f64_unsuffixed(s.rate_limit_per_sec);
            let pagination = match s.pagination {
                Pagination::None => quote!(#rt::Pagination::None),
                Pagination::Start => quote!(#rt::Pagination::Start),
            };
            infos.push(quote! {
                #rt::MethodInfo {
                    name: #name,
                    aliases: &[#(#aliases),*],
                    scope: #scope,
                    deprecated: #deprecated,
                    rate_limit_per_sec: #rate,
                    pagination: #pagination,
                    errors: &[#(#errors),*],
                    enabled: cfg!(feature = #scope),
                }
            });
            let lower: Vec<String> = std::iter::once(name)
                .chain(aliases.iter())
                .map(|n| n.to_ascii_lowercase())
                .collect();
            let idx = Literal::usize_unsuffixed(i);
            index_arms.push(quote!(#(#lower)|* => Some(#idx),));
            let module = self.module_of(method);
            let mut path = quote!(super::);
            for seg in &method.module {
                let id = ident(seg);
                path.extend(quote!(#id::));
            }
            let req = ident(&module.types[method.request].name);
            let resp = ident(&module.types[method.response].name);
            check_arms.push(quote! {
                #[cfg(feature = #scope)]
                Some(#idx) => #rt::registry::check_params::<#path #req>(#name, params),
            });
            decode_arms.push(quote! {
                #[cfg(feature = #scope)]
                Some(#idx) => #rt::registry::decode_result::<#path #resp>(#name, result),
            });
        }
        quote! {
            #![doc = " The table of every method generated from the specs, and calls by wire name."]

            /// Every method, sorted by wire name.
            pub static METHODS: &[#rt::MethodInfo] = &[#(#infos),*];

            /// Finds a method by wire name or alias, ignoring ASCII case.
            pub fn find(name: &str) -> Option<&'static #rt::MethodInfo> {
                index(name).and_then(|i| METHODS.get(i))
            }

            fn index(name: &str) -> Option<usize> {
                match name.to_ascii_lowercase().as_str() {
                    #(#index_arms)*
                    _ => None,
                }
            }

            /// Checks JSON parameters against the method's request type and returns them
            /// normalised (loose wire values turned into their declared types).
            ///
            /// Fails with `Error::UnknownMethod` when the name is
            /// unknown or its scope's feature is not compiled in.
            #[allow(unused_variables)] // every arm is behind a feature; with none, `params` is unused
            pub fn validate_params(method: &str, params: &::serde_json::Value) -> Result<::serde_json::Value, #rt::Error> {
                match index(method) {
                    #(#check_arms)*
                    _ => Err(#rt::Error::UnknownMethod(method.to_owned())),
                }
            }

            /// Decodes a `result` value with the method's response type and returns it normalised.
            #[allow(unused_variables)] // every arm is behind a feature; with none, `result` is unused
            pub fn decode_result(method: &str, result: &::serde_json::Value) -> Result<::serde_json::Value, #rt::Error> {
                match index(method) {
                    #(#decode_arms)*
                    _ => Err(#rt::Error::UnknownMethod(method.to_owned())),
                }
            }
        }
    }
}

fn format_rate(r: f64) -> String {
    if r == 1.0 {
        "1 call".to_owned()
    } else {
        format!("{r} calls")
    }
}

/// Which of PHP's "absent" spellings (`false`, `""`, `[]`) are real values of a type; emitted
/// as the constants of its `Loose` impl so `Option<T>` can tell absence from a value.
#[derive(Debug, Clone, Copy, Default)]
struct LooseConsts {
    false_is_value: bool,
    empty_string_is_value: bool,
    empty_array_is_value: bool,
}

impl LooseConsts {
    /// The constants of a type written in a field, as far as they can be read off it.
    fn of(t: &Ty) -> LooseConsts {
        match t {
            Ty::Bool => LooseConsts {
                false_is_value: true,
                ..LooseConsts::default()
            },
            Ty::String => LooseConsts {
                empty_string_is_value: true,
                ..LooseConsts::default()
            },
            Ty::Value => LooseConsts {
                false_is_value: true,
                empty_string_is_value: true,
                empty_array_is_value: true,
            },
            Ty::Vec(_) | Ty::Map(_) | Ty::JsonMap => LooseConsts {
                empty_array_is_value: true,
                ..LooseConsts::default()
            },
            Ty::Box(inner) => LooseConsts::of(inner),
            // Named types carry their own constants; an `Option` is never inside a union.
            Ty::I32 | Ty::I64 | Ty::F64 | Ty::Option(_) | Ty::Named(_) => LooseConsts::default(),
        }
    }

    fn or(self, other: LooseConsts) -> LooseConsts {
        LooseConsts {
            false_is_value: self.false_is_value || other.false_is_value,
            empty_string_is_value: self.empty_string_is_value || other.empty_string_is_value,
            empty_array_is_value: self.empty_array_is_value || other.empty_array_is_value,
        }
    }
}
