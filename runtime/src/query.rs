//! `filter`, `order` and `select` of classic list methods, built in the caller's order.
//!
//! The three keep their entries in the order they were added, and that order reaches the
//! portal: the workspace's `serde_json` keeps object keys in insertion order, and both the
//! direct call and the batch write them as they come (module [`wire`](crate::wire)).
//! A REST 3.0 filter is a different shape: [`v3::Filter`](crate::v3::Filter).

use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A value a [`Filter`] compares a field with: a string, number, boolean, date, [`YesNo`],
/// JSON, or a list of them.
///
/// [`YesNo`]: crate::YesNo
pub trait FilterValue {
    /// The value as JSON (before the classic encoding of [`wire`](crate::wire)).
    fn into_filter_value(self) -> Value;
}

macro_rules! filter_value_via_json {
    ($($t:ty),*) => {$(
        impl FilterValue for $t {
            fn into_filter_value(self) -> Value {
                Value::from(self)
            }
        }
    )*};
}
filter_value_via_json!(
    &str, String, i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64, bool
);

impl FilterValue for &String {
    fn into_filter_value(self) -> Value {
        Value::String(self.clone())
    }
}

impl FilterValue for Value {
    fn into_filter_value(self) -> Value {
        self
    }
}

impl FilterValue for crate::YesNo {
    fn into_filter_value(self) -> Value {
        Value::String(self.as_str().to_owned())
    }
}

impl<T: FilterValue> FilterValue for Vec<T> {
    fn into_filter_value(self) -> Value {
        Value::Array(self.into_iter().map(T::into_filter_value).collect())
    }
}

impl<T: FilterValue, const N: usize> FilterValue for [T; N] {
    fn into_filter_value(self) -> Value {
        Value::Array(self.into_iter().map(T::into_filter_value).collect())
    }
}

impl<T: FilterValue + Clone> FilterValue for &[T] {
    fn into_filter_value(self) -> Value {
        Value::Array(self.iter().cloned().map(T::into_filter_value).collect())
    }
}

/// ISO 8601 with the offset, to the second: `2026-01-31T09:30:00+03:00`.
#[cfg(feature = "chrono")]
impl<Tz: chrono::TimeZone> FilterValue for chrono::DateTime<Tz>
where
    Tz::Offset: fmt::Display,
{
    fn into_filter_value(self) -> Value {
        Value::String(self.to_rfc3339_opts(chrono::SecondsFormat::Secs, false))
    }
}

/// `YYYY-MM-DD`.
#[cfg(feature = "chrono")]
impl FilterValue for chrono::NaiveDate {
    fn into_filter_value(self) -> Value {
        Value::String(self.format("%Y-%m-%d").to_string())
    }
}

/// A classic `filter`: `{"<prefix><FIELD>": value, ...}`, AND between entries, in the order
/// they were added. A field is anything `AsRef<str>`: text, so user fields (`UF_CRM_…`) and
/// camelCase names (`crm.item.list`) work alike, or a generated field enum
/// (`api::crm::deal::ListField`, see [`field_names!`](crate::field_names)). Setting the same prefixed key twice keeps the later
/// value in the first one's place.
///
/// The prefixes are the ones the list methods document (`crm.deal.list`, `catalog.*.list`,
/// `user.get`, …); not every method knows all of them (`between` is documented for fewer).
///
/// ```
/// use bitrix24_runtime::Filter;
/// let f = Filter::new()
///     .eq("CATEGORY_ID", 1)
///     .gte("DATE_MODIFY", "2026-01-01T00:00:00+03:00")
///     .in_("STAGE_ID", ["NEW", "PREPARATION"])
///     .like("TITLE", "Deal")
///     .between("OPPORTUNITY", 100, 500)
///     .raw("=UF_CRM_COLOR", "red");
/// assert_eq!(
///     serde_json::Value::from(f).to_string(),
///     r#"{"CATEGORY_ID":1,">=DATE_MODIFY":"2026-01-01T00:00:00+03:00","@STAGE_ID":["NEW","PREPARATION"],"%TITLE":"Deal","><OPPORTUNITY":[100,500],"=UF_CRM_COLOR":"red"}"#
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    entries: Vec<(String, Value)>,
}

