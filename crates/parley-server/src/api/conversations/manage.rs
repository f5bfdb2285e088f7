//! Changing and deleting conversations: `PATCH` (spec 2.12), `DELETE` (2.13) and deleting
//! messages (2.14).

use axum::{
    extract::{Path, State},
    Json,
};
use parley_domain::clock::iso8601_ms;
use parley_store::SetActiveOutcome;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::conversation_id;
use crate::{
    api::{
        auth::Org,
        error::{ok, ApiError, Envelope, ErrorBody},
        extract::BlandJson,
    },
    app::AppState,
};

/// Most message ids one request may delete.
pub const MAX_MESSAGE_IDS: usize = 1000;

#[derive(Debug, Deserialize, ToSchema)]
pub struct PatchConversationIn {
    /// `false` closes the conversation (the next inbound text starts a new one); `true`
    /// reopens it.
    #[schema(required = true, value_type = bool)]
    pub is_active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PatchedConversation {
    pub id: String,
    pub is_active: bool,
    pub updated_at: String,
}

/// Bland's PATCH success body is not enveloped.
#[derive(Debug, Serialize, ToSchema)]
pub struct PatchConversationOut {
    /// Always `"Conversation updated successfully"`.
    pub message: String,
    pub conversation: PatchedConversation,
}

#[utoipa::path(
    patch, path = "/v1/sms/conversations/{id}", tag = "conversations",
    params(("id" = uuid::Uuid, Path, description = "Conversation id (a UUID; a blank one is `400 CONVERSATION_ID_REQUIRED`, any other unknown one `404`)")),
    request_body = PatchConversationIn,
    responses(
        (status = 200, description = "Updated (Bland's un-enveloped body)", body = PatchConversationOut),
        (status = 400, description = "Missing or invalid is_active, or blank id (`CONVERSATION_ID_REQUIRED`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Unknown id, or another org's conversation", body = ErrorBody),
        (status = 409, description = "Reopening while another conversation of the pair is active", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn update_conversation(
    State(state): State<AppState>,
    org: Org,
    Path(id): Path<String>,
    body: BlandJson<PatchConversationIn>,
) -> Result<Json<PatchConversationOut>, ApiError> {
    let id = conversation_id(&id)?;
    let active = body
        .value
        .is_active
        .ok_or_else(|| ApiError::invalid("is_active is required (true or false)"))?;
    let now = state.clock.now_ms();
    match state
        .store
        .set_conversation_active(&org.id, id, active, now)
        .await?
    {
        SetActiveOutcome::Updated(c) => Ok(Json(PatchConversationOut {
            message: "Conversation updated successfully".into(),
            conversation: PatchedConversation {
                id: c.id,
                is_active: c.is_active != 0,
                updated_at: iso8601_ms(c.updated_at),
            },
        })),
        SetActiveOutcome::NotFound => Err(ApiError::conversation_not_found(id)),
        SetActiveOutcome::PairBusy { active_id } => {
            Err(ApiError::active_conversation_exists(&active_id))
        }
    }
}

#[utoipa::path(
    patch, path = "/v1/sms/conversations", tag = "conversations",
    responses(
        (status = 400, description = "`CONVERSATION_ID_REQUIRED`: the id belongs in the path", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key (checked first)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn update_conversation_without_id(_org: Org) -> ApiError {
    ApiError::conversation_id_required()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationDeletedOut {
    /// `"Conversation and all associated messages deleted successfully"`.
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConversationDeletedEnvelope {
    pub data: ConversationDeletedOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    delete, path = "/v1/sms/conversations/{id}", tag = "conversations",
    params(("id" = uuid::Uuid, Path, description = "Conversation id (a UUID; a blank one is `400 CONVERSATION_ID_REQUIRED`, any other unknown one `404`)")),
    responses(
        (status = 200, description = "Deleted for good, with all its messages", body = ConversationDeletedEnvelope),
        (status = 400, description = "Blank id", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Unknown id, or another org's conversation", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn delete_conversation(
    State(state): State<AppState>,
    org: Org,
    Path(id): Path<String>,
) -> Result<Json<Envelope<ConversationDeletedOut>>, ApiError> {
    let id = conversation_id(&id)?;
    state
        .store
        .delete_conversation(&org.id, id)
        .await?
        .ok_or_else(|| ApiError::conversation_not_found(id))?;
    Ok(ok(ConversationDeletedOut {
        message: "Conversation and all associated messages deleted successfully".into(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DeleteMessagesIn {
    /// Non-empty; message ids as numbers or numeric strings.
    #[schema(value_type = Vec<String>)]
    pub message_ids: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeleteMessagesOut {
    /// `"<n> messages marked as deleted"`.
    pub message: String,
    pub deleted_count: u64,
}

#[derive(Serialize, ToSchema)]
pub struct DeleteMessagesEnvelope {
    pub data: DeleteMessagesOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

/// Message ids arrive as JSON numbers or numeric strings (Bland's field list says
/// `string[]`, its examples use integers).
fn parse_message_ids(v: Option<Value>) -> Result<Vec<i64>, ApiError> {
    let items = match v {
        Some(Value::Array(items)) if !items.is_empty() => items,
        Some(Value::Array(_)) | None | Some(Value::Null) => {
            return Err(ApiError::invalid("message_ids must be a non-empty array"))
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "message_ids must be an array of message ids",
            ))
        }
    };
    if items.len() > MAX_MESSAGE_IDS {
        return Err(ApiError::invalid(format!(
            "message_ids: at most {MAX_MESSAGE_IDS} ids per request (got {})",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let id = match v {
                Value::Number(n) => n.as_i64(),
                Value::String(s) if s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
                _ => None,
            };
            id.filter(|id| *id > 0).ok_or_else(|| {
                ApiError::invalid(format!(
                    "message_ids[{i}] must be a message id (a positive integer or a string of digits)"
                ))
            })
        })
        .collect()
}

#[utoipa::path(
    delete, path = "/v1/sms/conversations/{id}/messages", tag = "conversations",
    params(("id" = uuid::Uuid, Path, description = "Conversation id (a UUID; a blank one is `400 CONVERSATION_ID_REQUIRED`, any other unknown one `404`)")),
    request_body = DeleteMessagesIn,
    responses(
        (status = 200, description = "Soft-deleted; ids of other conversations and already deleted messages are not counted", body = DeleteMessagesEnvelope),
        (status = 400, description = "Missing, empty or malformed message_ids", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Unknown id, or another org's conversation", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn delete_messages(
    State(state): State<AppState>,
    org: Org,
    Path(id): Path<String>,
    body: BlandJson<DeleteMessagesIn>,
) -> Result<Json<Envelope<DeleteMessagesOut>>, ApiError> {
    let id = conversation_id(&id)?;
    let ids = parse_message_ids(body.value.message_ids)?;
    let now = state.clock.now_ms();
    let deleted = state
        .store
        .soft_delete_messages(&org.id, id, &ids, now)
        .await?
        .ok_or_else(|| ApiError::conversation_not_found(id))?;
    Ok(ok(DeleteMessagesOut {
        message: format!("{deleted} messages marked as deleted"),
        deleted_count: deleted,
    }))
}
