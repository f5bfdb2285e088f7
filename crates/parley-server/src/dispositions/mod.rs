//! Running dispositions (outcomes) over a conversation: the step the end-of-conversation
//! pipeline takes after citations, and what `POST /v1/dispositions/{id}/test` runs.
//!
//! ```ignore
//! let plan = store.current_disposition_versions(org_id, &disposition_ids).await?;
//! let logs = dispositions::run(&plan, &record, state.language_model.as_deref(), &RunOptions::default()).await;
//! let tag = dispositions::disposition_tag(&logs);
//! ```
//!
//! [`run`] never fails and never panics: one [`DispositionLog`] per entry of the plan, in its
//! order. An id that named nothing, a stored definition that no longer checks, a model field
//! on a server without a model, and a model that fails or answers badly each give that
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

/// One log per entry of `plan` (from [`parley_store::Store::current_disposition_versions`]),
/// in order. `model` is the server's language model, `None` when none is configured.
pub async fn run(
    plan: &[DispositionLookup],
    record: &ConversationRecord,
    model: Option<&dyn LanguageModel>,
    opts: &RunOptions,
) -> Vec<DispositionLog> {
    let mut logs = Vec::with_capacity(plan.len());
    for entry in plan {
        logs.push(match entry {
            DispositionLookup::Found(v) => run_one(v, record, model, opts).await,
            DispositionLookup::NotFound(id) => {
                DispositionLog::error(id, None, None, format!("disposition {id} not found"), 0)
            }
        });
    }
    logs
}

/// Runs one version of a definition over `record`.
pub async fn run_one(
    def: &DispositionVersion,
    record: &ConversationRecord,
    model: Option<&dyn LanguageModel>,
    opts: &RunOptions,
) -> DispositionLog {
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
            return failed(def.definition["name"].as_str(), error);
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
            return failed(name, error);
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
                return failed(
                    name,
                    format!("the language model failed ({}): {e}", e.code()),
                )
            }
        }
    }
    let result = parsed.evaluate(record, &model_values);
    DispositionLog::complete(id, def.version, &parsed, result, elapsed_ms(started))
}

/// What the model is asked for a field of this type. `FieldKind` has no number kind yet, so
/// a number field is asked as an integer; once it has one, the `Number` arm asks for that
/// (`FieldType::convert` already accepts any JSON number, so nothing else changes).
fn kind_for(t: FieldType) -> FieldKind {
    match t {
        FieldType::Boolean => FieldKind::Boolean,
        FieldType::String => FieldKind::String,
        FieldType::Number => FieldKind::Integer,
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
