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
//! `1.5` as an integer, a non-empty list as an object: each is an error that names the
//! field's JSON path (see [`crate::DecodeError`]).
//!
//! `false` and `""` keep their meaning where they are real values: an optional boolean
//! decodes `false` as `Some(false)`, an optional string decodes `""` as `Some("")`, and
//! an enum that lists `""` decodes it as that variant.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{MapAccessDeserializer, MapDeserializer, SeqAccessDeserializer};
use serde::de::{
    self, Deserialize, Deserializer, IgnoredAny, IntoDeserializer, MapAccess, SeqAccess,
    Unexpected, Visitor,
};

/// A type that can be decoded from Bitrix24's loose wire values.
///
/// Implemented for the scalar types, containers and every generated type. Generated code
/// reaches it through `#[serde(deserialize_with = "...::loose::de")]`.
pub trait Loose: Sized {
    /// Whether `false` is a value of this type rather than PHP's "absent".
    const FALSE_IS_VALUE: bool = false;
    /// Whether `""` is a value of this type rather than PHP's "absent".
    const EMPTY_STRING_IS_VALUE: bool = false;
    /// Whether `[]` is a value of this type rather than PHP's "absent".
    const EMPTY_ARRAY_IS_VALUE: bool = false;

    /// Decodes a value, accepting the loose forms listed in the [module docs](self).
    fn deserialize_loose<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error>;
}

/// Decodes any [`Loose`] type; the function named in generated `deserialize_with` attributes.
pub fn de<'de, D: Deserializer<'de>, T: Loose>(deserializer: D) -> Result<T, D::Error> {
    T::deserialize_loose(deserializer)
}

/// Decodes a struct or map type with its own `Deserialize`, also accepting `[]` as an empty
/// object.
pub fn object<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    deserializer.deserialize_any(ObjectVisitor(PhantomData))
}

/// Decodes a type with its own `Deserialize` (generated enums and unions, whose fields are
/// already loose).
pub fn plain<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    T::deserialize(deserializer)
}

/// Gives any [`Loose`] type a `Deserialize` impl, for decoding a whole document loosely:
/// `serde_json::from_str::<Loosely<T>>(text)?.0`.
#[derive(Debug, Clone, PartialEq)]
pub struct Loosely<T>(pub T);

impl<'de, T: Loose> Deserialize<'de> for Loosely<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize_loose(deserializer).map(Loosely)
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_type(Unexpected::Seq, &self));
        }
        T::deserialize(MapDeserializer::<_, A::Error>::new(std::iter::empty::<(
            String,
            String,
        )>()))
    }
}

// ---- scalars -------------------------------------------------------------------------------

impl Loose for bool {
    const FALSE_IS_VALUE: bool = true;

    fn deserialize_loose<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BoolVisitor)
    }
}

struct BoolVisitor;

impl Visitor<'_> for BoolVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean (true/false, \"Y\"/\"N\", 1/0)")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(Unexpected::Signed(v), &self)),
        }
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(Unexpected::Unsigned(v), &self)),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        let t = v.trim();
        if ["y", "true", "1"].iter().any(|y| t.eq_ignore_ascii_case(y)) {
            Ok(true)
        } else if ["n", "false", "0"]
            .iter()
            .any(|n| t.eq_ignore_ascii_case(n))
        {
            Ok(false)
        } else {
            Err(E::invalid_value(Unexpected::Str(v), &self))
        }
    }
}

impl Loose for i64 {
    fn deserialize_loose<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IntVisitor)
    }
}

impl Loose for i32 {
    fn deserialize_loose<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = deserializer.deserialize_any(IntVisitor)?;
        i32::try_from(n).map_err(|_| {
            de::Error::invalid_value(Unexpected::Signed(n), &"an integer that fits in 32 bits")
        })
    }
}

struct IntVisitor;

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

impl Visitor<'_> for IntVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer (or an integer written as a string)")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        // 2^63 is exact in f64; the half-open range keeps i64::MAX + 1 out.
        const TWO_63: f64 = 9_223_372_036_854_775_808.0;
        if v.fract() == 0.0 && (-TWO_63..TWO_63).contains(&v) {
            #[allow(clippy::cast_possible_truncation)]
            Ok(v as i64)
        } else {
            Err(E::invalid_value(Unexpected::Float(v), &self))
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        parse_int(v).ok_or_else(|| E::invalid_value(Unexpected::Str(v), &self))
    }
}

impl Loose for f64 {
    fn deserialize_loose<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FloatVisitor)
    }
}

struct FloatVisitor;

impl Visitor<'_> for FloatVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number (or a number written as a string)")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    #[allow(clippy::cast_precision_loss)]
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        let t = v.trim();
        // `f64::from_str` also takes "inf" and "NaN", which JSON has no way to say.
        let plain = !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
        match t.parse::<f64>() {
            Ok(n) if plain && n.is_finite() => Ok(n),
            _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
        }
    }
}

impl Loose for String {
    const EMPTY_STRING_IS_VALUE: bool = true;

    fn deserialize_loose<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StringVisitor)
    }
}

struct StringVisitor;

impl Visitor<'_> for StringVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
}

impl Loose for serde_json::Value {
    const FALSE_IS_VALUE: bool = true;
    const EMPTY_STRING_IS_VALUE: bool = true;
    const EMPTY_ARRAY_IS_VALUE: bool = true;

    fn deserialize_loose<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(deserializer)
    }
}

