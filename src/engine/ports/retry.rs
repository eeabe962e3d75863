//! One retry policy for everything that tries again: exponential from a first delay, capped,
//! with jitter, and never sooner than the server asked for (`Retry-After`). The job worker
//! schedules a job's next attempt with [`RetryPolicy::delay`]; the HTTP backends retry their
//! reads in place with [`RetryPolicy::backon`].

use std::time::Duration;

use backon::ExponentialBuilder;

/// How something is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first delay.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
    /// Tries after the first (for in-place retries; the job worker counts its own).
    pub times: usize,
}

impl RetryPolicy {
    /// The delay before try `attempt + 1` (`attempt` counts from 1): `first × 2^(attempt-1)`,
    /// capped at `max`, times a jitter of 50–100 %, and at least `retry_after`.
    pub fn delay(&self, attempt: i64, retry_after: Option<Duration>) -> Duration {
        let exp = attempt.clamp(1, 30) as u32 - 1;
        let raw = self
            .first
            .saturating_mul(2u32.saturating_pow(exp))
            .min(self.max);
        let d = raw.mul_f64(0.5 + rand::random::<f64>() * 0.5);
        match retry_after {
            Some(asked) if asked > d => asked,
            _ => d,
        }
    }

    /// Whether a failure of try `attempt` (counted from 1) is tried again.
    pub fn may_try_again(&self, attempt: i64) -> bool {
        attempt <= self.times as i64
    }

    /// The same policy as a `backon` builder, for retrying a call in place.
    pub fn backon(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.first)
            .with_max_delay(self.max)
            .with_max_times(self.times)
            .with_jitter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        first: Duration::from_secs(1),
        max: Duration::from_secs(10),
        times: 3,
    };

    #[test]
    fn the_delay_doubles_with_jitter_up_to_the_cap() {
        for (attempt, full) in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 10), (30, 10), (99, 10)] {
            let full = Duration::from_secs(full);
            let d = POLICY.delay(attempt, None);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn a_policy_of_three_times_tries_again_after_the_first_three_tries_only() {
        let tried_again: Vec<i64> = (1..=5).filter(|a| POLICY.may_try_again(*a)).collect();
        assert_eq!(tried_again, vec![1, 2, 3]);
    }

    #[test]
    fn the_delay_is_never_shorter_than_the_server_asked() {
        let asked = Duration::from_secs(60);
        assert_eq!(POLICY.delay(1, Some(asked)), asked);
        assert!(POLICY.delay(4, Some(Duration::from_millis(1))) >= Duration::from_secs(4));
    }
}
