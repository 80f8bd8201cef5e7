//! The limiter's own tests, on tokio's paused clock: virtual time moves only by the
//! limiter's own sleeps, so the time calls take is exact arithmetic, not a measurement.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::*;

#[tokio::test(start_paused = true)]
async fn headroom_shrinks_the_client_bucket() {
    let limiter = Arc::new(Limiter::new(Limits::custom(10.0, 1.0).with_headroom(3.0)));
    let t0 = Instant::now();
    let mut immediate = 0;
    for _ in 0..20 {
        drop(limiter.acquire("a.get", None).await.unwrap());
        if Instant::now() == t0 {
            immediate += 1;
        }
    }
    assert_eq!(immediate, 7);
}

#[tokio::test(start_paused = true)]
async fn the_method_rate_spaces_calls_after_the_burst() {
    let limiter = Arc::new(Limiter::new(
        Limits::custom(10.0, 1000.0)
            .with_headroom(0.0)
            .with_method_rate("x.list", 5.0),
    ));
    let t0 = Instant::now();
    for _ in 0..30 {
        drop(limiter.acquire("x.list", None).await.unwrap());
    }
    // 10 at once, then 20 at 5 per second.
    assert_eq!((Instant::now() - t0).as_millis(), 4000);
    // Another method is not held back by this one's rate.
    let t1 = Instant::now();
    drop(limiter.acquire("y.list", Some(1000.0)).await.unwrap());
    assert_eq!(Instant::now(), t1);
}

