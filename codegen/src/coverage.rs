//! How much of a JSON value a schema types: the measure behind `cargo xtask coverage`.
//!
//! The value is walked beside its schema. Every leaf (a scalar, `null`, or an empty array or
//! object) is counted once; it is *typed* when the schema at its place gives it a Rust type
//! of its own (a bool, number, string, enum), and *open* when it lands in a
//! `serde_json::Value`: under an any-JSON schema, or as an undeclared key of an object whose
//! other keys go to the catch-all map. A scalar where the schema wants an object or array,
//! or the reverse, is counted open: it would not decode into the typed field.
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

/// Counts the leaves of `value` and how many of them `set` types.
pub fn tally(set: &SchemaSet, value: &Value) -> Tally {
    let mut w = Walker::default();
    w.walk(set, &set.root, value);
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

/// [`tally`], and where the open leaves are and why, in the value's order.
pub fn tally_open(set: &SchemaSet, value: &Value) -> (Tally, Vec<Open>) {
    let mut w = Walker {
        found: Some(Vec::new()),
        ..Walker::default()
    };
    w.walk(set, &set.root, value);
    (w.t, w.found.unwrap_or_default())
}

/// Whether a schema is any JSON at its root (after following `$ref`s).
pub fn is_any(set: &SchemaSet, schema: &Schema) -> bool {
    matches!(resolve(set, schema).kind, Kind::Any)
}

/// Follows `$ref`s to a schema that is not one; a loop of references (which `normalise`
/// already reports) or a dangling index resolves to the last schema reached.
fn resolve<'a>(set: &'a SchemaSet, mut schema: &'a Schema) -> &'a Schema {
    for _ in 0..=set.defs.len() {
        match schema.kind {
            Kind::Ref(i) => match set.defs.get(i) {
                Some(def) => schema = &def.schema,
                None => break,
            },
            _ => break,
        }
    }
    schema
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

    fn walk(&mut self, set: &SchemaSet, schema: &Schema, value: &Value) {
        let schema = resolve(set, schema);
        if value.is_null() {
            if schema.nullable || !matches!(schema.kind, Kind::Any) {
                self.t.total += 1;
                self.t.typed += 1;
            } else {
                self.open(value, Reason::Any);
            }
            return;
        }
        match (&schema.kind, value) {
            (Kind::Any, _) | (Kind::Ref(_), _) => self.open(value, Reason::Any),
            (Kind::Bool | Kind::Integer | Kind::Number | Kind::String | Kind::Enum(_), v) => {
                if !v.is_array() && !v.is_object() {
                    self.t.total += 1;
                    self.t.typed += 1;
                } else {
                    self.open(v, Reason::Mismatch);
                }
            }
            (Kind::Array(items), Value::Array(values)) => {
                if values.is_empty() {
                    self.t.total += 1;
                    self.t.typed += 1;
                }
                self.path.push("[]".into());
                for v in values {
                    self.walk(set, items, v);
                }
                self.path.pop();
            }
            (Kind::Object(obj), Value::Object(map)) => {
                if map.is_empty() {
                    self.t.total += 1;
                    self.t.typed += 1;
                }
                for (key, v) in map {
                    let sep = if self.path.is_empty() { "" } else { "." };
                    self.path.push(format!("{sep}{key}"));
                    match obj.properties.iter().find(|p| &p.name == key) {
                        Some(p) => self.walk(set, &p.schema, v),
                        None => match &obj.additional {
                            Additional::Schema(s) => self.walk(set, s, v),
                            Additional::Unspecified | Additional::Any | Additional::Forbidden => {
                                self.open(v, Reason::Undeclared)
                            }
                        },
                    }
                    self.path.pop();
                }
            }
            (Kind::Union(variants), v) => match variants.iter().find(|s| fits(set, s, v)) {
                Some(s) => self.walk(set, s, v),
                None => self.open(v, Reason::Mismatch),
            },
            // PHP writes an empty map as `[]`: the loose decoder reads an empty list as an
            // empty object and an empty object as an empty list.
            (Kind::Object(_), Value::Array(a)) if a.is_empty() => {
                self.t.total += 1;
                self.t.typed += 1;
            }
            (Kind::Array(_), Value::Object(m)) if m.is_empty() => {
                self.t.total += 1;
                self.t.typed += 1;
            }
            (Kind::Array(_) | Kind::Object(_), v) => self.open(v, Reason::Mismatch),
        }
    }
}

/// Whether the JSON kind of `value` is one `schema` accepts (the union branch a decoder would
/// take; scalars fit any scalar schema, as the loose decoder reads numbers from strings).
fn fits(set: &SchemaSet, schema: &Schema, value: &Value) -> bool {
    match (&resolve(set, schema).kind, value) {
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
        SchemaSet { root, defs }
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
        let (t, open) = tally_open(&set(obj, vec![]), &value);
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
    }
}
