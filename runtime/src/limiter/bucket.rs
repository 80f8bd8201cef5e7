//! The leaky bucket's arithmetic, kept as the time at which the bucket would be empty
//! ("theoretical arrival time", GCRA): a request may go once `tat - now <= tau`, and each
//! request pushes `tat` on by one interval. The same arithmetic runs in the Redis script
//! (`redis.rs`), there on the Redis server's clock.

use std::time::Duration;

use tokio::time::Instant;

/// A bucket's figures: `burst` places, draining at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BucketSpec {
    /// Seconds between two requests at the sustained rate.
    pub(crate) interval: f64,
    /// How far `tat` may run ahead of now: `(burst - 1) * interval`.
    pub(crate) tau: f64,
}

impl BucketSpec {
    pub(crate) fn new(burst: f64, per_second: f64) -> BucketSpec {
        let interval = 1.0 / per_second;
        BucketSpec {
            interval,
            tau: (burst - 1.0).max(0.0) * interval,
        }
    }
}

/// One bucket's state.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Bucket {
    tat: Option<Instant>,
}

impl Bucket {
    /// Takes a place now if one is free (`None`); otherwise says how long until one is,
    /// taking nothing, so a caller that gives up leaves no place booked.
    pub(crate) fn take(&mut self, spec: BucketSpec, now: Instant) -> Option<Duration> {
        let tat = self.tat.map_or(now, |t| t.max(now));
        let earliest = tat
            .checked_sub(Duration::from_secs_f64(spec.tau))
            .unwrap_or(now);
        if earliest > now {
            return Some(earliest - now);
        }
        self.tat = Some(tat + Duration::from_secs_f64(spec.interval));
        None
    }

    /// Records a place taken now elsewhere (the shared bucket), whether or not this copy
    /// had it free: the copy then knows at least this process's own requests.
    pub(crate) fn record(&mut self, spec: BucketSpec, now: Instant) {
        let tat = self.tat.map_or(now, |t| t.max(now));
        self.tat = Some(tat + Duration::from_secs_f64(spec.interval));
    }

    /// Treats the bucket as full now (the portal just said it is).
    pub(crate) fn fill(&mut self, spec: BucketSpec, now: Instant) {
        let full = now + Duration::from_secs_f64(spec.tau + spec.interval);
        self.tat = Some(self.tat.map_or(full, |t| t.max(full)));
    }

    /// Whether the bucket is empty at `now` (its state can be forgotten).
    pub(crate) fn is_empty(&self, now: Instant) -> bool {
        self.tat.is_none_or(|t| t <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Taking places on a clock that moves to each announced time: `burst` at once, then
    /// one per interval.
    #[test]
    fn burst_then_one_per_interval() {
        let t0 = Instant::now();
        let spec = BucketSpec::new(5.0, 2.0);
        let mut b = Bucket::default();
        let mut now = t0;
        let mut goes = Vec::new();
        for _ in 0..8 {
            if let Some(wait) = b.take(spec, now) {
                now += wait;
                assert_eq!(b.take(spec, now), None);
            }
            goes.push((now - t0).as_millis());
        }
        assert_eq!(goes, [0, 0, 0, 0, 0, 500, 1000, 1500]);
        // After a long pause the bucket is empty again.
        let later = t0 + Duration::from_secs(100);
        assert!(b.is_empty(later));
        assert_eq!(b.take(spec, later), None);
    }

    #[test]
    fn a_refused_take_books_nothing() {
        let t0 = Instant::now();
        let spec = BucketSpec::new(1.0, 1.0);
        let mut b = Bucket::default();
        assert_eq!(b.take(spec, t0), None);
        for _ in 0..100 {
            assert_eq!(b.take(spec, t0), Some(Duration::from_secs(1)));
        }
    }

    #[test]
    fn a_full_bucket_holds_the_next_request_one_interval() {
        let t0 = Instant::now();
        let spec = BucketSpec::new(3.0, 4.0);
        let mut b = Bucket::default();
        b.fill(spec, t0);
        assert_eq!(b.take(spec, t0), Some(Duration::from_millis(250)));
    }
}
