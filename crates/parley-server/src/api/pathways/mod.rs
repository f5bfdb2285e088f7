//! Pathways in Bland's shapes (spec 8.1): create, list, get, update (the draft), delete.
//! Versions and publishing are in [`versions`], the text chat harness in [`chat`].
//!
//! Bland answers these endpoints without the `{data, errors}` envelope (`{status, ...}`,
//! bare objects and arrays), and so does Parley; errors are always enveloped. Saving
//! nodes/edges validates them (`INVALID_PATHWAY`) and, on a server without a model, refuses
//! what would need one (`MODEL_REQUIRED`). See `docs/API.md` ("Pathways").

pub mod chat;
pub(crate) mod checks;
pub mod versions;

use axum::{
    extract::{Path, State},
    Json,
};
use parley_domain::number_config::Patch;
use parley_store::{graph_of, PathwayRow, PathwayUpdate};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use self::checks::{check_graph, graph_field, known, pathway_not_found, required_text};
use crate::{
    api::{auth::Org, error::ApiError, error::ErrorBody, extract::BlandJson},
    app::AppState,
};

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePathwayIn {
    /// Required, not blank.
    #[schema(required = true, value_type = String, min_length = 1, pattern = r"\S")]
    pub name: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatePathwayOut {
    /// `"success"`.
    pub status: String,
    pub pathway_id: String,
}

/// A pathway with its draft graph, as `GET /v1/pathway/{pathway_id}` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PathwayOut {
    pub name: String,
    pub description: Option<String>,
    /// The nodes exactly as saved.
    #[schema(value_type = Vec<Object>)]
    pub nodes: Value,
    #[schema(value_type = Vec<Object>)]
    pub edges: Value,
}

impl From<&PathwayRow> for PathwayOut {
    fn from(p: &PathwayRow) -> Self {
        Self {
            name: p.name.clone(),
            description: p.description.clone(),
            nodes: p.nodes(),
            edges: p.edges(),
        }
    }
}

