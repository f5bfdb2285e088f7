//! What every pathway write checks, and the errors the pathway endpoints share.

use axum::http::StatusCode;
use parley_domain::pathways::{Issue, ModelNeed, ModelNeedReason, Pathway};
use serde_json::{json, Value};

use crate::{api::error::ApiError, app::AppState};

/// A graph about to be saved (draft or version) or published: every validation issue →
/// `INVALID_PATHWAY`; then, on a server without a model, anything that needs one →
/// `MODEL_REQUIRED`.
pub(super) fn check_graph(state: &AppState, graph: &Value) -> Result<(), ApiError> {
    let pathway = Pathway::from_value(graph.clone());
    let issues = pathway.validate();
    if !issues.is_empty() {
        return Err(invalid_pathway(&issues));
    }
    if state.language_model.is_none() {
        let needs = pathway.model_needs();
        if !needs.is_empty() {
            return Err(model_required(&needs));
        }
    }
    Ok(())
}

/// `INVALID_PATHWAY`: the message names every problem; `details.issues` lists them as
/// `{code, message, node_id?, edge_id?}`.
pub(super) fn invalid_pathway(issues: &[Issue]) -> ApiError {
    let listed: Vec<String> = issues
        .iter()
        .map(|i| format!("{} [{}]", i.message, i.code.as_str()))
        .collect();
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "INVALID_PATHWAY",
        format!(
            "the pathway has {} problem{}: {}",
            issues.len(),
            if issues.len() == 1 { "" } else { "s" },
            listed.join("; ")
        ),
    )
    .with_details(json!({ "issues": issues }))
}

/// `MODEL_REQUIRED`: names each node/edge that needs a model; `details.needs` lists them
/// as `{reason, node_id, edge_id?}`.
pub(crate) fn model_required(needs: &[ModelNeed]) -> ApiError {
    let listed: Vec<String> = needs
        .iter()
        .map(|n| {
            let what = match n.reason {
                ModelNeedReason::PromptNode => "generates its reply from a `prompt`",
                ModelNeedReason::LabelEdge => "is chosen by its label",
                ModelNeedReason::ExtractVars => "extracts variables",
                ModelNeedReason::NodeCondition => "has a natural-language `condition`",
                ModelNeedReason::GlobalNode => "is a global node, chosen by its label",
            };
            match &n.edge_id {
                Some(e) => format!("edge {e:?} (from node {:?}) {what}", n.node_id),
                None => format!("node {:?} {what}", n.node_id),
            }
        })
        .collect();
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "MODEL_REQUIRED",
        format!(
            "this pathway needs a language model and none is configured \
             (set language_model.base_url): {}",
            listed.join("; ")
        ),
    )
    .with_details(json!({ "needs": needs }))
}

/// A node of this running pathway needs the model the server no longer has.
pub(crate) fn model_missing_at(node_id: &str, task: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "MODEL_REQUIRED",
        format!(
            "node {node_id:?} needs a language model ({task}) and none is configured \
             (set language_model.base_url)"
        ),
    )
    .with_details(json!({ "needs": [{ "node_id": node_id, "task": task }] }))
}

/// Another org's pathway reads exactly like one that does not exist.
pub(crate) fn pathway_not_found(id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "PATHWAY_NOT_FOUND",
        format!("pathway {id} not found"),
    )
}

pub(crate) fn version_not_found(pathway_id: &str, version: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "PATHWAY_VERSION_NOT_FOUND",
        format!("pathway {pathway_id} has no version {version}"),
    )
}

/// A required string field: present, a string, not blank.
pub(super) fn required_text(field: &str, v: Option<String>) -> Result<String, ApiError> {
    match v {
        Some(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(_) => Err(ApiError::invalid(format!("{field} must not be blank"))),
        None => Err(ApiError::invalid(format!("{field} is required"))),
    }
}

/// `nodes` / `edges` must be arrays when given (`null` counts as absent).
pub(super) fn graph_field(field: &str, v: Option<Value>) -> Result<Option<Value>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(a @ Value::Array(_)) => Ok(Some(a)),
        Some(_) => Err(ApiError::invalid(format!("{field} must be an array"))),
    }
}

/// `INVALID_PATHWAY` for a problem found while running rather than saving.
pub(super) fn invalid_pathway_message(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "INVALID_PATHWAY", message)
}

/// A path id holding NUL names nothing (and PostgreSQL could not even compare it): it is
/// answered as not found before it reaches the store.
pub(super) fn known(id: &str, not_found: impl FnOnce(&str) -> ApiError) -> Result<(), ApiError> {
    if id.contains('\0') {
        return Err(not_found(id));
    }
    Ok(())
}
