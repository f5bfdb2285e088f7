//! Citation extraction with the model: what the end-of-conversation pipeline, backfill
//! (`POST /v1/citation_schemas/backfill`) and `POST /v1/sms/analyze` run.
//!
//! The pure part (sources, types, conditions) is `parley_domain::citations::Extraction`;
//! this module only answers its pending variables with [`LanguageModelExt::extract`], one
//! call per schema and round of conditions. Without a model, or when the model fails, the
//! variables that need it are left out and reported in [`CitationOutcome::errors`]; what
//! deterministic sources found is still returned. Nothing here fails as a whole.

use parley_domain::{
    citations::{Citation, CitationSchema, Extraction, VarType, Variable},
    conversation_record::{ConversationRecord, Speaker},
};
use parley_store::{Store, StoreError};
use serde_json::{Map, Value};

use crate::language_models::{CallOptions, FieldKind, FieldSpec, LanguageModel, LanguageModelExt};

/// Knobs for [`extract`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ExtractOptions {
    /// For each model call; unset fields take `language_model.*` defaults.
    pub call: CallOptions,
}

/// What extraction over one conversation produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CitationOutcome {
    /// Name -> value, each of its variable's declared type. Schemas are applied in order,
    /// so a later schema's value wins over an earlier one's of the same name.
    pub variables: Map<String, Value>,
    /// Where values were read, for the values whose source message is known.
    pub citations: Vec<Citation>,
    /// Variables that could not be extracted and why; empty when everything ran.
    pub errors: Vec<CitationError>,
}

/// Why some variables of one schema were left out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CitationError {
    /// `MODEL_REQUIRED` (no model configured) or `MODEL_UNAVAILABLE` (the model failed).
    pub code: &'static str,
    /// Index of the schema in the slice given to [`extract`].
    pub schema_index: usize,
    /// The variables left out.
    pub variables: Vec<String>,
    pub message: String,
}

/// Extracts every schema's variables from `record`. With `model: None`, only variables with
/// a deterministic `source` are extracted and the others are reported as `MODEL_REQUIRED`
/// errors. A model failure is not retried here: its variables are reported as
/// `MODEL_UNAVAILABLE` (with the model's error), and the schema's later rounds do not ask
/// the model again.
pub async fn extract(
    schemas: &[CitationSchema],
    record: &ConversationRecord,
    model: Option<&dyn LanguageModel>,
    opts: &ExtractOptions,
) -> CitationOutcome {
    let mut out = CitationOutcome::default();
    let transcript = model_transcript(record);
    for (schema_index, schema) in schemas.iter().enumerate() {
        let mut x = Extraction::start(schema, record);
        let mut skipped = Vec::new();
        let mut failure: Option<String> = None;
        while !x.pending().is_empty() {
            let ask = match (model, &failure) {
                (Some(m), None) => m,
                _ => {
                    skipped.extend(x.skip_pending(record));
                    continue;
                }
            };
            let fields: Vec<FieldSpec> = x.pending().iter().map(|v| field_spec(v)).collect();
            match ask.extract(&fields, &transcript, &opts.call).await {
                Ok(answer) => x.supply(&answer, record),
                Err(e) => {
                    tracing::warn!(
                        conversation.id = %record.conversation_id,
                        error.code = e.code(),
                        "citation extraction: the language model failed"
                    );
                    failure = Some(e.to_string());
                    skipped.extend(x.skip_pending(record));
                }
            }
        }
        if !skipped.is_empty() {
            out.errors
                .push(skipped_error(schema_index, skipped, failure));
        }
        let (values, citations) = x.into_parts();
        out.citations.retain(|c| !values.contains_key(&c.variable));
        out.variables.extend(values);
        out.citations.extend(citations);
    }
    out
}

fn skipped_error(
    schema_index: usize,
    variables: Vec<String>,
    failure: Option<String>,
) -> CitationError {
    let listed = variables
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    match failure {
        None => CitationError {
            code: "MODEL_REQUIRED",
            message: format!(
                "no language model is configured (set language_model.base_url), so these \
                 variables were not extracted: {listed}"
            ),
            schema_index,
            variables,
        },
        Some(why) => CitationError {
            code: "MODEL_UNAVAILABLE",
            message: format!("{why}; these variables were not extracted: {listed}"),
            schema_index,
            variables,
        },
    }
}

/// The model's question for one variable.
fn field_spec(v: &Variable) -> FieldSpec {
    let kind = match &v.var_type {
        VarType::String => FieldKind::String,
        VarType::Number => FieldKind::Number,
        VarType::Boolean => FieldKind::Boolean,
        VarType::Array => FieldKind::Array,
        VarType::Category(options) => {
            return FieldSpec::category(&v.name, options.clone(), &v.description)
        }
    };
    FieldSpec::new(&v.name, kind, &v.description)
}

/// The transcript as the extraction prompt shows it: `User:` and `Agent:` lines (a human
/// agent speaks for the business too).
pub fn model_transcript(record: &ConversationRecord) -> String {
    record
        .transcript
        .iter()
        .map(|l| {
            let who = if l.speaker == Speaker::User {
                "User"
            } else {
                "Agent"
            };
            format!("{who}: {}", l.text.trim())
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One of the org's stored schemas, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedSchema {
    pub id: String,
    pub name: String,
    pub schema: CitationSchema,
}

/// The org's schemas among `ids` (in that order, each once), parsed; plus a message for
/// each id that names none of the org's schemas or whose stored schema no longer parses.
/// What the end-of-conversation step calls with the conversation's `citation_schema_ids`.
pub async fn load_schemas(
    store: &Store,
    org_id: &str,
    ids: &[String],
) -> Result<(Vec<LoadedSchema>, Vec<String>), StoreError> {
    let rows = store.citation_schemas_by_ids(org_id, ids).await?;
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if seen.insert(id) && !rows.iter().any(|r| &r.id == id) {
            errors.push(format!("citation schema {id} not found"));
        }
    }
    let mut schemas = Vec::with_capacity(rows.len());
    for r in rows {
        match CitationSchema::parse(&r.schema) {
            Ok(schema) => schemas.push(LoadedSchema {
                id: r.id,
                name: r.name,
                schema,
            }),
            Err(e) => errors.push(format!("citation schema {} is not valid: {e}", r.id)),
        }
    }
    Ok((schemas, errors))
}

#[cfg(test)]
mod tests;