/// One element of `GET /v1/pathway`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PathwayListItem {
    pub id: String,
    #[serde(flatten)]
    pub pathway: PathwayOut,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UpdatePathwayIn {
    #[schema(min_length = 1, pattern = r"\S")]
    pub name: Option<String>,
    /// `null` clears it.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    /// Replaces the draft's nodes; the edges are kept unless given too.
    #[schema(value_type = Option<Vec<Object>>)]
    pub nodes: Option<Value>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub edges: Option<Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpdatePathwayOut {
    pub status: String,
    /// `"Pathway updated successfully"`.
    pub message: String,
    pub pathway_data: PathwayOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletePathwayOut {
    pub status: String,
    pub pathway_id: String,
}

#[utoipa::path(
    post, path = "/v1/pathway/create", tag = "pathways",
    request_body = CreatePathwayIn,
    responses(
        (status = 200, description = "Created, with no nodes yet (Bland's un-enveloped body)", body = CreatePathwayOut),
        (status = 400, description = "Missing or blank `name`, or a field of the wrong type (`INVALID_PARAMETER`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn create_pathway(
    State(state): State<AppState>,
    org: Org,
    body: BlandJson<CreatePathwayIn>,
) -> Result<Json<CreatePathwayOut>, ApiError> {
    let b = body.value;
    let name = required_text("name", b.name)?;
    // Time-ordered, so the list's "oldest first" holds within one millisecond too.
    let id = uuid::Uuid::now_v7().to_string();
    let now = state.clock.now_ms();
    state
        .store
        .create_pathway(&org.id, &id, &name, b.description.as_deref(), now)
        .await?;
    tracing::info!(pathway.id = %id, "created pathway {id}");
    Ok(Json(CreatePathwayOut {
        status: "success".into(),
        pathway_id: id,
    }))
}

#[utoipa::path(
    get, path = "/v1/pathway", tag = "pathways",
    responses(
        (status = 200, description = "Every pathway of the org with its draft nodes and edges, oldest first (a bare array)", body = Vec<PathwayListItem>),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn list_pathways(
    State(state): State<AppState>,
    org: Org,
) -> Result<Json<Vec<PathwayListItem>>, ApiError> {
    let rows = state.store.pathways(&org.id).await?;
    Ok(Json(
        rows.iter()
            .map(|p| PathwayListItem {
                id: p.id.clone(),
                pathway: p.into(),
            })
            .collect(),
    ))
}

#[utoipa::path(
    get, path = "/v1/pathway/{pathway_id}", tag = "pathways",
    params(("pathway_id" = String, Path, description = "Pathway id")),
    responses(
        (status = 200, description = "The pathway with its draft nodes and edges (un-enveloped)", body = PathwayOut),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PATHWAY_NOT_FOUND`: unknown id, or another org's pathway", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn get_pathway(
    State(state): State<AppState>,
    org: Org,
    Path(pathway_id): Path<String>,
) -> Result<Json<PathwayOut>, ApiError> {
    known(&pathway_id, pathway_not_found)?;
    let p = state
        .store
        .pathway(&org.id, &pathway_id)
        .await?
        .ok_or_else(|| pathway_not_found(&pathway_id))?;
    Ok(Json((&p).into()))
}

#[utoipa::path(
    post, path = "/v1/pathway/{pathway_id}", tag = "pathways",
    params(("pathway_id" = String, Path, description = "Pathway id")),
    request_body = Option<UpdatePathwayIn>,
    responses(
        (status = 200, description = "Updated; nodes/edges edit the draft (un-enveloped)", body = UpdatePathwayOut),
        (status = 400, description = "A field of the wrong type (`INVALID_PARAMETER`), a graph with problems (`INVALID_PATHWAY`, every issue in `details.issues`), or one that needs a model on a server without one (`MODEL_REQUIRED`, `details.needs`)", body = ErrorBody),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PATHWAY_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn update_pathway(
    State(state): State<AppState>,
    org: Org,
    Path(pathway_id): Path<String>,
    body: BlandJson<UpdatePathwayIn>,
) -> Result<Json<UpdatePathwayOut>, ApiError> {
    known(&pathway_id, pathway_not_found)?;
    let b = body.value;
    let name = b.name.map(|n| required_text("name", Some(n))).transpose()?;
    let nodes = graph_field("nodes", b.nodes)?;
    let edges = graph_field("edges", b.edges)?;
    let current = state
        .store
        .pathway(&org.id, &pathway_id)
        .await?
        .ok_or_else(|| pathway_not_found(&pathway_id))?;
    let draft = if nodes.is_some() || edges.is_some() {
        let graph = graph_of(
            nodes.unwrap_or_else(|| current.nodes()),
            edges.unwrap_or_else(|| current.edges()),
        );
        check_graph(&state, &graph)?;
        Some(graph)
    } else {
        None
    };
    let description = match b.description {
        Patch::Absent => None,
        Patch::Null => Some(None),
        Patch::Value(d) => Some(Some(d)),
    };
    let update = PathwayUpdate {
        name,
        description,
        draft,
    };
    let now = state.clock.now_ms();
    let p = state
        .store
        .update_pathway(&org.id, &pathway_id, &update, now)
        .await?
        .ok_or_else(|| pathway_not_found(&pathway_id))?;
    Ok(Json(UpdatePathwayOut {
        status: "success".into(),
        message: "Pathway updated successfully".into(),
        pathway_data: (&p).into(),
    }))
}

#[utoipa::path(
    delete, path = "/v1/pathway/{pathway_id}", tag = "pathways",
    params(("pathway_id" = String, Path, description = "Pathway id")),
    responses(
        (status = 200, description = "Deleted with its versions and chats (un-enveloped)", body = DeletePathwayOut),
        (status = 401, description = "Missing or wrong API key", body = ErrorBody),
        (status = 404, description = "`PATHWAY_NOT_FOUND`", body = ErrorBody),
    ),
    security(("api_key" = []))
)]
pub async fn delete_pathway(
    State(state): State<AppState>,
    org: Org,
    Path(pathway_id): Path<String>,
) -> Result<Json<DeletePathwayOut>, ApiError> {
    known(&pathway_id, pathway_not_found)?;
    if !state.store.delete_pathway(&org.id, &pathway_id).await? {
        return Err(pathway_not_found(&pathway_id));
    }
    tracing::info!(pathway.id = %pathway_id, "deleted pathway {pathway_id}");
    Ok(Json(DeletePathwayOut {
        status: "success".into(),
        pathway_id,
    }))
}
