//! `POST /v1/sms/conversations/{id}/handoff` (spec 2.16) and `…/resume` (2.17): a human
//! takes a conversation over, then gives it back to the agent. While it is handed off the
//! agent stays silent (`ReplyDecision::HandedOff`), inbound texts are still stored and
//! webhooked, and no inactivity timer runs; humans answer through
//! `POST /v1/sms/conversations/{id}/messages`.

use axum::{
    extract::{Path, State},
    Json,
};
use parley_domain::{clock::iso8601_ms, segments};
use parley_store::{
    ConversationRow, HandoffOutcome, HandoffRequest, NewOutbound, ResumeOutcome, ResumeRequest,
    PRIORITY_LIVE,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::conversation_id;
use crate::{
    api::{
        auth::Org,
        error::{ok, ApiError, Envelope, ErrorBody},
        extract::BlandJson,
        send::{check_text, check_webhook, parse_number},
    },
    app::AppState,
};

/// Longest `reason`, `actor` or `node_id` accepted, in characters.
const MAX_LABEL_CHARS: usize = 1000;

#[derive(Debug, Deserialize, ToSchema)]
pub struct HandoffIn {
    /// Why the conversation goes to a human; echoed in the `human_handoff` webhook.
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub reason: Option<String>,
    /// Free-form object, echoed in the `human_handoff` webhook (`handoff.metadata`).
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// Who handed it off (a user, a system); echoed in the webhook.
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub actor: Option<String>,
    /// Where the `human_handoff` and `human_handoff_ended` webhooks go instead of the
    /// conversation's URL.
    #[schema(max_length = 2048, pattern = r"^https?://[^ ]*$")]
    pub webhook: Option<String>,
    /// E.164 number that gets an SMS alert from the conversation's agent number.
    #[schema(pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub notify_number: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HandoffOut {
    /// `"Conversation handed off"`, or `"Conversation already handed off"` (nothing changed).
    pub message: String,
    pub conversation_id: String,
    pub handed_off: bool,
    pub handed_off_at: Option<String>,
    /// The queued SMS alert to `notify_number`, when one was sent by this call.
    pub alert_message_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct HandoffEnvelope {
    pub data: HandoffOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

fn check_label(field: &str, v: Option<String>) -> Result<Option<String>, ApiError> {
    match v {
        Some(s) if s.trim().is_empty() => Err(ApiError::invalid(format!(
            "{field} must not be empty when given"
        ))),
        Some(s) if s.chars().count() > MAX_LABEL_CHARS => Err(ApiError::invalid(format!(
            "{field} must be at most {MAX_LABEL_CHARS} characters"
        ))),
        v => Ok(v),
    }
}

/// The alert text for the human team; one SMS segment for short reasons.
fn alert_text(c: &ConversationRow, reason: Option<&str>) -> String {
    let mut text = format!("Handoff: conversation with {} needs a human", c.user_number);
    if let Some(r) = reason {
        let r: String = r.chars().take(200).collect();
        text.push_str(&format!(" ({r})"));
    }
    text.push_str(&format!(". Conversation id: {}", c.id));
    text
}

fn outbound(text: String) -> NewOutbound {
    let count = segments::count(&text);
    NewOutbound {
        body: text,
        sender: "AGENT".into(),
        encoding: count.encoding.as_str().into(),
        segments: i64::from(count.segments),
        content_sid: None,
        content_variables: None,
        priority: PRIORITY_LIVE,
    }
}

#[utoipa::path(
    post, path = "/v1/sms/conversations/{id}/handoff", tag = "conversations",
    params(("id" = uuid::Uuid, Path, description = "Conversation id (a UUID; a blank one is `400 CONVERSATION_ID_REQUIRED`, any other unknown one `404`)")),
    request_body = HandoffIn,
    responses(
        (status = 200, description = "Handed off (or already was: nothing changed, no second webhook)", body = HandoffEnvelope),
        (status = 400, description = "Invalid field, or `CONVERSATION_ENDED`: the conversation is not active", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Unknown id, or another org's conversation", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn hand_off(
    State(state): State<AppState>,
    org: Org,
    Path(id): Path<String>,
    body: BlandJson<HandoffIn>,
) -> Result<Json<Envelope<HandoffOut>>, ApiError> {
    let id = conversation_id(&id)?.to_owned();
    let b = body.value;
    let reason = check_label("reason", b.reason)?;
    let actor = check_label("actor", b.actor)?;
    if let Some(m) = &b.metadata {
        if !m.is_object() && !m.is_null() {
            return Err(ApiError::invalid("metadata must be an object"));
        }
    }
    if let Some(url) = &b.webhook {
        check_webhook(url)?;
    }
    let notify = match b.notify_number.as_deref() {
        Some(n) => Some(parse_number("notify_number", Some(n))?.to_string()),
        None => None,
    };
    let c = state
        .store
        .conversation(&org.id, &id)
        .await?
        .ok_or_else(|| ApiError::conversation_not_found(&id))?;
    let alert = notify.map(|n| (n, outbound(alert_text(&c, reason.as_deref()))));
    let req = HandoffRequest {
        org_id: org.id,
        conversation_id: id.clone(),
        reason,
        actor,
        metadata: b.metadata.filter(|m| !m.is_null()),
        webhook: b.webhook,
        alert,
        now: state.clock.now_ms(),
    };
    let (message, c, alert_message_id) = match state.store.hand_off(&req).await? {
        HandoffOutcome::HandedOff {
            conversation,
            alert_message_id,
        } => {
            metrics::counter!("parley_handoffs_total", "event" => "handoff").increment(1);
            if alert_message_id.is_some() {
                metrics::counter!("parley_messages_total", "status" => "queued").increment(1);
                state.dispatch_wake.notify_one();
            }
            ("Conversation handed off", conversation, alert_message_id)
        }
        HandoffOutcome::AlreadyHandedOff(c) => ("Conversation already handed off", c, None),
        HandoffOutcome::Ended => return Err(ApiError::conversation_ended(&id)),
        HandoffOutcome::NotFound => return Err(ApiError::conversation_not_found(&id)),
    };
    Ok(ok(HandoffOut {
        message: message.into(),
        conversation_id: c.id,
        handed_off: c.handed_off_at.is_some(),
        handed_off_at: c.handed_off_at.map(iso8601_ms),
        alert_message_id,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResumeIn {
    /// The pathway node to continue from; becomes the conversation's `current_node_id`.
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub node_id: Option<String>,
    /// A fixed agent message to send on takeover (1 to 1,600 characters). Not with
    /// `generate_reply: true`.
    #[schema(min_length = 1, max_length = 1600, pattern = r"\S")]
    pub message: Option<String>,
    /// Have the agent take its turn now: it answers the user's messages since its last
    /// turn (those that came during the handoff); with none, nothing is sent.
    pub generate_reply: Option<bool>,
    /// Who resumed it; echoed in the `human_handoff_ended` webhook.
    #[schema(min_length = 1, max_length = 1000, pattern = r"\S")]
    pub actor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResumeOut {
    /// Always `"Conversation resumed"`.
    pub message: String,
    pub conversation_id: String,
    pub current_node_id: Option<String>,
    /// The queued takeover message, when `message` was given.
    pub message_id: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ResumeEnvelope {
    pub data: ResumeOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    post, path = "/v1/sms/conversations/{id}/resume", tag = "conversations",
    params(("id" = uuid::Uuid, Path, description = "Conversation id (a UUID; a blank one is `400 CONVERSATION_ID_REQUIRED`, any other unknown one `404`)")),
    request_body = ResumeIn,
    responses(
        (status = 200, description = "Back with the agent; `human_handoff_ended` fired", body = ResumeEnvelope),
        (status = 400, description = "Invalid field, `message` with `generate_reply: true` (`INVALID_PARAMETER`), or `CONVERSATION_NOT_HANDED_OFF`", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 403, description = "`RECIPIENT_OPTED_OUT`: `message` to a user who opted out; nothing changed", body = ErrorBody),
        (status = 404, description = "Unknown id, or another org's conversation", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn resume(
    State(state): State<AppState>,
    org: Org,
    Path(id): Path<String>,
    body: BlandJson<ResumeIn>,
) -> Result<Json<Envelope<ResumeOut>>, ApiError> {
    let id = conversation_id(&id)?.to_owned();
    let b = body.value;
    let generate = b.generate_reply.unwrap_or(false);
    if generate && b.message.is_some() {
        return Err(ApiError::invalid(
            "message and generate_reply: true cannot be combined: send a fixed message or have the agent generate one",
        ));
    }
    if let Some(text) = &b.message {
        check_text("message", text)?;
    }
    let node_id = check_label("node_id", b.node_id)?;
    let actor = check_label("actor", b.actor)?;
    if b.message.is_some() {
        if let Some(c) = state.store.conversation(&org.id, &id).await? {
            if state
                .store
                .is_suppressed(&org.id, &c.agent_number, &c.user_number)
                .await?
            {
                return Err(ApiError::recipient_opted_out(&c.user_number));
            }
        }
    }
    let req = ResumeRequest {
        org_id: org.id,
        conversation_id: id.clone(),
        node_id,
        actor,
        message: b.message.map(outbound),
        generate_reply: generate,
        now: state.clock.now_ms(),
    };
    match state.store.resume(&req).await? {
        ResumeOutcome::Resumed {
            conversation,
            message_id,
        } => {
            metrics::counter!("parley_handoffs_total", "event" => "resume").increment(1);
            if generate {
                state.turn_wake.notify_one();
            }
            if message_id.is_some() {
                metrics::counter!("parley_messages_total", "status" => "queued").increment(1);
                state.dispatch_wake.notify_one();
            }
            Ok(ok(ResumeOut {
                message: "Conversation resumed".into(),
                conversation_id: conversation.id,
                current_node_id: conversation.current_node_id,
                message_id,
            }))
        }
        ResumeOutcome::NotHandedOff => Err(ApiError::conversation_not_handed_off(&id)),
        ResumeOutcome::NotFound => Err(ApiError::conversation_not_found(&id)),
    }
}
