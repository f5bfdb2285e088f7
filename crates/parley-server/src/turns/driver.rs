//! The turn driver: runs one pathway turn to its end, answering the engine's requests.
//!
//! The engine (`parley_domain::pathways::Turn`) is sans-IO: it yields
//! [`Poll::NeedModel`] and [`Poll::NeedWebhook`] and is resumed with the answers. The
//! driver answers model requests with the [`LanguageModelExt`] helpers (`Dialogue` →
//! `generate`, `ChooseRoute` → `choose`, `Extract` → `extract`, `CheckCondition` →
//! `check_condition`) and webhook requests through the SSRF-guarded client, all within
//! `language_model.turn_budget_ms`.
//!
//! Failure policy:
//! - The model fails (after one retry of a retryable error, time allowing) or the budget runs
//!   out: the turn is abandoned and the user gets `language_model.fallback_reply`; the state
//!   stays as it was before the turn, so the next message is read at the same node. Never
//!   an error string for the user.
//! - A model is needed but none is configured: [`TurnError::ModelRequired`], which the caller
//!   reports (saving and publishing such a pathway is refused, so this means the model was
//!   removed from the config since).
//! - A webhook fails (refused by the guard, timeout, connection): the engine routes on the
//!   failure as the pathway says; the turn goes on.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use parley_domain::pathways::{
    EngineError, HistoryEntry, ModelReply, ModelRequest, OutboundMessage, Outcome, Pathway,
    PathwayState, Poll, Role, Signal, Turn, TurnContext, VarType, WebhookResponse,
};

use super::node_webhooks::NodeWebhooks;
use crate::{
    config::Config,
    language_models::{
        transcript, CallOptions, ChatMessage, FieldKind, FieldSpec, LanguageModel,
        LanguageModelExt, ModelError,
    },
};

/// Attempts per model request: a retryable failure is tried once more while budget is left.
const MODEL_ATTEMPTS: u32 = 2;

/// Runs pathway turns. Built once ([`TurnDriver::new`]) and shared: it holds the model and
/// the webhook-node HTTP client (a connection pool).
pub struct TurnDriver {
    model: Option<Arc<dyn LanguageModel>>,
    webhooks: NodeWebhooks,
    turn_budget: Duration,
    fallback_reply: String,
}

