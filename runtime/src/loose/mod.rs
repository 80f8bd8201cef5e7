//! Lenient decoding of Bitrix24's loose wire values.
//!
//! Bitrix24 is written in PHP and its JSON often disagrees with the declared types. The
//! generated types decode every field through [`Loose`], which accepts:
//!
//! | declared | also accepted |
//! |---|---|
//! | integer | `"42"`, `" 42 "`, `"42.00"`, `42.0` |
//! | number | `"1500.00"`, integers |
//! | boolean | `"Y"`/`"N"` (any case), `"1"`/`"0"`, `1`/`0`, `"true"`/`"false"` |
//! | string | numbers (kept as their decimal text) |
//! | object | `[]` (PHP's empty array) |
//! | array | `{}` |
//! | map | `[]`, and a JSON list, keyed `"0"`, `"1"`, ... (PHP sends a map with keys 0..n as a list) |
//! | optional value | `null`, `false`, `""` and, for objects, `[]` all mean "absent" |
//!
//! Nothing that would lose data is accepted: `"12abc"` as an integer, `2` as a boolean,
//! `1.5` as an integer, a non-empty list as an object: each is a [`Misfit`] that names the
//! value's JSON path (reported as a [`crate::DecodeError`]).
//!
//! `false` and `""` keep their meaning where they are real values: an optional boolean
//! decodes `false` as `Some(false)`, an optional string decodes `""` as `Some("")`, and
//! an enum that lists `""` decodes it as that variant.
//!
//! Decoding works on a [`serde_json::Value`] (every answer is one before it is typed) and is
//! not generic over a `Deserializer`: each type's decoder is compiled once. What generated
//! code uses:
//!
//! * [`Object`]: the reader a generated struct's [`Loose::from_loose`] is written with;
//! * [`crate::loose_deserialize!`]: a type's `Deserialize`, through its [`Loose`] decoder;
//! * [`crate::string_enum!`], [`crate::int_enum!`]: the impls of an enum of values with a
//!   catch-all variant;
//! * [`YesNo`]: the `Y`/`N` flag, shared by every spec that has one.

mod enums;
mod misfit;
mod object;

use std::collections::BTreeMap;

use serde::de::{self, Deserialize, Deserializer, Unexpected};
use serde_json::Value;

pub use enums::YesNo;
#[doc(hidden)]
pub use enums::has_empty;
pub use misfit::{Misfit, Segment};
use misfit::{unexpected, wrong_type};
pub use object::Object;

/// Re-exports the macros' expansions name (so a crate using them needs no `serde` of its own).
#[doc(hidden)]
pub mod __private {
    pub use serde;
    pub use serde_json;
}

/// A type that can be decoded from Bitrix24's loose wire values.
///
/// Implemented for the scalar types, containers and every generated type.
pub trait Loose: Sized {
    /// Whether `false` is a value of this type rather than PHP's "absent".
    const FALSE_IS_VALUE: bool = false;
    /// Whether `""` is a value of this type rather than PHP's "absent".
    const EMPTY_STRING_IS_VALUE: bool = false;
    /// Whether `[]` is a value of this type rather than PHP's "absent".
    const EMPTY_ARRAY_IS_VALUE: bool = false;

    /// Decodes a value, accepting the loose forms listed in the [module docs](self).
    fn from_loose(value: &Value) -> Result<Self, Misfit>;
}

/// Decodes any [`Loose`] type from a deserializer (through a [`Value`]); usable in
/// `#[serde(deserialize_with = "...::loose::de")]`.
pub fn de<'de, D: Deserializer<'de>, T: Loose>(deserializer: D) -> Result<T, D::Error> {
    let value = Value::deserialize(deserializer)?;
    T::from_loose(&value).map_err(de::Error::custom)
}

/// The body of every generated `Deserialize` impl (see [`crate::loose_deserialize!`]): reads a
/// [`Value`] and decodes it loosely, so `serde_json::from_str::<SomeResponse>(text)` accepts
/// what the portal sends.
pub fn deserialize<'de, D: Deserializer<'de>, T: Loose>(deserializer: D) -> Result<T, D::Error> {
    de(deserializer)
}

/// Decodes a type that has its own `Deserialize` (hand-written types such as
/// [`crate::Time`]), also accepting `[]` as an empty object.
pub fn via_deserialize<T: de::DeserializeOwned>(value: &Value) -> Result<T, Misfit> {
    let empty;
    let value = match value {
        Value::Array(a) if a.is_empty() => {
            empty = Value::Object(serde_json::Map::new());
            &empty
        }
        other => other,
    };
    T::deserialize(value).map_err(|e| Misfit::new(e.to_string()))
}

