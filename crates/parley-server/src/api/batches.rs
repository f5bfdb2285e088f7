//! `POST /v1/sms/batch` (spec 2.3): start sending an uploaded file.
//!
//! The request is checked synchronously: the body, the agent number, the file's header and
//! its first chunk of rows. The answer comes at once; the batch worker then queues the rows
//! (`workers/batches.rs`). Status, errors, list and cancel are Parley extensions
//! (`batches/status.rs`).

pub mod status;

use std::collections::BTreeMap;

use axum::{extract::State, http::StatusCode, Json};
use parley_domain::{personas::PersonaVersion, template, timeouts::TimeoutSettings};
use parley_store::{NewBatch, ReplyRequest};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{
    auth::Org,
    error::{ok, ApiError, Envelope, ErrorBody},
    extract::BlandJson,
    send::{check_webhook, parse_channel, parse_number, NumOrString, SendSmsIn},
};
use crate::{
    app::AppState,
    batches::{
        file::Format,
        recipient::{available_variables, BatchSettings, StoredFields, PHONE_COLUMN, REQUEST_DATA},
        rows::{read_header, HeaderError, RowReader},
    },
    turns::source_check::{check_named_source, SourceFor},
};

/// Body of `POST /v1/sms/batch`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BatchIn {
    /// From `POST /v1/files/attach` (uploaded with `file_type: "batches"`).
    pub file_id: Option<String>,
    /// Defaults for every recipient: any `/v1/sms/send` field but the user number.
    /// `agent_number` is required.
    #[schema(value_type = Option<Object>)]
    pub global: Option<Value>,
    /// `{"<column>": "request_data"}`: the column's values go into each recipient's
    /// `request_data`. `request_data` is the only target; `phone_number` cannot be mapped.
    #[schema(value_type = Option<Object>)]
    pub column_mapping: Option<Map<String, Value>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BatchOut {
    /// `"SMS batch processing initiated via Temporal workflow"` (Bland's wording).
    pub message: String,
    /// Equal to the `file_id`.
    pub batch_id: String,
    pub workflow_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct BatchEnvelope {
    pub data: BatchOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

pub(crate) const BATCH_FILE_TYPE: &str = "batches";

fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, code, message)
}

fn file_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "FILE_NOT_FOUND",
        format!("File {id} not found or invalid file type for SMS batches"),
    )
}

/// Validates `column_mapping`: every target is `request_data`, `phone_number` is neither
/// source nor target.
fn column_mapping(m: Option<Map<String, Value>>) -> Result<BTreeMap<String, String>, ApiError> {
    let mut out = BTreeMap::new();
    for (column, target) in m.unwrap_or_default() {
        if column == PHONE_COLUMN {
            return Err(ApiError::invalid(
                "column_mapping.phone_number: the phone_number column cannot be remapped",
            ));
        }
        match target.as_str() {
            Some(REQUEST_DATA) => {
                out.insert(column, REQUEST_DATA.to_owned());
            }
            Some(PHONE_COLUMN) => {
                return Err(ApiError::invalid(format!(
                    "column_mapping.{column}: phone_number cannot be a mapping target"
                )))
            }
            _ => {
                return Err(ApiError::invalid(format!(
                    "column_mapping.{column}: the only allowed target is \"request_data\" (got {target})"
                )))
            }
        }
    }
    Ok(out)
}

fn parse_global(global: Option<Value>) -> Result<SendSmsIn, ApiError> {
    let global = match global {
        Some(Value::Object(m)) => Value::Object(m),
        None | Some(Value::Null) => {
            return Err(ApiError::invalid(
                "global is required (with global.agent_number)",
            ))
        }
        Some(_) => return Err(ApiError::invalid("global must be an object")),
    };
    let g: SendSmsIn = serde_path_to_error::deserialize(&global).map_err(|e| {
        let path = e.path().to_string();
        ApiError::invalid(format!("global.{path}: {}", e.into_inner()))
    })?;
    for (field, present) in [
        ("user_number", g.user_number.is_some()),
        ("phone_number", g.phone_number.is_some()),
    ] {
        if present {
            return Err(ApiError::invalid(format!(
                "global.{field} is not allowed: recipients come from the file's phone_number column"
            )));
        }
    }
    Ok(g)
}

