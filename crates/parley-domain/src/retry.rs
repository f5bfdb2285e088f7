//! Retry policy for transient failures (carrier 5xx, 429, timeouts).
//!
//! Exponential backoff with jitter, a bounded number of attempts. The jitter is an input
//! (a number in `[-1, 1]`) so the policy stays pure and testable; callers draw it at random.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Delay before the first retry, in milliseconds.
    pub base_ms: i64,
    /// Upper bound for any single delay, in milliseconds.
    pub max_ms: i64,
    /// Total attempts including the first one.
    pub max_attempts: u32,
    /// Relative jitter, e.g. 0.2 for ±20%.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_ms: 1_000,
            max_ms: 300_000,
            max_attempts: 6,
            jitter: 0.2,
        }
    }
}

impl RetryPolicy {
    /// Delay before the next attempt after `attempts_made` failed attempts, or `None` when
    /// the budget is spent. `retry_after_ms` (from a carrier's `Retry-After`) is honoured
    /// but clamped to `[delay, 2 × delay]` so a hostile or buggy value cannot park a
    /// message for days, nor hammer the carrier sooner than our own schedule.
    pub fn next_delay_ms(
        &self,
        attempts_made: u32,
        retry_after_ms: Option<i64>,
        jitter_unit: f64,
    ) -> Option<i64> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        let exp = attempts_made.saturating_sub(1).min(30);
        let raw = self.base_ms.saturating_mul(1_i64 << exp).min(self.max_ms);
        let j = jitter_unit.clamp(-1.0, 1.0) * self.jitter;
        let jittered = ((raw as f64) * (1.0 + j)).round() as i64;
        let delay = match retry_after_ms {
            Some(ra) => ra.clamp(jittered, jittered.saturating_mul(2)),
            None => jittered,
        };
        Some(delay.max(0))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn doubles_until_the_cap_then_stops() {
        let p = RetryPolicy {
            base_ms: 1_000,
            max_ms: 5_000,
            max_attempts: 5,
            jitter: 0.0,
        };
        let delays: Vec<_> = (1..=5).map(|a| p.next_delay_ms(a, None, 0.0)).collect();
        assert_eq!(
            delays,
            vec![Some(1_000), Some(2_000), Some(4_000), Some(5_000), None]
        );
    }

    #[test]
    fn retry_after_is_clamped() {
        let p = RetryPolicy {
            base_ms: 1_000,
            max_ms: 60_000,
            max_attempts: 5,
            jitter: 0.0,
        };
        assert_eq!(p.next_delay_ms(1, Some(10), 0.0), Some(1_000));
        assert_eq!(p.next_delay_ms(1, Some(1_500), 0.0), Some(1_500));
        assert_eq!(p.next_delay_ms(1, Some(86_400_000), 0.0), Some(2_000));
    }

    proptest! {
        #[test]
        fn jitter_stays_in_band(attempt in 1u32..6, j in -1.0f64..1.0) {
            let p = RetryPolicy::default();
            let plain = p.next_delay_ms(attempt, None, 0.0).unwrap() as f64;
            let d = p.next_delay_ms(attempt, None, j).unwrap() as f64;
            prop_assert!(d >= plain * 0.8 - 1.0 && d <= plain * 1.2 + 1.0);
        }
    }
}
