//! How much of a JSON value a schema types: the measure behind `cargo xtask coverage`.
//!
//! The value is walked beside its schema. Every leaf (a scalar, `null`, or an empty array or
//! object) is counted once; it is *typed* when the schema at its place gives it a Rust type
//! of its own (a bool, number, string, enum), and *open* when it lands in a
//! `serde_json::Value`: under an any-JSON schema, or as an undeclared key of an object whose
//! other keys go to the catch-all map. A scalar where the schema wants an object or array,
//! or the reverse, is counted open: it would not decode into the typed field. PHP's empty
//! array is typed where either is wanted: the loose decoder reads `[]` as an empty object
//! and `{}` as an empty list.
//!
//! Pure: no I/O, never panics, bounded by the value's depth (a `$ref` only moves within the
//! schema while the value goes one level down).

use crate::schema::{Additional, Kind, Schema, SchemaSet};
use serde_json::Value;

/// Leaves counted in one or more values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Leaves that land in a typed field.
    pub typed: u64,
    /// All leaves.
    pub total: u64,
}

impl Tally {
    /// Adds another tally to this one.
    pub fn add(&mut self, other: Tally) {
        self.typed += other.typed;
        self.total += other.total;
    }

    /// The typed share in percent (100 for no leaves at all).
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            self.typed as f64 * 100.0 / self.total as f64
        }
    }
}

/// The schemas of the type specs (`specs/types/`) by name, which `{"$ref": "types/…"}`
/// reaches; empty when a corpus has none.
pub type Types = std::collections::BTreeMap<String, SchemaSet>;

/// Counts the leaves of `value` and how many of them `set` types.
pub fn tally(set: &SchemaSet, value: &Value) -> Tally {
    tally_in(set, &Types::new(), value)
}

/// [`tally`], with references to type specs followed into `types`.
pub fn tally_in(set: &SchemaSet, types: &Types, value: &Value) -> Tally {
    let mut w = Walker::default();
    w.walk(At { set, types }, &set.root, value);
    w.t
}

/// Why leaves are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// The schema at the place is any JSON.
    Any,
    /// A key the object's schema does not declare (it goes to the catch-all map).
    Undeclared,
    /// A value of another JSON kind than the schema's (a scalar for an object, …), or no
    /// union branch fits it.
    Mismatch,
}

impl Reason {
    /// A short name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Any => "any",
            Reason::Undeclared => "undeclared",
            Reason::Mismatch => "mismatch",
        }
    }
}

/// Open leaves at one place of a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// The JSON path of the place (`fields.PHONE[]`: array positions are written `[]`).
    pub path: String,
    /// Why its leaves are open.
    pub reason: Reason,
    /// How many leaves.
    pub leaves: u64,
}

/// [`tally_in`], and where the open leaves are and why, in the value's order.
pub fn tally_open(set: &SchemaSet, types: &Types, value: &Value) -> (Tally, Vec<Open>) {
    let mut w = Walker {
        found: Some(Vec::new()),
        ..Walker::default()
    };
    w.walk(At { set, types }, &set.root, value);
    (w.t, w.found.unwrap_or_default())
}

/// Whether a schema is any JSON at its root (after following `$ref`s).
pub fn is_any(set: &SchemaSet, schema: &Schema) -> bool {
    is_any_in(set, &Types::new(), schema)
}

/// [`is_any`], with references to type specs followed into `types`.
pub fn is_any_in(set: &SchemaSet, types: &Types, schema: &Schema) -> bool {
    matches!(resolve(At { set, types }, schema).1.kind, Kind::Any)
}

/// The schema set a schema belongs to (its `#/$defs` indexes point there) and the type specs.
#[derive(Clone, Copy)]
struct At<'a> {
    set: &'a SchemaSet,
    types: &'a Types,
}

/// Upper bound on `$ref` hops (a loop, which `normalise` and `check` already report, stops).
const MAX_HOPS: usize = 64;

