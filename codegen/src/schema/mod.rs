//! Stage 2: the JSON Schema subset of spec-format.md, normalised to one canonical shape.
//!
//! Flow and block YAML, `type` lists, `nullable`, `const`, `allOf` and `null` branches of
//! `oneOf`/`anyOf` all disappear here, so the type mapper handles one form only.
//!
//! - this file: the normalised shape ([`Schema`], [`Kind`], [`SchemaSet`], ...), what the rest
//!   of the engine sees, and the `Sink` diagnostics go to;
//! - `normalise`: YAML to that shape, every keyword checked, `allOf` merged and `$ref`s
//!   resolved to definition indexes, problems reported with their JSON path and line.

mod normalise;

pub(crate) use normalise::normalise_root;

use crate::diag::Diagnostic;
use crate::yaml::{Locator, printable};

/// A normalised schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// What values it describes.
    pub kind: Kind,
    /// `null` is also allowed (`nullable: true`, `type: [x, "null"]`, a null branch or enum value).
    pub nullable: bool,
    /// `description`, else `title`.
    pub doc: Option<String>,
    /// `title`, used for naming union variants.
    pub title: Option<String>,
    /// `format`, when it is one of the known formats.
    pub format: Option<Format>,
    /// `deprecated: true`.
    pub deprecated: bool,
    /// `x-bitrix-type` when it is a string (the docs' type name; see [`Schema::runtime_type`]).
    pub bitrix_type: Option<String>,
}

/// The value kinds of the subset.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Any JSON value (`{}`, `true`, `type: null`, no type).
    Any,
    /// `boolean`.
    Bool,
    /// `integer`.
    Integer,
    /// `number`.
    Number,
    /// `string`.
    String,
    /// `array` with its `items` (any value when absent).
    Array(Box<Schema>),
    /// `object`.
    Object(Object),
    /// `enum` / `const` of strings and integers.
    Enum(Vec<EnumValue>),
    /// `oneOf` / `anyOf` / a type list of more than one non-null type.
    Union(Vec<Schema>),
    /// `$ref` to a definition: the index into [`SchemaSet::defs`].
    Ref(usize),
    /// `{"$ref": "types/<scope>.<name>"}`: the type spec of that name (`specs/types/`),
    /// resolved across files by `codegen::check` (see [`SchemaSet::type_refs`]).
    Shared(String),
}

/// An object schema.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// Declared properties, in file order.
    pub properties: Vec<Property>,
    /// `additionalProperties`.
    pub additional: Additional,
}

/// One declared property.
#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    /// The wire name, unchanged.
    pub name: String,
    /// Its schema.
    pub schema: Schema,
    /// Listed in `required`.
    pub required: bool,
}

/// `additionalProperties`.
#[derive(Debug, Clone, PartialEq)]
pub enum Additional {
    /// Not written: other keys are ignored.
    Unspecified,
    /// `false`: other keys are rejected.
    Forbidden,
    /// `true` or `{}`: other keys of any value are kept.
    Any,
    /// A schema for every other key's value.
    Schema(Box<Schema>),
}

/// One value of an `enum`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EnumValue {
    /// A string value.
    Str(String),
    /// An integer value.
    Int(i64),
}

/// `format` values of the subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `date`
    Date,
    /// `date-time`
    DateTime,
    /// `time`
    Time,
    /// `uri`
    Uri,
    /// `email`
    Email,
    /// `int32`
    Int32,
    /// `int64`
    Int64,
    /// `double`
    Double,
    /// `binary`
    Binary,
}

impl Format {
    fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "date" => Format::Date,
            "date-time" => Format::DateTime,
            "time" => Format::Time,
            "uri" => Format::Uri,
            "email" => Format::Email,
            "int32" => Format::Int32,
            "int64" => Format::Int64,
            "double" => Format::Double,
            "binary" => Format::Binary,
            _ => return None,
        })
    }

    /// The spelling used in specs.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Date => "date",
            Format::DateTime => "date-time",
            Format::Time => "time",
            Format::Uri => "uri",
            Format::Email => "email",
            Format::Int32 => "int32",
            Format::Int64 => "int64",
            Format::Double => "double",
            Format::Binary => "binary",
        }
    }
}