/// The operators of a classic filter, as key prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FilterOp {
    /// No prefix: equal (the default).
    Eq,
    /// `=`: equal, spelled out.
    Exact,
    /// `!=`: not equal.
    Ne,
    /// `!`: not equal (the older spelling).
    Not,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `@`: one of a list.
    In,
    /// `!@`: none of a list.
    NotIn,
    /// `%`: contains the value (no `%` in the value).
    Like,
    /// `=%`: matches a pattern with `%` in it (`%=` is the same).
    LikePattern,
    /// `!%`: does not contain the value.
    NotLike,
    /// `!=%`: does not match a pattern with `%` in it (`!%=` is the same).
    NotLikePattern,
    /// `><`: within `[from, to]`, both included.
    Between,
    /// `!><`: outside `[from, to]`.
    NotBetween,
}

impl FilterOp {
    /// The key prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            FilterOp::Eq => "",
            FilterOp::Exact => "=",
            FilterOp::Ne => "!=",
            FilterOp::Not => "!",
            FilterOp::Gt => ">",
            FilterOp::Gte => ">=",
            FilterOp::Lt => "<",
            FilterOp::Lte => "<=",
            FilterOp::In => "@",
            FilterOp::NotIn => "!@",
            FilterOp::Like => "%",
            FilterOp::LikePattern => "=%",
            FilterOp::NotLike => "!%",
            FilterOp::NotLikePattern => "!=%",
            FilterOp::Between => "><",
            FilterOp::NotBetween => "!><",
        }
    }
}

impl Filter {
    /// No conditions.
    pub fn new() -> Filter {
        Filter::default()
    }

    /// Adds `<prefix of op><field>: value`.
    pub fn with(self, field: impl AsRef<str>, op: FilterOp, value: impl FilterValue) -> Filter {
        self.raw(format!("{}{}", op.prefix(), field.as_ref()), value)
    }

    /// Adds a key exactly as given (a prefix this type has no method for, a method's own
    /// key such as `logic`).
    pub fn raw(mut self, key: impl AsRef<str>, value: impl FilterValue) -> Filter {
        self.set(key.as_ref().to_owned(), value.into_filter_value());
        self
    }

    fn set(&mut self, key: String, value: Value) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// `field` equals `value` (no prefix).
    pub fn eq(self, field: impl AsRef<str>, value: impl FilterValue) -> Filter {
        self.with(field, FilterOp::Eq, value)
    }
    /// `=field`: equals, with the prefix spelled out.
    pub fn exact(self, field: impl AsRef<str>, value: impl FilterValue) -> Filter {
        self.with(field, FilterOp::Exact, value)
    }
    /// `!=field`: not equal.
    pub fn ne(self, field: impl AsRef<str>, value: impl FilterValue) -> Filter {
        self.with(field, FilterOp::Ne, value)
    }
    /// `!field`: not equal (the older spelling).
    pub fn not(self, field: impl AsRef<str>, value: impl FilterValue) -> Filter {
        self.with(field, FilterOp::Not, value)
    }
    /// `>field`
    pub fn gt(self, field: impl AsRef<str>, value: impl FilterValue) -> Filter {
        self.with(field, FilterOp::Gt, value)
    }
    /// `>=field`
    pub fn gte(self, field: impl AsRef<str>, value: impl FilterValue) -> Filter {
        self.with(field, FilterOp::Gte, value)
    }
    /// `<field`
    pub fn lt(self, field: impl AsRef<str>, value: impl FilterValue) -> Filter {
        self.with(field, FilterOp::Lt, value)
    }
    /// `<=field`
    pub fn lte(self, field: impl AsRef<str>, value: impl FilterValue) -> Filter {
        self.with(field, FilterOp::Lte, value)
    }
    /// `@field`: one of `values`.
    pub fn in_(self, field: impl AsRef<str>, values: impl FilterValue) -> Filter {
        self.with(field, FilterOp::In, values)
    }
    /// `!@field`: none of `values`.
    pub fn not_in(self, field: impl AsRef<str>, values: impl FilterValue) -> Filter {
        self.with(field, FilterOp::NotIn, values)
    }
    /// `%field`: contains `text`.
    pub fn like(self, field: impl AsRef<str>, text: impl FilterValue) -> Filter {
        self.with(field, FilterOp::Like, text)
    }
    /// `=%field`: matches `pattern`, which holds its own `%` (`"Deal%"`).
    pub fn like_pattern(self, field: impl AsRef<str>, pattern: impl FilterValue) -> Filter {
        self.with(field, FilterOp::LikePattern, pattern)
    }
    /// `!%field`: does not contain `text`.
    pub fn not_like(self, field: impl AsRef<str>, text: impl FilterValue) -> Filter {
        self.with(field, FilterOp::NotLike, text)
    }
    /// `!=%field`: does not match `pattern`.
    pub fn not_like_pattern(self, field: impl AsRef<str>, pattern: impl FilterValue) -> Filter {
        self.with(field, FilterOp::NotLikePattern, pattern)
    }
    /// `><field`: within `[from, to]`, both included.
    pub fn between<T: FilterValue>(self, field: impl AsRef<str>, from: T, to: T) -> Filter {
        self.with(field, FilterOp::Between, [from, to])
    }
    /// `!><field`: outside `[from, to]`.
    pub fn not_between<T: FilterValue>(self, field: impl AsRef<str>, from: T, to: T) -> Filter {
        self.with(field, FilterOp::NotBetween, [from, to])
    }

