//! Reconciles an imported schema with the page's JSON examples: the importer's second source
//! of facts after the docs' tables. Pure, bounded by [`MAX_DEPTH`], never panics.
//!
//! [`result`] walks the `returns` schema beside the response example's `result`, [`request`]
//! walks the `params` schema beside every request example of the page (cURL, JS, PHP), all
//! values of one place at once. The tables say what the docs mean; the examples show what the
//! wire carries. The rules:
//!
//! 1. **Open places take the examples' shape.** Where the schema says nothing (any JSON, a
//!    bare named type the importer could not resolve, an object without properties, an array
//!    without items), the merged shape of every value seen there replaces it (`nullable` kept,
//!    and the docs' name of the type, `x-bitrix-type: user.id`, when the shape is a scalar; an
//!    object made from examples stays unnamed, while one the tables built from a named type,
//!    `x-bitrix-type: deal`, is no open place and keeps its name under rule 4).
//!    A bare `array` / `object` of the docs beside only empty ones is a list / map of any JSON.
//! 2. **Shapes merge over all values.** Objects: the union of their keys, every key optional;
//!    arrays: the shape of all their items (of all arrays); scalars by kind (`boolean`,
//!    `integer`, `number` when any is fractional, `string` when any is text, since the loose
//!    decoder reads numbers from strings, not the reverse; a whole number under a key named
//!    for money, a quantity or a rate, `PRICE`, `taxRate`, is a `number`). `null` and a lone
//!    `[]` or `{}` say nothing (PHP writes `[]` for an empty map and an empty list); `false`
//!    and `""` beside values of another kind are PHP's "absent" for an optional key; a list's
//!    item that is sometimes `[]` is a union of a list and its scalar. Kinds that no one type
//!    reads (a number and an object) leave the place any JSON.
//! 3. **Names only from wire names.** An object key becomes a property only when it is a name
//!    (letters, digits, `_`, `.`, `-`, `~`, inner spaces, a colon only before a space; not
//!    starting with a digit, `.` or `-`), not an access code (`U503`) and not a placeholder or
//!    one portal's custom field ([`docs::is_placeholder_key`]: `UF_CRM_…`,
//!    `UF_CRM_1720019876534`, `PARENT_ID_1222`). Other keys (filter operators `>=ID`, CSS
//!    selectors, `bitrix:catalog.section`, user fields) stay in the open map: every object
//!    made from an example keeps `additionalProperties: true`. An object whose keys are all
//!    integers, access codes (`U503`, `D15`, `AU`), languages (`ru`, `en`) or generated names
//!    holding objects (`upload5249`), or that is also sent as a list, is a map
//!    (`additionalProperties` of its values' merged shape), never a struct. Values never
//!    become enum variants: an enum only comes from the docs' literal list.
//! 4. **What the tables declare is kept when the examples agree:** types, enums, formats,
//!    names, nested tables. Missing keys are added beside the declared ones. Where they
//!    disagree, the example is the wire's evidence and the fix is the narrowest type that
//!    reads both:
//!    - a scalar kind that the loose decoder cannot read the example as is widened
//!      (`integer` → `number` → `string`), dropping its enum and format; a `string` beside
//!      flags becomes a `boolean` (which reads `Y`/`N`); otherwise two scalar kinds become a
//!      union;
//!    - a declared object or list beside scalar examples, or a declared scalar beside an
//!      object or list, becomes a union of the example's shape and the declared type;
//!    - an object beside a list of such objects becomes a list of it; a list beside an object
//!      keyed by ids becomes a map of its items (a map also reads a list); a list beside an
//!      object with named keys becomes the object (the docs wrote `object[]` for one object);
//!    - a declared object beside objects keyed by ids or codes, or holding none of its keys
//!      but only objects that do (`items: {"ftmlt": {"code": …}}`), becomes a map of it;
//!    - a key marked required that an example leaves out, sends as `null` or as a PHP
//!      "absent" the type does not read, or spells in another case (`ID` for `id`), is no
//!      longer required; the other spelling becomes a property of the declared type only
//!      where its Rust field sorts after the declared one's (`id` beside `ID`: `id_2`), else
//!      it stays in the open map (it would rename the declared field, `fields` → `fields_2`).
//! 5. **Queries stay open.** A request's top-level `filter` and `order` are never given a
//!    shape (the generator makes them the runtime's `Filter` / `Order`) unless the table
//!    types them (fields of their own, a direction `ASC`/`DESC` that the examples fit); when
//!    the table types them as something the example does not fit (a list for a map), or
//!    leaves them out, they become open objects. `select` is typed only as a list of names,
//!    never a struct (also sent as a map of names, `{"0": "*", "language": "ru"}`: either).
//!    The table-side request rules that run before this walk (a classic `filter` open without
//!    examples too, the examples' spelling of a declared key) are in `import_params`.
//! 6. **What a page shows only as `null`** (or `[]`) is typed from the other pages
//!    ([`Evidence`]): the kind the examples of the method's scope show for that key under the
//!    same parent key, else anywhere in the scope, when one type reads them all (a list or map
//!    of any JSON when they show lists or maps); a map's values, when that holds for every
//!    key. A `*.fields` example counts too: each field's descriptor `type` (`string`,
//!    `datetime`, `integer`, `user`, `double`, …; a list when `isMultiple`) anywhere in the
//!    scope; its own keys (field names holding descriptors) are no values. Without evidence, a key whose last word names a scalar on every page of the docs
//!    (`…_ID`, `…By`, `…_DATE`, `…Time`, `COMMENT`, `…Text`, `…Code`) is a nullable string
//!    (which reads numbers too); any other such key stays in the open map.
//! 7. **Nothing is loosened to any JSON**: a place the tables type is never made any JSON;
//!    places the walk does not reach (deeper than [`MAX_DEPTH`], `$ref`, `oneOf`) are left as
//!    they are.

use crate::docs;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// How deep the walk goes below the schema's root; deeper places are left as they are.
pub const MAX_DEPTH: usize = 12;

/// The mark of a place whose every value on the page is `null` or an empty `[]` / `{}`, until
/// [`settle`] types it from [`Evidence`] or puts back what was there (`false`: nothing, the
/// key is left to the open map); never reaches a spec.
const NULL_ONLY: &str = "x-reconcile-null-only";
/// Beside [`NULL_ONLY`]: the values include an empty `[]` or `{}` (so only a list or a map
/// can type the place).
const EMPTY_SEEN: &str = "x-reconcile-empty";
/// Beside [`NULL_ONLY`] on a map's values: the map's keys on the page.
const MAP_KEYS: &str = "x-reconcile-keys";

/// The `returns` schema reconciled with the response example's `result` (`None`: no example).
/// `scope` is the method's first segment, where `evidence` (the other pages' results) is
/// looked up.
pub fn result(
    schema: Value,
    example: Option<&Value>,
    scope: &str,
    evidence: Option<&Evidence>,
) -> Value {
    match example {
        Some(ex) => settle(fit(schema, &[ex], 0, Place::Item), scope, evidence),
        None => schema,
    }
}

/// The `params` schema reconciled with every request example of the page.
pub fn request(schema: Value, examples: &[&Value]) -> Value {
    if examples.is_empty() {
        return schema;
    }
    settle(fit(schema, examples, 0, Place::Params), "", None)
}

// ---- the other pages' evidence -----------------------------------------------------------------

const BOOL: u8 = 1;
const INT: u8 = 2;
const FLOAT: u8 = 4;
const TEXT: u8 = 8;
const LIST: u8 = 16;
const MAP: u8 = 32;
/// The parent of every key's scope-wide entry (no key is spelt so: it is not a name).
const ANYWHERE: &str = "*";

/// What the examples of all pages (results and requests) show of each key, by scope, the
/// nearest enclosing key that is a name (rule 3; `""` at the top) and the key: the kinds of its
/// non-null values, also summed over the whole scope. A key that one page shows only as `null`
/// takes the scalar kind other pages of its scope show at the same place (`dateCanceled` under
/// `order`), else anywhere in the scope, and nothing when they show kinds that no one scalar
/// type reads, or a list or object. Built from every page, so it does not depend on their
/// order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Evidence {
    kinds: BTreeMap<(String, String, String), u8>,
}

