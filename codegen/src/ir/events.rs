//! The type space of the event specs: per scope one module holding the payload type of
//! each of its events (the schema of the event's `data`), built by the same [`Builder`] as
//! method types, so names, shared enums, cycles and loose decoding follow the same rules.
//! Each scope's module is a child of [`EventApi::api`]'s root; its shared enums are
//! [`Api::enums`] of that tree (emitted as `events::enums`).

use super::*;
use crate::spec::{EventSpec, TypeSpec};

/// Type names taken in every scope module before any payload is named.
pub const EVENT_RESERVED_TYPES: &[&str] = &["Event"];

/// Module names taken next to the scope modules.
pub const EVENT_RESERVED_MODULES: &[&str] = &["enums"];

/// One documented event.
#[derive(Debug, Clone)]
pub struct EventDef {
    /// The spec.
    pub spec: EventSpec,
    /// The wire name in capitals (`ONCRMDEALADD`), what `from_raw` matches.
    pub wire: String,
    /// The variant of the scope's `Event` enum (`CrmDealAdd`).
    pub variant: String,
    /// Index of the payload type in the scope's module (`CrmDealAddData`).
    pub payload: usize,
}

/// The events of one scope.
#[derive(Debug, Clone)]
pub struct EventScope {
    /// The scope (cargo feature).
    pub scope: String,
    /// The module's Rust name, its key in the root's children.
    pub module: String,
    /// Events sorted by wire name.
    pub events: Vec<EventDef>,
}

/// The whole type space of the event specs.
#[derive(Debug, Clone)]
pub struct EventApi {
    /// No methods; the root's children are the scope modules, `enums` their shared enums.
    pub api: Api,
    /// Scopes sorted by name.
    pub scopes: Vec<EventScope>,
}

/// The variant name of an event: its words without a leading `on` (`onCrmDealAdd` →
/// `CrmDealAdd`, `CATALOG.PRICE.ON.ADD` → `CatalogPriceOnAdd`), unique within the scope;
/// `Unknown` is the catch-all's name, so an event named that way is `UnknownEvent`.
fn variant(event: &str, taken: &mut BTreeMap<String, usize>) -> String {
    let trimmed = if !event.contains('.')
        && event.len() > 2
        && event[..2].eq_ignore_ascii_case("on")
        && event.as_bytes()[2].is_ascii_uppercase()
    {
        &event[2..]
    } else {
        event
    };
    let mut name = naming::pascal(trimmed, "Event");
    if name == "Unknown" {
        name = "UnknownEvent".into();
    }
    let n = taken.entry(name.clone()).or_insert(0);
    *n += 1;
    if *n > 1 {
        name = format!("{name}{n}");
    }
    name
}

/// Builds the event type space (any order of `specs`; the result does not depend on it).
/// Two specs of one wire name in one scope (ASCII case ignored): the first by file name wins.
pub fn build_events(specs: &[EventSpec]) -> EventApi {
    build_events_with(specs, &[])
}

/// The users of each type spec among event specs (their `payload`s), by type name.
pub fn event_usage(specs: &[EventSpec]) -> BTreeMap<String, Usage> {
    let mut out: BTreeMap<String, Usage> = BTreeMap::new();
    for s in specs {
        for n in s.payload.shared_names() {
            out.entry(n.to_owned())
                .or_default()
                .scopes
                .insert(s.scope.clone());
        }
    }
    out
}

