//! The types of the generated method table (`bitrix24::api::registry::METHODS`) and the
//! helpers behind calls by wire name.

use super::error::{Error, Part, decode_value};
use super::loose::Loose;

/// One row of the method table: what the spec says about a method.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MethodInfo {
    /// The wire name, e.g. `imopenlines.crm.message.add`.
    pub name: &'static str,
    /// Other wire names that reach the same method.
    pub aliases: &'static [&'static str],
    /// The permission scope; also the name of the cargo feature that compiles the method.
    pub scope: &'static str,
    /// Whether the spec marks the method deprecated.
    pub deprecated: bool,
    /// Sustained calls per second the spec allows, on top of the portal-wide limit; the
    /// format's default, [`UNSTATED_SPEC_RATE`](crate::UNSTATED_SPEC_RATE) (2), means the
    /// spec states none, and the limiter applies none.
    pub rate_limit_per_sec: f64,
    /// How the method pages through long lists.
    pub pagination: Pagination,
    /// The error codes the method is documented to return (the spec's `errors`).
    pub errors: &'static [&'static str],
    /// Whether the method's scope feature is compiled in (when not, the table still lists
    /// it, but it cannot be called by name).
    pub enabled: bool,
    /// Which REST API the method belongs to (the spec's `api`). A name may appear twice in
    /// the table, once per API (`tasks.task.get`); `find` gives the classic one,
    /// [`find_api`](crate::find_api) either.
    pub api: super::ApiVersion,
    /// The official documentation page (the spec's `docs`, when it is a plain `https://` URL).
    pub docs: Option<&'static str>,
    /// The request parameters in spec order: each top-level one, then, for an object-valued
    /// one, its own declared members named `outer.inner`.
    pub params: &'static [FieldInfo],
    /// A one-line description of the `result` type (`array of object`, `integer`, …).
    pub result: &'static str,
    /// The declared members of the `result` object, or of the rows of a list.
    pub result_fields: &'static [FieldInfo],
    /// Where a list method's rows sit in `result` (see [`Method::ITEMS_KEY`](crate::Method::ITEMS_KEY)).
    pub items_key: Option<&'static str>,
    /// The ID key of a list method's rows (see [`Method::ID_KEY`](crate::Method::ID_KEY)).
    pub id_key: &'static str,
}

/// One parameter of a request, or one member of a result, as the spec declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldInfo {
    /// The wire name (`outer.inner` for a member of an object-valued parameter).
    pub name: &'static str,
    /// A one-line description of its type for people (`integer`, `string (date)`,
    /// `"Y" | "N"`, `array of string`).
    pub ty: &'static str,
    /// Whether the spec lists it as required (a member: only when its parent is too).
    pub required: bool,
}

impl MethodInfo {
    /// Whether `code` is one of the error codes the method is documented to return
    /// (ASCII case ignored, as codes arrive in mixed case).
    pub fn documents(&self, code: &super::ErrorCode) -> bool {
        self.errors.iter().any(|e| code.is(e))
    }
}

/// How a method pages through long lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pagination {
    /// The method returns everything at once.
    None,
    /// Offset pagination: the request takes `start`; the answer carries `next` and `total`;
    /// pages hold 50 items.
    Start,
}

/// Decodes JSON parameters with a request type and serializes them back, so loose values
/// come out in their declared form. Used by the generated `validate_params`.
pub fn check_params<T: Loose + serde::Serialize>(
    method: &str,
    params: &serde_json::Value,
) -> Result<serde_json::Value, Error> {
    let typed: T = decode_value(method, Part::Params, params)?;
    reencode(method, Part::Params, &typed)
}

/// Decodes a `result` value with a response type and serializes it back. Used by the
/// generated `decode_result`.
pub fn decode_result<T: Loose + serde::Serialize>(
    method: &str,
    result: &serde_json::Value,
) -> Result<serde_json::Value, Error> {
    let typed: T = decode_value(method, Part::Result, result)?;
    reencode(method, Part::Result, &typed)
}

fn reencode<T: serde::Serialize>(
    method: &str,
    part: Part,
    value: &T,
) -> Result<serde_json::Value, Error> {
    match serde_json::to_value(value) {
        Ok(v) => Ok(v),
        Err(e) => Err(reencode_error(method, part, &e)),
    }
}

/// Not generic, so compiled once rather than for every request and response type.
fn reencode_error(method: &str, part: Part, e: &serde_json::Error) -> Error {
    Error::Decode(Box::new(super::DecodeError {
        method: method.to_owned(),
        part,
        path: part.to_string(),
        message: format!("cannot be written back as JSON: {e}"),
        excerpt: String::new(),
    }))
}
