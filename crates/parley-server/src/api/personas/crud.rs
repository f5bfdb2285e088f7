//! Create, list, get, update and delete personas.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use parley_store::DeleteOutcome;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::{
    input::{new_persona, persona_patch, PersonaIn},
    persona_id, persona_not_found, PersonaEnvelope, PersonaOut, PersonasEnvelope,
};
use crate::{
    api::{
        auth::Org,
        error::{ok, ApiError, Envelope, ErrorBody},
        extract::{BlandJson, BlandQuery},
    },
    app::AppState,
};

/// Most personas one list page holds (Bland's maximum).
pub const MAX_LIMIT: i64 = 100;
/// Highest page number: deeper pages would skip more rows than any org has.
pub const MAX_PAGE: i64 = 1_000_000;

#[utoipa::path(
    post, path = "/v1/personas", tag = "personas",
    request_body = PersonaIn,
    responses(
        (status = 200, description = "Created: version 1 (production) and version 2 (draft) hold the same config", body = PersonaEnvelope),
        (status = 400, description = "Missing name or an invalid field (`INVALID_PARAMETER`, naming it)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create_persona(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<PersonaIn>,
) -> Result<Json<Envelope<PersonaOut>>, ApiError> {
    let new = new_persona(body.value, &body.raw)?;
    let d = state
        .store
        .create_persona(&org.id, &new, state.clock.now_ms())
        .await?;
    Ok(ok((&d).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page number, 1 to 1,000,000 (default 1).
    #[param(minimum = 1, maximum = 1_000_000)]
    pub page: Option<i64>,
    /// Personas per page, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[utoipa::path(
    get, path = "/v1/personas", tag = "personas",
    params(ListParams),
    responses(
        (status = 200, description = "One page of the org's personas, oldest first (a bare array, no pagination object, as Bland)", body = PersonasEnvelope),
        (status = 400, description = "page outside 1 to 1,000,000, or limit outside 1 to 100", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_personas(
    State(state): State<AppState>,
    org: Org,
    BlandQuery(q): BlandQuery<ListParams>,
) -> Result<Json<Envelope<Vec<PersonaOut>>>, ApiError> {
    let page = q.page.unwrap_or(1);
    if !(1..=MAX_PAGE).contains(&page) {
        return Err(ApiError::invalid(format!(
            "page must be between 1 and {MAX_PAGE}"
        )));
    }
    let limit = q.limit.unwrap_or(20);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let list = state.store.list_personas(&org.id, page, limit).await?;
    Ok(ok(list.iter().map(Into::into).collect()))
}

#[utoipa::path(
    get, path = "/v1/personas/{persona_id}", tag = "personas",
    params(("persona_id" = String, Path, description = "Persona id (UUID)")),
    responses(
        (status = 200, description = "The persona with both current versions and its numbers", body = PersonaEnvelope),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PERSONA_NOT_FOUND`: unknown id, or another org's persona", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get_persona(
    State(state): State<AppState>,
    org: Org,
    Path(raw): Path<String>,
) -> Result<Json<Envelope<PersonaOut>>, ApiError> {
    let id = persona_id(&raw)?;
    let d = state
        .store
        .persona(&org.id, &id)
        .await?
        .ok_or_else(|| persona_not_found(&raw))?;
    Ok(ok((&d).into()))
}

#[utoipa::path(
    patch, path = "/v1/personas/{persona_id}", tag = "personas",
    params(("persona_id" = String, Path, description = "Persona id (UUID)")),
    request_body = PersonaIn,
    responses(
        (status = 200, description = "Updated: persona fields at once, versioned fields on the draft only (promote to make them live)", body = PersonaEnvelope),
        (status = 400, description = "An invalid field (`INVALID_PARAMETER`, naming it)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PERSONA_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn update_persona(
    State(state): State<AppState>,
    org: Org,
    Path(raw): Path<String>,
    body: BlandJson<PersonaIn>,
) -> Result<Json<Envelope<PersonaOut>>, ApiError> {
    let id = persona_id(&raw)?;
    let patch = persona_patch(body.value, &body.raw)?;
    let d = state
        .store
        .update_persona(&org.id, &id, patch, state.clock.now_ms())
        .await?
        .ok_or_else(|| persona_not_found(&raw))?;
    Ok(ok((&d).into()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Delete even if numbers use the persona (they are detached). Default false.
    pub force: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonaDeletedOut {
    pub success: bool,
    /// `Persona deleted successfully`.
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct PersonaDeletedEnvelope {
    pub data: PersonaDeletedOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    delete, path = "/v1/personas/{persona_id}", tag = "personas",
    params(("persona_id" = String, Path, description = "Persona id (UUID)"), DeleteParams),
    responses(
        (status = 200, description = "Deleted with all its versions", body = PersonaDeletedEnvelope),
        (status = 400, description = "force is not true or false", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PERSONA_NOT_FOUND`", body = ErrorBody),
        (status = 409, description = "`PERSONA_IN_USE`: numbers use it and force is not true; `details.phone_numbers_using` lists them", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn delete_persona(
    State(state): State<AppState>,
    org: Org,
    Path(raw): Path<String>,
    BlandQuery(q): BlandQuery<DeleteParams>,
) -> Result<Json<Envelope<PersonaDeletedOut>>, ApiError> {
    let id = persona_id(&raw)?;
    match state
        .store
        .delete_persona(&org.id, &id, q.force.unwrap_or(false))
        .await?
    {
        DeleteOutcome::Deleted => Ok(ok(PersonaDeletedOut {
            success: true,
            message: "Persona deleted successfully".into(),
        })),
        DeleteOutcome::NotFound => Err(persona_not_found(&raw)),
        DeleteOutcome::InUse(numbers) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "PERSONA_IN_USE",
            "Cannot delete persona that is currently in use by phone numbers",
        )
        .with_details(json!({
            "persona_id": id,
            "phone_numbers_using": numbers,
            "suggestion": "Remove persona from all phone numbers first, or use force=true parameter",
        }))),
    }
}
