//! JSON Schemas of the generated types (cargo feature `schemars`).
//!
//! Every generated request and response type implements [`schemars::JsonSchema`] when the
//! generated crate's `schemars` feature is on (through [`crate::schema_data!`]: the schema
//! is JSON text written by the generator, which compiles far faster than a derive); the
//! registry's `params_schema(name)` and `result_schema(name)` return them through [`of`].
//! Such a schema is the *canonical*
//! shape: what the SDK writes when it serializes the type (JSON Schema draft 2020-12,
//! serialize contract: an optional field is one that may be left out).
//!
//! A portal is looser than that (`"42"` for an integer, `"Y"` for `true`, `[]` for an
//! empty object, `false` for an absent value); the decoders accept it (see [`crate::loose`]).
//! [`loosen`] widens a canonical schema to those forms, so that what the decoder accepts
//! validates against the loosened schema.

use schemars::{JsonSchema, Schema, SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

/// The canonical schema of `T` as JSON: draft 2020-12, named types under `$defs`.
pub fn of<T: JsonSchema>() -> Value {
    let generator = SchemaGenerator::new(SchemaSettings::draft2020_12().for_serialize());
    generator.into_root_schema_for::<T>().to_value()
}

/// The schema of an enum of strings that keeps values it does not list (`string_enum!`):
/// any string, the listed values named first.
#[doc(hidden)]
pub fn open_strings(values: &[&str]) -> Schema {
    open(
        values.iter().map(|v| Value::from(*v)).collect(),
        json!({"type": "string"}),
    )
}

/// The schema of an enum of integers that keeps values it does not list (`int_enum!`).
#[doc(hidden)]
pub fn open_integers(values: &[i64]) -> Schema {
    open(
        values.iter().map(|v| Value::from(*v)).collect(),
        json!({"type": "integer"}),
    )
}

/// The schema of an enum of strings and integers that keeps any other JSON value.
#[doc(hidden)]
pub fn open_values(values: Vec<Value>) -> Schema {
    open(values, json!(true))
}

fn open(values: Vec<Value>, other: Value) -> Schema {
    let v = json!({"anyOf": [{"enum": values}, other]});
    Schema::try_from(v).unwrap_or_default()
}

/// Gives an enum of values written with [`crate::string_enum!`] / [`crate::int_enum!`] its
/// `JsonSchema` impl (empty without the runtime's `schemars` feature).
#[doc(hidden)]
#[macro_export]
macro_rules! __enum_schema {
    ($name:ident, $helper:ident, [$($value:literal),*]) => {
        $crate::__json_schema_impl!($name, _generator => $crate::schema::$helper(&[$($value),*]));
    };
}

/// The one `JsonSchema` impl shape of the runtime's macros: named after the type, identified
/// by its module path and name (so types of one name in two modules stay two definitions),
/// with `$body` as the schema (`$generator` names the schema generator in it).
#[doc(hidden)]
#[macro_export]
macro_rules! __json_schema_impl {
    ($name:ident, $generator:ident => $body:expr) => {
        impl $crate::schema::__private::JsonSchema for $name {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(stringify!($name))
            }
            fn schema_id() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(concat!(module_path!(), "::", stringify!($name)))
            }
            fn json_schema(
                $generator: &mut $crate::schema::__private::SchemaGenerator,
            ) -> $crate::schema::__private::Schema {
                $body
            }
        }
    };
}

/// The schema of a generated type from its JSON text (see [`crate::schema_data!`]): every
/// hole `{"$dep": i}` becomes the schema `deps[i]` gives (a `$ref` to a definition the
/// generator collects), keeping any keys written beside the hole (a field's description).
#[doc(hidden)]
pub fn data(
    generator: &mut SchemaGenerator,
    text: &str,
    deps: &[fn(&mut SchemaGenerator) -> Schema],
) -> Schema {
    // The text is written by the generator and checked by its tests; were it ever unreadable,
    // the schema would say nothing (accept anything) rather than fail at run time.
    let mut v: Value = serde_json::from_str(text).unwrap_or(Value::Bool(true));
    fill(&mut v, generator, deps, 0);
    Schema::try_from(v).unwrap_or_default()
}

/// The schema of `T` as a subschema (a `$ref` for a named type), for [`data`]'s holes.
#[doc(hidden)]
pub fn sub<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

