//! `POST /v1/carriers/twilio/status`: Twilio reports an outbound message's status.
//!
//! Callbacks arrive late, twice and out of order; the store moves a message forward only, so
//! a late `sent` after `delivered` changes nothing, and a repeat fires nothing. The callback
//! URL carries Parley's message id, which finds the message even when the send's answer (with
//! Twilio's id) was lost; the callback then binds Twilio's id to it, which also stops a
//! resend.

use axum::{
    body::Bytes,
    extract::{OriginalUri, State},
    http::{HeaderMap, StatusCode},
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{message_id_param, verify};
use crate::{
    api::error::ApiError,
    app::AppState,
    carriers::twilio::status::{map, Mapped},
};

/// Twilio's status callback (the fields Parley reads).
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TwilioStatus {
    pub message_sid: String,
    pub account_sid: String,
    /// `queued`, `sending`, `sent`, `delivered`, `undelivered`, `failed`, `read`, …
    pub message_status: String,
    /// Twilio's error code for `failed` / `undelivered` (e.g. 30003).
    pub error_code: Option<String>,
}

#[utoipa::path(
    post, path = "/v1/carriers/twilio/status", tag = "carriers",
    request_body(content = TwilioStatus, content_type = "application/x-www-form-urlencoded"),
    params(
        ("X-Twilio-Signature" = String, Header, description = "Twilio's signature of the URL and parameters"),
        ("message_id" = Option<i64>, Query, description = "Parley's message id, put in the callback URL at send time"),
    ),
    responses(
        (status = 204, description = "Applied, or nothing to apply (a repeat, an older status, an unknown message)"),
        (status = 400, description = "A required field is missing", body = crate::api::error::ErrorBody),
        (status = 403, description = "Missing or invalid signature, or the account does not serve the message's number; nothing changed", body = crate::api::error::ErrorBody),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let signed = verify(&state, &headers, &uri, &body)?;
    let sid = signed.require("MessageSid")?.to_owned();
    let twilio_status = signed.require("MessageStatus")?.to_owned();
    let error_code = signed
        .get("ErrorCode")
        .filter(|c| !c.is_empty() && *c != "0")
        .map(str::to_owned);
    let Some(target) = state
        .store
        .callback_target(&sid, message_id_param(&uri))
        .await?
    else {
        metrics::counter!("parley_twilio_callbacks_unmatched_total").increment(1);
        return Ok(StatusCode::NO_CONTENT);
    };
    let number = state.store.number(&target.from_number).await?;
    signed.check_serves(
        &state,
        &target.org_id,
        number.as_ref().and_then(|n| n.carrier_account.as_deref()),
    )?;
    let now = state.clock.now_ms();
    match map(&twilio_status) {
        Mapped::Ignore => {}
        Mapped::Holding => {
            state
                .store
                .apply_carrier_status(target.id, &sid, None, None, now)
                .await?;
        }
        Mapped::To(status, default_code) => {
            let code = error_code.as_deref().or(default_code);
            if state
                .store
                .apply_carrier_status(target.id, &sid, Some(status), code, now)
                .await?
            {
                crate::hooks::message_status_changed(target.id, status);
            } else {
                metrics::counter!("parley_twilio_duplicates_total", "kind" => "status")
                    .increment(1);
            }
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
