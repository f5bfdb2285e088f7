//! The text chat harness (`/v1/pathway/chat/create`, `/v1/pathway/chat/{id}`): talk to a
//! pathway without a phone, through the same [`TurnDriver`](crate::turns::TurnDriver) SMS
//! conversations use. Enveloped (`{data, errors}`), as on Bland.
//!
//! The chat keeps the engine state and the transcript. Each message resolves the pathway
//! version again (the selector given at creation, `production` by default), so edits to the
//! draft or a new publish show up in the next message.

mod dto;

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use parley_domain::pathways::{
    EngineError, HistoryEntry, Outcome, Pathway, PathwayState, Role, Signal, TurnContext,
};
use parley_store::{NewChat, Resolution, VersionSelector};
use serde_json::{Map, Value};

use super::checks::{
    invalid_pathway_message, known, model_missing_at, pathway_not_found, version_not_found,
};
use crate::{
    api::{
        auth::Org,
        error::{ApiError, ErrorBody},
        extract::BlandJson,
        send::NumOrString,
    },
    app::AppState,
    turns::{TurnError, TurnReport},
};

pub use dto::{
    ChatEntry, ChatMessageIn, ChatReply, ChatReplyOut, CreateChatIn, CreateChatOut, CreatedChat,
};

/// Pathway transfers followed within one message.
const MAX_TRANSFERS: usize = 3;

fn chat_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "CHAT_NOT_FOUND",
        format!("chat {id} not found"),
    )
}

fn selector(field: &str, raw: Option<&str>) -> Result<VersionSelector, ApiError> {
    let raw = raw.unwrap_or("production");
    VersionSelector::parse(raw).ok_or_else(|| {
        ApiError::invalid(format!(
            "{field} must be a version number or production, staging, draft or latest, not {raw:?}"
        ))
    })
}

/// The graph a selector names in one of the org's pathways, read by the engine.
async fn load(
    state: &AppState,
    org: &Org,
    pathway_id: &str,
    version: Option<&str>,
) -> Result<Pathway, ApiError> {
    let sel = selector("pathway_version", version)?;
    match state
        .store
        .resolve_pathway_version(&org.id, pathway_id, sel)
        .await?
    {
        Resolution::Found(r) => Ok(Pathway::from_value(r.graph().clone())),
        Resolution::PathwayNotFound => Err(pathway_not_found(pathway_id)),
        Resolution::VersionNotFound => Err(version_not_found(
            pathway_id,
            version.unwrap_or("production"),
        )),
    }
}

