//! The OpenAI-compatible adapter: one `POST {base_url}/chat/completions` per call.
//!
//! Only the part of the API that OpenAI, vLLM, llama.cpp server and Ollama all serve is
//! used: `model`, `messages`, `temperature`, `max_tokens`, `stream: false` and, in JSON
//! mode, `response_format: {"type": "json_object"}`. The reply is `choices[0].message.content`;
//! anything else (no choices, null or blank content, an `<ERROR>` sentinel) is
//! [`ModelError::Malformed`], so error text never reaches a user as if the model had said it.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::{ACCEPT, AUTHORIZATION, RETRY_AFTER};
use serde::{Deserialize, Serialize};

use super::{
    is_error_sentinel, ChatMessage, ChatReply, ChatRequest, LanguageModel, LanguageModelConfig,
    ModelError,
};
use crate::config::Secret;

/// Longest excerpt of an error body kept in a [`ModelError`].
const ERROR_EXCERPT_CHARS: usize = 300;

/// An OpenAI-compatible chat-completions endpoint. `Debug` shows the key as `***`.
#[derive(Debug)]
pub struct OpenAiModel {
    url: String,
    key: Option<Secret>,
    model: String,
    temperature: f32,
    max_tokens: u32,
    timeout: Duration,
    http: reqwest::Client,
}

impl OpenAiModel {
    /// Builds the client for `cfg`, which must have a `base_url`.
    pub fn new(cfg: &LanguageModelConfig) -> anyhow::Result<Self> {
        let base = cfg
            .base_url()
            .ok_or_else(|| anyhow::anyhow!("language_model.base_url is not set"))?;
        let http = reqwest::Client::builder()
            // A redirect could carry the key to another host; a correct base URL needs none.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("parley/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            url: format!("{base}/chat/completions"),
            key: cfg.key().map(Secret::new),
            model: cfg.model.trim().to_owned(),
            temperature: cfg.temperature,
            max_tokens: cfg.max_tokens,
            timeout: cfg.timeout(),
            http,
        })
    }

    async fn call(&self, body: &Body<'_>, timeout: Duration) -> Result<ChatReply, ModelError> {
        let transport = |e: reqwest::Error| self.transport(&e, timeout);
        let mut req = self
            .http
            .post(&self.url)
            .timeout(timeout)
            .header(ACCEPT, "application/json")
            .json(body);
        if let Some(key) = &self.key {
            req = req.header(AUTHORIZATION, format!("Bearer {}", key.expose()));
        }
        let res = req.send().await.map_err(transport)?;
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let text = res.text().await.map_err(transport)?;
        if (200..300).contains(&status) {
            return parse_reply(&text);
        }
        let message = self.redact(&error_message(&text));
        Err(match status {
            429 => ModelError::RateLimited {
                retry_after_ms: retry_after,
                message,
            },
            408 | 500..=599 => ModelError::Unavailable { status, message },
            401 | 403 => ModelError::Auth { status, message },
            _ => ModelError::Rejected { status, message },
        })
    }

    fn transport(&self, e: &reqwest::Error, timeout: Duration) -> ModelError {
        if e.is_timeout() {
            return ModelError::Timeout {
                after_ms: millis(timeout),
            };
        }
        // reqwest's text names the URL, never the headers; redact anyway in case a base URL
        // was given with the key in it.
        ModelError::Connection(self.redact(&error_chain(e)))
    }

    /// Removes the key from text a server sent back (some echo the credentials they refuse).
    fn redact(&self, text: &str) -> String {
        match &self.key {
            Some(k) if !k.expose().is_empty() => text.replace(k.expose(), "***"),
            _ => text.to_owned(),
        }
    }
}

#[async_trait]
impl LanguageModel for OpenAiModel {
    #[tracing::instrument(skip_all, fields(llm.model = %self.model, llm.json = req.json))]
    async fn complete(&self, req: ChatRequest) -> Result<ChatReply, ModelError> {
        let timeout = req.timeout.map_or(self.timeout, |t| t.min(self.timeout));
        let body = Body {
            model: &self.model,
            messages: &req.messages,
            temperature: req.temperature.unwrap_or(self.temperature),
            max_tokens: req.max_tokens.unwrap_or(self.max_tokens),
            stream: false,
            response_format: req.json.then_some(ResponseFormat {
                kind: "json_object",
            }),
        };
        let started = Instant::now();
        // One deadline over connecting, sending and reading the whole body (reqwest's own
        // request timeout is the same, so whichever fires first says the same thing).
        let outcome = match tokio::time::timeout(timeout, self.call(&body, timeout)).await {
            Ok(outcome) => outcome,
            Err(_) => Err(ModelError::Timeout {
                after_ms: millis(timeout),
            }),
        };
        let duration_ms = millis(started.elapsed());
        let result = outcome.as_ref().map_or_else(ModelError::code, |_| "OK");
        metrics::counter!("parley_llm_calls_total", "result" => result).increment(1);
        tracing::debug!(
            duration_ms,
            llm.result = result,
            "language model call finished"
        );
        outcome
    }
}

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    temperature: f32,
    max_tokens: u32,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<ResponseFormat>,
}

