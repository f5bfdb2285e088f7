//! What a send must pass beyond its own fields before it is queued: template fields as
//! Twilio's Content API takes them, the suppression list (users who opted out), WhatsApp's
//! 24-hour window, and the sender's backlog.
//!
//! Refusing here is the point: a message that would fail at the carrier hours later (a
//! WhatsApp text outside the window fails with 63016; a message queued beyond Twilio's
//! 10-hour limit fails with 30001) is refused while the client is still listening.

use parley_domain::{whatsapp, Channel};
use parley_store::NumberRow;
use serde_json::{Map, Value};

use super::error::ApiError;
use crate::{app::AppState, carriers::twilio::config::is_sid};

/// What the rules look at.
pub struct SendFacts<'a> {
    pub org_id: &'a str,
    pub number: &'a NumberRow,
    pub channel: Channel,
    pub user_number: &'a str,
    pub content_sid: Option<&'a str>,
    pub content_variables: Option<&'a Map<String, Value>>,
    pub segments: i64,
    pub idempotency_key: Option<&'a str>,
}

/// A send that passed. Call [`Admission::queued`] once its message is committed, so the
/// sender's backlog counts it.
#[must_use]
pub struct Admission {
    phone_number: String,
    segments: i64,
}

impl Admission {
    pub fn queued(self, state: &AppState) {
        state.backlog.add(&self.phone_number, self.segments);
    }
}

pub async fn admit(state: &AppState, f: &SendFacts<'_>) -> Result<Admission, ApiError> {
    check_template(f.content_sid, f.content_variables)?;
    // A retried request answers what the first one did, even if the window closed or the
    // queue filled up since.
    if let Some(key) = f.idempotency_key {
        if state.store.idempotency_key_seen(f.org_id, key).await? {
            return Ok(Admission {
                phone_number: f.number.phone_number.clone(),
                segments: 0,
            });
        }
    }
    // A user who opted out of this number gets nothing more from it.
    if state
        .store
        .is_suppressed(f.org_id, &f.number.phone_number, f.user_number)
        .await?
    {
        metrics::counter!("parley_sends_refused_total", "reason" => "opted_out").increment(1);
        return Err(ApiError::recipient_opted_out(f.user_number));
    }
    if f.channel == Channel::Whatsapp && f.content_sid.is_none() {
        let last = state
            .store
            .last_inbound_at(
                f.org_id,
                &f.number.phone_number,
                f.user_number,
                Channel::Whatsapp.as_str(),
            )
            .await?;
        if !whatsapp::window_open(last, state.clock.now_ms()) {
            metrics::counter!("parley_sends_refused_total", "reason" => "whatsapp_window")
                .increment(1);
            return Err(ApiError::whatsapp_template_required());
        }
    }
    state
        .backlog
        .check(state, &f.number.phone_number, f.segments)
        .await?;
    Ok(Admission {
        phone_number: f.number.phone_number.clone(),
        segments: f.segments,
    })
}

/// Twilio's Content API limits: a `ContentSid` is `HX` and 32 hex digits; variables need a
/// template (21654), at most 100 of them, keys up to 16 characters, values up to 255.
fn check_template(sid: Option<&str>, vars: Option<&Map<String, Value>>) -> Result<(), ApiError> {
    if let Some(sid) = sid {
        if !is_sid(sid, "HX") {
            return Err(ApiError::invalid(
                "content_sid must be a Twilio Content SID: HX followed by 32 hexadecimal digits",
            ));
        }
    }
    let Some(vars) = vars else {
        return Ok(());
    };
    if sid.is_none() {
        return Err(ApiError::invalid("content_variables requires content_sid"));
    }
    if vars.len() > 100 {
        return Err(ApiError::invalid(
            "content_variables may hold at most 100 variables",
        ));
    }
    for (k, v) in vars {
        if k.is_empty() || k.chars().count() > 16 {
            return Err(ApiError::invalid(format!(
                "content_variables.{k}: names must be 1 to 16 characters"
            )));
        }
        let len = match v {
            Value::String(s) => s.chars().count(),
            Value::Number(n) => n.to_string().len(),
            Value::Bool(_) => 5,
            _ => {
                return Err(ApiError::invalid(format!(
                    "content_variables.{k} must be a string, number or boolean"
                )))
            }
        };
        if len > 255 {
            return Err(ApiError::invalid(format!(
                "content_variables.{k} must be at most 255 characters"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn template_fields_follow_twilio_s_limits() {
        let hx = format!("HX{}", "ab".repeat(16));
        assert!(check_template(Some(&hx), Some(&vars(json!({"1": "Ana", "2": 3})))).is_ok());
        assert!(check_template(Some("HX1"), None).is_err());
        assert!(check_template(None, Some(&vars(json!({"1": "x"})))).is_err());
        assert!(check_template(Some(&hx), Some(&vars(json!({"1": {"a": 1}})))).is_err());
        assert!(check_template(Some(&hx), Some(&vars(json!({"12345678901234567": "x"})))).is_err());
        assert!(check_template(Some(&hx), Some(&vars(json!({"1": "x".repeat(256)})))).is_err());
        let many: Map<String, Value> = (0..101).map(|i| (i.to_string(), json!("x"))).collect();
        assert!(check_template(Some(&hx), Some(&many)).is_err());
    }
}
