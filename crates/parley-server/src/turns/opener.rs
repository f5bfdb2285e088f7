//! The agent's first words on `POST /v1/sms/send` without `agent_message`: the reply source
//! the send resolves to (persona precedence) speaks first, from a pathway's start node (or
//! `start_node_id`) or from the `objective` prompt through the language model.
//!
//! Unlike a reply to a user, an opener that cannot be produced is refused to the API caller
//! (who is there to read why) instead of falling back: `NO_REPLY_SOURCE` when nothing is
//! configured, the errors of `source_check` (a pathway, version or start node that does not
//! exist, `MODEL_REQUIRED` when the source needs a model the server lacks), and the model's
//! own failure as `MODEL_UNAVAILABLE` (503), so nothing half-made reaches a user.
//!
//! A pathway opener is a whole run: its tags, state and variables (a webhook node's answer
//! included), SMS nodes' messages to other numbers, an End Call or a Transfer to Human, and
//! the pathways it transfers to, all land with the send.

use axum::http::StatusCode;
use parley_domain::{
    pathways::{PathwayState, TurnContext},
    personas::ReplySource,
};
use parley_store::{PathwayWrite, ReplyRequest};
use serde_json::{Map, Value};

use super::{
    effects::{follow_transfers, Gathered},
    source_check::{checked_source, SourceFor},
    TurnError,
};
use crate::{
    api::{error::ApiError, pathways::checks::model_missing_at},
    app::AppState,
    language_models::{CallOptions, LanguageModelExt},
};

/// What the agent says first, and what a pathway's run writes with it.
#[derive(Debug, Clone)]
pub struct Opener {
    /// One or more messages, in order (never empty).
    pub messages: Vec<String>,
    /// The pathway run's state, tags, messages to other numbers, end or handoff; `None`
    /// for an objective.
    pub pathway: Option<PathwayWrite>,
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
    let checked = checked_source(
        state,
        &SourceFor {
            org_id: to.org_id,
            agent_number: to.agent_number,
            channel: to.channel,
            prefix: "",
        },
        req,
    )
    .await?;
    let (pathway, graph) = match (checked.source, checked.graph) {
        (ReplySource::Nothing, _) => return Err(ApiError::no_reply_source()),
        (ReplySource::Objective { prompt, .. }, _) => return objective(state, to, &prompt).await,
        (ReplySource::Pathway { pathway, .. }, Some(graph)) => (pathway, graph),
        (ReplySource::Pathway { .. }, None) => return Err(ApiError::internal()),
    };
    let vars = to.request_data.cloned().unwrap_or_default();
    let mut s = PathwayState::new(pathway.pathway_id.clone(), pathway.version.clone(), vars);
    s.current_node_id = pathway.start_node_id.clone();
    // The conversation does not exist yet: `{{call_id}}` is blank in an opener.
    let ctx = TurnContext {
        conversation_id: String::new(),
        from: to.user_number.to_owned(),
        to: to.agent_number.to_owned(),
        now_ms: state.clock.now_ms(),
        history: Vec::new(),
    };
    let report = state
        .turns
        .run_opener(&graph, s, ctx.clone())
        .await
        .map_err(|e| match e {
            TurnError::ModelRequired { node_id, task } => model_missing_at(&node_id, task),
            TurnError::Engine(e) => ApiError::invalid(format!("the pathway cannot open: {e}")),
        })?;
    if let Some(e) = report.fallback {
        return Err(unavailable(&e.to_string()));
    }
    let mut g = Gathered::default();
    g.add(&report, to.user_number);
    follow_transfers(state, to.org_id, to.user_number, report, ctx, None, &mut g).await?;
    if g.messages.is_empty() {
        return Err(ApiError::invalid(
            "the pathway's start node says nothing: send agent_message, or give the start node a text",
        ));
    }
    Ok(Opener {
        messages: g.messages,
        pathway: Some(g.write),
    })
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
        pathway: None,
    })
}

fn unavailable(why: &str) -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "MODEL_UNAVAILABLE",
        format!("the language model could not write the opening message ({why}); nothing was sent"),
    )
}
