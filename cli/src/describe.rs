//! `b24 methods` and `b24 describe`: the method table, no portal needed.

use bitrix24::api::registry::{METHODS, find, params_schema, result_schema};
use bitrix24::runtime::{ApiVersion, FieldInfo, MethodInfo, Pagination, UNSTATED_SPEC_RATE};
use clap::Args;
use serde_json::{Value, json};

use crate::{Output, usage};

#[derive(Debug, Args)]
pub struct MethodsArgs {
    /// Only methods of this permission scope (crm, task, user, …).
    #[arg(long)]
    scope: Option<String>,
    /// Only methods whose name contains this text (case ignored).
    #[arg(long)]
    search: Option<String>,
    /// Only list methods (those that page with `start`).
    #[arg(long)]
    paginated: bool,
    /// Leave out deprecated methods.
    #[arg(long)]
    no_deprecated: bool,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The method's wire name or alias, e.g. crm.deal.list.
    method: String,
    /// Print the JSON Schemas (draft 2020-12) of its parameters and its `result` instead:
    /// `{"method", "params", "result"}`, the shapes the SDK's types write.
    #[arg(long)]
    schema: bool,
}

fn pagination(p: Pagination) -> &'static str {
    match p {
        Pagination::None => "none",
        Pagination::Start => "start",
    }
}

fn api(a: ApiVersion) -> &'static str {
    match a {
        ApiVersion::Classic => "classic",
        ApiVersion::V3 => "v3",
    }
}

pub fn methods(a: &MethodsArgs, out: Output) -> anyhow::Result<()> {
    let search = a.search.as_deref().map(str::to_ascii_lowercase);
    let chosen: Vec<&MethodInfo> = METHODS
        .iter()
        .filter(|m| {
            a.scope
                .as_deref()
                .is_none_or(|s| m.scope.eq_ignore_ascii_case(s))
        })
        .filter(|m| {
            search.as_deref().is_none_or(|s| {
                m.name.to_ascii_lowercase().contains(s)
                    || m.aliases.iter().any(|n| n.to_ascii_lowercase().contains(s))
            })
        })
        .filter(|m| !a.paginated || m.pagination == Pagination::Start)
        .filter(|m| !a.no_deprecated || !m.deprecated)
        .collect();
    if let Some(scope) = &a.scope {
        if chosen.is_empty() && !METHODS.iter().any(|m| m.scope.eq_ignore_ascii_case(scope)) {
            return Err(usage(format!("no method has the scope `{scope}`")));
        }
    }
    if out.pretty {
        let width = chosen.iter().map(|m| m.name.len()).max().unwrap_or(0);
        for m in &chosen {
            let mut flags = Vec::new();
            if m.pagination == Pagination::Start {
                flags.push("list");
            }
            if m.deprecated {
                flags.push("deprecated");
            }
            if m.api == ApiVersion::V3 {
                flags.push("REST 3.0");
            }
            if !m.enabled {
                flags.push("not compiled in");
            }
            println!("{:width$}  {:12}  {}", m.name, m.scope, flags.join(", "));
        }
        eprintln!("{} method(s)", chosen.len());
        return Ok(());
    }
    let rows: Vec<Value> = chosen
        .iter()
        .map(|m| {
            json!({
                "name": m.name,
                "scope": m.scope,
                "deprecated": m.deprecated,
                "pagination": pagination(m.pagination),
                "api": api(m.api),
                "callable": m.enabled,
            })
        })
        .collect();
    out.json(&Value::Array(rows))
}

/// The method by name or alias; an unknown name is a usage error with near names.
pub fn lookup(name: &str) -> anyhow::Result<&'static MethodInfo> {
    if let Some(m) = find(name) {
        return Ok(m);
    }
    // The nearest names by edit distance, a few at most, and only plausible ones.
    let lower = name.to_ascii_lowercase();
    let mut scored: Vec<(usize, &str)> = METHODS
        .iter()
        .map(|m| (strsim::levenshtein(&lower, m.name), m.name))
        .filter(|(d, _)| *d <= 3.max(lower.len() / 5))
        .collect();
    scored.sort();
    scored.dedup_by_key(|s| s.1);
    let near: Vec<&str> = scored.iter().take(3).map(|s| s.1).collect();
    let hint = if near.is_empty() {
        "; `b24 methods --search <text>` lists the known ones".to_owned()
    } else {
        format!("; did you mean {}?", near.join(", "))
    };
    Err(usage(format!("unknown method `{name}`{hint}")))
}

