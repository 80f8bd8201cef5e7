//! `registry.rs`: the method table and calls by wire name.

use super::{Emitter, ident};
use proc_macro2::{Literal, TokenStream};
use quote::quote;
use std::collections::BTreeSet;

impl Emitter<'_> {
    /// `registry.rs`: the method table and calls by wire name.
    pub fn registry(&self) -> TokenStream {
        let rt = &self.rt;
        let api = self.api;
        let mut infos = Vec::new();
        let mut index_arms = Vec::new();
        let mut check_arms = Vec::new();
        let mut decode_arms = Vec::new();
        let mut indexed = BTreeSet::new();
        for (i, method) in api.methods.iter().enumerate() {
            let s = &method.spec;
            let name = &s.method;
            let aliases = &s.aliases;
            let errors = &s.errors;
            let scope = &s.scope;
            let deprecated = s.deprecated;
            let rate = Literal::f64_unsuffixed(s.rate_limit_per_sec);
            let pagination = self.pagination(s.pagination);
            let api = match s.api {
                crate::spec::ApiVersion::Classic => quote!(#rt::ApiVersion::Classic),
                crate::spec::ApiVersion::V3 => quote!(#rt::ApiVersion::V3),
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
                    api: #api,
                }
            });
            // A name in both APIs is found as the classic method (it sorts first); the REST
            // 3.0 twin is reached through `METHODS` (`registry::find_api`).
            let lower: Vec<String> = std::iter::once(name)
                .chain(aliases.iter())
                .map(|n| n.to_ascii_lowercase())
                .filter(|n| indexed.insert(n.clone()))
                .collect();
            let idx = Literal::usize_unsuffixed(i);
            if !lower.is_empty() {
                index_arms.push(quote!(#(#lower)|* => Some(#idx),));
            }
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