/// Follows `$ref`s (to definitions and to type specs) to a schema that is not one; a loop of
/// references or a dangling one resolves to the last schema reached.
fn resolve<'a>(mut at: At<'a>, mut schema: &'a Schema) -> (At<'a>, &'a Schema) {
    for _ in 0..MAX_HOPS {
        match &schema.kind {
            Kind::Ref(i) => match at.set.defs.get(*i) {
                Some(def) => schema = &def.schema,
                None => break,
            },
            Kind::Shared(name) => match at.types.get(name) {
                Some(set) => {
                    at.set = set;
                    schema = &set.root;
                }
                None => break,
            },
            _ => break,
        }
    }
    (at, schema)
}

fn leaves(value: &Value) -> u64 {
    match value {
        Value::Array(items) if !items.is_empty() => items.iter().map(leaves).sum(),
        Value::Object(map) if !map.is_empty() => map.values().map(leaves).sum(),
        _ => 1,
    }
}

/// The walk: the tally, and the open places when asked for them.
#[derive(Default)]
struct Walker {
    t: Tally,
    path: Vec<String>,
    found: Option<Vec<Open>>,
}

impl Walker {
    fn open(&mut self, value: &Value, reason: Reason) {
        let n = leaves(value);
        self.t.total += n;
        if let Some(found) = &mut self.found {
            found.push(Open {
                path: self.path.concat(),
                reason,
                leaves: n,
            });
        }
    }

    fn typed(&mut self) {
        self.t.total += 1;
        self.t.typed += 1;
    }