impl Evidence {
    /// Records one page's example (a result or a request's parameters), for methods of
    /// `scope`.
    pub fn add(&mut self, scope: &str, example: &Value) {
        self.record(scope, "", example, 0);
    }

    /// Records what a `*.fields` example says of the entity's fields: a map of field names to
    /// descriptors (`{"type": "string", "isMultiple": false, …}`), or such a map under one
    /// key. Each field with a descriptor type that names a scalar (`string`, `char`,
    /// `datetime`, `integer`, `user`, `double`, `boolean`, …) counts, anywhere in the scope,
    /// as a value of that kind; a multiple one as a list. Other types say nothing.
    pub fn add_fields(&mut self, scope: &str, result: &Value) {
        let Some(m) = result.as_object() else {
            return;
        };
        let descriptors = |m: &Map<String, Value>| {
            m.values()
                .all(|d| d.get("type").is_some_and(Value::is_string))
        };
        let map = if !m.is_empty() && descriptors(m) {
            m
        } else {
            match m.values().next() {
                Some(Value::Object(inner)) if m.len() == 1 && descriptors(inner) => inner,
                _ => return,
            }
        };
        for (field, d) in map {
            let multiple = d.get("isMultiple").and_then(Value::as_bool) == Some(true);
            let bit = match d.get("type").and_then(Value::as_str).unwrap_or("") {
                _ if multiple => LIST,
                "string" | "char" | "text" | "date" | "datetime" | "crm_status"
                | "crm_currency" | "enum" | "enumeration" => TEXT,
                "integer" | "int" | "user" | "employee" | "crm_company" | "crm_contact"
                | "crm_lead" | "crm_deal" => INT,
                "double" | "float" | "number" => FLOAT,
                "boolean" | "bool" => BOOL,
                _ => continue,
            };
            if is_name_key(field) {
                *self
                    .kinds
                    .entry((scope.to_owned(), ANYWHERE.to_owned(), field.clone()))
                    .or_default() |= bit;
            }
        }
    }

