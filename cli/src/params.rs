//! Parameters from the command line: `key=value` (a string), `key:=json` (a JSON value),
//! `a.b=value` (a member of an object), merged over a JSON file; and export filters.

use serde_json::{Map, Value};

use crate::usage;

/// The parameters of a call: the JSON object of `json_file` (`-`: stdin), if any, with each
/// `pairs` entry set over it.
pub fn build(json_file: Option<&str>, pairs: &[String]) -> anyhow::Result<Value> {
    let mut params = match json_file {
        None => Value::Object(Map::new()),
        Some(path) => read_json(path)?,
    };
    if !params.is_object() {
        return Err(usage(format!(
            "{}: the parameters must be a JSON object",
            json_file.unwrap_or("--json")
        )));
    }
    for pair in pairs {
        let (key, value) = pair_value(pair)?;
        set(&mut params, &key, value)?;
    }
    Ok(params)
}

fn read_json(path: &str) -> anyhow::Result<Value> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| usage(format!("cannot read the parameters from stdin: {e}")))?
    } else {
        std::fs::read_to_string(path).map_err(|e| usage(format!("cannot read {path}: {e}")))?
    };
    serde_json::from_str(&text)
        .map_err(|e| usage(format!("{path}:{}:{}: not JSON: {e}", e.line(), e.column())))
}

/// `key=value` or `key:=json`.
fn pair_value(pair: &str) -> anyhow::Result<(String, Value)> {
    let Some(eq) = pair.find('=') else {
        return Err(usage(format!(
            "parameter `{pair}` has no `=`: write key=value, or key:=json for a JSON value"
        )));
    };
    let (key, raw) = (&pair[..eq], &pair[eq + 1..]);
    if let Some(key) = key.strip_suffix(':') {
        let value = serde_json::from_str(raw).map_err(|e| {
            usage(format!(
                "parameter `{key}`: the value after `:=` is not JSON ({e})"
            ))
        })?;
        Ok((key.to_owned(), value))
    } else {
        Ok((key.to_owned(), Value::String(raw.to_owned())))
    }
}

/// Sets `a.b.c` in `params`, making the objects on the way.
fn set(params: &mut Value, key: &str, value: Value) -> anyhow::Result<()> {
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(usage(format!("parameter name `{key}` has an empty part")));
    }
    let mut here = params;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let Value::Object(map) = here else {
            return Err(usage(format!(
                "parameter `{key}`: `{}` is already set to a value that is not an object",
                parts[..i].join(".")
            )));
        };
        if i + 1 == parts.len() {
            map.insert((*part).to_owned(), value);
            return Ok(());
        }
        here = map
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
}

/// An export filter, `[operator]FIELD=value`: `>=DATE_MODIFY=2025-01-01`, `STAGE_ID=WON`,
/// `!CLOSED=Y`. Returns the filter key (operator and field, as the portal takes them) and
/// the value.
pub fn filter(text: &str) -> anyhow::Result<(String, Value)> {
    let ops = text
        .bytes()
        .take_while(|b| matches!(b, b'>' | b'<' | b'=' | b'!' | b'%' | b'@' | b'*'))
        .count();
    let (op, rest) = text.split_at(ops);
    let Some((field, value)) = rest.split_once('=') else {
        return Err(usage(format!(
            "filter `{text}`: write [operator]FIELD=value, like '>=DATE_MODIFY=2025-01-01'"
        )));
    };
    if field.is_empty() {
        return Err(usage(format!("filter `{text}`: no field name")));
    }
    Ok((format!("{op}{field}"), Value::String(value.to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pairs_nest_and_take_json() {
        let p = build(
            None,
            &[
                "id=42".into(),
                "fields.TITLE=a=b".into(),
                "fields.OPPORTUNITY:=10.5".into(),
                "select:=[\"ID\"]".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            p,
            json!({"id": "42", "fields": {"TITLE": "a=b", "OPPORTUNITY": 10.5}, "select": ["ID"]})
        );
    }

    #[test]
    fn bad_pairs_are_usage_errors_naming_the_parameter() {
        for (bad, says) in [
            ("id", "`id` has no `=`"),
            ("id:=4x", "`id`"),
            ("a..b=1", "`a..b`"),
        ] {
            let e = build(None, &[bad.into()]).unwrap_err();
            assert!(e.downcast_ref::<crate::Usage>().is_some());
            assert!(e.to_string().contains(says), "{e}");
        }
        let e = build(None, &["a=1".into(), "a.b=2".into()]).unwrap_err();
        assert!(e.to_string().contains("`a` is already set"), "{e}");
    }

    #[test]
    fn filters_keep_their_operator() {
        assert_eq!(
            filter(">=DATE_MODIFY=2025-01-01").unwrap(),
            (">=DATE_MODIFY".into(), json!("2025-01-01"))
        );
        assert_eq!(
            filter("STAGE_ID=WON").unwrap(),
            ("STAGE_ID".into(), json!("WON"))
        );
        assert_eq!(filter("!CLOSED=Y").unwrap(), ("!CLOSED".into(), json!("Y")));
        assert!(filter(">=DATE_MODIFY").is_err());
        assert!(filter(">=").is_err());
    }
}
