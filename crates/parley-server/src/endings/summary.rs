//! The summary step: the number's `summary_prompt` applied to the transcript by the model.

use parley_domain::conversation_record::ConversationRecord;

use crate::language_models::{
    CallOptions, ChatMessage, LanguageModel, LanguageModelExt, ModelError,
};

#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    /// `summary_prompt` is set but the server has no `[language_model]`: it can never
    /// succeed here, so it is not retried.
    #[error("summary_prompt is set but no language model is configured")]
    NoModel,
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl SummaryError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Model(e) if e.is_retryable())
    }
}

/// The summary of `record` by `prompt`. The transcript goes in as one user message, so the
/// model summarises it instead of continuing the conversation.
pub async fn summarize(
    model: Option<&dyn LanguageModel>,
    prompt: &str,
    record: &ConversationRecord,
) -> Result<String, SummaryError> {
    let model = model.ok_or(SummaryError::NoModel)?;
    let history = [ChatMessage::user(format!(
        "Transcript of the conversation:\n{}",
        record.concatenated_transcript()
    ))];
    Ok(model
        .generate(
            prompt,
            &history,
            "Write the summary the instructions above ask for. Reply with the summary only.",
            &CallOptions {
                temperature: Some(0.0),
                ..CallOptions::default()
            },
        )
        .await?)
}