    /// Adds a group whose entries are joined by OR (`crm.item.list` and the other methods
    /// that document `logic`): `{"<n>": {"logic": "OR", "0": {..}, "1": {..}}}`, one inner
    /// object per filter of `any_of`. `n` is the next free position among the groups.
    pub fn any_of(mut self, any_of: impl IntoIterator<Item = Filter>) -> Filter {
        let mut group = serde_json::Map::new();
        group.insert("logic".into(), Value::String("OR".into()));
        for (i, f) in any_of.into_iter().enumerate() {
            group.insert(i.to_string(), Value::from(f));
        }
        let n = (0..)
            .find(|n: &usize| !self.entries.iter().any(|(k, _)| *k == n.to_string()))
            .unwrap_or(0);
        self.set(n.to_string(), Value::Object(group));
        self
    }

    /// The entries in order: prefixed key and value.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Whether no condition was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Serialize for Filter {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Filter, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Filter;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a filter object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Filter, A::Error> {
                let mut f = Filter::new();
                // Bounded by the input.
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    f.set(k, v);
                }
                Ok(f)
            }
            // PHP writes an empty object as `[]`.
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Filter, A::Error> {
                match s.next_element::<de::IgnoredAny>()? {
                    None => Ok(Filter::new()),
                    Some(_) => Err(de::Error::custom(
                        "a filter is an object, not a non-empty list",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl From<Filter> for Value {
    fn from(f: Filter) -> Value {
        Value::Object(f.entries.into_iter().collect())
    }
}

impl TryFrom<Value> for Filter {
    type Error = serde_json::Error;
    fn try_from(v: Value) -> Result<Filter, serde_json::Error> {
        serde_json::from_value(v)
    }
}

/// A sort direction of [`Order`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `ASC`
    Asc,
    /// `DESC`
    Desc,
}

impl Direction {
    /// `ASC` or `DESC`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Asc => "ASC",
            Direction::Desc => "DESC",
        }
    }
}

impl Serialize for Direction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Direction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Direction, D::Error> {
        let text = String::deserialize(d)?;
        if text.eq_ignore_ascii_case("asc") {
            Ok(Direction::Asc)
        } else if text.eq_ignore_ascii_case("desc") {
            Ok(Direction::Desc)
        } else {
            Err(de::Error::custom(format!(
                "a sort direction is ASC or DESC, found {:?}",
                crate::error::cut(&text, 40)
            )))
        }
    }
}

