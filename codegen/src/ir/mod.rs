//! Stage 3: the type space. Every module, function, type, field and variant gets its final
//! Rust name here, before any code is emitted; `$ref` cycles are resolved by reserving a
//! definition's type before converting it, and broken with `Box` afterwards.

use crate::naming::{self, Names};
use crate::schema::{Additional, EnumValue, Format, Kind, RuntimeType, Schema, SchemaSet};
use crate::spec::{ApiVersion, Pagination, Spec, TypeSpec};
use std::collections::{BTreeMap, BTreeSet};

mod cycles;
mod enums;
mod events;
mod shared;

use cycles::{box_cycles, newtype_alias_cycles};
pub use enums::name_enums;
use enums::{EnumTable, enum_variants};
pub use events::{EventApi, EventDef, EventScope, build_events, build_events_with, event_usage};
pub use shared::{SHARED_RESERVED_TYPES, SharedType, TYPES_MODULE, Usage, usage};
use shared::{SharedSpace, build_shared};

/// A Rust type expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ty {
    /// `bool`
    Bool,
    /// `i32`
    I32,
    /// `i64`
    I64,
    /// `f64`
    F64,
    /// `String`
    String,
    /// `serde_json::Value`
    Value,
    /// `serde_json::Map<String, Value>`
    JsonMap,
    /// `Vec<T>`
    Vec(Box<Ty>),
    /// `BTreeMap<String, T>`
    Map(Box<Ty>),
    /// `Option<T>`
    Option(Box<Ty>),
    /// `Box<T>`
    Box(Box<Ty>),
    /// A type of the same module, by index into [`Module::types`].
    Named(usize),
    /// A shared enum of values, by index into [`Api::enums`].
    Enum(usize),
    /// A type spec's type (`api::types::<scope>::<Name>`), by index into [`Api::shared`].
    Shared(usize),
    /// A builder of the runtime for a classic list's open `filter` or `order` parameter.
    Query(QueryParam),
    /// A hand-written type of the runtime named by the spec's `x-bitrix-type`.
    Runtime(RuntimeType),
}

/// The runtime's builders that stand for open list parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryParam {
    /// `filter` as `runtime::Filter` (prefixed keys, in the caller's order).
    Filter,
    /// `order` as `runtime::Order` (fields and directions, in the caller's order).
    Order,
}

/// Which side of the wire a type describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Built from `params`.
    Request,
    /// Built from `returns`.
    Response,
}

/// A struct field.
#[derive(Debug, Clone)]
pub struct Field {
    /// Rust name.
    pub ident: String,
    /// Wire name.
    pub wire: String,
    /// Full type (already `Option<..>` where optional).
    pub ty: Ty,
    /// Not in `required`: absent values are `None` and are not sent.
    pub optional: bool,
    /// Doc line.
    pub doc: Option<String>,
    /// `deprecated: true` on the property.
    pub deprecated: bool,
    /// `format` of the property, for the doc.
    pub format: Option<Format>,
}

/// A union variant.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Rust name.
    pub ident: String,
    /// Payload type.
    pub ty: Ty,
    /// Doc line.
    pub doc: Option<String>,
}

/// The body of a named type.
#[derive(Debug, Clone)]
pub enum Body {
    /// Not yet converted (only while building).
    Pending,
    /// A struct.
    Struct {
        /// Declared properties.
        fields: Vec<Field>,
        /// Other keys kept in a flattened map: (field name, value type).
        extra: Option<(String, Ty)>,
        /// `additionalProperties: false` on a request type.
        deny_unknown: bool,
    },
    /// An untagged union.
    Union(Vec<Variant>),
    /// `pub type X = ...;` (response types and definitions that are not structs or enums).
    Alias(Ty),
    /// `pub struct X(pub ...);`: an alias that would refer to itself (`A = Vec<A>`), which a
    /// type alias cannot.
    Newtype(Ty),
}