#[utoipa::path(
    post, path = "/v1/pathway/chat/create", tag = "pathways",
    request_body = CreateChatIn,
    responses(
        (status = 200, description = "The chat, ready for its first message", body = CreateChatOut),
        (status = 400, description = "Missing `pathway_id`, a `request_data` that is not an object, a bad `pathway_version`, or a `start_node_id` that is not a node of it (`INVALID_PARAMETER`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PATHWAY_NOT_FOUND` or `PATHWAY_VERSION_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create_chat(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<CreateChatIn>,
) -> Result<Json<CreateChatOut>, ApiError> {
    let b = body.value;
    let pathway_id = super::checks::required_text("pathway_id", b.pathway_id)?;
    let variables = match b.request_data {
        None => Map::new(),
        Some(Value::Object(m)) => m,
        Some(_) => return Err(ApiError::invalid("request_data must be a JSON object")),
    };
    let version = b.pathway_version.map(NumOrString::into_string);
    let pathway = load(&state, &org, &pathway_id, version.as_deref()).await?;
    let start = b.start_node_id.filter(|s| !s.trim().is_empty());
    if let Some(id) = &start {
        if pathway.node(id).is_none() {
            return Err(ApiError::invalid(format!(
                "start_node_id {id:?} is not a node of pathway {pathway_id}"
            )));
        }
    }
    let pathway_state = PathwayState::new(&pathway_id, version.clone(), variables.clone());
    let id = uuid::Uuid::new_v4().to_string();
    let chat = NewChat {
        id: id.clone(),
        org_id: org.id.clone(),
        pathway_id,
        pathway_version: version,
        start_node_id: start,
        state: serde_json::to_value(&pathway_state).expect("state serializes"),
        now: state.clock.now_ms(),
    };
    state.store.create_pathway_chat(&chat).await?;
    Ok(Json(CreateChatOut {
        data: CreatedChat {
            chat_id: id,
            message: "Chat instance created successfully".into(),
            variables: Value::Object(variables),
        },
        errors: None,
    }))
}

#[utoipa::path(
    post, path = "/v1/pathway/chat/{id}", tag = "pathways",
    params(("id" = String, Path, description = "Chat id from `/v1/pathway/chat/create`")),
    request_body = ChatMessageIn,
    responses(
        (status = 200, description = "The agent's replies and where the chat is now; a failing model gives `language_model.fallback_reply`", body = ChatReplyOut),
        (status = 400, description = "No `message` after the first turn (`INVALID_PARAMETER`), the chat ended (`CHAT_COMPLETED`), the pathway cannot run (`INVALID_PATHWAY`), or it needs a model this server lacks (`MODEL_REQUIRED`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`CHAT_NOT_FOUND`, `PATHWAY_NOT_FOUND` or `PATHWAY_VERSION_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn chat_message(
    State(state): State<AppState>,
    org: Org,
    Path(chat_id): Path<String>,
    body: BlandJson<ChatMessageIn>,
) -> Result<Json<ChatReplyOut>, ApiError> {
    known(&chat_id, chat_not_found)?;
    let chat = state
        .store
        .pathway_chat(&org.id, &chat_id)
        .await?
        .ok_or_else(|| chat_not_found(&chat_id))?;
    if chat.completed {
        return Err(completed(&chat_id));
    }
    let message = body.value.message.filter(|m| !m.trim().is_empty());
    let corrupt = |what: &str, e: serde_json::Error| {
        tracing::error!(chat.id = %chat_id, error = %e, "stored chat {what} is unreadable");
        ApiError::internal()
    };
    let mut pathway_state: PathwayState =
        serde_json::from_value(chat.state.clone()).map_err(|e| corrupt("state", e))?;
    let mut history: Vec<ChatEntry> =
        serde_json::from_value(chat.history.clone()).map_err(|e| corrupt("history", e))?;
    // Not started until the engine has entered a node: a first turn that fell back to the
    // fallback reply leaves the chat unstarted.
    let started = pathway_state.current_node_id.is_some();
    if started && message.is_none() {
        return Err(ApiError::invalid("message is required"));
    }
    let pathway_id = pathway_state
        .pathway_id
        .clone()
        .unwrap_or_else(|| chat.pathway_id.clone());
    let pathway = load(
        &state,
        &org,
        &pathway_id,
        pathway_state.pathway_version.as_deref(),
    )
    .await?;
    let ctx = TurnContext {
        conversation_id: chat_id.clone(),
        now_ms: state.clock.now_ms(),
        history: history.iter().map(entry_to_history).collect(),
        ..TurnContext::default()
    };
    if let Some(m) = &message {
        history.push(ChatEntry {
            role: "user".into(),
            content: m.clone(),
        });
    }
    let turns = &state.turns;
    let report = match &message {
        // Mid-chat; or a first message with no chosen start node: the engine enters the
        // start node and says it (the user has not seen it yet).
        Some(m) if started || chat.start_node_id.is_none() => {
            turns
                .run_turn(&pathway, pathway_state, m, ctx.clone())
                .await
        }
        // The first turn: the agent opens (at the chosen start node, if any, of the chat's
        // own pathway), with the user's first message as context.
        first => {
            if pathway_state.pathway_id.as_deref() == Some(chat.pathway_id.as_str()) {
                pathway_state.current_node_id = chat.start_node_id.clone();
            }
            let mut opening = ctx.clone();
            opening.history.extend(first.iter().map(|m| HistoryEntry {
                role: Role::User,
                text: m.clone(),
            }));
            turns.run_opener(&pathway, pathway_state, opening).await
        }
    }
    .map_err(|e| turn_error(&chat_id, e))?;
    let (pathway, outcome, responses) = follow_transfers(
        &state,
        &org,
        &chat_id,
        pathway,
        report.outcome,
        ctx,
        message,
    )
    .await?;
    history.extend(responses.iter().map(|t| ChatEntry {
        role: "assistant".into(),
        content: t.clone(),
    }));
    pathway_state = outcome.state;
    let completed = pathway_state.ended || matches!(outcome.signal, Signal::End { .. });
    state
        .store
        .save_pathway_chat(
            &org.id,
            &chat_id,
            &serde_json::to_value(&pathway_state).expect("state serializes"),
            &serde_json::to_value(&history).expect("history serializes"),
            completed,
            state.clock.now_ms(),
        )
        .await?;
    let current_node_name = pathway_state
        .current_node_id
        .as_deref()
        .and_then(|id| pathway.node(id))
        .and_then(|n| n.name.clone());
    Ok(Json(ChatReplyOut {
        data: ChatReply {
            chat_id,
            assistant_responses: responses,
            current_node_id: pathway_state.current_node_id,
            current_node_name,
            chat_history: history,
            pathway_id: pathway_state.pathway_id,
            pathway_version: pathway_state.pathway_version,
            variables: Value::Object(pathway_state.variables),
            completed,
        },
        errors: None,
    }))
}

/// Follows `Transfer Pathway` signals: the new pathway opens in the same message, seeing the
/// whole conversation. Returns the pathway that ran last, its outcome, and everything said.
async fn follow_transfers(
    state: &AppState,
    org: &Org,
    chat_id: &str,
    mut pathway: Pathway,
    mut outcome: Outcome,
    mut ctx: TurnContext,
    mut user_text: Option<String>,
) -> Result<(Pathway, Outcome, Vec<String>), ApiError> {
    let mut responses = said(&outcome);
    for _ in 0..MAX_TRANSFERS {
        let Signal::TransferPathway { pathway_id, .. } = &outcome.signal else {
            break;
        };
        let version = outcome.state.pathway_version.as_deref();
        let Ok(next) = load(state, org, pathway_id, version).await else {
            tracing::warn!(chat.id = %chat_id, pathway.id = %pathway_id, "transfer target pathway not found (or its version); the next message answers PATHWAY_NOT_FOUND");
            break;
        };
        pathway = next;
        if let Some(text) = user_text.take() {
            ctx.history.push(HistoryEntry {
                role: Role::User,
                text,
            });
        }
        ctx.history
            .extend(said(&outcome).into_iter().map(|text| HistoryEntry {
                role: Role::Agent,
                text,
            }));
        let more: TurnReport = state
            .turns
            .run_opener(&pathway, outcome.state.clone(), ctx.clone())
            .await
            .map_err(|e| turn_error(chat_id, e))?;
        outcome = more.outcome;
        responses.extend(said(&outcome));
    }
    Ok((pathway, outcome, responses))
}

/// The messages for the user (an `SMS` node's text to another number is not part of the
/// chat).
fn said(outcome: &Outcome) -> Vec<String> {
    outcome
        .messages
        .iter()
        .filter(|m| m.to.is_none())
        .map(|m| m.text.clone())
        .collect()
}

fn entry_to_history(e: &ChatEntry) -> HistoryEntry {
    HistoryEntry {
        role: if e.role == "user" {
            Role::User
        } else {
            Role::Agent
        },
        text: e.content.clone(),
    }
}

fn completed(chat_id: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "CHAT_COMPLETED",
        format!("chat {chat_id} reached an End Call node; create a new chat to talk again"),
    )
}

fn turn_error(chat_id: &str, e: TurnError) -> ApiError {
    match e {
        TurnError::ModelRequired { node_id, task } => model_missing_at(&node_id, task),
        TurnError::Engine(EngineError::ConversationEnded) => completed(chat_id),
        TurnError::Engine(e @ (EngineError::NoStartNode | EngineError::HopLimit { .. })) => {
            invalid_pathway_message(&format!("the pathway cannot run: {e}"))
        }
        TurnError::Engine(e) => {
            tracing::error!(chat.id = %chat_id, error = %e, "the pathway engine refused an answer the driver gave");
            ApiError::internal()
        }
    }
}
