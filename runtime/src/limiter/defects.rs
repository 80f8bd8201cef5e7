//! Regression tests of the limiter's defects (issue 9), on tokio's paused clock: virtual
//! time moves only by the limiter's own sleeps, so every wait below is arithmetic.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::*;
use crate::client::Time;

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Lets every spawned task run up to its first real wait.
async fn settle() {
    for _ in 0..50 {
        tokio::task::yield_now().await;
    }
}

/// Defect 5: a queue of one method (held back by its own rate) must not book the portal
/// bucket at its future times, so a call of another method goes while the portal is idle.
#[tokio::test(start_paused = true)]
async fn a_queue_of_one_method_does_not_hold_back_other_methods() {
    let limiter = Arc::new(Limiter::new(
        Limits::custom(5.0, 100.0)
            .with_headroom(0.0)
            .with_method_rate("x.list", 1.0),
    ));
    let queued: Vec<_> = (0..30)
        .map(|_| {
            let l = limiter.clone();
            tokio::spawn(async move { drop(l.acquire("x.list", None).await.unwrap()) })
        })
        .collect();
    settle().await;
    let t0 = Instant::now();
    drop(limiter.acquire("y.get", None).await.unwrap());
    let waited = Instant::now() - t0;
    assert!(
        waited < Duration::from_millis(100),
        "y.get waited {waited:?}"
    );
    for t in queued {
        t.await.unwrap();
    }
}

/// Defect 5 at Enterprise figures: 1,000 queued calls of a method with a rate of its own
/// do not make a call of another method wait minutes.
#[tokio::test(start_paused = true)]
async fn enterprise_a_thousand_queued_calls_do_not_stall_another_method() {
    let limiter = Arc::new(Limiter::new(
        Limits::enterprise().with_method_rate("crm.deal.add", 2.0),
    ));
    let queued: Vec<_> = (0..1000)
        .map(|_| {
            let l = limiter.clone();
            tokio::spawn(async move { drop(l.acquire("crm.deal.add", None).await.unwrap()) })
        })
        .collect();
    settle().await;
    let t0 = Instant::now();
    drop(limiter.acquire("crm.deal.get", None).await.unwrap());
    let waited = Instant::now() - t0;
    assert!(
        waited < Duration::from_secs(1),
        "crm.deal.get waited {waited:?}"
    );
    for t in queued {
        t.abort();
    }
}

/// Defect 6: the spec format's default rate (2, which every imported spec carries and
/// the docs do not state) is not a per-method limit: on Enterprise figures 500 calls of
/// one method go at the portal's 5 per second, not at 2.
#[tokio::test(start_paused = true)]
async fn the_default_spec_rate_does_not_cap_a_method_below_the_portal() {
    let limiter = Arc::new(Limiter::new(Limits::enterprise()));
    let t0 = Instant::now();
    for _ in 0..500 {
        drop(limiter.acquire("crm.deal.list", Some(2.0)).await.unwrap());
    }
    // 248 places at once (250 less the headroom of 2), then 252 at 5 per second.
    let took = (Instant::now() - t0).as_secs_f64();
    assert!((took - 50.4).abs() < 0.01, "500 calls took {took} s");
}

/// Defect 6, the other half: a rate a spec states deliberately (anything but the
/// default) and a configured one still apply.
#[tokio::test(start_paused = true)]
async fn stated_and_configured_method_rates_still_apply() {
    let limiter = Arc::new(Limiter::new(
        Limits::custom(10.0, 1000.0)
            .with_headroom(0.0)
            .with_method_rate("b.list", 4.0),
    ));
    let t0 = Instant::now();
    for _ in 0..30 {
        drop(limiter.acquire("a.list", Some(5.0)).await.unwrap());
    }
    // 10 at once, then 20 at 5 per second.
    assert_eq!((Instant::now() - t0).as_millis(), 4000);
    let t1 = Instant::now();
    for _ in 0..30 {
        drop(limiter.acquire("b.list", Some(2.0)).await.unwrap());
    }
    assert_eq!((Instant::now() - t1).as_millis(), 5000);
}

