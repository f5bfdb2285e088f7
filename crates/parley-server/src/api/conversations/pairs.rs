//! Bland's legacy endpoints addressed by a pair of numbers instead of a conversation id:
//! `POST /v1/sms/clear` (spec 2.21) and `POST /v1/sms/messages/get` (2.22). Either number
//! may come first; at least one must be the caller's. They cover every conversation of the
//! pair in the org, on every channel, active or not.

use axum::{extract::State, Json};
use parley_domain::PhoneNumber;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::MessageOut;
use crate::{
    api::{
        auth::Org,
        error::{ApiError, ErrorBody},
        extract::BlandJson,
        send::parse_number,
    },
    app::AppState,
};

/// Most messages `/v1/sms/messages/get` returns (the newest ones).
pub const MAX_PAIR_MESSAGES: i64 = 1000;

#[derive(Debug, Deserialize, ToSchema)]
pub struct PairIn {
    /// One number of the pair (Bland: the number you do not own).
    #[schema(required = true, value_type = String, pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub to: Option<String>,
    /// The other (Bland: your number). Order does not matter.
    #[schema(required = true, value_type = String, pattern = r"^\+[1-9][0-9]{7,14}$")]
    pub from: Option<String>,
}

/// Parses both numbers and checks that the caller owns at least one of them. When neither
/// is theirs the answer is the same as for a number that exists nowhere.
pub(crate) async fn owned_pair(
    state: &AppState,
    org: &Org,
    b: PairIn,
) -> Result<(PhoneNumber, PhoneNumber), ApiError> {
    let to = parse_number("to", b.to.as_deref())?;
    let from = parse_number("from", b.from.as_deref())?;
    let store = &state.store;
    if store
        .number_for_org(&org.id, from.as_str())
        .await?
        .is_none()
        && store.number_for_org(&org.id, to.as_str()).await?.is_none()
    {
        return Err(ApiError::number_not_found("from", from.as_str()));
    }
    Ok((to, from))
}

/// Legacy body: not enveloped.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClearOut {
    /// Always `"success"`.
    pub status: String,
    /// Messages newly hidden from the agent.
    pub count: u64,
}

#[utoipa::path(
    post, path = "/v1/sms/clear", tag = "conversations",
    request_body = PairIn,
    responses(
        (status = 200, description = "Hidden from the agent's context, still in the history (legacy, not enveloped)", body = ClearOut),
        (status = 400, description = "Missing or invalid number", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Neither number is the caller's", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn clear_pair(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<PairIn>,
) -> Result<Json<ClearOut>, ApiError> {
    let (to, from) = owned_pair(&state, &org, body.value).await?;
    let count = state
        .store
        .hide_pair_from_ai(&org.id, to.as_str(), from.as_str())
        .await?;
    Ok(Json(ClearOut {
        status: "success".into(),
        count,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PairMessageOut {
    pub conversation_id: String,
    #[serde(flatten)]
    pub message: MessageOut,
}

/// Legacy body: not enveloped. Bland documents `messages` as a JSON string holding an
/// array; Parley returns the array itself (see docs/API.md).
#[derive(Debug, Serialize, ToSchema)]
pub struct PairMessagesOut {
    pub messages: Vec<PairMessageOut>,
}

#[utoipa::path(
    post, path = "/v1/sms/messages/get", tag = "conversations",
    request_body = PairIn,
    responses(
        (status = 200, description = "The pair's newest 1,000 visible messages, oldest first (legacy, not enveloped)", body = PairMessagesOut),
        (status = 400, description = "Missing or invalid number", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "Neither number is the caller's", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get_pair_messages(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<PairIn>,
) -> Result<Json<PairMessagesOut>, ApiError> {
    let (to, from) = owned_pair(&state, &org, body.value).await?;
    let rows = state
        .store
        .pair_messages(&org.id, to.as_str(), from.as_str(), MAX_PAIR_MESSAGES)
        .await?;
    Ok(Json(PairMessagesOut {
        messages: rows
            .into_iter()
            .map(|m| PairMessageOut {
                conversation_id: m.conversation_id.clone(),
                message: m.into(),
            })
            .collect(),
    }))
}
