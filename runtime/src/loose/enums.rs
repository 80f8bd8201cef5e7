//! Enums of values with a catch-all variant: the macros that give a generated enum its impls,
//! and [`YesNo`], the one `Y`/`N` flag every spec shares.

/// Gives an enum of string values its impls: `as_str`, `Display`, `Serialize`, `Deserialize`
/// and [`Loose`](crate::loose::Loose) (a value not listed lands in the catch-all variant).
///
/// The enum itself is written out (so each variant keeps its doc line); the macro takes its
/// name, each variant with its wire value, and the catch-all variant:
///
/// ```
/// #[derive(Debug, Clone, PartialEq, Eq, Hash)]
/// pub enum EntityType {
///     Lead,
///     Deal,
///     Other(String),
/// }
/// bitrix24_runtime::string_enum!(EntityType { Lead = "lead", Deal = "deal" } Other);
///
/// use bitrix24_runtime::loose::Loose;
/// assert_eq!(EntityType::from_loose(&"deal".into()).unwrap(), EntityType::Deal);
/// assert_eq!(EntityType::from_loose(&"quote".into()).unwrap().as_str(), "quote");
/// assert_eq!(EntityType::Lead.to_string(), "lead");
/// assert_eq!(EntityType::from("lead"), EntityType::Lead);
/// ```
#[macro_export]
macro_rules! string_enum {
    ($name:ident { $($variant:ident = $value:literal),* $(,)? } $other:ident) => {
        impl $name {
            /// The value as sent on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $value,)*
                    Self::$other(value) => value,
                }
            }
        }
        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl $crate::loose::__private::serde::Serialize for $name {
            fn serialize<S: $crate::loose::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }
        impl $crate::loose::Loose for $name {
            const EMPTY_STRING_IS_VALUE: bool = $crate::loose::has_empty(&[$($value),*]);
            fn from_loose(
                value: &$crate::loose::__private::serde_json::Value,
            ) -> ::core::result::Result<Self, $crate::loose::Misfit> {
                let value: ::std::string::String = $crate::loose::Loose::from_loose(value)?;
                ::core::result::Result::Ok(Self::from(value))
            }
        }
        impl ::core::convert::From<::std::string::String> for $name {
            /// The variant of a wire value; a value not listed lands in the catch-all.
            fn from(value: ::std::string::String) -> Self {
                match value.as_str() {
                    $($value => Self::$variant,)*
                    _ => Self::$other(value),
                }
            }
        }
        impl ::core::convert::From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::from(::std::string::String::from(value))
            }
        }
        $crate::loose_deserialize!($name);
        $crate::__enum_schema!($name, open_strings, [$($value),*]);
    };
}

/// Gives an enum of integer values its impls: `value`, `Serialize`, `Deserialize` and
/// [`Loose`](crate::loose::Loose) (integers written as strings are read too; a value not
/// listed lands in the catch-all variant).
///
/// ```
/// #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
/// pub enum Status {
///     V2,
///     Minus1,
///     Other(i64),
/// }
/// bitrix24_runtime::int_enum!(Status { V2 = 2, Minus1 = -1 } Other);
///
/// use bitrix24_runtime::loose::Loose;
/// assert_eq!(Status::from_loose(&"2".into()).unwrap(), Status::V2);
/// assert_eq!(Status::from_loose(&9.into()).unwrap().value(), 9);
/// assert_eq!(Status::Minus1.value(), -1);
/// assert_eq!(Status::from(2), Status::V2);
/// ```
#[macro_export]
macro_rules! int_enum {
    ($name:ident { $($variant:ident = $value:literal),* $(,)? } $other:ident) => {
        impl $name {
            /// The value as sent on the wire.
            pub fn value(self) -> i64 {
                match self {
                    $(Self::$variant => $value,)*
                    Self::$other(value) => value,
                }
            }
        }
        impl $crate::loose::__private::serde::Serialize for $name {
            fn serialize<S: $crate::loose::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                serializer.serialize_i64(self.value())
            }
        }
        impl $crate::loose::Loose for $name {
            fn from_loose(
                value: &$crate::loose::__private::serde_json::Value,
            ) -> ::core::result::Result<Self, $crate::loose::Misfit> {
                let value: i64 = $crate::loose::Loose::from_loose(value)?;
                ::core::result::Result::Ok(Self::from(value))
            }
        }
        impl ::core::convert::From<i64> for $name {
            /// The variant of a wire value; a value not listed lands in the catch-all.
            fn from(value: i64) -> Self {
                match value {
                    $($value => Self::$variant,)*
                    _ => Self::$other(value),
                }
            }
        }
        $crate::loose_deserialize!($name);
        $crate::__enum_schema!($name, open_integers, [$($value),*]);
    };
}

/// Without the `schemars` feature an enum of values has no `JsonSchema` impl.
#[cfg(not(feature = "schemars"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __enum_schema {
    ($($t:tt)*) => {};
}

/// Whether a list of enum values holds `""` (then `""` is a value, not PHP's "absent").
#[doc(hidden)]
pub const fn has_empty(values: &[&str]) -> bool {
    let mut i = 0;
    while i < values.len() {
        if values[i].is_empty() {
            return true;
        }
        i += 1;
    }
    false
}

/// Bitrix24's `Y`/`N` flag, the enum of every spec property whose values are `"Y"` and `"N"`
/// (in that order). A value other than `Y` or `N` is kept in `Other` as received.
///
/// ```
/// use bitrix24_runtime::YesNo;
/// use bitrix24_runtime::loose::Loose;
/// assert_eq!(YesNo::from_loose(&"Y".into()).unwrap(), YesNo::Y);
/// assert_eq!(YesNo::from(false).as_str(), "N");
/// assert_eq!(YesNo::from_loose(&"D".into()).unwrap().as_bool(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum YesNo {
    /// The value "Y".
    Y,
    /// The value "N".
    N,
    /// A value the spec does not list, kept as received.
    Other(String),
}

crate::string_enum!(YesNo { Y = "Y", N = "N" } Other);

impl YesNo {
    /// `Some(true)` for `Y`, `Some(false)` for `N`, `None` for anything else.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            YesNo::Y => Some(true),
            YesNo::N => Some(false),
            YesNo::Other(_) => None,
        }
    }
}

impl From<bool> for YesNo {
    fn from(b: bool) -> YesNo {
        if b { YesNo::Y } else { YesNo::N }
    }
}
