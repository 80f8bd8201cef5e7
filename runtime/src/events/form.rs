//! PHP-style `application/x-www-form-urlencoded` bodies, as portals POST events:
//! `event=ONCRMDEALADD&data[FIELDS][ID]=134806&auth[member_id]=…`, percent-encoded keys,
//! every value a string. Parsed the way PHP fills `$_POST`, into a JSON value.
//!
//! Pure and bounded: the body size, the number of fields, the nesting depth and the list
//! indexes are capped, and any input gives either a value or a [`FormError`] naming the key.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// Caps on one form body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormLimits {
    /// The largest body accepted, in bytes (default 1 MiB).
    pub max_bytes: usize,
    /// The most `key=value` pairs (default 10,000; PHP's `max_input_vars` is 1,000).
    pub max_fields: usize,
    /// The deepest `a[b][c]…` nesting (default 32; PHP's `max_input_nesting_level` is 64).
    pub max_depth: usize,
    /// The largest number a list index `a[7]` or the appends `a[]` may reach (default 10,000).
    pub max_index: usize,
}

impl Default for FormLimits {
    fn default() -> FormLimits {
        FormLimits {
            max_bytes: 1 << 20,
            max_fields: 10_000,
            max_depth: 32,
            max_index: 10_000,
        }
    }
}

/// Why a body is not a form the parser accepts. Names the key (cut to 100 characters),
/// never a value: values may be tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// The body is larger than [`FormLimits::max_bytes`].
    TooLarge { bytes: usize, max: usize },
    /// More pairs than [`FormLimits::max_fields`].
    TooManyFields { max: usize },
    /// A key nested deeper than [`FormLimits::max_depth`].
    TooDeep { key: String, max: usize },
    /// A list index (or the count of `[]` appends) past [`FormLimits::max_index`].
    IndexTooLarge { key: String, max: usize },
    /// A key or value that is not UTF-8 once percent-decoded.
    NotUtf8 { key: String },
    /// A pair with an empty name (`=x`, `[a]=x`).
    EmptyKey,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormError::TooLarge { bytes, max } => {
                write!(
                    f,
                    "the form body has {bytes} bytes, more than the {max} accepted"
                )
            }
            FormError::TooManyFields { max } => {
                write!(f, "the form body has more than {max} fields")
            }
            FormError::TooDeep { key, max } => {
                write!(f, "form key `{key}` is nested deeper than {max} levels")
            }
            FormError::IndexTooLarge { key, max } => {
                write!(f, "form key `{key}` has a list index past {max}")
            }
            FormError::NotUtf8 { key } => write!(f, "form key `{key}`: not UTF-8"),
            FormError::EmptyKey => write!(f, "a form field has an empty name"),
        }
    }
}

impl std::error::Error for FormError {}

/// Parses a form body into a JSON object: `a[b][c]=v` nests, `a[]=v` appends, and a level
/// whose keys are exactly `0, 1, 2, …` becomes an array (as PHP's `json_encode` writes it).
/// Every leaf is a string. A later pair for the same key replaces the earlier one (PHP's
/// rule), a scalar included.
pub fn parse_form(body: &[u8], limits: &FormLimits) -> Result<Value, FormError> {
    if body.len() > limits.max_bytes {
        return Err(FormError::TooLarge {
            bytes: body.len(),
            max: limits.max_bytes,
        });
    }
    let mut root = Node::Map(BTreeMap::new());
    let mut fields = 0usize;
    for pair in body.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        fields += 1;
        if fields > limits.max_fields {
            return Err(FormError::TooManyFields {
                max: limits.max_fields,
            });
        }
        let (raw_key, raw_value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let key_bytes = decode(raw_key);
        let key = match String::from_utf8(key_bytes) {
            Ok(k) => k,
            Err(e) => {
                return Err(FormError::NotUtf8 {
                    key: shown(&String::from_utf8_lossy(e.as_bytes())),
                });
            }
        };
        let value = String::from_utf8(decode(raw_value))
            .map_err(|_| FormError::NotUtf8 { key: shown(&key) })?;
        let path = split_key(&key);
        if path.first().is_none_or(|p| p.is_empty()) {
            return Err(FormError::EmptyKey);
        }
        if path.len() > limits.max_depth {
            return Err(FormError::TooDeep {
                key: shown(&key),
                max: limits.max_depth,
            });
        }
        insert(&mut root, &path, value, &key, limits)?;
    }
    Ok(root.into_value())
}

