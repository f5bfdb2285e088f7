//! A persona's versions: the list, one version, and promoting the draft.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{persona_id, persona_not_found, PersonaEnvelope, PersonaOut, PersonaVersionOut};
use crate::{
    api::{
        auth::Org,
        error::{ok, ApiError, Envelope, ErrorBody},
    },
    app::AppState,
};

#[derive(Serialize, ToSchema)]
pub struct VersionsEnvelope {
    pub data: Vec<PersonaVersionOut>,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[derive(Serialize, ToSchema)]
pub struct VersionEnvelope {
    pub data: PersonaVersionOut,
    #[schema(value_type = Option<Object>)]
    pub errors: Option<()>,
}

#[utoipa::path(
    get, path = "/v1/personas/{persona_id}/versions", tag = "personas",
    params(("persona_id" = String, Path, description = "Persona id (UUID)")),
    responses(
        (status = 200, description = "Every version, newest first: one production, one draft, the archived former productions", body = VersionsEnvelope),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PERSONA_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_versions(
    State(state): State<AppState>,
    org: Org,
    Path(raw): Path<String>,
) -> Result<Json<Envelope<Vec<PersonaVersionOut>>>, ApiError> {
    let id = persona_id(&raw)?;
    let versions = state
        .store
        .persona_versions(&org.id, &id)
        .await?
        .ok_or_else(|| persona_not_found(&raw))?;
    Ok(ok(versions.iter().map(Into::into).collect()))
}

#[utoipa::path(
    get, path = "/v1/personas/{persona_id}/versions/{version_id}", tag = "personas",
    params(
        ("persona_id" = String, Path, description = "Persona id (UUID)"),
        ("version_id" = String, Path, description = "Version id (UUID)"),
    ),
    responses(
        (status = 200, description = "One version", body = VersionEnvelope),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PERSONA_NOT_FOUND`, or `VERSION_NOT_FOUND` (the persona has no such version)", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get_version(
    State(state): State<AppState>,
    org: Org,
    Path((raw, version)): Path<(String, String)>,
) -> Result<Json<Envelope<PersonaVersionOut>>, ApiError> {
    let id = persona_id(&raw)?;
    let found = match uuid::Uuid::parse_str(version.trim()) {
        Ok(v) => {
            state
                .store
                .persona_version(&org.id, &id, &v.hyphenated().to_string())
                .await?
        }
        Err(_) => None,
    };
    match found {
        Some(v) => Ok(ok((&v).into())),
        None if state.store.persona_exists(&org.id, &id).await? => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "VERSION_NOT_FOUND",
            "Persona version not found",
        )
        .with_details(json!({ "persona_id": id, "version_id": version }))),
        None => Err(persona_not_found(&raw)),
    }
}

#[utoipa::path(
    post, path = "/v1/personas/{persona_id}/versions/promote", tag = "personas",
    params(("persona_id" = String, Path, description = "Persona id (UUID)")),
    responses(
        (status = 200, description = "The draft's config is the new production version (the next version number); the previous production is archived; the draft stays", body = PersonaEnvelope),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PERSONA_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn promote(
    State(state): State<AppState>,
    org: Org,
    Path(raw): Path<String>,
) -> Result<Json<Envelope<PersonaOut>>, ApiError> {
    let id = persona_id(&raw)?;
    let d = state
        .store
        .promote_persona(&org.id, &id, state.clock.now_ms())
        .await?
        .ok_or_else(|| persona_not_found(&raw))?;
    Ok(ok((&d).into()))
}
