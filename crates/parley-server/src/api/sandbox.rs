//! Parley extension: the sandbox carrier's simulated handsets.
//!
//! `GET /v1/sandbox/messages?number=` shows what a handset received; `POST
//! /v1/sandbox/inbound` plays a user texting one of the org's numbers.

use axum::{extract::State, Json};
use parley_domain::{clock::iso8601_ms, segments};
use parley_store::InboundMessage;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{
    auth::Org,
    error::{ok, ApiError, Envelope, ErrorBody},
    extract::{BlandJson, BlandQuery},
    send::{check_text, parse_channel, parse_number},
};
use crate::app::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InboxQuery {
    /// The handset's number (E.164): the `user_number` messages were sent to.
    #[param(required = true, value_type = String, pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub number: Option<String>,
    /// At most this many messages, oldest first (default 1000).
    #[param(minimum = 1, maximum = 10_000)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SandboxMessageOut {
    pub message_id: i64,
    pub provider_sid: String,
    pub from: String,
    pub to: String,
    pub message: String,
    pub channel: String,
    pub segments: i64,
    /// How many times the carrier was handed this message; the handset shows it once.
    pub attempts: i64,
    pub received_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct InboxEnvelope {
    pub data: Vec<SandboxMessageOut>,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    get, path = "/v1/sandbox/messages", tag = "sandbox",
    params(InboxQuery),
    responses(
        (status = 200, description = "Messages the handset received", body = InboxEnvelope),
        (status = 400, description = "Missing or invalid number", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn inbox(
    State(state): State<AppState>,
    org: Org,
    BlandQuery(q): BlandQuery<InboxQuery>,
) -> Result<Json<Envelope<Vec<SandboxMessageOut>>>, ApiError> {
    let number = parse_number("number", q.number.as_deref())?;
    let limit = q.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::invalid("limit must be between 1 and 10000"));
    }
    let rows = state
        .store
        .sandbox_inbox(&org.id, number.as_str(), limit)
        .await?;
    Ok(ok(rows
        .into_iter()
        .map(|m| SandboxMessageOut {
            message_id: m.message_id,
            provider_sid: m.provider_sid,
            from: m.from_number,
            to: m.to_number,
            message: m.body,
            channel: m.channel,
            segments: m.segments,
            attempts: m.attempts,
            received_at: iso8601_ms(m.received_at),
        })
        .collect()))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InboundIn {
    /// The user's number (E.164).
    #[schema(required = true, value_type = String, pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub from: Option<String>,
    /// One of the org's agent numbers.
    #[schema(required = true, value_type = String, pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub to: Option<String>,
    #[schema(required = true, value_type = String, min_length = 1, max_length = 1600, pattern = r"\S")]
    pub message: Option<String>,
    /// `sms` (default: the number's channel), `whatsapp` or `imessage`.
    #[schema(value_type = Option<crate::api::doc::ChannelDoc>)]
    pub channel: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InboundOut {
    pub message: String,
    pub conversation_id: String,
    pub message_id: i64,
    /// Whether the agent should answer (`reply`) or why not: `handed_off`, `human_mode`,
    /// `ended`, `opted_out`, `opted_in`, `ignored_keyword`.
    pub decision: String,
}

#[derive(Serialize, ToSchema)]
pub struct InboundEnvelope {
    pub data: InboundOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    post, path = "/v1/sandbox/inbound", tag = "sandbox",
    request_body = InboundIn,
    responses(
        (status = 200, description = "Stored on the pair's conversation", body = InboundEnvelope),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`to` is not one of the caller's numbers", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn inbound(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<InboundIn>,
) -> Result<Json<Envelope<InboundOut>>, ApiError> {
    let b = body.value;
    let user = parse_number("from", b.from.as_deref())?;
    let agent = parse_number("to", b.to.as_deref())?;
    let text = b
        .message
        .ok_or_else(|| ApiError::invalid("message is required"))?;
    check_text("message", &text)?;
    let number = state
        .store
        .number_for_org(&org.id, agent.as_str())
        .await?
        .ok_or_else(|| ApiError::agent_number_not_found(agent.as_str()))?;
    let channel = parse_channel(b.channel.as_deref(), &number.channel)?;
    let count = segments::count(&text);
    let message = InboundMessage {
        org_id: org.id,
        user_number: user.to_string(),
        agent_number: agent.to_string(),
        channel: channel.as_str().into(),
        body: text,
        encoding: count.encoding.as_str().into(),
        segments: i64::from(count.segments),
        provider_sid: None,
        now: state.clock.now_ms(),
    };
    let stored = super::inbound::store_inbound(&state, &message, None).await?;
    metrics::counter!("parley_inbound_messages_total").increment(1);
    Ok(ok(InboundOut {
        message: "Inbound message stored".into(),
        conversation_id: stored.conversation_id,
        message_id: stored.message_id,
        decision: stored.reply.as_str().into(),
    }))
}
