//! `b24` end to end: the binary run against the fake portal on 127.0.0.1.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bitrix24_fake_portal::{Config, FakeError, FakePortal, Fault, FaultKind, deals};
use serde_json::{Value, json};

/// The webhook code of the test portal: it must never be printed.
const SECRET: &str = "s3cretwebhookcode42";

/// A fake portal with its own runtime (the binary runs in another process).
struct Portal {
    portal: FakePortal,
    _rt: tokio::runtime::Runtime,
}

impl Portal {
    fn start(per_second: f64) -> Portal {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let config = Config {
            burst: 50.0,
            per_second,
            webhook_token: SECRET.into(),
            ..Config::default()
        };
        let portal = rt.block_on(FakePortal::start(config)).unwrap();
        Portal { portal, _rt: rt }
    }
}

/// `b24` with no BITRIX24_* variables from the outer environment.
fn b24() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_b24"));
    c.env_clear();
    c.stdin(Stdio::null());
    c
}

fn b24_on(p: &Portal) -> Command {
    let mut c = b24();
    c.env("BITRIX24_WEBHOOK_URL", p.portal.webhook_url());
    c.args(["--burst", "50", "--rate", "200"]);
    c
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(c: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = c.output().unwrap();
    let run = Run {
        code: status.code().expect("exited, not killed"),
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    };
    assert!(
        !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
        "the webhook code was printed:\n{}\n{}",
        run.stdout,
        run.stderr
    );
    run
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn describe_and_methods_need_no_portal() {
    let r = run(b24().args(["describe", "crm.deal.list"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d = json_of(&r.stdout);
    assert_eq!(d["name"], "crm.deal.list");
    assert_eq!(d["scope"], "crm");
    assert_eq!(d["pagination"], "start");
    assert_eq!(d["result"]["id_key"], "ID");
    let names: Vec<&str> = d["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"select") && names.contains(&"filter"),
        "{names:?}"
    );
    assert!(d["docs"].as_str().unwrap().starts_with("https://"), "{d}");

    // Required parameters come first.
    let r = run(b24().args(["describe", "crm.requisite.update"]));
    let d = json_of(&r.stdout);
    let required: Vec<bool> = d["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["required"].as_bool().unwrap())
        .collect();
    assert!(required.first() == Some(&true), "{d}");
    assert!(required.windows(2).all(|w| w[0] || !w[1]), "{required:?}");

    let r = run(b24().args(["describe", "crm.quote.get", "--pretty"]));
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("Parameters:\n  id  required  integer"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Documentation: https://"), "{}", r.stdout);

    // An unknown name is a usage error with the nearest names.
    let r = run(b24().args(["describe", "crm.deal.lst"]));
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("unknown method `crm.deal.lst`"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("crm.deal.list"), "{}", r.stderr);

    let r = run(b24().args(["methods", "--scope", "crm", "--search", "deal"]));
    assert_eq!(r.code, 0);
    let list = json_of(&r.stdout);
    let list = list.as_array().unwrap();
    assert!(list.len() > 10, "{}", list.len());
    for m in list {
        assert_eq!(m["scope"], "crm");
        assert!(m["name"].as_str().unwrap().contains("deal"), "{m}");
    }
    assert!(
        list.iter()
            .any(|m| m["name"] == "crm.deal.list" && m["pagination"] == "start")
    );

    // clap's own usage errors exit with 2 too.
    assert_eq!(run(b24().args(["describe"])).code, 2);
    assert_eq!(run(b24().args(["frobnicate"])).code, 2);
}

#[test]
fn describe_schema_prints_the_json_schemas() {
    let r = run(b24().args(["describe", "crm.quote.get", "--schema"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let d = json_of(&r.stdout);
    assert_eq!(d["method"], "crm.quote.get");
    let draft = "https://json-schema.org/draft/2020-12/schema";
    assert_eq!(d["params"]["$schema"], draft, "{d}");
    assert_eq!(d["result"]["$schema"], draft, "{d}");
    // `id`, under its wire name, required and an integer.
    assert_eq!(d["params"]["required"], serde_json::json!(["id"]), "{d}");
    assert_eq!(d["params"]["properties"]["id"]["type"], "integer", "{d}");
    // An alias or another case of the name gives the same document.
    let r2 = run(b24().args(["describe", "CRM.QUOTE.GET", "--schema"]));
    assert_eq!(json_of(&r2.stdout), d);

    let r = run(b24().args(["describe", "crm.deal.lst", "--schema"]));
    assert_eq!(r.code, 2);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("unknown method"), "{}", r.stderr);
}

#[test]
fn call_checks_parameters_before_sending() {
    let p = Portal::start(200.0);
    p.portal.on("crm.quote.get", |params| {
        let id = params["id"]
            .as_str()
            .map(str::to_owned)
            .or(params["id"].as_i64().map(|i| i.to_string()));
        match id.as_deref() {
            Some("7") => Err(FakeError::new(400, "NOT_FOUND", "Not found")),
            Some(id) => Ok(json!({ "ID": id, "TITLE": format!("Deal {id}") })),
            None => Err(FakeError::new(400, "ERROR_ARGUMENT", "no id")),
        }
    });

    let r = run(b24_on(&p).args(["call", "crm.quote.get", "id=42"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json_of(&r.stdout), json!({"ID": "42", "TITLE": "Deal 42"}));
    assert_eq!(r.stdout.lines().count(), 1);
    let r = run(b24_on(&p).args(["call", "crm.quote.get", "id:=42", "--pretty"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.lines().count() > 1, "{}", r.stdout);
    assert_eq!(json_of(&r.stdout)["ID"], "42");
    let sent = p.portal.stats().requests;
    assert_eq!(sent, 2);

    // Parameters that do not fit: a usage error naming the parameter; nothing sent.
    for (args, says) in [
        (vec!["id=abc"], "parameter `id`"),
        (vec![], "parameter `id`"),
        (vec!["id:={\"x\":1}"], "parameter `id`"),
    ] {
        let r = run(b24_on(&p).args(["call", "crm.quote.get"]).args(&args));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("crm.quote.get"), "{}", r.stderr);
        assert!(r.stdout.is_empty());
    }
    let r = run(b24_on(&p).args(["call", "crm.quote.get", "id"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("`id` has no `=`"), "{}", r.stderr);
    let r = run(b24_on(&p).args(["call", "crm.nothing.here", "id=1"]));
    assert_eq!(r.code, 2);
    assert_eq!(
        p.portal.stats().requests,
        sent,
        "a refused call reached the portal"
    );

    // What the portal says: exit code 1, its code and description.
    let r = run(b24_on(&p).args(["call", "crm.quote.get", "id=7"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("NOT_FOUND") && r.stderr.contains("Not found"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());

    // A JSON file, with pairs set over it; and the envelope.
    let dir = tempdir("call");
    let file = dir.join("params.json");
    std::fs::write(&file, r#"{"id": 5}"#).unwrap();
    let r = run(b24_on(&p)
        .args(["call", "crm.quote.get", "--envelope", "--json"])
        .arg(&file));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json_of(&r.stdout)["result"]["ID"], "5");
    std::fs::write(&file, "{\"id\": 5,\n oops}").unwrap();
    let r = run(b24_on(&p)
        .args(["call", "crm.quote.get", "--json"])
        .arg(&file));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("params.json:2:"), "{}", r.stderr);

    // --typed reads the result with the response type (crm.deal.add: an integer).
    p.portal.on("crm.deal.add", |params| {
        match params["fields"]["TITLE"].as_str() {
            Some("bad") => Ok(json!("not a number")),
            _ => Ok(json!("17")),
        }
    });
    let r = run(b24_on(&p).args(["call", "crm.deal.add", "fields.TITLE=x"]));
    assert_eq!((r.code, r.stdout.trim()), (0, "\"17\""), "{}", r.stderr);
    let r = run(b24_on(&p).args(["call", "crm.deal.add", "fields.TITLE=x", "--typed"]));
    assert_eq!((r.code, r.stdout.trim()), (0, "17"), "{}", r.stderr);
    let r = run(b24_on(&p).args(["call", "crm.deal.add", "fields.TITLE=bad", "--typed"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("does not fit its response type"),
        "{}",
        r.stderr
    );

    // No portal configured: a usage error that says how to give one.
    let r = run(b24().args(["call", "crm.deal.get", "id=1"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("BITRIX24_WEBHOOK_URL"), "{}", r.stderr);
}

#[test]
fn the_webhook_code_is_never_printed() {
    let p = Portal::start(200.0);
    p.portal.on("crm.deal.get", |_| {
        Err(FakeError::new(
            401,
            "INVALID_CREDENTIALS",
            "Invalid request credentials",
        ))
    });
    let url = p.portal.webhook_url();
    assert!(url.contains(SECRET));
    // `run` fails the test if the code appears in stdout or stderr of any of these.
    let runs = [
        run(b24_on(&p).args(["call", "crm.deal.get", "id=1"])),
        // The code typed as a parameter value, echoed by the parameter check.
        run(b24_on(&p).args(["call", "crm.deal.get", &format!("id={SECRET}")])),
        run(b24_on(&p).args(["call", "crm.deal.get", SECRET])),
        run(b24_on(&p).args(["--help"])),
        run(b24_on(&p).args(["call", "--help"])),
        run(b24().args(["call", "crm.deal.get", "id=1", "--webhook-url", &url])),
        // A malformed URL and a portal that is not there.
        run(b24()
            .args(["call", "crm.deal.get", "id=1", "--webhook-url"])
            .arg(format!("https://example.com/{SECRET}"))),
        run(b24()
            .args(["call", "crm.deal.get", "id=1", "--webhook-url"])
            .arg(format!("http://127.0.0.1:9/rest/1/{SECRET}/"))),
        run(b24_on(&p).args(["export", "crm.deal.list", "--param", &format!("x={SECRET}")])),
    ];
    for r in &runs {
        assert!(r.code == 0 || r.code == 1 || r.code == 2);
    }
    assert_eq!(runs[0].code, 1);
    assert!(
        runs[0].stderr.contains("INVALID_CREDENTIALS"),
        "{}",
        runs[0].stderr
    );
    assert_eq!(runs[1].code, 2);
    assert!(runs[1].stderr.contains("***"), "{}", runs[1].stderr);
    assert_eq!(runs[7].code, 1, "{}", runs[7].stderr);
}

#[test]
fn a_small_export_to_stdout_is_data_only() {
    let p = Portal::start(200.0);
    p.portal.seed_list("crm.deal.list", deals(120));
    for walk in ["fast", "offset"] {
        let r = run(b24_on(&p).args([
            "export",
            "crm.deal.list",
            "--walk",
            walk,
            "--select",
            "TITLE",
        ]));
        assert_eq!(r.code, 0, "{}", r.stderr);
        let ids: Vec<i64> = r.stdout.lines().map(|l| id(&json_of(l))).collect();
        assert_eq!(ids, (1..=120).collect::<Vec<_>>(), "{walk}");
        // No progress bar when stderr is not a terminal: one summary line, no control codes.
        assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
        assert!(
            r.stderr.starts_with("b24: exported 120 item(s)"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains(['\r', '\u{1b}']), "{:?}", r.stderr);
    }
    // Only `>ID` filtered rows, with a filter given on the command line.
    let r = run(b24_on(&p).args(["export", "crm.deal.list", "--filter", ">ID=100", "-q"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 20);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    // A list that ignores the ID order: the fast walk stops and says what to do instead.
    p.portal.on("crm.contact.list", |_| {
        Ok(json!([{"ID": "3"}, {"ID": "1"}, {"ID": "2"}]))
    });
    let r = run(b24_on(&p).args(["export", "crm.contact.list"]));
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("--walk offset"), "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let r = run(b24_on(&p).args(["export", "crm.contact.list", "--walk", "offset"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 3);
    let r = run(b24_on(&p).args(["export", "crm.deal.get"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("not a list method"), "{}", r.stderr);
}

const ITEMS: i64 = 100_000;

/// 100,000 deals with faults injected into the batches: the first export is killed half
/// way, a half-written line is left at the end of its file, and `--resume` finishes it;
/// every ID is in the file exactly once, in order, and the portal refused nothing for rate.
#[test]
fn export_of_100000_items_killed_and_resumed_with_faults() {
    let p = Portal::start(200.0);
    p.portal.seed_list("crm.deal.list", deals(ITEMS as usize));
    for (every, kind, times) in [
        (5, FaultKind::Unavailable, 3),
        (7, FaultKind::Drop, 3),
        (11, FaultKind::Malformed, 3),
        (13, FaultKind::ServerError, 3),
        // Slow answers stretch the run so that the kill lands in the middle.
        (1, FaultKind::Slow(Duration::from_millis(150)), 1_000),
    ] {
        p.portal.inject(Fault {
            method: Some("batch".into()),
            kind,
            every,
            times,
        });
    }
    let dir = tempdir("export");
    let out = dir.join("deals.jsonl");
    let export = |resume: bool| {
        let mut c = b24_on(&p);
        c.args(["export", "crm.deal.list", "--select", "ID,TITLE", "--out"])
            .arg(&out);
        if resume {
            c.arg("--resume");
        }
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    };

    // The first run, killed once some rows are on disk (bounded wait).
    let mut child = export(false).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while file_len(&out) < 200_000 {
        assert!(Instant::now() < deadline, "no rows after 60 s");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the export ended before the kill"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let first = std::fs::read_to_string(&out).unwrap();
    let first_lines = first.lines().filter(|l| l.ends_with('}')).count() as i64;
    assert!(
        first_lines < ITEMS,
        "the kill came too late to test a resume"
    );
    // Whatever the kill left, the file now also ends in half a line.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&out)
        .unwrap()
        .write_all(b"{\"ID\":\"99")
        .unwrap();

    // Without --resume an existing file is not touched.
    let r = run(&mut export(false));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--resume"), "{}", r.stderr);

    let child = export(true).spawn().unwrap();
    let r = wait(child, Duration::from_secs(120));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(r.stderr.contains("after the"), "{}", r.stderr);

    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.ends_with('\n'));
    let ids: Vec<i64> = text.lines().map(|l| id(&json_of(l))).collect();
    assert_exactly(&ids, ITEMS);
    let row = json_of(text.lines().next().unwrap());
    assert_eq!(row["TITLE"], "Deal #1", "{row}");
    let stats = p.portal.stats();
    assert!(stats.faults >= 12, "{stats:?}");
    assert_eq!(stats.rate_rejections, 0, "{stats:?}");
    assert_eq!(stats.operating_rejections, 0, "{stats:?}");
}

fn id(row: &Value) -> i64 {
    row["ID"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no ID: {row}"))
}

fn assert_exactly(ids: &[i64], n: i64) {
    if ids.iter().copied().eq(1..=n) {
        return;
    }
    let mut seen = std::collections::BTreeMap::new();
    for id in ids {
        *seen.entry(*id).or_insert(0) += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, c)| **c > 1).take(5).collect();
    let missing: Vec<_> = (1..=n).filter(|i| !seen.contains_key(i)).take(5).collect();
    panic!(
        "{} items; repeated {repeated:?}; missing {missing:?}",
        ids.len()
    );
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Waits for a child at most `limit`, killing it after that.
fn wait(mut child: std::process::Child, limit: Duration) -> Run {
    let deadline = Instant::now() + limit;
    // Bounded by the deadline.
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("b24 did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let r = Run {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    };
    assert!(!r.stdout.contains(SECRET) && !r.stderr.contains(SECRET));
    r
}

/// A folder of the test's own, removed when the test ends (also when it fails).
struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("b24-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// OAuth from a tokens file: an expired access token is refreshed, the rotated tokens are
/// written back to the file, and no token or the client secret is printed.
#[test]
fn oauth_tokens_are_refreshed_and_saved_to_the_file() {
    let p = Portal::start(200.0);
    p.portal.on("crm.deal.get", |_| Ok(json!({"ID": "1"})));
    let (access, refresh) = p.portal.issue_tokens();
    let dir = tempdir("oauth");
    let file = dir.join("tokens.json");
    std::fs::write(
        &file,
        json!({"access_token": access, "refresh_token": refresh}).to_string(),
    )
    .unwrap();
    let config = p.portal.config().clone();
    let call = || {
        let mut c = b24();
        c.env("BITRIX24_ENDPOINT", p.portal.client_endpoint())
            .env("BITRIX24_SERVER_ENDPOINT", p.portal.server_endpoint())
            .env("BITRIX24_CLIENT_ID", &config.client_id)
            .env("BITRIX24_CLIENT_SECRET", &config.client_secret)
            .arg("--tokens-file")
            .arg(&file)
            .args(["call", "crm.deal.get", "id=1"]);
        run(&mut c)
    };
    let secrets = [
        access.as_str(),
        refresh.as_str(),
        config.client_secret.as_str(),
    ];
    let r = call();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json_of(&r.stdout)["ID"], "1");
    p.portal.expire_access_tokens();
    let r = call();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(p.portal.stats().refreshes, 1);
    for s in secrets {
        assert!(
            !r.stdout.contains(s) && !r.stderr.contains(s),
            "{}",
            r.stderr
        );
    }
    let saved = json_of(&std::fs::read_to_string(&file).unwrap());
    let new_refresh = saved["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, refresh);
    assert_ne!(saved["access_token"].as_str().unwrap(), access);
    // The saved tokens work: no second refresh.
    let r = call();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(p.portal.stats().refreshes, 1);
    // Missing OAuth pieces are usage errors.
    let r = run(b24()
        .env("BITRIX24_ENDPOINT", p.portal.client_endpoint())
        .args(["call", "crm.deal.get", "id=1"]));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--client-id"), "{}", r.stderr);
}