/// A named type of a module.
#[derive(Debug, Clone)]
pub struct TypeDef {
    /// Rust name.
    pub name: String,
    /// Doc lines.
    pub doc: Vec<String>,
    /// The scope of the method it belongs to (for `cfg` in mixed-scope modules).
    pub scope: String,
    /// Request or response side.
    pub side: Side,
    /// The type itself.
    pub body: Body,
}

/// One method, with everything emission needs.
#[derive(Debug, Clone)]
pub struct Method {
    /// The spec.
    pub spec: Spec,
    /// Module path (Rust idents) from the `api` root.
    pub module: Vec<String>,
    /// The call function's name.
    pub fn_ident: String,
    /// Index of the request type in its module.
    pub request: usize,
    /// Index of the response type in its module.
    pub response: usize,
    /// The name kept for the enum of the rows' field names (`ListField`): every classic
    /// method with `pagination: start` has one reserved; it is emitted when the rows are a
    /// struct with declared fields.
    pub field_enum: Option<String>,
}

/// A function that calls a method under one of its aliases.
#[derive(Debug, Clone)]
pub struct AliasFn {
    /// The alias wire name.
    pub wire: String,
    /// Index into [`Api::methods`].
    pub method: usize,
    /// Function name.
    pub fn_ident: String,
}

/// A module of the generated tree.
#[derive(Debug, Clone, Default)]
pub struct Module {
    /// Rust path from the `api` root (empty for the root).
    pub path: Vec<String>,
    /// Wire namespace (`imopenlines.crm.message`), empty for the root.
    pub wire: String,
    /// Child modules, by Rust ident (sorted).
    pub children: BTreeMap<String, Module>,
    /// Methods whose primary name lives here (indices into [`Api::methods`]).
    pub methods: Vec<usize>,
    /// Alias functions living here.
    pub aliases: Vec<AliasFn>,
    /// Named types.
    pub types: Vec<TypeDef>,
}

impl Module {
    /// Scopes of every method and alias in this module and below.
    pub fn subtree_scopes(&self, api: &Api) -> BTreeSet<String> {
        let mut out = self.own_scopes(api);
        for c in self.children.values() {
            out.extend(c.subtree_scopes(api));
        }
        out
    }

    /// Scopes of the methods and aliases in this module itself.
    pub fn own_scopes(&self, api: &Api) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for &m in &self.methods {
            out.insert(api.methods[m].spec.scope.clone());
        }
        for a in &self.aliases {
            out.insert(api.methods[a.method].spec.scope.clone());
        }
        out
    }

    /// Spec files that contribute to this module's own items.
    pub fn own_files(&self, api: &Api) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for &m in &self.methods {
            out.insert(api.methods[m].spec.file.clone());
        }
        for a in &self.aliases {
            out.insert(api.methods[a.method].spec.file.clone());
        }
        out
    }
}

/// The whole type space.
#[derive(Debug, Clone)]
pub struct Api {
    /// Methods sorted by wire name.
    pub methods: Vec<Method>,
    /// The module tree.
    pub root: Module,
    /// Every enum of values, once per distinct list of values (see [`SharedEnum`]).
    pub enums: Vec<SharedEnum>,
    /// The type specs' types, sorted by name (see `shared.rs`).
    pub shared: Vec<SharedType>,
    /// The `types` module (path `["types"]`), its children one per scope, holding them.
    pub types: Module,
    /// The path from this tree's root to the `api` root that holds `types` (empty for the
    /// methods' tree, `super::api` for the events' one).
    pub shared_prefix: Vec<String>,
    /// The type specs' schemas by name (for the registry's type texts).
    pub type_schemas: BTreeMap<String, SchemaSet>,
}

impl Api {
    /// The module and the type of a type spec's type.
    pub fn shared_def(&self, i: usize) -> Option<(&Module, &TypeDef)> {
        let s = self.shared.get(i)?;
        let m = self.types.children.get(s.module.get(1)?)?;
        Some((m, m.types.get(s.index)?))
    }
}

