//! Paging through `crm.deal.list` (a fixture spec generated into `bitrix24-tests`) on the
//! fake portal, with faults injected: nothing lost, nothing repeated.

use std::time::Duration;

use bitrix24_fake_portal::{Config, FakePortal, Fault, FaultKind, deals};
use bitrix24_runtime::{Client, FastList, Limits, RetryPolicy};
use bitrix24_tests::api::crm::deal::ListRequest;
use futures_util::StreamExt;

const LIMIT: Duration = Duration::from_secs(90);

fn config() -> Config {
    Config {
        burst: 50.0,
        per_second: 200.0,
        ..Config::default()
    }
}

fn client(portal: &FakePortal) -> Client {
    Client::webhook(&portal.webhook_url())
        // 20 places of headroom absorb 100 ms of scheduling jitter at 200 per second.
        .limits(
            Limits::custom(50.0, 200.0)
                .with_headroom(20.0)
                .with_method_rates(false),
        )
        .retry(RetryPolicy::new(
            8,
            Duration::from_millis(5),
            Duration::from_millis(50),
        ))
        .build()
        .unwrap()
}

/// Every 5th, 7th, 11th and 13th list request fails, in four different ways.
fn inject_faults(portal: &FakePortal, method: &str, times: u64) {
    for (every, kind) in [
        (5, FaultKind::Unavailable),
        (7, FaultKind::Drop),
        (11, FaultKind::Malformed),
        (13, FaultKind::ServerError),
    ] {
        portal.inject(Fault {
            method: Some(method.into()),
            kind,
            every,
            times,
        });
    }
}

