//! Named types: structs (fields plus attributes, and a `Loose` decoder written with the
//! runtime's `Object` reader), unions, newtypes and aliases.

use super::{Emitter, doc_attr, docs, ident};
use crate::ir::{Body, Field, Module, Side, Ty, TypeDef};
use crate::naming;
use crate::schema::EnumValue;
use proc_macro2::{Ident, TokenStream};
use quote::quote;

impl Emitter<'_> {
    /// `impl Loose` with the given constants and decoder body (`v` is the value), and the
    /// one-line `Deserialize` that goes through it.
    fn loose_impl(
        &self,
        name: &Ident,
        consts: LooseConsts,
        body: TokenStream,
        cfg: &TokenStream,
    ) -> TokenStream {
        let rt = &self.rt;
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
                fn from_loose(v: &::serde_json::Value) -> Result<Self, #rt::loose::Misfit> {
                    #body
                }
            }
            #cfg
            #rt::loose_deserialize!(#name);
        }
    }

    /// One named type; `extra_doc` is appended to its doc (the request type's docs link).
    pub(super) fn type_def(
        &self,
        t: &TypeDef,
        m: &Module,
        cfg: &TokenStream,
        extra_doc: &[String],
    ) -> TokenStream {
        let rt = &self.rt;
        let name = ident(&t.name);
        let mut lines = t.doc.clone();
        lines.extend(extra_doc.iter().cloned());
        let doc = docs(&lines);
        let schema = self.schema_impl(t, m, cfg);
        match &t.body {
            Body::Pending => TokenStream::new(),
            Body::Alias(ty) => {
                let ty = self.ty(ty, m);
                quote!(#doc #cfg pub type #name = #ty;)
            }
            Body::Newtype(ty) => {
                let inner = self.ty(ty, m);
                let loose = self.loose_impl(
                    &name,
                    LooseConsts::of(ty),
                    quote!(Ok(Self(#rt::loose::Loose::from_loose(v)?))),
                    cfg,
                );
                quote! {
                    #doc #cfg
                    #[derive(Debug, Clone, PartialEq, ::serde::Serialize)]
                    #[serde(transparent)]
                    pub struct #name(pub #inner);
                    #loose
                    #schema
                }
            }
            Body::Struct {
                fields,
                extra,
                deny_unknown,
            } => {
                // Fields are read into locals, then moved into the struct: a struct literal
                // with a `?` per field makes rustc drop the fields read so far at every `?`
                // (quadratic code); locals share one chain of drops.
                let reader = ["o", "obj", "reader", "__o"]
                    .into_iter()
                    .find(|r| fields.iter().all(|f| f.ident != *r))
                    .unwrap_or("__o");
                let o = ident(reader);
                let mut fs = TokenStream::new();
                let mut reads = TokenStream::new();
                let mut needs = TokenStream::new();
                let mut names: Vec<TokenStream> = Vec::new();
                let mut all_optional = true;
                // Locals are named after their fields, except fields that start with `_`
                // (`_123`, `_1c_id`), which clippy dislikes as local names: `v_123`.
                let mut taken = naming::Names::with_reserved(
                    fields.iter().map(|f| f.ident.as_str()).chain([reader]),
                );
                let locals: Vec<Ident> = fields
                    .iter()
                    .map(|f| {
                        if f.ident.starts_with('_') {
                            ident(&taken.take(&format!("v{}", f.ident)))
                        } else {
                            ident(&f.ident)
                        }
                    })
                    .collect();
                let local_of = |f: &Field| {
                    let i = fields.iter().position(|g| std::ptr::eq(g, f)).unwrap_or(0);
                    locals[i].clone()
                };
                for (f, local) in fields.iter().zip(&locals) {
                    all_optional &= f.optional;
                    fs.extend(self.field(f, m));
                    let id = ident(&f.ident);
                    names.push(if id == *local {
                        quote!(#id)
                    } else {
                        quote!(#id: #local)
                    });
                }
                // Every field is read in key order (the order of a `serde_json::Map`), then
                // the required ones are asked for in declaration order: the first misfit is
                // the one serde's struct visitor, walking the keys, would have reported.
                let mut by_key: Vec<&Field> = fields.iter().collect();
                by_key.sort_by(|a, b| a.wire.cmp(&b.wire));
                for f in by_key {
                    let id = local_of(f);
                    let wire = &f.wire;
                    reads.extend(if f.optional {
                        quote!(let #id = #o.opt(#wire)?;)
                    } else {
                        quote!(let #id = #o.req(#wire)?;)
                    });
                }
                for f in fields.iter().filter(|f| !f.optional) {
                    let id = local_of(f);
                    let wire = &f.wire;
                    needs.extend(quote!(let #id = #o.need(#id, #wire)?;));
                }
                let wires: Vec<&String> = fields.iter().map(|f| &f.wire).collect();
                if let Some((fname, vty)) = extra {
                    let id = ident(fname);
                    let vt = self.ty(vty, m);
                    fs.extend(quote! {
                        /// Keys not declared in the spec, kept as received.
                        #[serde(flatten)]
                        pub #id: ::std::collections::BTreeMap<String, #vt>,
                    });
                    reads.extend(quote!(let #id = #o.rest(&[#(#wires),*])?;));
                    names.push(quote!(#id));
                }
                reads.extend(needs);
                let deny =
                    (*deny_unknown && extra.is_none()).then(|| quote!(#o.deny(&[#(#wires),*])?;));
                let body = if names.is_empty() && deny.is_none() {
                    quote! {
                        #rt::loose::Object::new(v)?;
                        Ok(Self {})
                    }
                } else {
                    quote! {
                        let #o = #rt::loose::Object::new(v)?;
                        #deny
                        #reads
                        Ok(Self { #(#names),* })
                    }
                };
                let default = if all_optional {
                    quote!(Default,)
                } else {
                    TokenStream::new()
                };
                let loose = self.loose_impl(&name, LooseConsts::default(), body, cfg);
                let builder = if t.side == Side::Request {
                    self.builder(&name, fields, extra.as_ref(), all_optional, m, cfg)
                } else {
                    TokenStream::new()
                };
                quote! {
                    #doc #cfg
                    #[derive(Debug, Clone, PartialEq, #default ::serde::Serialize)]
                    #[non_exhaustive]
                    pub struct #name { #fs }
                    #builder
                    #loose
                    #schema
                }
            }
            Body::Union(variants) => {
                let mut vs = TokenStream::new();
                let mut tries = TokenStream::new();
                let mut total = false;
                for v in variants {
                    let vid = ident(&v.ident);
                    let vt = self.ty(&v.ty, m);
                    let vdoc = docs(&v.doc.iter().cloned().collect::<Vec<_>>());
                    vs.extend(quote!(#vdoc #vid(#vt),));
                    if total {
                        continue;
                    }
                    // Variants are tried in order, as serde's `untagged` does. Strings are
                    // matched strictly so a number never lands in a string branch; raw JSON
                    // takes anything.
                    tries.extend(match &v.ty {
                        Ty::String => quote! {
                            if let Some(s) = v.as_str() {
                                return Ok(Self::#vid(s.to_owned()));
                            }
                        },
                        Ty::Value => {
                            total = true;
                            quote!(return Ok(Self::#vid(v.clone()));)
                        }
                        _ => quote! {
                            if let Ok(x) = <#vt as #rt::loose::Loose>::from_loose(v) {
                                return Ok(Self::#vid(x));
                            }
                        },
                    });
                }
                // A number that no branch took goes to the first string branch as its text,
                // as a plain string field would take it: the union is never stricter than
                // its string branch.
                let text = variants.iter().find(|v| matches!(v.ty, Ty::String));
                if let (false, Some(t)) = (total, text) {
                    let tid = ident(&t.ident);
                    tries.extend(quote! {
                        if v.is_number() {
                            if let Ok(s) = <String as #rt::loose::Loose>::from_loose(v) {
                                return Ok(Self::#tid(s));
                            }
                        }
                    });
                }
                if !total {
                    let msg = format!("data did not match any variant of untagged enum {name}");
                    tries.extend(quote!(Err(#rt::loose::Misfit::new(#msg))));
                }
                let consts = variants
                    .iter()
                    .fold(LooseConsts::default(), |c, v| c.or(LooseConsts::of(&v.ty)));
                let loose = self.loose_impl(&name, consts, tries, cfg);
                quote! {
                    #doc #cfg
                    #[derive(Debug, Clone, PartialEq, ::serde::Serialize)]
                    #[serde(untagged)]
                    #[non_exhaustive]
                    pub enum #name { #vs }
                    #loose
                    #schema
                }
            }
        }
    }

    /// A request struct's `new` (its required fields, in declaration order) and one chainable
    /// setter per optional field, named after it; with an open map, `additional(key, value)`
    /// adds one undeclared key. Arguments take `impl Into<T>` (lists: any iterator of them),
    /// so `"text"`, `42u32` or `[\"ID\", \"TITLE\"]` need no conversion at the call.
    fn builder(
        &self,
        name: &Ident,
        fields: &[Field],
        extra: Option<&(String, Ty)>,
        all_optional: bool,
        m: &Module,
        cfg: &TokenStream,
    ) -> TokenStream {
        let mut params = Vec::new();
        let mut inits = Vec::new();
        let mut setters = TokenStream::new();
        for f in fields {
            let id = ident(&f.ident);
            let wire = naming::doc_line(&format!("\"{}\"", f.wire), 120).unwrap_or_default();
            if f.optional {
                // `Option<T>` is set to `Some`; a `{}` field (a bare `Value`) is set as is.
                let (inner, wrap) = match &f.ty {
                    Ty::Option(t) => (t.as_ref(), true),
                    t => (t, false),
                };
                let (arg, conv) = self.setter_arg(inner, m, &ident("value"));
                let value = if wrap { quote!(Some(#conv)) } else { conv };
                let doc = doc_attr(&format!("Sets {wire}."));
                setters.extend(quote! {
                    #doc
                    pub fn #id(mut self, value: #arg) -> Self {
                        self.#id = #value;
                        self
                    }
                });
                inits.push(quote!(#id: Default::default()));
            } else {
                let (arg, conv) = self.setter_arg(&f.ty, m, &id);
                params.push(quote!(#id: #arg));
                inits.push(quote!(#id: #conv));
            }
        }
        if let Some((fname, vty)) = extra {
            let id = ident(fname);
            let (arg, conv) = self.setter_arg(vty, m, &ident("value"));
            setters.extend(quote! {
                /// Adds a key the spec does not declare (a custom `UF_*` field, say); a later
                /// call with the same key replaces the value.
                pub fn #id(mut self, key: impl Into<String>, value: #arg) -> Self {
                    self.#id.insert(key.into(), #conv);
                    self
                }
            });
            inits.push(quote!(#id: Default::default()));
        }
        let new_doc = if all_optional {
            doc_attr(
                "Every field is optional: a value with none of them set (the same as `Default`).",
            )
        } else {
            doc_attr("A value with its required fields; the optional ones start unset.")
        };
        let body = if all_optional {
            // Not `Self::default()`: a field named `default` has a setter of that name.
            quote!(<Self as ::core::default::Default>::default())
        } else {
            quote!(Self { #(#inits),* })
        };
        let many = (params.len() > 7).then(|| quote!(#[allow(clippy::too_many_arguments)]));
        quote! {
            #cfg
            #[allow(clippy::should_implement_trait, clippy::wrong_self_convention)]
            impl #name {
                #new_doc
                #many
                pub fn new(#(#params),*) -> Self {
                    #body
                }
                #setters
            }
        }
    }

    /// The JSON kind of a field's values, in words (`string`, `array of integer`, ...).
    fn wire_kind(&self, t: &Ty, m: &Module) -> String {
        match t {
            Ty::Bool => "boolean".into(),
            Ty::I32 | Ty::I64 => "integer".into(),
            Ty::F64 => "number".into(),
            Ty::String => "string".into(),
            Ty::Value => "any JSON".into(),
            Ty::Query(crate::ir::QueryParam::Filter) => "object (a `Filter`)".into(),
            Ty::Query(crate::ir::QueryParam::Order) => "object (an `Order`)".into(),
            Ty::Runtime(crate::schema::RuntimeType::DialogId) => {
                "dialog id (a `DialogId`: `chat42`, `sg7` or a user id)".into()
            }
            Ty::JsonMap | Ty::Map(_) => "object".into(),
            Ty::Vec(e) => format!("array of {}", self.wire_kind(e, m)),
            Ty::Option(t) | Ty::Box(t) => self.wire_kind(t, m),
            Ty::Enum(i) => match self.api.enums.get(*i) {
                Some(e) if e.values.iter().all(|(_, v)| matches!(v, EnumValue::Int(_))) => {
                    "integer".into()
                }
                _ => "string".into(),
            },
            Ty::Named(i) => match m.types.get(*i).map(|t| &t.body) {
                Some(Body::Alias(t) | Body::Newtype(t)) => self.wire_kind(t, m),
                Some(Body::Struct { .. }) => "object".into(),
                _ => "one of several shapes".into(),
            },
            Ty::Shared(i) => match self.api.shared_def(*i) {
                Some((_, t)) if matches!(t.body, Body::Struct { .. }) => "object".into(),
                // The events' tree knows the types only by name (not their enums).
                Some((sm, t)) if self.api.shared_prefix.is_empty() => match &t.body {
                    Body::Alias(a) | Body::Newtype(a) => self.wire_kind(a, sm),
                    _ => "one of several shapes".into(),
                },
                Some((_, t)) => format!("a `{}`", t.name),
                None => "any JSON".into(),
            },
        }
    }

    /// "Allowed values: ..." when a field's type (or its items' type) is an enum of values.
    fn enum_values(&self, t: &Ty, m: &Module) -> Option<String> {
        let mut t = t;
        let e = loop {
            match t {
                Ty::Option(i) | Ty::Box(i) | Ty::Vec(i) => t = i,
                Ty::Named(i) => match m.types.get(*i).map(|t| &t.body) {
                    Some(Body::Alias(a)) => t = a,
                    _ => return None,
                },
                Ty::Enum(i) => break self.api.enums.get(*i)?,
                _ => return None,
            }
        };
        const SHOWN: usize = 12;
        let mut list: Vec<String> = e
            .values
            .iter()
            .take(SHOWN)
            .map(|(_, v)| match v {
                EnumValue::Str(s) => format!("\"{s}\""),
                EnumValue::Int(n) => n.to_string(),
            })
            .collect();
        if e.values.len() > SHOWN {
            list.push(format!("and {} more", e.values.len() - SHOWN));
        }
        naming::doc_line(&format!("Allowed values: {}.", list.join(", ")), 400)
    }

    /// The argument type a setter takes for a value of type `t`, and the expression turning
    /// the argument `arg` into a `t`.
    fn setter_arg(&self, t: &Ty, m: &Module, arg: &Ident) -> (TokenStream, TokenStream) {
        match t {
            Ty::Vec(e) => {
                let e = self.ty(e, m);
                (
                    quote!(impl IntoIterator<Item = impl Into<#e>>),
                    quote!(#arg.into_iter().map(Into::into).collect()),
                )
            }
            Ty::Box(b) => {
                let b = self.ty(b, m);
                (quote!(impl Into<#b>), quote!(Box::new(#arg.into())))
            }
            t => {
                let t = self.ty(t, m);
                (quote!(impl Into<#t>), quote!(#arg.into()))
            }
        }
    }

    fn field(&self, f: &Field, m: &Module) -> TokenStream {
        let id = ident(&f.ident);
        let ty = self.ty(&f.ty, m);
        let mut lines: Vec<String> = f.doc.iter().cloned().collect();
        // What the wire sees: name, JSON type (and format), whether it must be sent, and the
        // values an enum lists.
        let wire = naming::doc_line(&format!("\"{}\"", f.wire), 120).unwrap_or_default();
        let mut kind = self.wire_kind(&f.ty, m);
        if let Some(fmt) = f.format {
            kind.push_str(&format!(" (`{}`)", fmt.as_str()));
        }
        let need = if f.optional { "optional" } else { "required" };
        lines.push(format!("Wire name {wire}: {kind}, {need}."));
        if let Some(values) = self.enum_values(&f.ty, m) {
            lines.push(values);
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
}

/// Which of PHP's "absent" spellings (`false`, `""`, `[]`) are real values of a type; emitted
/// as the constants of its `Loose` impl so `Option<T>` can tell absence from a value.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct LooseConsts {
    pub false_is_value: bool,
    pub empty_string_is_value: bool,
    pub empty_array_is_value: bool,
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
            Ty::I32
            | Ty::I64
            | Ty::F64
            | Ty::Option(_)
            | Ty::Named(_)
            | Ty::Shared(_)
            | Ty::Enum(_)
            | Ty::Query(_)
            | Ty::Runtime(_) => LooseConsts::default(),
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

/// The doc attribute of one enum variant: the value it stands for.
pub(super) fn value_doc(v: &crate::schema::EnumValue) -> TokenStream {
    use crate::schema::EnumValue;
    let text = match v {
        EnumValue::Str(s) if s.is_empty() => "The empty string.".to_owned(),
        EnumValue::Str(s) => format!(
            "The value {}.",
            naming::doc_line(&format!("\"{s}\""), 120).unwrap_or_default()
        ),
        EnumValue::Int(n) => format!("The value {n}."),
    };
    doc_attr(&text)
}
