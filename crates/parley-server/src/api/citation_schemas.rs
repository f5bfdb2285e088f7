//! `/v1/citation_schemas` (spec 3): citation schemas in Bland's shapes. `crud` holds create,
//! list, get, update and delete (each at `/v1/citation_schemas/` and, as clients also call
//! it, without the trailing slash); `backfill` runs schemas over stored conversations.
//!
//! Bland's codes: `MISSING_SCHEMA_ID` (400) when `?id=` is missing, `SCHEMA_NOT_FOUND` (404)
//! for an unknown id, another org's schema, and an id that is not a UUID alike. A schema that
//! breaks a rule is `INVALID_PARAMETER` naming the field (`schema.variables[2].type`, also in
//! `details.field`). Success bodies carry Bland's numeric `status` next to `data`, except
//! delete's, which Bland documents without it.

pub mod backfill;
pub mod crud;

use axum::http::StatusCode;
use parley_domain::{
    citations::{CitationSchema, SchemaError},
    clock::iso8601_ms,
};
use parley_store::CitationSchemaRow;
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

use super::error::ApiError;

/// `SCHEMA_NOT_FOUND`, the same for another org's schema and for none at all.
pub fn schema_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "SCHEMA_NOT_FOUND",
        format!("Citation schema not found: {id}"),
    )
}

/// `MISSING_SCHEMA_ID`: the request names no schema.
pub fn missing_schema_id(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "MISSING_SCHEMA_ID", message)
}

/// A schema id as stored (lowercase hyphenated UUID), or `SCHEMA_NOT_FOUND`: an id that is
/// not a UUID names no schema.
pub fn schema_id(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw.trim())
        .map(|u| u.hyphenated().to_string())
        .map_err(|_| schema_not_found(raw))
}

/// Checks a schema object from a request; `INVALID_PARAMETER` names the field at fault.
pub fn checked_schema(v: &Value, root: &str) -> Result<CitationSchema, ApiError> {
    CitationSchema::parse_at(v, root).map_err(invalid_schema_field)
}

fn invalid_schema_field(e: SchemaError) -> ApiError {
    ApiError::invalid(e.to_string()).with_details(json!({ "field": e.path }))
}

/// A stored schema that no longer parses (written by an older Parley with looser rules):
/// Bland's `INVALID_SCHEMA`, never a 500.
pub fn stored_schema(row: &CitationSchemaRow) -> Result<CitationSchema, ApiError> {
    CitationSchema::parse(&row.schema).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_SCHEMA",
            format!("citation schema {} is not valid: {e}; update it", row.id),
        )
    })
}

/// One schema, as Bland returns it (plus `updated_at`).
#[derive(Debug, Serialize, ToSchema)]
pub struct CitationSchemaOut {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub org_id: String,
    /// `variables`, `groupings`, `conditions`, as stored.
    #[schema(value_type = Object)]
    pub schema: Value,
    pub created_at: String,
    /// Parley extension: when it was last changed.
    pub updated_at: String,
}

impl From<CitationSchemaRow> for CitationSchemaOut {
    fn from(r: CitationSchemaRow) -> Self {
        Self {
            id: r.id,
            name: r.name,
            description: r.description,
            org_id: r.org_id,
            schema: r.schema,
            created_at: iso8601_ms(r.created_at),
            updated_at: iso8601_ms(r.updated_at),
        }
    }
}

/// Bland's citation-schema envelope: `{"status": 200, "data": ..., "errors": null}`.
#[derive(Debug, Serialize)]
pub struct StatusEnvelope<T> {
    /// The HTTP status, 200.
    pub status: u16,
    pub data: T,
    pub errors: Option<()>,
}

pub fn ok_with_status<T: Serialize>(data: T) -> axum::Json<StatusEnvelope<T>> {
    axum::Json(StatusEnvelope {
        status: 200,
        data,
        errors: None,
    })
}

/// [`StatusEnvelope`] of one schema, for the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub struct CitationSchemaEnvelope {
    /// 200.
    pub status: u16,
    pub data: CitationSchemaOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

/// [`StatusEnvelope`] of the list, for the OpenAPI document.
#[derive(Serialize, ToSchema)]
pub struct CitationSchemasEnvelope {
    /// 200.
    pub status: u16,
    pub data: Vec<CitationSchemaOut>,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}
