//! Create, list, get, update and delete citation schemas. Bland documents the paths with a
//! trailing slash (`/v1/citation_schemas/?id=`); the same handlers answer without it.

use axum::{extract::State, Json};
use parley_domain::number_config::Patch;
use parley_store::{CitationSchemaPatch, NewCitationSchema};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};

use super::{
    checked_schema, missing_schema_id, ok_with_status, schema_id, schema_not_found,
    CitationSchemaEnvelope, CitationSchemaOut, CitationSchemasEnvelope, StatusEnvelope,
};
use crate::{
    api::{
        auth::Org,
        error::{ok, ApiError, Envelope, ErrorBody},
        extract::{BlandJson, BlandQuery},
    },
    app::AppState,
};

/// The body of a create as the document describes it: `name` is required there, while
/// [`CitationSchemaIn`] (also the update's body) has every field optional.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CitationSchemaCreateIn {
    /// Not blank, at most 255 characters.
    #[schema(min_length = 1, max_length = 255, pattern = r"\S")]
    pub name: String,
    pub description: Option<String>,
    /// `variables`, `groupings`, `conditions` (spec 3); a variable may carry Parley's
    /// `source`. Left out: an empty schema.
    #[schema(value_type = Option<Object>)]
    pub schema: Option<Value>,
}

/// Longest schema name.
const MAX_NAME_CHARS: usize = 255;

