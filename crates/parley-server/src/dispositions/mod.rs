//! Running dispositions (outcomes) over a conversation: the step the end-of-conversation
//! pipeline takes after citations, and what `POST /v1/dispositions/{id}/test` runs.
//!
//! `endings::compute` is the caller to read: it loads the plan with
//! `Store::current_disposition_versions`, runs it, retries the ending on
//! `retryable_failure`, and stores the logs with [`disposition_tag`].
//!
//! [`run`] never fails and never panics: one [`DispositionLog`] per entry of the plan, in its
//! order, and whether a failure among them may pass on another attempt. An id that named
//! nothing, a stored definition that no longer checks, a model field on a server without a
//! model, and a model that fails or answers badly each give that
//! disposition an `ERROR` log (with `result: null`) and leave the others alone. Rule fields
//! need no model; all model fields of one disposition are asked in one call. Dispositions
//! run one after another, so logs and model calls come in the plan's order.

use std::time::{Duration, Instant};

use parley_domain::{
    conversation_record::{ConversationRecord, Speaker},
    dispositions::{Disposition, FieldType},
};
use serde_json::Map;

use crate::language_models::{
    transcript, CallOptions, ChatMessage, FieldKind, FieldSpec, LanguageModel, LanguageModelExt,
};

pub use parley_domain::dispositions::{disposition_tag, DispositionLog, LogStatus};
pub use parley_store::{DispositionLookup, DispositionVersion};

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RunOptions {
    /// What each model call may take; `None` leaves it to `language_model.timeout_ms`
    /// (which caps it either way).
    pub model_timeout: Option<Duration>,
}

/// What [`run`] produced.
#[derive(Debug, Clone, PartialEq)]
pub struct DispositionRun {
    /// One per entry of the plan, in its order.
    pub logs: Vec<DispositionLog>,
    /// A model call failed in a way another attempt may fix (timeout, rate limit, 5xx,
    /// connection; [`crate::language_models::ModelError::is_retryable`]). Its log is an
    /// `ERROR` like any other: the caller decides whether to store the logs or try later.
    pub retryable_failure: bool,
}

/// Runs each entry of `plan` (from [`parley_store::Store::current_disposition_versions`])
/// over `record`, in order. `model` is the server's language model, `None` when none is
/// configured.
pub async fn run(
    plan: &[DispositionLookup],
    record: &ConversationRecord,
    model: Option<&dyn LanguageModel>,
    opts: &RunOptions,
) -> DispositionRun {
    let mut out = DispositionRun {
        logs: Vec::with_capacity(plan.len()),
        retryable_failure: false,
    };
    for entry in plan {
        let log = match entry {
            DispositionLookup::Found(v) => {
                let (log, retryable) = run_one(v, record, model, opts).await;
                out.retryable_failure |= retryable;
                log
            }
            DispositionLookup::NotFound(id) => {
                tracing::warn!(disposition.id = %id, "disposition run failed: no such disposition");
                DispositionLog::error(id, None, None, format!("disposition {id} not found"), 0)
            }
        };
        out.logs.push(log);
    }
    out
}

/// One version of a definition over `record`, and whether its failure (if any) may pass
/// on another attempt.
async fn run_one(
    def: &DispositionVersion,
    record: &ConversationRecord,
    model: Option<&dyn LanguageModel>,
    opts: &RunOptions,
) -> (DispositionLog, bool) {
    let started = Instant::now();
    let id = def.disposition_id.as_str();
    let failed = |name: Option<&str>, error: String| {
        tracing::warn!(disposition.id = %id, disposition.version = def.version, %error, "disposition run failed");
        DispositionLog::error(id, name, Some(def.version), error, elapsed_ms(started))
    };
    let parsed = match Disposition::parse(&def.definition) {
        Ok(p) => p,
        Err(errors) => {
            let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
            let error = format!(
                "the stored definition does not check: {}",
                listed.join("; ")
            );
            return (failed(def.definition["name"].as_str(), error), false);
        }
    };
    let name = Some(parsed.name.as_str());
    let mut model_values = Map::new();
    if parsed.needs_model() {
        let Some(model) = model else {
            let fields: Vec<&str> = parsed.model_fields().map(|f| f.name.as_str()).collect();
            let error = format!(
                "field{} {} need{} a language model and none is configured (set language_model.base_url)",
                if fields.len() == 1 { "" } else { "s" },
                fields.join(", "),
                if fields.len() == 1 { "s" } else { "" },
            );
            return (failed(name, error), false);
        };
        let specs: Vec<FieldSpec> = parsed
            .model_fields()
            .map(|f| {
                let question = f.description.clone().unwrap_or_default();
                FieldSpec::new(f.name.clone(), kind_for(f.kind), question)
            })
            .collect();
        let call = CallOptions {
            timeout: opts.model_timeout,
            ..CallOptions::default()
        };
        match model.extract(&specs, &transcript_of(record), &call).await {
            Ok(values) => model_values = values,
            Err(e) => {
                let error = format!("the language model failed ({}): {e}", e.code());
                return (failed(name, error), e.is_retryable());
            }
        }
    }
    let result = parsed.evaluate(record, &model_values);
    let log = DispositionLog::complete(id, def.version, &parsed, result, elapsed_ms(started));
    (log, false)
}

/// What the model is asked for a field of this type.
fn kind_for(t: FieldType) -> FieldKind {
    match t {
        FieldType::Boolean => FieldKind::Boolean,
        FieldType::String => FieldKind::String,
        FieldType::Number => FieldKind::Number,
    }
}

/// The transcript as the model reads it: the user's lines as `User:`, the agent's and a
/// human's as `Agent:` (both speak for the business).
fn transcript_of(record: &ConversationRecord) -> String {
    let messages: Vec<ChatMessage> = record
        .transcript
        .iter()
        .map(|l| match l.speaker {
            Speaker::User => ChatMessage::user(l.text.clone()),
            Speaker::Agent | Speaker::Human => ChatMessage::assistant(l.text.clone()),
        })
        .collect();
    transcript(&messages)
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests;
