//! `/v1/dispositions`: outcomes, Parley's own API (Bland has none, spec 4). `crud` holds
//! create, list, get, versions, update and delete; `test_run` runs a definition over a
//! conversation without saving anything. The rule language is in
//! `parley_domain::dispositions` and `docs/API.md` ("Dispositions").
//!
//! Every write is a new immutable version. Another org's disposition is answered exactly
//! like one that does not exist (`DISPOSITION_NOT_FOUND`), and so is an id that is not a
//! UUID.

pub mod crud;
pub mod test_run;

use axum::http::StatusCode;
use parley_domain::{
    clock::iso8601_ms,
    dispositions::{Compute, DefinitionError, Disposition},
};
use parley_store::{DispositionRow, DispositionVersion};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::error::ApiError;
use crate::app::AppState;

pub fn disposition_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "DISPOSITION_NOT_FOUND",
        format!("disposition {id} not found"),
    )
    .with_details(json!({ "disposition_id": id }))
}

fn version_not_found(id: &str, version: i64) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "DISPOSITION_VERSION_NOT_FOUND",
        format!("disposition {id} has no version {version}"),
    )
    .with_details(json!({ "disposition_id": id, "version": version }))
}

/// `INVALID_DISPOSITION`: the message names every problem at its path; `details.errors`
/// lists them as `{path, message}`.
fn invalid_disposition(errors: &[DefinitionError]) -> ApiError {
    let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "INVALID_DISPOSITION",
        format!(
            "the disposition has {} problem{}: {}",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" },
            listed.join("; ")
        ),
    )
    .with_details(json!({ "errors": errors }))
}

/// A definition about to be saved: every problem → `INVALID_DISPOSITION`; then, on a server
/// without a model, model fields → `MODEL_REQUIRED`. Returns the form to store.
fn check_definition(state: &AppState, definition: &Value) -> Result<Value, ApiError> {
    let parsed = Disposition::parse(definition).map_err(|e| invalid_disposition(&e))?;
    if state.language_model.is_none() && parsed.needs_model() {
        let fields: Vec<Value> = parsed
            .fields
            .iter()
            .enumerate()
            .filter(|(_, f)| matches!(f.compute, Compute::Model))
            .map(|(i, f)| json!({ "path": format!("fields[{i}]"), "name": f.name }))
            .collect();
        let named: Vec<String> = fields
            .iter()
            .map(|f| format!("{} ({})", f["path"].as_str().unwrap_or(""), f["name"]))
            .collect();
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "MODEL_REQUIRED",
            format!(
                "model field{} {} need{} a language model and none is configured \
                 (set language_model.base_url)",
                if named.len() == 1 { "" } else { "s" },
                named.join(", "),
                if named.len() == 1 { "s" } else { "" },
            ),
        )
        .with_details(json!({ "fields": fields })));
    }
    Ok(parsed.to_value())
}

/// The keys of a body that make up a definition; others are ignored, as everywhere.
const DEFINITION_KEYS: [&str; 4] = ["name", "description", "tag_field", "fields"];

/// A definition as requests send it (the OpenAPI description of the body; the handlers
/// read the JSON itself, so every problem is reported with its path).
#[derive(Debug, Deserialize, ToSchema)]
pub struct DispositionIn {
    /// Required on create, not blank, at most 200 characters.
    pub name: Option<String>,
    pub description: Option<String>,
    /// A string field whose value becomes the log's `tag` (default: the first string field
    /// with a value).
    pub tag_field: Option<String>,
    /// 1 to 50 fields `{name, type: boolean|string|number, description?, source?: rule|model,
    /// rule?}`; a rule field has a `rule`, a model field a `description`.
    #[schema(value_type = Option<Vec<Object>>)]
    pub fields: Option<Value>,
}

/// One version of a disposition.
#[derive(Debug, Serialize, ToSchema)]
pub struct DispositionOut {
    pub id: String,
    /// This version's number (Bland's `snippet_version` in logs).
    pub version: i64,
    /// The version that runs.
    pub current_version: i64,
    pub name: String,
    pub description: Option<String>,
    pub tag_field: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub fields: Value,
    /// When version 1 was saved.
    pub created_at: String,
    /// When this version was saved.
    pub updated_at: String,
}

impl DispositionOut {
    fn new(d: &DispositionRow, v: &DispositionVersion) -> Self {
        let def = &v.definition;
        let text = |k: &str| def[k].as_str().map(str::to_owned);
        Self {
            id: d.id.clone(),
            version: v.version,
            current_version: d.current.version,
            name: text("name").unwrap_or_default(),
            description: text("description"),
            tag_field: text("tag_field"),
            fields: def["fields"].clone(),
            created_at: iso8601_ms(d.created_at),
            updated_at: iso8601_ms(v.created_at),
        }
    }
}

impl From<&DispositionRow> for DispositionOut {
    fn from(d: &DispositionRow) -> Self {
        Self::new(d, &d.current)
    }
}

#[derive(Serialize, ToSchema)]
pub struct DispositionEnvelope {
    pub data: DispositionOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[derive(Serialize, ToSchema)]
pub struct DispositionsEnvelope {
    pub data: Vec<DispositionOut>,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}
