//! `b24 call`: one method, its parameters checked against the generated request type first.

use anyhow::Context;
use bitrix24::runtime::{ApiVersion, Error, Part};
use clap::Args;
use serde_json::{Value, json};

use crate::connect::Connection;
use crate::{Output, describe, params, usage};

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The method's wire name or alias, e.g. crm.deal.get.
    method: String,
    /// Parameters: key=value (a string), key:=json (a JSON value), a.b=value (a member).
    #[arg(value_name = "PARAM")]
    params: Vec<String>,
    /// Read the parameters from a JSON file (`-`: stdin); PARAMs are set over it.
    #[arg(long, value_name = "FILE")]
    json: Option<String>,
    /// Print the result as the method's response type reads it (loose wire values in their
    /// declared types; fails when the answer does not fit the type).
    #[arg(long)]
    typed: bool,
    /// Print the whole envelope: {"result", "next", "total"}.
    #[arg(long, conflicts_with = "typed")]
    envelope: bool,
    /// Send the parameters unchecked (a method or parameter the specs do not know).
    #[arg(long)]
    no_check: bool,
}

/// The parameters checked against the method's request type: a usage error naming the
/// parameter (its JSON path) when they do not fit.
pub fn check(method: &str, params: &Value) -> anyhow::Result<()> {
    match bitrix24::api::registry::validate_params(method, params) {
        Ok(_) => Ok(()),
        Err(Error::Decode(d)) if d.part == Part::Params => {
            let path = d.path.strip_prefix("params").unwrap_or(&d.path);
            let path = path.strip_prefix('.').unwrap_or(path);
            let missing = d
                .message
                .strip_prefix("missing field `")
                .and_then(|m| m.strip_suffix('`'));
            let what = match missing {
                Some(field) if path.is_empty() => format!("parameter `{field}` is required"),
                Some(field) => format!("parameter `{path}.{field}` is required"),
                None => {
                    let excerpt = if d.excerpt.is_empty() {
                        String::new()
                    } else {
                        format!(" (got {})", d.excerpt)
                    };
                    format!("parameter `{path}`: {}{excerpt}", d.message)
                }
            };
            Err(usage(format!(
                "{method}: {what}; nothing was sent (`b24 describe {method}` shows the \
                 parameters, --no-check sends them anyway)"
            )))
        }
        Err(Error::UnknownMethod(_)) => Err(usage(format!(
            "{method}: its scope is not compiled into this b24, so its parameters cannot be \
             checked; build with the scope's feature, or pass --no-check"
        ))),
        Err(e) => Err(e.into()),
    }
}

pub async fn run(a: &CallArgs, conn: &Connection, out: Output) -> anyhow::Result<()> {
    let params = params::build(a.json.as_deref(), &a.params)?;
    let (name, api) = if a.no_check {
        match bitrix24::api::registry::find(&a.method) {
            Some(m) => (m.name, m.api),
            None => (a.method.as_str(), ApiVersion::Classic),
        }
    } else {
        let m = describe::lookup(&a.method)?;
        check(m.name, &params)?;
        (m.name, m.api)
    };
    let client = conn.client()?;
    let answer = match api {
        ApiVersion::Classic => client.call_raw(name, &params).await,
        ApiVersion::V3 => client.call_v3_raw(name, &params).await,
    }?;
    let value = if a.typed {
        bitrix24::api::registry::decode_result(name, &answer.result)
            .with_context(|| format!("{name}: the answer does not fit its response type"))?
    } else if a.envelope {
        json!({ "result": answer.result, "next": answer.next, "total": answer.total })
    } else {
        answer.result
    };
    out.json(&value)
}