/// [`build_events`] with the type specs the payloads refer to. Their types are generated in
/// the methods' tree (`api::types`); this tree names them through `super::api::types` and
/// knows them only to name them (its own enum table is not theirs).
pub fn build_events_with(specs: &[EventSpec], types: &[TypeSpec]) -> EventApi {
    let mut scratch = EnumTable::default();
    let SharedSpace {
        module: types_module,
        list: shared,
        by_name,
    } = build_shared(types, &BTreeMap::new(), &mut scratch);
    let mut by_scope: BTreeMap<&str, BTreeMap<String, &EventSpec>> = BTreeMap::new();
    let mut sorted: Vec<&EventSpec> = specs.iter().collect();
    sorted.sort_by(|a, b| (&a.file, &a.event).cmp(&(&b.file, &b.event)));
    for s in sorted {
        by_scope
            .entry(s.scope.as_str())
            .or_default()
            .entry(s.event.to_ascii_uppercase())
            .or_insert(s);
    }
    let mut module_names = Names::with_reserved(EVENT_RESERVED_MODULES.iter().copied());
    let mut root = Module::default();
    let mut enums = EnumTable::default();
    let mut scopes = Vec::new();
    for (scope, events) in by_scope {
        let module_ident = module_names.take(&naming::snake(scope, "scope"));
        let mut module = Module {
            path: vec![module_ident.clone()],
            wire: scope.to_owned(),
            ..Module::default()
        };
        let mut names = Names::with_reserved(EVENT_RESERVED_TYPES.iter().copied());
        let mut taken = BTreeMap::new();
        // Every variant and payload name first, then the nested types: a nested name never
        // takes the name of another event's payload.
        let named: Vec<(String, &EventSpec, String, String)> = events
            .into_iter()
            .map(|(wire, spec)| {
                let v = variant(&spec.event, &mut taken);
                let payload = names.take(&format!("{v}Data"));
                (wire, spec, v, payload)
            })
            .collect();
        let mut defs = Vec::new();
        for (wire, spec, v, payload) in named {
            let mut b = Builder {
                module: &mut module,
                names: &mut names,
                scope: scope.to_owned(),
                side: Side::Response,
                defs: Vec::new(),
                enums: &mut enums,
                shared: &by_name,
                enum_scopes: BTreeSet::new(),
            };
            let shown = naming::doc_line(&spec.event, 120).unwrap_or_default();
            let idx = b.root_value(
                &payload,
                &payload,
                &spec.payload,
                format!("The `data` of the event `{shown}`."),
            );
            defs.push(EventDef {
                spec: spec.clone(),
                wire,
                variant: v,
                payload: idx,
            });
        }
        root.children.insert(module_ident.clone(), module);
        scopes.push(EventScope {
            scope: scope.to_owned(),
            module: module_ident,
            events: defs,
        });
    }
    newtype_alias_cycles(&mut root);
    box_cycles(&mut root);
    let mut enums = enums.list;
    name_enums(&mut enums);
    EventApi {
        api: Api {
            methods: Vec::new(),
            root,
            enums,
            shared,
            types: types_module,
            shared_prefix: vec!["super".to_owned(), "api".to_owned()],
            type_schemas: BTreeMap::new(),
        },
        scopes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Diagnostics;
    use crate::spec::{SourceFile, parse_event};

    fn spec(path: &str, text: &str) -> EventSpec {
        let mut d = Diagnostics::default();
        let s = parse_event(
            &SourceFile {
                path: path.into(),
                text: text.into(),
            },
            &mut d,
        );
        assert!(!d.has_errors(), "{d}");
        s.unwrap()
    }

    #[test]
    fn payload_names_come_from_the_variant_and_never_clash() {
        let a = spec(
            "a.md",
            "---\nevent: onCrmDealAdd\nscope: crm\npayload: {\"type\": \"object\", \"properties\": {\"X_DATA\": {\"type\": \"object\", \"properties\": {\"ID\": {\"type\": \"integer\"}}}}}\n---\n",
        );
        // Its payload, `CrmDealAddDataXData`, is also the name of `X_DATA` of the first.
        let b = spec("b.md", "---\nevent: onCrmDealAddDataX\nscope: crm\n---\n");
        let c = spec("c.md", "---\nevent: ONCRMDEALADD\nscope: crm\n---\n");
        let d = spec("d.md", "---\nevent: onX\nscope: enums\n---\n");
        let one = build_events(&[a.clone(), b.clone(), c.clone(), d.clone()]);
        let two = build_events(&[d, c, b, a]);
        assert_eq!(format!("{one:?}"), format!("{two:?}"));
        let crm = &one.scopes[0];
        assert_eq!(crm.module, "crm");
        // Same wire name twice: the first file wins.
        assert_eq!(crm.events.len(), 2);
        assert_eq!(crm.events[0].spec.file, "a.md");
        let m = &one.api.root.children["crm"];
        let names: Vec<&str> = m.types.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "CrmDealAddData",
                "CrmDealAddDataXData2",
                "CrmDealAddDataXData"
            ]
        );
        // A scope named `enums` does not take the shared enums' module.
        assert_eq!(one.scopes[1].module, "enums_2");
    }
}
