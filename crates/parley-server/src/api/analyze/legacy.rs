//! Bland's older `/v1/sms/analyze`: a `goal` and `[question, type]` pairs answered by the
//! model over the messages between two numbers (`to`, `from`, either order, one of them the
//! caller's; every conversation of the pair, messages hidden by `/v1/sms/clear` left out),
//! or over one conversation when `conversation_id` is given instead. One answer per
//! question, in order, `null` where the conversation does not say. The body is not
//! enveloped, as Bland's was.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{model_required, model_unavailable, no_messages, AnalyzeIn};
use crate::{
    api::{
        auth::Org,
        conversations::pairs::{owned_pair, PairIn, MAX_PAIR_MESSAGES},
        error::ApiError,
    },
    app::AppState,
    citations::model_transcript,
    language_models::{CallOptions, FieldKind, FieldSpec, LanguageModelExt},
};

/// Most questions one request may ask.
pub const MAX_QUESTIONS: usize = 50;

#[derive(Debug, Serialize, ToSchema)]
pub struct LegacyAnalyzeOut {
    /// `success`.
    pub status: String,
    /// `Successfully analyzed SMS messages.`
    pub message: String,
    /// One per question: the answer as text, or `null`.
    #[schema(value_type = Vec<Option<String>>)]
    pub answers: Vec<Value>,
}

struct Question {
    text: String,
    kind: String,
}

/// `[question, type]` pairs (`[question]` and a bare question string are accepted too).
fn questions(field: &str, list: &Value) -> Result<Vec<Question>, ApiError> {
    let Some(items) = list.as_array() else {
        return Err(ApiError::invalid(format!(
            "{field} must be an array of [question, type] pairs"
        )));
    };
    if items.is_empty() || items.len() > MAX_QUESTIONS {
        return Err(ApiError::invalid(format!(
            "{field} must hold 1 to {MAX_QUESTIONS} questions"
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let bad = || {
                ApiError::invalid(format!(
                    "{field}[{i}] must be a [question, type] pair of strings"
                ))
            };
            let (q, t) = match item {
                Value::String(q) => (q.as_str(), ""),
                Value::Array(pair) => match pair.as_slice() {
                    [Value::String(q)] => (q.as_str(), ""),
                    [Value::String(q), Value::String(t)] => (q.as_str(), t.as_str()),
                    _ => return Err(bad()),
                },
                _ => return Err(bad()),
            };
            if q.trim().is_empty() {
                return Err(ApiError::invalid(format!(
                    "{field}[{i}]: the question must not be blank"
                )));
            }
            Ok(Question {
                text: q.trim().to_owned(),
                kind: t.trim().to_owned(),
            })
        })
        .collect()
}

pub(super) async fn analyze(
    state: &AppState,
    org: &Org,
    b: AnalyzeIn,
) -> Result<LegacyAnalyzeOut, ApiError> {
    let goal = match b.goal.as_deref().map(str::trim) {
        Some(g) if !g.is_empty() => g.to_owned(),
        _ => {
            return Err(ApiError::invalid(
                "goal is required (or schema_id for the current form)",
            ))
        }
    };
    let asked = match (&b.answers, &b.questions) {
        (Some(a), _) => questions("answers", a)?,
        (None, Some(q)) => questions("questions", q)?,
        (None, None) => {
            return Err(ApiError::invalid(
                "answers is required: [question, type] pairs",
            ))
        }
    };
    let transcript = match b.conversation_id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => {
            let record = state
                .store
                .conversation_record(&org.id, id)
                .await?
                .ok_or_else(|| ApiError::conversation_not_found(id))?;
            model_transcript(&record)
        }
        _ => {
            let pair = PairIn {
                to: b.to,
                from: b.from,
            };
            let (to, from) = owned_pair(state, org, pair).await?;
            let messages = state
                .store
                .pair_messages(&org.id, to.as_str(), from.as_str(), MAX_PAIR_MESSAGES)
                .await?;
            messages
                .iter()
                .filter(|m| m.hidden_from_ai == 0)
                .map(|m| {
                    let who = if m.sender.eq_ignore_ascii_case("USER") {
                        "User"
                    } else {
                        "Agent"
                    };
                    format!("{who}: {}", m.body.trim())
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
    };
    if transcript.is_empty() {
        return Err(no_messages("the conversation"));
    }
    let Some(model) = state.language_model.as_deref() else {
        let listed: Vec<&str> = asked.iter().map(|q| q.text.as_str()).collect();
        return Err(model_required(
            "answering questions (the legacy form)",
            &listed,
        ));
    };
    let fields: Vec<FieldSpec> = asked
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let description = match q.kind.as_str() {
                "" => q.text.clone(),
                kind => format!("{} (answer as: {kind})", q.text),
            };
            FieldSpec::new(format!("q{}", i + 1), FieldKind::String, description)
        })
        .collect();
    let got = model
        .extract_toward(&goal, &fields, &transcript, &CallOptions::default())
        .await
        .map_err(|e| model_unavailable(&e.to_string()))?;
    Ok(LegacyAnalyzeOut {
        status: "success".into(),
        message: "Successfully analyzed SMS messages.".into(),
        answers: fields
            .iter()
            .map(|f| got.get(&f.name).cloned().unwrap_or(Value::Null))
            .collect(),
    })
}
