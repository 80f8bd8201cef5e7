//! A spec's `params` or `returns` YAML normalised to a [`SchemaSet`]: keywords checked
//! (unknown ones warned about), `type` lists and `null` branches folded into `nullable`,
//! `enum`/`const` read, `allOf` merged into one object, `$ref` resolved to a definition index.
//! Every problem goes to the [`Sink`] with its JSON path and line.

use super::{
    Additional, Def, EnumValue, Format, Kind, Object, Property, Schema, SchemaSet, Sink, TypeRef,
    join_path,
};
use crate::yaml::{printable, yaml_kind, yaml_short};
use serde_yaml::{Mapping, Value};
use std::collections::BTreeSet;

const MAX_DEPTH: usize = 64;

const KNOWN_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "oneOf",
    "anyOf",
    "allOf",
    "$ref",
    "$defs",
    "definitions",
    "format",
    "nullable",
    "description",
    "title",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "$comment",
];

struct Ctx<'s, 'a> {
    sink: &'s mut Sink<'a>,
    /// `#/$defs/Name` or `#/definitions/Name` -> index and raw value.
    def_refs: Vec<(String, Value)>,
    /// The `types/…` references met so far.
    type_refs: Vec<TypeRef>,
}

/// The prefix of a reference to a type spec: `types/<scope>.<name>`.
pub(crate) const TYPES_REF: &str = "types/";

/// Normalises `params` or `returns` (named by `root`).
pub(crate) fn normalise_root(v: &Value, root: &str, sink: &mut Sink<'_>) -> SchemaSet {
    let mut def_refs = Vec::new();
    let mut def_names = Vec::new();
    if let Value::Mapping(m) = v {
        for table in ["$defs", "definitions"] {
            match m.get(table) {
                None => {}
                Some(Value::Mapping(defs)) => {
                    for (k, dv) in defs {
                        match scalar_key(k) {
                            Some(name) => {
                                def_refs.push((format!("#/{table}/{name}"), dv.clone()));
                                def_names.push((table, name));
                            }
                            None => sink.error(
                                &[root.to_owned(), table.to_owned()],
                                format!("definition names must be strings, found {}", yaml_kind(k)),
                            ),
                        }
                    }
                }
                Some(other) => sink.error(
                    &[root.to_owned(), table.to_owned()],
                    format!(
                        "expected a mapping of definitions, found {}",
                        yaml_kind(other)
                    ),
                ),
            }
        }
    }
    let mut ctx = Ctx {
        sink,
        def_refs,
        type_refs: Vec::new(),
    };
    let mut path = vec![root.to_owned()];
    let root_schema = ctx.norm(v, &mut path, 0, true);
    let mut defs = Vec::new();
    for (i, (table, name)) in def_names.into_iter().enumerate() {
        let raw = ctx.def_refs[i].1.clone();
        let mut path = vec![root.to_owned(), table.to_owned(), name.clone()];
        let schema = ctx.norm(&raw, &mut path, 0, false);
        defs.push(Def { name, schema });
    }
    SchemaSet {
        root: root_schema,
        defs,
        type_refs: ctx.type_refs,
    }
}

