//! `api/enums.rs`: every enum of values, once per distinct list of values. The enum is
//! written out (each variant with the value it stands for); its impls come from the
//! runtime's `string_enum!` / `int_enum!`. Enums mixing strings and integers (rare) get
//! their impls written out.

use super::types::value_doc;
use super::{Emitter, cfg_for, ident};
use crate::ir::SharedEnum;
use crate::schema::EnumValue;
use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

impl Emitter<'_> {
    /// The `enums.rs` file: the shared enums, sorted by name.
    pub fn enums_file(&self) -> TokenStream {
        let mut out = quote! {
            #![doc = " Enums of values, each defined once for every spec property with the same values (in the same order). A property's own type (`AddRequestCrmEntityType`) is an alias of one of these; `Y`/`N` flags are the runtime's `YesNo`."]
        };
        out.extend(self.enum_items());
        out
    }

    /// The shared enums (those not in the runtime), sorted by name, each behind its scopes.
    pub(super) fn enum_items(&self) -> TokenStream {
        let mut out = TokenStream::new();
        let mut list: Vec<&SharedEnum> = self.api.enums.iter().filter(|e| !e.runtime).collect();
        list.sort_by(|a, b| a.name.cmp(&b.name));
        for e in list {
            out.extend(self.shared_enum(e));
        }
        out
    }

    fn shared_enum(&self, e: &SharedEnum) -> TokenStream {
        let rt = &self.rt;
        let cfg = cfg_for(&e.scopes);
        let name = ident(&e.name);
        let other = ident(&e.other);
        let has_str = e.values.iter().any(|(_, v)| matches!(v, EnumValue::Str(_)));
        let has_int = e.values.iter().any(|(_, v)| matches!(v, EnumValue::Int(_)));
        let mut variants = TokenStream::new();
        for (vname, v) in &e.values {
            let vid = ident(vname);
            let vdoc = value_doc(v);
            variants.extend(quote!(#vdoc #vid,));
        }
        let pairs: Vec<TokenStream> = e
            .values
            .iter()
            .map(|(vn, v)| {
                let vid = ident(vn);
                let l = lit(v);
                quote!(#vid = #l)
            })
            .collect();
        if has_str && !has_int {
            quote! {
                #cfg
                #[derive(Debug, Clone, PartialEq, Eq, Hash)]
                #[non_exhaustive]
                pub enum #name {
                    #variants
                    /// A value the spec does not list, kept as received.
                    #other(String),
                }
                #cfg
                #rt::string_enum!(#name { #(#pairs),* } #other);
            }
        } else if has_int && !has_str {
            quote! {
                #cfg
                #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
                #[non_exhaustive]
                pub enum #name {
                    #variants
                    /// A value the spec does not list, kept as received.
                    #other(i64),
                }
                #cfg
                #rt::int_enum!(#name { #(#pairs),* } #other);
            }
        } else {
            self.mixed_enum(e, &name, &other, variants, &cfg)
        }
    }

    /// Mixed strings and integers: exact string matches first, then integers (also written
    /// as numeric strings, as PHP does), else the catch-all keeps the raw value.
    fn mixed_enum(
        &self,
        e: &SharedEnum,
        name: &Ident,
        other: &Ident,
        variants: TokenStream,
        cfg: &TokenStream,
    ) -> TokenStream {
        let rt = &self.rt;
        let mut ser_arms = TokenStream::new();
        let mut de_arms = TokenStream::new();
        for (vn, v) in &e.values {
            let vid = ident(vn);
            let l = lit(v);
            match v {
                EnumValue::Str(_) => {
                    ser_arms.extend(quote!(Self::#vid => serializer.serialize_str(#l),));
                    de_arms.extend(quote!((Some(#l), _) => Self::#vid,));
                }
                EnumValue::Int(_) => {
                    ser_arms.extend(quote!(Self::#vid => serializer.serialize_i64(#l),));
                    de_arms.extend(quote!((_, Some(#l)) => Self::#vid,));
                }
            }
        }
        let empty = e
            .values
            .iter()
            .any(|(_, v)| matches!(v, EnumValue::Str(s) if s.is_empty()));
        let values = e.values.iter().map(|(_, v)| {
            let l = lit(v);
            quote!(::serde_json::Value::from(#l))
        });
        let consts = empty.then(|| {
            quote!(
                const EMPTY_STRING_IS_VALUE: bool = true;
            )
        });
        quote! {
            #cfg
            #[derive(Debug, Clone, PartialEq)]
            #[non_exhaustive]
            pub enum #name {
                #variants
                /// A value the spec does not list, kept as received.
                #other(::serde_json::Value),
            }
            #cfg
            impl ::serde::Serialize for #name {
                fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    match self { #ser_arms Self::#other(value) => ::serde::Serialize::serialize(value, serializer) }
                }
            }
            #cfg
            impl #rt::loose::Loose for #name {
                #consts
                fn from_loose(v: &::serde_json::Value) -> Result<Self, #rt::loose::Misfit> {
                    let text = v.as_str();
                    let number = v.as_i64().or_else(|| text.and_then(|t| t.trim().parse::<i64>().ok()));
                    Ok(match (text, number) { #de_arms _ => Self::#other(v.clone()) })
                }
            }
            #cfg
            #rt::loose_deserialize!(#name);
            #cfg
            #[cfg(feature = "schemars")]
            #rt::__json_schema_impl!(#name, _generator => #rt::schema::open_values(vec![#(#values),*]));
        }
    }
}

impl Emitter<'_> {
    /// A field enum (`ListField`): one variant per wire name in `wires` (in that order,
    /// duplicates once), its impls from the runtime's `field_names!`. The one place such an
    /// enum is written, so it can be attached to whatever type owns the field list.
    pub(super) fn field_enum(
        &self,
        name: &str,
        doc: &[String],
        wires: &[&str],
        cfg: &TokenStream,
    ) -> TokenStream {
        let rt = &self.rt;
        let name = ident(name);
        let doc = super::docs(doc);
        let mut names = crate::naming::Names::default();
        let mut seen = std::collections::BTreeSet::new();
        let mut variants = TokenStream::new();
        let mut pairs = Vec::new();
        for w in wires {
            if !seen.insert(*w) {
                continue;
            }
            let vid = ident(&names.take(&crate::naming::pascal(w, "Field")));
            let vdoc = super::doc_attr(&format!(
                "The field {}.",
                crate::naming::doc_line(&format!("\"{w}\""), 120).unwrap_or_default()
            ));
            variants.extend(quote!(#vdoc #vid,));
            pairs.push(quote!(#vid = #w));
        }
        if pairs.is_empty() {
            return TokenStream::new();
        }
        quote! {
            #doc
            #cfg
            #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
            #[non_exhaustive]
            pub enum #name {
                #variants
            }
            #cfg
            #rt::field_names!(#name { #(#pairs),* });
        }
    }
}

fn lit(v: &EnumValue) -> Literal {
    match v {
        EnumValue::Str(s) => Literal::string(s),
        EnumValue::Int(n) => Literal::i64_unsuffixed(*n),
    }
}
