//! `b24 export`: every row of a list method as JSON lines, resumable from the last ID
//! written.
//!
//! The fast walk ([`FastList`] over a [`RawList`]) asks for ID ranges, 50 pages per batch
//! request, and yields rows in ascending ID order, each once; so the last complete line of
//! the output names the ID to continue after. The offset walk (page by page with `start`)
//! is for lists that cannot be walked by ID; it resumes at the number of lines written.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use bitrix24::runtime::{ApiVersion, FastList, MethodInfo, Pagination, RawList};
use clap::{Args, ValueEnum};
use futures_util::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Map, Value};

use crate::connect::Connection;
use crate::{call, describe, params, usage};

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The list method, e.g. crm.deal.list.
    method: String,
    /// Only rows that match: [operator]FIELD=value, e.g. '>=DATE_MODIFY=2025-01-01',
    /// 'STAGE_ID=WON', '!CLOSED=Y'. Repeat for several.
    #[arg(long, value_name = "EXPR")]
    filter: Vec<String>,
    /// Only these fields, comma-separated (the ID field is always added).
    #[arg(long, value_delimiter = ',', value_name = "FIELDS")]
    select: Vec<String>,
    /// Another parameter of the method, as for `call` (key=value, key:=json). Repeatable.
    #[arg(long = "param", value_name = "PARAM")]
    params: Vec<String>,
    /// Read the method's parameters from a JSON file (`-`: stdin).
    #[arg(long, value_name = "FILE")]
    json: Option<String>,
    /// Write the JSON lines to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Continue an interrupted export into --out: keep its complete lines and fetch only
    /// the rows after the last one (a half-written last line is dropped and fetched again).
    #[arg(long, requires = "out")]
    resume: bool,
    /// Overwrite --out when it exists.
    #[arg(long, conflicts_with = "resume")]
    force: bool,
    /// How to walk the list: fast (ID ranges chained in batches; rows in ID order), offset
    /// (page by page with `start`, for lists that cannot be filtered by ID), or auto (fast
    /// for every classic list method).
    #[arg(long, value_enum, default_value_t = Walk::Auto)]
    walk: Walk,
    /// How many ID ranges the fast walk asks for at once (1 to 16).
    #[arg(long, default_value_t = 4, value_name = "N")]
    parallel: usize,
    /// No progress bar and no summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Walk {
    Auto,
    Fast,
    Offset,
}

/// Guards against a portal that never stops handing out `next`.
const MAX_PAGES: u64 = 10_000_000;

