//! `cargo xtask import` for event pages: a page that describes an event (`onCrmDealAdd`,
//! `ONAPPINSTALL`, `CATALOG.PRICE.ON.ADD`) becomes a fact-only event spec (see
//! [`crate::spec::EventSpec`]): the name, the scope, and the payload schema of `data`, from
//! the page's tables (the `data.X` rows of the "Что получает обработчик" table, `### Параметр
//! data` / `### Параметр FIELDS` tables) and, when they give nothing, from the JSON example's
//! `data`. Same rules as method import: deterministic text, `generated_by: import`,
//! `import_hash`.

use serde_json::{Value, json};

use crate::docs::{self, Param, Problem};
use crate::import::{Skip, content_hash, docs_url, flow, infer, yaml_str};

/// An event spec made from one doc page.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedEvent {
    /// The documented name.
    pub event: String,
    /// The whole spec file.
    pub text: String,
    /// Irregularities worth telling the user about (1-based page lines).
    pub problems: Vec<Problem>,
}

/// Whether `w` looks like an event name: `onCrmDealAdd` / `OnAppInstall` / `ONAPPINSTALL`
/// (an `on` prefix and a capital after it), or a dotted name in capitals with an `ON`
/// segment (`CATALOG.PRICE.ON.ADD`).
fn is_event_word(w: &str) -> bool {
    if !crate::spec::is_event_name(w) {
        return false;
    }
    if w.contains('.') {
        return !w.bytes().any(|b| b.is_ascii_lowercase()) && w.split('.').any(|s| s == "ON");
    }
    let b = w.as_bytes();
    b.len() > 3 && b[..2].eq_ignore_ascii_case(b"on") && b[2].is_ascii_uppercase()
}

/// The event a title names (its last event-like word).
fn title_event(title: &str) -> Option<String> {
    title
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .map(|w| w.trim_matches('.'))
        .rfind(|w| is_event_word(w))
        .map(str::to_owned)
}

/// Whether `a` and `b` differ by a letter or two dropped (`onCrmInvoceAdd` /
/// `onCrmInvoiceAdd`), not by words.
fn is_typo(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 2 {
        return false;
    }
    let mut it = long.chars();
    short.chars().all(|c| it.any(|d| d == c))
}

struct Block {
    /// 1-based first line.
    line: usize,
    /// The nearest heading above: (level, text).
    heading: Option<(usize, String)>,
    text: String,
}

