//! [`Object`]: the reader generated struct decoders are written with.

use serde::de;
use serde_json::{Map, Value};

use super::misfit::wrong_type;
use super::{Loose, Misfit};

static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();

/// A JSON object being decoded into a struct, one field at a time:
///
/// ```
/// use bitrix24_runtime::loose::{Loose, Misfit, Object};
/// use serde_json::{Value, json};
///
/// struct Deal {
///     id: i64,
///     title: Option<String>,
///     additional: std::collections::BTreeMap<String, Value>,
/// }
///
/// impl Loose for Deal {
///     fn from_loose(v: &Value) -> Result<Self, Misfit> {
///         let o = Object::new(v)?;
///         let id = o.req("ID")?;
///         let title = o.opt("TITLE")?;
///         let additional = o.rest(&["ID", "TITLE"])?;
///         let id = o.need(id, "ID")?;
///         Ok(Deal { id, title, additional })
///     }
/// }
///
/// let d = Deal::from_loose(&json!({"ID": "7", "UF_X": 1})).unwrap();
/// assert_eq!((d.id, d.title, d.additional.len()), (7, None, 1));
/// let e = Deal::from_loose(&json!({"ID": "7x"})).err().unwrap();
/// assert_eq!(e.path_text(), "ID");
/// ```
///
/// `[]` is read as an empty object (PHP's empty array); any other value that is not an
/// object is a [`Misfit`].
#[derive(Debug, Clone, Copy)]
pub struct Object<'a> {
    map: &'a Map<String, Value>,
}

impl<'a> Object<'a> {
    /// Starts reading `value` as an object.
    pub fn new(value: &'a Value) -> Result<Object<'a>, Misfit> {
        match value {
            Value::Object(map) => Ok(Object { map }),
            Value::Array(a) if a.is_empty() => Ok(Object {
                map: EMPTY.get_or_init(Map::new),
            }),
            // Not serde's `invalid_type` constructor: this decoder looked into the list.
            Value::Array(_) => Err(Misfit::new("invalid type: sequence, expected an object")),
            _ => Err(wrong_type(value, "an object")),
        }
    }

    /// The object's members.
    pub fn map(&self) -> &'a Map<String, Value> {
        self.map
    }

    /// A required field, read if present (`None` when absent; see [`Object::need`]).
    ///
    /// A struct decoder reads every field first, in key order, then asks for the required
    /// ones with [`Object::need`], in declaration order: so a value that does not fit is
    /// reported before a missing field, and the first misfit in key order wins, as serde's
    /// own struct visitors (which walk the object's keys) report them.
    pub fn req<T: Loose>(&self, key: &str) -> Result<Option<T>, Misfit> {
        match self.map.get(key) {
            Some(v) => match T::from_loose(v) {
                Ok(x) => Ok(Some(x)),
                Err(e) => Err(e.at_key(key)),
            },
            None => Ok(None),
        }
    }

    /// The value [`Object::req`] read, or serde's ``missing field `KEY` ``.
    pub fn need<T>(&self, value: Option<T>, key: &str) -> Result<T, Misfit> {
        match value {
            Some(x) => Ok(x),
            // serde's `missing_field` message (it wants a `&'static str`).
            None => Err(Misfit::new(format!("missing field `{key}`"))),
        }
    }

    /// An optional field (`Option<T>`, or `Value` for `{}`): `T::default()` when absent.
    pub fn opt<T: Loose + Default>(&self, key: &str) -> Result<T, Misfit> {
        match self.map.get(key) {
            Some(v) => match T::from_loose(v) {
                Ok(x) => Ok(x),
                Err(e) => Err(e.at_key(key)),
            },
            None => Ok(T::default()),
        }
    }

    /// Every key not in `known`, decoded as `T` (the flattened map of undeclared keys).
    pub fn rest<T: Loose>(
        &self,
        known: &[&str],
    ) -> Result<std::collections::BTreeMap<String, T>, Misfit> {
        let mut out = std::collections::BTreeMap::new();
        for (k, v) in self.map {
            if known.contains(&k.as_str()) {
                continue;
            }
            match T::from_loose(v) {
                Ok(x) => out.insert(k.clone(), x),
                Err(e) => return Err(e.at_key(k)),
            };
        }
        Ok(out)
    }

    /// Refuses any key not in `known` (`additionalProperties: false`), as serde's
    /// `deny_unknown_fields` does.
    pub fn deny(&self, known: &'static [&'static str]) -> Result<(), Misfit> {
        match self.map.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(de::Error::unknown_field(k, known)),
            None => Ok(()),
        }
    }
}