/// An enum of values (strings, integers or both) with a catch-all variant, defined once for
/// every spec property with the same values in the same order. Each property's own type is an
/// alias of it (so `AddRequestCrmEntityType` still names it). It lives in `api/enums.rs`, or
/// in the runtime for `Y`/`N` ([`SharedEnum::runtime`]).
#[derive(Debug, Clone)]
pub struct SharedEnum {
    /// Rust name, made from the values alone (see [`name_enums`]).
    pub name: String,
    /// (variant name, value) in spec order.
    pub values: Vec<(String, EnumValue)>,
    /// The catch-all variant's name.
    pub other: String,
    /// Scopes of the methods that use it (its `cfg`).
    pub scopes: BTreeSet<String>,
    /// Defined in the runtime (`YesNo`), not generated.
    pub runtime: bool,
}

/// Module names taken at the root by the generator itself.
pub const ROOT_RESERVED_MODULES: &[&str] = &["registry", "enums", TYPES_MODULE];

/// The name of the flattened map of undeclared keys; taken before any property is named, so
/// a property `additional` is the one renamed (`additional_2`).
pub const EXTRA_FIELD: &str = "additional";

/// Builds the type space from parsed specs (any order; the result does not depend on it).
pub fn build(specs: Vec<Spec>) -> Api {
    build_with(specs, &[], &BTreeMap::new())
}

/// The users of each type spec among `specs` (their `params` and `returns`), by type name.
pub fn method_usage(specs: &[Spec]) -> BTreeMap<String, Usage> {
    let mut out: BTreeMap<String, Usage> = BTreeMap::new();
    for s in specs {
        for (set, request) in [(&s.params, true), (&s.returns, false)] {
            for n in set.shared_names() {
                let u = out.entry(n.to_owned()).or_default();
                u.scopes.insert(s.scope.clone());
                u.request |= request;
            }
        }
    }
    out
}