/// A classic `order`: `{"FIELD": "ASC" | "DESC", ...}`, the first field sorting first.
/// Sorting by the same field twice keeps the later direction in the first one's place. An
/// order read from JSON goes out again as it was written (`"asc"` stays lower-case); the
/// builders write `ASC` and `DESC`.
///
/// ```
/// use bitrix24_runtime::Order;
/// let o = Order::new().desc("ID").asc("DATE_CREATE");
/// assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"ID":"DESC","DATE_CREATE":"ASC"}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Order {
    /// Field, direction, and the direction's text when it was read in another spelling.
    fields: Vec<(String, Direction, Option<Box<str>>)>,
}

impl Order {
    /// No sort fields.
    pub fn new() -> Order {
        Order::default()
    }

    /// Then by `field` in `direction`.
    pub fn by(self, field: impl AsRef<str>, direction: Direction) -> Order {
        self.put(field.as_ref(), direction, None)
    }

    fn put(mut self, field: &str, direction: Direction, spelling: Option<Box<str>>) -> Order {
        match self.fields.iter_mut().find(|(f, _, _)| f == field) {
            Some(slot) => {
                slot.1 = direction;
                slot.2 = spelling;
            }
            None => self.fields.push((field.to_owned(), direction, spelling)),
        }
        self
    }

    /// Then by `field`, ascending.
    pub fn asc(self, field: impl AsRef<str>) -> Order {
        self.by(field, Direction::Asc)
    }

    /// Then by `field`, descending.
    pub fn desc(self, field: impl AsRef<str>) -> Order {
        self.by(field, Direction::Desc)
    }

    /// The sort fields in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, Direction)> {
        self.fields.iter().map(|(f, d, _)| (f.as_str(), *d))
    }
}