fn fill(
    v: &mut Value,
    generator: &mut SchemaGenerator,
    deps: &[fn(&mut SchemaGenerator) -> Schema],
    depth: usize,
) {
    if depth > DEPTH {
        return;
    }
    match v {
        Value::Object(o) => {
            // A hole's index is a number; a property of that name holds a schema (an object).
            let hole = o.get("$dep").and_then(Value::as_u64);
            if let Some(i) = hole {
                o.remove("$dep");
                let dep = usize::try_from(i).ok().and_then(|i| deps.get(i));
                if let Some(Value::Object(s)) = dep.map(|f| f(generator).to_value()) {
                    for (k, x) in s {
                        o.entry(k).or_insert(x);
                    }
                }
                return;
            }
            for x in o.values_mut() {
                fill(x, generator, deps, depth + 1);
            }
        }
        Value::Array(a) => {
            for x in a {
                fill(x, generator, deps, depth + 1);
            }
        }
        _ => {}
    }
}

/// The `JsonSchema` impl of a generated struct, union or newtype: its schema as JSON text
/// with holes for the named types it refers to, listed in hole order. Written by
/// `cargo xtask generate`; a derive would cost far more to compile.
#[doc(hidden)]
#[macro_export]
macro_rules! schema_data {
    ($name:ident, $text:literal, [$($dep:ty),* $(,)?]) => {
        $crate::__json_schema_impl!($name, generator => $crate::schema::data(
            generator,
            $text,
            &[$($crate::schema::sub::<$dep>),*],
        ));
    };
}

/// What the macros' expansions name.
#[doc(hidden)]
pub mod __private {
    pub use schemars::{JsonSchema, Schema, SchemaGenerator};
}

/// How deep [`loosen`] walks before it leaves a schema as it is (schemas nest types by `$ref`,
/// so real ones are shallow).
const DEPTH: usize = 64;

/// Widens a canonical schema (from [`of`]) to the loose forms the decoders accept:
///
/// | canonical | also valid |
/// |---|---|
/// | integer | a string of an integer (`"42"`, `" 42 "`, `"+42"`, `"42.00"`) |
/// | number | a string of a number (`"1500.00"`) |
/// | boolean | `0`, `1`, `"Y"`/`"N"`, `"1"`/`"0"`, `"true"`/`"false"` (any case) |
/// | string | a number |
/// | object | `[]`; a map also a list of its values |
/// | array | `{}` |
/// | optional property | `null`, `false`, `""`, `[]` (absent) |
///
/// The loosened schema may accept a little more than the decoder (a 20-digit integer,
/// `"1e999"`); it never rejects what the decoder reads.
pub fn loosen(schema: &mut Value) {
    walk(schema, 0);
}

fn walk(s: &mut Value, depth: usize) {
    let Some(obj) = s.as_object_mut() else {
        return;
    };
    if depth > DEPTH {
        return;
    }
    for key in ["$defs", "definitions", "properties", "patternProperties"] {
        if let Some(Value::Object(m)) = obj.get_mut(key) {
            for v in m.values_mut() {
                walk(v, depth + 1);
            }
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(a)) = obj.get_mut(key) {
            for v in a {
                walk(v, depth + 1);
            }
        }
    }
    for key in ["items", "additionalProperties", "not"] {
        if let Some(v) = obj.get_mut(key) {
            walk(v, depth + 1);
        }
    }
    // Optional properties: PHP's spellings of "absent".
    let required: Vec<String> = match obj.get("required") {
        Some(Value::Array(r)) => r
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    };
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        for (k, v) in props.iter_mut() {
            if !required.contains(k) {
                let inner = std::mem::take(v);
                *v = json!({"anyOf": [inner, {"enum": [null, false, ""]}, empty_array()]});
            }
        }
    }
    let alternatives = alternatives(obj);
    if alternatives.is_empty() {
        return;
    }
    // The node itself becomes the first branch; the definitions stay at the top.
    let mut top = Map::new();
    for key in [
        "$schema",
        "$id",
        "$defs",
        "definitions",
        "title",
        "description",
    ] {
        if let Some(v) = obj.remove(key) {
            top.insert(key.to_owned(), v);
        }
    }
    let node = Value::Object(std::mem::take(obj));
    let mut branches = vec![node];
    branches.extend(alternatives);
    top.insert("anyOf".to_owned(), Value::Array(branches));
    *obj = top;
}

