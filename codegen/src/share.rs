//! The importer's share pass: shapes that many specs use become type specs
//! (`specs/types/<scope>.<name>.md`) and the specs refer to them with
//! `{"$ref": "types/<scope>.<name>"}`. Pure functions over JSON values; xtask does the I/O.
//!
//! Rules (also in README "Importing the docs"):
//!
//! 1. **Docs-named shapes.** An object schema with properties and `x-bitrix-type: T` becomes the
//!    type `<scope>.<n>`, `n` being `T` in snake case without a leading `<scope>_`
//!    (`crm_multifield` in scope `crm` → `crm.multifield`). Every occurrence of one name in one
//!    scope is one type: differing shapes are merged (union of properties; a property whose
//!    schemas differ merges key by key for objects and by items for lists, `integer` and
//!    `number` make `number`, any JSON gives way to a type, two kinds of value (a text on one
//!    page, a list on another) make a `oneOf` of both, a struct that keeps no other keys joins
//!    a map whose values it fits (one that keeps other keys makes a `oneOf` with the map), and
//!    otherwise the one that types more wins, ties to the smaller canonical JSON; `required`
//!    keeps only what all require).
//! 2. **Identical unnamed shapes.** An object schema with at least 3 properties whose canonical
//!    JSON ([`crate::json::sorted`]) occurs in two or more different specs of one scope becomes a
//!    type named after the property key it appears under (snake case; an array's items take the
//!    array's key without a trailing `s` when at least 3 characters remain; a key that is a
//!    placeholder (`{id}`, `*`, `<n>`) or digits gives way to the parent's key; no key at all
//!    gives `shape`). When different shapes of one scope want one name, the shape used by more
//!    specs keeps the bare name and each other one is named after what its users' names have
//!    in common besides the scope (`crm.lead.add` and `crm.lead.update` make `lead_fields`);
//!    one whose users share nothing else, or whose name is taken, gets `<name>_2`, `<name>_3`,
//!    … in order of (users descending, canonical JSON ascending). A page added can rename a
//!    type only here: when it changes which shape is used most, or which users a shape has.
//!    Outermost shapes go first: a shared object becomes one type with its nested shapes inside;
//!    then the rule runs again over the type schemas too, so a nested shape that several specs
//!    or types use is shared in a later round (at most [`MAX_ROUNDS`] rounds). A shape that
//!    already has a type is replaced by a reference to it wherever it occurs.
//! 3. **Never shared:** the top-level schema itself (`params`, `returns`, `payload`, a type's
//!    own schema; the one exception is a `returns` that is a docs-named object, rule 1:
//!    `crm.deal.get`'s `deal` becomes `{"$ref": "types/crm.deal"}`), the shapes under `filter`, `order` and `select`, any JSON (no properties),
//!    scalars and enums (the generator shares those), and shapes that use the spec's own
//!    `#/…` definitions (they mean nothing outside it).
//! 4. **Scopes:** types are per scope; a shape used in two scopes gives one type in each, so
//!    import never writes a reference across scopes.
//!
//! The result does not depend on the order of the inputs.

use crate::json::sorted;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// Upper bound on sharing rounds (each round shares one more level of nesting).
pub const MAX_ROUNDS: usize = 16;

/// One schema of an imported spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Input {
    /// The method or event name (what counts as one user).
    pub owner: String,
    /// The spec's scope.
    pub scope: String,
    /// `params`, `returns` or `payload`.
    pub field: String,
    /// The schema (rewritten in the output).
    pub schema: Value,
}

/// A type spec the pass creates.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeSpec {
    /// `<scope>.<name>`.
    pub name: String,
    /// The scope (the cargo feature).
    pub scope: String,
    /// Its schema.
    pub schema: Value,
}

/// What the pass gives back.
#[derive(Debug, Clone, PartialEq)]
pub struct Shared {
    /// The inputs with shared shapes replaced, sorted by (scope, owner, field).
    pub schemas: Vec<Input>,
    /// The type specs, sorted by name.
    pub types: Vec<TypeSpec>,
    /// How many schema nodes were replaced by a reference (in specs and in type schemas).
    pub replaced: usize,
}

/// Runs the pass (see the module docs).
pub fn share(inputs: &[Input]) -> Shared {
    let mut schemas: Vec<Input> = inputs.to_vec();
    schemas.sort_by(|a, b| {
        (&a.scope, &a.owner, &a.field, sorted(&a.schema).to_string()).cmp(&(
            &b.scope,
            &b.owner,
            &b.field,
            sorted(&b.schema).to_string(),
        ))
    });
    let mut types: BTreeMap<String, TypeSpec> = BTreeMap::new();
    let mut replaced = 0;
    replaced += docs_named(&mut schemas, &mut types);
    replaced += identical(&mut schemas, &mut types);
    Shared {
        schemas,
        types: types.into_values().collect(),
        replaced,
    }
}

/// One imported spec file handed to [`share_texts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// What counts as one user, unique in a run (`method:crm.deal.get`, `event:onCrmDealAdd`).
    pub owner: String,
    /// The spec's text as import wrote it.
    pub text: String,
}

