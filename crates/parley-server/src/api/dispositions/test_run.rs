//! `POST /v1/dispositions/{id}/test`: runs a saved definition over one of the org's
//! conversations, or over a record written in the request, and returns the log. Nothing is
//! stored, so a customer can try a rule on real conversations before attaching it.

use axum::{
    extract::{Path, State},
    Json,
};
use parley_domain::conversation_record::{ConversationRecord, Speaker, TranscriptLine};
use parley_store::DispositionLookup;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{disposition_not_found, version_not_found};
use crate::{
    api::{
        auth::Org,
        error::{ok, ApiError, Envelope, ErrorBody},
        extract::BlandJson,
    },
    app::AppState,
    dispositions::{self, DispositionLog, RunOptions},
};

#[derive(Debug, Deserialize, ToSchema)]
pub struct TestIn {
    /// One of the org's conversations to run over. Give this or `record`.
    pub conversation_id: Option<String>,
    /// A conversation written out. Give this or `conversation_id`.
    pub record: Option<RecordIn>,
    /// The version to run (default: the current one).
    pub version: Option<i64>,
}

/// A conversation as the rules read it. Every field is optional.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RecordIn {
    /// Oldest first. `sender` / `message` are accepted too, so the `messages` of
    /// `GET /v1/sms/conversations/{id}` can be pasted.
    #[serde(default)]
    pub transcript: Vec<LineIn>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub variables: Map<String, Value>,
    #[schema(value_type = Object)]
    pub metadata: Option<Value>,
    /// Names of visited tagged nodes.
    #[serde(default)]
    pub pathway_tags: Vec<String>,
    /// `ended`, `timeout`, `blacklisted`, `inactive`, or none (still active).
    pub ended_reason: Option<String>,
    pub summary: Option<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub citations: Map<String, Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LineIn {
    /// `USER`, `AGENT` or `HUMAN` (any case).
    #[serde(alias = "sender")]
    pub speaker: String,
    #[serde(alias = "message")]
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct LogEnvelope {
    /// `{disposition_id, name, snippet_version, status: COMPLETE|ERROR, result, tag,
    /// exec_time, error}`, as a conversation's `disposition_logs[]` holds it.
    #[schema(value_type = Object)]
    pub data: DispositionLog,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

fn record_of(r: RecordIn) -> Result<ConversationRecord, ApiError> {
    let transcript = r
        .transcript
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let speaker = match l.speaker.trim().to_ascii_uppercase().as_str() {
                "USER" | "AGENT" | "HUMAN" => Speaker::parse(&l.speaker),
                _ => {
                    return Err(ApiError::invalid(format!(
                        "record.transcript[{i}].speaker must be USER, AGENT or HUMAN"
                    )))
                }
            };
            let n = i64::try_from(i).unwrap_or(i64::MAX);
            Ok(TranscriptLine {
                message_id: n + 1,
                speaker,
                text: l.text,
                created_at_ms: n,
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(ConversationRecord {
        conversation_id: String::new(),
        transcript,
        variables: r.variables,
        metadata: r.metadata.unwrap_or_else(|| Value::Object(Map::new())),
        pathway_tags: r.pathway_tags,
        ended_reason: r.ended_reason,
        summary: r.summary,
        citations: r.citations,
    })
}

#[utoipa::path(
    post, path = "/v1/dispositions/{disposition_id}/test", tag = "dispositions",
    params(("disposition_id" = String, Path, description = "Disposition id (UUID)")),
    request_body = TestIn,
    responses(
        (status = 200, description = "The log the run would leave; nothing is stored. A run that fails (a model field with no model configured, the model failing) is an `ERROR` log, still 200", body = LogEnvelope),
        (status = 400, description = "Neither or both of `conversation_id` and `record`, or a field of the wrong type (`INVALID_PARAMETER`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`DISPOSITION_NOT_FOUND`, `DISPOSITION_VERSION_NOT_FOUND`, or `CONVERSATION_NOT_FOUND` (unknown, or another org's)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn test_disposition(
    State(state): State<AppState>,
    org: Org,
    Path(id): Path<String>,
    body: BlandJson<TestIn>,
) -> Result<Json<Envelope<DispositionLog>>, ApiError> {
    let b = body.value;
    let record = match (b.conversation_id, b.record) {
        (Some(c), None) => {
            let c = c.trim();
            // A NUL cannot be compared on PostgreSQL; such an id names nothing anyway.
            let found = if c.is_empty() || c.contains('\0') {
                None
            } else {
                state.store.conversation_record(&org.id, c).await?
            };
            found.ok_or_else(|| ApiError::conversation_not_found(c))?
        }
        (None, Some(r)) => record_of(r)?,
        _ => {
            return Err(ApiError::invalid(
                "give exactly one of conversation_id and record",
            ))
        }
    };
    let d = state
        .store
        .disposition(&org.id, &id)
        .await?
        .ok_or_else(|| disposition_not_found(&id))?;
    let version = match b.version {
        None => d.current,
        Some(n) => state
            .store
            .disposition_version(&org.id, &d.id, n)
            .await?
            .ok_or_else(|| version_not_found(&d.id, n))?,
    };
    let plan = [DispositionLookup::Found(version)];
    let model = state.language_model.as_deref();
    let ran = dispositions::run(&plan, &record, model, &RunOptions::default()).await;
    // One log per plan entry, always.
    let log = ran.logs.into_iter().next().ok_or_else(ApiError::internal)?;
    Ok(ok(log))
}
