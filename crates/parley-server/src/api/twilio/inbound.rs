//! `POST /v1/carriers/twilio/inbound`: a user texted one of our Twilio numbers.
//!
//! Stored on the pair's active conversation like any inbound message, with Twilio's
//! `MessageSid` as its carrier id (a repeated delivery of the same sid is answered and
//! dropped) and its media URLs. Answered with empty TwiML: the agent's reply, when there is
//! one, goes out through the send path, not in this response.

use axum::{
    body::Bytes,
    extract::{OriginalUri, State},
    http::{header, HeaderMap},
    response::{IntoResponse, Response},
};
use parley_domain::{segments, Channel, PhoneNumber};
use parley_store::{InboundMessage, StoreError};
use serde::Deserialize;
use utoipa::ToSchema;

use super::verify;
use crate::{api::error::ApiError, app::AppState, carriers::twilio::request::strip_address};

/// Twilio's inbound message webhook (the fields Parley reads; Twilio sends more).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TwilioInbound {
    pub message_sid: String,
    pub account_sid: String,
    /// The user: `+1555…`, or `whatsapp:+1555…`.
    pub from: String,
    /// One of Parley's numbers, prefixed the same way.
    pub to: String,
    pub body: Option<String>,
    pub num_media: Option<String>,
    /// `MediaUrl0` … `MediaUrl9`, with `MediaContentType0` … alongside.
    pub media_url0: Option<String>,
    pub messaging_service_sid: Option<String>,
}

/// What Twilio's `MessagingResponse()` renders when it has nothing to say.
const EMPTY_TWIML: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#;

fn twiml() -> Response {
    (
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        EMPTY_TWIML,
    )
        .into_response()
}

#[utoipa::path(
    post, path = "/v1/carriers/twilio/inbound", tag = "carriers",
    request_body(content = TwilioInbound, content_type = "application/x-www-form-urlencoded"),
    params(("X-Twilio-Signature" = String, Header, description = "Twilio's signature of the URL and parameters")),
    responses(
        (status = 200, description = "Stored (or a repeat, dropped); empty TwiML", content_type = "text/xml", body = String),
        (status = 400, description = "A required field is missing or malformed", body = crate::api::error::ErrorBody),
        (status = 403, description = "Missing or invalid signature, or the account does not serve the number; nothing stored", body = crate::api::error::ErrorBody),
        (status = 404, description = "`To` is not a Parley number", body = crate::api::error::ErrorBody),
    )
)]
pub async fn inbound(
    State(state): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Result<Response, ApiError> {
    let signed = verify(&state, &headers, &uri, &body)?;
    let sid = signed.require("MessageSid")?.to_owned();
    let (to, to_wa) = strip_address(signed.require("To")?);
    let (from, from_wa) = strip_address(signed.require("From")?);
    let channel = if to_wa || from_wa {
        Channel::Whatsapp
    } else {
        Channel::Sms
    };
    let user = PhoneNumber::parse(from).map_err(|e| ApiError::invalid(format!("From: {e}")))?;
    let number = state
        .store
        .number(to)
        .await?
        .ok_or_else(|| ApiError::agent_number_not_found(to))?;
    signed.check_serves(&state, &number.org_id, number.carrier_account.as_deref())?;
    if state.store.provider_sid_exists(&sid).await? {
        metrics::counter!("parley_twilio_duplicates_total", "kind" => "inbound").increment(1);
        return Ok(twiml());
    }
    // Behind a messaging service the pool picked which number wrote to the user; the reply
    // belongs to the conversation the pool last used with them.
    let mut agent = number.phone_number.clone();
    if let Some(service) = &number.messaging_service_sid {
        if let Some(a) = state
            .store
            .pool_conversation_agent(&number.org_id, service, user.as_str(), channel.as_str())
            .await?
        {
            agent = a;
        }
    }
    let text = signed.get("Body").unwrap_or("").to_owned();
    let count = segments::count(&text);
    let media = media(&signed.params);
    let message = InboundMessage {
        org_id: number.org_id.clone(),
        user_number: user.to_string(),
        agent_number: agent,
        channel: channel.as_str().into(),
        body: text,
        encoding: count.encoding.as_str().into(),
        segments: i64::from(count.segments),
        provider_sid: Some(sid),
        now: state.clock.now_ms(),
    };
    match crate::api::inbound::store_inbound(&state, &message, media.as_ref()).await {
        Ok(_) => metrics::counter!("parley_inbound_messages_total").increment(1),
        // The same sid stored by a concurrent delivery a moment ago.
        Err(StoreError::Conflict(_)) => {
            metrics::counter!("parley_twilio_duplicates_total", "kind" => "inbound").increment(1)
        }
        Err(e) => return Err(e.into()),
    }
    Ok(twiml())
}

/// `[{"url", "content_type"}]` from `NumMedia`, `MediaUrl{N}` and `MediaContentType{N}`.
fn media(params: &[(String, String)]) -> Option<serde_json::Value> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    // Twilio sends at most 10 attachments.
    let n: usize = get("NumMedia")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
        .min(10);
    let items: Vec<serde_json::Value> = (0..n)
        .filter_map(|i| {
            let url = get(&format!("MediaUrl{i}"))?;
            Some(serde_json::json!({
                "url": url,
                "content_type": get(&format!("MediaContentType{i}")),
            }))
        })
        .collect();
    (!items.is_empty()).then_some(serde_json::Value::Array(items))
}
