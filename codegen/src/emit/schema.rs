//! JSON Schemas of the named types (cargo feature `schemars` of the generated crate), written
//! as data: each type's schema is a JSON text decided here, from the type space, and the
//! runtime's `schema_data!` turns it into a `JsonSchema` impl. A derive expands to code per
//! field (it was about 45 s of CPU of a 150 s all-features build); the text and one small impl
//! per type cost well under half of that.
//!
//! The schema is the canonical one (what `Serialize` writes, draft 2020-12). The named types a
//! schema refers to are left as holes, `{"$dep": i}`, filled at run time with the generator's
//! `$ref` to the `i`-th type of the impl's list, so every type is defined once under `$defs`.

use super::Emitter;
use crate::ir::{Body, Module, Ty, TypeDef};
use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use serde_json::{Map, Value, json};

/// The named types a schema refers to, in order of first use: the hole `{"$dep": i}` stands
/// for the `i`-th.
#[derive(Default)]
struct Deps(Vec<Ty>);

impl Deps {
    fn hole(&mut self, t: &Ty) -> Value {
        let i = match self.0.iter().position(|d| d == t) {
            Some(i) => i,
            None => {
                self.0.push(t.clone());
                self.0.len() - 1
            }
        };
        json!({ "$dep": i })
    }
}

impl Emitter<'_> {
    /// The `JsonSchema` impl of a struct, union or newtype (none for an alias: the type it
    /// names has its own), behind the scope's `cfg` and the `schemars` feature.
    pub(super) fn schema_impl(&self, t: &TypeDef, m: &Module, cfg: &TokenStream) -> TokenStream {
        let mut deps = Deps::default();
        let mut schema = match &t.body {
            Body::Pending | Body::Alias(_) => return TokenStream::new(),
            Body::Newtype(ty) => ty_schema(ty, &mut deps),
            Body::Struct {
                fields,
                extra,
                deny_unknown,
            } => {
                let mut props = Map::new();
                let mut required = Vec::new();
                for f in fields {
                    let mut p = ty_schema(&f.ty, &mut deps);
                    if let (Some(doc), Value::Object(o)) = (&f.doc, &mut p) {
                        o.insert("description".into(), doc.as_str().into());
                    }
                    if f.deprecated {
                        if let Value::Object(o) = &mut p {
                            o.insert("deprecated".into(), true.into());
                        }
                    }
                    // An optional field is left out when unset; any other is always written.
                    if !f.optional {
                        required.push(Value::from(f.wire.as_str()));
                    }
                    props.insert(f.wire.clone(), p);
                }
                let mut o = Map::new();
                o.insert("type".into(), "object".into());
                if !props.is_empty() {
                    o.insert("properties".into(), props.into());
                }
                if !required.is_empty() {
                    o.insert("required".into(), required.into());
                }
                match extra {
                    // Undeclared keys are kept (and written back) with the map's value type.
                    Some((_, vty)) => {
                        o.insert("additionalProperties".into(), ty_schema(vty, &mut deps));
                    }
                    None if *deny_unknown => {
                        o.insert("additionalProperties".into(), false.into());
                    }
                    None => {}
                }
                Value::Object(o)
            }
            Body::Union(variants) => {
                let branches: Vec<Value> = variants
                    .iter()
                    .map(|v| ty_schema(&v.ty, &mut deps))
                    .collect();
                json!({ "anyOf": branches })
            }
        };
        if let (false, Value::Object(o)) = (t.doc.is_empty(), &mut schema) {
            o.insert("description".into(), t.doc.join("\n\n").into());
        }
        let name = super::ident(&t.name);
        let text = json_literal(&schema);
        let deps = deps.0.iter().map(|d| self.ty(d, m));
        let rt = &self.rt;
        quote! {
            #cfg
            #[cfg(feature = "schemars")]
            #rt::schema_data!(#name, #text, [#(#deps),*]);
        }
    }
}

/// The schema of a type expression; named types become holes.
fn ty_schema(t: &Ty, deps: &mut Deps) -> Value {
    match t {
        Ty::Bool => json!({"type": "boolean"}),
        Ty::I32 => json!({"type": "integer", "format": "int32"}),
        Ty::I64 => json!({"type": "integer", "format": "int64"}),
        Ty::F64 => json!({"type": "number", "format": "double"}),
        Ty::String => json!({"type": "string"}),
        Ty::Value => json!(true),
        Ty::JsonMap => json!({"type": "object", "additionalProperties": true}),
        Ty::Vec(e) => json!({"type": "array", "items": ty_schema(e, deps)}),
        Ty::Map(v) => json!({"type": "object", "additionalProperties": ty_schema(v, deps)}),
        Ty::Option(inner) => match ty_schema(inner, deps) {
            // Any JSON already takes null.
            Value::Bool(true) => json!(true),
            s => json!({"anyOf": [s, {"type": "null"}]}),
        },
        Ty::Box(inner) => ty_schema(inner, deps),
        Ty::Named(_) | Ty::Shared(_) | Ty::Enum(_) | Ty::Query(_) | Ty::Runtime(_) => deps.hole(t),
    }
}

/// A schema as a raw string literal of JSON text that is printable ASCII only: other
/// characters are written as JSON escapes (`\u202e`), so no bidi control or invisible
/// character reaches the source, and the literal's `#`s outnumber any in the text.
fn json_literal(schema: &Value) -> TokenStream {
    let mut text = String::new();
    for c in schema.to_string().chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            text.push(c);
        } else {
            // serde_json already escaped the control characters in strings; structural
            // text is ASCII. What is left is non-ASCII inside strings.
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                text.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    let mut hashes = 1;
    while text.contains(&format!("\"{}", "#".repeat(hashes))) {
        hashes += 1;
    }
    let h = "#".repeat(hashes);
    format!("r{h}\"{text}\"{h}")
        .parse()
        .unwrap_or_else(|_| proc_macro2::Literal::string(&text).into_token_stream())
}