/// Builds the event spec for the page at `rel_path`; `Skip::NotAMethod` for pages that are
/// not event pages.
pub fn import_event_page(rel_path: &str, text: &str) -> Result<ImportedEvent, Skip> {
    let lines: Vec<&str> = text.lines().collect();
    let Some((title_idx, title)) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| l.strip_prefix("# ").map(|t| (i, t.trim())))
    else {
        return Err(Skip::NotAMethod);
    };
    let receives = lines
        .iter()
        .position(|l| l.starts_with("## ") && l.to_lowercase().contains("что получает обработчик"));
    let in_events = rel_path.contains("/events/") || rel_path.starts_with("events/");
    // A page is an event page when its title names an event. Placement handlers (widgets)
    // also have a "what the handler receives" section but name no event: not events.
    let Some(mut event) = title_event(title) else {
        if in_events && rel_path.starts_with("widgets/") {
            return Err(Skip::Unusable(
                "a widget's JavaScript event (the title names no REST event); skipped".into(),
            ));
        }
        if receives.is_some() && in_events {
            return Err(Skip::Unusable(format!(
                "line {}: the title names no event",
                title_idx + 1
            )));
        }
        return Err(Skip::NotAMethod);
    };
    let mut problems = Vec::new();
    // The file name is the event's (`on-crm-invoice-add.md`); a title that spells it
    // otherwise (`onCrmInvoceAdd`) loses to it, and that is reported.
    let stem = rel_path
        .rsplit('/')
        .next()
        .unwrap_or(rel_path)
        .trim_end_matches(".md");
    let from_stem: String = stem
        .split('-')
        .enumerate()
        .map(|(i, w)| {
            let mut c = w.chars();
            match (i, c.next()) {
                (0, Some(f)) => f.to_string() + c.as_str(),
                (_, Some(f)) => f.to_ascii_uppercase().to_string() + c.as_str(),
                _ => String::new(),
            }
        })
        .collect();
    if !event.contains('.')
        && !from_stem.eq_ignore_ascii_case(&event)
        && stem.starts_with("on-")
        && is_event_word(&from_stem)
        && is_typo(&event, &from_stem)
    {
        problems.push(Problem {
            line: title_idx + 1,
            message: format!(
                "the title names `{event}`, the file `{from_stem}`; the file's name is used"
            ),
        });
        event = from_stem;
    }
    let page = docs::read_page(text);
    let scope = page
        .scopes
        .iter()
        .find(|s| *s != "placement")
        .or(page.scopes.first())
        .cloned();
    // No `Scope:` line: `events/…` pages are basic (events/index.md), and the outdated CRM
    // event pages (`crm/outdated/…`) are crm; reported either way.
    let fallback = match rel_path.split('/').next() {
        Some("events") => Some("basic"),
        Some("crm") => Some("crm"),
        _ => None,
    };
    let scope = match (scope, fallback) {
        (None, Some(f)) if page.scope_line == 0 => {
            problems.push(Problem {
                line: title_idx + 1,
                message: format!("no `Scope:` line; scope `{f}` from the page's section"),
            });
            Some(f.to_owned())
        }
        (s, _) => s,
    };
    let Some(scope) = scope else {
        return Err(Skip::Unusable(if page.scope_line == 0 {
            "no `Scope:` line".to_owned()
        } else {
            format!(
                "line {}: the `Scope:` line names no usable scope",
                page.scope_line
            )
        }));
    };

    // Tables and code blocks with the heading above each.
    let mut tables = Vec::new();
    let mut example: Option<(usize, Value)> = None;
    let mut heading: Option<(usize, String)> = None;
    let mut i = 0;
    let start = receives.unwrap_or(0);
    let end = lines
        .iter()
        .enumerate()
        .skip(start + 1)
        .find(|(_, l)| l.starts_with("## ") && receives.is_some())
        .map(|(i, _)| i)
        .unwrap_or(lines.len());
    // `### Параметр X` sections after the receiving section belong to it too (until a level-2
    // heading that is not about parameters).
    let mut until = end;
    for (j, l) in lines.iter().enumerate().skip(end) {
        if l.starts_with("## ") && !l.to_lowercase().contains("параметр") {
            until = j;
            break;
        }
        until = j + 1;
    }
    while i < until {
        let l = lines[i];
        if i >= start {
            if let Some(h) = l.strip_prefix("### ").or_else(|| l.strip_prefix("## ")) {
                let level = if l.starts_with("### ") { 3 } else { 2 };
                heading = Some((level, h.trim().to_owned()));
            }
        }
        let trimmed = l.trim_start();
        if trimmed.starts_with("```") {
            let lang = trimmed.trim_start_matches('`').trim().to_ascii_lowercase();
            let from = i;
            i += 1;
            let mut body = Vec::new();
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                body.push(lines[i]);
                i += 1;
            }
            if i >= start && example.is_none() && (lang == "json" || lang.is_empty()) {
                match docs::parse_json_loose(&body.join("\n")) {
                    Ok(v) if v.get("data").is_some() || v.get("event").is_some() => {
                        example = Some((from + 1, v));
                    }
                    Ok(_) => {}
                    Err(e) => problems.push(Problem {
                        line: from + 1,
                        message: format!("the example is not JSON: {e}"),
                    }),
                }
            }
        } else if trimmed.starts_with("#|") && i >= start {
            let from = i;
            let mut body = Vec::new();
            while i < lines.len() {
                body.push(lines[i]);
                if lines[i].trim_end().ends_with("|#") && i > from {
                    break;
                }
                i += 1;
            }
            tables.push(Block {
                line: from + 1,
                heading: heading.clone(),
                text: body.join("\n"),
            });
        }
        i += 1;
    }

    // Each table read as a parameter table.
    let read = |b: &Block| -> Vec<Param> {
        docs::read_page(&format!("# t\n\n## Параметры метода\n\n{}\n", b.text)).params
    };
    let named = |name: &str| -> Option<&Block> {
        tables.iter().find(|b| {
            b.heading.as_ref().is_some_and(|(level, h)| {
                *level == 3 && {
                    let h = h.split('{').next().unwrap_or("").trim();
                    let mut words = h.split_whitespace();
                    words
                        .next()
                        .is_some_and(|w| w.to_lowercase().starts_with("параметр"))
                        && words
                            .next()
                            .is_some_and(|w| w.trim_matches('`').eq_ignore_ascii_case(name))
                }
            })
        })
    };
    let main = tables
        .iter()
        .find(|b| b.heading.as_ref().is_none_or(|(level, _)| *level == 2));
    let mut data_params: Vec<Param> = match named("data") {
        Some(b) => read(b),
        None => main
            .map(|b| {
                read(b)
                    .into_iter()
                    .filter_map(|mut p| {
                        let rest = p.name.strip_prefix("data.")?;
                        if rest.contains('.') {
                            return None;
                        }
                        p.name = rest.to_owned();
                        Some(p)
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    data_params.retain(|p| !p.name.is_empty());
    let example_data = example.as_ref().and_then(|(_, v)| v.get("data"));
    let payload = if data_params.is_empty() {
        match example_data {
            Some(d) => infer(d, 0),
            None => {
                problems.push(Problem {
                    line: start + 1,
                    message: "no payload table and no example `data`: payload is any JSON".into(),
                });
                json!({})
            }
        }
    } else {
        let mut schema = docs::object_schema(&data_params, true);
        // `FIELDS` and the like: their own `### Параметр X` table.
        if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            for (name, prop) in props.iter_mut() {
                let is_object = prop.get("type") == Some(&json!("object"))
                    || prop.get("x-bitrix-type") == Some(&json!("object"));
                if is_object && prop.get("properties").is_none() {
                    if let Some(b) = named(name) {
                        let sub = read(b);
                        if sub.is_empty() {
                            problems.push(Problem {
                                line: b.line,
                                message: format!("the table of `{name}` has no readable rows"),
                            });
                        } else {
                            *prop = docs::object_schema(&sub, true);
                        }
                    } else if let Some(ex) = example_data.and_then(|d| d.get(name)) {
                        if ex.is_object() {
                            *prop = infer(ex, 1);
                        }
                    }
                }
            }
        }
        schema
    };
    if example.is_none() && receives.is_some() {
        problems.push(Problem {
            line: start + 1,
            message: "the section has no JSON example".into(),
        });
    }
    let mut out = String::from("---\n");
    out.push_str(&format!("event: {event}\n"));
    out.push_str(&format!("scope: {scope}\n"));
    out.push_str(&format!("deprecated: {}\n", page.deprecated));
    out.push_str(&format!(
        "docs: {}\n",
        yaml_str(&docs_url(&format!("api-reference/{rel_path}")))
    ));
    out.push_str(&format!("payload: {}\n", flow(&payload)));
    out.push_str("generated_by: import\n");
    let hash = content_hash(&format!("{out}---\n"));
    out.push_str(&format!("import_hash: \"{hash:016x}\"\n"));
    out.push_str("---\n");
    Ok(ImportedEvent {
        event,
        text: out,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# Событие при добавлении сделки onCrmDealAdd\n\n> Scope: [`crm`](x)\n\n## Что получает обработчик\n\n```json\n{\"event\": \"ONCRMDEALADD\", \"data\": {\"FIELDS\": {\"ID\": \"6641\"}}, \"ts\": \"1\"}\n```\n\n#|\n|| **Параметр**\n`тип` | **Описание** ||\n|| **event**\n[`string`](x) | код ||\n|| **data**\n[`object`](x) | данные ||\n|| **data.FIELDS**\n[`object`](x) | поля ||\n|#\n\n### Параметр FIELDS {#fields}\n\n#|\n|| **Параметр**\n`тип` | **Описание** ||\n|| **ID**\n[`integer`](x) | id ||\n|#\n\n### Параметр auth {#auth}\n\n## Продолжите изучение\n";

    #[test]
    fn an_event_page_becomes_an_event_spec() {
        let e = import_event_page("crm/deals/events/on-crm-deal-add.md", PAGE).unwrap();
        assert_eq!(e.event, "onCrmDealAdd");
        assert!(
            e.text.contains("event: onCrmDealAdd\nscope: crm\n"),
            "{}",
            e.text
        );
        let mut d = crate::Diagnostics::default();
        let spec = crate::spec::parse_event(
            &crate::SourceFile {
                path: "x.md".into(),
                text: e.text.clone(),
            },
            &mut d,
        )
        .expect("the imported spec parses");
        assert!(d.0.is_empty(), "{:?}", d.0);
        assert_eq!(spec.scope, "crm");
        assert!(e.text.contains("\"FIELDS\""), "{}", e.text);
        assert!(e.text.contains("\"integer\""), "{}", e.text);
        assert!(crate::import::untouched(&e.text));
        // Deterministic.
        assert_eq!(
            e,
            import_event_page("crm/deals/events/on-crm-deal-add.md", PAGE).unwrap()
        );
    }

    #[test]
    fn names_and_non_event_pages() {
        assert!(is_event_word("onCrmDealAdd") && is_event_word("ONAPPINSTALL"));
        assert!(is_event_word("CATALOG.PRICE.ON.ADD") && is_event_word("OnAppInstall"));
        assert!(
            !is_event_word("one") && !is_event_word("crm.deal.add") && !is_event_word("Online")
        );
        assert_eq!(
            import_event_page("crm/deal.md", "# Метод crm.deal.add\n"),
            Err(Skip::NotAMethod)
        );
        // An event page without a Scope line is reported, not skipped silently.
        assert!(matches!(
            import_event_page(
                "x/events/on-x.md",
                "# Событие onXAdd\n## Что получает обработчик\n"
            ),
            Err(Skip::Unusable(_))
        ));
        // Only the example: the payload is its shape.
        let e = import_event_page(
            "x/events/on-x.md",
            "# Событие onXAdd\n> Scope: [`crm`](x)\n## Что получает обработчик\n```json\n{\"data\": {\"ID\": 1}}\n```\n",
        )
        .unwrap();
        assert!(e.text.contains("\"ID\""), "{}", e.text);
        // A misspelt title loses to the file name.
        let e = import_event_page(
            "crm/x/on-crm-invoice-add.md",
            "# Событие onCrmInvoceAdd\n> Scope: [`crm`](x)\n",
        )
        .unwrap();
        assert_eq!(e.event, "onCrmInvoiceAdd");
        assert!(
            e.problems
                .iter()
                .any(|p| p.message.contains("onCrmInvoceAdd"))
        );
        // A placement handler page names no event: not an event page.
        assert_eq!(
            import_event_page(
                "widgets/crm/detail-tab.md",
                "# Вкладка\n## Что получает обработчик\n"
            ),
            Err(Skip::NotAMethod)
        );
    }

    #[test]
    fn every_prefix_of_a_page_is_read_without_panic() {
        for (i, _) in PAGE.char_indices() {
            let _ = import_event_page("x/events/on-x.md", &PAGE[..i]);
        }
    }
}