/// The share pass over whole imported spec texts (method specs with `params`/`returns`,
/// event specs with `payload`, each a JSON field as import writes them): the texts with the
/// shared shapes replaced by references (a text without any keeps its bytes; a changed one
/// gets a fresh `import_hash`), in the order given, and each type spec as a file: its name
/// (`crm.multifield`, the file `types/crm.multifield.md`) and text ([`render_type`]).
///
/// [`render_type`]: crate::import::render_type
pub fn share_texts(texts: &[Text]) -> (Vec<String>, Vec<(String, String)>) {
    const FIELDS: &[&str] = &["params", "returns", "payload"];
    let mut inputs = Vec::new();
    for t in texts {
        let Some(scope) = t
            .text
            .lines()
            .skip(1)
            .take_while(|l| l.trim_end() != "---")
            .find_map(|l| l.strip_prefix("scope:"))
            .map(|s| s.trim().trim_matches('"').to_owned())
        else {
            continue;
        };
        for f in FIELDS {
            if let Some(schema) = field(&t.text, f) {
                inputs.push(Input {
                    owner: t.owner.clone(),
                    scope: scope.clone(),
                    field: (*f).to_owned(),
                    schema,
                });
            }
        }
    }
    let shared = share(&inputs);
    let mut by_owner: BTreeMap<(&str, &str), &Value> = BTreeMap::new();
    for i in &shared.schemas {
        by_owner.insert((i.owner.as_str(), i.field.as_str()), &i.schema);
    }
    let out = texts
        .iter()
        .map(|t| {
            let changed: Vec<(&str, &Value)> = FIELDS
                .iter()
                .filter_map(|f| {
                    let new = by_owner.get(&(t.owner.as_str(), *f))?;
                    (field(&t.text, f).as_ref() != Some(*new)).then_some((*f, *new))
                })
                .collect();
            if changed.is_empty() {
                t.text.clone()
            } else {
                with_fields(&t.text, &changed)
            }
        })
        .collect();
    let types = shared
        .types
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                crate::import::render_type(&t.name, &t.scope, None, &t.schema),
            )
        })
        .collect();
    (out, types)
}

/// Whether an imported type spec that the new import no longer produces may be deleted: only
/// when it is still exactly what import wrote.
pub fn remove_stale(text: &str, still_produced: bool) -> bool {
    !still_produced && crate::import::untouched(text)
}

fn type_ref(name: &str) -> Value {
    json!({ "$ref": format!("types/{name}") })
}

fn snake_words(s: &str) -> String {
    crate::naming::words(s).join("_")
}

/// `<scope>.<n>` for an `x-bitrix-type`, or `None` when nothing usable is left.
fn docs_type_name(scope: &str, t: &str) -> Option<String> {
    let s = snake_words(t);
    let prefix = format!("{}_", snake_words(scope));
    let s = s.strip_prefix(&prefix).map(str::to_owned).unwrap_or(s);
    let s = s.trim_start_matches(|c: char| c.is_ascii_digit() || c == '_');
    if s.is_empty() {
        return None;
    }
    Some(format!("{scope}.{s}"))
}

fn props(v: &Value) -> Option<&Map<String, Value>> {
    v.get("properties").and_then(Value::as_object)
}

fn is_object_shape(v: &Value) -> bool {
    props(v).is_some_and(|p| !p.is_empty())
        && v.get("type").is_none_or(|t| t == "object")
        && v.get("$ref").is_none()
}

fn uses_local_defs(v: &Value) -> bool {
    let text = v.to_string();
    text.contains("\"#/")
}

/// Children of a schema node with the key that names them (`None` for a placeholder/absent key).
/// `f` gets (child, its naming key, whether it may be shared).
fn for_children(
    v: &mut Value,
    key: Option<&str>,
    f: &mut dyn FnMut(&mut Value, Option<&str>, bool),
) {
    let Some(m) = v.as_object_mut() else { return };
    for (k, child) in m.iter_mut() {
        match k.as_str() {
            "properties" | "$defs" | "definitions" => {
                if let Some(pm) = child.as_object_mut() {
                    for (pk, pv) in pm.iter_mut() {
                        let name = if usable_key(pk) {
                            Some(pk.as_str())
                        } else {
                            key
                        };
                        let open = matches!(pk.as_str(), "filter" | "order" | "select");
                        f(pv, name, !open);
                    }
                }
            }
            "items" => {
                let name = key.map(singular);
                f(child, name.as_deref(), true);
            }
            "additionalProperties" | "not" => f(child, key, true),
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                if let Some(a) = child.as_array_mut() {
                    for c in a {
                        f(c, key, true);
                    }
                }
            }
            _ => {}
        }
    }
}

fn usable_key(k: &str) -> bool {
    !k.contains(['{', '}', '<', '>', '*', '[', ']'])
        && !snake_words(k).is_empty()
        && !k
            .chars()
            .all(|c| c.is_ascii_digit() || c == '_' || c == '-')
}

fn singular(k: &str) -> String {
    let s = snake_words(k);
    match s.strip_suffix('s') {
        Some(t) if t.len() >= 3 => t.to_owned(),
        _ => s,
    }
}

/// Walks `v` outermost first; `visit` returns `Some(replacement)` to replace a node (its inside
/// is then not walked).
fn rewrite(
    v: &mut Value,
    key: Option<&str>,
    visit: &mut dyn FnMut(&Value, Option<&str>) -> Option<Value>,
    count: &mut usize,
) {
    for_children(v, key, &mut |child, k, shareable| {
        if shareable && let Some(r) = visit(child, k) {
            *child = r;
            *count += 1;
            return;
        }
        let key_owned = k.map(str::to_owned);
        rewrite(child, key_owned.as_deref(), visit, count);
    });
}

/// Walks `v` outermost first without changing it; `visit` returns true to stop at a node.
fn walk(v: &Value, key: Option<&str>, visit: &mut dyn FnMut(&Value, Option<&str>) -> bool) {
    let mut copy = v.clone();
    let mut n = 0;
    rewrite(
        &mut copy,
        key,
        &mut |c, k| visit(c, k).then(|| Value::Null),
        &mut n,
    );
}