/// Gives any [`Loose`] type a `Deserialize` impl, for decoding a whole document loosely:
/// `serde_json::from_str::<Loosely<T>>(text)?.0`.
#[derive(Debug, Clone, PartialEq)]
pub struct Loosely<T>(pub T);

impl<'de, T: Loose> Deserialize<'de> for Loosely<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        de(deserializer).map(Loosely)
    }
}

/// Gives a [`Loose`] type its `Deserialize` impl: one line per generated type,
/// `::bitrix24_runtime::loose_deserialize!(AddRequest);`.
#[macro_export]
macro_rules! loose_deserialize {
    ($ty:ident) => {
        impl<'de> $crate::loose::__private::serde::Deserialize<'de> for $ty {
            fn deserialize<D: $crate::loose::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                $crate::loose::deserialize(deserializer)
            }
        }
    };
}

// ---- scalars -------------------------------------------------------------------------------

const BOOL: &str = "a boolean (true/false, \"Y\"/\"N\", 1/0)";
const INT: &str = "an integer (or an integer written as a string)";
const FLOAT: &str = "a number (or a number written as a string)";

impl Loose for bool {
    const FALSE_IS_VALUE: bool = true;

    fn from_loose(value: &Value) -> Result<Self, Misfit> {
        match value {
            Value::Bool(b) => Ok(*b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(0), _) => Ok(false),
                (Some(1), _) => Ok(true),
                (Some(_), _) | (None, Some(_)) => {
                    Err(de::Error::invalid_value(unexpected(value), &BOOL))
                }
                (None, None) => Err(wrong_type(value, BOOL)),
            },
            Value::String(s) => {
                let t = s.trim();
                if ["y", "true", "1"].iter().any(|y| t.eq_ignore_ascii_case(y)) {
                    Ok(true)
                } else if ["n", "false", "0"]
                    .iter()
                    .any(|n| t.eq_ignore_ascii_case(n))
                {
                    Ok(false)
                } else {
                    Err(de::Error::invalid_value(Unexpected::Str(s), &BOOL))
                }
            }
            _ => Err(wrong_type(value, BOOL)),
        }
    }
}

/// Parses `"42"`, `" 42 "`, `"+42"` and `"42.000"`; nothing else.
fn parse_int(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(n) = t.parse::<i64>() {
        return Some(n);
    }
    let (whole, frac) = t.split_once('.')?;
    if frac.is_empty() || !frac.bytes().all(|b| b == b'0') {
        return None;
    }
    whole.parse::<i64>().ok()
}

impl Loose for i64 {
    fn from_loose(value: &Value) -> Result<Self, Misfit> {
        match value {
            Value::Number(n) => {
                if let Some(i) = n.as_i64() {
                    Ok(i)
                } else if n.is_u64() {
                    Err(de::Error::invalid_value(unexpected(value), &INT))
                } else {
                    let v = n.as_f64().unwrap_or(f64::NAN);
                    // 2^63 is exact in f64; the half-open range keeps i64::MAX + 1 out.
                    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
                    if v.fract() == 0.0 && (-TWO_63..TWO_63).contains(&v) {
                        #[allow(clippy::cast_possible_truncation)]
                        Ok(v as i64)
                    } else {
                        Err(de::Error::invalid_value(Unexpected::Float(v), &INT))
                    }
                }
            }
            Value::String(s) => {
                parse_int(s).ok_or_else(|| de::Error::invalid_value(Unexpected::Str(s), &INT))
            }
            _ => Err(wrong_type(value, INT)),
        }
    }
}

impl Loose for i32 {
    fn from_loose(value: &Value) -> Result<Self, Misfit> {
        let n = i64::from_loose(value)?;
        i32::try_from(n).map_err(|_| {
            de::Error::invalid_value(Unexpected::Signed(n), &"an integer that fits in 32 bits")
        })
    }
}

impl Loose for f64 {
    fn from_loose(value: &Value) -> Result<Self, Misfit> {
        match value {
            #[allow(clippy::cast_precision_loss)]
            Value::Number(n) => Ok(n.as_f64().unwrap_or(f64::NAN)),
            Value::String(s) => {
                let t = s.trim();
                // `f64::from_str` also takes "inf" and "NaN", which JSON has no way to say.
                let plain = !t.is_empty()
                    && t.bytes().all(|b| {
                        b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E')
                    });
                match t.parse::<f64>() {
                    Ok(n) if plain && n.is_finite() => Ok(n),
                    _ => Err(de::Error::invalid_value(Unexpected::Str(s), &FLOAT)),
                }
            }
            _ => Err(wrong_type(value, FLOAT)),
        }
    }
}

