//! `b24`: the Bitrix24 method table and REST API from a shell.
//!
//! Data goes to stdout (JSON, or JSON lines for exports); progress, summaries and errors go
//! to stderr. Exit codes: 0 done, 1 the portal or the connection failed, 2 the command was
//! wrong (arguments, unknown method, parameters that do not fit the method).

mod call;
mod connect;
mod describe;
mod export;
mod params;
mod secrets;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Look up, call and export Bitrix24 REST methods.
///
/// Every method generated from the specs is known: its parameters, result, errors and
/// documentation page. Calls and exports need a portal: an incoming-webhook URL
/// (BITRIX24_WEBHOOK_URL) or OAuth tokens (see the connection options).
#[derive(Debug, Parser)]
#[command(name = "b24", version, max_term_width = 100)]
#[command(
    after_help = "Exit codes: 0 done, 1 the portal or the connection failed, \
                        2 a usage error (arguments, unknown method, parameters that do not fit)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Human-readable output: indented JSON, and text for `methods` and `describe`.
    #[arg(long, global = true)]
    pretty: bool,
    #[command(flatten)]
    connection: connect::Connection,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the known methods with their scope, pagination and deprecation.
    #[command(after_help = "Examples:\n  b24 methods --scope crm --search deal\n  \
                            b24 methods --pretty --paginated")]
    Methods(describe::MethodsArgs),
    /// Show what one method takes and returns, its documented errors, rate and docs page.
    #[command(after_help = "Example:\n  b24 describe crm.deal.list --pretty")]
    Describe(describe::DescribeArgs),
    /// Call a method; the parameters are checked against its request type first.
    #[command(after_help = "Parameters:\n  \
        key=value      a string (numbers in strings are fine where a number is expected)\n  \
        key:=json      a JSON value: id:=42, select:='[\"ID\",\"TITLE\"]', fields:='{...}'\n  \
        a.b=value      a member of an object parameter: fields.TITLE=Visit\n\n\
        Examples:\n  b24 call crm.deal.get id=42\n  b24 call crm.deal.add --json deal.json\n  \
        b24 call crm.deal.update id=42 fields.TITLE='New title' --pretty")]
    Call(call::CallArgs),
    /// Export every item of a list method as JSON lines, resumable after an interruption.
    #[command(after_help = "Examples:\n  \
        b24 export crm.deal.list --filter '>=DATE_MODIFY=2025-01-01' --select ID,TITLE --out deals.jsonl\n  \
        b24 export crm.deal.list --out deals.jsonl --resume    # continue after the last ID written")]
    Export(export::ExportArgs),
}

/// A mistake in the command itself: exit code 2.
#[derive(Debug)]
pub struct Usage(pub String);

impl std::fmt::Display for Usage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Usage {}

/// A usage error with this message.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Usage(message.into()))
}

/// Output options shared by the commands.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub pretty: bool,
}

impl Output {
    /// A JSON document on stdout, indented with `--pretty`.
    pub fn json(&self, value: &serde_json::Value) -> anyhow::Result<()> {
        let text = if self.pretty {
            serde_json::to_string_pretty(value)?
        } else {
            serde_json::to_string(value)?
        };
        println!("{text}");
        Ok(())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    secrets::remember(&cli.connection);
    let out = Output { pretty: cli.pretty };
    let result = match cli.command {
        Command::Methods(a) => describe::methods(&a, out),
        Command::Describe(a) => describe::describe(&a, out),
        Command::Call(a) => {
            runtime().and_then(|rt| rt.block_on(call::run(&a, &cli.connection, out)))
        }
        Command::Export(a) => {
            runtime().and_then(|rt| rt.block_on(export::run(&a, &cli.connection)))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // `{:#}`: the whole chain on one line; every known secret masked.
            eprintln!("b24: error: {}", secrets::redact(&format!("{e:#}")));
            ExitCode::from(exit_code(&e))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// 2 for a usage error (including parameters the method's type refuses), else 1.
fn exit_code(e: &anyhow::Error) -> u8 {
    for cause in e.chain() {
        if cause.downcast_ref::<Usage>().is_some() {
            return 2;
        }
        if let Some(err) = cause.downcast_ref::<bitrix24::runtime::Error>() {
            return match err {
                bitrix24::runtime::Error::Decode(d)
                    if d.part == bitrix24::runtime::Part::Params =>
                {
                    2
                }
                bitrix24::runtime::Error::UnknownMethod(_)
                | bitrix24::runtime::Error::InvalidConfig(_) => 2,
                _ => 1,
            };
        }
    }
    1
}