fn score(v: &Value) -> u8 {
    if props(v).is_some() {
        2
    } else if v.get("type").is_some() {
        1
    } else {
        0
    }
}

/// Merges the occurrences of one docs-named type (rule 1).
fn merge(shapes: &[Value]) -> Value {
    merge_at(shapes, 0)
}

/// How deep [`merge_prop`] follows nested objects and arrays before it calls two differing
/// shapes a conflict.
const MERGE_DEPTH: usize = 16;

fn merge_at(shapes: &[Value], depth: usize) -> Value {
    let mut all: Vec<Value> = shapes.iter().map(sorted).collect();
    all.sort_by_key(|v| v.to_string());
    all.dedup();
    let mut out = all[0].clone();
    let mut properties: BTreeMap<String, Value> = BTreeMap::new();
    // Keys whose occurrences disagree on the kind of value: left to the open map.
    let mut conflicts: BTreeSet<String> = BTreeSet::new();
    let mut required: Option<BTreeSet<String>> = None;
    for s in &all {
        for (k, p) in props(s).into_iter().flatten() {
            if conflicts.contains(k) {
                continue;
            }
            let merged = match properties.get(k) {
                Some(old) => merge_prop(old, p, depth),
                None => Some(p.clone()),
            };
            match merged {
                Some(v) => {
                    properties.insert(k.clone(), v);
                }
                None => {
                    properties.remove(k);
                    conflicts.insert(k.clone());
                }
            }
        }
        let req: BTreeSet<String> = s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect();
        required = Some(match required {
            None => req,
            Some(r) => r.intersection(&req).cloned().collect(),
        });
    }
    // A key left out for a conflict goes to the open map, and so do other keys when some
    // occurrence keeps them.
    let keeps_others = |s: &Value| {
        s.get("additionalProperties")
            .is_some_and(|a| a != &json!(false))
    };
    let open = !conflicts.is_empty()
        || (out.get("additionalProperties") == Some(&json!(false)) && all.iter().any(keeps_others));
    if let Some(o) = out.as_object_mut() {
        o.insert(
            "properties".into(),
            Value::Object(properties.into_iter().collect()),
        );
        if open {
            o.insert("additionalProperties".into(), json!(true));
        }
        match required.map(|r| &r - &conflicts) {
            Some(r) if !r.is_empty() => {
                o.insert("required".into(), r.into_iter().map(Value::from).collect());
            }
            _ => {
                o.remove("required");
            }
        }
    }
    sorted(&out)
}

/// One property of a docs-named type as two pages give it; `None` when they disagree on the
/// kind of value (a text on one page, a list on another), which no one Rust type can hold.
/// Objects merge key by key and lists by their items; `integer` and `number` make `number`;
/// any JSON gives way to a typed schema; a union, reference or bare enum agrees only with
/// itself; between two schemas of the same kind the one that
/// types more wins, ties to the smaller canonical JSON.
fn merge_prop(a: &Value, b: &Value, depth: usize) -> Option<Value> {
    if a == b {
        return Some(a.clone());
    }
    let (ka, kb) = (kind_of(a), kind_of(b));
    let better = |x: &Value, y: &Value| {
        if (score(x), std::cmp::Reverse(x.to_string()))
            >= (score(y), std::cmp::Reverse(y.to_string()))
        {
            x.clone()
        } else {
            y.clone()
        }
    };
    match (ka.as_deref(), kb.as_deref()) {
        // Any JSON: the other one types more.
        (None, _) | (_, None) => Some(better(a, b)),
        (Some(x), Some(y)) if x == y => match x {
            _ if depth >= MERGE_DEPTH => Some(better(a, b)),
            "object" if props(a).is_some() && props(b).is_some() => {
                Some(merge_at(&[a.clone(), b.clone()], depth + 1))
            }
            // A struct on one page, a map on another (`{Y: …, N: …}` beside a map of texts that
            // may also come as a list): the map, when every property fits its values and the
            // struct keeps no other keys (their values are unknown; they may not fit); else
            // a `oneOf` of both.
            "object" if props(a).is_some() != props(b).is_some() => {
                let (map, st) = if props(a).is_some() { (b, a) } else { (a, b) };
                match map.get("additionalProperties") {
                    // The struct keeps other keys, whose values the map's may not fit: one of
                    // the two.
                    Some(_) if st.get("additionalProperties") != Some(&json!(false)) => {
                        let mut both = vec![sorted(map), sorted(st)];
                        both.sort_by_key(|v| v.to_string());
                        Some(json!({ "oneOf": both }))
                    }
                    Some(v @ Value::Object(_)) => {
                        let mut value = v.clone();
                        for p in props(st).into_iter().flatten().map(|(_, p)| p) {
                            value = merge_prop(&value, p, depth + 1)?;
                        }
                        let mut out = map.clone();
                        out["additionalProperties"] = value;
                        Some(out)
                    }
                    // An object of any keys: the struct types more, and keeps the other keys.
                    _ => {
                        let mut out = st.clone();
                        if out.get("additionalProperties").is_none() {
                            out["additionalProperties"] = json!(true);
                        }
                        Some(out)
                    }
                }
            }
            "array" => match (a.get("items"), b.get("items")) {
                (Some(ia), Some(ib)) => {
                    let mut out = better(a, b);
                    match merge_prop(ia, ib, depth + 1) {
                        Some(items) => out["items"] = items,
                        None => {
                            out.as_object_mut()?.remove("items");
                        }
                    }
                    Some(out)
                }
                _ => Some(better(a, b)),
            },
            _ => Some(better(a, b)),
        },
        (Some("integer"), Some("number")) => Some(b.clone()),
        (Some("number"), Some("integer")) => Some(a.clone()),
        _ => union(a, b, depth),
    }
}