/// [`build`] with the type specs (`types`) that the specs refer to, and the users of those
/// types outside `specs` (`others`: the event specs), for each type's `cfg`.
pub fn build_with(
    mut specs: Vec<Spec>,
    types: &[TypeSpec],
    others: &BTreeMap<String, Usage>,
) -> Api {
    specs.sort_by(|a, b| {
        a.method
            .cmp(&b.method)
            .then_with(|| a.api.cmp(&b.api))
            .then_with(|| a.file.cmp(&b.file))
    });
    // A REST 3.0 method whose wire name also names a classic method (`tasks.task.get` exists
    // in both) gets the suffix `_v3` (`get_v3`, `GetV3Request`); the classic one keeps the
    // plain name. A method that exists only in REST 3.0 keeps its plain name.
    let classic: BTreeSet<String> = specs
        .iter()
        .filter(|s| s.api == ApiVersion::Classic)
        .flat_map(|s| std::iter::once(&s.method).chain(&s.aliases))
        .map(|n| n.to_ascii_lowercase())
        .collect();

    // 1. Module tree: every namespace of every primary and alias name, idents in sorted wire order.
    let mut namespaces: BTreeSet<Vec<String>> = BTreeSet::new();
    for s in &specs {
        for name in std::iter::once(&s.method).chain(&s.aliases) {
            let segs: Vec<String> = name.split('.').map(str::to_owned).collect();
            for i in 1..segs.len() {
                namespaces.insert(segs[..i].to_vec());
            }
        }
    }
    let mut module_idents: BTreeMap<Vec<String>, Vec<String>> = BTreeMap::new(); // wire ns -> rust path
    module_idents.insert(Vec::new(), Vec::new());
    let mut scope_names: BTreeMap<Vec<String>, Names> = BTreeMap::new();
    scope_names.insert(
        Vec::new(),
        Names::with_reserved(ROOT_RESERVED_MODULES.iter().copied()),
    );
    for ns in &namespaces {
        let parent_wire = ns[..ns.len() - 1].to_vec();
        let parent_path = module_idents.get(&parent_wire).cloned().unwrap_or_default();
        let names = scope_names.entry(parent_wire).or_default();
        let ident = names.take(&naming::snake(&ns[ns.len() - 1], "ns"));
        let mut path = parent_path;
        path.push(ident);
        module_idents.insert(ns.clone(), path);
    }
    let mut root = Module::default();
    for (wire, path) in &module_idents {
        let node = module_at(&mut root, path);
        node.path = path.clone();
        node.wire = wire.join(".");
    }

    // 2. Function names per module, in sorted wire order over primaries and aliases together.
    struct Entry {
        wire: String,
        method: usize,
        is_alias: bool,
    }
    let mut per_module: BTreeMap<Vec<String>, Vec<Entry>> = BTreeMap::new();
    for (i, s) in specs.iter().enumerate() {
        for (name, is_alias) in
            std::iter::once((&s.method, false)).chain(s.aliases.iter().map(|a| (a, true)))
        {
            let segs: Vec<String> = name.split('.').map(str::to_owned).collect();
            let ns = segs[..segs.len() - 1].to_vec();
            per_module.entry(ns).or_default().push(Entry {
                wire: name.clone(),
                method: i,
                is_alias,
            });
        }
    }
    let mut fn_idents: BTreeMap<(usize, bool, String), (Vec<String>, String)> = BTreeMap::new();
    for (ns, entries) in &mut per_module {
        entries.sort_by(|a, b| a.wire.cmp(&b.wire));
        let path = module_idents.get(ns).cloned().unwrap_or_default();
        let mut names = Names::default();
        for e in entries.iter() {
            let leaf = e.wire.rsplit('.').next().unwrap_or(&e.wire);
            let mut base = naming::snake(leaf, "call");
            if specs[e.method].api == ApiVersion::V3
                && classic.contains(&e.wire.to_ascii_lowercase())
            {
                base.push_str("_v3");
            }
            let ident = names.take(&base);
            fn_idents.insert(
                (e.method, e.is_alias, e.wire.clone()),
                (path.clone(), ident),
            );
        }
    }

    // 3. The type specs' types, then every module's top-level request/response names, then
    // the rest.
    let mut enums = EnumTable::default();
    let mut direct = method_usage(&specs);
    for (name, u) in others {
        let d = direct.entry(name.clone()).or_default();
        d.scopes.extend(u.scopes.iter().cloned());
        d.request |= u.request;
    }
    let SharedSpace {
        module: types_module,
        list: shared,
        by_name,
    } = build_shared(types, &usage(types, &direct), &mut enums);
    let mut methods: Vec<Method> = Vec::new();
    let mut type_names: BTreeMap<Vec<String>, Names> = BTreeMap::new();
    let mut tops: Vec<(String, String)> = Vec::new();
    for (i, s) in specs.iter().enumerate() {
        let (path, fn_ident) = fn_idents
            .get(&(i, false, s.method.clone()))
            .cloned()
            .unwrap_or_default();
        let names = type_names.entry(path.clone()).or_default();
        let prefix = naming::pascal(&fn_ident, "Call");
        let req = names.take(&format!("{prefix}Request"));
        let resp = names.take(&format!("{prefix}Response"));
        let field_enum = (s.api == ApiVersion::Classic && s.pagination == Pagination::Start)
            .then(|| names.take(&format!("{prefix}Field")));
        tops.push((req, resp));
        methods.push(Method {
            spec: s.clone(),
            module: path,
            fn_ident,
            request: 0,
            response: 0,
            field_enum,
        });
    }
    for (i, m) in methods.iter_mut().enumerate() {
        let (req_name, resp_name) = tops[i].clone();
        let module = module_at(&mut root, &m.module);
        let names = type_names.entry(m.module.clone()).or_default();
        let prefix = naming::pascal(&m.fn_ident, "Call");
        let mut b = Builder {
            module,
            names,
            scope: m.spec.scope.clone(),
            side: Side::Request,
            defs: Vec::new(),
            enums: &mut enums,
            shared: &by_name,
            enum_scopes: BTreeSet::new(),
        };
        m.request = b.root_request(&req_name, &prefix, &m.spec);
        b.side = Side::Response;
        m.response = b.root_response(&resp_name, &prefix, &m.spec.returns, &m.spec.method);
        module.methods.push(i);
    }
    for (i, s) in specs.iter().enumerate() {
        for a in &s.aliases {
            if let Some((path, fn_ident)) = fn_idents.get(&(i, true, a.clone())) {
                module_at(&mut root, path).aliases.push(AliasFn {
                    wire: a.clone(),
                    method: i,
                    fn_ident: fn_ident.clone(),
                });
            }
        }
    }
    newtype_alias_cycles(&mut root);
    box_cycles(&mut root);
    let mut types_module = types_module;
    newtype_alias_cycles(&mut types_module);
    box_cycles(&mut types_module);
    let mut enums = enums.list;
    name_enums(&mut enums);
    Api {
        methods,
        root,
        enums,
        shared,
        types: types_module,
        shared_prefix: Vec::new(),
        type_schemas: types
            .iter()
            .map(|t| (t.name.clone(), t.schema.clone()))
            .collect(),
    }
}