/// A key as error messages show it: at most 100 characters, control characters dropped.
fn shown(key: &str) -> String {
    key.chars().filter(|c| !c.is_control()).take(100).collect()
}

/// `%XX` and `+` decoded; a `%` not followed by two hex digits stays as it is (as in PHP).
fn decode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < raw.len() => match (hex(raw[i + 1]), hex(raw[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `a[b][]` → `["a", "b", ""]`, as PHP splits it: the name up to the first `[`, then each
/// `[…]` group; text after a closing `]` that does not open another group is ignored, and
/// a `[` that is never closed is part of the name.
fn split_key(key: &str) -> Vec<&str> {
    let Some(open) = key.find('[') else {
        return vec![key];
    };
    let name = &key[..open];
    let mut parts = vec![name];
    let mut rest = &key[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(close) = stripped.find(']') else {
            if parts.len() == 1 {
                // `a[b` with no `]` at all: PHP keeps it as the plain name `a_b`; we keep
                // the whole text as the name.
                return vec![key];
            }
            break;
        };
        parts.push(&stripped[..close]);
        rest = &stripped[close + 1..];
    }
    parts
}

/// One level of the parsed form. Maps keep insertion order via an index so `a[]` appends
/// get the next free integer, as in PHP.
enum Node {
    Leaf(String),
    Map(BTreeMap<Key, Node>),
}

/// A map key: integers sort before names and among themselves by value, so a level with
/// keys `0..n` is recognised as a list.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Index(u64),
    Name(String),
}

impl Key {
    fn of(text: &str) -> Key {
        // PHP turns canonical decimal integers into integer keys: "7" but not "07" or "+7".
        let canonical = !text.is_empty()
            && text.len() <= 18
            && text.bytes().all(|b| b.is_ascii_digit())
            && (text == "0" || !text.starts_with('0'));
        match canonical.then(|| text.parse::<u64>().ok()).flatten() {
            Some(n) => Key::Index(n),
            None => Key::Name(text.to_owned()),
        }
    }

    fn text(&self) -> String {
        match self {
            Key::Index(n) => n.to_string(),
            Key::Name(s) => s.clone(),
        }
    }
}

fn insert(
    root: &mut Node,
    path: &[&str],
    value: String,
    key: &str,
    limits: &FormLimits,
) -> Result<(), FormError> {
    let mut node = root;
    for (i, part) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        if !matches!(node, Node::Map(_)) {
            // `a=1&a[b]=2`: the later, nested pair wins.
            *node = Node::Map(BTreeMap::new());
        }
        let Node::Map(map) = node else {
            unreachable!("just made a map")
        };
        let k = if part.is_empty() && i > 0 {
            // `a[]`: the next integer after the largest one.
            let next = map
                .keys()
                .filter_map(|k| match k {
                    Key::Index(n) => Some(n + 1),
                    Key::Name(_) => None,
                })
                .max()
                .unwrap_or(0);
            Key::Index(next)
        } else {
            Key::of(part)
        };
        if let Key::Index(n) = k {
            if n > limits.max_index as u64 {
                return Err(FormError::IndexTooLarge {
                    key: shown(key),
                    max: limits.max_index,
                });
            }
        }
        if last {
            map.insert(k, Node::Leaf(value));
            return Ok(());
        }
        node = map.entry(k).or_insert_with(|| Node::Map(BTreeMap::new()));
    }
    Ok(())
}

impl Node {
    fn into_value(self) -> Value {
        match self {
            Node::Leaf(s) => Value::String(s),
            Node::Map(map) => {
                let is_list = !map.is_empty()
                    && map
                        .keys()
                        .enumerate()
                        .all(|(i, k)| *k == Key::Index(i as u64));
                if is_list {
                    Value::Array(map.into_values().map(Node::into_value).collect())
                } else {
                    let mut out = Map::new();
                    for (k, v) in map {
                        out.insert(k.text(), v.into_value());
                    }
                    Value::Object(out)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(body: &str) -> Result<Value, FormError> {
        parse_form(body.as_bytes(), &FormLimits::default())
    }

    #[test]
    fn documented_event_body() {
        let body = "event=ONCRMCONTACTADD&event_handler_id=58&data%5BFIELDS%5D%5BID%5D=134806&ts=1727018926&auth%5Bdomain%5D=x.bitrix24.ru&auth%5Bmember_id%5D=abc&auth%5Bapplication_token%5D=t0k";
        assert_eq!(
            parse(body).unwrap(),
            json!({
                "event": "ONCRMCONTACTADD",
                "event_handler_id": "58",
                "data": {"FIELDS": {"ID": "134806"}},
                "ts": "1727018926",
                "auth": {"domain": "x.bitrix24.ru", "member_id": "abc", "application_token": "t0k"}
            })
        );
    }

    #[test]
    fn lists_appends_and_plus() {
        assert_eq!(
            parse("a[]=x&a[]=y+z&b[0]=1&b[1]=2&c[1]=only&d[x]=1&d[]=2").unwrap(),
            json!({"a": ["x", "y z"], "b": ["1", "2"], "c": {"1": "only"}, "d": {"0": "2", "x": "1"}})
        );
        // Keys PHP keeps as strings: "07", "-1".
        assert_eq!(parse("a[07]=1").unwrap(), json!({"a": {"07": "1"}}));
    }

    #[test]
    fn loose_percent_and_later_pairs_win() {
        assert_eq!(
            parse("a=%zz%4&b=%41").unwrap(),
            json!({"a": "%zz%4", "b": "A"})
        );
        assert_eq!(parse("a=1&a[b]=2").unwrap(), json!({"a": {"b": "2"}}));
        assert_eq!(parse("a[b]=2&a=1").unwrap(), json!({"a": "1"}));
        assert_eq!(parse("flag&&x=").unwrap(), json!({"flag": "", "x": ""}));
        assert_eq!(parse("a[b=1").unwrap(), json!({"a[b": "1"}));
        assert_eq!(parse("a[b]tail[c]=1").unwrap(), json!({"a": {"b": "1"}}));
    }

    #[test]
    fn errors_name_the_key_never_the_value() {
        let e = parse("auth[application_token]=%FF").unwrap_err();
        assert_eq!(
            e,
            FormError::NotUtf8 {
                key: "auth[application_token]".into()
            }
        );
        assert!(!e.to_string().contains("%FF"));
        assert_eq!(parse("=x").unwrap_err(), FormError::EmptyKey);
        let deep = format!("a{}=1", "[x]".repeat(40));
        assert!(matches!(
            parse(&deep).unwrap_err(),
            FormError::TooDeep { .. }
        ));
        let e = parse("data[FIELDS][99999999]=1").unwrap_err();
        assert!(e.to_string().contains("data[FIELDS][99999999]"), "{e}");
        let appends = "a[]=1&".repeat(10_002);
        assert!(
            parse_form(
                appends.as_bytes(),
                &FormLimits {
                    max_fields: 20_000,
                    ..FormLimits::default()
                }
            )
            .is_err()
        );
        let big = vec![b'a'; (1 << 20) + 1];
        assert!(matches!(
            parse_form(&big, &FormLimits::default()).unwrap_err(),
            FormError::TooLarge { .. }
        ));
        let many = "a=1&".repeat(10_001);
        assert_eq!(
            parse(&many).unwrap_err(),
            FormError::TooManyFields { max: 10_000 }
        );
    }

    /// Arbitrary bodies (random bytes, and random mixes of the characters that matter)
    /// never panic and are deterministic. Seeded, so a failure repeats.
    #[test]
    fn arbitrary_bodies_never_panic() {
        let alphabet = b"ab0179[]=&%+xF\xff\x00";
        let mut rng = fastrand::Rng::with_seed(11);
        let limits = FormLimits {
            max_depth: 4,
            max_index: 50,
            ..FormLimits::default()
        };
        for round in 0..20_000 {
            let len = rng.usize(0..64);
            let body: Vec<u8> = if round % 2 == 0 {
                (0..len).map(|_| rng.u8(..)).collect()
            } else {
                (0..len)
                    .map(|_| alphabet[rng.usize(..alphabet.len())])
                    .collect()
            };
            let a = parse_form(&body, &limits);
            let b = parse_form(&body, &limits);
            assert_eq!(a, b);
            if let Ok(v) = a {
                assert!(v.is_object() || v.is_array(), "{v}");
            }
        }
    }
}