pub async fn run(a: &ExportArgs, conn: &Connection) -> anyhow::Result<()> {
    let m = describe::lookup(&a.method)?;
    let walk = match (a.walk, m.pagination, m.api) {
        (_, _, ApiVersion::V3) => {
            return Err(usage(format!(
                "{}: REST 3.0 lists cannot be exported yet",
                m.name
            )));
        }
        (Walk::Auto | Walk::Fast, Pagination::Start, _) => Walk::Fast,
        (Walk::Offset, Pagination::Start, _) => Walk::Offset,
        (_, Pagination::None, _) => {
            return Err(usage(format!(
                "{} is not a list method (it does not page with `start`); use `b24 call`",
                m.name
            )));
        }
    };
    let keys = Keys::of(m);
    let mut base = params::build(a.json.as_deref(), &a.params)?;
    for f in &a.filter {
        let (key, value) = params::filter(f)?;
        object(&mut base, keys.filter)?.insert(key, value);
    }
    if !a.select.is_empty() {
        let mut select: Vec<Value> = a.select.iter().map(|s| Value::String(s.clone())).collect();
        if walk == Walk::Fast && !a.select.iter().any(|s| s.eq_ignore_ascii_case(m.id_key)) {
            select.push(Value::String(m.id_key.to_owned()));
        }
        if let Value::Object(p) = &mut base {
            p.insert(keys.select.to_owned(), Value::Array(select));
        }
    }
    call::check(m.name, &base)?;

    let mut sink = Sink::open(a, m, walk)?;
    let client = conn.client()?;
    let progress = Progress::new(a.quiet);
    // One counting call, for the bar's length and the time remaining.
    let total = match progress.shown() {
        true => count(&client, m, &base, keys, &sink).await,
        false => None,
    };
    progress.start(total);
    let started = Instant::now();
    let result = match walk {
        Walk::Fast => fast(&client, m, base, a.parallel, &mut sink, &progress).await,
        _ => offset(&client, m, base, &mut sink, &progress).await,
    };
    let flushed = sink.finish();
    progress.bar.finish_and_clear();
    let written = sink.written;
    let summary = format!(
        "{written} item(s){} in {:.1} s",
        if sink.kept > 0 {
            format!(" after the {} already written", sink.kept)
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64()
    );
    match result.and(flushed) {
        Ok(()) => {
            if !a.quiet {
                eprintln!("b24: exported {summary}");
            }
            Ok(())
        }
        Err(e) => {
            let by_id = walk == Walk::Fast
                && e.chain().any(|c| {
                    matches!(
                        c.downcast_ref::<bitrix24::runtime::Error>(),
                        Some(
                            bitrix24::runtime::Error::Decode(_)
                                | bitrix24::runtime::Error::InvalidConfig(_)
                        )
                    )
                });
            let hint = match (a.out.is_some(), by_id) {
                (_, true) => {
                    "; if the method cannot be walked by ID, --walk offset pages by `start`"
                }
                (true, false) => "; run again with --resume to continue",
                (false, false) => "",
            };
            Err(e.context(format!(
                "{}: the export stopped after {summary}{hint}",
                m.name
            )))
        }
    }
}

/// The names of a method's filter, order and select parameters: `filter`/`order`/`select`,
/// or `FILTER`/`ORDER`/`SELECT` for methods that declare those (`user.get`).
#[derive(Debug, Clone, Copy)]
struct Keys {
    filter: &'static str,
    order: &'static str,
    select: &'static str,
}

impl Keys {
    fn of(m: &MethodInfo) -> Keys {
        let has = |n: &str| m.params.iter().any(|p| p.name == n);
        if has("FILTER") && !has("filter") {
            Keys {
                filter: "FILTER",
                order: "ORDER",
                select: if has("SELECT") { "SELECT" } else { "select" },
            }
        } else {
            Keys {
                filter: "filter",
                order: "order",
                select: "select",
            }
        }
    }
}

fn object<'a>(params: &'a mut Value, key: &str) -> anyhow::Result<&'a mut Map<String, Value>> {
    let Value::Object(p) = params else {
        return Err(usage("the parameters must be a JSON object"));
    };
    let entry = p
        .entry(key.to_owned())
        .or_insert_with(|| Value::Object(Map::new()));
    match entry {
        Value::Object(m) => Ok(m),
        _ => Err(usage(format!(
            "parameter `{key}` must be an object to add filters to"
        ))),
    }
}

async fn fast(
    client: &bitrix24::runtime::Client,
    m: &MethodInfo,
    base: Value,
    parallel: usize,
    sink: &mut Sink,
    progress: &Progress,
) -> anyhow::Result<()> {
    let keys = Keys::of(m);
    let mut list = FastList::new(RawList::from_info(m, base))
        .keys(keys.filter, keys.order)
        .parallel(parallel);
    if let Some(id) = sink.resume_after {
        list = list.resume_after(id);
    }
    let mut rows = std::pin::pin!(list.stream(client));
    // Bounded: the walk ends, or fails, after a finite list.
    while let Some(row) = rows.next().await {
        sink.write(&row?)?;
        progress.bar.inc(1);
    }
    Ok(())
}

async fn offset(
    client: &bitrix24::runtime::Client,
    m: &MethodInfo,
    mut base: Value,
    sink: &mut Sink,
    progress: &Progress,
) -> anyhow::Result<()> {
    let mut start = sink.kept;
    for _ in 0..MAX_PAGES {
        if let Value::Object(p) = &mut base {
            p.insert("start".into(), start.into());
        }
        let page = client.call_raw(m.name, &base).await?;
        let items = rows(m, &page.result)?;
        for row in items {
            sink.write(row)?;
            progress.bar.inc(1);
        }
        match page.next {
            Some(next) if next > i64::try_from(start).unwrap_or(i64::MAX) => {
                start = u64::try_from(next).unwrap_or(u64::MAX);
            }
            Some(next) => {
                anyhow::bail!(
                    "{}: the portal's next offset {next} does not move forward",
                    m.name
                )
            }
            None => return Ok(()),
        }
    }
    anyhow::bail!("{}: more than {MAX_PAGES} pages", m.name)
}