#[utoipa::path(
    post, path = "/v1/sms/batch", tag = "batches",
    request_body = BatchIn,
    responses(
        (status = 200, description = "Accepted; rows are queued in the background", body = BatchEnvelope),
        (status = 400, description = "MISSING_FILE_ID, INVALID_PARAMETER (naming the field), EMPTY_FILE, MISSING_PHONE_NUMBER_COLUMN, NO_REPLY_SOURCE", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "FILE_NOT_FOUND, AGENT_NUMBER_NOT_FOUND, PERSONA_NOT_FOUND (global.persona_id is not one of the org's personas), or PATHWAY_NOT_FOUND / PATHWAY_VERSION_NOT_FOUND (the pathway the replies would come from: global.pathway_id, global.persona_settings.pathway_id, the persona's routing; the message names the field)", body = ErrorBody),
        (status = 409, description = "BATCH_EXISTS: the file already has a batch", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn start_batch(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<BatchIn>,
) -> Result<Json<Envelope<BatchOut>>, ApiError> {
    let b = body.value;
    let file_id = b
        .file_id
        .filter(|f| !f.trim().is_empty())
        .ok_or_else(|| bad_request("MISSING_FILE_ID", "file_id is required"))?;
    let mut g = parse_global(b.global)?;
    let mapping = column_mapping(b.column_mapping)?;
    let agent = parse_number(
        "global.agent_number",
        g.agent_number.as_deref().or(g.from.as_deref()),
    )?;
    let template = g
        .agent_message
        .clone()
        .or(g.message.clone())
        .ok_or_else(ApiError::no_reply_source)?;
    if template.trim().is_empty() {
        return Err(ApiError::invalid("global.agent_message must not be empty"));
    }
    if let Some(w) = &g.webhook {
        check_webhook(w)?;
    }
    if let Some(v) = &g.persona_version {
        if v != "production" && v != "draft" {
            return Err(ApiError::invalid(
                "global.persona_version must be \"production\" or \"draft\"",
            ));
        }
    }
    let file = state
        .store
        .file(&org.id, &file_id)
        .await?
        .filter(|f| f.file_type == BATCH_FILE_TYPE)
        .ok_or_else(|| file_not_found(&file_id))?;
    let number = state
        .store
        .number_for_org(&org.id, agent.as_str())
        .await?
        .ok_or_else(|| ApiError::agent_number_not_found(agent.as_str()))?;
    if let Some(p) = g.persona_id.take() {
        g.persona_id = Some(super::personas::check_persona_ref(&state, &org.id, &p).await?);
    }
    let channel = parse_channel(g.channel.as_deref(), &number.channel)?;
    check_reply_source(&state, &org.id, agent.as_str(), channel.as_str(), &g).await?;
    let timeouts = TimeoutSettings {
        time_out: g.time_out,
        timeout_message: g.timeout_message.clone(),
        warning_time: g.warning_time,
        warning_message: g.warning_message.clone(),
    };
    let number_timeouts = state
        .store
        .number_config(number.id, channel.as_str())
        .await?
        .timeouts();
    timeouts
        .over(&number_timeouts)
        .validate()
        .map_err(|e| ApiError::invalid_timeout(e.to_string()))?;

    let format = Format::parse(&file.format).ok_or_else(ApiError::internal)?;
    let mut settings = BatchSettings {
        format: file.format.clone(),
        path: file.path.clone(),
        columns: Vec::new(),
        column_mapping: mapping,
        agent_message: template,
        request_data: g.request_data.clone().unwrap_or_default(),
        new_conversation: g.new_conversation.unwrap_or(false),
        conversation: stored_fields(&g, timeouts),
        content_sid: g.content_sid.clone(),
        content_variables: g.content_variables.clone().map(Value::Object),
    };
    let first_offset = check_file(&state, &mut settings, format).await?;
    let workflow_id = uuid::Uuid::new_v4().to_string();
    let created = state
        .store
        .create_batch(&NewBatch {
            id: file.id.clone(),
            org_id: org.id.clone(),
            agent_number: agent.to_string(),
            channel: channel.as_str().to_owned(),
            workflow_id: workflow_id.clone(),
            settings: serde_json::to_value(&settings).map_err(|_| ApiError::internal())?,
            total_rows: file.row_count,
            first_offset: i64::try_from(first_offset).map_err(|_| ApiError::internal())?,
            now: state.clock.now_ms(),
        })
        .await?;
    if !created {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "BATCH_EXISTS",
            format!(
                "file {} already has a batch; upload the file again to send it again",
                file.id
            ),
        ));
    }
    state.batch_wake.notify_one();
    Ok(ok(BatchOut {
        message: "SMS batch processing initiated via Temporal workflow".into(),
        batch_id: file.id,
        workflow_id,
    }))
}

