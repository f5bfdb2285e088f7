//! `POST /v1/sms/conversations/{id}/messages`: send a fixed text on one conversation
//! (spec 2.15), typically a human representative answering. Addressed by id, so the message
//! always lands on this thread; it goes out through the same paced dispatch queue as
//! `/v1/sms/send`, with the same `idempotency-key` rules.

use axum::{
    extract::{Path, State},
    http::HeaderMap,
    Json,
};
use parley_domain::segments;
use parley_store::{ConversationSend, ConversationSendOutcome, NewOutbound};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::conversation_id;
use crate::{
    api::{
        auth::Org,
        error::{ok, ApiError, Envelope, ErrorBody},
        extract::BlandJson,
        send::{check_idempotency_key, check_text, request_hash},
    },
    app::AppState,
};

#[derive(Debug, Deserialize, ToSchema)]
pub struct SendMessageIn {
    /// The text, 1 to 1,600 characters.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 1600, pattern = r"\S")]
    pub message: Option<String>,
    /// `HUMAN` (default: a human representative) or `AGENT`.
    #[schema(pattern = r"^([Hh][Uu][Mm][Aa][Nn]|[Aa][Gg][Ee][Nn][Tt])$")]
    pub sender: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SendMessageOut {
    /// Always `"Message sent successfully"`.
    pub message: String,
    pub conversation_id: String,
    pub message_id: i64,
    pub workflow_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct SendMessageEnvelope {
    pub data: SendMessageOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    post, path = "/v1/sms/conversations/{id}/messages", tag = "conversations",
    params(
        ("id" = uuid::Uuid, Path, description = "Conversation id (a UUID; a blank one is `400 CONVERSATION_ID_REQUIRED`, any other unknown one `404`)"),
        ("idempotency-key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[!-~]([ -~]*[!-~])?$", description = "1 to 255 printable ASCII characters. Replays the first answer for the same body; refuses another body"),
    ),
    request_body = SendMessageIn,
    responses(
        (status = 200, description = "Queued for sending on this conversation", body = SendMessageEnvelope),
        (status = 400, description = "Missing, empty or too long message, or unknown sender", body = ErrorBody),
        (status = 403, description = "`RECIPIENT_OPTED_OUT`: the user opted out of this number; nothing sent", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Unknown id, or another org's conversation", body = ErrorBody),
        (status = 422, description = "idempotency-key reused with another body", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn send_on_conversation(
    State(state): State<AppState>,
    org: Org,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: BlandJson<SendMessageIn>,
) -> Result<Json<Envelope<SendMessageOut>>, ApiError> {
    let id = conversation_id(&id)?.to_owned();
    let idempotency_key = check_idempotency_key(&headers)?;
    let b = body.value;
    let text = b
        .message
        .ok_or_else(|| ApiError::invalid("message is required"))?;
    check_text("message", &text)?;
    let sender = match b.sender.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("HUMAN") => "HUMAN",
        Some("AGENT") => "AGENT",
        Some(_) => return Err(ApiError::invalid("sender must be HUMAN or AGENT")),
    };
    // A user who opted out gets nothing more, not even from a human (a replayed request
    // still answers what the first one did).
    let replay = match &idempotency_key {
        Some(k) => state.store.idempotency_key_seen(&org.id, k).await?,
        None => false,
    };
    if !replay {
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
    let count = segments::count(&text);
    // The conversation is part of what makes two requests the same.
    let route = format!("POST /v1/sms/conversations/{id}/messages");
    let req = ConversationSend {
        org_id: org.id,
        conversation_id: id.clone(),
        outbound: NewOutbound {
            body: text,
            sender: sender.to_owned(),
            encoding: count.encoding.as_str().into(),
            segments: i64::from(count.segments),
            content_sid: None,
            content_variables: None,
            priority: 0,
        },
        idempotency: idempotency_key.map(|k| (k, request_hash(&route, &body.raw))),
        now: state.clock.now_ms(),
    };
    let accepted = match state.store.accept_conversation_send(&req).await? {
        ConversationSendOutcome::Accepted(a) => {
            metrics::counter!("parley_messages_total", "status" => "queued").increment(1);
            state.dispatch_wake.notify_one();
            a
        }
        ConversationSendOutcome::Replayed(a) => a,
        ConversationSendOutcome::KeyReused => return Err(ApiError::idempotency_key_reused()),
        ConversationSendOutcome::ConversationNotFound => {
            return Err(ApiError::conversation_not_found(&id))
        }
        ConversationSendOutcome::AgentNumberNotFound(n) => {
            return Err(ApiError::agent_number_not_found(&n))
        }
    };
    Ok(ok(SendMessageOut {
        message: "Message sent successfully".into(),
        conversation_id: accepted.conversation_id,
        message_id: accepted.message_id,
        workflow_id: accepted.workflow_id,
    }))
}