fn module_at<'a>(root: &'a mut Module, path: &[String]) -> &'a mut Module {
    let mut node = root;
    for seg in path {
        node = node.children.entry(seg.clone()).or_default();
    }
    node
}

struct Builder<'a> {
    module: &'a mut Module,
    names: &'a mut Names,
    scope: String,
    side: Side,
    /// Type index of each definition of the schema set being converted.
    defs: Vec<usize>,
    enums: &'a mut EnumTable,
    /// The type specs' indexes into [`Api::shared`], by name.
    shared: &'a BTreeMap<String, usize>,
    /// Scopes besides `scope` that the enums made here are used under (a type spec's users).
    enum_scopes: BTreeSet<String>,
}

impl Builder<'_> {
    fn reserve(&mut self, name: String, doc: Vec<String>) -> usize {
        self.module.types.push(TypeDef {
            name,
            doc,
            scope: self.scope.clone(),
            side: self.side,
            body: Body::Pending,
        });
        self.module.types.len() - 1
    }

    /// The shared enum of these values (created on first use), used by this builder's scope.
    fn shared_enum(&mut self, values: &[EnumValue]) -> Ty {
        let t = &mut *self.enums;
        let i = match t.by_values.get(values) {
            Some(&i) => i,
            None => {
                let (values_named, other) = enum_variants(values);
                let runtime = values
                    == [
                        EnumValue::Str("Y".to_owned()),
                        EnumValue::Str("N".to_owned()),
                    ];
                t.list.push(SharedEnum {
                    name: String::new(),
                    values: values_named,
                    other,
                    scopes: BTreeSet::new(),
                    runtime,
                });
                t.by_values.insert(values.to_vec(), t.list.len() - 1);
                t.list.len() - 1
            }
        };
        t.list[i].scopes.insert(self.scope.clone());
        t.list[i].scopes.extend(self.enum_scopes.iter().cloned());
        Ty::Enum(i)
    }

    fn new_type(&mut self, base: &str, doc: Vec<String>) -> usize {
        let name = self.names.take(base);
        self.reserve(name, doc)
    }

    /// Reserves a type for every definition, then converts them (so `$ref` cycles resolve).
    fn defs(&mut self, set: &SchemaSet, prefix: &str) {
        self.defs.clear();
        for d in &set.defs {
            let doc = doc_lines(&d.schema);
            let idx = self.new_type(&format!("{prefix}{}", naming::pascal(&d.name, "Def")), doc);
            self.defs.push(idx);
        }
        for (i, d) in set.defs.iter().enumerate() {
            let idx = self.defs[i];
            let name = self.module.types[idx].name.clone();
            let body = self.named_body(&d.schema, &name);
            self.module.types[idx].body = body;
        }
    }

    fn root_request(&mut self, name: &str, prefix: &str, spec: &Spec) -> usize {
        let doc = vec![format!("Parameters of `{}`.", spec.method)];
        let idx = self.reserve(name.to_owned(), doc);
        self.defs(&spec.params, &format!("{prefix}Request"));
        let mut body = match &spec.params.root.kind {
            Kind::Object(_) => self.struct_body(&spec.params.root, name),
            _ => Body::Struct {
                fields: Vec::new(),
                extra: None,
                deny_unknown: false,
            },
        };
        if spec.pagination == Pagination::Start {
            if let Body::Struct { fields, .. } = &mut body {
                if !fields.iter().any(|f| f.wire == "start") {
                    let mut local = Names::default();
                    for f in fields.iter() {
                        local.take(&f.ident);
                    }
                    fields.push(Field {
                        ident: local.take("start"),
                        wire: "start".to_owned(),
                        ty: Ty::Option(Box::new(Ty::I64)),
                        optional: true,
                        doc: Some(
                            "Offset of the first row to return; pages hold 50 rows.".to_owned(),
                        ),
                        deprecated: false,
                        format: None,
                    });
                }
            }
        }
        if spec.api == ApiVersion::Classic {
            if let Body::Struct { fields, .. } = &mut body {
                query_params(fields);
            }
        }
        self.module.types[idx].body = body;
        idx
    }

    fn root_response(&mut self, name: &str, prefix: &str, set: &SchemaSet, method: &str) -> usize {
        let doc = format!("The `result` of `{method}`.");
        self.root_value(name, &format!("{prefix}Response"), set, doc)
    }

    /// The named type of a whole value a portal sends (a method's `result`, an event's
    /// `data`): its definitions are named `{def_prefix}{Def}`; `doc` is its first doc line.
    fn root_value(&mut self, name: &str, def_prefix: &str, set: &SchemaSet, doc: String) -> usize {
        let mut doc = vec![doc];
        doc.extend(doc_lines(&set.root));
        let idx = self.reserve(name.to_owned(), doc);
        self.defs(set, def_prefix);
        let body = self.named_body(&set.root, name);
        let body = if set.root.nullable {
            // A nullable top-level result is an alias to Option<...>.
            match body {
                Body::Alias(ty) => Body::Alias(option(ty)),
                other => {
                    let inner = self.new_type(&format!("{name}Value"), Vec::new());
                    self.module.types[inner].body = other;
                    Body::Alias(Ty::Option(Box::new(Ty::Named(inner))))
                }
            }
        } else {
            body
        };
        self.module.types[idx].body = body;
        idx
    }

    /// The body for a type that must be named (definitions, responses): structs and enums
    /// become their own body; everything else an alias.
    fn named_body(&mut self, s: &Schema, name: &str) -> Body {
        match &s.kind {
            Kind::Object(o) if !o.properties.is_empty() => self.struct_body(s, name),
            Kind::Enum(values) => Body::Alias(self.shared_enum(values)),
            Kind::Shared(n) => {
                Body::Alias(self.shared.get(n).map_or(Ty::Value, |&i| Ty::Shared(i)))
            }
            Kind::Union(vs) => self.union_body(vs, name),
            _ => {
                let plain = Schema {
                    nullable: false,
                    ..s.clone()
                };
                Body::Alias(self.ty(&plain, name))
            }
        }
    }

    fn struct_body(&mut self, s: &Schema, name: &str) -> Body {
        let Kind::Object(o) = &s.kind else {
            return Body::Alias(Ty::Value);
        };
        let has_extra = matches!(o.additional, Additional::Any | Additional::Schema(_));
        // A request type's `new` constructor and `additional(key, value)` setter share the
        // namespace of its fields' setters.
        let reserved = [
            has_extra.then_some(EXTRA_FIELD),
            (self.side == Side::Request).then_some("new"),
        ];
        let mut local = Names::with_reserved(reserved.into_iter().flatten());
        let mut fields = Vec::new();
        for p in &o.properties {
            let ident = local.take(&naming::snake(&p.name, "field"));
            let base = format!("{name}{}", naming::pascal(&p.name, "Field"));
            let first_new = self.module.types.len();
            let inner = self.ty(
                &Schema {
                    nullable: false,
                    ..p.schema.clone()
                },
                &base,
            );
            // The property's own type (the first one `ty` made, if any) says which wire name
            // it stands for when its name is not that name folded the plain way.
            if let Some(t) = self.module.types.get_mut(first_new) {
                let plain = p.name.is_ascii()
                    && [String::new(), "Item".to_owned(), "Value".to_owned()]
                        .iter()
                        .any(|suffix| t.name == format!("{base}{suffix}"));
                if !plain {
                    if let Some(q) = naming::doc_line(&format!("\"{}\"", p.name), 120) {
                        t.doc
                            .push(format!("Wire name {q} (a property of `{name}`)."));
                    }
                }
            }
            let optional = !p.required;
            let ty = if optional || p.schema.nullable {
                option(inner)
            } else {
                inner
            };
            fields.push(Field {
                ident,
                wire: p.name.clone(),
                ty,
                optional,
                doc: doc_lines(&p.schema).into_iter().next(),
                deprecated: p.schema.deprecated,
                format: p.schema.format,
            });
        }
        let extra = match &o.additional {
            Additional::Any => Some((EXTRA_FIELD.to_owned(), Ty::Value)),
            Additional::Schema(v) => {
                let t = self.ty(v, &format!("{name}Value"));
                Some((EXTRA_FIELD.to_owned(), t))
            }
            Additional::Unspecified | Additional::Forbidden => None,
        };
        let deny_unknown = o.additional == Additional::Forbidden && self.side == Side::Request;
        Body::Struct {
            fields,
            extra,
            deny_unknown,
        }
    }

    fn union_body(&mut self, vs: &[Schema], name: &str) -> Body {
        let mut local = Names::default();
        let mut variants = Vec::new();
        for v in vs {
            let base = match (&v.kind, &v.title) {
                (_, Some(t)) => naming::pascal(t, "Variant"),
                (Kind::Ref(i), None) => self.def_name(*i),
                (Kind::Shared(n), None) => {
                    naming::pascal(n.rsplit('.').next().unwrap_or(n), "Variant")
                }
                (k, None) => kind_name(k).to_owned(),
            };
            let ident = local.take(&base);
            let ty = self.ty(v, &format!("{name}{ident}"));
            // Structs in a union are boxed so one large variant does not bloat the others
            // (a type spec's type too, whatever it is: it may be large).
            let ty = match ty {
                Ty::Named(i)
                    if matches!(
                        self.module.types[i].body,
                        Body::Struct { .. } | Body::Pending | Body::Alias(Ty::Shared(_))
                    ) =>
                {
                    Ty::Box(Box::new(Ty::Named(i)))
                }
                other => other,
            };
            variants.push(Variant {
                ident,
                ty,
                doc: doc_lines(v).into_iter().next(),
            });
        }
        Body::Union(variants)
    }

    fn def_name(&self, i: usize) -> String {
        // Variant named after the definition, without the method prefix.
        let full = &self.module.types[self.defs[i]].name;
        full.clone()
    }

    /// The Rust type of a schema; nested objects, enums and unions become named types called `name`.
    fn ty(&mut self, s: &Schema, name: &str) -> Ty {
        if let Some(r) = s.runtime_type() {
            return if s.nullable {
                option(Ty::Runtime(r))
            } else {
                Ty::Runtime(r)
            };
        }
        let t = match &s.kind {
            Kind::Any => return Ty::Value,
            Kind::Bool => Ty::Bool,
            Kind::Integer => {
                if s.format == Some(Format::Int32) {
                    Ty::I32
                } else {
                    Ty::I64
                }
            }
            Kind::Number => Ty::F64,
            Kind::String => Ty::String,
            Kind::Array(items) => Ty::Vec(Box::new(self.ty(items, &format!("{name}Item")))),
            Kind::Object(o) => {
                if !o.properties.is_empty() {
                    let idx = self.new_type(name, doc_lines(s));
                    let body = self.struct_body(s, &self.module.types[idx].name.clone());
                    self.module.types[idx].body = body;
                    Ty::Named(idx)
                } else {
                    match &o.additional {
                        Additional::Schema(v) => {
                            Ty::Map(Box::new(self.ty(v, &format!("{name}Value"))))
                        }
                        _ => Ty::JsonMap,
                    }
                }
            }
            Kind::Enum(values) => {
                let idx = self.new_type(name, doc_lines(s));
                self.module.types[idx].body = Body::Alias(self.shared_enum(values));
                Ty::Named(idx)
            }
            Kind::Union(vs) => {
                let idx = self.new_type(name, doc_lines(s));
                let n = self.module.types[idx].name.clone();
                let body = self.union_body(vs, &n);
                self.module.types[idx].body = body;
                Ty::Named(idx)
            }
            Kind::Ref(i) => Ty::Named(self.defs.get(*i).copied().unwrap_or_default()),
            // A property's own name stays a type (as for enums of values): an alias of the
            // type spec's type. `check` refuses a name no type spec defines; any JSON if one
            // slips through.
            Kind::Shared(n) => match self.shared.get(n) {
                Some(&i) => {
                    let mut doc = vec![format!("The type `{n}`, defined once in `types`.")];
                    doc.extend(doc_lines(s));
                    let idx = self.new_type(name, doc);
                    self.module.types[idx].body = Body::Alias(Ty::Shared(i));
                    Ty::Named(idx)
                }
                None => Ty::Value,
            },
        };
        if s.nullable { option(t) } else { t }
    }
}