/// The rows of one page: `result`, or `result[items_key]`.
fn rows<'a>(m: &MethodInfo, result: &'a Value) -> anyhow::Result<&'a [Value]> {
    let rows = match (m.items_key, result) {
        (None, Value::Array(r)) => Some(r.as_slice()),
        (Some(k), Value::Object(o)) => o.get(k).and_then(Value::as_array).map(Vec::as_slice),
        (Some(_), Value::Array(r)) if r.is_empty() => Some(&r[..]),
        _ => None,
    };
    rows.with_context(|| {
        format!(
            "{}: the result is not a list ({})",
            m.name,
            m.items_key
                .map_or("expected an array".to_owned(), |k| format!(
                    "expected result.{k}"
                ))
        )
    })
}

/// How many rows are left, from the `total` of one page (`None` when the portal does not say).
async fn count(
    client: &bitrix24::runtime::Client,
    m: &MethodInfo,
    base: &Value,
    keys: Keys,
    sink: &Sink,
) -> Option<u64> {
    let mut p = base.clone();
    if let Some(id) = sink.resume_after {
        object(&mut p, keys.filter)
            .ok()?
            .insert(format!(">{}", m.id_key), id.into());
    }
    if let Value::Object(o) = &mut p {
        o.insert(keys.select.into(), serde_json::json!([m.id_key]));
        o.insert("start".into(), 0.into());
    }
    let page = client.call_raw(m.name, &p).await.ok()?;
    let total = u64::try_from(page.total?).ok()?;
    Some(if sink.resume_after.is_some() {
        total
    } else {
        total.saturating_sub(sink.kept)
    })
}

/// The progress bar on stderr: items, rate, elapsed, and the time left when the total is
/// known. Hidden when stderr is not a terminal, or with --quiet.
struct Progress {
    bar: ProgressBar,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        let target = if quiet || !std::io::stderr().is_terminal() {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        Progress {
            bar: ProgressBar::with_draw_target(None, target),
        }
    }

    fn shown(&self) -> bool {
        !self.bar.is_hidden()
    }

    /// Starts drawing: a bar with the time left when the total is known, else a counter.
    fn start(&self, total: Option<u64>) {
        let template = match total {
            Some(_) => {
                "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} items, {rate}, {eta} left"
            }
            None => "{elapsed_precise} {spinner} {human_pos} items, {rate}",
        };
        // The templates are constants; were one wrong, the default style is drawn.
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .with_key(
                "rate",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0} items/s", state.per_sec());
                },
            );
        self.bar.set_style(style);
        if let Some(total) = total {
            self.bar.set_length(total);
        }
        if self.shown() {
            self.bar.enable_steady_tick(Duration::from_millis(200));
        }
    }
}

/// Where the rows go: a file (new, replaced, or continued) or stdout.
struct Sink {
    out: BufWriter<Box<dyn Write + Send>>,
    id_key: &'static str,
    /// Lines kept from an earlier run.
    kept: u64,
    /// Lines written by this run.
    written: u64,
    /// The ID of the last row kept, for the fast walk.
    resume_after: Option<i64>,
}

impl Sink {
    fn open(a: &ExportArgs, m: &MethodInfo, walk: Walk) -> anyhow::Result<Sink> {
        let mut sink = Sink {
            out: BufWriter::with_capacity(1 << 16, Box::new(std::io::stdout())),
            id_key: m.id_key,
            kept: 0,
            written: 0,
            resume_after: None,
        };
        let Some(path) = &a.out else {
            return Ok(sink);
        };
        let file = if a.resume && path.exists() {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .with_context(|| format!("cannot open {}", path.display()))?;
            let tail = Tail::read(&mut file, path)?;
            file.set_len(tail.complete).with_context(|| {
                format!("cannot cut the half-written line off {}", path.display())
            })?;
            file.seek(SeekFrom::End(0))?;
            match walk {
                Walk::Fast => {
                    if let Some(last) = &tail.last {
                        sink.resume_after = Some(id_of(last, m.id_key).with_context(|| {
                            format!(
                                "{}: the last line has no integer `{}`",
                                path.display(),
                                m.id_key
                            )
                        })?);
                    }
                    sink.kept = if tail.last.is_some() {
                        count_lines(&mut file)?
                    } else {
                        0
                    };
                }
                _ => sink.kept = count_lines(&mut file)?,
            }
            file.seek(SeekFrom::End(0))?;
            file
        } else {
            if path.exists() && !a.force {
                return Err(usage(format!(
                    "{} exists: --resume continues it, --force replaces it",
                    path.display()
                )));
            }
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?
        };
        sink.out = BufWriter::with_capacity(1 << 16, Box::new(file));
        Ok(sink)
    }

