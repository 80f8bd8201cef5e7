//! `batch`: up to 50 commands run in order, `halt`, `$result[...]` references substituted
//! into later commands, per-command results, errors, totals and times.

use serde_json::{Map, Value, json};

use crate::limits::Operating;
use crate::{FakeError, Outcome, Portal, loose_i64, php, unix_now};

impl Portal {
    pub(crate) fn batch(&self, params: &Value) -> Result<(Outcome, Option<Operating>), FakeError> {
        let halt = match params.get("halt") {
            Some(Value::Bool(b)) => *b,
            Some(v) => loose_i64(v).unwrap_or(0) != 0 || v.as_str() == Some("true"),
            None => false,
        };
        let cmds: Vec<(String, String)> = match params.get("cmd") {
            Some(Value::Object(m)) => m
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned()))
                .collect(),
            Some(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v.as_str().unwrap_or("").to_owned()))
                .collect(),
            _ => {
                return Err(FakeError::new(
                    400,
                    "ERROR_ARGUMENT",
                    "Required parameter 'cmd' is missing",
                ));
            }
        };
        if cmds.len() > 50 {
            return Err(FakeError::new(
                400,
                "ERROR_BATCH_LENGTH_EXCEEDED",
                "Max batch length exceeded",
            ));
        }
        let mut results = Map::new();
        let mut errors = Map::new();
        let mut totals = Map::new();
        let mut nexts = Map::new();
        let mut times = Map::new();
        for (id, cmd) in cmds {
            let (method, query) = cmd.split_once('?').unwrap_or((&cmd, ""));
            let method = method
                .trim()
                .strip_suffix(".json")
                .unwrap_or(method.trim())
                .to_ascii_lowercase();
            let query = php::substitute(query, &results);
            let inner = Value::Object(php::parse_query(&query));
            let outcome = if method == "batch" {
                Err(FakeError::new(
                    405,
                    "ERROR_BATCH_METHOD_NOT_ALLOWED",
                    "Method is not allowed for batch usage",
                ))
            } else {
                self.call(&method, &inner)
            };
            match outcome {
                Ok((o, _)) => {
                    results.insert(id.clone(), o.result);
                    if let Some(t) = o.total {
                        totals.insert(id.clone(), t.into());
                    }
                    if let Some(n) = o.next {
                        nexts.insert(id.clone(), n.into());
                    }
                    let now = unix_now();
                    times.insert(
                        id,
                        json!({"start": now, "finish": now, "duration": 0.0, "processing": self.config.operating_cost}),
                    );
                }
                Err(e) => {
                    errors.insert(
                        id,
                        json!({"error": e.code, "error_description": e.description}),
                    );
                    if halt {
                        break;
                    }
                }
            }
        }
        let php_map = |m: Map<String, Value>| {
            if m.is_empty() {
                Value::Array(Vec::new())
            } else {
                Value::Object(m)
            }
        };
        Ok((
            Outcome {
                result: json!({
                    "result": php_map(results),
                    "result_error": php_map(errors),
                    "result_total": php_map(totals),
                    "result_next": php_map(nexts),
                    "result_time": php_map(times),
                }),
                total: None,
                next: None,
            },
            None,
        ))
    }
}
