//! `GET /v1/sms/conversations/{id}`: one conversation and its messages (spec 2.11), and the
//! shapes shared by the other conversation endpoints in the submodules: `list` (spec 2.10)
//! with its `filters` parser, `create` (2.2), `manage` (2.12 to 2.14), `send_message`
//! (2.15), `handoff` (2.16, 2.17) and `pairs` (the legacy 2.21 and 2.22).

pub mod create;
pub mod cursor;
pub mod filters;
pub mod handoff;
pub mod list;
pub mod manage;
pub mod pairs;
pub mod send_message;

use axum::{
    extract::{Path, State},
    Json,
};
use parley_domain::clock::iso8601_ms;
use parley_store::{ConversationRow, MessageRow};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{
    auth::Org,
    error::{ok, ApiError, Envelope, ErrorBody},
};
use crate::app::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    pub id: i64,
    pub created_at: String,
    pub message: String,
    pub from: String,
    pub to: String,
    /// `USER`, `AGENT` or `HUMAN`.
    pub sender: String,
    /// `queued`, `sent`, `delivered`, `undelivered`, `failed`, `read`; null for inbound.
    pub status: Option<String>,
    pub error_code: Option<String>,
    /// Parley extension: `GSM-7` or `UCS-2`.
    pub encoding: String,
    /// Parley extension: SMS segments the text occupies.
    pub segments: i64,
    /// Parley extension: hidden from the agent's context by `/v1/sms/clear`.
    pub hidden_from_ai: bool,
}

impl From<MessageRow> for MessageOut {
    fn from(m: MessageRow) -> Self {
        Self {
            id: m.id,
            created_at: iso8601_ms(m.created_at),
            message: m.body,
            from: m.from_number,
            to: m.to_number,
            sender: m.sender,
            status: m.status,
            error_code: m.error_code,
            encoding: m.encoding,
            segments: m.segments,
            hidden_from_ai: m.hidden_from_ai != 0,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationOut {
    pub id: String,
    pub created_at: String,
    pub updated_at: String,
    pub user_number: String,
    pub agent_number: String,
    #[schema(value_type = Option<Object>)]
    pub variables: Option<Value>,
    pub current_node_id: Option<String>,
    pub curr_pathway_id: Option<String>,
    pub curr_pathway_version: Option<String>,
    pub timed_out_at: Option<String>,
    pub is_active: bool,
    pub effective_channel: String,
    pub summary: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub citation_variables: Option<Value>,
    pub disposition_tag: Option<String>,
    /// The org that owns the conversation (Bland's example field).
    pub user_id: String,
    /// Id of the agent number's record (Bland's example field).
    pub inbound_id: Option<i64>,
    pub last_message_at: Option<String>,
    pub message_count: i64,
    #[schema(value_type = Option<Object>)]
    pub request_data: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// Parley extension: handed to a human (spec 2.16); the agent does not answer.
    pub handed_off: bool,
    pub handed_off_at: Option<String>,
    /// The handoff request (`reason`, `actor`, `metadata`, `webhook`, `notify_number`);
    /// null when not handed off.
    #[schema(value_type = Option<Object>)]
    pub handoff: Option<Value>,
    pub messages: Vec<MessageOut>,
    #[schema(value_type = Vec<Object>)]
    pub disposition_logs: Vec<Value>,
}

impl ConversationOut {
    pub fn new(c: ConversationRow, inbound_id: Option<i64>, messages: Vec<MessageRow>) -> Self {
        let disposition_logs = c
            .json(&c.disposition_logs)
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default();
        Self {
            user_id: c.org_id.clone(),
            inbound_id,
            variables: c.json(&c.variables),
            citation_variables: c.json(&c.citation_variables),
            request_data: c.json(&c.request_data),
            metadata: c.json(&c.metadata),
            handed_off: c.handed_off_at.is_some(),
            handed_off_at: c.handed_off_at.map(iso8601_ms),
            handoff: c.json(&c.handoff),
            id: c.id,
            created_at: iso8601_ms(c.created_at),
            updated_at: iso8601_ms(c.updated_at),
            user_number: c.user_number,
            agent_number: c.agent_number,
            current_node_id: c.current_node_id,
            curr_pathway_id: c.pathway_id,
            curr_pathway_version: c.pathway_version,
            timed_out_at: c.timed_out_at.map(iso8601_ms),
            is_active: c.is_active != 0,
            effective_channel: c.channel,
            summary: c.summary,
            disposition_tag: c.disposition_tag,
            last_message_at: c.last_message_at.map(iso8601_ms),
            message_count: c.message_count,
            messages: messages.into_iter().map(MessageOut::from).collect(),
            disposition_logs,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ConversationEnvelope {
    pub data: ConversationOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

/// The conversation id from a path. Bland answers a missing id with
/// `CONVERSATION_ID_REQUIRED`, and a blank segment (`%20`) is the same mistake. An id with a
/// NUL character cannot exist (PostgreSQL text cannot hold one), so it is simply not found.
pub(crate) fn conversation_id(id: &str) -> Result<&str, ApiError> {
    let id = id.trim();
    if id.is_empty() {
        Err(ApiError::conversation_id_required())
    } else if id.contains('\0') {
        Err(ApiError::conversation_not_found(id))
    } else {
        Ok(id)
    }
}

#[utoipa::path(
    get, path = "/v1/sms/conversations/{id}", tag = "conversations",
    params(("id" = uuid::Uuid, Path, description = "Conversation id (a UUID; a blank one is `400 CONVERSATION_ID_REQUIRED`, any other unknown one `404`)")),
    responses(
        (status = 200, description = "The conversation, messages oldest first", body = ConversationEnvelope),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Unknown id, or another org's conversation", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get_conversation(
    State(state): State<AppState>,
    org: Org,
    Path(id): Path<String>,
) -> Result<Json<Envelope<ConversationOut>>, ApiError> {
    let id = conversation_id(&id)?;
    let c = state
        .store
        .conversation(&org.id, id)
        .await?
        .ok_or_else(|| ApiError::conversation_not_found(id))?;
    let messages = state.store.conversation_messages(&c.id).await?;
    let inbound_id = state
        .store
        .number_for_org(&org.id, &c.agent_number)
        .await?
        .map(|n| n.id);
    Ok(ok(ConversationOut::new(c, inbound_id, messages)))
}
