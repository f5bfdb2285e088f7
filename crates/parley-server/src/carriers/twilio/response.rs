//! What Twilio's answer means for the message: sent, worth retrying, opted out, or refused.
//!
//! - 429 (and error 20429) was never processed: retry, honouring `Retry-After`.
//! - 5xx and transport failures: retry. A timeout or a broken connection may come after
//!   Twilio created the message, so the next attempt looks it up before sending again
//!   ([`needs_lookup`]); only a failed *connect* proves nothing was sent.
//! - 21610: the recipient replied STOP to this sender. An opt-out, not an ordinary failure.
//! - 21611: the sender's queue at Twilio is full. Nothing was created; retry later.
//! - Any other 4xx (21211 invalid number, 21614 not a mobile, 21408 region not enabled,
//!   63016 WhatsApp outside the 24-hour window, …) fails the message at once with its code.

use serde::Deserialize;

use crate::carriers::{CarrierError, Receipt};

/// Transport failure before a connection existed: the request never left.
pub const CONNECT: &str = "CONNECT";
/// The call was cut off waiting for Twilio: it may or may not have been created.
pub const TIMEOUT: &str = "TIMEOUT";
/// The connection broke mid-call: as ambiguous as a timeout.
pub const NETWORK: &str = "NETWORK";
/// The lookup that precedes a resend failed, so the earlier doubt still stands.
pub const LOOKUP_FAILED: &str = "LOOKUP_FAILED";

/// Errors after which Twilio certainly holds no copy of the message.
const NEVER_CREATED: [&str; 4] = [CONNECT, "429", "20429", "21611"];

/// Whether the attempt after one that ended with `previous_error` must first look for a
/// copy at Twilio.
pub fn needs_lookup(previous_error: Option<&str>) -> bool {
    previous_error.is_some_and(|e| !NEVER_CREATED.contains(&e))
}

#[derive(Deserialize)]
struct Created {
    sid: String,
}

/// Twilio's error body: `{"code": 21211, "message": "…", "more_info": "…", "status": 400}`.
#[derive(Deserialize, Default)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
}

pub fn from_transport(e: &reqwest::Error) -> CarrierError {
    let code = if e.is_connect() {
        CONNECT
    } else if e.is_timeout() {
        TIMEOUT
    } else {
        NETWORK
    };
    transient(code, &e.to_string(), None)
}

/// Classifies a response to the create call.
pub fn classify(
    status: u16,
    retry_after: Option<&str>,
    body: &str,
) -> Result<Receipt, CarrierError> {
    if (200..300).contains(&status) {
        return match serde_json::from_str::<Created>(body) {
            Ok(c) => Ok(Receipt {
                provider_sid: c.sid,
            }),
            // Created, but we cannot tell under which id: the next attempt looks it up.
            Err(e) => Err(transient(
                "BAD_RESPONSE",
                &format!("unreadable success body: {e}"),
                None,
            )),
        };
    }
    let err: TwilioError = serde_json::from_str(body).unwrap_or_default();
    let code = err
        .code
        .map(|c| c.to_string())
        .unwrap_or_else(|| status.to_string());
    let message = redact_numbers(err.message.as_deref().unwrap_or("no error message"));
    let retry_after_ms = retry_after.and_then(parse_retry_after);
    match (status, code.as_str()) {
        (429, _) | (_, "20429") | (_, "21611") => Err(transient(&code, &message, retry_after_ms)),
        (500..=599, _) => Err(transient(&code, &message, retry_after_ms)),
        (_, "21610") => Err(CarrierError::OptedOut { code, message }),
        _ => Err(CarrierError::Rejected { code, message }),
    }
}

fn transient(code: &str, message: &str, retry_after_ms: Option<i64>) -> CarrierError {
    CarrierError::Transient {
        code: code.into(),
        message: message.into(),
        retry_after_ms,
    }
}

/// `Retry-After` in seconds. (Twilio sends seconds; an HTTP date is ignored and the retry
/// policy's own delay applies.)
fn parse_retry_after(v: &str) -> Option<i64> {
    v.trim()
        .parse::<u64>()
        .ok()
        .map(|s| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX))
}

/// Twilio's messages quote phone numbers ("The 'To' number +1555… is not valid"); error
/// messages end up in logs, where numbers must not.
pub fn redact_numbers(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() >= 6 {
            out.push_str("***");
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for ch in s.chars() {
        if ch.is_ascii_digit() {
            digits.push(ch);
        } else {
            flush(&mut digits, &mut out);
            out.push(ch);
        }
    }
    flush(&mut digits, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: i64, status: u16) -> String {
        format!(
            r#"{{"code": {code}, "message": "The 'To' number +15005550001 is not valid.", "more_info": "https://www.twilio.com/docs/errors/{code}", "status": {status}}}"#
        )
    }

    fn code_of(e: CarrierError) -> (&'static str, String, Option<i64>) {
        match e {
            CarrierError::Transient {
                code,
                retry_after_ms,
                ..
            } => ("transient", code, retry_after_ms),
            CarrierError::Rejected { code, .. } => ("rejected", code, None),
            CarrierError::OptedOut { code, .. } => ("opted_out", code, None),
        }
    }

    #[test]
    fn classifies_twilio_answers() {
        let sid = format!("SM{}", "0".repeat(32));
        let ok = classify(
            201,
            None,
            &format!(r#"{{"sid":"{sid}","status":"queued"}}"#),
        );
        assert_eq!(ok, Ok(Receipt { provider_sid: sid }));
        let cases = [
            (
                429,
                err(20429, 429),
                Some("2"),
                ("transient", "20429".to_string(), Some(2000)),
            ),
            (503, String::new(), None, ("transient", "503".into(), None)),
            (
                500,
                err(20500, 500),
                None,
                ("transient", "20500".into(), None),
            ),
            (
                400,
                err(21610, 400),
                None,
                ("opted_out", "21610".into(), None),
            ),
            (
                400,
                err(21611, 400),
                None,
                ("transient", "21611".into(), None),
            ),
            (
                400,
                err(21211, 400),
                None,
                ("rejected", "21211".into(), None),
            ),
            (
                400,
                err(21614, 400),
                None,
                ("rejected", "21614".into(), None),
            ),
            (
                400,
                err(21408, 400),
                None,
                ("rejected", "21408".into(), None),
            ),
            (
                400,
                err(63016, 400),
                None,
                ("rejected", "63016".into(), None),
            ),
            (
                401,
                err(20003, 401),
                None,
                ("rejected", "20003".into(), None),
            ),
        ];
        for (status, body, ra, want) in cases {
            let got = code_of(classify(status, ra, &body).unwrap_err());
            assert_eq!(
                (got.0, got.1.as_str(), got.2),
                (want.0, want.1.as_str(), want.2),
                "{status} {body}"
            );
        }
    }

    #[test]
    fn error_messages_lose_phone_numbers() {
        let e = classify(400, None, &err(21211, 400)).unwrap_err();
        let CarrierError::Rejected { message, .. } = e else {
            panic!()
        };
        assert_eq!(message, "The 'To' number +*** is not valid.");
    }

    #[test]
    fn only_unambiguous_failures_skip_the_lookup() {
        assert!(!needs_lookup(None));
        for safe in ["CONNECT", "429", "20429", "21611"] {
            assert!(!needs_lookup(Some(safe)));
        }
        for doubt in [
            "TIMEOUT",
            "NETWORK",
            "503",
            "20500",
            "BAD_RESPONSE",
            "LOOKUP_FAILED",
            parley_store::ABANDONED_ATTEMPT,
        ] {
            assert!(needs_lookup(Some(doubt)));
        }
    }
}
