//! The agent's first words on `POST /v1/sms/send` without `agent_message`: the reply source
//! the send resolves to (persona precedence) speaks first, from a pathway's start node (or
//! `start_node_id`) or from the `objective` prompt through the language model.
//!
//! Unlike a reply to a user, an opener that cannot be produced is refused to the API caller
//! (who is there to read why) instead of falling back: `NO_REPLY_SOURCE` when nothing is
//! configured, `MODEL_REQUIRED` when the source needs a model the server lacks, and the
//! model's own failure as `MODEL_UNAVAILABLE` (503), so nothing half-made reaches a user.

use axum::http::StatusCode;
use parley_domain::pathways::{PathwayState, TurnContext};
use parley_domain::personas::ReplySource;
use parley_store::{ReplyLookup, ReplyRequest, Resolution, VersionRef};
use serde_json::{Map, Value};

use super::{agent::load_pathway, TurnError};
use crate::{
    api::{
        error::ApiError,
        pathways::checks::{
            model_missing_at, model_required, pathway_not_found, version_not_found,
        },
        personas::persona_not_found,
    },
    app::AppState,
    language_models::{CallOptions, LanguageModelExt},
};

/// What the agent says first, and where a pathway then stands.
#[derive(Debug, Clone)]
pub struct Opener {
    /// One or more messages, in order (never empty).
    pub messages: Vec<String>,
    pub current_node_id: Option<String>,
}

/// Who the opener is for.
pub struct OpenerFor<'a> {
    pub org_id: &'a str,
    pub agent_number: &'a str,
    pub user_number: &'a str,
    pub channel: &'a str,
    pub request_data: Option<&'a Map<String, Value>>,
}

pub async fn opener(
    state: &AppState,
    to: &OpenerFor<'_>,
    req: &ReplyRequest<'_>,
) -> Result<Opener, ApiError> {
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
    match source {
        ReplySource::Nothing => Err(ApiError::no_reply_source()),
        ReplySource::Objective { prompt, .. } => objective(state, to, &prompt).await,
        ReplySource::Pathway { pathway, .. } => {
            let version = pathway
                .version
                .clone()
                .unwrap_or_else(|| "production".into());
            let graph = match state
                .store
                .resolve_pathway_ref(to.org_id, &pathway.pathway_id, &VersionRef::parse(&version))
                .await?
            {
                Resolution::Found(r) => {
                    parley_domain::pathways::Pathway::from_value(r.graph().clone())
                }
                Resolution::PathwayNotFound => return Err(pathway_not_found(&pathway.pathway_id)),
                Resolution::VersionNotFound => {
                    return Err(version_not_found(&pathway.pathway_id, &version))
                }
            };
            // Like a send with agent_message (`check_runs_without_model`): a later turn must
            // not need the model this server lacks.
            if state.language_model.is_none() {
                let needs = graph.model_needs();
                if !needs.is_empty() {
                    return Err(model_required(&needs));
                }
            }
            let vars = to.request_data.cloned().unwrap_or_default();
            let mut s =
                PathwayState::new(pathway.pathway_id.clone(), pathway.version.clone(), vars);
            s.current_node_id = pathway.start_node_id.clone();
            let ctx = TurnContext {
                conversation_id: String::new(),
                from: to.user_number.to_owned(),
                to: to.agent_number.to_owned(),
                now_ms: state.clock.now_ms(),
                history: Vec::new(),
            };
            let report = state
                .turns
                .run_opener(&graph, s, ctx)
                .await
                .map_err(|e| match e {
                    TurnError::ModelRequired { node_id, task } => model_missing_at(&node_id, task),
                    TurnError::Engine(e) => {
                        ApiError::invalid(format!("the pathway cannot open: {e}"))
                    }
                })?;
            if let Some(e) = report.fallback {
                return Err(unavailable(&e.to_string()));
            }
            let messages: Vec<String> = report
                .outcome
                .messages
                .iter()
                .filter(|m| m.to.is_none() && !m.text.trim().is_empty())
                .map(|m| m.text.clone())
                .collect();
            if messages.is_empty() {
                return Err(ApiError::invalid(
                    "the pathway's start node says nothing: send agent_message, or give the start node a text",
                ));
            }
            Ok(Opener {
                messages,
                current_node_id: report.outcome.state.current_node_id,
            })
        }
    }
}

async fn objective(state: &AppState, to: &OpenerFor<'_>, prompt: &str) -> Result<Opener, ApiError> {
    let Some(model) = &state.language_model else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "MODEL_REQUIRED",
            "without agent_message the number's objective must be spoken by a language model, \
             and none is configured (set language_model.base_url, or send agent_message)",
        ));
    };
    let cfg = &state.config.language_model;
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(cfg.turn_budget_ms);
    let context = match to.request_data {
        Some(d) if !d.is_empty() => format!(
            "\n\nWhat you know about the user: {}",
            Value::Object(d.clone())
        ),
        _ => String::new(),
    };
    let system = format!(
        "{prompt}{context}\n\nYou are starting a text conversation by {} from {}.",
        to.channel.to_uppercase(),
        to.agent_number
    );
    let text = model
        .generate(
            &system,
            &[],
            "Write the first message to the user, in plain text, briefly.",
            &CallOptions::before(deadline),
        )
        .await
        .map_err(|e| unavailable(&e.to_string()))?;
    Ok(Opener {
        messages: vec![text],
        current_node_id: None,
    })
}

/// A send that names a pathway on a server without a language model: refused now
/// (`MODEL_REQUIRED`, naming each node and edge) when a later turn of that pathway would need
/// the model, rather than failing on the user's reply. A pathway that does not exist (yet)
/// is not checked here: the conversation only stores the reference.
pub async fn check_runs_without_model(
    state: &AppState,
    org_id: &str,
    pathway_id: &str,
    version: Option<&str>,
) -> Result<(), ApiError> {
    if state.language_model.is_some() {
        return Ok(());
    }
    if let Some(graph) = load_pathway(state, org_id, pathway_id, version).await? {
        let needs = graph.model_needs();
        if !needs.is_empty() {
            return Err(model_required(&needs));
        }
    }
    Ok(())
}

fn unavailable(why: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "MODEL_UNAVAILABLE",
        format!("the language model could not write the opening message ({why}); nothing was sent"),
    )
}
