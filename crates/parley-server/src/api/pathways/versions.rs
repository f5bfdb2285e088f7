//! Pathway versions and publishing (spec 8.1, 8.2), in Bland's un-enveloped shapes.
//!
//! `{version_id}` in a path is a version's id or a selector: a version number, `production`
//! (`0` too: Bland's "live pathway"), `staging`, `draft` or `latest`. `POST
//! /v1/pathway/{id}/version/{version_id}` takes a number there, as Bland's
//! `{version_number}`.

use axum::{
    extract::{Path, State},
    Json,
};
use parley_domain::clock::iso8601_ms;
use parley_store::{
    graph_of, Environment, PublishOutcome, Resolution, VersionDelete, VersionRef, VersionSelector,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::checks::{check_graph, known, pathway_not_found, required_text, version_not_found};
use crate::{
    api::{
        auth::Org,
        error::{ApiError, ErrorBody},
        extract::BlandJson,
        send::NumOrString,
    },
    app::AppState,
};

/// One element of `GET /v1/pathway/{pathway_id}/versions`.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionSummary {
    pub id: String,
    pub version_number: i64,
    /// ISO-8601 UTC with milliseconds.
    pub created_at: String,
    pub name: String,
    pub is_latest: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionOut {
    pub name: String,
    #[schema(value_type = Vec<Object>)]
    pub nodes: Value,
    #[schema(value_type = Vec<Object>)]
    pub edges: Value,
    /// `null` for the draft.
    pub version_number: Option<i64>,
    pub is_latest: bool,
}

/// Body of creating or updating a version: all three fields are required.
#[derive(Debug, Deserialize, ToSchema)]
pub struct VersionIn {
    #[schema(required = true, value_type = String, min_length = 1, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(required = true, value_type = Vec<Object>)]
    pub nodes: Option<Value>,
    #[schema(required = true, value_type = Vec<Object>)]
    pub edges: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedVersion {
    pub created_at: String,
    pub id: String,
    pub name: String,
    pub version_number: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreateVersionOut {
    pub status: String,
    /// `"Version created successfully"`.
    pub message: String,
    pub data: CreatedVersion,
}

/// `{status: "success", message}` of updating and deleting a version.
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionStatusOut {
    pub status: String,
    pub message: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PublishIn {
    /// The version number to publish (a number, or a numeric string).
    #[schema(required = true, value_type = i64, minimum = 1)]
    pub version_id: Option<NumOrString>,
    /// `production` (default; also `""`) or `staging`.
    #[schema(value_type = Option<crate::api::doc::EnvironmentDoc>)]
    pub environment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublishOut {
    /// `"Pathway published successfully"`.
    pub message: String,
}

fn summary(v: &parley_store::PathwayVersionRow) -> VersionSummary {
    VersionSummary {
        id: v.id.clone(),
        version_number: v.version_number,
        created_at: iso8601_ms(v.created_at),
        name: v.name.clone(),
        is_latest: v.is_latest,
    }
}

/// Reads `name`, `nodes`, `edges` (all required) into a name and a checked graph.
fn version_body(state: &AppState, b: VersionIn) -> Result<(String, Value), ApiError> {
    let name = required_text("name", b.name)?;
    let mut parts = Vec::new();
    for (field, v) in [("nodes", b.nodes), ("edges", b.edges)] {
        match super::checks::graph_field(field, v)? {
            Some(a) => parts.push(a),
            None => return Err(ApiError::invalid(format!("{field} is required"))),
        }
    }
    let edges = parts.pop().unwrap_or_default();
    let nodes = parts.pop().unwrap_or_default();
    let graph = graph_of(nodes, edges);
    check_graph(state, &graph)?;
    Ok((name, graph))
}

#[utoipa::path(
    get, path = "/v1/pathway/{pathway_id}/versions", tag = "pathways",
    params(("pathway_id" = String, Path, description = "Pathway id")),
    responses(
        (status = 200, description = "The versions by number (a bare array, as Bland)", body = Vec<VersionSummary>),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PATHWAY_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_versions(
    State(state): State<AppState>,
    org: Org,
    Path(pathway_id): Path<String>,
) -> Result<Json<Vec<VersionSummary>>, ApiError> {
    known(&pathway_id, pathway_not_found)?;
    let versions = state
        .store
        .pathway_versions(&org.id, &pathway_id)
        .await?
        .ok_or_else(|| pathway_not_found(&pathway_id))?;
    Ok(Json(versions.iter().map(summary).collect()))
}

#[utoipa::path(
    get, path = "/v1/pathway/{pathway_id}/version/{version_id}", tag = "pathways",
    params(
        ("pathway_id" = String, Path, description = "Pathway id"),
        ("version_id" = String, Path, description = "A version id, a version number, or `production` (also `0`), `staging`, `draft`, `latest`"),
    ),
    responses(
        (status = 200, description = "The version's graph (un-enveloped)", body = VersionOut),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PATHWAY_NOT_FOUND` or `PATHWAY_VERSION_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get_version(
    State(state): State<AppState>,
    org: Org,
    Path((pathway_id, version_id)): Path<(String, String)>,
) -> Result<Json<VersionOut>, ApiError> {
    known(&pathway_id, pathway_not_found)?;
    known(&version_id, |v| version_not_found(&pathway_id, v))?;
    let found = match state
        .store
        .resolve_pathway_ref(&org.id, &pathway_id, &VersionRef::parse(&version_id))
        .await?
    {
        Resolution::Found(r) => r,
        Resolution::PathwayNotFound => return Err(pathway_not_found(&pathway_id)),
        Resolution::VersionNotFound => return Err(version_not_found(&pathway_id, &version_id)),
    };
    let graph = found.graph();
    Ok(Json(VersionOut {
        name: found
            .version
            .as_ref()
            .map_or_else(|| found.pathway.name.clone(), |v| v.name.clone()),
        nodes: parley_store::graph_part(graph, "nodes"),
        edges: parley_store::graph_part(graph, "edges"),
        version_number: found.version.as_ref().map(|v| v.version_number),
        is_latest: found.version.as_ref().is_some_and(|v| v.is_latest),
    }))
}

#[utoipa::path(
    post, path = "/v1/pathway/{pathway_id}/version", tag = "pathways",
    params(("pathway_id" = String, Path, description = "Pathway id")),
    request_body = VersionIn,
    responses(
        (status = 200, description = "Created as the next number (un-enveloped)", body = CreateVersionOut),
        (status = 400, description = "A missing field (`INVALID_PARAMETER`), `INVALID_PATHWAY` or `MODEL_REQUIRED`", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PATHWAY_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create_version(
    State(state): State<AppState>,
    org: Org,
    Path(pathway_id): Path<String>,
    body: BlandJson<VersionIn>,
) -> Result<Json<CreateVersionOut>, ApiError> {
    known(&pathway_id, pathway_not_found)?;
    let (name, graph) = version_body(&state, body.value)?;
    let id = uuid::Uuid::new_v4().to_string();
    let now = state.clock.now_ms();
    let v = state
        .store
        .create_pathway_version(&org.id, &pathway_id, &id, &name, &graph, now)
        .await?
        .ok_or_else(|| pathway_not_found(&pathway_id))?;
    Ok(Json(CreateVersionOut {
        status: "success".into(),
        message: "Version created successfully".into(),
        data: CreatedVersion {
            created_at: iso8601_ms(v.created_at),
            id: v.id,
            name: v.name,
            version_number: v.version_number,
        },
    }))
}

#[utoipa::path(
    post, path = "/v1/pathway/{pathway_id}/version/{version_id}", tag = "pathways",
    params(
        ("pathway_id" = String, Path, description = "Pathway id"),
        ("version_id" = i64, Path, description = "The version number (Bland's `{version_number}`)"),
    ),
    request_body = VersionIn,
    responses(
        (status = 200, description = "Updated (un-enveloped)", body = VersionStatusOut),
        (status = 400, description = "Not a version number, a missing field, `INVALID_PATHWAY` or `MODEL_REQUIRED`", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PATHWAY_NOT_FOUND` or `PATHWAY_VERSION_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn update_version(
    State(state): State<AppState>,
    org: Org,
    Path((pathway_id, version_id)): Path<(String, String)>,
    body: BlandJson<VersionIn>,
) -> Result<Json<VersionStatusOut>, ApiError> {
    known(&pathway_id, pathway_not_found)?;
    known(&version_id, |v| version_not_found(&pathway_id, v))?;
    let Some(VersionSelector::Number(number)) = VersionSelector::parse(&version_id) else {
        return Err(ApiError::invalid(format!(
            "version_number must be a positive version number, not {version_id:?}"
        )));
    };
    let (name, graph) = version_body(&state, body.value)?;
    let now = state.clock.now_ms();
    let updated = state
        .store
        .update_pathway_version(&org.id, &pathway_id, number, &name, &graph, now)
        .await?;
    if !updated {
        return Err(missing(&state, &org, &pathway_id, &version_id).await);
    }
    Ok(Json(VersionStatusOut {
        status: "success".into(),
        message: "Version updated successfully".into(),
    }))
}

/// Which of the two was missing.
async fn missing(state: &AppState, org: &Org, pathway_id: &str, version: &str) -> ApiError {
    match state.store.pathway(&org.id, pathway_id).await {
        Ok(Some(_)) => version_not_found(pathway_id, version),
        Ok(None) => pathway_not_found(pathway_id),
        Err(e) => e.into(),
    }
}

#[utoipa::path(
    delete, path = "/v1/pathway/{pathway_id}/version/{version_id}", tag = "pathways",
    params(
        ("pathway_id" = String, Path, description = "Pathway id"),
        ("version_id" = String, Path, description = "A version id or number"),
    ),
    responses(
        (status = 200, description = "Deleted (un-enveloped); its number is not reused", body = VersionStatusOut),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PATHWAY_NOT_FOUND` or `PATHWAY_VERSION_NOT_FOUND`", body = ErrorBody),
        (status = 409, description = "`PATHWAY_VERSION_PUBLISHED`: publish another version to that environment first", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn delete_version(
    State(state): State<AppState>,
    org: Org,
    Path((pathway_id, version_id)): Path<(String, String)>,
) -> Result<Json<VersionStatusOut>, ApiError> {
    known(&pathway_id, pathway_not_found)?;
    known(&version_id, |v| version_not_found(&pathway_id, v))?;
    let outcome = state
        .store
        .delete_pathway_version(&org.id, &pathway_id, &VersionRef::parse(&version_id))
        .await?;
    match outcome {
        VersionDelete::Deleted => Ok(Json(VersionStatusOut {
            status: "success".into(),
            message: "Version deleted successfully".into(),
        })),
        VersionDelete::PathwayNotFound => Err(pathway_not_found(&pathway_id)),
        VersionDelete::VersionNotFound => Err(version_not_found(&pathway_id, &version_id)),
        VersionDelete::Published(env) => Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "PATHWAY_VERSION_PUBLISHED",
            format!(
                "version {version_id} of pathway {pathway_id} is published to {}; publish another version there first",
                env.as_str()
            ),
        )),
    }
}

#[utoipa::path(
    post, path = "/v1/pathway/{pathway_id}/publish", tag = "pathways",
    params(("pathway_id" = String, Path, description = "Pathway id")),
    request_body = PublishIn,
    responses(
        (status = 200, description = "Published (un-enveloped)", body = PublishOut),
        (status = 400, description = "Missing or invalid `version_id` / `environment` (`INVALID_PARAMETER`), or the version needs a model this server lacks (`MODEL_REQUIRED`) or no longer validates (`INVALID_PATHWAY`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PATHWAY_NOT_FOUND` or `PATHWAY_VERSION_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn publish(
    State(state): State<AppState>,
    org: Org,
    Path(pathway_id): Path<String>,
    body: BlandJson<PublishIn>,
) -> Result<Json<PublishOut>, ApiError> {
    known(&pathway_id, pathway_not_found)?;
    let b = body.value;
    let raw = b
        .version_id
        .map(NumOrString::into_string)
        .ok_or_else(|| ApiError::invalid("version_id is required (the version number)"))?;
    let Some(VersionSelector::Number(number)) = VersionSelector::parse(&raw) else {
        return Err(ApiError::invalid(format!(
            "version_id must be a version number, not {raw:?}"
        )));
    };
    let env = match b.environment.as_deref().map(str::trim) {
        None | Some("") | Some("production") => Environment::Production,
        Some("staging") => Environment::Staging,
        Some(other) => {
            return Err(ApiError::invalid(format!(
                "environment must be \"production\" or \"staging\", not {other:?}"
            )))
        }
    };
    let found = match state
        .store
        .resolve_pathway_version(&org.id, &pathway_id, VersionSelector::Number(number))
        .await?
    {
        Resolution::Found(r) => r,
        Resolution::PathwayNotFound => return Err(pathway_not_found(&pathway_id)),
        Resolution::VersionNotFound => return Err(version_not_found(&pathway_id, &raw)),
    };
    // The model may have been removed from the config since the version was saved.
    check_graph(&state, found.graph())?;
    let now = state.clock.now_ms();
    match state
        .store
        .publish_pathway_version(&org.id, &pathway_id, number, env, now)
        .await?
    {
        PublishOutcome::Published => {}
        PublishOutcome::PathwayNotFound => return Err(pathway_not_found(&pathway_id)),
        PublishOutcome::VersionNotFound => return Err(version_not_found(&pathway_id, &raw)),
    }
    tracing::info!(pathway.id = %pathway_id, pathway.version = number, environment = env.as_str(), "published version {number} of pathway {pathway_id} to {}", env.as_str());
    Ok(Json(PublishOut {
        message: "Pathway published successfully".into(),
    }))
}
