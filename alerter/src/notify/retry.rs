//! How long to wait between delivery attempts.

use std::time::{Duration, SystemTime};

/// Retries with capped exponential backoff and jitter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first (the notifier's `retries`); 0 sends once.
    pub retries: u32,
    /// The wait before the first retry; it doubles for each retry after.
    pub base_delay: Duration,
    /// Ceiling of the doubling, so a long outage is retried at a steady pace
    /// instead of hours apart.
    pub max_delay: Duration,
    /// The longest `Retry-After` honoured. Each receiver has its own queue,
    /// so a long wait only delays that receiver; the cap guards against a
    /// date years ahead, not against honest throttling.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// The production pacing with the given number of retries.
    pub fn with_retries(retries: u32) -> RetryPolicy {
        RetryPolicy {
            retries,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(3600),
        }
    }

    /// The lowest and highest wait `delay` can choose for retry number
    /// `retry` without a `Retry-After`: tests check retry spacing with it.
    pub fn bounds(&self, retry: u32) -> (Duration, Duration) {
        (self.delay(retry, None, 0.0), self.delay(retry, None, 1.0))
    }

    /// The wait before retry number `retry` (1 for the first retry).
    ///
    /// `jitter` in `[0, 1]` spreads the wait over the upper half of the
    /// backoff ("equal jitter"): enough spread that notifiers failing together
    /// do not retry in lockstep, while keeping a floor so a struggling
    /// receiver is not hit again at once. The receiver's `Retry-After`, capped
    /// at `max_retry_after`, is a lower bound.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        let backoff = self
            .base_delay
            .saturating_mul(1u32 << doublings)
            .min(self.max_delay);
        let half = backoff / 2;
        let jittered = half + half.mul_f64(jitter.clamp(0.0, 1.0));
        match retry_after {
            Some(asked) => jittered.max(asked.min(self.max_retry_after)),
            None => jittered,
        }
    }
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy::with_retries(3)
    }
}

/// Reads a `Retry-After` header: delay-seconds, or an HTTP date turned into
/// a wait from `now` (a date already past means "now").
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            retries: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(10),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let full: Vec<u128> = (1..=6)
            .map(|retry| policy().delay(retry, None, 1.0).as_millis())
            .collect();
        assert_eq!(full, [100, 200, 400, 800, 1000, 1000]);
        let floor: Vec<u128> = (1..=6)
            .map(|retry| policy().delay(retry, None, 0.0).as_millis())
            .collect();
        assert_eq!(floor, [50, 100, 200, 400, 500, 500]);
    }

    #[test]
    fn huge_retry_numbers_do_not_overflow() {
        assert_eq!(
            policy().delay(u32::MAX, None, 1.0),
            Duration::from_millis(1000)
        );
    }

    #[test]
    fn retry_after_is_a_lower_bound_capped_by_policy() {
        let asked = Some(Duration::from_secs(3));
        assert_eq!(policy().delay(1, asked, 0.5), Duration::from_secs(3));
        let too_long = Some(Duration::from_secs(3600));
        assert_eq!(policy().delay(1, too_long, 0.5), Duration::from_secs(10));
        let shorter_than_backoff = Some(Duration::from_millis(1));
        assert_eq!(
            policy().delay(3, shorter_than_backoff, 1.0),
            Duration::from_millis(400)
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past means now"
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
