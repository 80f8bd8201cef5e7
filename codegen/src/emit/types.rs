//! Named types: structs (fields plus attributes, and a `Loose` decoder written with the
//! runtime's `Object` reader), unions, newtypes and aliases.

use super::{Emitter, doc_attr, docs, ident};
use crate::ir::{Body, Field, Module, Ty, TypeDef};
use crate::naming;
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
                quote! {
                    #doc #cfg
                    #[derive(Debug, Clone, PartialEq, #default ::serde::Serialize)]
                    pub struct #name { #fs }
                    #loose
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
                    pub enum #name { #vs }
                    #loose
                }
            }
        }
    }

    fn field(&self, f: &Field, m: &Module) -> TokenStream {
        let id = ident(&f.ident);
        let ty = self.ty(&f.ty, m);
        let mut lines: Vec<String> = f.doc.iter().cloned().collect();
        if let Some(note) = naming::renamed_note(&f.wire, &f.ident) {
            lines.push(note);
        }
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
            Ty::I32 | Ty::I64 | Ty::F64 | Ty::Option(_) | Ty::Named(_) | Ty::Enum(_) => {
                LooseConsts::default()
            }
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