/// Required parameters first, then the rest, each group in spec order.
fn params_in_order(m: &MethodInfo) -> Vec<&FieldInfo> {
    let mut ps: Vec<&FieldInfo> = m.params.iter().collect();
    ps.sort_by_key(|p| !p.required);
    ps
}

fn field_json(f: &FieldInfo) -> Value {
    json!({ "name": f.name, "type": f.ty, "required": f.required })
}

pub fn describe(a: &DescribeArgs, out: Output) -> anyhow::Result<()> {
    let m = lookup(&a.method)?;
    if a.schema {
        return schema(m, out);
    }
    let rate = (m.rate_limit_per_sec != UNSTATED_SPEC_RATE).then_some(m.rate_limit_per_sec);
    if !out.pretty {
        let value = json!({
            "name": m.name,
            "aliases": m.aliases,
            "scope": m.scope,
            "api": api(m.api),
            "deprecated": m.deprecated,
            "pagination": pagination(m.pagination),
            "rate_limit_per_sec": rate,
            "params": params_in_order(m).into_iter().map(field_json).collect::<Vec<_>>(),
            "result": {
                "type": m.result,
                "fields": m.result_fields.iter().map(field_json).collect::<Vec<_>>(),
                "items_key": m.items_key,
                "id_key": (m.pagination == Pagination::Start).then_some(m.id_key),
            },
            "errors": m.errors,
            "docs": m.docs,
            "callable": m.enabled,
        });
        return out.json(&value);
    }
    let mut text = String::new();
    let mut line = |s: String| {
        text.push_str(&s);
        text.push('\n');
    };
    line(format!(
        "{}  (scope {}, {} API)",
        m.name,
        m.scope,
        api(m.api)
    ));
    if !m.aliases.is_empty() {
        line(format!("  also called: {}", m.aliases.join(", ")));
    }
    if m.deprecated {
        line("  deprecated: avoid in new code".into());
    }
    match m.pagination {
        Pagination::Start => line(format!(
            "  a list: pages of 50 by `start`; rows keyed by `{}`{}",
            m.id_key,
            m.items_key
                .map(|k| format!(", under result.{k}"))
                .unwrap_or_default()
        )),
        Pagination::None => {}
    }
    match rate {
        Some(r) => line(format!(
            "  rate: at most {r} call(s) per second, beside the portal's limit"
        )),
        None => line("  rate: the portal's limit only".into()),
    }
    if !m.enabled {
        line("  not compiled into this b24: it can be looked up, not called".into());
    }
    line(String::new());
    line("Parameters:".into());
    if m.params.is_empty() {
        line("  (none declared)".into());
    }
    let width = m.params.iter().map(|p| p.name.len()).max().unwrap_or(0);
    for p in params_in_order(m) {
        let req = if p.required { "required" } else { "optional" };
        line(format!("  {:width$}  {req}  {}", p.name, p.ty));
    }
    line(String::new());
    line(format!("Result: {}", m.result));
    let width = m
        .result_fields
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0);
    for f in m.result_fields {
        line(format!("  {:width$}  {}", f.name, f.ty));
    }
    line(String::new());
    if m.errors.is_empty() {
        line("Documented errors: none listed".into());
    } else {
        line(format!("Documented errors: {}", m.errors.join(", ")));
    }
    if let Some(url) = m.docs {
        line(format!("Documentation: {url}"));
    }
    print!("{text}");
    Ok(())
}

/// `describe --schema`: the method's two schemas as one JSON document.
fn schema(m: &MethodInfo, out: Output) -> anyhow::Result<()> {
    let (Some(params), Some(result)) = (params_schema(m.name), result_schema(m.name)) else {
        return Err(usage(format!(
            "`{}` is not compiled into this b24 (scope `{}`): its schema is not available",
            m.name, m.scope
        )));
    };
    out.json(&json!({ "method": m.name, "params": params, "result": result }))
}
