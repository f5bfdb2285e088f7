//! What a send, a create or a batch names as the conversation's reply source, checked before
//! anything is written: a pathway that does not exist in the caller's org
//! (`PATHWAY_NOT_FOUND`), a version it does not have (`PATHWAY_VERSION_NOT_FOUND`), a start
//! node it does not have (`INVALID_PARAMETER`), or one that needs a language model this
//! server lacks (`MODEL_REQUIRED`) is refused while the caller is listening, naming the
//! field, instead of leaving a conversation that never answers.
//!
//! The send path resolves the reply source once here (persona precedence included) and the
//! opener runs on the graph this returns, so the check and the opener cannot disagree.

use axum::http::StatusCode;
use parley_domain::{
    pathways::Pathway,
    personas::{PathwayOverride, ReplyOrigin, ReplySource},
};
use parley_store::{ReplyLookup, ReplyRequest, Resolution, VersionRef};
use serde_json::json;

use crate::{
    api::{error::ApiError, pathways::checks::model_required, personas::persona_not_found},
    app::AppState,
};

/// The reply source a send resolves to, with the pathway's graph when it is one.
pub struct CheckedSource {
    pub source: ReplySource,
    pub graph: Option<Pathway>,
}

/// Where the send is going, and how its fields are named in messages (`global.` for a
/// batch).
pub struct SourceFor<'a> {
    pub org_id: &'a str,
    pub agent_number: &'a str,
    pub channel: &'a str,
    pub prefix: &'a str,
}

/// Resolves and checks what `req` makes the conversation's reply source (see the module
/// docs). An unknown persona is `PERSONA_NOT_FOUND`, an unknown number
/// `AGENT_NUMBER_NOT_FOUND`.
pub async fn checked_source(
    state: &AppState,
    to: &SourceFor<'_>,
    req: &ReplyRequest<'_>,
) -> Result<CheckedSource, ApiError> {
    let lookup = state
        .store
        .resolve_reply_source(to.org_id, to.agent_number, Some(to.channel), req)
        .await?;
    let source = match lookup {
        ReplyLookup::Resolved { source, .. } => source,
        ReplyLookup::NumberNotFound => {
            return Err(ApiError::agent_number_not_found(to.agent_number))
        }
        ReplyLookup::PersonaNotFound => {
            return Err(persona_not_found(req.persona_id.unwrap_or_default()))
        }
    };
    let graph = match &source {
        ReplySource::Pathway { pathway, from } => {
            let (id_field, version_field, node_field) = fields(*from, to);
            let graph = checked_pathway(
                state,
                to.org_id,
                &PathwayRef {
                    id: &pathway.pathway_id,
                    version: pathway.version.as_deref(),
                    id_field: &id_field,
                    version_field: &version_field,
                },
            )
            .await?;
            if let Some(node) = &pathway.start_node_id {
                check_node(&graph, &pathway.pathway_id, &node_field, node)?;
            }
            Some(graph)
        }
        ReplySource::Objective { .. } | ReplySource::Nothing => None,
    };
    // What the request names but a higher layer outranks is stored too, and runs as soon
    // as that layer goes: it must exist as well.
    let named = [
        (
            ReplyOrigin::SendPersonaSettings,
            req.persona_settings
                .and_then(|v| PathwayOverride::from_json(v).choice()),
        ),
        (
            ReplyOrigin::RequestPathway,
            PathwayOverride {
                pathway_id: req.pathway_id.map(str::to_owned),
                pathway_version: req.pathway_version.map(str::to_owned),
                start_node_id: None,
            }
            .choice(),
        ),
    ];
    for (origin, choice) in named {
        let Some(p) = choice else { continue };
        if source.origin() == Some(origin) {
            continue;
        }
        let (id_field, version_field, _) = fields(origin, to);
        let r = PathwayRef {
            id: &p.pathway_id,
            version: p.version.as_deref(),
            id_field: &id_field,
            version_field: &version_field,
        };
        existing_pathway(state, to.org_id, &r).await?;
    }
    Ok(CheckedSource { source, graph })
}

