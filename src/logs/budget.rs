//! The request budget shared by every tail, and the back-off after throttling.
//!
//! FilterLogEvents has a low per-account, per-region rate limit (a few requests per
//! second). Every tail asks one shared [`RequestBudget`] (a token bucket) before each
//! request, so any number of log views together stay under it. When AWS still answers
//! with throttling, [`Backoff`] spaces the retries exponentially with jitter from a
//! seeded generator. Waiting uses tokio's clock, so tests pause and advance it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

/// Default budget: requests per second.
pub const DEFAULT_REQUESTS_PER_SEC: f64 = 5.0;

/// A token bucket: at most `burst` requests at once, refilled at `per_second`.
#[derive(Debug)]
pub struct RequestBudget {
    per_second: f64,
    burst: f64,
    bucket: Mutex<Bucket>,
    granted: AtomicU64,
}

#[derive(Debug)]
struct Bucket {
    /// Tokens now; negative while requests are queued for tokens not yet refilled.
    tokens: f64,
    refilled_at: Instant,
}

impl Default for RequestBudget {
    fn default() -> Self {
        Self::new(DEFAULT_REQUESTS_PER_SEC, DEFAULT_REQUESTS_PER_SEC as u32)
    }
}

impl RequestBudget {
    /// A full bucket of `burst` tokens (at least 1) refilled at `per_second` (at least
    /// 0.01) tokens per second.
    pub fn new(per_second: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Self {
            per_second: per_second.max(0.01),
            burst,
            bucket: Mutex::new(Bucket {
                tokens: burst,
                refilled_at: Instant::now(),
            }),
            granted: AtomicU64::new(0),
        }
    }

    /// Waits until a request may be sent, and takes its token. Callers are served in
    /// the order they asked.
    pub async fn acquire(&self) {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Requests granted so far.
    pub fn granted(&self) -> u64 {
        self.granted.load(Ordering::Relaxed)
    }

    /// Takes a token now (possibly going into debt) and returns how long to wait before
    /// using it.
    fn reserve(&self) -> Duration {
        self.granted.fetch_add(1, Ordering::Relaxed);
        let mut bucket = self
            .bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let elapsed = now.duration_since(bucket.refilled_at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.refilled_at = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / self.per_second)
        }
    }
}

/// Exponential back-off with "equal jitter": the n-th wait is uniformly between half and
/// all of `min(max, base * 2^n)`.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
    rng: u64,
}

impl Backoff {
    /// A back-off starting at `base`, capped at `max`, with jitter from `seed`.
    pub fn new(base: Duration, max: Duration, seed: u64) -> Self {
        Self {
            base,
            max,
            attempt: 0,
            // xorshift must not start at zero.
            rng: seed | 1,
        }
    }

    /// The next wait; each call doubles the ceiling.
    pub fn next_delay(&mut self) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let fraction = 0.5 + 0.5 * self.next_unit();
        ceiling.mul_f64(fraction)
    }

    /// Retries so far since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Back to the first step (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// A number in [0, 1) from xorshift64.
    fn next_unit(&mut self) -> f64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_is_free_then_requests_are_paced() {
        let budget = RequestBudget::new(5.0, 5);
        let t0 = Instant::now();
        for _ in 0..5 {
            budget.acquire().await;
        }
        assert_eq!(t0.elapsed(), Duration::ZERO);
        for _ in 0..10 {
            budget.acquire().await;
        }
        // Ten more at five per second take two seconds.
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(1_990) && took <= Duration::from_millis(2_010),
            "{took:?}"
        );
        assert_eq!(budget.granted(), 15);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_rate() {
        let budget = std::sync::Arc::new(RequestBudget::new(2.0, 1));
        let t0 = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..3 {
            let b = budget.clone();
            handles.push(tokio::spawn(async move {
                for _ in 0..3 {
                    b.acquire().await;
                }
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
        // Nine requests, one free, eight at two per second.
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(3_990) && took <= Duration::from_millis(4_010),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_bucket_refills_only_to_its_burst() {
        let budget = RequestBudget::new(1.0, 2);
        tokio::time::sleep(Duration::from_secs(60)).await;
        let t0 = Instant::now();
        for _ in 0..3 {
            budget.acquire().await;
        }
        assert_eq!(t0.elapsed(), Duration::from_secs(1));
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(8), 42);
        let delays: Vec<Duration> = (0..6).map(|_| b.next_delay()).collect();
        let ceilings = [1, 2, 4, 8, 8, 8];
        for (d, c) in delays.iter().zip(ceilings) {
            let c = Duration::from_secs(c);
            assert!(*d >= c / 2 && *d <= c, "{d:?} not in [{:?}, {c:?}]", c / 2);
        }
        assert_eq!(b.attempts(), 6);
        b.reset();
        assert!(b.next_delay() <= Duration::from_secs(1));
    }

    #[test]
    fn backoff_is_reproducible_from_its_seed() {
        let run = |seed| {
            let mut b = Backoff::new(Duration::from_secs(1), Duration::from_secs(30), seed);
            (0..5).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}
