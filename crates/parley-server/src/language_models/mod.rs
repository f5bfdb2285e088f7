//! Language models: where an agent turn asks an LLM for text.
//!
//! A model only answers one chat request and classifies failures; what to do about a failure
//! (retry inside the turn's budget, or send `language_model.fallback_reply`) is the caller's
//! decision, made from [`ModelError::is_retryable`]. The typed helpers the pathway engine uses
//! (reply, pick an option, extract variables, check a condition) are in [`tasks`] and work on
//! any [`LanguageModel`].
//!
//! Adapters: [`openai::OpenAiModel`] for any OpenAI-compatible `chat/completions` endpoint
//! (OpenAI, vLLM, llama.cpp server, Ollama). Config: `language_model.*` ([`config`]).

mod answers;
pub mod config;
pub mod openai;
pub mod tasks;

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use self::{
    config::LanguageModelConfig,
    tasks::{transcript, CallOptions, FieldKind, FieldSpec, LanguageModelExt},
};

/// Who said a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        Self::new(Role::System, content)
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }

    fn new(role: Role, content: impl Into<String>) -> Self {
        Self {
            role,
            content: content.into(),
        }
    }
}

/// One completion call. Unset knobs take the model's configured defaults
/// (`language_model.temperature`, `.max_tokens`, `.timeout_ms`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChatRequest {
    pub messages: Vec<ChatMessage>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    /// Ask for one JSON object (`response_format: {"type": "json_object"}`). OpenAI refuses
    /// this unless a message mentions JSON, so say it in the prompt.
    pub json: bool,
    /// How long this call may take, connection and reading included. The configured
    /// `timeout_ms` still caps it, so a caller passes what is left of its turn budget and
    /// never waits longer than either.
    pub timeout: Option<Duration>,
}

impl ChatRequest {
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        Self {
            messages,
            ..Self::default()
        }
    }

    pub fn json(mut self) -> Self {
        self.json = true;
        self
    }

    pub fn temperature(mut self, t: f32) -> Self {
        self.temperature = Some(t);
        self
    }

    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = Some(n);
        self
    }

    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(d);
        self
    }
}

/// A model's answer. `content` is never empty and never an error sentinel: adapters turn
/// those into [`ModelError::Malformed`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatReply {
    pub content: String,
    /// The model that answered, as the server names it.
    pub model: Option<String>,
    /// `stop`, `length` (cut off by `max_tokens`), …
    pub finish_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// No complete answer within the call's timeout. Retryable.
    #[error("the language model did not answer within {after_ms} ms")]
    Timeout { after_ms: u64 },
    /// Could not reach the server, or the connection broke. Retryable.
    #[error("could not reach the language model: {0}")]
    Connection(String),
    /// 429. Retryable, after `retry_after_ms` when the server said.
    #[error("the language model is rate limiting: {message}")]
    RateLimited {
        retry_after_ms: Option<u64>,
        message: String,
    },
    /// 5xx (and 408). Retryable.
    #[error("the language model server failed (HTTP {status}): {message}")]
    Unavailable { status: u16, message: String },
    /// 401/403: the key is missing, wrong or not allowed this model. Not retryable.
    #[error("the language model refused the credentials (HTTP {status}): {message}")]
    Auth { status: u16, message: String },
    /// Any other refusal (400 bad request, 404 unknown model, …). Not retryable.
    #[error("the language model rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// A success status with an unusable body: not JSON, no choices, empty content, an
    /// `<ERROR>` sentinel, or (for the typed helpers) not the shape asked for. Not retryable.
    #[error("the language model's reply is unusable: {0}")]
    Malformed(String),
}

impl ModelError {
    /// Whether the same request may succeed if tried again.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. }
                | Self::Connection(_)
                | Self::RateLimited { .. }
                | Self::Unavailable { .. }
        )
    }

    /// How long the server asked to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited {
                retry_after_ms: Some(ms),
                ..
            } => Some(Duration::from_millis(*ms)),
            _ => None,
        }
    }

    /// A stable code for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Timeout { .. } => "TIMEOUT",
            Self::Connection(_) => "CONNECTION",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::Unavailable { .. } => "UNAVAILABLE",
            Self::Auth { .. } => "AUTH",
            Self::Rejected { .. } => "REJECTED",
            Self::Malformed(_) => "MALFORMED",
        }
    }
}

#[async_trait]
pub trait LanguageModel: Send + Sync {
    async fn complete(&self, req: ChatRequest) -> Result<ChatReply, ModelError>;
}

/// The model `language_model.*` describes, or `None` when no `base_url` is set.
pub fn from_config(cfg: &LanguageModelConfig) -> anyhow::Result<Option<Arc<dyn LanguageModel>>> {
    if cfg.base_url().is_none() {
        return Ok(None);
    }
    Ok(Some(Arc::new(openai::OpenAiModel::new(cfg)?)))
}

/// Whether a reply is an error marker some servers and proxies put where text belongs
/// (`<ERROR>`, `[error: overloaded]`) rather than text meant for a user.
pub fn is_error_sentinel(content: &str) -> bool {
    let s = content.trim();
    if s.eq_ignore_ascii_case("error") {
        return true;
    }
    let inner = s
        .strip_prefix('<')
        .and_then(|r| r.strip_suffix('>'))
        .or_else(|| s.strip_prefix('[').and_then(|r| r.strip_suffix(']')));
    inner.is_some_and(|i| {
        i.trim_start()
            .get(..5)
            .is_some_and(|w| w.eq_ignore_ascii_case("error"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_sentinels_are_recognised_and_text_is_not() {
        for s in [
            "<ERROR>",
            " <error> ",
            "[ERROR]",
            "<ERROR: overloaded>",
            "[error 500]",
            "ERROR",
        ] {
            assert!(is_error_sentinel(s), "{s}");
        }
        for s in [
            "Error codes are listed on our site.",
            "<b>hi</b>",
            "ERRORS",
            "<>",
            "[]",
            "<ERR>",
        ] {
            assert!(!is_error_sentinel(s), "{s}");
        }
    }

    #[test]
    fn only_transient_failures_are_retryable() {
        let retryable = [
            ModelError::Timeout { after_ms: 1 },
            ModelError::Connection("refused".into()),
            ModelError::RateLimited {
                retry_after_ms: Some(2000),
                message: String::new(),
            },
            ModelError::Unavailable {
                status: 503,
                message: String::new(),
            },
        ];
        let final_ = [
            ModelError::Auth {
                status: 401,
                message: String::new(),
            },
            ModelError::Rejected {
                status: 400,
                message: String::new(),
            },
            ModelError::Malformed("empty".into()),
        ];
        assert!(retryable.iter().all(ModelError::is_retryable));
        assert!(!final_.iter().any(ModelError::is_retryable));
        assert_eq!(retryable[2].retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(retryable[0].retry_after(), None);
    }
}
