//! Events end to end over loopback: the fake portal installs the app, sends deal events to an
//! axum handler, which receives them verified; forged events and events of another portal are
//! refused; uninstall on the token alone; two processes sharing an SQLite store refresh once;
//! offline events drained as a stream that loses nothing.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use axum::routing::post;
use bitrix24_fake_portal::{Config, FakePortal, build_query};
use bitrix24_runtime::app::web::VerifiedEvent;
use bitrix24_runtime::app::{App, AppConfig, MemoryStore, Received, SqliteStore, TokenStore};
use bitrix24_runtime::events::{EventError, FormLimits, OfflineEvent, OfflineEvents, parse_form};
use bitrix24_runtime::{Client, Limits, RetryPolicy};
use bitrix24_tests::events::crm;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::mpsc;

const LIMIT: Duration = Duration::from_secs(60);

async fn start() -> FakePortal {
    let p = FakePortal::start(Config {
        burst: 500.0,
        per_second: 500.0,
        ..Config::default()
    })
    .await
    .unwrap();
    p.enable_events();
    p
}

fn app(portal: &FakePortal, store: Arc<dyn TokenStore>) -> App {
    let c = portal.config();
    App::builder(
        AppConfig {
            client_id: c.client_id.clone(),
            client_secret: c.client_secret.clone(),
            oauth_server: portal.base_url(),
        },
        store,
    )
    .limits(Limits::custom(500.0, 500.0))
    .retry(RetryPolicy::none())
    .build()
    .unwrap()
}

#[derive(Clone)]
struct Web {
    app: App,
    tx: mpsc::UnboundedSender<Received>,
}

impl FromRef<Web> for App {
    fn from_ref(w: &Web) -> App {
        w.app.clone()
    }
}

async fn on_event(State(web): State<Web>, VerifiedEvent(received): VerifiedEvent) -> StatusCode {
    let _ = web.tx.send(received);
    StatusCode::OK
}