/// The kind of value a schema describes, for [`merge_prop`]: its `type`, `object` for
/// properties without one; a union, a reference or an enum without a `type` is a kind of its
/// own (its canonical JSON), so it agrees only with itself; `None` for any JSON.
fn kind_of(v: &Value) -> Option<String> {
    match v.get("type") {
        Some(Value::String(t)) => Some(t.clone()),
        Some(other) => Some(other.to_string()),
        None if props(v).is_some() => Some("object".to_owned()),
        None if ["oneOf", "anyOf", "$ref", "enum", "const"]
            .iter()
            .any(|k| v.get(k).is_some()) =>
        {
            Some(v.to_string())
        }
        None => None,
    }
}

/// Two schemas of different kinds (a text on one page, a list of texts on another) as one
/// `oneOf`: the branches of both, those of one kind merged, sorted by canonical JSON. `None`
/// when a branch is any JSON or two branches of one kind do not merge.
fn union(a: &Value, b: &Value, depth: usize) -> Option<Value> {
    if depth >= MERGE_DEPTH {
        return None;
    }
    let branches = |v: &Value| match (v.get("type"), v.get("oneOf")) {
        (None, Some(Value::Array(items))) => items.clone(),
        _ => vec![v.clone()],
    };
    let mut out = branches(a);
    for br in branches(b) {
        let k = kind_of(&br)?;
        match out
            .iter()
            .position(|o| kind_of(o).as_deref() == Some(k.as_str()))
        {
            Some(i) => out[i] = merge_prop(&out[i], &br, depth + 1)?,
            None => out.push(br),
        }
    }
    if out.iter().any(|o| kind_of(o).is_none()) {
        return None;
    }
    let mut out: Vec<Value> = out.iter().map(sorted).collect();
    out.sort_by_key(|v| v.to_string());
    out.dedup();
    Some(json!({ "oneOf": out }))
}

fn docs_named(schemas: &mut [Input], types: &mut BTreeMap<String, TypeSpec>) -> usize {
    let mut replaced = 0;
    // Round 0 works on the specs; later rounds on the type schemas made by the round before.
    let mut pending: Vec<String> = Vec::new();
    for round in 0..MAX_ROUNDS {
        let mut found: BTreeMap<String, (String, Vec<Value>)> = BTreeMap::new();
        let mut collect = |scope: &str, v: &Value, returns: bool| {
            let mut add = |c: &Value| {
                let name = named(scope, c);
                if let Some(n) = &name {
                    found
                        .entry(n.clone())
                        .or_insert_with(|| (scope.to_owned(), Vec::new()))
                        .1
                        .push(c.clone());
                }
                name.is_some()
            };
            // A docs-named `returns` (`crm.deal.get`'s `deal`) is one of the type's
            // occurrences itself (rule 3's one exception).
            if returns && add(v) {
                return;
            }
            walk(v, None, &mut |c, _| add(c));
        };
        if round == 0 {
            for s in schemas.iter() {
                collect(&s.scope, &s.schema, s.field == "returns");
            }
        } else {
            for n in &pending {
                let t = &types[n];
                collect(&t.scope, &t.schema, false);
            }
        }
        let new: Vec<String> = found
            .keys()
            .filter(|n| !types.contains_key(*n))
            .cloned()
            .collect();
        for (n, (scope, shapes)) in &found {
            if !types.contains_key(n) {
                types.insert(
                    n.clone(),
                    TypeSpec {
                        name: n.clone(),
                        scope: scope.clone(),
                        schema: merge(shapes),
                    },
                );
            }
        }
        let visit = |scope: &str| {
            let scope = scope.to_owned();
            move |c: &Value, _: Option<&str>| named(&scope, c).map(|n| type_ref(&n))
        };
        if round == 0 {
            for s in schemas.iter_mut() {
                if s.field == "returns"
                    && let Some(n) = named(&s.scope, &s.schema)
                {
                    s.schema = type_ref(&n);
                    replaced += 1;
                    continue;
                }
                rewrite(&mut s.schema, None, &mut visit(&s.scope), &mut replaced);
            }
        } else {
            for n in &pending {
                if let Some(t) = types.get_mut(n) {
                    let scope = t.scope.clone();
                    rewrite(&mut t.schema, None, &mut visit(&scope), &mut replaced);
                }
            }
        }
        if new.is_empty() && round > 0 {
            break;
        }
        pending = if round == 0 {
            found.keys().cloned().collect()
        } else {
            new
        };
        if pending.is_empty() {
            break;
        }
    }
    replaced
}

fn named(scope: &str, v: &Value) -> Option<String> {
    let t = v.get("x-bitrix-type")?.as_str()?;
    if !is_object_shape(v) {
        return None;
    }
    docs_type_name(scope, t)
}

fn candidate(v: &Value) -> bool {
    is_object_shape(v)
        && v.get("x-bitrix-type").is_none()
        && props(v).is_some_and(|p| p.len() >= 3)
        && !uses_local_defs(v)
}

/// One user of a shape: a spec's owner or a type.
type User = String;

