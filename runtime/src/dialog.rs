//! `DIALOG_ID` / `dialogId` of the `im`, `imbot` and `imopenlines` methods: one string that
//! names a chat (`chat42`), a group's or project's chat (`sg7`) or the private chat with a
//! user (`15`, the user's id).

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// A dialog id, built from what it names and sent as the text the portal expects.
///
/// ```
/// use bitrix24_runtime::DialogId;
/// assert_eq!(DialogId::chat(42).to_string(), "chat42");
/// assert_eq!(DialogId::user(15).to_string(), "15");
/// assert_eq!(DialogId::sonet_group(7).to_string(), "sg7");
/// assert_eq!(DialogId::from("chat42"), DialogId::chat(42));
/// assert_eq!(serde_json::to_value(DialogId::chat(42)).unwrap(), "chat42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DialogId {
    /// `chat{id}`: a group chat (or an open line's chat) by its chat id.
    Chat(u64),
    /// `sg{id}`: the chat of a workgroup or project by the group's id.
    SonetGroup(u64),
    /// `{id}`: the private chat with the user of this id.
    User(u64),
    /// Text of another form, sent unchanged.
    Other(String),
}

impl DialogId {
    /// `chat{id}`.
    pub fn chat(id: u64) -> DialogId {
        DialogId::Chat(id)
    }
    /// The private chat with user `id` (`{id}`).
    pub fn user(id: u64) -> DialogId {
        DialogId::User(id)
    }
    /// `sg{id}`: the chat of workgroup `id`.
    pub fn sonet_group(id: u64) -> DialogId {
        DialogId::SonetGroup(id)
    }

    /// Reads the wire text: `chat42`, `sg7` and `15` become their variants (leading and
    /// trailing spaces ignored, `CHAT42` too); anything else is [`DialogId::Other`].
    pub fn parse(text: &str) -> DialogId {
        let t = text.trim();
        let number = |s: &str| {
            (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u64>().ok())
                .flatten()
        };
        let prefixed = |p: &str| {
            t.get(..p.len())
                .filter(|head| head.eq_ignore_ascii_case(p))
                .and_then(|_| number(&t[p.len()..]))
        };
        if let Some(n) = prefixed("chat") {
            DialogId::Chat(n)
        } else if let Some(n) = prefixed("sg") {
            DialogId::SonetGroup(n)
        } else if let Some(n) = number(t) {
            DialogId::User(n)
        } else {
            DialogId::Other(text.to_owned())
        }
    }
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DialogId::Chat(n) => write!(f, "chat{n}"),
            DialogId::SonetGroup(n) => write!(f, "sg{n}"),
            DialogId::User(n) => write!(f, "{n}"),
            DialogId::Other(s) => f.write_str(s),
        }
    }
}

impl From<&str> for DialogId {
    fn from(s: &str) -> DialogId {
        DialogId::parse(s)
    }
}

impl From<String> for DialogId {
    fn from(s: String) -> DialogId {
        DialogId::parse(&s)
    }
}

impl From<&String> for DialogId {
    fn from(s: &String) -> DialogId {
        DialogId::parse(s)
    }
}

impl From<DialogId> for String {
    fn from(d: DialogId) -> String {
        d.to_string()
    }
}

impl From<DialogId> for Value {
    fn from(d: DialogId) -> Value {
        Value::String(d.to_string())
    }
}

impl Serialize for DialogId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DialogId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<DialogId, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DialogId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a dialog id (`chat42`, `sg7`, a user id)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<DialogId, E> {
                Ok(DialogId::parse(s))
            }
            // A user's private chat is often sent as a bare number.
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<DialogId, E> {
                Ok(DialogId::User(n))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<DialogId, E> {
                u64::try_from(n)
                    .map(DialogId::User)
                    .map_err(|_| E::custom(format!("a dialog id is not negative, found {n}")))
            }
        }
        d.deserialize_any(V)
    }
}

impl crate::loose::Loose for DialogId {
    fn from_loose(value: &Value) -> Result<DialogId, crate::loose::Misfit> {
        crate::loose::via_deserialize(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loose::Loose;
    use serde_json::json;

    #[test]
    fn builders_write_the_documented_forms() {
        assert_eq!(
            serde_json::to_string(&DialogId::chat(42)).unwrap(),
            r#""chat42""#
        );
        assert_eq!(
            serde_json::to_string(&DialogId::sonet_group(7)).unwrap(),
            r#""sg7""#
        );
        assert_eq!(
            serde_json::to_string(&DialogId::user(15)).unwrap(),
            r#""15""#
        );
        assert_eq!(String::from(DialogId::from("x-y")), "x-y");
    }

    #[test]
    fn decoding_is_loose_and_keeps_what_it_does_not_know() {
        let read = |v: Value| DialogId::from_loose(&v).unwrap();
        assert_eq!(read(json!("chat42")), DialogId::Chat(42));
        assert_eq!(read(json!("CHAT42")), DialogId::Chat(42));
        assert_eq!(read(json!("sg7")), DialogId::SonetGroup(7));
        assert_eq!(read(json!("15")), DialogId::User(15));
        assert_eq!(read(json!(15)), DialogId::User(15));
        assert_eq!(read(json!("chat")), DialogId::Other("chat".into()));
        assert_eq!(read(json!("chat4x")), DialogId::Other("chat4x".into()));
        assert_eq!(read(json!("")), DialogId::Other(String::new()));
        // Text that is kept goes out unchanged.
        assert_eq!(read(json!("chat4x")).to_string(), "chat4x");
        assert!(DialogId::from_loose(&json!(-1)).is_err());
        assert!(DialogId::from_loose(&json!([1])).is_err());
        // Digits beyond u64 are not a user id.
        assert_eq!(
            read(json!("99999999999999999999999")),
            DialogId::Other("99999999999999999999999".into())
        );
    }
}