/// Serves the app's event handler on 127.0.0.1; the handler URL and what it received.
async fn serve(app: &App) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let router = Router::new()
        .route("/bitrix24/events", post(on_event))
        .with_state(Web {
            app: app.clone(),
            tx,
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/bitrix24/events", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("an event within 10 s")
        .expect("the channel is open")
}

#[tokio::test]
async fn install_then_deal_events_arrive_verified_and_typed_client_fetches_the_deal() {
    tokio::time::timeout(LIMIT, async {
        let portal = start().await;
        let store = Arc::new(MemoryStore::new());
        let app = app(&portal, store.clone());
        let (url, mut rx) = serve(&app).await;

        assert_eq!(portal.install_app(&url).await.unwrap(), 200);
        let installed = next(&mut rx).await;
        assert!(
            matches!(installed, Received::Installed { .. }),
            "{installed:?}"
        );
        let member = portal.member_id();
        let record = store
            .load(&member)
            .await
            .unwrap()
            .expect("stored at install");
        assert_eq!(
            record.application_token.as_deref(),
            Some(portal.application_token().as_str())
        );
        let shown = format!("{installed:?} {record:?}");
        assert!(!shown.contains(&portal.application_token()), "{shown}");
        assert!(!shown.contains(&record.tokens.access_token), "{shown}");

        let client = app.client(&member).await.unwrap();
        for event in ["ONCRMDEALADD", "ONCRMDEALUPDATE", "ONCRMDEALDELETE"] {
            client
                .call_raw("event.bind", &json!({"event": event, "handler": url}))
                .await
                .unwrap();
        }
        let bound = client.call_raw("event.get", &json!({})).await.unwrap();
        assert_eq!(bound.result.as_array().map(Vec::len), Some(3));

        let id = client
            .call_raw(
                "crm.deal.add",
                &json!({"fields": {"TITLE": "From the fake portal"}}),
            )
            .await
            .unwrap()
            .result
            .as_i64()
            .unwrap();
        // Verified, then typed: the generated `Event` enum of the fixture's crm scope.
        let Received::Event { member_id, event } = next(&mut rx).await.typed().unwrap() else {
            panic!("a deal event")
        };
        assert_eq!(member_id, member);
        let crm::Event::CrmDealAdd(added) = &event else {
            panic!("{event:?}")
        };
        // `data[FIELDS][ID]` arrived as a string; the payload holds the integer.
        assert_eq!(added.data.fields.as_ref().and_then(|f| f.id), Some(id));
        let event = event.into_raw();
        assert!(event.is("onCrmDealAdd"));
        assert_eq!(event.fields_id(), Some(id));
        assert!(event.handler_id.is_some() && event.ts.is_some());
        // The handler's portal client fetches the deal the event names.
        let deal = app
            .client(&member_id)
            .await
            .unwrap()
            .call_raw("crm.deal.get", &json!({"id": id}))
            .await
            .unwrap();
        assert_eq!(deal.result["TITLE"], "From the fake portal");

        client
            .call_raw(
                "crm.deal.update",
                &json!({"id": id, "fields": {"TITLE": "x"}}),
            )
            .await
            .unwrap();
        let Received::Event { event, .. } = next(&mut rx).await else {
            panic!()
        };
        assert!(event.is("ONCRMDEALUPDATE") && event.fields_id() == Some(id));
        client
            .call_raw("crm.deal.delete", &json!({"id": id}))
            .await
            .unwrap();
        let Received::Event { event, .. } = next(&mut rx).await else {
            panic!()
        };
        assert!(event.is("ONCRMDEALDELETE") && event.fields_id() == Some(id));

        let deliveries = portal.wait_deliveries(4, Duration::from_secs(5)).await;
        assert_eq!(deliveries.len(), 4);
        assert!(deliveries.iter().all(|d| d.status == 200), "{deliveries:?}");
        // The same client (same limiter) every time.
        let again = app.client(&member).await.unwrap();
        assert_eq!(format!("{again:?}"), format!("{client:?}"));
    })
    .await
    .unwrap();
}

/// The install body with some `auth` fields changed.
fn altered_install(portal: &FakePortal, changes: &[(&str, &str)]) -> String {
    let mut v = parse_form(portal.install_body().as_bytes(), &FormLimits::default()).unwrap();
    for (k, val) in changes {
        v["auth"][*k] = Value::String((*val).to_owned());
    }
    build_query(&v)
}

#[tokio::test]
async fn forged_events_and_events_of_another_portal_are_refused() {
    tokio::time::timeout(LIMIT, async {
        let portal = start().await;
        let other = start().await;
        let store = Arc::new(MemoryStore::new());
        let app = app(&portal, store.clone());
        let (url, mut rx) = serve(&app).await;
        let member = portal.member_id();

        // An install whose access token the portal does not know: nothing stored.
        let forged_install = altered_install(&portal, &[("access_token", "notarealtoken123")]);
        let e = app.receive(forged_install.as_bytes()).await.unwrap_err();
        assert!(matches!(e, EventError::InstallRejected { .. }), "{e}");
        assert!(!e.to_string().contains("notarealtoken123"), "{e}");
        assert!(store.load(&member).await.unwrap().is_none());
        // An install whose endpoint is not on the portal it names.
        let moved = altered_install(&portal, &[("domain", "evil.example.com")]);
        let e = app.receive(moved.as_bytes()).await.unwrap_err();
        assert!(matches!(e, EventError::InstallRejected { .. }), "{e}");
        // Real tokens of this portal claiming another portal's member_id (their endpoint
        // answers app.info, but the authorisation server knows whose tokens they are).
        let other_id = other.member_id();
        let claimed = altered_install(&portal, &[("member_id", other_id.as_str())]);
        let e = app.receive(claimed.as_bytes()).await.unwrap_err();
        assert!(
            matches!(&e, EventError::InstallRejected { reason, .. } if reason.contains("another portal")),
            "{e}"
        );
        assert!(store.load(&other_id).await.unwrap().is_none());
        // Over HTTP the refusal is a 403 and the handler never sees it.
        assert_eq!(
            FakePortal::send_form(&url, &forged_install).await.unwrap(),
            403
        );

        assert_eq!(portal.install_app(&url).await.unwrap(), 200);
        assert!(matches!(next(&mut rx).await, Received::Installed { .. }));

        let event = |member: &str, token: &str| {
            build_query(
                &json!({"event": "ONCRMDEALADD", "data": {"FIELDS": {"ID": "1"}},
                "auth": {"member_id": member, "application_token": token, "domain": "x"}}),
            )
        };
        // Forged: the right portal, a wrong token.
        let e = app
            .receive(event(&member, "guessedtoken").as_bytes())
            .await
            .unwrap_err();
        assert_eq!(
            e,
            EventError::Forged {
                member_id: member.clone()
            }
        );
        assert_eq!(
            FakePortal::send_form(&url, &event(&member, "guessedtoken"))
                .await
                .unwrap(),
            403
        );
        // Meant for another portal: its token under our portal's id, and its own id.
        let theirs = other.application_token();
        let e = app
            .receive(event(&member, &theirs).as_bytes())
            .await
            .unwrap_err();
        assert!(matches!(e, EventError::Forged { .. }), "{e}");
        let e = app
            .receive(event(&other.member_id(), &theirs).as_bytes())
            .await
            .unwrap_err();
        assert_eq!(
            e,
            EventError::UnknownPortal {
                member_id: other.member_id()
            }
        );
        assert_eq!(other.uninstall_app(&url).await.unwrap(), 403);
        // No token at all; a body that is not an event.
        let e = app
            .receive(event(&member, "").as_bytes())
            .await
            .unwrap_err();
        assert!(matches!(e, EventError::NoToken { .. }), "{e}");
        assert_eq!(
            FakePortal::send_form(&url, "data[FIELDS][ID]=1")
                .await
                .unwrap(),
            400
        );
        assert_eq!(
            FakePortal::send_form(&url, "event=X&ts=%FF").await.unwrap(),
            400
        );
        // The right token is accepted; nothing refused reached the handler.
        let ok = app
            .receive(event(&member, &portal.application_token()).as_bytes())
            .await
            .unwrap();
        assert!(matches!(ok, Received::Event { .. }));
        assert!(
            rx.try_recv().is_err(),
            "a refused event reached the handler"
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn uninstall_is_accepted_on_the_token_alone_and_forgets_the_portal() {
    tokio::time::timeout(LIMIT, async {
        let portal = start().await;
        let store = Arc::new(MemoryStore::new());
        let app = app(&portal, store.clone());
        let (url, mut rx) = serve(&app).await;
        assert_eq!(portal.install_app(&url).await.unwrap(), 200);
        assert!(matches!(next(&mut rx).await, Received::Installed { .. }));
        let member = portal.member_id();
        app.client(&member).await.unwrap();

        assert_eq!(portal.uninstall_app(&url).await.unwrap(), 200);
        let Received::Uninstalled { member_id, event } = next(&mut rx).await else {
            panic!("an uninstall")
        };
        assert_eq!(member_id, member);
        assert!(event.auth.access_token.is_none());
        assert!(store.load(&member).await.unwrap().is_none());
        assert!(app.client(&member).await.is_err());
        // A repeat (or a forged one) now finds no portal.
        assert_eq!(portal.uninstall_app(&url).await.unwrap(), 403);
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn code_exchange_stores_the_portal() {
    tokio::time::timeout(LIMIT, async {
        let portal = start().await;
        let store = Arc::new(MemoryStore::new());
        let app = app(&portal, store.clone());
        let code = portal.authorization_code();
        let record = app.exchange_code(&code).await.unwrap();
        assert_eq!(record.member_id, portal.member_id());
        assert!(!format!("{record:?}").contains(&record.tokens.access_token));
        assert!(store.load(&record.member_id).await.unwrap().is_some());
        let client = app.client(&record.member_id).await.unwrap();
        client.call_raw("app.info", &json!({})).await.unwrap();
        // A code works once; the error does not repeat it or the secret.
        let e = app.exchange_code(&code).await.unwrap_err();
        assert!(e.to_string().contains("invalid_grant"), "{e}");
        assert!(!e.to_string().contains(&code), "{e}");
        assert!(
            !e.to_string().contains(&portal.config().client_secret),
            "{e}"
        );
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn two_processes_sharing_sqlite_refresh_once_and_the_loser_reloads() {
    tokio::time::timeout(LIMIT, async {
        let portal = start().await;
        let path = std::env::temp_dir().join(format!(
            "bitrix24-events-{}-{}.sqlite",
            std::process::id(),
            portal.member_id()
        ));
        let _ = std::fs::remove_file(&path);
        let a = app(&portal, Arc::new(SqliteStore::open(&path).unwrap()));
        let b = app(&portal, Arc::new(SqliteStore::open(&path).unwrap()));
        let record = a.exchange_code(&portal.authorization_code()).await.unwrap();
        let member = record.member_id.clone();
        let (ca, cb) = (
            a.client(&member).await.unwrap(),
            b.client(&member).await.unwrap(),
        );
        ca.call_raw("app.info", &json!({})).await.unwrap();
        cb.call_raw("app.info", &json!({})).await.unwrap();

        // Sequential: A refreshes and stores; B takes A's tokens instead of refreshing.
        portal.expire_access_tokens();
        ca.call_raw("app.info", &json!({})).await.unwrap();
        cb.call_raw("app.info", &json!({})).await.unwrap();
        assert_eq!(portal.stats().refreshes, 1);
        assert_eq!(ca.oauth_tokens(), cb.oauth_tokens());

        // At the same time: one refresh wins, the other process reloads, neither fails.
        portal.expire_access_tokens();
        let empty = json!({});
        let (ra, rb) = tokio::join!(
            ca.call_raw("app.info", &empty),
            cb.call_raw("app.info", &empty)
        );
        ra.unwrap();
        rb.unwrap();
        assert_eq!(portal.stats().refreshes, 2, "one refresh per expiry");
        let stored = a.store().load(&member).await.unwrap().unwrap();
        assert_eq!(Some(stored.tokens), ca.oauth_tokens());
        assert_eq!(ca.oauth_tokens(), cb.oauth_tokens());
        drop((ca, cb, a, b));
        let _ = std::fs::remove_file(&path);
    })
    .await
    .unwrap();
}

async fn drain(
    stream: impl futures_util::Stream<Item = Result<OfflineEvent, bitrix24_runtime::Error>>,
    take: usize,
) -> Vec<OfflineEvent> {
    let (out, err) = drain_until_error(stream.take(take)).await;
    if let Some(e) = err {
        panic!("the stream failed: {e}");
    }
    out
}

/// An installed app's client on `portal`, with `ONCRMDEALADD` bound offline and seven deals
/// added, so seven events (ids 1 to 7) wait in the queue. The app is returned to keep it alive.
async fn seven_offline_events(portal: &FakePortal) -> (App, Client) {
    let app = app(portal, Arc::new(MemoryStore::new()));
    let record = app
        .exchange_code(&portal.authorization_code())
        .await
        .unwrap();
    let client: Client = app.client(&record.member_id).await.unwrap();
    client
        .call_raw(
            "event.bind",
            &json!({"event": "ONCRMDEALADD", "event_type": "offline"}),
        )
        .await
        .unwrap();
    for i in 0..7 {
        client
            .call_raw(
                "crm.deal.add",
                &json!({"fields": {"TITLE": format!("d{i}")}}),
            )
            .await
            .unwrap();
    }
    (app, client)
}

#[tokio::test]
async fn offline_events_drain_as_a_stream_and_a_stop_halfway_loses_nothing() {
    tokio::time::timeout(LIMIT, async {
        let portal = start().await;
        let (_app, client) = seven_offline_events(&portal).await;
        // A reader stops in the middle of its second batch (after 4 of 7 events).
        let first = drain(OfflineEvents::new().limit(3).stream(&client), 4).await;
        assert_eq!(first.len(), 4);
        let process = first[3].process_id.clone();
        // A parallel reader gets none of the events marked for that process.
        let parallel = drain(
            OfflineEvents::new().limit(3).max_batches(1).stream(&client),
            10,
        )
        .await;
        let marked: Vec<i64> = vec![4, 5, 6];
        assert!(
            parallel.iter().all(|e| !marked.contains(&e.id)),
            "{parallel:?}"
        );
        // Resuming the process gets the rest of its batch again, then the others.
        let rest = drain(
            OfflineEvents::new()
                .limit(3)
                .process_id(process)
                .stream(&client),
            100,
        )
        .await;
        let mut seen: Vec<i64> = first
            .iter()
            .chain(&parallel)
            .chain(&rest)
            .map(|e| e.id)
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, (1..=7).collect::<Vec<_>>(), "every event, none lost");
        assert!(first.iter().chain(&rest).all(|e| e.name == "ONCRMDEALADD"));
        // The queue is empty now.
        let left = client
            .call_raw("event.offline.list", &json!({}))
            .await
            .unwrap();
        assert_eq!(left.result, json!([]));
    })
    .await
    .unwrap();
}

/// Takes events until the stream ends or fails; the error, if any, comes back beside them.
async fn drain_until_error(
    stream: impl futures_util::Stream<Item = Result<OfflineEvent, bitrix24_runtime::Error>>,
) -> (Vec<OfflineEvent>, Option<bitrix24_runtime::Error>) {
    let mut out = Vec::new();
    // Bounded: the queue of these tests holds a handful of events.
    let mut s = std::pin::pin!(stream.take(1_000));
    while let Some(e) = s.next().await {
        match e {
            Ok(e) => out.push(e),
            Err(e) => return (out, Some(e)),
        }
    }
    (out, None)
}

#[tokio::test]
async fn a_failed_offline_clear_loses_nothing_and_a_clear_that_ran_repeats_nothing() {
    use bitrix24_fake_portal::{Fault, FaultKind};
    tokio::time::timeout(LIMIT, async {
        let portal = start().await;
        let (_app, client) = seven_offline_events(&portal).await;
        let queued = |client: Client| async move {
            let r = client
                .call_raw("event.offline.list", &json!({}))
                .await
                .unwrap();
            r.result.as_array().map_or(0, Vec::len)
        };

        // 1. The clear of the first batch fails before it runs (500): the stream fails after
        //    handing out that batch, and the queue still holds all seven.
        portal.inject(Fault {
            method: Some("event.offline.clear".into()),
            kind: FaultKind::ServerError,
            every: 1,
            times: 1,
        });
        let (first, err) = drain_until_error(OfflineEvents::new().limit(3).stream(&client)).await;
        assert!(err.is_some(), "the failed clear must surface as an error");
        assert_eq!(first.len(), 3, "{first:?}");
        assert_eq!(queued(client.clone()).await, 7, "nothing was cleared");
        let process = first[2].process_id.clone();

        // 2. Resuming the process gets that batch again (not confirmed, so not gone), then
        //    the rest; this time the second clear runs but its answer is lost (connection
        //    dropped after the method ran).
        portal.inject(Fault {
            method: Some("event.offline.clear".into()),
            kind: FaultKind::Drop,
            every: 2,
            times: 1,
        });
        let (second, err) = drain_until_error(
            OfflineEvents::new()
                .limit(3)
                .process_id(process.clone())
                .stream(&client),
        )
        .await;
        assert!(err.is_some(), "the lost answer must surface as an error");
        let ids = |v: &[OfflineEvent]| v.iter().map(|e| e.id).collect::<Vec<_>>();
        assert_eq!(
            ids(&second)[..3],
            ids(&first)[..],
            "the unconfirmed batch comes again"
        );
        assert_eq!(second.len(), 6, "{second:?}");
        assert_eq!(
            queued(client.clone()).await,
            1,
            "both batches of the process were cleared"
        );

        // 3. A clear that ran is not undone: resuming again hands out only what is left.
        let process = second[5].process_id.clone();
        let (third, err) = drain_until_error(
            OfflineEvents::new()
                .limit(3)
                .process_id(process)
                .stream(&client),
        )
        .await;
        assert!(err.is_none(), "{err:?}");
        let mut seen: Vec<i64> = ids(&second).into_iter().chain(ids(&third)).collect();
        seen.sort();
        let mut unique = seen.clone();
        unique.dedup();
        assert_eq!(
            unique,
            (1..=7).collect::<Vec<_>>(),
            "every event, none lost"
        );
        assert_eq!(seen, unique, "none handed out twice after its clear ran");
        assert_eq!(queued(client).await, 0);
    })
    .await
    .unwrap();
}