/// A named definition from `$defs` or `definitions`.
#[derive(Debug, Clone, PartialEq)]
pub struct Def {
    /// The key under `$defs`/`definitions`.
    pub name: String,
    /// Its normalised schema.
    pub schema: Schema,
}

/// A root schema (`params` or `returns`) with its definitions.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaSet {
    /// The schema itself.
    pub root: Schema,
    /// `$defs` then `definitions`, in file order.
    pub defs: Vec<Def>,
    /// Every `types/…` reference in it, in file order, with its place (for the checks
    /// across files: a name no type spec defines, a cycle among type specs).
    pub type_refs: Vec<TypeRef>,
}

/// One `{"$ref": "types/<name>"}` of a schema, where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeRef {
    /// The type's name (`crm.multifield`).
    pub name: String,
    /// The JSON path of the `$ref` key (`params.properties.PHONE.items.$ref`).
    pub path: String,
    /// Its 1-based line in the file.
    pub line: usize,
}

impl SchemaSet {
    /// The names of the type specs it refers to, sorted, each once.
    pub fn shared_names(&self) -> std::collections::BTreeSet<&str> {
        self.type_refs.iter().map(|r| r.name.as_str()).collect()
    }
}

impl Schema {
    /// A schema of `kind` with nothing else set.
    pub(crate) fn of(kind: Kind) -> Schema {
        Schema {
            kind,
            nullable: false,
            doc: None,
            title: None,
            format: None,
            deprecated: false,
            bitrix_type: None,
        }
    }

    /// A type of the runtime this schema stands for, by its `x-bitrix-type`: `dialog_id` is
    /// `runtime::DialogId` when the value is a string, an integer or either.
    pub fn runtime_type(&self) -> Option<RuntimeType> {
        let scalar = match &self.kind {
            Kind::String | Kind::Integer | Kind::Any => true,
            Kind::Union(vs) => vs
                .iter()
                .all(|v| matches!(v.kind, Kind::String | Kind::Integer)),
            _ => false,
        };
        match self.bitrix_type.as_deref() {
            Some("dialog_id") if scalar => Some(RuntimeType::DialogId),
            _ => None,
        }
    }
}

/// Hand-written types of the runtime that a spec names through `x-bitrix-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuntimeType {
    /// `x-bitrix-type: dialog_id`: `runtime::DialogId` (`chat42`, `sg7`, a user id).
    DialogId,
}

impl SchemaSet {
    pub(crate) fn empty_object() -> SchemaSet {
        SchemaSet {
            root: Schema::of(Kind::Object(Object {
                properties: Vec::new(),
                additional: Additional::Unspecified,
            })),
            defs: Vec::new(),
            type_refs: Vec::new(),
        }
    }

    pub(crate) fn any() -> SchemaSet {
        SchemaSet {
            root: Schema::of(Kind::Any),
            defs: Vec::new(),
            type_refs: Vec::new(),
        }
    }
}

/// Where diagnostics go while normalising.
pub(crate) struct Sink<'a> {
    pub file: &'a str,
    pub loc: &'a Locator<'a>,
    pub diags: &'a mut crate::diag::Diagnostics,
}

impl Sink<'_> {
    fn error(&mut self, path: &[String], msg: impl Into<String>) {
        let line = self.loc.line(path);
        self.diags.push(Diagnostic::error(
            self.file,
            line,
            Some(join_path(path)),
            msg,
        ));
    }
    fn warning(&mut self, path: &[String], msg: impl Into<String>) {
        let line = self.loc.line(path);
        self.diags.push(Diagnostic::warning(
            self.file,
            line,
            Some(join_path(path)),
            msg,
        ));
    }
}

/// Whether `name` is a type spec's name: `[a-z][a-z0-9_]*` segments joined by `.`, at
/// least two of them (the scope, then the type's own name).
pub fn is_type_name(name: &str) -> bool {
    name.contains('.')
        && name.split('.').all(|seg| {
            let mut c = seg.chars();
            c.next().is_some_and(|f| f.is_ascii_lowercase())
                && c.all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        })
}

/// `["params","oneOf","[1]","type"]` -> `params.oneOf[1].type`.
pub(crate) fn join_path(path: &[String]) -> String {
    let mut out = String::new();
    for seg in path {
        if !out.is_empty() && !seg.starts_with('[') {
            out.push('.');
        }
        out.push_str(&printable(seg));
    }
    out
}