    fn walk(&mut self, at: At<'_>, schema: &Schema, value: &Value) {
        let (at, schema) = resolve(at, schema);
        if value.is_null() {
            if schema.nullable || !matches!(schema.kind, Kind::Any) {
                self.typed();
            } else {
                self.open(value, Reason::Any);
            }
            return;
        }
        match (&schema.kind, value) {
            (Kind::Any, _) | (Kind::Ref(_) | Kind::Shared(_), _) => self.open(value, Reason::Any),
            (Kind::Bool | Kind::Integer | Kind::Number | Kind::String | Kind::Enum(_), v) => {
                if !v.is_array() && !v.is_object() {
                    self.typed();
                } else {
                    self.open(v, Reason::Mismatch);
                }
            }
            (Kind::Array(items), Value::Array(values)) => {
                if values.is_empty() {
                    self.typed();
                }
                self.path.push("[]".into());
                for v in values {
                    self.walk(at, items, v);
                }
                self.path.pop();
            }
            (Kind::Object(obj), Value::Object(map)) => {
                if map.is_empty() {
                    self.typed();
                }
                for (key, v) in map {
                    let sep = if self.path.is_empty() { "" } else { "." };
                    self.path.push(format!("{sep}{key}"));
                    match obj.properties.iter().find(|p| &p.name == key) {
                        Some(p) => self.walk(at, &p.schema, v),
                        None => match &obj.additional {
                            Additional::Schema(s) => self.walk(at, s, v),
                            Additional::Unspecified | Additional::Any | Additional::Forbidden => {
                                self.open(v, Reason::Undeclared)
                            }
                        },
                    }
                    self.path.pop();
                }
            }
            (Kind::Union(variants), v) => match variants.iter().find(|s| fits(at, s, v)) {
                Some(s) => self.walk(at, s, v),
                None => self.open(v, Reason::Mismatch),
            },
            // PHP's empty array: the loose decoder reads `[]` as an empty object and `{}` as
            // an empty list.
            (Kind::Array(_) | Kind::Object(_), v) if is_empty_container(v) => self.typed(),
            (Kind::Array(_) | Kind::Object(_), v) => self.open(v, Reason::Mismatch),
        }
    }
}

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// Whether the JSON kind of `value` is one `schema` accepts (the union branch a decoder would
/// take; scalars fit any scalar schema, as the loose decoder reads numbers from strings).
fn fits(at: At<'_>, schema: &Schema, value: &Value) -> bool {
    match (&resolve(at, schema).1.kind, value) {
        (Kind::Any, _) => true,
        (Kind::Array(_), Value::Array(_)) | (Kind::Object(_), Value::Object(_)) => true,
        (Kind::Array(_) | Kind::Object(_), _) => false,
        (_, Value::Array(_) | Value::Object(_)) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Def, Object, Property};
    use serde_json::json;

    fn s(kind: Kind) -> Schema {
        Schema::of(kind)
    }

    fn prop(name: &str, schema: Schema) -> Property {
        Property {
            name: name.to_owned(),
            schema,
            required: false,
        }
    }

    fn set(root: Schema, defs: Vec<Def>) -> SchemaSet {
        SchemaSet {
            root,
            defs,
            type_refs: Vec::new(),
        }
    }

    #[test]
    fn declared_keys_are_typed_and_the_rest_open() {
        let obj = s(Kind::Object(Object {
            properties: vec![
                prop("ID", s(Kind::Integer)),
                prop("TAGS", s(Kind::Array(Box::new(s(Kind::String))))),
            ],
            additional: Additional::Any,
        }));
        let t = tally(
            &set(obj, vec![]),
            &json!({"ID": "5", "TAGS": ["a", "b"], "UF_CRM_1": {"x": 1, "y": [2, 3]}}),
        );
        assert_eq!(t, Tally { typed: 3, total: 6 });
    }

    #[test]
    fn any_json_types_nothing_and_refs_are_followed() {
        let any = tally(
            &set(s(Kind::Any), vec![]),
            &json!([{"a": 1}, {"b": [true, null]}]),
        );
        assert_eq!(any, Tally { typed: 0, total: 3 });
        let defs = vec![Def {
            name: "deal".to_owned(),
            schema: s(Kind::Object(Object {
                properties: vec![prop("ID", s(Kind::String))],
                additional: Additional::Unspecified,
            })),
        }];
        let list = s(Kind::Array(Box::new(s(Kind::Ref(0)))));
        let t = tally(&set(list, defs), &json!([{"ID": "1"}, {"ID": "2", "X": 3}]));
        assert_eq!(t, Tally { typed: 2, total: 3 });
    }

    #[test]
    fn shape_mismatches_are_open_and_unions_pick_the_fitting_branch() {
        let int = set(s(Kind::Integer), vec![]);
        assert_eq!(
            tally(&int, &json!({"a": 1, "b": 2})),
            Tally { typed: 0, total: 2 }
        );
        let union = s(Kind::Union(vec![
            s(Kind::Integer),
            s(Kind::Array(Box::new(s(Kind::Integer)))),
        ]));
        let u = set(union, vec![]);
        // An empty list for an object and an empty object for a list decode (PHP's `[]`).
        let obj = set(three_fields(), vec![]);
        assert_eq!(tally(&obj, &json!([])), Tally { typed: 1, total: 1 });
        assert_eq!(tally(&obj, &json!([1])), Tally { typed: 0, total: 1 });
        let list = set(s(Kind::Array(Box::new(s(Kind::Integer)))), vec![]);
        assert_eq!(tally(&list, &json!({})), Tally { typed: 1, total: 1 });
        assert_eq!(tally(&u, &json!([1, 2])), Tally { typed: 2, total: 2 });
        assert_eq!(tally(&u, &json!({"k": 1})), Tally { typed: 0, total: 1 });
    }

    fn three_fields() -> Schema {
        s(Kind::Object(Object {
            properties: vec![
                prop("ID", s(Kind::Integer)),
                prop("TAGS", s(Kind::Array(Box::new(s(Kind::String))))),
                prop("X", s(Kind::Any)),
            ],
            additional: Additional::Any,
        }))
    }

    #[test]
    fn open_places_are_named_with_their_reason() {
        let obj = three_fields();
        let value = json!({"ID": {"a": 1, "b": 2}, "TAGS": ["a"], "X": [1, 2], "UF": 1});
        let (t, open) = tally_open(&set(obj, vec![]), &Types::new(), &value);
        assert_eq!(t, tally(&set(three_fields(), vec![]), &value));
        assert_eq!(t, Tally { typed: 1, total: 6 });
        let got: Vec<(&str, Reason, u64)> = open
            .iter()
            .map(|o| (o.path.as_str(), o.reason, o.leaves))
            .collect();
        assert_eq!(
            got,
            [
                ("ID", Reason::Mismatch, 2),
                ("X", Reason::Any, 2),
                ("UF", Reason::Undeclared, 1),
            ]
        );
    }

    #[test]
    fn php_empty_arrays_fit_objects_and_lists() {
        let obj = s(Kind::Object(Object {
            properties: vec![prop("ID", s(Kind::Integer))],
            additional: Additional::Any,
        }));
        let list = s(Kind::Array(Box::new(s(Kind::Integer))));
        let t = |schema: Schema, v: Value| tally(&set(schema, vec![]), &v);
        // `[]` is read as an empty object, `{}` as an empty list: typed.
        assert_eq!(t(obj.clone(), json!([])), Tally { typed: 1, total: 1 });
        assert_eq!(t(list.clone(), json!({})), Tally { typed: 1, total: 1 });
        // A non-empty one is not.
        assert_eq!(t(obj, json!([1, 2])), Tally { typed: 0, total: 2 });
        assert_eq!(t(list, json!({"a": 1})), Tally { typed: 0, total: 1 });
    }

    #[test]
    fn a_reference_loop_does_not_hang() {
        let defs = vec![
            Def {
                name: "a".to_owned(),
                schema: s(Kind::Ref(1)),
            },
            Def {
                name: "b".to_owned(),
                schema: s(Kind::Ref(0)),
            },
        ];
        let t = tally(&set(s(Kind::Ref(0)), defs), &json!({"x": 1}));
        assert_eq!(t, Tally { typed: 0, total: 1 });
        // A type spec that refers to itself (an error of `check`) stops too.
        let mut types = Types::new();
        types.insert(
            "crm.a".to_owned(),
            set(s(Kind::Shared("crm.a".into())), vec![]),
        );
        let t = tally_in(
            &set(s(Kind::Shared("crm.a".into())), vec![]),
            &types,
            &json!(1),
        );
        assert_eq!(t, Tally { typed: 0, total: 1 });
    }

    #[test]
    fn type_spec_references_are_followed_with_their_own_definitions() {
        // The type's `#/$defs/0` is its own, not the method's.
        let mut types = Types::new();
        types.insert(
            "crm.multifield".to_owned(),
            set(
                s(Kind::Object(Object {
                    properties: vec![prop("VALUE", s(Kind::Ref(0)))],
                    additional: Additional::Unspecified,
                })),
                vec![Def {
                    name: "v".to_owned(),
                    schema: s(Kind::String),
                }],
            ),
        );
        let method = set(
            s(Kind::Array(Box::new(s(Kind::Shared(
                "crm.multifield".into(),
            ))))),
            vec![Def {
                name: "other".to_owned(),
                schema: s(Kind::Any),
            }],
        );
        let value = json!([{"VALUE": "x", "Y": 1}]);
        assert_eq!(
            tally_in(&method, &types, &value),
            Tally { typed: 1, total: 2 }
        );
        // Without the type specs the reference types nothing.
        assert_eq!(tally(&method, &value), Tally { typed: 0, total: 2 });
        // `--open` follows the reference too, and names the place inside the type.
        let (t, open) = tally_open(&method, &types, &value);
        assert_eq!(t, Tally { typed: 1, total: 2 });
        assert_eq!(
            open,
            [Open {
                path: "[].Y".to_owned(),
                reason: Reason::Undeclared,
                leaves: 1
            }]
        );
    }
}