fn assert_exactly(ids: &[i64], n: i64) {
    let expected: Vec<i64> = (1..=n).collect();
    if ids != expected.as_slice() {
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_items_by_next_with_faults() {
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(config()).await.unwrap();
        portal.seed_list("crm.deal.list", deals(10_000));
        inject_faults(&portal, "crm.deal.list", 20);
        let client = client(&portal);
        let ids: Vec<i64> = client
            .items(&ListRequest::default())
            .map(|item| id_of(item.unwrap()))
            .collect()
            .await;
        assert_exactly(&ids, 10_000);
        let stats = portal.stats();
        assert!(stats.faults >= 40, "{stats:?}");
        assert_eq!(stats.rate_rejections, 0);
        // 200 pages, plus exactly one repeat per fault.
        assert_eq!(stats.requests, 200 + stats.faults, "{stats:?}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_carry_next_and_total() {
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(config()).await.unwrap();
        portal.seed_list("crm.deal.list", deals(120));
        let client = client(&portal);
        let pages: Vec<_> = client
            .pages(&ListRequest::default())
            .map(Result::unwrap)
            .collect()
            .await;
        let shape: Vec<_> = pages
            .iter()
            .map(|p| (p.result.len(), p.next, p.total))
            .collect();
        assert_eq!(
            shape,
            [
                (50, Some(50), Some(120)),
                (50, Some(100), Some(120)),
                (20, None, Some(120))
            ]
        );
        // Starting later.
        let request = ListRequest::new().start(100);
        let n = client.items(&request).count().await;
        assert_eq!(n, 20);
        // An empty list is one empty page.
        portal.seed_list("crm.deal.list", Vec::new());
        let pages: Vec<_> = client.pages(&ListRequest::default()).collect().await;
        assert_eq!(pages.len(), 1);
        assert!(pages[0].as_ref().unwrap().result.is_empty());
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_list_of_ten_thousand_with_faults() {
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(config()).await.unwrap();
        // Gaps in the IDs: only odd IDs up to 20,000 exist.
        let rows: Vec<_> = deals(20_000)
            .into_iter()
            .filter(|d| d["ID"].as_str().unwrap().parse::<i64>().unwrap() % 2 == 1)
            .collect();
        portal.seed_list("crm.deal.list", rows);
        for (every, kind) in [
            (2, FaultKind::Unavailable),
            (3, FaultKind::Drop),
            (3, FaultKind::Malformed),
        ] {
            portal.inject(Fault {
                method: Some("batch".into()),
                kind,
                every,
                times: 1,
            });
        }
        let client = client(&portal);
        let ids: Vec<i64> = FastList::new(ListRequest::default())
            .parallel(4)
            .stream(&client)
            .map(|item| id_of(item.unwrap()))
            .collect()
            .await;
        let halves: Vec<i64> = ids.iter().map(|i| (i + 1) / 2).collect();
        assert!(ids.iter().all(|i| i % 2 == 1));
        assert_exactly(&halves, 10_000);
        let stats = portal.stats();
        assert_eq!(stats.faults, 3, "{stats:?}");
        assert_eq!(stats.rate_rejections, 0);
        // 10,000 items are 200 pages: one request for the ID bounds, one batch of 50
        // pages per range (4 ranges of about 2,500 items, each finishing within it), and one
        // repeat per fault.
        assert_eq!(stats.requests, 1 + 4 + 3, "{stats:?}");
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_list_edge_cases() {
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(config()).await.unwrap();
        let client = client(&portal);
        for n in [0usize, 1, 49, 50, 51, 2_500, 2_501] {
            portal.seed_list("crm.deal.list", deals(n));
            for parallel in [1, 3] {
                let ids: Vec<i64> = FastList::new(ListRequest::default())
                    .parallel(parallel)
                    .pages_per_batch(7)
                    .stream(&client)
                    .map(|item| id_of(item.unwrap()))
                    .collect()
                    .await;
                assert_exactly(&ids, n as i64);
            }
        }
        // Extreme IDs do not overflow the range arithmetic.
        let extreme = [i64::MIN + 1, -5, 0, 7, i64::MAX];
        let rows = extreme
            .iter()
            .map(|id| serde_json::json!({ "ID": id.to_string(), "TITLE": "x" }))
            .collect();
        portal.seed_list("crm.deal.list", rows);
        let ids: Vec<i64> = FastList::new(ListRequest::default())
            .parallel(4)
            .stream(&client)
            .map(|item| id_of(item.unwrap()))
            .collect()
            .await;
        assert_eq!(ids, extreme);
        // A stream held half-way stops fetching: at most two batches wait per range.
        portal.seed_list("crm.deal.list", deals(100_000));
        let before = portal.stats().requests;
        let mut held = std::pin::pin!(
            FastList::new(ListRequest::default())
                .parallel(2)
                .stream(&client)
        );
        for _ in 0..10 {
            held.next().await.unwrap().unwrap();
        }
        // Give the producers time to run ahead as far as they can (an upper bound is
        // asserted, so a short pause cannot make this pass wrongly).
        tokio::time::sleep(Duration::from_millis(500)).await;
        let made = portal.stats().requests - before;
        // The bounds request; per range one batch waiting in its channel and one blocked on
        // sending; and three in the hand-over to the caller (being read, queued, being
        // forwarded). An unbounded walk would make 41.
        assert!(made <= 1 + 2 * 2 + 3, "{made} requests for 10 items");
        // A stream dropped half-way stops its tasks without trouble.
        portal.seed_list("crm.deal.list", deals(5_000));
        let first: Vec<_> = FastList::new(ListRequest::default())
            .stream(&client)
            .take(10)
            .collect()
            .await;
        assert_eq!(first.len(), 10);
    })
    .await
    .unwrap();
}

fn id_of(deal: bitrix24_tests::api::crm::deal::ListResponseDeal) -> i64 {
    deal.id
        .expect("every deal has an ID")
        .parse()
        .expect("numeric ID")
}

// ---- Lists of every shape: rows inside `result` (`items`, `tasks`), lowercase `id` ------

fn item_request() -> bitrix24_tests::api::crm::item::ListRequest {
    use bitrix24_tests::api::crm::item::{ListRequest, ListRequestEntityTypeId};
    ListRequest::new(ListRequestEntityTypeId::Integer(2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrapped_lists_by_next_and_by_fast_list_with_faults() {
    use bitrix24_fake_portal::{crm_items, tasks};
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(config()).await.unwrap();
        portal.seed_wrapped_list("crm.item.list", "items", "id", crm_items(10_000));
        portal.seed_wrapped_list("tasks.task.list", "tasks", "id", tasks(1_000));
        for (every, kind) in [
            (2, FaultKind::Unavailable),
            (3, FaultKind::Drop),
            (3, FaultKind::Malformed),
            (5, FaultKind::ServerError),
        ] {
            portal.inject(Fault {
                method: Some("batch".into()),
                kind,
                every,
                times: 2,
            });
        }
        let client = client(&portal);
        let ids: Vec<i64> = FastList::new(item_request())
            .parallel(4)
            .stream(&client)
            .map(|item| item.unwrap().id.expect("an id"))
            .collect()
            .await;
        assert_exactly(&ids, 10_000);
        assert!(portal.stats().faults >= 4, "{:?}", portal.stats());
        // Page by page through `next`, rows from `result.tasks`.
        inject_faults(&portal, "tasks.task.list", 3);
        let request = bitrix24_tests::api::tasks::task::ListRequest::default();
        let ids: Vec<i64> = client
            .items(&request)
            .map(|t| {
                let t = serde_json::to_value(t.unwrap()).unwrap();
                task_id(&t)
            })
            .collect()
            .await;
        assert_exactly(&ids, 1_000);
        // And by FastList.
        let ids: Vec<i64> = FastList::new(request)
            .stream(&client)
            .map(|t| {
                let t = serde_json::to_value(t.unwrap()).unwrap();
                task_id(&t)
            })
            .collect()
            .await;
        assert_exactly(&ids, 1_000);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fast_list_resumes_after_the_last_id_seen() {
    use bitrix24_fake_portal::crm_items;
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(config()).await.unwrap();
        portal.seed_wrapped_list("crm.item.list", "items", "id", crm_items(10_000));
        inject_faults(&portal, "batch", 2);
        let client = client(&portal);
        // An export that "crashes" after 3,210 items, keeping the last ID it saw...
        let mut first: Vec<i64> = FastList::new(item_request())
            .parallel(3)
            .stream(&client)
            .take(3_210)
            .map(|item| item.unwrap().id.unwrap())
            .collect()
            .await;
        let cursor = *first.last().unwrap();
        // ...continues from it, and together they are the whole list, once.
        let rest: Vec<i64> = FastList::new(item_request())
            .parallel(3)
            .resume_after(cursor)
            .stream(&client)
            .map(|item| item.unwrap().id.unwrap())
            .collect()
            .await;
        assert!(rest.iter().all(|id| *id > cursor));
        first.extend(rest);
        assert_exactly(&first, 10_000);
    })
    .await
    .unwrap();
}

fn task_id(t: &serde_json::Value) -> i64 {
    let id = &t["id"];
    id.as_i64()
        .or_else(|| id.as_str()?.parse().ok())
        .expect("a numeric id")
}

/// A list named at run time (`RawList`, rows as JSON, its place and ID key from the fixture
/// method table): the same walk, nothing lost or repeated with faults, also when wrapped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_fast_list_by_name_with_faults() {
    use bitrix24_fake_portal::crm_items;
    use bitrix24_runtime::RawList;
    tokio::time::timeout(LIMIT, async {
        let portal = FakePortal::start(config()).await.unwrap();
        portal.seed_list("crm.deal.list", deals(5_000));
        portal.seed_wrapped_list("crm.item.list", "items", "id", crm_items(3_000));
        inject_faults(&portal, "batch", 2);
        let client = client(&portal);
        let deal = bitrix24_tests::api::registry::find("crm.deal.list").unwrap();
        let ids: Vec<i64> = FastList::new(RawList::from_info(deal, serde_json::json!({})))
            .parallel(3)
            .stream(&client)
            .map(|row| {
                let row = row.unwrap();
                row["ID"].as_str().unwrap().parse::<i64>().unwrap()
            })
            .collect()
            .await;
        assert_exactly(&ids, 5_000);
        let item = bitrix24_tests::api::registry::find("crm.item.list").unwrap();
        assert_eq!((item.items_key, item.id_key), (Some("items"), "id"));
        let params = serde_json::json!({ "entityTypeId": 2 });
        let ids: Vec<i64> = FastList::new(RawList::from_info(item, params))
            .resume_after(1_000)
            .stream(&client)
            .map(|row| task_id(&row.unwrap()))
            .collect()
            .await;
        let expected: Vec<i64> = (1_001..=3_000).collect();
        assert_eq!(ids, expected);
        assert!(portal.stats().faults >= 2, "{:?}", portal.stats());
    })
    .await
    .unwrap();
}