    fn record(&mut self, scope: &str, parent: &str, v: &Value, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let bit = match x {
                        Value::Null => 0,
                        Value::Bool(_) => BOOL,
                        Value::Number(n) if n.is_i64() => INT,
                        Value::Number(_) => FLOAT,
                        Value::String(_) => TEXT,
                        _ if empty_container(x) => 0,
                        Value::Array(_) => LIST,
                        Value::Object(_) => MAP,
                    };
                    if bit != 0 {
                        for p in [parent, ANYWHERE] {
                            *self
                                .kinds
                                .entry((scope.to_owned(), p.to_owned(), k.clone()))
                                .or_default() |= bit;
                        }
                    }
                    let next = if is_name_key(k) { k.as_str() } else { parent };
                    self.record(scope, next, x, depth + 1);
                }
            }
            Value::Array(items) => {
                for x in items {
                    self.record(scope, parent, x, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// The type the other pages show for `key` under `parent` (else anywhere in the scope), if
    /// one reads them all: a scalar type, or a list or map of any JSON (whose items say
    /// nothing here). `empty`: the page shows an empty `[]` / `{}` there, which only a list
    /// or a map reads.
    fn kind(&self, scope: &str, parent: &str, key: &str, empty: bool) -> Option<Value> {
        let at = |p: &str| {
            self.kinds
                .get(&(scope.to_owned(), p.to_owned(), key.to_owned()))
                .copied()
        };
        let bits = at(parent).or_else(|| at(ANYWHERE))?;
        let ty = match bits {
            LIST => return Some(json!({"type": "array", "nullable": true})),
            MAP => {
                return Some(
                    json!({"type": "object", "additionalProperties": true, "nullable": true}),
                );
            }
            _ if empty => return None,
            BOOL => "boolean",
            INT => "integer",
            b if b & (BOOL | LIST | MAP) != 0 => return None,
            b if b & TEXT != 0 => "string",
            _ => "number",
        };
        Some(json!({"type": ty, "nullable": true}))
    }
}

/// Replaces every [`NULL_ONLY`] mark: by the evidence's type for a property, else by what was
/// there before (a new property is left out, to the open map).
fn settle(mut schema: Value, scope: &str, evidence: Option<&Evidence>) -> Value {
    settle_at(&mut schema, "", scope, evidence, 0);
    schema
}

fn unmark(s: &mut Value) {
    if let Some(before) = s.get(NULL_ONLY).cloned() {
        *s = match before {
            Value::Object(_) | Value::Bool(true) => before,
            _ => json!({}),
        };
    }
}

fn settle_at(s: &mut Value, parent: &str, scope: &str, ev: Option<&Evidence>, depth: usize) {
    if depth > 2 * MAX_DEPTH + 4 {
        unmark(s);
        return;
    }
    unmark(s);
    let Some(obj) = s.as_object_mut() else {
        return;
    };
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        let marked: Vec<String> = props
            .iter()
            .filter(|(_, p)| p.get(NULL_ONLY).is_some())
            .map(|(k, _)| k.clone())
            .collect();
        for k in marked {
            let Some(p) = props.get_mut(&k) else {
                continue;
            };
            let empty = p.get(EMPTY_SEEN).is_some();
            let by_name =
                (!empty && names_a_scalar(&k)).then(|| json!({"type": "string", "nullable": true}));
            match ev
                .and_then(|e| e.kind(scope, parent, &k, empty))
                .or(by_name)
            {
                Some(t) => *p = t,
                None => {
                    unmark(p);
                    if *p == json!({}) {
                        props.remove(&k);
                    }
                }
            }
        }
        for (k, p) in props.iter_mut() {
            let next = if is_name_key(k) { k.as_str() } else { parent };
            settle_at(p, next, scope, ev, depth + 1);
        }
    }
    // A map's values the page shows only as `null`: typed when the other pages show one type
    // for every key the page gives.
    if let Some(a) = obj.get_mut("additionalProperties")
        && a.get(NULL_ONLY).is_some()
    {
        let empty = a.get(EMPTY_SEEN).is_some();
        let keys: Vec<&str> = a
            .get(MAP_KEYS)
            .and_then(Value::as_array)
            .map(|k| k.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let kinds: Vec<Option<Value>> = keys
            .iter()
            .map(|k| ev.and_then(|e| e.kind(scope, parent, k, empty)))
            .collect();
        match kinds.first() {
            Some(Some(t)) if kinds.iter().all(|k| k.as_ref() == Some(t)) => *a = t.clone(),
            _ => unmark(a),
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(x) = obj.get_mut(key) {
            settle_at(x, parent, scope, ev, depth + 1);
        }
    }
    if let Some(Value::Array(branches)) = obj.get_mut("oneOf") {
        for b in branches {
            settle_at(b, parent, scope, ev, depth + 1);
        }
    }
}

/// The mark for a place that every value leaves unsaid (`null`, `[]`, `{}`), holding what
/// was there (`false`: nothing).
fn unsaid(values: &[&Value], before: Value) -> Option<Value> {
    let said = values.iter().any(|v| !v.is_null() && !empty_container(v));
    if values.is_empty() || said {
        return None;
    }
    let mut m = json!({ NULL_ONLY: before });
    if values.iter().any(|v| empty_container(v)) {
        m[EMPTY_SEEN] = Value::Bool(true);
    }
    Some(m)
}

/// Where the values stand: the request's top level, an optional property, or a place that
/// `null`, `false` and `""` do not leave empty (a list's items, a map's values, the root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Params,
    Property,
    Item,
}

fn is_query(key: &str) -> bool {
    key.eq_ignore_ascii_case("filter") || key.eq_ignore_ascii_case("order")
}

/// Whether a key may become a property name (rule 3).
pub fn is_name_key(k: &str) -> bool {
    let mut chars = k.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_' || first == '~')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '~' | ' ' | ':'))
        && !k.ends_with(' ')
        // A colon only as in `REST: available methods`, not `bitrix:catalog.section`.
        && k.match_indices(':').all(|(i, _)| k[i + 1..].starts_with(' '))
        && !is_code_key(k)
        && !docs::is_placeholder_key(k)
}

/// An access code or another record's code: one or two capitals and an id (`U503`, `D15`,
/// `SG12`).
fn is_code_key(k: &str) -> bool {
    let letters = k.bytes().take_while(u8::is_ascii_uppercase).count();
    (1..=2).contains(&letters)
        && k.len() > letters
        && k.bytes().skip(letters).all(|b| b.is_ascii_digit())
}

/// An access code without an id (`AU`: every authorised user, `CR`: the creator).
fn is_group_code(k: &str) -> bool {
    matches!(k, "AU" | "CR")
}

/// Languages the portals are localised in, as the docs' language maps key them.
const LANGUAGES: &[&str] = &[
    "ru", "en", "de", "ua", "uk", "by", "kz", "la", "br", "fr", "pl", "it", "tr", "ja", "vn", "id",
    "ms", "th", "ar", "sp", "es", "mx", "cn", "sc", "tc", "tw", "pt", "zh", "hi", "he",
];

/// An object keyed by ids, access codes or languages: a map, never a struct.
fn keyed_by_ids(m: &Map<String, Value>) -> bool {
    !m.is_empty()
        && (m
            .keys()
            .all(|k| is_int_key(k) || is_code_key(k) || is_group_code(k))
            && m.keys().any(|k| !is_group_code(k))
            || m.iter()
                .all(|(k, v)| (is_int_key(k) || docs::is_placeholder_key(k)) && v.is_object())
            || m.keys().all(|k| LANGUAGES.contains(&k.as_str()))
                && m.keys()
                    .any(|k| matches!(k.as_str(), "ru" | "en" | "de" | "ua")))
}

fn is_int_key(k: &str) -> bool {
    !k.is_empty() && k.len() <= 19 && k.bytes().all(|b| b.is_ascii_digit())
}

/// A non-empty object whose keys are all integers.
fn int_keyed(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|m| !m.is_empty() && m.keys().all(|k| is_int_key(k)))
}

fn empty_container(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn is_container(v: &Value) -> bool {
    v.is_array() || v.is_object()
}

// ---- the examples' shape ----------------------------------------------------------------------

/// The merged shape of `values` (rule 2), `{}` when they say nothing or no one type reads all.
fn shape_at(values: &[&Value], depth: usize, place: Place) -> Value {
    if depth > MAX_DEPTH {
        return json!({});
    }
    let mut vals: Vec<&Value> = values.iter().copied().filter(|v| !v.is_null()).collect();
    // PHP's "absent" beside values of another kind, where an absent value is allowed.
    if place != Place::Item {
        let others = |f: &dyn Fn(&Value) -> bool| vals.iter().any(|v| !f(v));
        let drop_false = others(&|v| v.is_boolean());
        let drop_empty = others(&|v| v.is_string());
        vals.retain(|v| {
            !(drop_false && **v == Value::Bool(false) || drop_empty && v.as_str() == Some(""))
        });
    }
    let nullable = place == Place::Item && values.iter().any(|v| v.is_null());
    let mut s = shape_of(&vals, depth);
    if nullable && s.get("type").is_some() {
        s["nullable"] = Value::Bool(true);
    }
    // A list's item or a map's value that is sometimes an empty PHP array.
    if place == Place::Item && vals.iter().any(|v| empty_container(v)) && is_scalar(&s) {
        s = json!({"oneOf": [{"type": "array"}, s]});
    }
    s
}

fn is_scalar(s: &Value) -> bool {
    kind_of(s).is_some_and(|k| k != "object" && k != "array")
}

fn shape_of(vals: &[&Value], depth: usize) -> Value {
    let full: Vec<&Value> = vals
        .iter()
        .copied()
        .filter(|v| !empty_container(v))
        .collect();
    if full.is_empty() {
        return json!({});
    }
    if full.iter().any(|v| !is_container(v)) {
        return if full.iter().all(|v| !is_container(v)) {
            scalar_shape(&full)
        } else {
            json!({})
        };
    }
    let maps: Vec<&Map<String, Value>> = full.iter().filter_map(|v| v.as_object()).collect();
    let lists: Vec<&Vec<Value>> = full.iter().filter_map(|v| v.as_array()).collect();
    if maps.is_empty() {
        let items: Vec<&Value> = lists.iter().copied().flatten().collect();
        return list_of(shape_at(&items, depth + 1, Place::Item));
    }
    // Keyed by ids (integers, access codes, generated names holding objects, languages), or
    // sent as a list too (a PHP array): a map of the merged values, which also reads a list.
    if maps.iter().all(|m| keyed_by_ids(m)) || !lists.is_empty() {
        let mut inner: Vec<&Value> = maps.iter().flat_map(|m| m.values()).collect();
        inner.extend(lists.iter().copied().flatten());
        if let Some(mut mark) = unsaid(&inner, Value::Bool(true)) {
            // Only `null`s: the other pages may say what its keys hold.
            let mut keys: Vec<&String> = maps.iter().flat_map(|m| m.keys()).collect();
            keys.sort_unstable();
            keys.dedup();
            mark[MAP_KEYS] = json!(keys);
            return json!({"type": "object", "additionalProperties": mark});
        }
        return map_of(shape_at(&inner, depth + 1, Place::Item));
    }
    let mut props = Map::new();
    for m in &maps {
        for k in m.keys() {
            if is_name_key(k) && !props.contains_key(k) {
                props.insert(k.clone(), Value::Null);
            }
        }
    }
    for (k, p) in props.iter_mut() {
        let inner: Vec<&Value> = maps.iter().filter_map(|m| m.get(k)).collect();
        *p = property_shape(k, &inner, depth + 1);
    }
    props.retain(|_, p| *p != json!({}));
    json!({"type": "object", "properties": props, "additionalProperties": true})
}

/// The shape of a new property: the values' shape, or the marker [`NULL_ONLY`] when every
/// value is `null` or empty (the evidence of other pages may type it, see [`Evidence`]).
fn property_shape(key: &str, values: &[&Value], depth: usize) -> Value {
    if let Some(mark) = unsaid(values, Value::Bool(false)) {
        return mark;
    }
    let mut s = shape_at(values, depth, Place::Property);
    if kind_of(&s) == Some("integer") && is_measure(key) {
        s["type"] = json!("number");
    }
    s
}

/// A key named for money, a quantity or a rate (`PRICE`, `opportunity`, `taxRate`,
/// `QUANTITY`): an example's whole number there is a number that may have a fraction.
fn is_measure(key: &str) -> bool {
    const WORDS: &[&str] = &[
        "price",
        "sum",
        "amount",
        "opportunity",
        "quantity",
        "discount",
        "rate",
        "tax",
        "vat",
        "cost",
        "weight",
        "ratio",
        "percent",
        "coefficient",
    ];
    words(key).iter().any(|w| {
        let w = w.strip_suffix('s').unwrap_or(w);
        WORDS.contains(&w)
    })
}

/// A key whose last word names a scalar on every page of the docs (`DELETED_BY`,
/// `DELETE_TIME`, `xmlId`, `COMMENT`, `previewText`): a place shown only as `null` there is a
/// (nullable) string, which the loose decoder also reads numbers into.
fn names_a_scalar(key: &str) -> bool {
    const LAST: &[&str] = &[
        "id",
        "by",
        "date",
        "time",
        "until",
        "at",
        "duration",
        "delay",
        "comment",
        "description",
        "keywords",
        "url",
        "code",
        "attempt",
        "text",
        "number",
        "count",
        "login",
        "hash",
        "token",
        "version",
    ];
    words(key)
        .last()
        .is_some_and(|w| LAST.contains(&w.as_str()))
}

/// A key's words, lower-cased: split at `_`, `.`, `-`, spaces and lower-to-upper case steps.
fn words(key: &str) -> Vec<String> {
    let mut words: Vec<String> = vec![String::new()];
    let mut prev_lower = false;
    for c in key.chars() {
        if matches!(c, '_' | '.' | '-' | ' ') {
            words.push(String::new());
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower {
            words.push(String::new());
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        if let Some(w) = words.last_mut() {
            w.push(c.to_ascii_lowercase());
        }
    }
    words.retain(|w| !w.is_empty());
    words
}

fn map_of(inner: Value) -> Value {
    if inner == json!({}) {
        json!({"type": "object", "additionalProperties": true})
    } else {
        json!({"type": "object", "additionalProperties": inner})
    }
}

fn list_of(inner: Value) -> Value {
    if inner == json!({}) {
        json!({"type": "array"})
    } else {
        json!({"type": "array", "items": inner})
    }
}

/// The kind every scalar value fits (`{}` for booleans beside text or numbers that are not
/// flags).
fn scalar_shape(vals: &[&Value]) -> Value {
    let bools = vals.iter().filter(|v| v.is_boolean()).count();
    if bools == vals.len() {
        return json!({"type": "boolean"});
    }
    if bools > 0 {
        return if vals.iter().all(|v| reads_as(v, "boolean")) {
            json!({"type": "boolean"})
        } else {
            json!({})
        };
    }
    if vals.iter().all(|v| v.is_i64()) {
        return json!({"type": "integer"});
    }
    if vals.iter().all(|v| v.is_number()) {
        return json!({"type": "number"});
    }
    json!({"type": "string"})
}

// ---- what the loose decoder reads ---------------------------------------------------------------

fn parse_int(t: &str) -> bool {
    let t = t.trim();
    if t.parse::<i64>().is_ok() {
        return true;
    }
    match t.split_once('.') {
        Some((whole, frac)) => {
            !frac.is_empty() && frac.bytes().all(|b| b == b'0') && whole.parse::<i64>().is_ok()
        }
        None => false,
    }
}

fn parse_number(t: &str) -> bool {
    let t = t.trim();
    !t.is_empty()
        && t.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        && t.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Whether the runtime's loose decoder reads the scalar `v` as the JSON type `kind` (see
/// `runtime/src/loose/mod.rs`).
fn reads_as(v: &Value, kind: &str) -> bool {
    match (kind, v) {
        ("boolean", Value::Bool(_)) => true,
        ("boolean", Value::Number(n)) => matches!(n.as_u64(), Some(0 | 1)),
        ("boolean", Value::String(s)) => ["y", "n", "true", "false", "1", "0"]
            .iter()
            .any(|x| s.trim().eq_ignore_ascii_case(x)),
        ("integer", Value::Number(n)) => {
            n.is_i64()
                || n.as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
        }
        ("integer", Value::String(s)) => parse_int(s),
        ("number", Value::Number(_)) => true,
        ("number", Value::String(s)) => parse_number(s),
        ("string", Value::String(_) | Value::Number(_)) => true,
        _ => false,
    }
}

/// Whether a value is PHP's "absent" for an optional place of type `kind`: `null`, and
/// `false`, `""`, `[]` where they are not values of it.
fn absent_for(v: &Value, kind: Option<&str>) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(false) => kind != Some("boolean"),
        Value::String(s) if s.is_empty() => kind != Some("string"),
        Value::Array(a) if a.is_empty() => kind != Some("array") && kind != Some("object"),
        _ => false,
    }
}

// ---- the walk ---------------------------------------------------------------------------------

fn kind_of(s: &Value) -> Option<&str> {
    s.get("type").and_then(Value::as_str)
}

/// A schema the walk does not look into: references, unions, type lists.
fn opaque(s: &Value) -> bool {
    let Some(m) = s.as_object() else {
        return true;
    };
    ["$ref", "oneOf", "anyOf", "allOf", "const"]
        .iter()
        .any(|k| m.contains_key(*k))
        || m.get("type").is_some_and(|t| !t.is_string())
}

/// Whether a schema says nothing of the value's shape (rule 1).
fn is_open(s: &Value) -> bool {
    match kind_of(s) {
        None => !s.get("enum").is_some_and(Value::is_array),
        Some("object") => {
            s.get("properties")
                .and_then(Value::as_object)
                .is_none_or(Map::is_empty)
                && s.get("additionalProperties")
                    .is_none_or(|a| *a == Value::Bool(true) || *a == json!({}))
        }
        Some("array") => s.get("items").is_none_or(|i| *i == json!({})),
        _ => false,
    }
}

/// The shape of `vals` in place of the open schema `s`, keeping its `nullable`.
fn take_shape(s: Value, vals: &[&Value], depth: usize, place: Place) -> Value {
    let mut out = shape_at(vals, depth, place);
    if out == json!({}) {
        return s;
    }
    if s.get("nullable") == Some(&Value::Bool(true)) {
        out["nullable"] = Value::Bool(true);
    }
    // The docs' name of a scalar type (`user.id`) stays beside the kind the examples show;
    // an object's would make one shared type of every page's shape (see `share`).
    if is_scalar(&out)
        && let Some(name) = s.get("x-bitrix-type").filter(|n| {
            n.as_str()
                .is_some_and(|n| n != "object" && n != "array" && !n.contains(['|', ',']))
        })
    {
        out["x-bitrix-type"] = name.clone();
    }
    out
}

fn union(a: Value, b: Value) -> Value {
    if a == b || a == json!({}) {
        return b;
    }
    json!({"oneOf": [a, b]})
}

fn fit(s: Value, values: &[&Value], depth: usize, place: Place) -> Value {
    if depth > MAX_DEPTH || opaque(&s) {
        return s;
    }
    if place != Place::Params && kind_of(&s).is_none() && is_open(&s) {
        // A bare `array` / `object` of the docs beside empty ones: a list / map of any JSON.
        let bare = s.get("x-bitrix-type").and_then(Value::as_str);
        let empties = values.iter().all(|v| v.is_null() || empty_container(v))
            && values.iter().any(|v| empty_container(v));
        match bare {
            Some("array") if empties => return json!({"type": "array"}),
            Some("object") if empties => {
                return json!({"type": "object", "additionalProperties": true});
            }
            _ => {}
        }
        if let Some(mark) = unsaid(values, s.clone()) {
            return mark;
        }
    }
    let vals: Vec<&Value> = values.iter().copied().filter(|v| !v.is_null()).collect();
    if vals.is_empty() {
        return s;
    }
    if place == Place::Params {
        // The request's top level stays an object (rule 5 applies to its keys).
        let mut s = s;
        if kind_of(&s).is_none()
            && let Some(o) = s.as_object_mut()
        {
            o.insert("type".into(), json!("object"));
        }
        if kind_of(&s) == Some("object") {
            return fit_object(s, &vals, depth, place);
        }
        return s;
    }
    if is_open(&s) {
        return take_shape(s, &vals, depth, place);
    }
    match kind_of(&s) {
        Some("object") => fit_object(s, &vals, depth, place),
        Some("array") => fit_array(s, &vals, depth, place),
        Some(k) => {
            let k = k.to_owned();
            fit_scalar(s, &k, &vals, depth, place)
        }
        None => s,
    }
}

fn fit_scalar(s: Value, kind: &str, vals: &[&Value], depth: usize, place: Place) -> Value {
    let absent_ok = place != Place::Item;
    let (containers, scalars): (Vec<&Value>, Vec<&Value>) = vals
        .iter()
        .copied()
        .filter(|v| !(absent_ok && absent_for(v, Some(kind))))
        .filter(|v| !(empty_container(v) && absent_ok))
        .partition(|v| is_container(v));
    let mut s = s;
    if scalars.iter().any(|v| !reads_as(v, kind)) {
        s = widen(s, kind, &scalars);
    }
    if !absent_ok && containers.iter().any(|v| empty_container(v)) && is_scalar(&s) {
        return json!({"oneOf": [{"type": "array"}, s]});
    }
    if !containers.is_empty() {
        let shape = shape_at(&containers, depth, place);
        if shape != json!({}) {
            return union(shape, s);
        }
    }
    s
}

/// The narrowest type that reads the declared kind's values and `scalars` (rule 4).
fn widen(mut s: Value, kind: &str, scalars: &[&Value]) -> Value {
    let all = |k: &str| scalars.iter().all(|v| reads_as(v, k));
    let to = match kind {
        "integer" if all("number") => "number",
        "integer" | "number" if all("string") => "string",
        "string" if all("boolean") => "boolean",
        _ => {
            let mut other = scalar_shape(scalars);
            if other == json!({}) || kind_of(&other) == Some(kind) {
                return s;
            }
            if let Some(m) = other.as_object_mut() {
                m.remove("nullable");
            }
            return union(s, other);
        }
    };
    if let Some(m) = s.as_object_mut() {
        m.remove("enum");
        m.remove("format");
        m.insert("type".into(), Value::String(to.into()));
    }
    s
}

fn fit_array(s: Value, vals: &[&Value], depth: usize, place: Place) -> Value {
    let absent_ok = place != Place::Item;
    let vals: Vec<&Value> = vals
        .iter()
        .copied()
        .filter(|v| !(absent_ok && absent_for(v, Some("array"))))
        .collect();
    let lists: Vec<&Value> = vals.iter().copied().filter(|v| v.is_array()).collect();
    let maps: Vec<&Value> = vals
        .iter()
        .copied()
        .filter(|v| v.as_object().is_some_and(|m| !m.is_empty()))
        .collect();
    let scalars: Vec<&Value> = vals.iter().copied().filter(|v| !is_container(v)).collect();
    let items = s.get("items").cloned().unwrap_or_else(|| json!({}));
    let mut out = s.clone();
    if !maps.is_empty() {
        if maps.iter().all(|v| int_keyed(v)) {
            // A PHP list sent as a map keyed by position or id: a map of the items (which
            // also reads a JSON list).
            let mut inner: Vec<&Value> = maps
                .iter()
                .filter_map(|v| v.as_object())
                .flat_map(|m| m.values())
                .collect();
            inner.extend(lists.iter().filter_map(|v| v.as_array()).flatten());
            let mut m = json!({"type": "object", "additionalProperties": fit(items, &inner, depth + 1, Place::Item)});
            if s.get("nullable") == Some(&Value::Bool(true)) {
                m["nullable"] = Value::Bool(true);
            }
            out = m;
        } else if lists.iter().all(|v| empty_container(v))
            && (kind_of(&items) == Some("object") || is_open(&items))
        {
            // `object[]` written for one object.
            let mut o = fit(items, &maps, depth, place);
            if s.get("nullable") == Some(&Value::Bool(true)) && o.get("type").is_some() {
                o["nullable"] = Value::Bool(true);
            }
            out = o;
        } else {
            return s;
        }
    } else {
        let inner: Vec<&Value> = lists
            .iter()
            .filter_map(|v| v.as_array())
            .flatten()
            .collect();
        if !inner.is_empty() {
            let fitted = fit(items, &inner, depth + 1, Place::Item);
            if fitted != json!({}) {
                out["items"] = fitted;
            }
        }
    }
    if !scalars.is_empty() {
        let shape = shape_at(&scalars, depth, place);
        if shape != json!({}) {
            return union(out, shape);
        }
    }
    out
}

fn fit_object(s: Value, vals: &[&Value], depth: usize, place: Place) -> Value {
    let absent_ok = place != Place::Item;
    let vals: Vec<&Value> = vals
        .iter()
        .copied()
        .filter(|v| !(absent_ok && absent_for(v, Some("object"))))
        .collect();
    let maps: Vec<&Map<String, Value>> = vals.iter().filter_map(|v| v.as_object()).collect();
    let lists: Vec<&Value> = vals
        .iter()
        .copied()
        .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        .collect();
    let scalars: Vec<&Value> = vals.iter().copied().filter(|v| !is_container(v)).collect();
    let declared = s
        .get("properties")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let has_props = !declared.is_empty();
    let nullable = s.get("nullable") == Some(&Value::Bool(true));
    let mut out = s;
    if is_map(&out) {
        // A map: its values are the items of the lists and the values of the objects.
        let mut inner: Vec<&Value> = maps.iter().flat_map(|m| m.values()).collect();
        inner.extend(lists.iter().filter_map(|v| v.as_array()).flatten());
        if let Some(a) = out.get("additionalProperties").cloned() {
            out["additionalProperties"] = fit(a, &inner, depth + 1, Place::Item);
        }
    } else if !lists.is_empty() && maps.is_empty() && has_props && place != Place::Params {
        // A list of the declared object.
        let items: Vec<&Value> = lists
            .iter()
            .filter_map(|v| v.as_array())
            .flatten()
            .collect();
        if !items.iter().all(|v| v.is_object() || v.is_null()) {
            let shape = shape_at(&lists, depth, place);
            return union(out, shape);
        }
        return json!({"type": "array", "items": fit(out, &items, depth + 1, Place::Item)});
    } else if has_props
        && place != Place::Params
        && maps.iter().any(|m| !m.is_empty())
        && maps
            .iter()
            .all(|m| m.is_empty() || keyed_by_ids(m) || map_of_declared(&declared, m))
        && !declared
            .keys()
            .any(|k| is_int_key(k) || is_code_key(k) || is_group_code(k))
    {
        // Objects keyed by ids, each the declared object.
        let inner: Vec<&Value> = maps.iter().flat_map(|m| m.values()).collect();
        if let Some(o) = out.as_object_mut() {
            o.remove("required");
            o.remove("nullable");
        }
        let mut m = json!({"type": "object", "additionalProperties": fit(out, &inner, depth + 1, Place::Item)});
        if nullable {
            m["nullable"] = Value::Bool(true);
        }
        return m;
    } else {
        fit_properties(&mut out, &maps, depth, place);
    }
    if !scalars.is_empty() && place != Place::Params {
        let shape = shape_at(&scalars, depth, place);
        if shape != json!({}) {
            return union(out, shape);
        }
    }
    out
}

/// Whether a schema is a list of strings (`select`'s list of names).
fn is_names(s: &Value) -> bool {
    kind_of(s) == Some("array") && s.get("items").and_then(|i| kind_of(i)) == Some("string")
}

/// Whether an example object holds none of the declared names, only objects that do: the
/// table describes the values of a map keyed by something else (`items: {"ftmlt": {…}}`).
fn map_of_declared(declared: &Map<String, Value>, m: &Map<String, Value>) -> bool {
    let is_declared = |k: &String| declared.keys().any(|d| d.eq_ignore_ascii_case(k));
    !m.is_empty()
        && m.iter().all(|(k, v)| {
            !is_declared(k)
                && v.as_object()
                    .is_some_and(|inner| inner.keys().any(is_declared))
        })
}

fn fit_properties(s: &mut Value, maps: &[&Map<String, Value>], depth: usize, place: Place) {
    let typed_rest = typed_additional(s).is_some();
    let Some(obj) = s.as_object_mut() else {
        return;
    };
    let mut props = match obj.remove("properties") {
        Some(Value::Object(p)) => p,
        _ => Map::new(),
    };
    let mut required: Vec<String> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let top = place == Place::Params;
    // Keys in first-seen order over the examples.
    let mut keys: Vec<&String> = Vec::new();
    for m in maps {
        for k in m.keys() {
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
    }
    let mut rest: Vec<&Value> = Vec::new();
    for k in keys {
        let inner: Vec<&Value> = maps.iter().filter_map(|m| m.get(k)).collect();
        if top && is_query(k) {
            // Rule 5: open unless the table types it (fields of its own, or a direction).
            // Another spelling of a declared one is left to the open map.
            if !props.contains_key(k.as_str()) && props.keys().any(|n| n.eq_ignore_ascii_case(k)) {
                continue;
            }
            let declared = props.get(k.as_str()).cloned();
            let containers = inner.iter().all(|v| is_container(v) || v.is_null());
            let q = match declared {
                Some(p) if is_open(&p) => p,
                Some(p) if inner.iter().all(|v| value_fits(&p, v, true)) => {
                    if kind_of(&p) == Some("object") {
                        fit(p, &inner, depth + 1, Place::Property)
                    } else {
                        p
                    }
                }
                _ if containers => json!({"x-bitrix-type": "object"}),
                Some(p) => fit(p, &inner, depth + 1, Place::Property),
                None => shape_at(&inner, depth + 1, Place::Property),
            };
            if q != json!({}) {
                props.insert(k.clone(), q);
            }
            continue;
        }
        if top && k.eq_ignore_ascii_case("select") {
            let names = inner
                .iter()
                .all(|v| v.as_array().is_some_and(|a| a.iter().all(Value::is_string)));
            // A list of names also sent as a map of them (PHP keys: `{"0": "*", "language":
            // "ru"}`): either.
            let as_map = inner.iter().any(|v| {
                v.as_object()
                    .is_some_and(|m| !m.is_empty() && m.values().all(Value::is_string))
            });
            let names_or_map = json!({"oneOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "object", "additionalProperties": {"type": "string"}}
            ]});
            match props.remove(k.as_str()) {
                Some(p) if as_map && is_names(&p) => {
                    props.insert(k.clone(), names_or_map);
                }
                Some(p) if !is_open(&p) => {
                    props.insert(k.clone(), fit(p, &inner, depth + 1, Place::Property));
                }
                _ if names => {
                    props.insert(
                        k.clone(),
                        json!({"type": "array", "items": {"type": "string"}}),
                    );
                }
                Some(p) => {
                    props.insert(k.clone(), p);
                }
                None => {}
            }
            continue;
        }
        if let Some(p) = props.remove(k.as_str()) {
            let optional = !required.contains(k);
            let fitted = fit(p, &inner, depth + 1, Place::Property);
            // A required key an example sends as "absent" is not required.
            if !optional && inner.iter().any(|v| !value_fits(&fitted, v, false)) {
                required.retain(|r| r != k);
            }
            props.insert(k.clone(), fitted);
            continue;
        }
        // A key spelt in another case than a declared one: the same parameter (the portal
        // reads both). The declared one is not required; the other spelling is a property of
        // the declared one's type only where its field sorts after the declared one's (`ID`
        // declared, `id` sent: `id_2`), else it stays in the open map (it would rename the
        // declared field: `fields` → `fields_2`) and its values are fitted into the declared
        // one.
        let twin = props
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(n, p)| (n.clone(), p.clone()));
        if let Some((name, p)) = twin {
            required.retain(|r| *r != name);
            if k.as_str() > name.as_str() {
                props.insert(k.clone(), fit(p, &inner, depth + 1, Place::Property));
            } else {
                // What it shows still types the declared spelling.
                props.insert(name, fit(p, &inner, depth + 1, Place::Property));
            }
            continue;
        }
        if typed_rest {
            rest.extend(inner);
            continue;
        }
        if !is_name_key(k) {
            continue;
        }
        let shaped = property_shape(k, &inner, depth + 1);
        if shaped != json!({}) {
            props.insert(k.clone(), shaped);
        }
    }
    // A required key some example leaves out.
    required.retain(|r| maps.iter().all(|m| m.contains_key(r)));
    if typed_rest
        && !rest.is_empty()
        && let Some(a) = obj.get("additionalProperties").cloned()
    {
        obj.insert(
            "additionalProperties".into(),
            fit(a, &rest, depth + 1, Place::Item),
        );
    }
    obj.insert("properties".into(), Value::Object(props));
    if required.is_empty() {
        obj.remove("required");
    } else {
        obj.insert(
            "required".into(),
            Value::Array(required.into_iter().map(Value::String).collect()),
        );
    }
    if !obj.contains_key("additionalProperties") {
        obj.insert("additionalProperties".into(), Value::Bool(true));
    }
}

/// Whether the loose decoder reads `v` with schema `s` at its top (kinds only; objects and
/// lists are not looked into). `optional`: `null` and PHP's "absent" values are read as none.
fn value_fits(s: &Value, v: &Value, optional: bool) -> bool {
    let kind = kind_of(s);
    if optional && absent_for(v, kind) {
        return true;
    }
    if opaque(s) || kind.is_none() {
        return true;
    }
    if v.is_null() {
        return s.get("nullable") == Some(&Value::Bool(true));
    }
    match kind {
        Some("object") => v.is_object() || empty_container(v) || v.is_array() && is_map(s),
        Some("array") => v.is_array() || empty_container(v),
        Some(k) => !is_container(v) && reads_as(v, k),
        None => true,
    }
}

/// An object schema with no properties and a schema for every value: a map.
fn is_map(s: &Value) -> bool {
    s.get("properties")
        .and_then(Value::as_object)
        .is_none_or(Map::is_empty)
        && typed_additional(s).is_some()
}

fn typed_additional(s: &Value) -> Option<&Value> {
    s.get("additionalProperties")
        .filter(|a| a.as_object().is_some_and(|m| !m.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(schema: Value, ex: Value) -> Value {
        result(schema, Some(&ex), "x", None)
    }

    fn req(schema: Value, exs: &[Value]) -> Value {
        let refs: Vec<&Value> = exs.iter().collect();
        request(schema, &refs)
    }

    fn obj(props: Value) -> Value {
        json!({"type": "object", "properties": props, "additionalProperties": true})
    }

    #[test]
    fn open_places_take_the_examples_shape() {
        let want = obj(json!({"ID": {"type": "integer"}, "NAME": {"type": "string"}}));
        let ex = json!({"ID": 1, "NAME": "a"});
        assert_eq!(res(json!({}), ex.clone()), want);
        assert_eq!(res(json!({"x-bitrix-type": "deal"}), ex.clone()), want);
        // A scalar keeps the docs' name of its type.
        assert_eq!(
            res(json!({"x-bitrix-type": "user.id"}), json!(5)),
            json!({"type": "integer", "x-bitrix-type": "user.id"})
        );
        assert_eq!(res(json!({"type": "object"}), ex.clone()), want);
        assert_eq!(
            res(json!({"type": "array"}), json!([ex.clone()])),
            json!({"type": "array", "items": want})
        );
        // `nullable` is kept.
        assert_eq!(
            res(json!({"nullable": true}), json!("a")),
            json!({"type": "string", "nullable": true})
        );
        // Deeper than the old two levels.
        let deep = json!({"a": {"b": {"c": {"d": 1}}}});
        assert_eq!(
            res(json!({}), deep)["properties"]["a"]["properties"]["b"]["properties"]["c"]["properties"]
                ["d"],
            json!({"type": "integer"})
        );
    }

    #[test]
    fn shapes_merge_over_every_item() {
        let s = res(
            json!({}),
            json!([{"A": 1}, {"B": "x", "A": 2.5}, {"A": null, "C": [1, "2"]}]),
        );
        assert_eq!(
            s,
            json!({"type": "array", "items": obj(json!({
                "A": {"type": "number"},
                "B": {"type": "string"},
                "C": {"type": "array", "items": {"type": "string"}},
            }))})
        );
        // No key is required.
        assert!(s["items"].get("required").is_none());
        // A whole number under a key named for money is a number.
        assert_eq!(
            res(
                json!({}),
                json!({"PRICE": 100, "taxRate": 20, "ID": 1, "activateTime": 5})
            ),
            obj(
                json!({"PRICE": {"type": "number"}, "taxRate": {"type": "number"},
                "ID": {"type": "integer"}, "activateTime": {"type": "integer"}})
            )
        );
        // `false` and `""` beside values of another kind are PHP's "absent".
        assert_eq!(
            res(
                json!({}),
                json!([{"D": false}, {"D": {"x": 1}}, {"N": ""}, {"N": 5}])
            ),
            json!({"type": "array", "items": obj(json!({
                "D": obj(json!({"x": {"type": "integer"}})),
                "N": {"type": "integer"},
            }))})
        );
        // Booleans beside text that is no flag, or a list beside a number: no one type.
        assert_eq!(
            res(json!({}), json!({"a": [true, "x"], "b": [1, [2]]})),
            obj(json!({"a": {"type": "array"}, "b": {"type": "array"}}))
        );
        // A lone `[]` or `{}` and `null` say nothing.
        assert_eq!(
            res(json!({}), json!({"a": [], "b": {}, "c": null, "d": 1})),
            obj(json!({"d": {"type": "integer"}}))
        );
    }

    #[test]
    fn only_wire_names_become_properties() {
        let s = res(
            json!({}),
            json!({
                "ID": 1, "UF_CRM_1720019876534": "x", "UF_CRM_...": 1, "PARENT_ID_1222": 5,
                ">=DATE": "x", ".css-class": "y", "TASKS|UF": 1, "checklist.add": true,
                "Manifest version": "1", "UF_DEPARTMENT": [1]
            }),
        );
        let props = s["properties"].as_object().unwrap();
        let mut names: Vec<&str> = props.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["ID", "Manifest version", "UF_DEPARTMENT", "checklist.add"]
        );
        assert_eq!(s["additionalProperties"], json!(true));
        // Integer keys make a map of the merged values, never a struct.
        assert_eq!(
            res(
                json!({}),
                json!({"11": {"id": "11"}, "3": {"id": "3", "n": 1}})
            ),
            json!({"type": "object", "additionalProperties": obj(json!({
                "id": {"type": "string"}, "n": {"type": "integer"}
            }))})
        );
        // So are access codes and language maps.
        assert_eq!(
            res(json!({}), json!({"U503": "R", "D15": "W"})),
            json!({"type": "object", "additionalProperties": {"type": "string"}})
        );
        assert_eq!(
            res(json!({}), json!({"ru": "a", "en": "b", "de": "c"})),
            json!({"type": "object", "additionalProperties": {"type": "string"}})
        );
        // Not a component's name either.
        assert!(!is_name_key("bitrix:catalog.section") && !is_name_key("U1271"));
        assert_eq!(
            res(json!({}), json!({"AU": "R", "U1": "W"})),
            json!({"type": "object", "additionalProperties": {"type": "string"}})
        );
        assert!(is_name_key("REST: date fields") && is_name_key("B24BUTTON_COLOR"));
        // Generated keys holding objects are a map too.
        assert_eq!(
            res(
                json!({}),
                json!({"upload5249": {"ID": 1}, "upload5250": {"ID": 2}})
            ),
            json!({"type": "object", "additionalProperties": obj(json!({"ID": {"type": "integer"}}))})
        );
        // Values never become enum variants.
        let s = res(json!({}), json!([{"S": "Y"}, {"S": "N"}]));
        assert!(!s.to_string().contains("enum"), "{s}");
    }

    #[test]
    fn what_the_tables_declare_is_kept() {
        let declared = obj(json!({
            "STATUS": {"type": "string", "enum": ["NEW", "DONE"]},
            "DATE": {"type": "string", "format": "date-time"},
            "ID": {"type": "integer"},
        }));
        let s = res(
            declared.clone(),
            json!({"STATUS": "OTHER", "DATE": "x", "ID": "5", "EXTRA": true}),
        );
        let mut want = declared;
        want["properties"]["EXTRA"] = json!({"type": "boolean"});
        assert_eq!(s, want);
    }

    #[test]
    fn scalars_the_decoder_cannot_read_widen() {
        let s = res(
            obj(json!({
                "A": {"type": "integer", "enum": [1, 2]},
                "B": {"type": "integer"},
                "C": {"type": "string"},
                "D": {"type": "boolean"},
                "E": {"type": "number", "format": "double"},
            })),
            json!({"A": "65e5a449e8f135.21284909", "B": 1.5, "C": true, "D": "D", "E": "1.5"}),
        );
        assert_eq!(s["properties"]["A"], json!({"type": "string"}));
        assert_eq!(s["properties"]["B"], json!({"type": "number"}));
        assert_eq!(s["properties"]["C"], json!({"type": "boolean"}));
        assert_eq!(
            s["properties"]["D"],
            json!({"oneOf": [{"type": "boolean"}, {"type": "string"}]})
        );
        // What the loose decoder reads is kept.
        assert_eq!(
            s["properties"]["E"],
            json!({"type": "number", "format": "double"})
        );
    }

    #[test]
    fn containers_and_scalars_make_a_union_and_lists_fit_objects() {
        // A declared scalar beside an object: the object or the scalar.
        let s = res(
            obj(json!({"L": {"type": "string"}})),
            json!({"L": {"text": "x"}}),
        );
        assert_eq!(
            s["properties"]["L"],
            json!({"oneOf": [obj(json!({"text": {"type": "string"}})), {"type": "string"}]})
        );
        // A declared object beside a list of them: a list of it.
        let item = obj(json!({"ID": {"type": "integer"}}));
        assert_eq!(
            res(item.clone(), json!([{"ID": 1}, {"ID": 2, "X": "y"}])),
            json!({"type": "array", "items": obj(json!({
                "ID": {"type": "integer"}, "X": {"type": "string"}
            }))})
        );
        // A declared object beside objects keyed by ids or codes: a map of it.
        assert_eq!(
            res(item.clone(), json!({"5": {"ID": 5}})),
            json!({"type": "object", "additionalProperties": item.clone()})
        );
        assert_eq!(
            res(item.clone(), json!({"AU": {"ID": 5}, "G2": {"ID": 6}})),
            json!({"type": "object", "additionalProperties": item.clone()})
        );
        // A declared list beside an object keyed by positions: a map of the items.
        assert_eq!(
            res(
                json!({"type": "array", "items": {"type": "integer"}}),
                json!({"0": 1, "1": 2})
            ),
            json!({"type": "object", "additionalProperties": {"type": "integer"}})
        );
        // `object[]` written for one object.
        assert_eq!(
            res(
                json!({"type": "array", "items": item.clone()}),
                json!({"ID": 1})
            ),
            item
        );
        // A list's items that are sometimes PHP's empty array.
        assert_eq!(
            res(json!({}), json!({"chain": ["a", {}, []]}))["properties"]["chain"],
            json!({"type": "array", "items": {"oneOf": [{"type": "array"}, {"type": "string"}]}})
        );
    }

    #[test]
    fn required_keys_follow_the_examples() {
        let declared = json!({
            "type": "object",
            "required": ["id", "fields", "N"],
            "properties": {
                "id": {"type": "integer"},
                "fields": {"type": "object", "properties": {}, "additionalProperties": true},
                "N": {"type": "integer"},
            },
            "additionalProperties": true,
        });
        // `ID` for `id`: `id` is not required and `ID` stays in the open map (as a property
        // it would take the field `id`); `N` sent as "" is not required; `fields` is in every
        // example and stays required.
        let s = req(
            declared.clone(),
            &[
                json!({"ID": 5, "fields": {"A": 1}, "N": ""}),
                json!({"id": 5, "fields": {}, "N": 1}),
            ],
        );
        assert_eq!(s["required"], json!(["fields"]));
        assert!(s["properties"].get("ID").is_none(), "{s}");
        // What `ID` shows still types `id` (here: it agrees).
        assert_eq!(s["properties"]["id"], json!({"type": "integer"}));
        let s = req(
            declared.clone(),
            &[json!({"ID": "x5", "fields": {}, "N": 1})],
        );
        assert_eq!(s["properties"]["id"], json!({"type": "string"}));
        assert_eq!(s["properties"]["N"], json!({"type": "integer"}));
        // A key some example leaves out is not required.
        let s = req(
            declared,
            &[
                json!({"id": 1, "fields": {}, "N": 1}),
                json!({"id": 2, "N": 1, "n": "x"}),
            ],
        );
        assert_eq!(s["required"], json!(["id"]));
        // `n` beside a declared `N` sorts after it: a property of `N`'s type, widened.
        assert_eq!(s["properties"]["n"], json!({"type": "string"}));
    }

    #[test]
    fn a_select_also_sent_as_a_map_of_names_is_either() {
        let declared = json!({"type": "object", "properties": {
            "select": {"type": "array", "items": {"type": "string"}}
        }});
        let s = req(
            declared.clone(),
            &[json!({"select": {"0": "*", "language": "ru"}})],
        );
        assert_eq!(
            s["properties"]["select"],
            json!({"oneOf": [
                {"type": "array", "items": {"type": "string"}},
                {"type": "object", "additionalProperties": {"type": "string"}}
            ]})
        );
        // Sent as a list, it stays the list.
        let s = req(declared, &[json!({"select": ["ID"]})]);
        assert_eq!(
            s["properties"]["select"],
            json!({"type": "array", "items": {"type": "string"}})
        );
    }

    #[test]
    fn an_object_sent_as_a_map_of_it_is_that_map() {
        let page = json!({"type": "object", "additionalProperties": true,
            "required": ["code"],
            "properties": {"code": {"type": "string"}, "name": {"type": "string"}}});
        let declared = json!({"type": "object", "properties": {"items": page}});
        let s = req(
            declared.clone(),
            &[json!({"items": {"ftmlt": {"code": "ftmlt", "name": "x"}, "b": {"code": "b"}}})],
        );
        let items = &s["properties"]["items"];
        assert_eq!(items["type"], json!("object"));
        assert_eq!(
            items["additionalProperties"]["properties"]["code"],
            json!({"type": "string"})
        );
        // An object holding a declared key, or objects that hold none, stays the object.
        let s = req(
            declared.clone(),
            &[json!({"items": {"code": "a", "x": {"code": "b"}}})],
        );
        assert!(
            s["properties"]["items"]["properties"].get("code").is_some(),
            "{s}"
        );
        let s = req(declared, &[json!({"items": {"x": {"other": 1}}})]);
        assert!(
            s["properties"]["items"]["properties"].get("code").is_some(),
            "{s}"
        );
    }

    #[test]
    fn queries_stay_open_and_select_is_a_list_of_names() {
        let declared = json!({
            "type": "object",
            "properties": {
                "filter": {"type": "array", "items": {"type": "string"}},
                "order": {"type": "string", "enum": ["ASC", "DESC"]},
            },
            "additionalProperties": true,
        });
        let s = req(
            declared,
            &[
                json!({"filter": {">=ID": 1, "NAME": "x"}, "ORDER": "asc", "select": ["ID", "NAME"]}),
            ],
        );
        assert_eq!(
            s["properties"]["filter"],
            json!({"x-bitrix-type": "object"})
        );
        // The direction the table types is kept; its spelling in capitals stays in the open map.
        assert_eq!(
            s["properties"]["order"],
            json!({"type": "string", "enum": ["ASC", "DESC"]})
        );
        assert!(s["properties"].get("ORDER").is_none(), "{s}");
        assert_eq!(
            s["properties"]["select"],
            json!({"type": "array", "items": {"type": "string"}})
        );
        // An order the table leaves out is open; never a struct.
        let s = req(
            obj(json!({})),
            &[json!({"order": {"ID": "DESC"}, "filter": {"ID": 1}})],
        );
        assert_eq!(s["properties"]["order"], json!({"x-bitrix-type": "object"}));
        assert_eq!(
            s["properties"]["filter"],
            json!({"x-bitrix-type": "object"})
        );
    }

    #[test]
    fn other_pages_type_what_a_page_shows_only_as_null() {
        let mut ev = Evidence::default();
        ev.add(
            "sale",
            &json!({"order": {"dateCanceled": "2024-01-01", "empId": 5}}),
        );
        ev.add(
            "sale",
            &json!({"shipment": {"empId": "7", "flag": true, "mixed": 1}}),
        );
        ev.add("sale", &json!({"other": {"mixed": [1], "list": [1]}}));
        ev.add("crm", &json!({"order": {"note": "x"}}));
        let page = json!({"order": {"dateCanceled": null, "empId": null, "mixed": null,
            "note": null, "list": null, "flag": null, "gone": null}});
        let s = result(json!({}), Some(&page), "sale", Some(&ev));
        let props = &s["properties"]["order"]["properties"];
        assert_eq!(
            props["dateCanceled"],
            json!({"type": "string", "nullable": true})
        );
        // Under `order` the evidence says integer; the scope-wide one would say string.
        assert_eq!(props["empId"], json!({"type": "integer", "nullable": true}));
        assert_eq!(props["flag"], json!({"type": "boolean", "nullable": true}));
        assert_eq!(props["list"], json!({"type": "array", "nullable": true}));
        // A number here and a list there, another scope's evidence, or none: left out.
        for k in ["mixed", "note", "gone"] {
            assert!(props.get(k).is_none(), "{k}: {s}");
        }
        // Without evidence, a name that says scalar: a nullable string; `[]` is no scalar.
        let s4 = result(
            json!({}),
            Some(&json!([{"DELETED_BY": null, "xmlId": null, "params": null, "EDIT_DATE": []}])),
            "sale",
            Some(&ev),
        );
        assert_eq!(
            s4["items"],
            obj(json!({"DELETED_BY": {"type": "string", "nullable": true},
                "xmlId": {"type": "string", "nullable": true}}))
        );
        // A declared open place keeps what it was without evidence.
        let declared = obj(json!({"x": {"x-bitrix-type": "user"}}));
        assert_eq!(
            result(
                declared.clone(),
                Some(&json!({"x": null})),
                "sale",
                Some(&ev)
            ),
            declared
        );
        // A map's values shown only as `null`: typed when every key's evidence agrees.
        let mut ev2 = ev.clone();
        ev2.add("sale", &json!({"label": {"en": "a", "ru": "b"}}));
        let s2 = result(
            json!({}),
            Some(&json!({"label": {"en": null, "ru": null}})),
            "sale",
            Some(&ev2),
        );
        assert_eq!(
            s2["properties"]["label"],
            json!({"type": "object", "additionalProperties": {"type": "string", "nullable": true}})
        );
        let s3 = result(
            json!({}),
            Some(&json!({"label": {"en": null, "de": null}})),
            "sale",
            Some(&ev2),
        );
        assert_eq!(
            s3["properties"]["label"],
            json!({"type": "object", "additionalProperties": true})
        );
        // A `*.fields` example's descriptors count anywhere in the scope.
        let mut ev3 = Evidence::default();
        ev3.add_fields(
            "crm",
            &json!({"ADDRESS": {"type": "string", "isMultiple": false},
                "PHONE": {"type": "crm_multifield", "isMultiple": true},
                "ASSIGNED_BY_ID": {"type": "user"}, "X": {"type": "file"}}),
        );
        let page = json!({"ADDRESS": null, "PHONE": null, "ASSIGNED_BY_ID": null, "X": null});
        let s5 = result(json!({}), Some(&page), "crm", Some(&ev3));
        assert_eq!(
            s5,
            obj(json!({
                "ADDRESS": {"type": "string", "nullable": true},
                "PHONE": {"type": "array", "nullable": true},
                "ASSIGNED_BY_ID": {"type": "integer", "nullable": true},
            }))
        );
        // No mark ever reaches the output.
        assert!(!s.to_string().contains("x-reconcile"), "{s}");
        // The evidence does not depend on the order of the pages.
        let mut other = Evidence::default();
        other.add("crm", &json!({"order": {"note": "x"}}));
        other.add("sale", &json!({"other": {"mixed": [1], "list": [1]}}));
        other.add(
            "sale",
            &json!({"shipment": {"empId": "7", "flag": true, "mixed": 1}}),
        );
        other.add(
            "sale",
            &json!({"order": {"dateCanceled": "2024-01-01", "empId": 5}}),
        );
        assert_eq!(ev, other);
    }

    #[test]
    fn bare_docs_containers_beside_empty_ones() {
        let s = res(
            obj(json!({"errors": {"x-bitrix-type": "array"}, "data": {"x-bitrix-type": "object"}})),
            json!({"errors": [], "data": {}}),
        );
        assert_eq!(s["properties"]["errors"], json!({"type": "array"}));
        assert_eq!(
            s["properties"]["data"],
            json!({"type": "object", "additionalProperties": true})
        );
    }

    #[test]
    fn no_example_changes_nothing_and_deep_values_do_not_overflow() {
        let declared = obj(json!({"ID": {"type": "integer"}}));
        assert_eq!(result(declared.clone(), None, "x", None), declared);
        assert_eq!(request(declared.clone(), &[]), declared);
        let mut deep = json!(1);
        for _ in 0..500 {
            deep = json!({"a": [deep]});
        }
        let s = res(json!({}), deep.clone());
        assert!(s.to_string().len() < 10_000);
        let _ = req(json!({}), &[deep]);
        // Irregular schemas are left as they are.
        for odd in [
            json!(true),
            json!({"type": ["string", "null"]}),
            json!({"$ref": "#/x"}),
        ] {
            assert_eq!(res(odd.clone(), json!({"a": 1})), odd);
        }
    }
}
