//! Spec-controlled text (descriptions, titles, enum values, property and definition names) can
//! never inject code or break the build. The fixture crate compiles the hostile fixtures; these
//! tests parse generated source with `syn` and check that every hostile string came out as data.

use codegen::{Options, SourceFile};
use quote::ToTokens;
use std::collections::BTreeSet;

const HOSTILE: &[&str] = &[
    "*/",
    "/*",
    "\"#",
    "\"",
    "\\",
    "`",
    "```rust\nfn main() { std::process::exit(1) }\n```",
    "~~~",
    "#[cfg(test)]",
    "#![allow(warnings)]",
    "}; fn evil() {",
    "<script>alert(1)</script>",
    "[link](javascript:alert(1))",
    "\u{202E}gnp.exe",
    "\u{2066}x\u{2069}",
    "nul\0byte",
    "bell\u{7}",
    "line\r\nbreak",
    "r#x",
    "Self",
    "self",
    "gen",
    "1",
    "",
    "Other",
    "ФИО",
    "名前",
];

fn spec_text() -> String {
    let mut props = serde_json::Map::new();
    for (i, h) in HOSTILE.iter().enumerate() {
        props.insert(
            (*h).to_owned(),
            serde_json::json!({ "type": "string", "description": h, "title": h, "x-note": h, "examples": [h], "default": h, "pattern": format!("^{i}$") }),
        );
    }
    props.insert(
        "choice".to_owned(),
        serde_json::json!({ "enum": HOSTILE, "description": HOSTILE.join(" ") }),
    );
    props.insert("either".to_owned(), serde_json::json!({ "oneOf": HOSTILE.iter().take(5).map(|h| serde_json::json!({"type": "object", "title": h, "properties": {"a": {"type": "string"}}})).collect::<Vec<_>>() }));
    let mut defs = serde_json::Map::new();
    for h in HOSTILE {
        defs.insert((*h).to_owned(), serde_json::json!({ "type": "object", "description": h, "properties": { "v": { "type": "integer" } } }));
    }
    props.insert(
        "refs".to_owned(),
        serde_json::json!({ "type": "array", "items": { "$ref": "#/$defs/*/" } }),
    );
    let params = serde_json::json!({ "type": "object", "properties": props, "$defs": defs });
    format!(
        "---\nmethod: hostile.check\nscope: hostile\nparams: {params}\n---\nbody with */ and ```\n"
    )
}

fn generated() -> codegen::Generated {
    let src = SourceFile {
        path: "specs/hostile.check.md".to_owned(),
        text: spec_text(),
    };
    codegen::generate(&[src], &Options::default()).unwrap_or_else(|d| panic!("{d}"))
}

fn module() -> syn::File {
    let g = generated();
    let text = g
        .files
        .get("hostile.rs")
        .unwrap_or_else(|| panic!("no hostile.rs in {:?}", g.files.keys()));
    syn::parse_file(text).unwrap_or_else(|e| panic!("generated code does not parse: {e}\n{text}"))
}

fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    let mut out = None;
    for a in attrs {
        if a.path().is_ident("serde") {
            let _ = a.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") {
                    let lit: syn::LitStr = meta.value()?.parse()?;
                    out = Some(lit.value());
                } else if meta.input.peek(syn::Token![=]) {
                    let _: syn::Expr = meta.value()?.parse()?;
                }
                Ok(())
            });
        }
    }
    out
}

