//! Seeded lists: rows sorted by ID, pages of 50 from `start` with `next` and `total`,
//! `start=-1` without a count, `order` by ID, and `>ID`/`>=ID`/`<ID`/`<=ID`/`ID` filters found
//! by binary search; conditions on other fields (`>=DATE_MODIFY`, `!STAGE_ID`) checked row by
//! row.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::{FakeError, FakePortal, Outcome, loose_i64};

impl FakePortal {
    /// Registers (or replaces) a list method over `items`, paged by `start`. Items must have
    /// an integer `ID` (a number or a numeric string); they are served in ID order.
    pub fn seed_list(&self, method: &str, items: Vec<Value>) {
        let mut rows: Vec<(i64, Value)> = items
            .into_iter()
            .filter_map(|v| Some((loose_i64(v.get("ID")?)?, v)))
            .collect();
        rows.sort_by_key(|r| r.0);
        let mut s = self.portal.lock();
        let def = s.methods.entry(method.to_ascii_lowercase()).or_default();
        def.name = method.to_owned();
        def.list = Some(Arc::new(rows));
    }
}

/// `n` deals as a portal lists them: IDs 1..=n, numbers as strings, `Y`/`N` flags.
pub fn deals(n: usize) -> Vec<Value> {
    (1..=n)
        .map(|i| {
            json!({
                "ID": i.to_string(),
                "TITLE": format!("Deal #{i}"),
                "OPPORTUNITY": format!("{}.00", i * 10),
                "CURRENCY_ID": "EUR",
                "CLOSED": if i % 3 == 0 { "Y" } else { "N" },
                "CATEGORY_ID": (i % 4).to_string(),
            })
        })
        .collect()
}

/// Whether `row[field] <op> value`: numerically when both sides are numbers (or numeric
/// strings), else as text, which orders ISO 8601 dates written the same way; `!` is "not
/// equal". A row without the field matches only `!`.
fn field_matches(row: &Value, field: &str, op: &str, value: &Value) -> bool {
    let Some(have) = row
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(field)))
        .map(|(_, v)| v)
    else {
        return op == "!";
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let number = |v: &Value| text(v).trim().parse::<f64>().ok();
    let ord = match (number(have), number(value)) {
        (Some(a), Some(b)) => a.partial_cmp(&b),
        _ => Some(text(have).cmp(&text(value))),
    };
    let Some(ord) = ord else { return false };
    use std::cmp::Ordering::*;
    match op {
        ">=" => ord != Less,
        "<=" => ord != Greater,
        ">" => ord == Greater,
        "<" => ord == Less,
        "!" => ord != Equal,
        _ => ord == Equal,
    }
}

/// One page of a seeded list.
pub(crate) fn list(rows: &[(i64, Value)], params: &Value) -> Result<Outcome, FakeError> {
    let get = |k: &str| {
        params.as_object().and_then(|m| {
            m.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v)
        })
    };
    let start = match get("start") {
        None | Some(Value::Null) => 0,
        Some(v) => loose_i64(v).ok_or_else(|| {
            FakeError::new(
                400,
                "ERROR_ARGUMENT",
                "Parameter 'start' must be an integer",
            )
        })?,
    };
    let mut conditions: Vec<(&str, i64)> = Vec::new();
    // Conditions on other fields: checked row by row.
    let mut by_field: Vec<(&str, &str, &Value)> = Vec::new();
    if let Some(Value::Object(filter)) = get("filter") {
        for (k, v) in filter {
            let (op, field) = if let Some(f) = k.strip_prefix(">=") {
                (">=", f)
            } else if let Some(f) = k.strip_prefix("<=") {
                ("<=", f)
            } else if let Some(f) = k.strip_prefix('>') {
                (">", f)
            } else if let Some(f) = k.strip_prefix('<') {
                ("<", f)
            } else if let Some(f) = k.strip_prefix('=') {
                ("=", f)
            } else {
                ("=", k.as_str())
            };
            // An empty value (an unresolved batch reference) leaves the condition out.
            if v.as_str() == Some("") {
                continue;
            }
            if !field.eq_ignore_ascii_case("ID") {
                let op = if k.starts_with('!') { "!" } else { op };
                let field = field.trim_start_matches('!');
                by_field.push((op, field, v));
                continue;
            }
            let n = loose_i64(v).ok_or_else(|| {
                FakeError::new(400, "ERROR_ARGUMENT", "The ID filter must be an integer")
            })?;
            conditions.push((op, n));
        }
    }
    let desc = matches!(get("order"), Some(Value::Object(o))
        if o.iter().any(|(k, v)| k.eq_ignore_ascii_case("ID")
            && v.as_str().is_some_and(|d| d.eq_ignore_ascii_case("DESC"))));
    const PAGE: usize = 50;
    // Rows are sorted by ID: every condition narrows a slice.
    let mut lo = 0;
    let mut hi = rows.len();
    for (op, n) in &conditions {
        let n = *n;
        let (l, h) = match *op {
            ">=" => (rows.partition_point(|r| r.0 < n), rows.len()),
            ">" => (rows.partition_point(|r| r.0 <= n), rows.len()),
            "<=" => (0, rows.partition_point(|r| r.0 <= n)),
            "<" => (0, rows.partition_point(|r| r.0 < n)),
            _ => (
                rows.partition_point(|r| r.0 < n),
                rows.partition_point(|r| r.0 <= n),
            ),
        };
        lo = lo.max(l);
        hi = hi.min(h);
    }
    let by_id = if lo < hi { &rows[lo..hi] } else { &rows[..0] };
    let kept: Vec<(i64, Value)>;
    let slice = if by_field.is_empty() {
        by_id
    } else {
        kept = by_id
            .iter()
            .filter(|r| {
                by_field
                    .iter()
                    .all(|(op, f, v)| field_matches(&r.1, f, op, v))
            })
            .cloned()
            .collect();
        &kept[..]
    };
    let total = slice.len();
    // The rows from offset `skip` on, in the requested order (no scan of the skipped rows).
    let ordered = |skip: usize| -> Vec<Value> {
        let n = total.saturating_sub(skip).min(PAGE);
        if desc {
            let end = total - skip.min(total);
            slice[end - n..end]
                .iter()
                .rev()
                .map(|r| r.1.clone())
                .collect()
        } else {
            slice[skip.min(total)..skip.min(total) + n]
                .iter()
                .map(|r| r.1.clone())
                .collect()
        }
    };
    if start < 0 {
        return Ok(Outcome {
            result: Value::Array(ordered(0)),
            total: Some(0),
            next: None,
        });
    }
    let start = start as usize;
    let page = ordered(start);
    let next = (start + PAGE < total).then_some(start + PAGE);
    Ok(Outcome {
        result: Value::Array(page),
        total: Some(total),
        next,
    })
}
