//! `POST /v1/sms/analyze` (spec 2.20) in both of Bland's request shapes, told apart by the
//! body: with `schema_id` it is the current form (a citation schema over one conversation);
//! with `goal` (and `answers` or its synonym `questions`) it is the legacy form, questions
//! answered by the model over the messages of a number pair (or of `conversation_id`).
//!
//! Analysis reads and stores nothing; `POST /v1/citation_schemas/backfill` is what writes
//! `citation_variables`. A request that needs the model on a server without one is
//! `MODEL_REQUIRED` (400) before anything runs; a model that fails is `MODEL_UNAVAILABLE`
//! (503).

use axum::{
    extract::State,
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use parley_domain::citations::Citation;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use super::{
    auth::Org,
    citation_schemas::{
        backfill::missing_conversation_id, missing_schema_id, schema_id, schema_not_found,
        stored_schema,
    },
    error::{ApiError, ErrorBody},
    extract::BlandJson,
};
use crate::{
    app::AppState,
    citations::{extract, ExtractOptions},
};

mod legacy;

pub use legacy::LegacyAnalyzeOut;

#[derive(Debug, Deserialize, ToSchema)]
pub struct AnalyzeIn {
    /// Current form: the citation schema to extract.
    pub schema_id: Option<String>,
    /// The conversation to analyze (current form; legacy form instead of `to`/`from`).
    pub conversation_id: Option<String>,
    /// Legacy form: the purpose of the questions.
    pub goal: Option<String>,
    /// Legacy form: `[question, type]` pairs, e.g. `["When does Bob want to move?", "time"]`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub answers: Option<Value>,
    /// Synonym of `answers` (a cookbook's spelling).
    #[schema(value_type = Option<Vec<Object>>)]
    pub questions: Option<Value>,
    /// Legacy form: the two numbers of the conversation, in either order.
    pub to: Option<String>,
    pub from: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnalysisOut {
    /// `success`.
    pub status: String,
    pub conversation_id: String,
    pub schema_id: String,
    pub schema_name: String,
    pub variables_extracted: usize,
    #[schema(value_type = Object)]
    pub extracted_variables: Map<String, Value>,
    /// `{variable, message, message_id, confidence}` for each value whose source message is
    /// known.
    #[schema(value_type = Vec<Object>)]
    pub citations: Vec<Citation>,
    pub messages_processed: usize,
}

/// Bland's analyze envelope: `errors` is `[]`, not `null`, on success.
#[derive(Serialize, ToSchema)]
pub struct AnalysisEnvelope {
    pub data: AnalysisOut,
    #[schema(value_type = Vec<Object>)]
    pub errors: Vec<Value>,
}

/// `NO_MESSAGES` (404): nothing to analyze.
pub(crate) fn no_messages(what: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "NO_MESSAGES",
        format!("{what} has no messages to analyze"),
    )
}

/// `MODEL_REQUIRED`: the request needs a language model and none is configured.
pub(crate) fn model_required(what: &str, variables: &[&str]) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "MODEL_REQUIRED",
        format!(
            "{what} needs a language model and none is configured (set language_model.base_url)"
        ),
    )
    .with_details(json!({ "variables": variables }))
}

/// `MODEL_UNAVAILABLE`: the model failed; nothing was stored.
pub(crate) fn model_unavailable(why: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "MODEL_UNAVAILABLE",
        format!("the language model could not analyze the conversation: {why}"),
    )
}

#[utoipa::path(
    post, path = "/v1/sms/analyze", tag = "citations",
    request_body = AnalyzeIn,
    responses(
        (status = 200, description = "Current form (`schema_id`): the schema's variables with their citations, `errors: []`. Legacy form (`goal`): `{status, message, answers}`, not enveloped", body = AnalysisEnvelope),
        (status = 400, description = "`MISSING_SCHEMA_ID`, `MISSING_CONVERSATION_ID`, `INVALID_SCHEMA` (no variables), `INVALID_PARAMETER`, or `MODEL_REQUIRED` (`details.variables`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`SCHEMA_NOT_FOUND`, `CONVERSATION_NOT_FOUND` (another org's alike), `NO_MESSAGES`, or (legacy) `AGENT_NUMBER_NOT_FOUND`", body = ErrorBody),
        (status = 503, description = "`MODEL_UNAVAILABLE`: the model failed", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn analyze(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<AnalyzeIn>,
) -> Result<Response, ApiError> {
    let b = body.value;
    let legacy =
        b.schema_id.is_none() && (b.goal.is_some() || b.answers.is_some() || b.questions.is_some());
    if legacy {
        return Ok(Json(legacy::analyze(&state, &org, b).await?).into_response());
    }
    let raw_schema = b.schema_id.as_deref().map(str::trim).unwrap_or_default();
    if raw_schema.is_empty() {
        return Err(missing_schema_id(
            "schema_id is required (or goal and answers for the legacy form)",
        ));
    }
    let conversation_id = b
        .conversation_id
        .as_deref()
        .map(str::trim)
        .unwrap_or_default();
    if conversation_id.is_empty() {
        return Err(missing_conversation_id("conversation_id is required"));
    }
    let id = schema_id(raw_schema)?;
    let row = state
        .store
        .citation_schema(&org.id, &id)
        .await?
        .ok_or_else(|| schema_not_found(raw_schema))?;
    let record = state
        .store
        .conversation_record(&org.id, conversation_id)
        .await?
        .ok_or_else(|| ApiError::conversation_not_found(conversation_id))?;
    let schema = stored_schema(&row)?;
    if schema.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_SCHEMA",
            format!("citation schema {id} has no variables"),
        ));
    }
    if record.transcript.is_empty() {
        return Err(no_messages(&format!("conversation {conversation_id}")));
    }
    let model = state.language_model.as_deref();
    if model.is_none() && !schema.needs_model().is_empty() {
        return Err(model_required(
            &format!("citation schema {id} (variables without a source)"),
            &schema.needs_model(),
        ));
    }
    let outcome = extract(
        std::slice::from_ref(&schema),
        &record,
        model,
        &ExtractOptions::default(),
    )
    .await;
    if let Some(e) = outcome.errors.first() {
        return Err(model_unavailable(&e.message));
    }
    let data = AnalysisOut {
        status: "success".into(),
        conversation_id: record.conversation_id,
        schema_id: row.id,
        schema_name: row.name,
        variables_extracted: outcome.variables.len(),
        extracted_variables: outcome.variables,
        citations: outcome.citations,
        messages_processed: record.transcript.len(),
    };
    Ok(Json(AnalysisEnvelope {
        data,
        errors: Vec::new(),
    })
    .into_response())
}