#[tokio::test(start_paused = true)]
async fn a_refusal_fills_the_bucket_and_a_block_holds_the_method() {
    let limiter = Arc::new(Limiter::new(
        Limits::custom(50.0, 2.0).with_operating_budget(10.0),
    ));
    let t0 = Instant::now();
    limiter.bucket_full().await;
    drop(limiter.acquire("a.get", None).await.unwrap());
    assert_eq!((Instant::now() - t0).as_millis(), 500);
    // No reset time known: held for `operating_block` (60 s); a wait past `max_wait` fails
    // at once.
    let quick = Arc::new(Limiter::new(
        Limits::custom(50.0, 2.0).with_max_wait(Duration::from_secs(30)),
    ));
    assert_eq!(quick.method_blocked("a.add").await, Duration::from_secs(60));
    let t1 = Instant::now();
    let err = quick.acquire("a.add", None).await.err().unwrap();
    assert_eq!(err.kind(), crate::ErrorKind::OperatingTimeLimit);
    assert_eq!(Instant::now(), t1);
    // Other methods go on.
    drop(quick.acquire("a.get", None).await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_wait_past_max_wait_fails_early() {
    let limiter = Arc::new(Limiter::new(
        Limits::custom(2.0, 1.0)
            .with_headroom(0.0)
            .with_max_wait(Duration::from_secs(5)),
    ));
    // 2 at once, then one per second: calls 3 to 7 fit 5 s, later ones fail.
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let l = limiter.clone();
            tokio::spawn(async move { l.acquire("a.get", None).await.map(drop) })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(e) => assert_eq!(e.kind(), crate::ErrorKind::RateLimited),
        }
    }
    assert_eq!(ok, 7);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_waiter_books_nothing() {
    let limiter = Arc::new(Limiter::new(Limits::custom(1.0, 1.0).with_headroom(0.0)));
    drop(limiter.acquire("a.get", None).await.unwrap());
    // 100 waiters that give up: none of them keeps a place.
    for _ in 0..100 {
        let l = limiter.clone();
        let waiter = tokio::spawn(async move { l.acquire("a.get", None).await.map(drop) });
        tokio::task::yield_now().await;
        waiter.abort();
    }
    let t0 = Instant::now();
    drop(limiter.acquire("a.get", None).await.unwrap());
    assert!(Instant::now() - t0 <= Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn a_dropped_permit_is_no_longer_in_flight() {
    let limiter = Arc::new(Limiter::new(
        Limits::custom(50.0, 100.0).with_operating_budget(1.0),
    ));
    let p = limiter.acquire("a.add", None).await.unwrap();
    p.observe(Some(&crate::Time {
        operating: Some(0.1),
        processing: Some(0.4),
        ..crate::Time::default()
    }));
    p.finish().await;
    // 0.1 + 2 * 0.4 fits 1; a third call in flight would not.
    let a = limiter.acquire("a.add", None).await.unwrap();
    let b = limiter.acquire("a.add", None).await.unwrap();
    let t0 = Instant::now();
    let third = {
        let l = limiter.clone();
        tokio::spawn(async move { l.acquire("a.add", None).await.map(drop) })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(!third.is_finished());
    // Cancelled in flight: dropping the permit ends it too.
    drop(a);
    third.await.unwrap().unwrap();
    assert!(Instant::now() - t0 < Duration::from_secs(3));
    b.finish().await;
}

#[tokio::test(start_paused = true)]
async fn nonsense_figures_do_not_panic() {
    let mut limits = Limits::standard().with_method_rate("m.get", f64::NAN);
    limits.burst = f64::INFINITY;
    limits.per_second = 0.0;
    limits.headroom = -3.0;
    limits.max_wait = Duration::MAX;
    limits.operating_block = Duration::MAX;
    let limiter = Arc::new(Limiter::new(limits));
    drop(limiter.acquire("m.get", Some(f64::INFINITY)).await.unwrap());
    drop(limiter.acquire("m.get", Some(-1.0)).await.unwrap());
    limiter.bucket_full().await;
    limiter.method_blocked("m.get").await;
    // Blocked for the capped day, which the capped max_wait allows (virtual time).
    let t0 = Instant::now();
    drop(limiter.acquire("m.get", Some(0.0)).await.unwrap());
    assert!(Instant::now() - t0 >= Duration::from_secs(86_399));
}

/// Calls inside a batch count against their own methods' budgets: a batch waits while a
/// nested method is held, counts its calls in flight, and their `result_time` adds to
/// the method's figure.
#[tokio::test(start_paused = true)]
async fn nested_calls_count_against_their_methods() {
    let limiter = Arc::new(Limiter::new(
        Limits::custom(50.0, 100.0).with_operating_budget(10.0),
    ));
    let counts: std::collections::BTreeMap<String, u32> =
        [("a.add".to_owned(), 3), ("b.get".to_owned(), 1)].into();
    // Nine seconds of a.add recorded through nested answers: one more call of 1 s fits,
    // then the figure itself is at the budget.
    for _ in 0..9 {
        limiter.observe_nested(
            "A.ADD",
            &crate::Time {
                processing: Some(1.0),
                ..crate::Time::default()
            },
        );
    }
    let nested = limiter.acquire_nested(&counts).await.unwrap();
    assert_eq!(nested.calls.len(), 2, "one a.add and one b.get fit");
    drop(nested);
    // A held method holds the batch.
    limiter.method_blocked("b.get").await;
    let t0 = Instant::now();
    drop(limiter.acquire_nested(&counts).await.unwrap());
    assert_eq!(Instant::now() - t0, Duration::from_secs(60));
}

/// A call cancelled while it waits for its place gives the place back: cancelled
/// waiters do not push later calls back.
#[tokio::test(start_paused = true)]
async fn a_cancelled_acquire_gives_its_place_back() {
    let limiter = Arc::new(Limiter::new(Limits::custom(2.0, 1.0).with_headroom(0.0)));
    drop(limiter.acquire("a.get", None).await.unwrap());
    drop(limiter.acquire("a.get", None).await.unwrap());
    // Ten callers give up after 10 ms of waiting.
    for _ in 0..10 {
        let waiting = limiter.acquire("a.get", None);
        assert!(
            tokio::time::timeout(Duration::from_millis(10), waiting)
                .await
                .is_err()
        );
    }
    // Two intervals later the bucket has room again, as if they had never asked.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t0 = Instant::now();
    drop(limiter.acquire("a.get", None).await.unwrap());
    assert!(
        Instant::now() - t0 < Duration::from_secs(1),
        "{:?}",
        Instant::now() - t0
    );
}