fn time(operating: f64, reset_in: f64, processing: f64) -> Time {
    let now = unix_now();
    Time {
        start: Some(now),
        finish: Some(now),
        duration: Some(processing),
        processing: Some(processing),
        operating: Some(operating),
        operating_reset_at: Some(now + reset_in),
        ..Time::default()
    }
}

/// Defect 7: calls still queued in the limiter are not in flight; with real usage near
/// zero nobody waits for the budget's reset.
#[tokio::test(start_paused = true)]
async fn queued_calls_do_not_count_against_the_server_time_budget() {
    let limiter = Arc::new(Limiter::new(
        Limits::custom(5.0, 1.0)
            .with_headroom(0.0)
            .with_operating_budget(10.0),
    ));
    let first = limiter.acquire("a.add", None).await.unwrap();
    first.observe(Some(&time(1.0, 300.0, 0.5)));
    drop(first);
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let l = limiter.clone();
            tokio::spawn(async move { drop(l.acquire("a.add", None).await.unwrap()) })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // 4 places left in the bucket, then 36 at 1 per second: about 36 s, not the 300 s
    // until the reset.
    let took = Instant::now() - t0;
    assert!(took < Duration::from_secs(60), "40 calls took {took:?}");
}

/// Defect 7: one slow call does not make the cost estimate huge for ever.
#[tokio::test(start_paused = true)]
async fn the_cost_estimate_follows_recent_calls() {
    let limiter = Arc::new(Limiter::new(
        Limits::custom(50.0, 100.0).with_operating_budget(100.0),
    ));
    let slow = limiter.acquire("a.add", None).await.unwrap();
    slow.observe(Some(&time(1.0, 300.0, 60.0)));
    drop(slow);
    for _ in 0..20 {
        let p = limiter.acquire("a.add", None).await.unwrap();
        p.observe(Some(&time(1.0, 300.0, 0.01)));
    }
    // Three calls in flight at once fit 100 s easily at today's cost.
    let t0 = Instant::now();
    let held: Vec<_> =
        futures_util::future::join_all((0..3).map(|_| limiter.acquire("a.add", None))).await;
    let waited = Instant::now() - t0;
    assert!(held.iter().all(Result::is_ok));
    assert!(waited < Duration::from_secs(1), "waited {waited:?}");
}

/// Defect 8: an `OPERATION_TIME_LIMIT` after an answer whose reset has long passed does
/// not block the method for ten minutes.
#[tokio::test(start_paused = true)]
async fn a_stale_reset_does_not_block_for_ten_minutes() {
    let limiter = Arc::new(Limiter::new(Limits::standard()));
    let p = limiter.acquire("a.add", None).await.unwrap();
    p.observe(Some(&time(470.0, -3600.0, 1.0)));
    drop(p);
    limiter.method_blocked("a.add").await;
    let t0 = Instant::now();
    drop(limiter.acquire("a.add", None).await.unwrap());
    let waited = Instant::now() - t0;
    assert!(waited <= Duration::from_secs(61), "blocked for {waited:?}");
}

/// Defect 8: a plausible reset is used as it is.
#[tokio::test(start_paused = true)]
async fn a_plausible_reset_ends_the_block() {
    let limiter = Arc::new(Limiter::new(Limits::standard()));
    let p = limiter.acquire("a.add", None).await.unwrap();
    p.observe(Some(&time(470.0, 30.0, 1.0)));
    drop(p);
    limiter.method_blocked("a.add").await;
    let t0 = Instant::now();
    drop(limiter.acquire("a.add", None).await.unwrap());
    let waited = (Instant::now() - t0).as_secs_f64();
    assert!((29.0..=31.0).contains(&waited), "blocked for {waited} s");
}