/// The recipients' replies will come from what `global` names: a pathway (or persona routed
/// to one) that does not exist, or needs a model this server lacks, is refused now rather
/// than leave a million conversations that never answer.
async fn check_reply_source(
    state: &AppState,
    org_id: &str,
    agent_number: &str,
    channel: &str,
    g: &SendSmsIn,
) -> Result<(), ApiError> {
    let settings = g
        .persona_settings
        .as_ref()
        .and_then(|p| serde_json::to_value(p).ok());
    let version = g.pathway_version.clone().map(NumOrString::into_string);
    let req = ReplyRequest {
        persona_id: g.persona_id.as_deref(),
        persona_version: g.persona_version.as_deref().and_then(PersonaVersion::parse),
        persona_settings: settings.as_ref(),
        pathway_id: g.pathway_id.as_deref(),
        pathway_version: version.as_deref(),
        start_node_id: g.start_node_id.as_deref(),
    };
    let to = SourceFor {
        org_id,
        agent_number,
        channel,
        prefix: "global.",
    };
    check_named_source(state, &to, &req).await
}

fn stored_fields(g: &SendSmsIn, t: TimeoutSettings) -> StoredFields {
    StoredFields {
        metadata: g.metadata.clone().map(Value::Object),
        webhook: g.webhook.clone(),
        disposition_ids: g.disposition_ids.as_ref().map(|v| serde_json::json!(v)),
        citation_schema_ids: g.citation_schema_ids.as_ref().map(|v| serde_json::json!(v)),
        persona_id: g.persona_id.clone(),
        persona_version: g.persona_version.clone(),
        persona_settings: g
            .persona_settings
            .as_ref()
            .map(|p| serde_json::to_value(p).unwrap_or(Value::Null)),
        pathway_id: g.pathway_id.clone(),
        pathway_version: g.pathway_version.clone().map(NumOrString::into_string),
        start_node_id: g.start_node_id.clone(),
        prompt: g.prompt.clone(),
        time_out: t.time_out,
        timeout_message: t.timeout_message,
        warning_time: t.warning_time,
        warning_message: t.warning_message,
    }
}

/// Checks the header (CSV) and the first chunk of rows; fills in the header. Returns the
/// byte offset of the first data row.
async fn check_file(
    state: &AppState,
    settings: &mut BatchSettings,
    format: Format,
) -> Result<u64, ApiError> {
    let path = state.config.batches.data_dir.join(&settings.path);
    let chunk_rows = state.config.batches.chunk_rows;
    let (columns, offset) = match format {
        Format::Csv => {
            let p = path.clone();
            let header = tokio::task::spawn_blocking(move || read_header(&p))
                .await
                .map_err(|_| ApiError::internal())?
                .map_err(|e| match e {
                    HeaderError::Empty => {
                        bad_request("EMPTY_FILE", "the file is empty: it has no header row")
                    }
                    HeaderError::Malformed(m) => bad_request("INVALID_FILE", m),
                    HeaderError::Io(e) => {
                        tracing::error!(error = %e, "batch file unreadable");
                        ApiError::internal()
                    }
                })?;
            (header.columns, header.data_offset)
        }
        Format::Jsonl => (Vec::new(), 0),
    };
    settings.columns = columns.clone();
    let first = {
        let p = path.clone();
        let cols = columns.clone();
        tokio::task::spawn_blocking(move || {
            RowReader::open(&p, format, &cols, offset, 1).and_then(|mut r| r.read_chunk(chunk_rows))
        })
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(|e| {
            tracing::error!(error = %e, "batch file unreadable");
            ApiError::internal()
        })?
    };
    if first.rows.is_empty() {
        return Err(bad_request("EMPTY_FILE", "the file has no rows to send"));
    }
    // A JSON file's "header" is the keys its first rows use.
    let known: Vec<String> = match format {
        Format::Csv => columns,
        Format::Jsonl => {
            let mut keys: Vec<String> = Vec::new();
            for row in first.rows.iter().filter_map(|r| r.fields.as_ref().ok()) {
                for k in row.keys() {
                    if !keys.contains(k) {
                        keys.push(k.clone());
                    }
                }
            }
            keys
        }
    };
    if !known.iter().any(|c| c == PHONE_COLUMN) {
        return Err(bad_request(
            "MISSING_PHONE_NUMBER_COLUMN",
            format!(
                "the file has no column named exactly phone_number (found: {})",
                known.join(", ")
            ),
        ));
    }
    for column in settings.column_mapping.keys() {
        if !known.contains(column) {
            return Err(ApiError::invalid(format!(
                "column_mapping.{column}: the file has no such column"
            )));
        }
    }
    if format == Format::Csv {
        let available = available_variables(settings);
        for var in template::variables(&settings.agent_message) {
            if var != PHONE_COLUMN && !available.contains(&var) {
                return Err(ApiError::invalid(format!(
                    "global.agent_message uses {{{{{var}}}}}, which is neither a column of the file nor a key of global.request_data"
                )));
            }
        }
    }
    Ok(offset)
}