fn identical(schemas: &mut [Input], types: &mut BTreeMap<String, TypeSpec>) -> usize {
    let mut replaced = 0;
    // (scope, canonical) -> type name, for unnamed shapes already made types.
    let mut known: BTreeMap<(String, String), String> = BTreeMap::new();
    for _ in 0..MAX_ROUNDS {
        // (scope, canonical) -> (users, key name -> count)
        type Seen = (BTreeSet<User>, BTreeMap<String, usize>);
        let mut seen: BTreeMap<(String, String), Seen> = BTreeMap::new();
        let mut collect = |scope: &str, user: &str, v: &Value| {
            walk(v, None, &mut |c, k| {
                if !candidate(c) {
                    return false;
                }
                let e = seen
                    .entry((scope.to_owned(), sorted(c).to_string()))
                    .or_default();
                e.0.insert(user.to_owned());
                *e.1.entry(k.map_or("shape".to_owned(), snake_words))
                    .or_default() += 1;
                false
            });
        };
        for s in schemas.iter() {
            collect(&s.scope, &format!("spec {}", s.owner), &s.schema);
        }
        for t in types.values() {
            collect(&t.scope, &format!("type {}", t.name), &t.schema);
        }
        // New shared shapes, grouped by wanted name.
        // (scope, wanted name) -> (users, canonical JSON, context) of each shape.
        type Want = (usize, String, Option<String>);
        let mut wants: BTreeMap<(String, String), Vec<Want>> = BTreeMap::new();
        for ((scope, canon), (users, keys)) in &seen {
            if users.len() < 2 || known.contains_key(&(scope.clone(), canon.clone())) {
                continue;
            }
            let best = keys
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
                .map_or("shape".to_owned(), |(k, _)| k.clone());
            let context = context(scope, &best, users);
            wants.entry((scope.clone(), best)).or_default().push((
                users.len(),
                canon.clone(),
                context,
            ));
        }
        let mut new = 0;
        for ((scope, base), mut shapes) in wants {
            shapes.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
            let mut i = 1;
            for (rank, (_, canon, context)) in shapes.into_iter().enumerate() {
                // The most used shape takes the bare name; another one is named after what
                // its users have in common (`crm.lead.add` and `crm.lead.update` give
                // `lead_fields`), so its name does not depend on the other shapes.
                let by_context = context
                    .filter(|_| rank > 0)
                    .map(|c| format!("{scope}.{c}_{base}"))
                    .filter(|n| !types.contains_key(n));
                let name = if let Some(n) = by_context {
                    n
                } else {
                    loop {
                        let n = if i == 1 {
                            format!("{scope}.{base}")
                        } else {
                            format!("{scope}.{base}_{i}")
                        };
                        i += 1;
                        if !types.contains_key(&n) {
                            break n;
                        }
                    }
                };
                let schema: Value = serde_json::from_str(&canon).unwrap_or(Value::Null);
                types.insert(
                    name.clone(),
                    TypeSpec {
                        name: name.clone(),
                        scope: scope.clone(),
                        schema,
                    },
                );
                known.insert((scope.clone(), canon), name);
                new += 1;
            }
        }
        if new == 0 {
            break;
        }
        let before = replaced;
        for s in schemas.iter_mut() {
            let scope = s.scope.clone();
            rewrite(
                &mut s.schema,
                None,
                &mut |c, _| lookup(&known, &scope, c),
                &mut replaced,
            );
        }
        let names: Vec<String> = types.keys().cloned().collect();
        for n in names {
            let Some(t) = types.get_mut(&n) else { continue };
            let scope = t.scope.clone();
            rewrite(
                &mut t.schema,
                None,
                &mut |c, _| lookup(&known, &scope, c),
                &mut replaced,
            );
        }
        if replaced == before {
            break;
        }
    }
    replaced
}

/// What the users of a shape have in common, as a name prefix: the segments of their names
/// (`crm.lead.add`, `crm.data_3`) found in every one of them, in the first one's order,
/// without the scope's own segments, version segments (`v1`) and a type's `_N` suffix, snake
/// case, and without the type's own base name; `None` when nothing is left.
fn context(scope: &str, base: &str, users: &BTreeSet<User>) -> Option<String> {
    let segments = |u: &str| -> Vec<String> {
        // `spec method:Classic:crm.lead.add`, `spec event:onCrmDealAdd`, `type crm.data_3`.
        let name = u.rsplit([' ', ':']).next().unwrap_or(u);
        name.split('.')
            .map(|seg| {
                let seg = match seg.rsplit_once('_') {
                    Some((head, n))
                        if !head.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        head
                    }
                    _ => seg,
                };
                snake_words(seg)
            })
            .collect()
    };
    let scope_segments: Vec<String> = scope.split('.').map(snake_words).collect();
    let mut all = users.iter().map(|u| segments(u));
    let first = all.next()?;
    let rest: Vec<Vec<String>> = all.collect();
    let mut out: Vec<String> = Vec::new();
    for seg in first {
        let version =
            seg.len() > 1 && seg.starts_with('v') && seg[1..].bytes().all(|b| b.is_ascii_digit());
        if seg.is_empty()
            || version
            || scope_segments.contains(&seg)
            || out.contains(&seg)
            || seg == base
            || !rest.iter().all(|r| r.contains(&seg))
        {
            continue;
        }
        out.push(seg);
    }
    (!out.is_empty()).then(|| out.join("_"))
}

fn lookup(known: &BTreeMap<(String, String), String>, scope: &str, c: &Value) -> Option<Value> {
    if !candidate(c) {
        return None;
    }
    known
        .get(&(scope.to_owned(), sorted(c).to_string()))
        .map(|n| type_ref(n))
}

/// A front-matter field of an imported spec written as JSON (`params: {` … up to the next
/// unindented line), parsed; `None` when absent or not JSON.
pub fn field(text: &str, key: &str) -> Option<Value> {
    let (start, len) = field_span(text, key)?;
    let body = &text[start..start + len];
    let json = body.strip_prefix(&format!("{key}:"))?;
    serde_json::from_str(json.trim()).ok()
}