/// A classic request's top-level `filter` and `order` (any case) that the spec leaves open
/// (any JSON, an object without properties, a map) become the runtime's `Filter` and
/// `Order`, which keep the caller's order on the wire; typed ones are left as they are.
fn query_params(fields: &mut [Field]) {
    for f in fields {
        let q = if f.wire.eq_ignore_ascii_case("filter") {
            QueryParam::Filter
        } else if f.wire.eq_ignore_ascii_case("order") {
            QueryParam::Order
        } else {
            continue;
        };
        let inner = match &f.ty {
            Ty::Option(t) => t.as_ref(),
            t => t,
        };
        if matches!(inner, Ty::Value | Ty::JsonMap | Ty::Map(_)) {
            f.ty = if f.optional {
                Ty::Option(Box::new(Ty::Query(q)))
            } else {
                Ty::Query(q)
            };
        }
    }
}

fn option(t: Ty) -> Ty {
    match t {
        Ty::Option(_) | Ty::Value => t,
        other => Ty::Option(Box::new(other)),
    }
}

fn kind_name(k: &Kind) -> &'static str {
    match k {
        Kind::Any => "Value",
        Kind::Bool => "Bool",
        Kind::Integer => "Integer",
        Kind::Number => "Number",
        Kind::String => "String",
        Kind::Array(_) => "Array",
        Kind::Object(_) => "Object",
        Kind::Enum(_) => "Enum",
        Kind::Union(_) => "Union",
        Kind::Ref(_) => "Ref",
        Kind::Shared(_) => "Shared",
    }
}

/// Doc lines from `description` (or `title`), neutralised.
pub fn doc_lines(s: &Schema) -> Vec<String> {
    s.doc
        .as_deref()
        .and_then(|d| naming::doc_line(d, 300))
        .into_iter()
        .collect()
}