#[derive(Serialize)]
struct ResponseFormat {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    model: Option<String>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

/// `choices[0].message.content` of a success body, or why there is none.
fn parse_reply(text: &str) -> Result<ChatReply, ModelError> {
    let c: Completion = serde_json::from_str(text)
        .map_err(|e| ModelError::Malformed(format!("not a chat completion: {e}")))?;
    let choice = c
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| ModelError::Malformed(format!("no choices: {}", excerpt(text))))?;
    let message = choice
        .message
        .ok_or_else(|| ModelError::Malformed("the first choice has no message".into()))?;
    if message.refusal.as_deref().is_some_and(|r| !r.is_empty()) {
        return Err(ModelError::Malformed("the model refused to answer".into()));
    }
    let content = message.content.unwrap_or_default();
    if content.trim().is_empty() {
        return Err(ModelError::Malformed("empty content".into()));
    }
    if is_error_sentinel(&content) {
        return Err(ModelError::Malformed(format!(
            "an error marker instead of text: {}",
            excerpt(&content)
        )));
    }
    Ok(ChatReply {
        content,
        model: c.model,
        finish_reason: choice.finish_reason,
    })
}

/// The `error.message` of an OpenAI-style error body (also `error` as a string, which
/// llama.cpp and Ollama send), else an excerpt of the body.
fn error_message(text: &str) -> String {
    let v: Option<serde_json::Value> = serde_json::from_str(text).ok();
    let found = v.as_ref().and_then(|v| {
        let e = v.get("error")?;
        e.get("message")
            .and_then(|m| m.as_str())
            .or_else(|| e.as_str())
            .map(str::to_owned)
    });
    excerpt(&found.unwrap_or_else(|| text.to_owned()))
}

fn excerpt(text: &str) -> String {
    let t = text.trim();
    if t.chars().count() <= ERROR_EXCERPT_CHARS {
        return t.to_owned();
    }
    let cut: String = t.chars().take(ERROR_EXCERPT_CHARS).collect();
    format!("{cut}…")
}

/// `Retry-After` in seconds or as an HTTP date, in ms from now.
fn parse_retry_after(v: &str) -> Option<u64> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(secs.saturating_mul(1000));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    let wait = at
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    Some(millis(wait))
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_the_first_choice_s_content() {
        let r = parse_reply(
            r#"{"model":"m1","choices":[{"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop"},{"message":{"content":"other"}}]}"#,
        )
        .unwrap();
        assert_eq!(r.content, "Hi");
        assert_eq!(r.model.as_deref(), Some("m1"));
        assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    }

    #[test]
    fn unusable_success_bodies_are_malformed() {
        for body in [
            "not json",
            "{}",
            r#"{"choices":[]}"#,
            r#"{"choices":[{}]}"#,
            r#"{"choices":[{"message":{"content":null}}]}"#,
            r#"{"choices":[{"message":{"content":"  \n"}}]}"#,
            r#"{"choices":[{"message":{"content":"<ERROR>"}}]}"#,
            r#"{"choices":[{"message":{"content":null,"refusal":"I can't help with that"}}]}"#,
        ] {
            assert!(
                matches!(parse_reply(body), Err(ModelError::Malformed(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            error_message(
                r#"{"error":{"message":"Invalid model","type":"invalid_request_error"}}"#
            ),
            "Invalid model"
        );
        assert_eq!(
            error_message(r#"{"error":"model 'x' not found"}"#),
            "model 'x' not found"
        );
        assert_eq!(error_message(" Bad Gateway "), "Bad Gateway");
        assert_eq!(
            error_message(&"x".repeat(1000)).chars().count(),
            ERROR_EXCERPT_CHARS + 1
        );
    }

    #[test]
    fn retry_after_is_read_in_seconds_or_as_a_date() {
        assert_eq!(parse_retry_after("7"), Some(7000));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(0),
            "a past date means now"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }
}
