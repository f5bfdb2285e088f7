//! Customer webhooks: signing and posting one webhook, and what its answer means.
//!
//! The delivery worker (`workers::webhooks`) and the resend endpoint both post through
//! [`Poster`], so a resend is signed, guarded and timed exactly like the original.

pub mod guard;

use std::{sync::Arc, time::Duration};

use parley_domain::{retry::RetryPolicy, webhook_signing};
use parley_store::{AttemptOutcome, AttemptRecord, WebhookDelivery};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER, USER_AGENT};

use crate::config::WebhooksConfig;
use guard::{Guard, GuardedResolver};

/// What a POST came to, before the retry policy is applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// The receiver answered with this status (and maybe `Retry-After`, in ms).
    Status {
        code: u16,
        retry_after_ms: Option<i64>,
    },
    /// Timeout, refused connection, reset: worth retrying.
    Transport(String),
    /// The URL may never be posted to (scheme, private address): not retried.
    Refused(String),
}

impl Answer {
    pub fn is_success(&self) -> bool {
        matches!(self, Answer::Status { code, .. } if (200..300).contains(code))
    }

    fn error_message(&self) -> Option<String> {
        match self {
            Answer::Status { code, .. } if (200..300).contains(code) => None,
            Answer::Status { code, .. } => Some(format!("HTTP {code}")),
            Answer::Transport(e) | Answer::Refused(e) => Some(e.clone()),
        }
    }

    fn code(&self) -> Option<i64> {
        match self {
            Answer::Status { code, .. } => Some(i64::from(*code)),
            _ => None,
        }
    }
}

/// Applies the retry rules: 2xx delivered; 429 (honouring `Retry-After`), 5xx and transport
/// errors retried while attempts remain; everything else (other 4xx, 3xx, refused URLs)
/// fails for good. `attempts` counts this one; `jitter_unit` is in `[-1, 1]`.
pub fn outcome(
    answer: &Answer,
    attempts: i64,
    policy: &RetryPolicy,
    now: i64,
    jitter_unit: f64,
) -> AttemptOutcome {
    let retry_after = match answer {
        Answer::Status { code, .. } if (200..300).contains(code) => {
            return AttemptOutcome::Delivered
        }
        Answer::Status {
            code: 429,
            retry_after_ms,
        } => *retry_after_ms,
        Answer::Status { code, .. } if *code >= 500 => None,
        Answer::Transport(_) => None,
        _ => return AttemptOutcome::Failed,
    };
    let made = u32::try_from(attempts).unwrap_or(u32::MAX);
    match policy.next_delay_ms(made, None, jitter_unit) {
        None => AttemptOutcome::Failed,
        Some(delay) => {
            // The receiver's own Retry-After wins when it asks for longer (within reason).
            let delay = retry_after.map_or(delay, |ra| delay.max(ra.min(policy.max_ms)));
            AttemptOutcome::Retry { at: now + delay }
        }
    }
}

/// `Retry-After`: delay-seconds or an HTTP date, as milliseconds from `now`.
pub fn parse_retry_after(v: &str, now_ms: i64) -> Option<i64> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    let at_ms = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis();
    Some((i64::try_from(at_ms).ok()? - now_ms).max(0))
}

/// Signs and posts webhooks.
#[derive(Clone)]
pub struct Poster {
    http: reqwest::Client,
    guard: Arc<Guard>,
}

