//! `POST /v1/citation_schemas/backfill` for SMS conversations (spec 3): synchronous, at most
//! [`MAX_CONVERSATIONS`] conversations, each reported with its own status.
//!
//! Everything the request names is checked before anything runs: an unknown schema is
//! `SCHEMA_NOT_FOUND`, an unknown conversation `CONVERSATION_NOT_FOUND` (another org's
//! alike), so a bad id changes nothing. Then each conversation is extracted and the new
//! values are merged into its `citation_variables` (only the schemas' own variables change).
//! A conversation without messages is `skipped`; one whose model-needing variables could
//! not be extracted (no model, or it failed) is `error` with the reason, and what was
//! extracted is still stored.

use axum::{extract::State, http::StatusCode, Json};
use parley_domain::citations::{Citation, CitationSchema};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{checked_schema, missing_schema_id, schema_id, schema_not_found, stored_schema};
use crate::{
    api::{
        auth::Org,
        error::{ok, ApiError, Envelope, ErrorBody},
        extract::BlandJson,
    },
    app::AppState,
    citations::{extract, ExtractOptions},
};

/// Most conversations one backfill takes.
pub const MAX_CONVERSATIONS: usize = 50;

#[derive(Debug, Deserialize, ToSchema)]
pub struct BackfillIn {
    /// One of the org's schemas. Give exactly one of `schema_id`, `schema_ids`, `schema`.
    pub schema_id: Option<String>,
    pub schema_ids: Option<Vec<String>>,
    /// An inline schema (`variables`, `groupings`, `conditions`), not stored.
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Value>,
    /// Give exactly one of `conversation_id`, `conversation_ids` (at most 50).
    pub conversation_id: Option<String>,
    pub conversation_ids: Option<Vec<String>>,
    /// Bland's call backfill; Parley has no calls, so these are refused.
    #[schema(value_type = Option<Object>)]
    pub call_id: Option<Value>,
    #[schema(value_type = Option<Object>)]
    pub call_ids: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BackfillOut {
    /// `complete`: SMS backfill finishes before it answers.
    pub status: String,
    pub conversation_count: usize,
    pub schema_count: usize,
    pub conversations: Vec<ConversationBackfill>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationBackfill {
    pub conversation_id: String,
    /// `success`, `skipped` (no messages), or `error` (some variables could not be
    /// extracted; see `error`).
    pub status: String,
    pub variables_extracted: usize,
    #[schema(value_type = Object)]
    pub previous_variables: Map<String, Value>,
    #[schema(value_type = Object)]
    pub newly_extracted_variables: Map<String, Value>,
    #[schema(value_type = Object)]
    pub final_variables: Map<String, Value>,
    pub error: Option<String>,
    /// Parley extension: where the new values were read (`variable`, `message`,
    /// `message_id`, `confidence`).
    #[schema(value_type = Vec<Object>)]
    pub citations: Vec<Citation>,
}

#[derive(Serialize, ToSchema)]
pub struct BackfillEnvelope {
    pub data: BackfillOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

/// `MISSING_CONVERSATION_ID`: the request names no conversation.
pub fn missing_conversation_id(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "MISSING_CONVERSATION_ID", message)
}

/// The one of `single` / `many` that is given, as a list (`field` names them in errors).
fn one_or_many(
    single: Option<String>,
    many: Option<Vec<String>>,
    field: &str,
) -> Result<Option<Vec<String>>, ApiError> {
    let list = match (single, many) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(format!(
                "give {field}_id or {field}_ids, not both"
            )))
        }
        (Some(one), None) => vec![one],
        (None, Some(list)) if list.is_empty() => {
            return Err(ApiError::invalid(format!("{field}_ids must not be empty")))
        }
        (None, Some(list)) => list,
        (None, None) => return Ok(None),
    };
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, id) in list.into_iter().enumerate() {
        let id = id.trim().to_owned();
        if id.is_empty() {
            return Err(ApiError::invalid(format!(
                "{field}_ids[{i}] must not be blank"
            )));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(Some(out))
}

async fn schemas_of(
    state: &AppState,
    org: &Org,
    b: &mut BackfillIn,
) -> Result<Vec<CitationSchema>, ApiError> {
    let ids = one_or_many(b.schema_id.take(), b.schema_ids.take(), "schema")?;
    match (ids, b.schema.take()) {
        (Some(_), Some(_)) => Err(ApiError::invalid(
            "give schema_id or schema_ids, or an inline schema, not both",
        )),
        (None, Some(inline)) => Ok(vec![checked_schema(&inline, "schema")?]),
        (None, None) => Err(missing_schema_id(
            "one of schema_id, schema_ids or schema is required",
        )),
        (Some(ids), None) => {
            let mut wanted = Vec::with_capacity(ids.len());
            for raw in &ids {
                wanted.push(schema_id(raw)?);
            }
            let rows = state
                .store
                .citation_schemas_by_ids(&org.id, &wanted)
                .await?;
            wanted
                .iter()
                .map(|id| match rows.iter().find(|r| &r.id == id) {
                    Some(r) => stored_schema(r),
                    None => Err(schema_not_found(id)),
                })
                .collect()
        }
    }
}

#[utoipa::path(
    post, path = "/v1/citation_schemas/backfill", tag = "citations",
    request_body = BackfillIn,
    responses(
        (status = 200, description = "Done: every conversation with its status, previous, new and final citation variables", body = BackfillEnvelope),
        (status = 400, description = "`MISSING_SCHEMA_ID`, `MISSING_CONVERSATION_ID`, an invalid combination, empty list, more than 50 conversations, a call id, or an invalid inline schema (`INVALID_PARAMETER`, naming the field); a stored schema that no longer parses (`INVALID_SCHEMA`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`SCHEMA_NOT_FOUND` or `CONVERSATION_NOT_FOUND` (another org's alike); nothing was changed", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn backfill(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<BackfillIn>,
) -> Result<Json<Envelope<BackfillOut>>, ApiError> {
    let mut b = body.value;
    if let Some(field) = [("call_id", &b.call_id), ("call_ids", &b.call_ids)]
        .iter()
        .find_map(|(f, v)| v.is_some().then_some(*f))
    {
        return Err(ApiError::invalid(format!(
            "{field}: Parley has no calls; backfill SMS conversations with conversation_id or conversation_ids"
        )));
    }
    let conversation_ids = one_or_many(
        b.conversation_id.take(),
        b.conversation_ids.take(),
        "conversation",
    )?
    .ok_or_else(|| missing_conversation_id("conversation_id or conversation_ids is required"))?;
    if conversation_ids.len() > MAX_CONVERSATIONS {
        return Err(ApiError::invalid(format!(
            "conversation_ids: at most {MAX_CONVERSATIONS} conversations per backfill"
        )));
    }
    let schemas = schemas_of(&state, &org, &mut b).await?;
    let mut records = Vec::with_capacity(conversation_ids.len());
    for id in &conversation_ids {
        let record = state
            .store
            .conversation_record(&org.id, id)
            .await?
            .ok_or_else(|| ApiError::conversation_not_found(id))?;
        records.push(record);
    }

    let model = state.language_model.as_deref();
    let mut conversations = Vec::with_capacity(records.len());
    for record in records {
        let id = record.conversation_id.clone();
        if record.transcript.is_empty() {
            conversations.push(ConversationBackfill {
                conversation_id: id,
                status: "skipped".into(),
                variables_extracted: 0,
                previous_variables: record.citations.clone(),
                newly_extracted_variables: Map::new(),
                final_variables: record.citations,
                error: Some("the conversation has no messages".into()),
                citations: Vec::new(),
            });
            continue;
        }
        let outcome = extract(&schemas, &record, model, &ExtractOptions::default()).await;
        let merged = state
            .store
            .merge_citation_variables(&org.id, &id, &outcome.variables)
            .await?
            // Deleted while the backfill ran.
            .ok_or_else(|| ApiError::conversation_not_found(&id))?;
        let error = (!outcome.errors.is_empty()).then(|| {
            outcome
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        });
        conversations.push(ConversationBackfill {
            conversation_id: id,
            status: if error.is_some() { "error" } else { "success" }.into(),
            variables_extracted: outcome.variables.len(),
            previous_variables: merged.previous,
            newly_extracted_variables: outcome.variables,
            final_variables: merged.merged,
            error,
            citations: outcome.citations,
        });
    }
    Ok(ok(BackfillOut {
        status: "complete".into(),
        conversation_count: conversations.len(),
        schema_count: schemas.len(),
        conversations,
    }))
}
