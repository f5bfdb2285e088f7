//! The end-of-conversation pipeline (spec 7.6): summary, then citations, then outcomes, each
//! reading what the step before produced (outcomes can read citations and the summary). The
//! worker (`workers::endings`) stores the results and sends the one status webhook in a
//! single transaction; this module only computes them and says whether a failure is worth
//! another attempt.

mod summary;

use parley_store::{EndingInputs, EndingResults};

use crate::{app::AppState, citations, dispositions};

/// What the steps produced, and whether one of them failed in a way that may pass if the
/// whole ending is tried again later (a model timeout, a 5xx).
#[derive(Debug, Default)]
pub struct Computed {
    pub results: EndingResults,
    pub retryable_failure: bool,
}

/// Runs the configured steps over `inputs`, the conversation of `org_id`. `final_attempt`:
/// no retry will follow, so record failures as they are instead of asking for one.
pub async fn compute(
    state: &AppState,
    org_id: &str,
    inputs: &EndingInputs,
    final_attempt: bool,
) -> parley_store::Result<Computed> {
    let mut out = Computed::default();
    let mut record = inputs.record.clone();
    if let Some(prompt) = &inputs.summary_prompt {
        match summary::summarize(state.language_model.as_deref(), prompt, &record).await {
            Ok(s) => out.results.summary = Some(s),
            Err(e) => {
                out.retryable_failure |= e.is_retryable() && !final_attempt;
                tracing::warn!(conversation.id = %record.conversation_id, error = %e, "summary failed");
            }
        }
        record.summary = out.results.summary.clone();
    }
    if !inputs.citation_schema_ids.is_empty() {
        let (schemas, missing) =
            citations::load_schemas(&state.store, org_id, &inputs.citation_schema_ids).await?;
        for m in &missing {
            tracing::warn!(conversation.id = %record.conversation_id, problem = %m, "citation schema skipped");
        }
        let schemas: Vec<_> = schemas.into_iter().map(|l| l.schema).collect();
        let got = citations::extract(
            &schemas,
            &record,
            state.language_model.as_deref(),
            &citations::ExtractOptions::default(),
        )
        .await;
        for e in &got.errors {
            // MODEL_REQUIRED cannot pass here later; a failed call may.
            out.retryable_failure |= e.code == "MODEL_UNAVAILABLE" && !final_attempt;
            tracing::warn!(conversation.id = %record.conversation_id, code = e.code, error = %e, "citation extraction incomplete");
        }
        // Over what a backfill already stored; the outcomes read the merged values.
        record.citations.extend(got.variables);
        out.results.citation_variables = Some(record.citations.clone());
    }
    if !inputs.disposition_ids.is_empty() {
        let plan = state
            .store
            .current_disposition_versions(org_id, &inputs.disposition_ids)
            .await?;
        let run = dispositions::run(
            &plan,
            &record,
            state.language_model.as_deref(),
            &dispositions::RunOptions::default(),
        )
        .await;
        out.retryable_failure |= run.retryable_failure && !final_attempt;
        out.results.disposition_tag = dispositions::disposition_tag(&run.logs);
        out.results.disposition_logs = Some(
            run.logs
                .iter()
                .map(|l| serde_json::to_value(l).unwrap_or_default())
                .collect(),
        );
    }
    Ok(out)
}