    fn write(&mut self, row: &Value) -> anyhow::Result<()> {
        if self.resume_after.is_some() || self.kept > 0 {
            // Rows the earlier run wrote are never written twice.
            if let (Some(after), Some(id)) = (self.resume_after, id_of(row, self.id_key)) {
                if id <= after {
                    anyhow::bail!(
                        "the walk returned row {id}, at or below the resume point {after}"
                    );
                }
            }
        }
        serde_json::to_writer(&mut self.out, row)?;
        self.out
            .write_all(b"\n")
            .context("cannot write the output")?;
        self.written += 1;
        Ok(())
    }

    fn finish(&mut self) -> anyhow::Result<()> {
        self.out.flush().context("cannot write the output")
    }
}

/// An integer ID, from a number or a numeric string.
fn id_of(row: &Value, key: &str) -> Option<i64> {
    let v = row.get(key)?;
    v.as_i64().or_else(|| v.as_str()?.trim().parse().ok())
}

fn count_lines(file: &mut File) -> anyhow::Result<u64> {
    file.seek(SeekFrom::Start(0))?;
    let mut reader = std::io::BufReader::new(&mut *file);
    let mut buf = [0u8; 1 << 16];
    let mut lines = 0u64;
    // Bounded by the file's length.
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(lines);
        }
        lines += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
    }
}

/// The end of an earlier export: the length up to its last newline, and its last complete
/// line as JSON.
struct Tail {
    complete: u64,
    last: Option<Value>,
}

impl Tail {
    /// Reads backwards in growing windows until the last complete line is found
    /// (bounded: each round doubles the window, up to the whole file).
    fn read(file: &mut File, path: &Path) -> anyhow::Result<Tail> {
        let len = file.metadata()?.len();
        let mut window: u64 = 1 << 16;
        loop {
            let from = len.saturating_sub(window);
            file.seek(SeekFrom::Start(from))?;
            let mut buf = Vec::with_capacity((len - from) as usize);
            file.take(len - from).read_to_end(&mut buf)?;
            let Some(end) = buf.iter().rposition(|b| *b == b'\n') else {
                if from == 0 {
                    // No complete line at all.
                    return Ok(Tail {
                        complete: 0,
                        last: None,
                    });
                }
                window = window.saturating_mul(2);
                continue;
            };
            let start = match buf[..end].iter().rposition(|b| *b == b'\n') {
                Some(p) => p + 1,
                None if from == 0 => 0,
                None => {
                    window = window.saturating_mul(2);
                    continue;
                }
            };
            let line = &buf[start..end];
            let last: Value = serde_json::from_slice(line).map_err(|e| {
                usage(format!(
                    "{}: the last complete line is not JSON ({e}); it was not written by b24 export",
                    path.display()
                ))
            })?;
            return Ok(Tail {
                complete: from + end as u64 + 1,
                last: Some(last),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tail_of(content: &[u8]) -> (u64, Option<Value>) {
        // One folder per call (tests run in parallel), removed afterwards.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("b24-tail-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.jsonl");
        std::fs::write(&path, content).unwrap();
        let mut f = File::open(&path).unwrap();
        let t = Tail::read(&mut f, &path).unwrap();
        drop(f);
        std::fs::remove_dir_all(&dir).unwrap();
        (t.complete, t.last)
    }

    #[test]
    fn the_tail_is_the_last_complete_line() {
        assert_eq!(tail_of(b""), (0, None));
        assert_eq!(tail_of(b"{\"ID\":\"1"), (0, None));
        assert_eq!(
            tail_of(b"{\"ID\":\"1\"}\n{\"ID\":\"2\"}\n{\"ID\":\"3"),
            (22, Some(serde_json::json!({"ID": "2"})))
        );
        assert_eq!(
            tail_of(b"{\"ID\":1}\n"),
            (9, Some(serde_json::json!({"ID": 1})))
        );
        // A last line longer than the first window.
        let long = format!("{{\"ID\":7,\"T\":\"{}\"}}\n{{\"ID\":8", "x".repeat(200_000));
        let (complete, last) = tail_of(long.as_bytes());
        assert_eq!(complete as usize, long.find('\n').unwrap() + 1);
        assert_eq!(last.unwrap()["ID"], 7);
    }
}