impl Loose for String {
    const EMPTY_STRING_IS_VALUE: bool = true;

    fn from_loose(value: &Value) -> Result<Self, Misfit> {
        match value {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(if let Some(u) = n.as_u64() {
                u.to_string()
            } else if let Some(i) = n.as_i64() {
                i.to_string()
            } else {
                n.as_f64().unwrap_or(f64::NAN).to_string()
            }),
            _ => Err(wrong_type(value, "a string")),
        }
    }
}

impl Loose for Value {
    const FALSE_IS_VALUE: bool = true;
    const EMPTY_STRING_IS_VALUE: bool = true;
    const EMPTY_ARRAY_IS_VALUE: bool = true;

    fn from_loose(value: &Value) -> Result<Self, Misfit> {
        Ok(value.clone())
    }
}

impl Loose for serde_json::Map<String, Value> {
    const EMPTY_ARRAY_IS_VALUE: bool = true;

    fn from_loose(value: &Value) -> Result<Self, Misfit> {
        Ok(Object::new(value)?.map().clone())
    }
}

// ---- containers ----------------------------------------------------------------------------

impl<T: Loose> Loose for Box<T> {
    const FALSE_IS_VALUE: bool = T::FALSE_IS_VALUE;
    const EMPTY_STRING_IS_VALUE: bool = T::EMPTY_STRING_IS_VALUE;
    const EMPTY_ARRAY_IS_VALUE: bool = T::EMPTY_ARRAY_IS_VALUE;

    fn from_loose(value: &Value) -> Result<Self, Misfit> {
        match T::from_loose(value) {
            Ok(x) => Ok(Box::new(x)),
            Err(e) => Err(e),
        }
    }
}

impl<T: Loose> Loose for Vec<T> {
    const EMPTY_ARRAY_IS_VALUE: bool = true;

    fn from_loose(value: &Value) -> Result<Self, Misfit> {
        // Plain loops and `match` rather than iterator adapters and closures: these bodies
        // are compiled once per element type, for thousands of types.
        match value {
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, v) in items.iter().enumerate() {
                    match T::from_loose(v) {
                        Ok(x) => out.push(x),
                        Err(e) => return Err(e.at_index(i)),
                    }
                }
                Ok(out)
            }
            Value::Object(m) if m.is_empty() => Ok(Vec::new()),
            _ => Err(wrong_type(value, "an array")),
        }
    }
}

impl<T: Loose> Loose for BTreeMap<String, T> {
    const EMPTY_ARRAY_IS_VALUE: bool = true;

    fn from_loose(value: &Value) -> Result<Self, Misfit> {
        match value {
            Value::Object(m) => {
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    match T::from_loose(v) {
                        Ok(x) => out.insert(k.clone(), x),
                        Err(e) => return Err(e.at_key(k)),
                    };
                }
                Ok(out)
            }
            // PHP encodes an array keyed 0..n as a JSON list; the keys are the positions.
            Value::Array(items) => {
                let mut out = BTreeMap::new();
                for (i, v) in items.iter().enumerate() {
                    match T::from_loose(v) {
                        Ok(x) => out.insert(i.to_string(), x),
                        Err(e) => return Err(e.at_index(i)),
                    };
                }
                Ok(out)
            }
            _ => Err(wrong_type(value, "an object")),
        }
    }
}

/// Maps `null` (and PHP's `false`, `""`, `[]` where they are not values of `T`) to `None`
/// and hands every other value to `T`.
impl<T: Loose> Loose for Option<T> {
    fn from_loose(value: &Value) -> Result<Self, Misfit> {
        match value {
            Value::Null => Ok(None),
            Value::Bool(false) if !T::FALSE_IS_VALUE => Ok(None),
            Value::String(s) if s.is_empty() && !T::EMPTY_STRING_IS_VALUE => Ok(None),
            Value::Array(a) if !T::EMPTY_ARRAY_IS_VALUE => {
                if a.is_empty() {
                    return Ok(None);
                }
                // A non-empty list goes to `T` to be judged there; a scalar that refuses it
                // without looking inside says so as serde_json did: "invalid length".
                match T::from_loose(value) {
                    Ok(x) => Ok(Some(x)),
                    Err(e) => Err(list_misfit(e, a.len())),
                }
            }
            _ => match T::from_loose(value) {
                Ok(x) => Ok(Some(x)),
                Err(e) => Err(e),
            },
        }
    }
}

fn list_misfit(e: Misfit, len: usize) -> Misfit {
    if e.refused_list() {
        de::Error::invalid_length(len, &"fewer elements in array")
    } else {
        e
    }
}