fn scalar_key(k: &Value) -> Option<String> {
    match k {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Ctx<'_, '_> {
    fn child(&mut self, v: &Value, path: &mut Vec<String>, seg: &str, depth: usize) -> Schema {
        path.push(seg.to_owned());
        let s = self.norm(v, path, depth + 1, false);
        path.pop();
        s
    }

    fn norm(&mut self, v: &Value, path: &mut Vec<String>, depth: usize, is_root: bool) -> Schema {
        if depth > MAX_DEPTH {
            self.sink.error(
                path,
                format!("the schema is nested more than {MAX_DEPTH} levels deep"),
            );
            return Schema::of(Kind::Any);
        }
        let m = match v {
            Value::Bool(true) => return Schema::of(Kind::Any),
            Value::Mapping(m) => m,
            Value::Bool(false) => {
                self.sink.error(
                    path,
                    "the schema `false` (no value allowed) is not supported",
                );
                return Schema::of(Kind::Any);
            }
            other => {
                self.sink.error(
                    path,
                    format!(
                        "a schema must be a mapping or `true`, found {}",
                        yaml_short(other)
                    ),
                );
                return Schema::of(Kind::Any);
            }
        };
        let mut keys = BTreeSet::new();
        for k in m.keys() {
            let Some(k) = k.as_str() else {
                self.sink.error(
                    path,
                    format!("schema keywords must be strings, found {}", yaml_short(k)),
                );
                continue;
            };
            keys.insert(k);
            if k.starts_with("x-") || KNOWN_KEYWORDS.contains(&k) {
                if !is_root && (k == "$defs" || k == "definitions") {
                    path.push(k.to_owned());
                    self.sink.warning(path, "definitions below the top of `params`/`returns` are ignored; move them to the top");
                    path.pop();
                }
                continue;
            }
            path.push(k.to_owned());
            self.sink.warning(
                path,
                format!("unknown schema keyword `{}` ignored", printable(k)),
            );
            path.pop();
        }
        let doc = self.string_kw(m, "description", path);
        let title = self.string_kw(m, "title", path);
        let mut nullable = self.bool_kw(m, "nullable", path);
        let deprecated = self.bool_kw(m, "deprecated", path);
        let _ = self.bool_kw(m, "readOnly", path);
        let _ = self.bool_kw(m, "uniqueItems", path);
        for kw in ["minLength", "maxLength", "minItems", "maxItems"] {
            if let Some(v) = m.get(kw) {
                if v.as_u64().is_none() {
                    path.push(kw.to_owned());
                    self.sink.error(
                        path,
                        format!("expected a non-negative integer, found {}", yaml_short(v)),
                    );
                    path.pop();
                }
            }
        }
        for kw in ["minimum", "maximum"] {
            if let Some(v) = m.get(kw) {
                if v.as_f64().is_none() {
                    path.push(kw.to_owned());
                    self.sink
                        .error(path, format!("expected a number, found {}", yaml_short(v)));
                    path.pop();
                }
            }
        }
        let _ = self.string_kw(m, "pattern", path);
        let format = match self.string_kw(m, "format", path) {
            None => None,
            Some(f) => {
                let parsed = Format::parse(&f);
                if parsed.is_none() {
                    path.push("format".to_owned());
                    self.sink
                        .warning(path, format!("unknown format `{}` ignored", printable(&f)));
                    path.pop();
                }
                parsed
            }
        };
        let mut base = Schema {
            kind: Kind::Any,
            nullable: false,
            doc,
            title,
            format,
            deprecated,
            bitrix_type: m
                .get("x-bitrix-type")
                .and_then(Value::as_str)
                .map(str::to_owned),
        };

        // `type`: a name or a list of names; `null` becomes `nullable`.
        let mut types: Vec<String> = Vec::new();
        if let Some(t) = m.get("type") {
            path.push("type".to_owned());
            let names: Vec<&Value> = match t {
                Value::Sequence(items) => items.iter().collect(),
                other => vec![other],
            };
            for n in names {
                match n.as_str() {
                    Some(s @ ("object" | "array" | "string" | "integer" | "number" | "boolean")) => {
                        if !types.iter().any(|x| x == s) {
                            types.push(s.to_owned());
                        }
                    }
                    Some("null") => nullable = true,
                    _ => self.sink.error(
                        path,
                        format!(
                            "unknown type {}; expected object, array, string, integer, number, boolean or null",
                            yaml_short(n)
                        ),
                    ),
                }
            }
            path.pop();
        }

        let kind = if let Some(r) = m.get("$ref") {
            path.push("$ref".to_owned());
            let kind = match r.as_str() {
                Some(s) if s.starts_with(TYPES_REF) => {
                    let name = &s[TYPES_REF.len()..];
                    if super::is_type_name(name) {
                        self.type_refs.push(TypeRef {
                            name: name.to_owned(),
                            path: join_path(path),
                            line: self.sink.loc.line(path),
                        });
                        Kind::Shared(name.to_owned())
                    } else {
                        self.sink.error(
                            path,
                            format!(
                                "`{}` is not a type reference; write `types/<scope>.<name>` ([a-z][a-z0-9_]* segments joined by `.`), the name of a file in `types/` without `.md`",
                                printable(s)
                            ),
                        );
                        Kind::Any
                    }
                }
                Some(s) => match self.def_refs.iter().position(|(k, _)| k == s) {
                    Some(i) => Kind::Ref(i),
                    None => {
                        let msg = if s.starts_with("#/$defs/") || s.starts_with("#/definitions/") {
                            format!(
                                "`{}` names no definition in this schema's `$defs`/`definitions`",
                                printable(s)
                            )
                        } else {
                            format!(
                                "`{}` is not supported; only `#/$defs/Name` and `#/definitions/Name` of the same schema and `types/<scope>.<name>` (a type spec) are",
                                printable(s)
                            )
                        };
                        self.sink.error(path, msg);
                        Kind::Any
                    }
                },
                None => {
                    self.sink
                        .error(path, format!("expected a string, found {}", yaml_short(r)));
                    Kind::Any
                }
            };
            path.pop();
            kind
        } else if m.contains_key("enum") || m.contains_key("const") {
            self.enum_kind(m, path, &mut nullable)
        } else if let Some((kw, list)) = m
            .get("oneOf")
            .map(|l| ("oneOf", l))
            .or_else(|| m.get("anyOf").map(|l| ("anyOf", l)))
        {
            // A bare `type: null` branch only makes the whole schema nullable.
            let is_null_branch = |v: &Value| {
                v.as_mapping().is_some_and(|m| {
                    m.get("type").and_then(Value::as_str) == Some("null") && m.len() == 1
                })
            };
            let variants = self.schema_list(list, kw, path, depth);
            let raw: Vec<&Value> = list
                .as_sequence()
                .map(|s| s.iter().collect())
                .unwrap_or_default();
            let mut kept = Vec::new();
            for (i, v) in variants.into_iter().enumerate() {
                if raw.get(i).is_some_and(|r| is_null_branch(r)) {
                    nullable = true;
                } else {
                    nullable |= v.nullable;
                    kept.push(Schema {
                        nullable: false,
                        ..v
                    });
                }
            }
            match kept.len() {
                0 => Kind::Any,
                1 => {
                    let only = kept.remove(0);
                    if base.doc.is_none() {
                        base.doc = only.doc.clone();
                    }
                    only.kind
                }
                _ => Kind::Union(kept),
            }
        } else if let Some(list) = m.get("allOf") {
            self.all_of(m, list, path, depth)
        } else {
            match types.len() {
                0 => {
                    if ["properties", "additionalProperties", "required"]
                        .iter()
                        .any(|k| m.contains_key(*k))
                    {
                        self.object_kind(m, path, depth)
                    } else if m.contains_key("items") {
                        self.array_kind(m, path, depth)
                    } else {
                        Kind::Any
                    }
                }
                1 => self.simple_kind(&types[0], m, path, depth),
                _ => Kind::Union(
                    types
                        .iter()
                        .map(|t| Schema::of(self.simple_kind(t, m, path, depth)))
                        .collect(),
                ),
            }
        };
        if kind == Kind::Any && m.get("type").is_some() && types.is_empty() {
            // `type: null` alone: only null; treat as any JSON value.
            nullable = false;
        }
        base.kind = kind;
        base.nullable = nullable && base.kind != Kind::Any;
        base
    }

    fn simple_kind(&mut self, t: &str, m: &Mapping, path: &mut Vec<String>, depth: usize) -> Kind {
        match t {
            "object" => self.object_kind(m, path, depth),
            "array" => self.array_kind(m, path, depth),
            "string" => Kind::String,
            "integer" => Kind::Integer,
            "number" => Kind::Number,
            _ => Kind::Bool,
        }
    }

    fn string_kw(&mut self, m: &Mapping, kw: &str, path: &mut Vec<String>) -> Option<String> {
        match m.get(kw)? {
            Value::String(s) => Some(s.clone()),
            other => {
                path.push(kw.to_owned());
                self.sink.error(
                    path,
                    format!("expected a string, found {}", yaml_short(other)),
                );
                path.pop();
                None
            }
        }
    }

    fn bool_kw(&mut self, m: &Mapping, kw: &str, path: &mut Vec<String>) -> bool {
        match m.get(kw) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                path.push(kw.to_owned());
                self.sink.error(
                    path,
                    format!("expected `true` or `false`, found {}", yaml_short(other)),
                );
                path.pop();
                false
            }
        }
    }

    fn schema_list(
        &mut self,
        list: &Value,
        kw: &str,
        path: &mut Vec<String>,
        depth: usize,
    ) -> Vec<Schema> {
        path.push(kw.to_owned());
        let out = match list {
            Value::Sequence(items) if !items.is_empty() => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.child(item, path, &format!("[{i}]"), depth))
                .collect(),
            other => {
                self.sink.error(
                    path,
                    format!(
                        "expected a non-empty list of schemas, found {}",
                        yaml_short(other)
                    ),
                );
                Vec::new()
            }
        };
        path.pop();
        out
    }

    fn enum_kind(&mut self, m: &Mapping, path: &mut Vec<String>, nullable: &mut bool) -> Kind {
        let (kw, values): (&str, Vec<&Value>) = match (m.get("enum"), m.get("const")) {
            (Some(Value::Sequence(items)), _) => ("enum", items.iter().collect()),
            (Some(other), _) => {
                path.push("enum".to_owned());
                self.sink.error(
                    path,
                    format!("expected a list of values, found {}", yaml_short(other)),
                );
                path.pop();
                return Kind::Any;
            }
            (None, Some(c)) => ("const", vec![c]),
            (None, None) => return Kind::Any,
        };
        path.push(kw.to_owned());
        let mut out: Vec<EnumValue> = Vec::new();
        let mut bools = 0;
        for (i, v) in values.iter().enumerate() {
            let ev = match v {
                Value::String(s) => EnumValue::Str(s.clone()),
                Value::Number(n) if n.as_i64().is_some() => {
                    EnumValue::Int(n.as_i64().unwrap_or_default())
                }
                Value::Null => {
                    *nullable = true;
                    continue;
                }
                Value::Bool(_) => {
                    bools += 1;
                    continue;
                }
                other => {
                    path.push(format!("[{i}]"));
                    self.sink.error(
                        path,
                        format!(
                            "enum values must be strings or integers, found {}",
                            yaml_short(other)
                        ),
                    );
                    path.pop();
                    continue;
                }
            };
            if !out.contains(&ev) {
                out.push(ev);
            }
        }
        let kind = if bools > 0 && out.is_empty() {
            Kind::Bool
        } else if bools > 0 {
            self.sink.error(
                path,
                "an enum may not mix booleans with strings or integers",
            );
            Kind::Any
        } else if out.is_empty() {
            if !*nullable {
                self.sink.error(path, "an enum needs at least one value");
            }
            Kind::Any
        } else {
            Kind::Enum(out)
        };
        path.pop();
        kind
    }

    fn object_kind(&mut self, m: &Mapping, path: &mut Vec<String>, depth: usize) -> Kind {
        let mut properties: Vec<Property> = Vec::new();
        match m.get("properties") {
            None => {}
            Some(Value::Mapping(props)) => {
                path.push("properties".to_owned());
                for (k, pv) in props {
                    let Some(name) = scalar_key(k) else {
                        self.sink.error(
                            path,
                            format!("property names must be strings, found {}", yaml_short(k)),
                        );
                        continue;
                    };
                    let schema = self.child(pv, path, &name, depth);
                    properties.push(Property {
                        name,
                        schema,
                        required: false,
                    });
                }
                path.pop();
            }
            Some(other) => {
                path.push("properties".to_owned());
                self.sink.error(
                    path,
                    format!(
                        "expected a mapping of property schemas, found {}",
                        yaml_short(other)
                    ),
                );
                path.pop();
            }
        }
        match m.get("required") {
            None => {}
            Some(Value::Sequence(req)) => {
                path.push("required".to_owned());
                for (i, r) in req.iter().enumerate() {
                    match r.as_str() {
                        Some(name) => {
                            match properties.iter_mut().find(|p| p.name == name) {
                                Some(p) => p.required = true,
                                None => {
                                    path.push(format!("[{i}]"));
                                    self.sink.error(
                                    path,
                                    format!("required property `{}` is not declared in `properties`", printable(name)),
                                );
                                    path.pop();
                                }
                            }
                        }
                        None => {
                            path.push(format!("[{i}]"));
                            self.sink.error(
                                path,
                                format!("expected a property name, found {}", yaml_short(r)),
                            );
                            path.pop();
                        }
                    }
                }
                path.pop();
            }
            Some(other) => {
                path.push("required".to_owned());
                self.sink.error(
                    path,
                    format!(
                        "expected a list of property names, found {}",
                        yaml_short(other)
                    ),
                );
                path.pop();
            }
        }
        let additional = match m.get("additionalProperties") {
            None => Additional::Unspecified,
            Some(Value::Bool(false)) => Additional::Forbidden,
            Some(Value::Bool(true)) => Additional::Any,
            Some(v) => {
                let s = self.child(v, path, "additionalProperties", depth);
                if s.kind == Kind::Any && !s.nullable {
                    Additional::Any
                } else {
                    Additional::Schema(Box::new(s))
                }
            }
        };
        Kind::Object(Object {
            properties,
            additional,
        })
    }

    fn array_kind(&mut self, m: &Mapping, path: &mut Vec<String>, depth: usize) -> Kind {
        let items = match m.get("items") {
            None => Schema::of(Kind::Any),
            Some(Value::Sequence(_)) => {
                path.push("items".to_owned());
                self.sink.error(
                    path,
                    "tuple-form `items` (a list of schemas) is not supported; give one schema",
                );
                path.pop();
                Schema::of(Kind::Any)
            }
            Some(v) => self.child(v, path, "items", depth),
        };
        Kind::Array(Box::new(items))
    }

    /// `allOf`: every branch must be an object (directly or through `$ref`); properties and
    /// `required` are merged, the first definition of a property wins.
    fn all_of(&mut self, m: &Mapping, list: &Value, path: &mut Vec<String>, depth: usize) -> Kind {
        let mut parts = self.schema_list(list, "allOf", path, depth);
        // An object schema beside `allOf` merges in as well.
        if m.contains_key("properties") {
            parts.insert(0, Schema::of(self.object_kind(m, path, depth)));
        }
        let mut merged = Object {
            properties: Vec::new(),
            additional: Additional::Unspecified,
        };
        path.push("allOf".to_owned());
        for (i, part) in parts.into_iter().enumerate() {
            let kind = self.resolve(part.kind, depth, path);
            match kind {
                Kind::Object(obj) => {
                    for p in obj.properties {
                        match merged.properties.iter_mut().find(|q| q.name == p.name) {
                            Some(q) => q.required |= p.required,
                            None => merged.properties.push(p),
                        }
                    }
                    if merged.additional == Additional::Unspecified {
                        merged.additional = obj.additional;
                    }
                }
                Kind::Any => {}
                _ => {
                    path.push(format!("[{i}]"));
                    self.sink
                        .error(path, "`allOf` can only combine object schemas");
                    path.pop();
                }
            }
        }
        path.pop();
        Kind::Object(merged)
    }

    /// Follows `$ref`s to the definition's kind (for `allOf`).
    fn resolve(&mut self, kind: Kind, depth: usize, path: &[String]) -> Kind {
        let mut kind = kind;
        let mut hops = 0;
        while let Kind::Ref(i) = kind {
            hops += 1;
            if hops > MAX_DEPTH || depth + hops > MAX_DEPTH {
                self.sink
                    .error(path, "`allOf` refers to itself through `$ref`");
                return Kind::Any;
            }
            let raw = self.def_refs[i].1.clone();
            let mut p = path.to_vec();
            // Diagnostics inside the definition are reported when the definition itself is normalised.
            let mut scratch = crate::diag::Diagnostics::default();
            let mut sink = Sink {
                file: self.sink.file,
                loc: self.sink.loc,
                diags: &mut scratch,
            };
            let mut ctx = Ctx {
                sink: &mut sink,
                def_refs: self.def_refs.clone(),
                type_refs: Vec::new(),
            };
            kind = ctx.norm(&raw, &mut p, depth + hops, false).kind;
            if scratch
                .errors()
                .any(|d| d.message.contains("refers to itself"))
            {
                self.sink
                    .error(path, "`allOf` refers to itself through `$ref`");
                return Kind::Any;
            }
        }
        kind
    }
}
