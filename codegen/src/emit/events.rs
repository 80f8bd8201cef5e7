//! Event specs → `events.rs`: per scope (behind its feature) a module with an `Event` enum
//! (one variant per documented event and `Unknown` for the others) and the payload type of
//! each event, from the type space of [`crate::ir::build_events`]. The enum implements the
//! runtime's `EventPayload`, matched on the wire name, case-insensitively (the docs write
//! `onCrmDealAdd`, the wire `ONCRMDEALADD`); each variant holds a `TypedEvent` of its payload
//! (the `data` decoded loosely, and the `RawEvent`). The shared enums of the payloads are
//! the module `enums`, each behind the features of the scopes that use it.

use super::{Emitter, cfg_for, doc_attr, docs, ident};
use crate::ir::EventApi;
use crate::naming;
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::BTreeSet;

/// The tokens of `events.rs` for the event type space.
pub(crate) fn events_file(events: &EventApi, rt: &TokenStream) -> TokenStream {
    let emitter = Emitter {
        api: &events.api,
        rt: rt.clone(),
    };
    let mut out = TokenStream::new();
    let enums = emitter.enum_items();
    if !enums.is_empty() {
        let scopes: BTreeSet<String> = events
            .api
            .enums
            .iter()
            .filter(|e| !e.runtime)
            .flat_map(|e| e.scopes.iter().cloned())
            .collect();
        let cfg = cfg_for(&scopes);
        out.extend(quote! {
            #cfg
            /// Enums of values of the event payloads, each defined once for every payload
            /// property with the same values (in the same order).
            pub mod enums {
                #enums
            }
        });
    }
    for scope in &events.scopes {
        let Some(m) = events.api.root.children.get(&scope.module) else {
            continue;
        };
        let feature = &scope.scope;
        let module = ident(&scope.module);
        let mut variants = Vec::new();
        let mut arms = Vec::new();
        let mut names = Vec::new();
        let mut raws = Vec::new();
        let mut into_raws = Vec::new();
        let mut links = std::collections::BTreeMap::new();
        for e in &scope.events {
            let v = ident(&e.variant);
            let payload = ident(m.types.get(e.payload).map_or("UnknownType", |t| &t.name));
            let doc = doc_attr(&format!(
                "`{}`{}",
                naming::doc_line(&e.spec.event, 120).unwrap_or_default(),
                if e.spec.deprecated {
                    " (deprecated)"
                } else {
                    ""
                }
            ));
            let wire = &e.wire;
            variants.push(quote!(#doc #v(#rt::events::TypedEvent<#payload>),));
            arms.push(quote!(#wire => Event::#v(#rt::events::TypedEvent::decode(raw)?),));
            names.push(wire.clone());
            raws.push(quote!(Event::#v(e) => &e.raw,));
            into_raws.push(quote!(Event::#v(e) => e.raw,));
            if let Some(url) = e.spec.docs.as_deref() {
                if super::methods::safe_url(url) {
                    links.insert(e.payload, vec![format!("Official documentation: <{url}>.")]);
                }
            }
        }
        let mut types = TokenStream::new();
        let none = TokenStream::new();
        for (i, t) in m.types.iter().enumerate() {
            let extra = links.get(&i).map_or(&[][..], Vec::as_slice);
            types.extend(emitter.type_def(t, m, &none, extra));
        }
        let scope_doc = docs(&[format!(
            "Events of scope `{feature}` and the payload (`data`) of each."
        )]);
        let enum_doc = docs(&[
            format!("Every documented event of scope `{feature}`; `Unknown` for the others."),
            "Each variant holds the event's `data` decoded as its payload type (`.data`) and the event as received (`.raw`).".to_owned(),
        ]);
        out.extend(quote! {
            #[cfg(feature = #feature)]
            #scope_doc
            pub mod #module {
                #enum_doc
                #[derive(Debug, Clone, PartialEq)]
                #[non_exhaustive]
                #[allow(clippy::large_enum_variant)]
                pub enum Event {
                    #(#variants)*
                    /// An event the specs of this scope do not describe.
                    Unknown(#rt::events::RawEvent),
                }

                impl Event {
                    /// The wire names of the documented events, in capitals, sorted.
                    pub const NAMES: &'static [&'static str] = &[#(#names),*];

                    /// The event as received.
                    pub fn raw(&self) -> &#rt::events::RawEvent {
                        match self {
                            #(#raws)*
                            Event::Unknown(raw) => raw,
                        }
                    }

                    /// The event as received, without its typed payload.
                    pub fn into_raw(self) -> #rt::events::RawEvent {
                        match self {
                            #(#into_raws)*
                            Event::Unknown(raw) => raw,
                        }
                    }
                }

                impl #rt::events::EventPayload for Event {
                    fn from_raw(
                        raw: #rt::events::RawEvent,
                    ) -> Result<Event, #rt::events::EventError> {
                        let name = raw.event.to_ascii_uppercase();
                        Ok(match name.as_str() {
                            #(#arms)*
                            _ => Event::Unknown(raw),
                        })
                    }
                }

                impl From<Event> for #rt::events::RawEvent {
                    fn from(e: Event) -> #rt::events::RawEvent {
                        e.into_raw()
                    }
                }

                #types
            }
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::{Options, SourceFile, generate_events};

    fn src(path: &str, text: &str) -> SourceFile {
        SourceFile {
            path: path.into(),
            text: text.into(),
        }
    }

    fn opts() -> Options {
        Options {
            runtime_path: "::rt".into(),
            spec_dir: "specs".into(),
        }
    }

    #[test]
    fn event_enums_are_deterministic_and_hostile_names_stay_names() {
        let a = src("a.md", "---\nevent: onCrmDealAdd\nscope: crm\n---\n");
        let b = src("b.md", "---\nevent: ONCRMDEALADD\nscope: crm\n---\n");
        let c = src("c.md", "---\nevent: onUnknown\nscope: sale.x\n---\n");
        let one = generate_events(&[a.clone(), b.clone(), c.clone()], &opts())
            .unwrap()
            .unwrap();
        let two = generate_events(&[c, b, a], &opts()).unwrap().unwrap();
        assert_eq!(one, two);
        // Two spellings of one wire name: one variant.
        assert_eq!(one.matches("\"ONCRMDEALADD\" =>").count(), 1, "{one}");
        assert!(
            one.contains("UnknownEvent(::rt::events::TypedEvent<UnknownEventData>)"),
            "{one}"
        );
        // No payload schema: any JSON.
        assert!(
            one.contains("pub type UnknownEventData = ::serde_json::Value;"),
            "{one}"
        );
        assert!(one.contains("#[cfg(feature = \"sale.x\")]"), "{one}");
        assert!(generate_events(&[], &opts()).unwrap().is_none());
        let bad = generate_events(
            &[src("d.md", "---\nevent: \"x y\"\nscope: crm\n---\n")],
            &opts(),
        );
        assert!(bad.is_err());
    }

    #[test]
    fn payloads_are_typed_through_the_type_space() {
        let spec = src(
            "e.md",
            concat!(
                "---\nevent: onCrmDealAdd\nscope: crm\n",
                "docs: \"https://apidocs.bitrix24.ru/x/on-crm-deal-add.html\"\n",
                "payload: {\"type\": \"object\", \"additionalProperties\": true, \"properties\": {",
                "\"FIELDS\": {\"type\": \"object\", \"required\": [\"ID\"], \"additionalProperties\": true, ",
                "\"properties\": {\"ID\": {\"type\": \"integer\"}, ",
                "\"KIND\": {\"type\": \"string\", \"enum\": [\"A\", \"B\"]}, ",
                "\"FLAG\": {\"type\": \"string\", \"enum\": [\"Y\", \"N\"]}}}}}\n",
                "---\n"
            ),
        );
        let out = generate_events(&[spec], &opts()).unwrap().unwrap();
        for want in [
            "CrmDealAdd(::rt::events::TypedEvent<CrmDealAddData>)",
            "Event::CrmDealAdd(::rt::events::TypedEvent::decode(raw)?)",
            "pub struct CrmDealAddData {",
            "pub fields: Option<CrmDealAddDataFields>,",
            "pub struct CrmDealAddDataFields {",
            "pub id: i64,",
            // Open objects keep the keys the spec does not list.
            "pub additional: ::std::collections::BTreeMap<String, ::serde_json::Value>,",
            "let id = o.req(\"ID\")?;",
            "impl ::rt::loose::Loose for CrmDealAddDataFields",
            // Shared enums of the payloads, behind their scopes; `Y`/`N` is the runtime's.
            "pub type CrmDealAddDataFieldsKind = super::enums::AB;",
            "pub type CrmDealAddDataFieldsFlag = ::rt::YesNo;",
            "pub mod enums {",
            "/// Official documentation: <https://apidocs.bitrix24.ru/x/on-crm-deal-add.html>.",
            "Event::CrmDealAdd(e) => &e.raw,",
        ] {
            assert!(out.contains(want), "{want}\n{out}");
        }
    }

    /// The identifiers of a token stream, in order, at every depth (literals left out).
    fn flat_idents(tokens: proc_macro2::TokenStream, out: &mut Vec<String>) {
        for t in tokens {
            match t {
                proc_macro2::TokenTree::Ident(i) => out.push(i.to_string()),
                proc_macro2::TokenTree::Group(g) => flat_idents(g.stream(), out),
                _ => {}
            }
        }
    }

    #[test]
    fn hostile_spec_text_stays_text() {
        let spec = src(
            "h.md",
            concat!(
                "---\nevent: onX\nscope: crm\n",
                "docs: \"https://evil.example/a\\\"]; fn pwn() {} //\"\n",
                "payload: {\"type\": \"object\", \"description\": \"*/ } fn pwn() {} /* <script>\\n# x\", ",
                "\"properties\": {\"\\\"]fn pwn(){}//\": {\"type\": \"integer\", \"description\": \"`[x](http://e)`\"}}}\n",
                "---\n"
            ),
        );
        let out = generate_events(&[spec], &opts()).unwrap().unwrap();
        // No `fn pwn` in the code: outside literals (doc comments and the schema's JSON text
        // are literals), the tokens never read `fn` then `pwn`.
        let tokens: proc_macro2::TokenStream = out.parse().expect("generated code lexes");
        let mut words = Vec::new();
        flat_idents(tokens, &mut words);
        assert!(
            !words.windows(2).any(|w| w[0] == "fn" && w[1] == "pwn"),
            "{out}"
        );
        assert!(syn::parse_file(&out).is_ok(), "{out}");
        assert!(!out.contains("<script>"), "{out}");
        assert!(!out.contains("evil.example"), "{out}");
        // The property keeps its wire name through `rename`, as an escaped literal.
        assert!(out.contains("rename = \"\\\"]fn pwn(){}//\""), "{out}");
    }
}