fn field_span(text: &str, key: &str) -> Option<(usize, usize)> {
    let mut pos = 0;
    let mut start = None;
    for line in text.split_inclusive('\n') {
        match start {
            None if line.starts_with(&format!("{key}:")) => start = Some(pos),
            Some(s) if !line.starts_with(' ') => return Some((s, pos - s)),
            _ => {}
        }
        pos += line.len();
    }
    start.map(|s| (s, pos - s))
}

/// `text` with the JSON fields replaced by `values` (keys in their place) and, when it has one,
/// its `import_hash` recomputed. Fields not in the text are left out.
pub fn with_fields(text: &str, values: &[(&str, &Value)]) -> String {
    let mut out = text.to_owned();
    for (key, v) in values {
        if let Some((s, len)) = field_span(&out, key) {
            out.replace_range(s..s + len, &format!("{key}: {}\n", crate::import::flow(v)));
        }
    }
    if out.contains("\nimport_hash:") {
        let hash = crate::import::content_hash(&out);
        out = out
            .split_inclusive('\n')
            .map(|l| {
                if l.starts_with("import_hash:") {
                    format!("import_hash: \"{hash:016x}\"\n")
                } else {
                    l.to_owned()
                }
            })
            .collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(owner: &str, scope: &str, schema: Value) -> Input {
        Input {
            owner: owner.into(),
            scope: scope.into(),
            field: "returns".into(),
            schema,
        }
    }

    fn row() -> Value {
        json!({"type": "object", "properties": {"A": {"type": "integer"}, "B": {"type": "string"}, "C": {"type": "string"}}})
    }

    fn wrap(key: &str, v: Value) -> Value {
        json!({"type": "object", "properties": {key: v}})
    }

    #[test]
    fn two_methods_share_a_shape() {
        let r = share(&[
            input(
                "x.a.get",
                "x",
                wrap("product_rows", json!({"type": "array", "items": row()})),
            ),
            input(
                "x.b.get",
                "x",
                wrap("rows", json!({"type": "array", "items": row()})),
            ),
            input(
                "x.c.get",
                "x",
                wrap("product_rows", json!({"type": "array", "items": row()})),
            ),
        ]);
        assert_eq!(r.types.len(), 1);
        assert_eq!(r.types[0].name, "x.product_row");
        assert_eq!(r.types[0].schema, sorted(&row()));
        assert_eq!(r.replaced, 3);
        assert_eq!(
            r.schemas[1].schema["properties"]["rows"]["items"],
            json!({"$ref": "types/x.product_row"})
        );
    }

    #[test]
    fn no_sharing_of_small_single_use_or_cross_scope_shapes() {
        let two = json!({"type": "object", "properties": {"A": {"type": "integer"}, "B": {"type": "string"}}});
        let r = share(&[
            input("x.a", "x", wrap("p", two.clone())),
            input("x.b", "x", wrap("p", two)),
            input("x.c", "x", wrap("q", row())),
            input("y.c", "y", wrap("q", row())),
            // One method using a shape twice is still one user.
            input(
                "x.d",
                "x",
                json!({"type": "object", "properties": {"r": row_b(), "s": row_b()}}),
            ),
        ]);
        assert!(r.types.is_empty(), "{:?}", r.types);
        assert_eq!(r.replaced, 0);
    }

    fn row_b() -> Value {
        json!({"type": "object", "properties": {"D": {"type": "integer"}, "E": {"type": "string"}, "F": {"type": "string"}}})
    }

    #[test]
    fn filter_and_top_level_are_never_shared() {
        let r = share(&[
            input("x.a", "x", row()),
            input("x.b", "x", row()),
            input("x.c", "x", wrap("filter", row())),
            input("x.d", "x", wrap("filter", row())),
        ]);
        assert!(r.types.is_empty(), "{:?}", r.types);
    }

    /// A `returns` that is itself a docs-named object (`crm.deal.get`'s `deal`) is one of the
    /// type's occurrences and becomes a reference; a named `params` or `payload` root stays
    /// inline (its nested named objects are still shared).
    #[test]
    fn a_docs_named_returns_root_becomes_a_reference() {
        let deal = |extra: &str| {
            json!({"type": "object", "x-bitrix-type": "deal", "additionalProperties": true,
                "properties": {"ID": {"type": "integer"}, extra: {"type": "string"}}})
        };
        let mut params = input("crm.deal.x", "crm", deal("X"));
        params.field = "params".into();
        let mut payload = input("event:OnX", "crm", deal("Y"));
        payload.field = "payload".into();
        let r = share(&[
            input("crm.deal.get", "crm", deal("TITLE")),
            input(
                "crm.deal.list",
                "crm",
                json!({"type": "array", "items": deal("STAGE_ID")}),
            ),
            params.clone(),
            payload.clone(),
        ]);
        let names: Vec<&str> = r.types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["crm.deal"]);
        // Merged over the get's result and the list's rows only.
        let keys: Vec<&String> = r.types[0].schema["properties"]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["ID", "STAGE_ID", "TITLE"]);
        let by = |owner: &str, field: &str| {
            r.schemas
                .iter()
                .find(|i| i.owner == owner && i.field == field)
                .map(|i| i.schema.clone())
        };
        assert_eq!(
            by("crm.deal.get", "returns"),
            Some(json!({"$ref": "types/crm.deal"}))
        );
        assert_eq!(
            by("crm.deal.list", "returns"),
            Some(json!({"type": "array", "items": {"$ref": "types/crm.deal"}}))
        );
        assert_eq!(by("crm.deal.x", "params"), Some(params.schema));
        assert_eq!(by("event:OnX", "payload"), Some(payload.schema));
        assert_eq!(r.replaced, 2);
    }

    #[test]
    fn docs_named_types_merge_per_scope() {
        let a = json!({"type": "object", "x-bitrix-type": "crm_multifield", "required": ["ID", "VALUE"],
            "properties": {"ID": {"type": "integer"}, "VALUE": {}}});
        let b = json!({"type": "object", "x-bitrix-type": "crm_multifield", "required": ["ID"],
            "properties": {"VALUE": {"type": "string"}, "TYPE_ID": {"type": "string"}}});
        let r = share(&[
            input(
                "crm.deal.get",
                "crm",
                wrap("PHONE", json!({"type": "array", "items": a.clone()})),
            ),
            input(
                "crm.lead.get",
                "crm",
                wrap("EMAIL", json!({"type": "array", "items": b})),
            ),
            input("tasks.x", "tasks", wrap("PHONE", a)),
        ]);
        let names: Vec<&str> = r.types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["crm.multifield", "tasks.crm_multifield"]);
        let m = &r.types[0].schema;
        assert_eq!(m["properties"]["VALUE"], json!({"type": "string"}));
        assert_eq!(m["properties"]["TYPE_ID"], json!({"type": "string"}));
        assert_eq!(m["properties"]["ID"], json!({"type": "integer"}));
        assert_eq!(m["required"], json!(["ID"]));
        assert_eq!(
            r.schemas[0].schema["properties"]["PHONE"]["items"],
            json!({"$ref": "types/crm.multifield"})
        );
        assert_eq!(r.replaced, 3);
    }

    #[test]
    fn docs_named_occurrences_that_disagree_on_a_kind_become_unions_or_stay_open() {
        let a = json!({"type": "object", "x-bitrix-type": "field_descriptor", "required": ["statusType"],
            "properties": {"statusType": {"type": "string"}, "size": {"type": "integer"},
                "values": {"type": "object", "properties": {"Y": {"type": "string"}}},
                "labels": {"type": "object", "properties": {"Y": {"type": "string"}},
                    "additionalProperties": false},
                "names": {"type": "object", "properties": {"Y": {"type": "string"}}},
                "settings": {"type": "object", "properties": {"A": {"type": "string"}}}},
            "additionalProperties": false});
        let b = json!({"type": "object", "x-bitrix-type": "field_descriptor",
            "properties": {"statusType": {"type": "array", "items": {"type": "string"}},
                "size": {"type": "number"},
                "settings": {"type": "object", "properties": {"A": {"type": "object",
                    "properties": {"TYPE": {"type": "string"}}}, "B": {"type": "integer"}}},
                "values": {"oneOf": [{"type": "array"}, {"type": "object"}]},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "names": {"type": "object", "additionalProperties": {"type": "string"}}}});
        let r = share(&[
            input("crm.deal.fields", "crm", wrap("X", a)),
            input("crm.lead.fields", "crm", wrap("X", b)),
        ]);
        let m = &r.types[0].schema;
        // A text on one page and a list on another: one of the two.
        assert_eq!(
            m["properties"]["statusType"],
            json!({"oneOf": [{"items": {"type": "string"}, "type": "array"}, {"type": "string"}]})
        );
        assert_eq!(m.get("required"), None);
        assert_eq!(m["properties"]["size"], json!({"type": "number"}));
        // A union does not give way to one of its branches; a struct joins its object branch.
        assert_eq!(
            m["properties"]["values"],
            json!({"oneOf": [{"additionalProperties": true,
                "properties": {"Y": {"type": "string"}}, "type": "object"}, {"type": "array"}]})
        );
        // A struct that keeps other keys may hold values the map's do not fit: one of both.
        assert_eq!(
            m["properties"]["names"],
            json!({"oneOf": [{"additionalProperties": {"type": "string"}, "type": "object"},
                {"properties": {"Y": {"type": "string"}}, "type": "object"}]})
        );
        // A struct whose properties fit a map's values (and no other keys) becomes that map.
        assert_eq!(
            m["properties"]["labels"],
            json!({"type": "object", "additionalProperties": {"type": "string"}})
        );
        // Nested objects merge key by key, with the same rule inside.
        let settings = &m["properties"]["settings"];
        assert_eq!(settings["properties"]["B"], json!({"type": "integer"}));
        assert_eq!(
            settings["properties"]["A"],
            json!({"oneOf": [{"properties": {"TYPE": {"type": "string"}}, "type": "object"},
                {"type": "string"}]})
        );
    }

    #[test]
    fn name_ties_go_by_users_then_canonical_json() {
        let r = share(&[
            input("x.a", "x", wrap("item", row())),
            input("x.b", "x", wrap("item", row())),
            input("x.c", "x", wrap("item", row_b())),
            input("x.d", "x", wrap("item", row_b())),
            input("x.e", "x", wrap("item", row_b())),
        ]);
        let got: Vec<(&str, &Value)> = r
            .types
            .iter()
            .map(|t| (t.name.as_str(), &t.schema))
            .collect();
        assert_eq!(
            got,
            [("x.item", &sorted(&row_b())), ("x.item_2", &sorted(&row()))]
        );
    }

    #[test]
    fn a_shape_that_loses_the_bare_name_is_named_after_its_users() {
        let r = share(&[
            input("x.a.add", "x", wrap("fields", row())),
            input("x.b.add", "x", wrap("fields", row())),
            input("x.c.add", "x", wrap("fields", row())),
            input("method:Classic:x.v1.lead.add", "x", wrap("fields", row_b())),
            input("method:V3:x.v1.lead.update", "x", wrap("fields", row_b())),
        ]);
        let names: Vec<&str> = r.types.iter().map(|t| t.name.as_str()).collect();
        // `x` (the scope) and `v1` (a version) say nothing; `lead` is what the users share.
        assert_eq!(names, ["x.fields", "x.lead_fields"]);
        // A shape whose users share nothing but the scope still takes a number.
        let r = share(&[
            input("x.a.add", "x", wrap("fields", row())),
            input("x.b.add", "x", wrap("fields", row())),
            input("x.c.add", "x", wrap("fields", row())),
            input("x.d.get", "x", wrap("fields", row_b())),
            input("x.e.list", "x", wrap("fields", row_b())),
        ]);
        let names: Vec<&str> = r.types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["x.fields", "x.fields_2"]);
    }

    #[test]
    fn outermost_first_then_nested_shapes_inside_types() {
        let task = json!({"type": "object", "properties": {"ID": {"type": "integer"}, "TITLE": {"type": "string"}, "creator": row()}});
        let r = share(&[
            input("t.a", "t", wrap("task", task.clone())),
            input("t.b", "t", wrap("task", task)),
            input("t.c", "t", wrap("responsible", row())),
        ]);
        let names: Vec<&str> = r.types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["t.creator", "t.task"]);
        assert_eq!(
            r.types[1].schema["properties"]["creator"],
            json!({"$ref": "types/t.creator"})
        );
        assert_eq!(
            r.schemas[2].schema["properties"]["responsible"],
            json!({"$ref": "types/t.creator"})
        );
    }

    #[test]
    fn output_does_not_depend_on_input_order() {
        let mut v = vec![
            input("x.a", "x", wrap("item", row())),
            input("x.b", "x", wrap("item", row())),
            input("x.c", "x", wrap("item", row_b())),
            input("x.d", "x", wrap("other", row_b())),
        ];
        let one = share(&v);
        v.reverse();
        assert_eq!(share(&v), one);
    }

    #[test]
    fn placeholder_keys_give_way_to_the_parent() {
        assert!(!usable_key("{id}") && !usable_key("0") && usable_key("ITEMS"));
        assert_eq!(singular("ITEMS"), "item");
        assert_eq!(singular("ids"), "ids");
        assert_eq!(
            docs_type_name("crm", "crm_multifield").as_deref(),
            Some("crm.multifield")
        );
        assert_eq!(docs_type_name("crm", "___"), None);
    }

    #[test]
    fn whole_texts_are_shared_and_unchanged_ones_keep_their_bytes() {
        let spec_in = |scope: &str, name: &str, key: &str| {
            let params = wrap(key, row());
            // As import writes it: JSON fields, `generated_by`, a matching `import_hash`.
            with_fields(
                &format!(
                    "---\nmethod: {name}\nscope: {scope}\nparams: {params}\nreturns: {{}}\ngenerated_by: import\nimport_hash: \"0\"\n---\n"
                ),
                &[],
            )
        };
        let spec = |name: &str, key: &str| spec_in("crm", name, key);
        let mut texts = Vec::new();
        for (name, key) in [("x.a.get", "row"), ("x.b.get", "row"), ("x.c.get", "other")] {
            texts.push(Text {
                owner: format!("method:{name}"),
                text: spec(name, key),
            });
        }
        // x.c.get has the same shape under another key: three users, one type.
        texts.push(Text {
            owner: "method:y.d.get".into(),
            text: spec_in("other", "y.d.get", "row"),
        });
        assert!(texts.iter().all(|t| crate::import::untouched(&t.text)));
        let (out, types) = share_texts(&texts);
        let shared_ref = json!({"$ref": "types/crm.row"});
        assert_eq!(types.len(), 1, "{types:?}");
        assert_eq!(types[0].0, "crm.row");
        assert!(crate::import::untouched(&types[0].1));
        for t in &out {
            assert!(crate::import::untouched(t), "{t}");
        }
        assert_eq!(
            field(&out[0], "params").unwrap()["properties"]["row"],
            shared_ref
        );
        assert_eq!(
            field(&out[1], "params").unwrap()["properties"]["row"],
            shared_ref
        );
        assert_eq!(
            field(&out[2], "params").unwrap()["properties"]["other"],
            shared_ref
        );
        // The one of another scope is not shared: its text is unchanged, byte for byte.
        assert_eq!(out[3], texts[3].text);
        // The type spec parses and the specs refer to it without errors.
        let mut sources: Vec<crate::SourceFile> = out
            .iter()
            .enumerate()
            .map(|(i, t)| crate::SourceFile {
                path: format!("specs/{i}.md"),
                text: t.clone(),
            })
            .collect();
        sources.push(crate::SourceFile {
            path: "specs/types/crm.row.md".into(),
            text: types[0].1.clone(),
        });
        let (_, d) = crate::check(&sources);
        assert!(!d.has_errors(), "{d}");
    }

    #[test]
    fn fields_are_read_and_rewritten_with_a_fresh_hash() {
        let page = "# Получить x.thing.get\n\n> Scope: [`crm`](x)\n\n## Параметры метода\n\n#|\n|| **Название**\n`тип` | **Описание** ||\n|| **id**\n[`integer`](x) | x ||\n|#\n";
        let imp = crate::import::import_page("crm/x-thing-get.md", page).expect("imported");
        let params = field(&imp.text, "params").expect("params");
        assert_eq!(params["properties"]["id"]["type"], "integer");
        let new = with_fields(&imp.text, &[("params", &json!({"type": "object"}))]);
        assert!(crate::import::untouched(&new));
        assert_eq!(field(&new, "params"), Some(json!({"type": "object"})));
        assert_eq!(field(&new, "returns"), field(&imp.text, "returns"));
        assert!(remove_stale(&new, false));
        assert!(!remove_stale(&new, true));
        assert!(!remove_stale(&new.replace("object", "array"), false));
    }
}
