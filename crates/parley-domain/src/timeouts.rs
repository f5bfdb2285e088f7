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
