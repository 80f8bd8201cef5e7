//! Event specs → `events.rs`: per scope (behind its feature) an `Event` enum with one variant
//! per documented event and `Unknown` for the others, implementing the runtime's
//! `EventPayload` (matched on the wire name, case-insensitively: the docs write
//! `onCrmDealAdd`, the wire `ONCRMDEALADD`). Each variant holds the verified `RawEvent`;
//! typed payload structs from the specs' `payload` schemas are not emitted yet.

use super::{doc_attr, ident};
use crate::naming;
use crate::spec::EventSpec;
use proc_macro2::TokenStream;
use quote::quote;
use std::collections::BTreeMap;

/// The variant name of an event: its words without a leading `on` (`onCrmDealAdd` →
/// `CrmDealAdd`, `CATALOG.PRICE.ON.ADD` → `CatalogPriceOnAdd`), unique within the scope.
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

/// The tokens of `events.rs` for `specs` (any order: sorted here by scope and wire name).
pub(crate) fn events_file(specs: &[EventSpec], rt: &TokenStream) -> TokenStream {
    let mut by_scope: BTreeMap<&str, BTreeMap<String, &EventSpec>> = BTreeMap::new();
    for s in specs {
        by_scope
            .entry(s.scope.as_str())
            .or_default()
            .entry(s.event.to_ascii_uppercase())
            .or_insert(s);
    }
    let mut out = TokenStream::new();
    for (scope, events) in by_scope {
        let module = ident(&naming::snake(scope, "scope"));
        let mut taken = BTreeMap::new();
        let mut variants = Vec::new();
        let mut arms = Vec::new();
        let mut names = Vec::new();
        let mut raws = Vec::new();
        for (wire, spec) in &events {
            let v = ident(&variant(&spec.event, &mut taken));
            let doc = doc_attr(&format!(
                "`{}`{}",
                naming::doc_line(&spec.event, 120).unwrap_or_default(),
                if spec.deprecated { " (deprecated)" } else { "" }
            ));
            variants.push(quote!(#doc #v(#rt::events::RawEvent),));
            arms.push(quote!(#wire => Event::#v(raw),));
            names.push(wire.clone());
            raws.push(quote!(Event::#v(raw)));
        }
        let scope_doc = doc_attr(&format!("Events of scope `{scope}`."));
        let enum_doc = doc_attr(&format!(
            "Every documented event of scope `{scope}`; `Unknown` for the others."
        ));
        out.extend(quote! {
            #[cfg(feature = #scope)]
            #scope_doc
            pub mod #module {
                #enum_doc
                #[derive(Debug, Clone, PartialEq)]
                #[non_exhaustive]
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
                            #(#raws)|* | Event::Unknown(raw) => raw,
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

    #[test]
    fn event_enums_are_deterministic_and_hostile_names_stay_names() {
        let opts = Options {
            runtime_path: "::rt".into(),
            spec_dir: "specs".into(),
        };
        let a = src("a.md", "---\nevent: onCrmDealAdd\nscope: crm\n---\n");
        let b = src("b.md", "---\nevent: ONCRMDEALADD\nscope: crm\n---\n");
        let c = src("c.md", "---\nevent: onUnknown\nscope: sale.x\n---\n");
        let one = generate_events(&[a.clone(), b.clone(), c.clone()], &opts)
            .unwrap()
            .unwrap();
        let two = generate_events(&[c, b, a], &opts).unwrap().unwrap();
        assert_eq!(one, two);
        // Two spellings of one wire name: one variant.
        assert_eq!(one.matches("\"ONCRMDEALADD\" =>").count(), 1, "{one}");
        assert!(
            one.contains("UnknownEvent(::rt::events::RawEvent)"),
            "{one}"
        );
        assert!(one.contains("#[cfg(feature = \"sale.x\")]"), "{one}");
        assert!(generate_events(&[], &opts).unwrap().is_none());
        let bad = generate_events(
            &[src("d.md", "---\nevent: \"x y\"\nscope: crm\n---\n")],
            &opts,
        );
        assert!(bad.is_err());
    }
}
