//! Inactivity timeout settings and their precedence.
//!
//! A conversation's effective settings come from, highest first: the overrides stored on the
//! conversation by the latest send / create, then the number's channel config, then nothing.
//! Each field resolves independently, so a send may override only `warning_time`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeoutSettings {
    /// Seconds of user silence after an agent message before the conversation times out.
    pub time_out: Option<i64>,
    pub timeout_message: Option<String>,
    /// Seconds after an agent message before the warning goes out; below `time_out`.
    pub warning_time: Option<i64>,
    pub warning_message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeoutError {
    #[error("{0} must not be negative")]
    Negative(&'static str),
    #[error("warning_time ({warning}s) must be less than time_out ({time_out}s)")]
    WarningNotBeforeTimeout { warning: i64, time_out: i64 },
}

impl TimeoutSettings {
    /// Field-by-field: `self` where set, else `fallback`.
    pub fn over(&self, fallback: &TimeoutSettings) -> TimeoutSettings {
        TimeoutSettings {
            time_out: self.time_out.or(fallback.time_out),
            timeout_message: self
                .timeout_message
                .clone()
                .or_else(|| fallback.timeout_message.clone()),
            warning_time: self.warning_time.or(fallback.warning_time),
            warning_message: self
                .warning_message
                .clone()
                .or_else(|| fallback.warning_message.clone()),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == TimeoutSettings::default()
    }

    /// Checks the rule Bland enforces (`INVALID_TIMEOUT_CONFIG`): a warning must come
    /// strictly before the timeout. A warning without any timeout is allowed to be stored:
    /// it simply never fires, matching a number whose `time_out` is blank.
    pub fn validate(&self) -> Result<(), TimeoutError> {
        if self.time_out.is_some_and(|t| t < 0) {
            return Err(TimeoutError::Negative("time_out"));
        }
        if self.warning_time.is_some_and(|t| t < 0) {
            return Err(TimeoutError::Negative("warning_time"));
        }
        if let (Some(warning), Some(time_out)) = (self.warning_time, self.time_out) {
            if warning >= time_out {
                return Err(TimeoutError::WarningNotBeforeTimeout { warning, time_out });
            }
        }
        Ok(())
    }
}

/// When a conversation's timers fire after an agent message sent at some instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimerPlan {
    /// When to send `warning_message` (epoch ms).
    pub warning_at: Option<i64>,
    /// When the conversation times out (epoch ms).
    pub timeout_at: Option<i64>,
}

impl TimeoutSettings {
    /// The timers an agent message sent at `sent_at_ms` arms. No (or a zero) `time_out`
    /// arms nothing, a warning included; a warning needs a message to send and must come
    /// before the timeout.
    pub fn plan(&self, sent_at_ms: i64) -> TimerPlan {
        let Some(time_out) = self.time_out.filter(|t| *t > 0) else {
            return TimerPlan::default();
        };
        let warning_at = self
            .warning_time
            .filter(|w| *w >= 0 && *w < time_out)
            .filter(|_| {
                self.warning_message
                    .as_deref()
                    .is_some_and(|m| !m.trim().is_empty())
            })
            .map(|w| sent_at_ms.saturating_add(w.saturating_mul(1000)));
        TimerPlan {
            warning_at,
            timeout_at: Some(sent_at_ms.saturating_add(time_out.saturating_mul(1000))),
        }
    }
}

#[cfg(test)]
mod plan_tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn the_warning_always_comes_before_the_timeout(
            sent in 0i64..4_000_000_000_000,
            time_out in proptest::option::of(-5i64..100_000),
            warning in proptest::option::of(-5i64..100_000),
            message in proptest::option::of("[a-z ]{0,5}"),
        ) {
            let s = TimeoutSettings { time_out, warning_time: warning, warning_message: message.clone(), timeout_message: None };
            let p = s.plan(sent);
            match time_out {
                Some(t) if t > 0 => prop_assert_eq!(p.timeout_at, Some(sent + t * 1000)),
                _ => prop_assert_eq!(p, TimerPlan::default()),
            }
            if let Some(w) = p.warning_at {
                prop_assert!(w >= sent && w < p.timeout_at.unwrap());
                prop_assert!(message.is_some_and(|m| !m.trim().is_empty()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(time_out: Option<i64>, warning_time: Option<i64>) -> TimeoutSettings {
        TimeoutSettings {
            time_out,
            warning_time,
            ..Default::default()
        }
    }

    #[test]
    fn warning_must_precede_timeout() {
        assert!(s(Some(60), Some(30)).validate().is_ok());
        assert_eq!(
            s(Some(60), Some(60)).validate(),
            Err(TimeoutError::WarningNotBeforeTimeout {
                warning: 60,
                time_out: 60
            })
        );
        assert!(s(None, Some(30)).validate().is_ok());
        assert_eq!(
            s(Some(-1), None).validate(),
            Err(TimeoutError::Negative("time_out"))
        );
    }

    #[test]
    fn overrides_win_field_by_field() {
        let number = TimeoutSettings {
            time_out: Some(600),
            timeout_message: Some("bye".into()),
            ..Default::default()
        };
        let conv = s(None, Some(700));
        let eff = conv.over(&number);
        assert_eq!(eff.time_out, Some(600));
        assert_eq!(eff.warning_time, Some(700));
        assert_eq!(eff.timeout_message.as_deref(), Some("bye"));
        // The merged result is what gets validated: a conversation warning past the number's
        // timeout is refused.
        assert!(eff.validate().is_err());
    }
}