impl Serialize for Order {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len()))?;
        for (f, d, spelling) in &self.fields {
            map.serialize_entry(f, spelling.as_deref().unwrap_or(d.as_str()))?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Order {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Order, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Order;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an order object {FIELD: ASC|DESC}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Order, A::Error> {
                let mut o = Order::new();
                // Bounded by the input.
                while let Some((k, text)) = m.next_entry::<String, String>()? {
                    let d =
                        Direction::deserialize(de::value::StrDeserializer::<A::Error>::new(&text))?;
                    let spelling = (text != d.as_str()).then(|| text.into_boxed_str());
                    o = o.put(&k, d, spelling);
                }
                Ok(o)
            }
            // PHP writes an empty object as `[]`.
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Order, A::Error> {
                match s.next_element::<de::IgnoredAny>()? {
                    None => Ok(Order::new()),
                    Some(_) => Err(de::Error::custom(
                        "an order is an object, not a non-empty list",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl From<Order> for Value {
    fn from(o: Order) -> Value {
        Value::Object(
            o.fields
                .into_iter()
                .map(|(f, d, spelling)| {
                    let text = spelling.map_or_else(|| d.as_str().to_owned(), String::from);
                    (f, Value::String(text))
                })
                .collect(),
        )
    }
}

impl TryFrom<Value> for Order {
    type Error = serde_json::Error;
    fn try_from(v: Value) -> Result<Order, serde_json::Error> {
        serde_json::from_value(v)
    }
}

/// A classic `select`: the fields to return, in the caller's order (`*`, `UF_*` and
/// user fields included). A field given twice is kept once, at its first place.
///
/// ```
/// use bitrix24_runtime::Select;
/// let s = Select::new(["ID", "TITLE"]).field("UF_*").field("ID");
/// assert_eq!(serde_json::to_string(&s).unwrap(), r#"["ID","TITLE","UF_*"]"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Select {
    fields: Vec<String>,
}

impl Select {
    /// These fields, in this order.
    pub fn new<I, S>(fields: I) -> Select
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        fields
            .into_iter()
            .fold(Select::default(), |s, f| s.field(f))
    }

    /// Then this field.
    pub fn field(mut self, field: impl Into<String>) -> Select {
        let field = field.into();
        if !self.fields.contains(&field) {
            self.fields.push(field);
        }
        self
    }

    /// The fields in order.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }
}

/// The fields in order, so a `Select` goes wherever a list of names does (a generated
/// request's `select` setter).
impl IntoIterator for Select {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;
    fn into_iter(self) -> Self::IntoIter {
        self.fields.into_iter()
    }
}

impl<S: Into<String>> FromIterator<S> for Select {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Select {
        Select::new(iter)
    }
}

impl Serialize for Select {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.fields.len()))?;
        for f in &self.fields {
            seq.serialize_element(f)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Select {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Select, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Select;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of field names")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Select, A::Error> {
                let mut out = Select::default();
                // Bounded by the input.
                while let Some(f) = s.next_element::<String>()? {
                    out = out.field(f);
                }
                Ok(out)
            }
            // A PHP list that went through a form: `{"0": "ID", "1": "TITLE"}`.
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Select, A::Error> {
                let mut out = Select::default();
                // Bounded by the input.
                while let Some((_, f)) = m.next_entry::<de::IgnoredAny, String>()? {
                    out = out.field(f);
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

impl From<Select> for Value {
    fn from(s: Select) -> Value {
        Value::Array(s.fields.into_iter().map(Value::String).collect())
    }
}

impl TryFrom<Value> for Select {
    type Error = serde_json::Error;
    fn try_from(v: Value) -> Result<Select, serde_json::Error> {
        serde_json::from_value(v)
    }
}

/// The impls of a generated field enum: one variant per field a list method's rows declare,
/// each standing for its wire name. `as_str`, `ALL`, `AsRef<str>` (so it goes wherever
/// [`Filter`] and [`Order`] take a field), `Display`, `Into<String>` (so it goes into a
/// [`Select`] and a generated `select` setter) and `Serialize` as the wire name.
///
/// ```
/// #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
/// #[non_exhaustive]
/// pub enum DealField { Id, DateModify }
/// bitrix24_runtime::field_names!(DealField { Id = "ID", DateModify = "DATE_MODIFY" });
///
/// use bitrix24_runtime::{Filter, Order, Select};
/// let f = Filter::new().gte(DealField::DateModify, "2026-01-01").eq("UF_CRM_1", 5);
/// assert_eq!(serde_json::to_string(&f).unwrap(), r#"{">=DATE_MODIFY":"2026-01-01","UF_CRM_1":5}"#);
/// let o = Order::new().desc(DealField::Id);
/// assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"ID":"DESC"}"#);
/// let s = Select::new(DealField::ALL.iter().copied()).field("UF_*");
/// assert_eq!(s.fields(), ["ID", "DATE_MODIFY", "UF_*"]);
/// assert_eq!(DealField::Id.to_string(), "ID");
/// ```
#[macro_export]
macro_rules! field_names {
    ($name:ident { $($variant:ident = $wire:literal),* $(,)? }) => {
        impl $name {
            /// Every field, in the order the spec declares them.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                }
            }
        }
        impl ::core::convert::AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }
        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl ::core::convert::From<$name> for ::std::string::String {
            fn from(v: $name) -> ::std::string::String {
                ::std::string::String::from(v.as_str())
            }
        }
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

// Generated request types decode their fields with `Loose`; a `filter`, `order` or `select`
// field typed with these decodes like any other (PHP's `[]` for an empty object included).
macro_rules! loose_via_deserialize {
    ($($t:ty),*) => {$(
        impl crate::loose::Loose for $t {
            fn from_loose(value: &Value) -> Result<$t, crate::loose::Misfit> {
                crate::loose::via_deserialize(value)
            }
        }
    )*};
}
loose_via_deserialize!(Filter, Order, Select);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_operator_has_its_prefix() {
        let f = Filter::new()
            .eq("A", 1)
            .exact("B", 2)
            .ne("C", 3)
            .not("D", 4)
            .gt("E", 5)
            .gte("F", 6)
            .lt("G", 7)
            .lte("H", 8)
            .in_("I", [1, 2])
            .not_in("J", vec!["x"])
            .like("K", "k")
            .like_pattern("L", "l%")
            .not_like("M", "m")
            .not_like_pattern("N", "%n")
            .between("O", 1.5, 2.5)
            .not_between("P", "2026-01-01", "2026-02-01");
        let keys: Vec<&str> = f.entries().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "A", "=B", "!=C", "!D", ">E", ">=F", "<G", "<=H", "@I", "!@J", "%K", "=%L", "!%M",
                "!=%N", "><O", "!><P"
            ]
        );
        assert_eq!(Value::from(f.clone())["><O"], json!([1.5, 2.5]));
        assert_eq!(Filter::try_from(Value::from(f.clone())).unwrap(), f);
    }

    #[test]
    fn a_key_set_twice_keeps_its_place_and_the_later_value() {
        let f = Filter::new().gte("ID", 1).eq("X", "a").gte("ID", 5);
        assert_eq!(serde_json::to_string(&f).unwrap(), r#"{">=ID":5,"X":"a"}"#);
        let o = Order::new().asc("A").desc("B").desc("A");
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"A":"DESC","B":"DESC"}"#
        );
    }

    #[test]
    fn or_groups_take_the_next_free_position() {
        let f = Filter::new()
            .any_of([
                Filter::new().ne("name", ""),
                Filter::new().ne("lastName", ""),
            ])
            .in_("stageId", ["NEW"])
            .any_of([Filter::new().eq("a", 1)]);
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"0":{"logic":"OR","0":{"!=name":""},"1":{"!=lastName":""}},"@stageId":["NEW"],"1":{"logic":"OR","0":{"a":1}}}"#
        );
    }

    #[test]
    fn order_and_select_round_trip_in_order_and_refuse_what_they_are_not() {
        let o: Order = serde_json::from_str(r#"{"TITLE":"asc","ID":"DESC"}"#).unwrap();
        assert_eq!(
            o.fields().collect::<Vec<_>>(),
            [("TITLE", Direction::Asc), ("ID", Direction::Desc)]
        );
        // Sent back as written, so a request read from JSON round-trips unchanged.
        assert_eq!(
            Value::from(o.clone()),
            json!({"TITLE": "asc", "ID": "DESC"})
        );
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"TITLE":"asc","ID":"DESC"}"#
        );
        assert_eq!(
            serde_json::to_string(&o.asc("TITLE")).unwrap(),
            r#"{"TITLE":"ASC","ID":"DESC"}"#
        );
        assert_eq!(Order::try_from(json!([])).unwrap(), Order::new());
        let e = Order::try_from(json!({"ID": "UP"}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("ASC or DESC"), "{e}");
        let s = Select::try_from(json!({"0": "ID", "1": "TITLE"})).unwrap();
        assert_eq!(s.fields(), ["ID", "TITLE"]);
        assert!(Select::try_from(json!("ID")).is_err());
        assert!(Filter::try_from(json!([1])).is_err());
    }

    #[test]
    fn they_decode_loosely_as_generated_fields_do() {
        use crate::loose::Loose;
        assert_eq!(Filter::from_loose(&json!([])).unwrap(), Filter::new());
        assert_eq!(Order::from_loose(&json!([])).unwrap(), Order::new());
        assert_eq!(
            Select::from_loose(&json!(["ID"])).unwrap(),
            Select::new(["ID"])
        );
        let f = Filter::from_loose(&json!({">ID": 5, "TITLE": "x"})).unwrap();
        assert_eq!(
            f.entries().map(|(k, _)| k).collect::<Vec<_>>(),
            [">ID", "TITLE"]
        );
        assert!(Order::from_loose(&json!({"ID": 1})).is_err());
    }

    #[cfg(feature = "chrono")]
    #[test]
    fn dates_are_iso_8601_with_their_offset() {
        use chrono::TimeZone;
        let msk = chrono::FixedOffset::east_opt(3 * 3600).unwrap();
        let at = msk.with_ymd_and_hms(2026, 1, 31, 9, 30, 0).unwrap();
        let day = chrono::NaiveDate::from_ymd_opt(2026, 2, 1).unwrap();
        let f = Filter::new()
            .gte("DATE_MODIFY", at)
            .lt("CLOSEDATE", day)
            .gte(
                "UTC",
                chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            );
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{">=DATE_MODIFY":"2026-01-31T09:30:00+03:00","<CLOSEDATE":"2026-02-01",">=UTC":"2026-01-01T00:00:00+00:00"}"#
        );
    }
}