/// [`checked_source`] for a send that carries its own text, when it names a pathway or a
/// persona. One that names neither replies from the number's own configuration, which the
/// send does not check: a plain send pays for no lookup.
pub async fn check_named_source(
    state: &AppState,
    to: &SourceFor<'_>,
    req: &ReplyRequest<'_>,
) -> Result<(), ApiError> {
    if req.pathway_id.is_none() && req.persona_settings.is_none() && req.persona_id.is_none() {
        return Ok(());
    }
    checked_source(state, to, req).await.map(drop)
}

/// A pathway a request names, and the names of its fields for messages.
pub struct PathwayRef<'a> {
    pub id: &'a str,
    /// `None`: production.
    pub version: Option<&'a str>,
    pub id_field: &'a str,
    pub version_field: &'a str,
}

/// The graph `r` names in the org, checked: it exists, the version exists, and on a server
/// without a model it needs none.
pub async fn checked_pathway(
    state: &AppState,
    org_id: &str,
    r: &PathwayRef<'_>,
) -> Result<Pathway, ApiError> {
    let graph = existing_pathway(state, org_id, r).await?;
    if state.language_model.is_none() {
        let needs = graph.model_needs();
        if !needs.is_empty() {
            return Err(model_required(&needs));
        }
    }
    Ok(graph)
}

/// The graph `r` names in the org: `PATHWAY_NOT_FOUND` or `PATHWAY_VERSION_NOT_FOUND`,
/// naming the field, when there is none.
async fn existing_pathway(
    state: &AppState,
    org_id: &str,
    r: &PathwayRef<'_>,
) -> Result<Pathway, ApiError> {
    let version = r.version.unwrap_or("production");
    let graph = match state
        .store
        .resolve_pathway_ref(org_id, r.id, &VersionRef::parse(version))
        .await?
    {
        Resolution::Found(found) => Pathway::from_value(found.graph().clone()),
        Resolution::PathwayNotFound => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "PATHWAY_NOT_FOUND",
                format!("{}: pathway {} not found", r.id_field, r.id),
            )
            .with_details(json!({"field": r.id_field, "pathway_id": r.id})))
        }
        Resolution::VersionNotFound => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "PATHWAY_VERSION_NOT_FOUND",
                format!(
                    "{}: pathway {} has no version {version}",
                    r.version_field, r.id
                ),
            )
            .with_details(json!({
                "field": r.version_field, "pathway_id": r.id, "pathway_version": version
            })))
        }
    };
    Ok(graph)
}

/// `node` must be one of `graph`'s nodes: a conversation placed on a node that does not exist
/// would silently start over at the start node.
pub fn check_node(
    graph: &Pathway,
    pathway_id: &str,
    field: &str,
    node: &str,
) -> Result<(), ApiError> {
    match graph.node(node) {
        Some(_) => Ok(()),
        None => Err(ApiError::invalid(format!(
            "{field}: {node:?} is not a node of pathway {pathway_id}"
        ))),
    }
}

/// The fields (id, version, start node) of the layer a pathway came from.
fn fields(from: ReplyOrigin, to: &SourceFor<'_>) -> (String, String, String) {
    let p = to.prefix;
    let n = to.agent_number;
    match from {
        ReplyOrigin::SendPersonaSettings => (
            format!("{p}persona_settings.pathway_id"),
            format!("{p}persona_settings.pathway_version"),
            format!("{p}persona_settings.start_node_id"),
        ),
        ReplyOrigin::RequestPathway => (
            format!("{p}pathway_id"),
            format!("{p}pathway_version"),
            format!("{p}start_node_id"),
        ),
        ReplyOrigin::NumberPersonaSettings => (
            format!("the persona_settings.pathway_id of number {n}"),
            format!("the persona_settings.pathway_version of number {n}"),
            format!("the persona_settings.start_node_id of number {n}"),
        ),
        ReplyOrigin::PersonaRouting | ReplyOrigin::PersonaPrompt => (
            format!("{p}persona_id (the persona's pathway_conditions)"),
            format!("{p}persona_id (the persona's pathway_conditions)"),
            format!("{p}persona_id (the persona's pathway_conditions)"),
        ),
        ReplyOrigin::NumberPathway | ReplyOrigin::NumberObjective => (
            format!("the pathway_id of number {n}"),
            format!("the pathway_version of number {n}"),
            format!("the start_node_id of number {n}"),
        ),
    }
}
