//! [`Misfit`]: why a JSON value did not fit a type, and where.

use std::fmt;

use serde::de::{self, Expected, Unexpected};

/// One step of a JSON path: a list index or an object key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A position in a list (or in a PHP list read as a map).
    Index(usize),
    /// A key of an object.
    Key(String),
}

/// A JSON value that did not fit its type: serde's message and the JSON path of the value,
/// from the outermost step to the innermost.
///
/// Decoders return it from [`Loose::from_loose`](super::Loose::from_loose); each struct field,
/// list index and map key it bubbles out of adds its step (with [`Misfit::at_key`] and
/// [`Misfit::at_index`]). It implements [`serde::de::Error`], so messages are serde's own
/// (`invalid value: string "12abc", expected …`, ``missing field `ID` ``).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfit {
    message: String,
    /// Innermost step first (steps are pushed as the error bubbles up).
    rev_path: Vec<Segment>,
    /// Raised as `invalid type: sequence` by a decoder that did not look into the list.
    seq: bool,
}

impl Misfit {
    /// A misfit with this message, at the value itself.
    pub fn new(message: impl Into<String>) -> Misfit {
        Misfit {
            message: message.into(),
            rev_path: Vec::new(),
            seq: false,
        }
    }

    /// The message, without the path.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The JSON path of the value, outermost step first.
    pub fn path(&self) -> impl ExactSizeIterator<Item = &Segment> + DoubleEndedIterator {
        self.rev_path.iter().rev()
    }

    /// The path as text, as `serde_path_to_error` writes it: `[1].CONTACT.ID`, `.` when empty.
    pub fn path_text(&self) -> String {
        if self.rev_path.is_empty() {
            return ".".to_owned();
        }
        let mut out = String::new();
        for seg in self.path() {
            match seg {
                Segment::Index(i) => out.push_str(&format!("[{i}]")),
                Segment::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
            }
        }
        out
    }

    /// The same misfit one level up, inside the object key `key`.
    #[must_use]
    pub fn at_key(mut self, key: &str) -> Misfit {
        self.rev_path.push(Segment::Key(key.to_owned()));
        self.seq = false;
        self
    }

    /// The same misfit one level up, at position `index` of a list.
    #[must_use]
    pub fn at_index(mut self, index: usize) -> Misfit {
        self.rev_path.push(Segment::Index(index));
        self.seq = false;
        self
    }

    /// Whether the value itself was a list its decoder refused without looking inside
    /// (what `Option` turns into serde's `invalid length` message, as before).
    pub(crate) fn refused_list(&self) -> bool {
        self.seq && self.rev_path.is_empty()
    }
}

impl fmt::Display for Misfit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.rev_path.is_empty() {
            write!(f, " at `{}`", self.path_text())?;
        }
        Ok(())
    }
}

impl std::error::Error for Misfit {}

impl de::Error for Misfit {
    fn custom<T: fmt::Display>(msg: T) -> Misfit {
        Misfit::new(msg.to_string())
    }

    fn invalid_type(unexp: Unexpected<'_>, exp: &dyn Expected) -> Misfit {
        // serde_json says `null` where serde says `unit value`; keep serde_json's words.
        let mut m = if let Unexpected::Unit = unexp {
            Misfit::new(format!("invalid type: null, expected {exp}"))
        } else {
            Misfit::new(format!("invalid type: {unexp}, expected {exp}"))
        };
        m.seq = matches!(unexp, Unexpected::Seq);
        m
    }
}

/// What serde calls a JSON value in its messages (as serde_json's `Value` deserializer does).
pub(crate) fn unexpected(v: &serde_json::Value) -> Unexpected<'_> {
    use serde_json::Value;
    match v {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                Unexpected::Unsigned(u)
            } else if let Some(i) = n.as_i64() {
                Unexpected::Signed(i)
            } else {
                Unexpected::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// `invalid type: …, expected {exp}` for a value no branch of a decoder takes.
pub(crate) fn wrong_type(v: &serde_json::Value, exp: &str) -> Misfit {
    de::Error::invalid_type(unexpected(v), &exp)
}