impl Loose for serde_json::Map<String, serde_json::Value> {
    const EMPTY_ARRAY_IS_VALUE: bool = true;

    fn deserialize_loose<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        object(deserializer)
    }
}

// ---- containers ----------------------------------------------------------------------------

impl<T: Loose> Loose for Box<T> {
    const FALSE_IS_VALUE: bool = T::FALSE_IS_VALUE;
    const EMPTY_STRING_IS_VALUE: bool = T::EMPTY_STRING_IS_VALUE;
    const EMPTY_ARRAY_IS_VALUE: bool = T::EMPTY_ARRAY_IS_VALUE;

    fn deserialize_loose<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize_loose(deserializer).map(Box::new)
    }
}

/// Caps the capacity reserved from a size hint, so a hostile hint cannot allocate much.
fn cautious(hint: Option<usize>) -> usize {
    hint.unwrap_or(0).min(1024)
}

impl<T: Loose> Loose for Vec<T> {
    const EMPTY_ARRAY_IS_VALUE: bool = true;

    fn deserialize_loose<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(VecVisitor(PhantomData))
    }
}

struct VecVisitor<T>(PhantomData<T>);

impl<'de, T: Loose> Visitor<'de> for VecVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = Vec::with_capacity(cautious(seq.size_hint()));
        while let Some(Loosely(item)) = seq.next_element::<Loosely<T>>()? {
            out.push(item);
        }
        Ok(out)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
        if map.next_key::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_type(Unexpected::Map, &self));
        }
        Ok(Vec::new())
    }
}

impl<T: Loose> Loose for BTreeMap<String, T> {
    const EMPTY_ARRAY_IS_VALUE: bool = true;

    fn deserialize_loose<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MapVisitor(PhantomData))
    }
}

struct MapVisitor<T>(PhantomData<T>);

impl<'de, T: Loose> Visitor<'de> for MapVisitor<T> {
    type Value = BTreeMap<String, T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((key, Loosely(value))) = map.next_entry::<String, Loosely<T>>()? {
            out.insert(key, value);
        }
        Ok(out)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // PHP encodes an array keyed 0..n as a JSON list; the keys are the positions.
        let mut out = BTreeMap::new();
        let mut index = 0usize;
        while let Some(Loosely(value)) = seq.next_element::<Loosely<T>>()? {
            out.insert(index.to_string(), value);
            index += 1;
        }
        Ok(out)
    }
}

impl<T: Loose> Loose for Option<T> {
    fn deserialize_loose<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OptionVisitor(PhantomData))
    }
}

/// Maps `null` (and PHP's `false`, `""`, `[]` where they are not values of `T`) to `None`
/// and hands every other value to `T`, through a deserializer that keeps the JSON path.
struct OptionVisitor<T>(PhantomData<T>);

impl<'de, T: Loose> Visitor<'de> for OptionVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        T::deserialize_loose(d).map(Some)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        if !v && !T::FALSE_IS_VALUE {
            return Ok(None);
        }
        T::deserialize_loose(IntoDeserializer::<E>::into_deserializer(v)).map(Some)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        T::deserialize_loose(IntoDeserializer::<E>::into_deserializer(v)).map(Some)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        T::deserialize_loose(IntoDeserializer::<E>::into_deserializer(v)).map(Some)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        T::deserialize_loose(IntoDeserializer::<E>::into_deserializer(v)).map(Some)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        if v.is_empty() && !T::EMPTY_STRING_IS_VALUE {
            return Ok(None);
        }
        T::deserialize_loose(IntoDeserializer::<E>::into_deserializer(v)).map(Some)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        if v.is_empty() && !T::EMPTY_STRING_IS_VALUE {
            return Ok(None);
        }
        T::deserialize_loose(de::value::BorrowedStrDeserializer::<E>::new(v)).map(Some)
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        if v.is_empty() && !T::EMPTY_STRING_IS_VALUE {
            return Ok(None);
        }
        T::deserialize_loose(IntoDeserializer::<E>::into_deserializer(v)).map(Some)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        if T::EMPTY_ARRAY_IS_VALUE {
            return T::deserialize_loose(SeqAccessDeserializer::new(seq)).map(Some);
        }
        // `[]` is PHP's empty value; a non-empty list goes to `T` to be judged there.
        let mut first = true;
        T::deserialize_loose(SeqAccessDeserializer::new(PeekSeq {
            seq,
            first: &mut first,
        }))
        .map(|value| (!first).then_some(value))
        .or_else(|e| if first { Ok(None) } else { Err(e) })
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize_loose(MapAccessDeserializer::new(map)).map(Some)
    }
}

/// A `SeqAccess` that records whether the list turned out to be empty.
struct PeekSeq<'a, A> {
    seq: A,
    first: &'a mut bool,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for PeekSeq<'_, A> {
    type Error = A::Error;

    fn next_element_seed<S: de::DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, A::Error> {
        let next = self.seq.next_element_seed(seed)?;
        if next.is_some() {
            *self.first = false;
        }
        Ok(next)
    }

    fn size_hint(&self) -> Option<usize> {
        self.seq.size_hint()
    }
}

/// Decodes a value loosely; the `DeserializeSeed` the generated struct decoders read their
/// fields through.
#[doc(hidden)]
pub struct Seed<T>(PhantomData<T>);

impl<T> Default for Seed<T> {
    fn default() -> Self {
        Seed(PhantomData)
    }
}

impl<'de, T: Loose> de::DeserializeSeed<'de> for Seed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        T::deserialize_loose(deserializer)
    }
}