/// A turn that ran to its end, or fell back.
#[derive(Debug, Clone)]
pub struct TurnReport {
    /// What to send and store. On a fallback: only the fallback reply, the state the turn
    /// started from, `Signal::Continue`.
    pub outcome: Outcome,
    /// Why the turn fell back to `fallback_reply`; `None` when the engine finished.
    pub fallback: Option<ModelError>,
    /// Every model request, in order (for logs and metrics).
    pub model_calls: Vec<ModelCall>,
    /// Every webhook node call, in order.
    pub webhook_calls: Vec<WebhookCall>,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelCall {
    /// `dialogue`, `choose_route`, `extract` or `check_condition`.
    pub task: &'static str,
    pub node_id: String,
    pub attempts: u32,
    pub elapsed_ms: u64,
    /// The failure's code ([`ModelError::code`]), if it failed.
    pub error: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookCall {
    pub node_id: String,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// Why there was no answer (`refused: …`, `timeout`, …).
    pub error: Option<String>,
    pub elapsed_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TurnError {
    /// The pathway asks the model at this node, and no model is configured.
    #[error("node {node_id:?} needs a language model ({task}) and none is configured")]
    ModelRequired { node_id: String, task: &'static str },
    /// The engine refused the turn (no start node, the conversation ended, a loop).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl TurnDriver {
    /// A driver for `config` (`language_model.*`, `webhooks.*`) and the configured model
    /// (`None`: static pathways only). Fails only if the TLS client cannot be built.
    pub fn new(config: &Config, model: Option<Arc<dyn LanguageModel>>) -> anyhow::Result<Self> {
        Ok(Self {
            model,
            webhooks: NodeWebhooks::new(&config.webhooks)?,
            turn_budget: config.language_model.turn_budget(),
            fallback_reply: config.language_model.fallback_reply.clone(),
        })
    }

    pub fn has_model(&self) -> bool {
        self.model.is_some()
    }

    /// Answers `user_text` on `pathway` from `state`; `ctx.history` holds the earlier
    /// messages (without `user_text`). Returns the engine's [`Outcome`] (or the fallback
    /// reply) with what was called on the way.
    pub async fn run_turn(
        &self,
        pathway: &Pathway,
        state: PathwayState,
        user_text: &str,
        ctx: TurnContext,
    ) -> Result<TurnReport, TurnError> {
        let start = state.clone();
        self.drive(Turn::new(pathway, state, user_text, ctx), start)
            .await
    }

    /// The agent speaks first: the dialogue of `state.current_node_id` (a chosen start node,
    /// or the node a pathway transfer named) or of the start node.
    pub async fn run_opener(
        &self,
        pathway: &Pathway,
        state: PathwayState,
        ctx: TurnContext,
    ) -> Result<TurnReport, TurnError> {
        let start = state.clone();
        self.drive(Turn::opener(pathway, state, ctx), start).await
    }

    /// Runs the turn and counts how it ended (`parley_pathway_turns_total{result}`).
    async fn drive(&self, turn: Turn<'_>, start: PathwayState) -> Result<TurnReport, TurnError> {
        let result = self.run(turn, start).await;
        let label = match &result {
            Ok(r) if r.fallback.is_some() => "fallback",
            Ok(_) => "ok",
            Err(TurnError::ModelRequired { .. }) => "model_required",
            Err(TurnError::Engine(_)) => "engine_error",
        };
        metrics::counter!("parley_pathway_turns_total", "result" => label).increment(1);
        result
    }

    async fn run(&self, mut turn: Turn<'_>, start: PathwayState) -> Result<TurnReport, TurnError> {
        let started = Instant::now();
        let deadline = started + self.turn_budget;
        let mut model_calls = Vec::new();
        let mut webhook_calls = Vec::new();
        loop {
            match turn.poll()? {
                Poll::Done(outcome) => {
                    return Ok(TurnReport {
                        outcome,
                        fallback: None,
                        model_calls,
                        webhook_calls,
                        elapsed_ms: ms(started.elapsed()),
                    })
                }
                Poll::NeedModel(req) => {
                    let (task, node_id) = describe(&req);
                    let Some(model) = &self.model else {
                        return Err(TurnError::ModelRequired {
                            node_id: node_id.to_owned(),
                            task,
                        });
                    };
                    let call_started = Instant::now();
                    let (result, attempts) = ask(model.as_ref(), &req, deadline).await;
                    model_calls.push(ModelCall {
                        task,
                        node_id: node_id.to_owned(),
                        attempts,
                        elapsed_ms: ms(call_started.elapsed()),
                        error: result.as_ref().err().map(ModelError::code),
                    });
                    match result {
                        Ok(reply) => turn.answer_model(reply)?,
                        Err(e) => {
                            tracing::warn!(
                                node.id = %node_id,
                                model.task = task,
                                error.code = e.code(),
                                error = %e,
                                "language model failed during a pathway turn; sending the fallback reply"
                            );
                            let outcome = self.fallback_outcome(start);
                            return Ok(TurnReport {
                                outcome,
                                fallback: Some(e),
                                model_calls,
                                webhook_calls,
                                elapsed_ms: ms(started.elapsed()),
                            });
                        }
                    }
                }
                Poll::NeedWebhook(req) => {
                    let call_started = Instant::now();
                    let response = self.webhooks.call(&req, deadline).await;
                    let (status, error) = match &response {
                        WebhookResponse::Response { status, .. } => (Some(*status), None),
                        WebhookResponse::Failed { reason } => (None, Some(reason.clone())),
                    };
                    if let Some(reason) = &error {
                        tracing::info!(node.id = %req.node_id, reason = %reason, "pathway webhook node got no answer");
                    }
                    webhook_calls.push(WebhookCall {
                        node_id: req.node_id.clone(),
                        status,
                        error,
                        elapsed_ms: ms(call_started.elapsed()),
                    });
                    turn.answer_webhook(response)?;
                }
            }
        }
    }

    fn fallback_outcome(&self, start: PathwayState) -> Outcome {
        Outcome {
            messages: vec![OutboundMessage {
                text: self.fallback_reply.clone(),
                node_id: start.current_node_id.clone().unwrap_or_default(),
                to: None,
            }],
            state: start,
            tags: Vec::new(),
            signal: Signal::Continue,
            visited: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The task name and node of a model request.
fn describe(req: &ModelRequest) -> (&'static str, &str) {
    match req {
        ModelRequest::Dialogue { node_id, .. } => ("dialogue", node_id),
        ModelRequest::ChooseRoute { node_id, .. } => ("choose_route", node_id),
        ModelRequest::Extract { node_id, .. } => ("extract", node_id),
        ModelRequest::CheckCondition { node_id, .. } => ("check_condition", node_id),
    }
}

/// Asks until an answer, a final failure, [`MODEL_ATTEMPTS`] attempts, or the deadline.
/// Returns the result and the attempts made.
async fn ask(
    model: &dyn LanguageModel,
    req: &ModelRequest,
    deadline: Instant,
) -> (Result<ModelReply, ModelError>, u32) {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let opts = CallOptions::before(deadline);
        let budget_ms = ms(opts.timeout.unwrap_or_default());
        // The adapter honours the timeout; this also holds a model that does not.
        let result = tokio::time::timeout_at(deadline.into(), answer(model, req, &opts))
            .await
            .unwrap_or(Err(ModelError::Timeout {
                after_ms: budget_ms,
            }));
        let retry = match &result {
            Err(e) if e.is_retryable() && attempts < MODEL_ATTEMPTS => {
                let wait = e.retry_after().unwrap_or_default();
                (Instant::now() + wait < deadline).then_some(wait)
            }
            _ => None,
        };
        match retry {
            Some(wait) => tokio::time::sleep(wait).await,
            None => return (result, attempts),
        }
    }
}

/// One model call for one request.
async fn answer(
    model: &dyn LanguageModel,
    req: &ModelRequest,
    opts: &CallOptions,
) -> Result<ModelReply, ModelError> {
    match req {
        ModelRequest::Dialogue {
            prompt,
            global_prompt,
            knowledge,
            unmet_condition,
            history,
            ..
        } => {
            let mut system = String::from(
                "You are the agent in a text-message conversation. Reply with your next message \
                 only.",
            );
            if let Some(g) = global_prompt {
                system = format!("{system}\n\n{g}");
            }
            if let Some(k) = knowledge {
                system = format!("{system}\n\nKnowledge you may use:\n{k}");
            }
            let mut instruction = prompt.clone();
            if let Some(c) = unmet_condition {
                instruction = format!(
                    "{instruction}\n\nDo not move on yet: keep the conversation here until this \
                     holds: {c}"
                );
            }
            model
                .generate(&system, &chat(history), &instruction, opts)
                .await
                .map(ModelReply::Dialogue)
        }
        ModelRequest::ChooseRoute {
            options, history, ..
        } => {
            let labels: Vec<String> = options
                .iter()
                .map(|o| match &o.description {
                    Some(d) => format!("{}: {d}", o.label),
                    None => o.label.clone(),
                })
                .collect();
            let question = format!(
                "The conversation so far:\n{}\n\nWhich of these should happen next?",
                transcript(&chat(history))
            );
            model
                .choose(&question, &labels, opts)
                .await
                .map(ModelReply::Choice)
        }
        ModelRequest::Extract { vars, history, .. } => {
            let fields: Vec<FieldSpec> = vars
                .iter()
                .map(|v| FieldSpec::new(&v.name, field_kind(v.var_type), &v.description))
                .collect();
            model
                .extract(&fields, &transcript(&chat(history)), opts)
                .await
                .map(ModelReply::Extracted)
        }
        ModelRequest::CheckCondition {
            condition, history, ..
        } => model
            .check_condition(condition, &transcript(&chat(history)), opts)
            .await
            .map(ModelReply::ConditionMet),
    }
}

fn field_kind(t: VarType) -> FieldKind {
    match t {
        VarType::String => FieldKind::String,
        VarType::Integer => FieldKind::Integer,
        VarType::Boolean => FieldKind::Boolean,
    }
}

fn chat(history: &[HistoryEntry]) -> Vec<ChatMessage> {
    history
        .iter()
        .map(|h| match h.role {
            Role::User => ChatMessage::user(&h.text),
            Role::Agent => ChatMessage::assistant(&h.text),
        })
        .collect()
}