impl Poster {
    pub fn new(cfg: &WebhooksConfig) -> anyhow::Result<Self> {
        let guard = Arc::new(Guard::new(&cfg.allowed_networks));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(cfg.timeout_ms))
            .connect_timeout(Duration::from_millis(cfg.timeout_ms))
            // A redirect could lead anywhere, including inside the network.
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver(guard.clone())))
            .build()?;
        Ok(Self { http, guard })
    }

    /// POSTs one webhook signed with `secrets` (newest first; none: unsigned) and returns
    /// the answer with the attempt as the log records it. `now_ms` stamps the attempt and
    /// the Standard Webhooks timestamp.
    pub async fn post(
        &self,
        d: &WebhookDelivery,
        secrets: &[String],
        now_ms: i64,
        send_type: &'static str,
    ) -> (Answer, AttemptRecord) {
        let started = std::time::Instant::now();
        let answer = self.send(d, secrets, now_ms).await;
        let record = AttemptRecord {
            sent_at: now_ms,
            response_code: answer.code(),
            response_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            send_type,
            error_message: answer.error_message(),
        };
        (answer, record)
    }

    async fn send(&self, d: &WebhookDelivery, secrets: &[String], now_ms: i64) -> Answer {
        let url = match reqwest::Url::parse(&d.url) {
            Ok(u) => u,
            Err(e) => return Answer::Refused(format!("invalid URL: {e}")),
        };
        if let Err(e) = self.guard.check_url(&url).await {
            return Answer::Refused(e);
        }
        let body = d.payload.as_bytes();
        let ts = now_ms.div_euclid(1000);
        let mut req = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(
                USER_AGENT,
                concat!("Parley-Webhooks/", env!("CARGO_PKG_VERSION")),
            )
            .header("webhook-id", &d.event_id)
            .header("webhook-timestamp", ts.to_string());
        if let Some(newest) = secrets.first() {
            req = req
                .header(
                    "X-Webhook-Signature",
                    webhook_signing::bland_signature(newest, body),
                )
                .header(
                    "webhook-signature",
                    webhook_signing::standard_header(secrets, &d.event_id, ts, body),
                );
        }
        match req.body(d.payload.clone()).send().await {
            Ok(res) => Answer::Status {
                code: res.status().as_u16(),
                retry_after_ms: res
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, now_ms)),
            },
            Err(e) => Answer::Transport(describe(&e)),
        }
    }
}

/// A transport error in a few words (no URL: it may carry a customer's token).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base_ms: 5_000,
            max_ms: 36_000_000,
            max_attempts: 16,
            jitter: 0.0,
        }
    }

    #[test]
    fn answers_map_to_the_retry_rules() {
        let p = policy();
        let ok = Answer::Status {
            code: 204,
            retry_after_ms: None,
        };
        assert_eq!(outcome(&ok, 1, &p, 0, 0.0), AttemptOutcome::Delivered);
        for code in [500, 502, 503] {
            let a = Answer::Status {
                code,
                retry_after_ms: None,
            };
            assert_eq!(
                outcome(&a, 1, &p, 0, 0.0),
                AttemptOutcome::Retry { at: 5_000 }
            );
        }
        assert_eq!(
            outcome(&Answer::Transport("timeout".into()), 3, &p, 0, 0.0),
            AttemptOutcome::Retry { at: 20_000 }
        );
        let limited = Answer::Status {
            code: 429,
            retry_after_ms: Some(120_000),
        };
        assert_eq!(
            outcome(&limited, 1, &p, 0, 0.0),
            AttemptOutcome::Retry { at: 120_000 }
        );
        for code in [400, 401, 404, 410, 301, 302] {
            let a = Answer::Status {
                code,
                retry_after_ms: None,
            };
            assert_eq!(outcome(&a, 1, &p, 0, 0.0), AttemptOutcome::Failed, "{code}");
        }
        assert_eq!(
            outcome(&Answer::Refused("x".into()), 1, &p, 0, 0.0),
            AttemptOutcome::Failed
        );
        let down = Answer::Status {
            code: 503,
            retry_after_ms: None,
        };
        assert_eq!(outcome(&down, 16, &p, 0, 0.0), AttemptOutcome::Failed);
    }

    #[test]
    fn the_default_schedule_spans_more_than_a_day_even_with_jitter() {
        let cfg = crate::config::Config::defaults().webhooks.retry;
        let total: i64 = (1..cfg.max_attempts)
            .map(|n| cfg.next_delay_ms(n, None, -1.0).unwrap())
            .sum();
        assert!(total >= 24 * 3_600_000, "{total}");
        assert!(cfg.next_delay_ms(cfg.max_attempts, None, 0.0).is_none());
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(parse_retry_after("30", 0), Some(30_000));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:01:00 GMT", 0),
            Some(60_000)
        );
        assert_eq!(parse_retry_after("soon", 0), None);
    }
}