#[test]
fn every_hostile_property_name_is_one_field_renamed_to_itself() {
    let file = module();
    let request = file
        .items
        .iter()
        .find_map(|i| match i {
            syn::Item::Struct(s) if s.ident == "CheckRequest" => Some(s),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no CheckRequest"));
    let mut wire = BTreeSet::new();
    let mut idents = BTreeSet::new();
    for f in &request.fields {
        let ident = f
            .ident
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let name = serde_rename(&f.attrs).unwrap_or_else(|| ident.clone());
        assert!(idents.insert(ident.clone()), "duplicate field {ident}");
        assert!(wire.insert(name), "duplicate wire name for {ident}");
    }
    let mut expected: BTreeSet<String> = HOSTILE.iter().map(|s| (*s).to_owned()).collect();
    expected.extend(["choice", "either", "refs"].map(str::to_owned));
    assert_eq!(
        wire, expected,
        "wire names must reach the wire unchanged, all of them"
    );
    // The JSON Schema names the same properties (its text is data, never code).
    let schema = file
        .items
        .iter()
        .find_map(|i| match i {
            syn::Item::Macro(m)
                if m.mac
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "schema_data") =>
            {
                let (name, text) = schema_data_args(&m.mac.tokens);
                (name == "CheckRequest").then_some(text)
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no schema of CheckRequest"));
    let schema: serde_json::Value = serde_json::from_str(&schema).expect("JSON");
    let props: BTreeSet<String> = schema["properties"]
        .as_object()
        .expect("properties")
        .keys()
        .cloned()
        .collect();
    assert_eq!(props, expected);
}

#[test]
fn nothing_but_the_expected_items_exists() {
    let file = module();
    for item in &file.items {
        let name = match item {
            syn::Item::Struct(s) => s.ident.to_string(),
            syn::Item::Enum(e) => e.ident.to_string(),
            syn::Item::Fn(f) => f.sig.ident.to_string(),
            syn::Item::Impl(_) => continue,
            syn::Item::Type(t) => t.ident.to_string(),
            // `::bitrix24_runtime::loose_deserialize!(CheckRequest);`: its one argument is the
            // item it is for.
            // `::bitrix24_runtime::schema_data!(CheckRequest, "{..}", [..]);`: the item, then
            // its schema as one string literal of JSON.
            syn::Item::Macro(m) => {
                let last = m.mac.path.segments.last().map(|s| s.ident.to_string());
                match last.as_deref() {
                    Some("loose_deserialize") => m.mac.tokens.to_string(),
                    Some("schema_data") => {
                        let (name, text) = schema_data_args(&m.mac.tokens);
                        let schema: serde_json::Value = serde_json::from_str(&text)
                            .unwrap_or_else(|e| panic!("{name}: schema text is not JSON: {e}"));
                        assert!(schema.is_object(), "{name}: {schema}");
                        name
                    }
                    other => panic!("unexpected macro {other:?}"),
                }
            }
            other => panic!("unexpected item {}", quote_item(other)),
        };
        assert!(
            name == "check" || name.starts_with("Check"),
            "unexpected item `{name}`"
        );
        assert!(!name.contains("evil"));
    }
    // No attribute other than the ones the generator writes.
    let text = generated()
        .files
        .get("hostile.rs")
        .cloned()
        .unwrap_or_default();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("#[") || t.starts_with("#![") {
            let ok = ["#[derive(", "#[serde(", "#[cfg(feature", "#[deprecated("]
                .iter()
                .any(|p| t.starts_with(p))
                || t == "#[serde(untagged)]"
                || t == "#[non_exhaustive]"
                || t == "#[allow(clippy::should_implement_trait, clippy::wrong_self_convention)]"
                || t == "#[allow(clippy::too_many_arguments)]"
                || t == "#[serde(deny_unknown_fields)]"
                || t == "#[serde(transparent)]";
            assert!(ok, "unexpected attribute line: {line}");
        }
    }
}

/// The type name and the schema text of a `schema_data!` call (`Name, "json", [deps]`).
fn schema_data_args(tokens: &proc_macro2::TokenStream) -> (String, String) {
    let parser = |input: syn::parse::ParseStream| {
        let name: syn::Ident = input.parse()?;
        let _: syn::Token![,] = input.parse()?;
        let text: syn::LitStr = input.parse()?;
        let _: syn::Token![,] = input.parse()?;
        let deps;
        syn::bracketed!(deps in input);
        let _: proc_macro2::TokenStream = deps.parse()?;
        Ok((name.to_string(), text.value()))
    };
    syn::parse::Parser::parse2(parser, tokens.clone())
        .unwrap_or_else(|e| panic!("schema_data!({tokens}): {e}"))
}

/// True when `pat` occurs in `doc` without a backslash before it (an odd number of them).
fn unescaped(doc: &str, pat: &str) -> bool {
    doc.match_indices(pat).any(|(i, _)| {
        let slashes = doc[..i].chars().rev().take_while(|&c| c == '\\').count();
        slashes % 2 == 0
    })
}

fn strip_safe_code_spans(doc: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "_.-:".contains(c);
    let mut out = String::new();
    let mut rest = doc;
    while let Some(i) = rest.find('`') {
        let after = &rest[i + 1..];
        let span_len = after.find(|c: char| !safe(c)).unwrap_or(after.len());
        let unescaped_open = !rest[..i].ends_with('\\');
        if unescaped_open && after[span_len..].starts_with('`') {
            out.push_str(&rest[..i]);
            rest = &after[span_len + 1..];
        } else {
            out.push_str(&rest[..=i]);
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn quote_item(i: &syn::Item) -> String {
    format!("{:?}", std::mem::discriminant(i))
}

#[test]
fn hostile_text_never_reaches_the_output_raw() {
    for (path, text) in generated().files {
        for bad in ['\u{202E}', '\u{2066}', '\u{2069}', '\0', '\u{7}', '\r'] {
            assert!(!text.contains(bad), "{path} holds raw {:?}", bad);
        }
        // Doc comments: one line each, no fence or HTML that rustdoc would act on.
        for line in text.lines() {
            let t = line.trim_start();
            if let Some(doc) = t.strip_prefix("///").or_else(|| t.strip_prefix("//!")) {
                // The generator's own code spans hold only validated names (`crm.deal.get`, `date-time`).
                let doc = strip_safe_code_spans(doc);
                for active in ["`", "~", "<", ">", "[", "]", "*"] {
                    assert!(
                        !unescaped(&doc, active),
                        "{path}: unescaped {active} in doc: {line}"
                    );
                }
            }
        }
    }
}

#[test]
fn enum_values_survive_as_string_literals() {
    // `CheckRequestChoice` is an alias of the shared enum in `enums.rs`; the values are the
    // string literals handed to `string_enum!` there.
    let file = module();
    let shared = file
        .items
        .iter()
        .find_map(|i| match i {
            syn::Item::Type(t) if t.ident == "CheckRequestChoice" => match &*t.ty {
                syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
                _ => None,
            },
            _ => None,
        })
        .unwrap_or_else(|| panic!("no CheckRequestChoice"));
    let text = generated()
        .files
        .get("enums.rs")
        .cloned()
        .unwrap_or_default();
    let parsed: syn::File = syn::parse_file(&text).unwrap_or_else(|e| panic!("{e}"));
    let choice = parsed
        .items
        .iter()
        .find_map(|i| match i {
            syn::Item::Enum(e) if e.ident == shared => Some(e),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no enum {shared}"));
    let distinct: BTreeSet<&str> = HOSTILE.iter().copied().collect();
    assert_eq!(
        choice.variants.len(),
        distinct.len() + 1,
        "one variant per value plus the catch-all"
    );
    // The values given to `string_enum!` are exactly the values.
    let mut found = BTreeSet::new();
    for item in &parsed.items {
        let syn::Item::Macro(m) = item else { continue };
        let mut tokens = m.mac.tokens.clone().into_iter();
        let is_choice =
            matches!(tokens.next(), Some(proc_macro2::TokenTree::Ident(i)) if i == shared);
        if !is_choice {
            continue;
        }
        if let Some(proc_macro2::TokenTree::Group(g)) = tokens.next() {
            for t in g.stream() {
                if let proc_macro2::TokenTree::Literal(l) = t {
                    if let Ok(syn::Lit::Str(s)) = syn::parse2::<syn::Lit>(l.into_token_stream()) {
                        found.insert(s.value());
                    }
                }
            }
        }
    }
    let expected: BTreeSet<String> = distinct.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(found, expected);
}

/// Type specs whose names fold to what generated code names (`String`, `Option`, `Self`, …),
/// with hostile docs, property names and a hostile `docs` URL: every type keeps a name of its
/// own, the methods refer to it by its path, and no text reaches the output raw.
#[test]
fn hostile_type_specs_cannot_shadow_or_inject() {
    let names = [
        "string", "option", "vec", "box", "result", "into", "self", "some", "none", "ok", "err",
        "default", "r_", "type_", "_x",
    ];
    let mut sources = Vec::new();
    let mut props = serde_json::Map::new();
    for (i, n) in names.iter().enumerate() {
        let mut inner = serde_json::Map::new();
        for h in HOSTILE {
            inner.insert(
                (*h).to_owned(),
                serde_json::json!({"type": "string", "description": h}),
            );
        }
        inner.insert("n".to_owned(), serde_json::json!({"type": "integer"}));
        let schema = serde_json::json!({
            "type": "object",
            "description": HOSTILE[i % HOSTILE.len()],
            "title": HOSTILE.join(" "),
            "properties": inner,
        });
        let name = format!("hostile.{n}");
        sources.push(SourceFile {
            path: format!("specs/types/{name}.md"),
            text: format!(
                "---\ntype: {name}\nscope: hostile\ndocs: \"https://x.y/\\\"]fn evil(){{}}\"\nschema: {schema}\n---\n*/ ```\n"
            ),
        });
        props.insert(
            (*n).to_owned(),
            serde_json::json!({"$ref": format!("types/{name}")}),
        );
    }
    // `_x` is no type name (a segment starts with a letter): left out of the types.
    sources.retain(|s| !s.path.ends_with("hostile._x.md"));
    props.remove("_x");
    let params = serde_json::json!({"type": "object", "properties": props});
    sources.push(SourceFile {
        path: "specs/hostile.check.md".to_owned(),
        text: format!("---\nmethod: hostile.check\nscope: hostile\nparams: {params}\n---\n"),
    });
    let g = codegen::generate(&sources, &Options::default()).unwrap_or_else(|d| panic!("{d}"));
    let types = g
        .files
        .get("types/hostile.rs")
        .unwrap_or_else(|| panic!("no types/hostile.rs in {:?}", g.files.keys()));
    let file = syn::parse_file(types).unwrap_or_else(|e| panic!("does not parse: {e}\n{types}"));
    let defined: BTreeSet<String> = file
        .items
        .iter()
        .filter_map(|i| match i {
            syn::Item::Struct(s) => Some(s.ident.to_string()),
            syn::Item::Type(t) => Some(t.ident.to_string()),
            syn::Item::Enum(e) => Some(e.ident.to_string()),
            _ => None,
        })
        .collect();
    for taken in codegen::ir::SHARED_RESERVED_TYPES {
        assert!(
            !defined.contains(*taken),
            "a type named {taken}: {defined:?}"
        );
    }
    for want in [
        "String2",
        "Option2",
        "Vec2",
        "Box2",
        "Result2",
        "Into2",
        "SelfValue",
    ] {
        assert!(defined.contains(want), "no {want} in {defined:?}");
    }
    // The method's fields name the types by path, through an alias named after the field.
    let method = g.files.get("hostile.rs").cloned().unwrap_or_default();
    syn::parse_file(&method).unwrap_or_else(|e| panic!("does not parse: {e}\n{method}"));
    for (alias, target) in [
        ("String", "String2"),
        ("SelfValue", "SelfValue"),
        ("Option", "Option2"),
    ] {
        let line = format!("pub type CheckRequest{alias} = super::types::hostile::{target};");
        assert!(method.contains(&line), "no `{line}` in\n{method}");
    }
    for (path, text) in &g.files {
        for bad in ['\u{202E}', '\u{2066}', '\u{2069}', '\0', '\u{7}', '\r'] {
            assert!(!text.contains(bad), "{path} holds raw {:?}", bad);
        }
        // The unsafe `docs` URL is never written (not even as text).
        assert!(!text.contains("fn evil(){}"), "{path}: {text}");
        syn::parse_file(text).unwrap_or_else(|e| panic!("{path} does not parse: {e}"));
        for line in text.lines() {
            let t = line.trim_start();
            if let Some(doc) = t.strip_prefix("///").or_else(|| t.strip_prefix("//!")) {
                let doc = strip_safe_code_spans(doc);
                for active in ["`", "~", "<", ">", "[", "]", "*"] {
                    assert!(
                        !unescaped(&doc, active),
                        "{path}: unescaped {active} in doc: {line}"
                    );
                }
            }
        }
    }
}