/// The loose forms a node of the given `type`s also takes (none for a node without `type`).
fn alternatives(obj: &Map<String, Value>) -> Vec<Value> {
    let types: Vec<&str> = match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    for t in types {
        match t {
            "integer" => out.push(json!({
                "type": "string",
                "pattern": "^\\s*[+-]?[0-9]+(\\.0+)?\\s*$"
            })),
            "number" => out.push(json!({
                "type": "string",
                "pattern": "^\\s*[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?\\s*$"
            })),
            "boolean" => {
                out.push(json!({"enum": [0, 1]}));
                out.push(json!({
                    "type": "string",
                    "pattern": "^\\s*([yYnN01]|[tT][rR][uU][eE]|[fF][aA][lL][sS][eE])\\s*$"
                }));
            }
            "string" => out.push(json!({"type": "number"})),
            "object" => {
                let map_of = match (obj.get("properties"), obj.get("additionalProperties")) {
                    (None, Some(v @ Value::Object(_))) => Some(v.clone()),
                    _ => None,
                };
                out.push(match map_of {
                    Some(values) => json!({"type": "array", "items": values}),
                    None => empty_array(),
                });
            }
            "array" => out.push(json!({"type": "object", "maxProperties": 0})),
            _ => {}
        }
    }
    out
}

fn empty_array() -> Value {
    json!({"type": "array", "maxItems": 0})
}

/// A `JsonSchema` impl with a fixed schema, for the runtime's hand-written wire types.
macro_rules! fixed_schema {
    ($($t:ty => $name:literal, $schema:expr;)*) => {$(
        impl JsonSchema for $t {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
            fn schema_id() -> std::borrow::Cow<'static, str> {
                concat!("bitrix24_runtime::", $name).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                Schema::try_from($schema).unwrap_or_default()
            }
        }
    )*};
}

/// `ASC` or `DESC`, in any case (as `Direction` reads them; it writes capitals).
const DIRECTION: &str = "^([aA][sS][cC]|[dD][eE][sS][cC])$";

fixed_schema! {
    // Any keys (`>=DATE_MODIFY`, `@ID`, ...) and values.
    crate::Filter => "Filter", json!({"type": "object"});
    crate::Direction => "Direction", json!({"type": "string", "pattern": DIRECTION});
    crate::Order => "Order", json!({
        "type": "object",
        "additionalProperties": {"type": "string", "pattern": DIRECTION}
    });
    crate::Select => "Select", json!({"type": "array", "items": {"type": "string"}});
    // `chat42`, `sg7`, a user id (as text or a number); other text is kept.
    crate::DialogId => "DialogId", json!({"type": ["string", "integer"]});
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Leaf;
    crate::schema_data!(Leaf, r#"{"type":"integer","description":"a leaf"}"#, []);
    struct Node;
    crate::schema_data!(
        Node,
        r#"{"type":"object","properties":{"a":{"$dep":0,"description":"first"},"$dep":{"type":"array","items":{"$dep":0}},"b":{"anyOf":[{"$dep":1},{"type":"null"}]}},"required":["a"]}"#,
        [Leaf, Vec<Leaf>]
    );

    #[test]
    fn holes_become_refs_and_keep_their_siblings() {
        let s = of::<Node>();
        assert_eq!(
            s["properties"]["a"],
            json!({"$ref": "#/$defs/Leaf", "description": "first"})
        );
        // A property named `$dep` is a property: its value is a schema, not an index.
        assert_eq!(
            s["properties"]["$dep"]["items"],
            json!({"$ref": "#/$defs/Leaf"})
        );
        assert_eq!(
            s["properties"]["b"]["anyOf"][0],
            json!({"type": "array", "items": {"$ref": "#/$defs/Leaf"}})
        );
        assert_eq!(
            s["$defs"]["Leaf"],
            json!({"type": "integer", "description": "a leaf"})
        );
        assert_eq!(s["required"], json!(["a"]));
    }

    #[test]
    fn a_hole_without_a_type_or_unreadable_text_says_nothing() {
        let mut generator = SchemaGenerator::default();
        let s = data(&mut generator, r#"{"$dep": 3, "description": "x"}"#, &[]);
        assert_eq!(s.to_value(), json!({"description": "x"}));
        let s = data(&mut generator, "{not json", &[]);
        assert_eq!(s.to_value(), json!(true));
    }
}
