//! `registry.rs`: the method table and calls by wire name.

use super::methods::{list_shape, safe_url};
use super::{Emitter, ident};
use crate::schema::{Additional, EnumValue, Kind, Schema, SchemaSet};
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
        let mut schema_arms = Vec::new();
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
            let module = self.module_of(method);
            let shape = list_shape(self.api, method, module);
            let items_key = match shape.as_ref().and_then(|l| l.field) {
                Some(f) => {
                    let key = &f.wire;
                    quote!(Some(#key))
                }
                None => quote!(None),
            };
            let id_key = shape.as_ref().map_or("ID", |l| l.id_key);
            let docs = match s.docs.as_deref().filter(|u| safe_url(u)) {
                Some(url) => quote!(Some(#url)),
                None => quote!(None),
            };
            let params = fields(&s.params, &self.api.type_schemas, true)
                .into_iter()
                .map(|f| self.field_info(&f));
            let result = type_text(&s.returns.root, &s.returns, &self.api.type_schemas, 0);
            let result_fields = fields(&s.returns, &self.api.type_schemas, false)
                .into_iter()
                .map(|f| self.field_info(&f));
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
                    docs: #docs,
                    params: &[#(#params),*],
                    result: #result,
                    result_fields: &[#(#result_fields),*],
                    items_key: #items_key,
                    id_key: #id_key,
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
            schema_arms.push(quote! {
                #[cfg(feature = #scope)]
                Some(#idx) => Some([#rt::schema::of::<#path #req>, #rt::schema::of::<#path #resp>]),
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

            /// The JSON Schema of a method's parameters (its request type, as the SDK writes
            /// it); `None` when the name is unknown or its scope's feature is not compiled in.
            /// `runtime::schema::loosen` widens it to the loose forms a decoder also accepts.
            #[cfg(feature = "schemars")]
            pub fn params_schema(method: &str) -> Option<::serde_json::Value> {
                schemas(method).map(|[params, _]| params())
            }

            /// The JSON Schema of a method's `result` (its response type); `None` when the
            /// name is unknown or its scope's feature is not compiled in.
            #[cfg(feature = "schemars")]
            pub fn result_schema(method: &str) -> Option<::serde_json::Value> {
                schemas(method).map(|[_, result]| result())
            }

            #[cfg(feature = "schemars")]
            #[allow(unused_variables)] // every arm is behind a feature
            fn schemas(method: &str) -> Option<[fn() -> ::serde_json::Value; 2]> {
                match index(method) {
                    #(#schema_arms)*
                    _ => None,
                }
            }
        }
    }
}

impl Emitter<'_> {
    fn field_info(&self, f: &FieldText) -> TokenStream {
        let rt = &self.rt;
        let (name, ty, required) = (&f.name, &f.ty, f.required);
        quote!(#rt::FieldInfo { name: #name, ty: #ty, required: #required })
    }
}

/// One row of a method's parameter or result summary.
struct FieldText {
    name: String,
    ty: String,
    required: bool,
}

/// How deep `type_text` describes nested types before it says `…`.
const TYPE_DEPTH: usize = 2;
/// How many enum values `type_text` lists before it says `…`.
const ENUM_VALUES: usize = 8;

/// The fields of an object schema (through `$ref`s), or of the object items of an array
/// schema: each property, and with `nested` the properties of an object-valued property
/// too, named `outer.inner` (one level). Empty for anything else.
fn fields(set: &SchemaSet, types: &Types, nested: bool) -> Vec<FieldText> {
    let mut out = Vec::new();
    let (set, root) = match resolve(&set.root, set, types) {
        (
            set,
            Schema {
                kind: Kind::Array(items),
                ..
            },
        ) => resolve(items, set, types),
        other => other,
    };
    if let Kind::Object(o) = &root.kind {
        for p in &o.properties {
            out.push(FieldText {
                name: p.name.clone(),
                ty: type_text(&p.schema, set, types, 0),
                required: p.required,
            });
            if !nested {
                continue;
            }
            let (inner_set, inner) = resolve(&p.schema, set, types);
            if let Kind::Object(inner) = &inner.kind {
                for q in &inner.properties {
                    out.push(FieldText {
                        name: format!("{}.{}", p.name, q.name),
                        ty: type_text(&q.schema, inner_set, types, 1),
                        required: p.required && q.required,
                    });
                }
            }
        }
    }
    out
}

/// The schemas of the type specs, by name.
type Types = std::collections::BTreeMap<String, SchemaSet>;

/// A schema with its `$ref`s (to definitions and type specs) followed, and the set it
/// belongs to (a bounded number of hops; a loop stays a `$ref`).
fn resolve<'a>(
    schema: &'a Schema,
    set: &'a SchemaSet,
    types: &'a Types,
) -> (&'a SchemaSet, &'a Schema) {
    let (mut s, mut set) = (schema, set);
    for _ in 0..8 {
        match &s.kind {
            Kind::Ref(i) => match set.defs.get(*i) {
                Some(d) => s = &d.schema,
                None => break,
            },
            Kind::Shared(name) => match types.get(name) {
                Some(t) => {
                    set = t;
                    s = &t.root;
                }
                None => break,
            },
            _ => break,
        }
    }
    (set, s)
}

/// A choice of types in parentheses, so that `array of ("Y" | "N")` reads one way.
fn grouped(text: String) -> String {
    if text.contains(" | ") {
        format!("({text})")
    } else {
        text
    }
}

/// A short, one-line description of a schema's type for people: `integer`,
/// `string (date)`, `array of string`, `"Y" | "N"`, `map of integer`.
fn type_text(schema: &Schema, set: &SchemaSet, types: &Types, depth: usize) -> String {
    let (set, schema) = resolve(schema, set, types);
    let mut text = match &schema.kind {
        Kind::Any => "any".to_owned(),
        Kind::Bool => "boolean".to_owned(),
        Kind::Integer => "integer".to_owned(),
        Kind::Number => "number".to_owned(),
        Kind::String => "string".to_owned(),
        Kind::Array(items) if depth < TYPE_DEPTH => {
            format!(
                "array of {}",
                grouped(type_text(items, set, types, depth + 1))
            )
        }
        Kind::Array(_) => "array".to_owned(),
        Kind::Object(o) => match &o.additional {
            Additional::Schema(v) if o.properties.is_empty() && depth < TYPE_DEPTH => {
                format!("map of {}", grouped(type_text(v, set, types, depth + 1)))
            }
            _ => "object".to_owned(),
        },
        Kind::Enum(values) => {
            let mut shown: Vec<String> = values
                .iter()
                .take(ENUM_VALUES)
                .map(|v| match v {
                    EnumValue::Str(s) => format!("{s:?}"),
                    EnumValue::Int(i) => i.to_string(),
                })
                .collect();
            if values.len() > ENUM_VALUES {
                shown.push("…".into());
            }
            shown.join(" | ")
        }
        Kind::Union(branches) if depth < TYPE_DEPTH => branches
            .iter()
            .map(|b| type_text(b, set, types, depth + 1))
            .collect::<Vec<_>>()
            .join(" | "),
        Kind::Union(_) => "one of several types".to_owned(),
        Kind::Ref(_) | Kind::Shared(_) => "object".to_owned(),
    };
    if let Some(f) = schema.format {
        text.push_str(&format!(" ({})", f.as_str()));
    }
    if schema.nullable {
        text.push_str(" | null");
    }
    text
}