#[derive(Debug, Deserialize, ToSchema)]
pub struct CitationSchemaIn {
    /// Required on create; not blank, at most 255 characters.
    #[schema(min_length = 1, max_length = 255, pattern = r"\S")]
    pub name: Option<String>,
    pub description: Option<String>,
    /// `variables`, `groupings`, `conditions` (spec 3); a variable may carry Parley's
    /// `source`. Left out on create: an empty schema. On update: replaces the stored one
    /// (`null` is refused there).
    #[schema(value_type = Object, required = false)]
    pub schema: Option<Value>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IdParams {
    /// The citation schema's id (UUID). Missing or blank: `400 MISSING_SCHEMA_ID`; not a
    /// UUID: `404 SCHEMA_NOT_FOUND`, like an unknown one.
    #[param(required = true, format = Uuid)]
    pub id: Option<String>,
}

impl IdParams {
    fn required(self) -> Result<String, ApiError> {
        match self.id.as_deref().map(str::trim) {
            None | Some("") => Err(missing_schema_id("the id query parameter is required")),
            Some(raw) => schema_id(raw),
        }
    }
}

fn name_of(raw: Option<String>) -> Result<String, ApiError> {
    let name = raw.as_deref().map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::invalid("name is required"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid(format!(
            "name must be at most {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_owned())
}

/// A schema object from a body, checked; stored as sent.
fn schema_value(v: Value) -> Result<Value, ApiError> {
    if !v.is_object() {
        return Err(
            ApiError::invalid("schema must be an object").with_details(json!({"field": "schema"}))
        );
    }
    checked_schema(&v, "schema")?;
    Ok(v)
}

#[utoipa::path(
    post, path = "/v1/citation_schemas/", tag = "citations",
    request_body = CitationSchemaCreateIn,
    responses(
        (status = 200, description = "Created", body = CitationSchemaEnvelope),
        (status = 400, description = "No name, or a schema that breaks a rule (`INVALID_PARAMETER`, naming the field, e.g. `schema.variables[2].type`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create_citation_schema(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<CitationSchemaIn>,
) -> Result<Json<StatusEnvelope<CitationSchemaOut>>, ApiError> {
    let b = body.value;
    let name = name_of(b.name)?;
    let schema = match b.schema {
        None => json!({"variables": [], "groupings": [], "conditions": []}),
        Some(v) => schema_value(v)?,
    };
    let new = NewCitationSchema {
        name,
        description: b.description,
        schema,
    };
    let row = state
        .store
        .create_citation_schema(&org.id, &new, state.clock.now_ms())
        .await?;
    Ok(ok_with_status(row.into()))
}

#[utoipa::path(
    get, path = "/v1/citation_schemas/list", tag = "citations",
    responses(
        (status = 200, description = "All of the org's schemas, newest first, each with its schema", body = CitationSchemasEnvelope),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_citation_schemas(
    State(state): State<AppState>,
    org: Org,
) -> Result<Json<StatusEnvelope<Vec<CitationSchemaOut>>>, ApiError> {
    let rows = state.store.list_citation_schemas(&org.id).await?;
    Ok(ok_with_status(rows.into_iter().map(Into::into).collect()))
}

#[utoipa::path(
    get, path = "/v1/citation_schemas/", tag = "citations",
    params(IdParams),
    responses(
        (status = 200, description = "The schema", body = CitationSchemaEnvelope),
        (status = 400, description = "`MISSING_SCHEMA_ID`", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`SCHEMA_NOT_FOUND`: unknown id, or another org's schema", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get_citation_schema(
    State(state): State<AppState>,
    org: Org,
    BlandQuery(q): BlandQuery<IdParams>,
) -> Result<Json<StatusEnvelope<CitationSchemaOut>>, ApiError> {
    let id = q.required()?;
    let row = state
        .store
        .citation_schema(&org.id, &id)
        .await?
        .ok_or_else(|| schema_not_found(&id))?;
    Ok(ok_with_status(row.into()))
}

#[utoipa::path(
    patch, path = "/v1/citation_schemas/", tag = "citations",
    params(IdParams),
    request_body = CitationSchemaIn,
    responses(
        (status = 200, description = "Updated; a given `schema` replaces the stored one whole", body = CitationSchemaEnvelope),
        (status = 400, description = "`MISSING_SCHEMA_ID`; none of name, description, schema given, or an invalid one (`INVALID_PARAMETER`, naming the field)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`SCHEMA_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn update_citation_schema(
    State(state): State<AppState>,
    org: Org,
    BlandQuery(q): BlandQuery<IdParams>,
    body: BlandJson<CitationSchemaIn>,
) -> Result<Json<StatusEnvelope<CitationSchemaOut>>, ApiError> {
    let id = q.required()?;
    let given = |k: &str| body.raw.get(k).is_some();
    if !given("name") && !given("description") && !given("schema") {
        return Err(ApiError::invalid(
            "provide at least one of name, description, schema",
        ));
    }
    let b = body.value;
    let patch = CitationSchemaPatch {
        name: if given("name") {
            Some(name_of(b.name)?)
        } else {
            None
        },
        description: match (given("description"), b.description) {
            (false, _) => Patch::Absent,
            (true, None) => Patch::Null,
            (true, Some(d)) => Patch::Value(d),
        },
        schema: match (given("schema"), b.schema) {
            (false, _) => None,
            (true, v) => Some(schema_value(v.unwrap_or(Value::Null))?),
        },
    };
    let row = state
        .store
        .update_citation_schema(&org.id, &id, patch, state.clock.now_ms())
        .await?
        .ok_or_else(|| schema_not_found(&id))?;
    Ok(ok_with_status(row.into()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CitationSchemaDeletedOut {
    /// The deleted schema's id.
    pub id: String,
}

#[derive(Serialize, ToSchema)]
pub struct CitationSchemaDeletedEnvelope {
    pub data: CitationSchemaDeletedOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    delete, path = "/v1/citation_schemas/", tag = "citations",
    params(IdParams),
    responses(
        (status = 200, description = "Deleted for good; its id is also taken out of every number config that listed it. Citation variables already on conversations stay", body = CitationSchemaDeletedEnvelope),
        (status = 400, description = "`MISSING_SCHEMA_ID`", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`SCHEMA_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn delete_citation_schema(
    State(state): State<AppState>,
    org: Org,
    BlandQuery(q): BlandQuery<IdParams>,
) -> Result<Json<Envelope<CitationSchemaDeletedOut>>, ApiError> {
    let id = q.required()?;
    if !state.store.delete_citation_schema(&org.id, &id).await? {
        return Err(schema_not_found(&id));
    }
    Ok(ok(CitationSchemaDeletedOut { id }))
}

/// The same operations without the trailing slash, which clients also send.
pub mod unslashed {
    use super::*;

    #[utoipa::path(post, path = "/v1/citation_schemas", tag = "citations", request_body = CitationSchemaCreateIn,
        responses(
            (status = 200, description = "As `POST /v1/citation_schemas/`", body = CitationSchemaEnvelope),
            (status = 400, description = "As `POST /v1/citation_schemas/`", body = ErrorBody),
            (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        ),
        security(("api_key" = [])))]
    pub async fn create(
        state: State<AppState>,
        org: Org,
        body: BlandJson<CitationSchemaIn>,
    ) -> Result<Json<StatusEnvelope<CitationSchemaOut>>, ApiError> {
        create_citation_schema(state, org, body).await
    }

    #[utoipa::path(get, path = "/v1/citation_schemas", tag = "citations", params(IdParams),
        responses(
            (status = 200, description = "As `GET /v1/citation_schemas/`", body = CitationSchemaEnvelope),
            (status = 400, description = "`MISSING_SCHEMA_ID`, or as `GET /v1/citation_schemas/`", body = ErrorBody),
            (status = 401, description = "Missing or wrong API key", body = ErrorBody),
            (status = 404, description = "`SCHEMA_NOT_FOUND`", body = ErrorBody),
        ),
        security(("api_key" = [])))]
    pub async fn get(
        state: State<AppState>,
        org: Org,
        q: BlandQuery<IdParams>,
    ) -> Result<Json<StatusEnvelope<CitationSchemaOut>>, ApiError> {
        get_citation_schema(state, org, q).await
    }

    #[utoipa::path(patch, path = "/v1/citation_schemas", tag = "citations", params(IdParams), request_body = CitationSchemaIn,
        responses(
            (status = 200, description = "As `PATCH /v1/citation_schemas/`", body = CitationSchemaEnvelope),
            (status = 400, description = "`MISSING_SCHEMA_ID`, or as `PATCH /v1/citation_schemas/`", body = ErrorBody),
            (status = 401, description = "Missing or wrong API key", body = ErrorBody),
            (status = 404, description = "`SCHEMA_NOT_FOUND`", body = ErrorBody),
        ),
        security(("api_key" = [])))]
    pub async fn update(
        state: State<AppState>,
        org: Org,
        q: BlandQuery<IdParams>,
        body: BlandJson<CitationSchemaIn>,
    ) -> Result<Json<StatusEnvelope<CitationSchemaOut>>, ApiError> {
        update_citation_schema(state, org, q, body).await
    }

    #[utoipa::path(delete, path = "/v1/citation_schemas", tag = "citations", params(IdParams),
        responses(
            (status = 200, description = "As `DELETE /v1/citation_schemas/`", body = CitationSchemaDeletedEnvelope),
            (status = 400, description = "`MISSING_SCHEMA_ID`, or as `DELETE /v1/citation_schemas/`", body = ErrorBody),
            (status = 401, description = "Missing or wrong API key", body = ErrorBody),
            (status = 404, description = "`SCHEMA_NOT_FOUND`", body = ErrorBody),
        ),
        security(("api_key" = [])))]
    pub async fn delete(
        state: State<AppState>,
        org: Org,
        q: BlandQuery<IdParams>,
    ) -> Result<Json<Envelope<CitationSchemaDeletedOut>>, ApiError> {
        delete_citation_schema(state, org, q).await
    }
}
