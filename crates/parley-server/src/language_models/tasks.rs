//! Typed questions on top of [`LanguageModel::complete`], the ones a pathway turn asks: write
//! the next reply, pick one of several options (an edge), extract typed variables, and check
//! a condition.
//!
//! Each helper makes exactly one call, bounded by [`CallOptions::timeout`] (and the model's
//! `timeout_ms`), and reads the answer defensively: models pad, quote, explain and wrap in
//! Markdown, and local reasoning models prefix a `<think>…</think>` trace, which is removed
//! everywhere so it can never reach a user. Classification helpers (`choose`, `extract`,
//! `check_condition`) default to temperature 0.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value};

use super::{
    answers::{parse_choice, parse_object, parse_yes, strip_reasoning, validate_fields},
    is_error_sentinel, ChatMessage, ChatRequest, LanguageModel, ModelError, Role,
};

/// Per-call knobs; unset ones take the model's configured defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CallOptions {
    /// What this call may take (for a turn: what is left of `turn_budget_ms`).
    pub timeout: Option<Duration>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
}

impl CallOptions {
    /// Options whose timeout is what is left until `deadline` (zero once it has passed, so
    /// the call fails at once with a timeout): how a turn spends `turn_budget_ms` over
    /// several calls.
    pub fn before(deadline: std::time::Instant) -> Self {
        Self {
            timeout: Some(deadline.saturating_duration_since(std::time::Instant::now())),
            ..Self::default()
        }
    }
}

/// The type an extracted variable must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    String,
    Integer,
    Boolean,
    /// Any JSON number (citation schemas); integral values come back as integers.
    Number,
    /// A list of strings (citation schemas).
    Array,
    /// One of [`FieldSpec::options`] (citation schemas), returned as declared.
    Category,
}

impl FieldKind {
    /// `string`, `integer`, `boolean` (as pathway variables declare them), `number`,
    /// `array` or `category` (as citation schemas do), any case.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "string" => Some(Self::String),
            "integer" => Some(Self::Integer),
            "boolean" => Some(Self::Boolean),
            "number" => Some(Self::Number),
            "array" => Some(Self::Array),
            "category" => Some(Self::Category),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
            Self::Number => "number",
            Self::Array => "array of strings",
            Self::Category => "category",
        }
    }
}

/// One variable to extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: String,
    pub kind: FieldKind,
    pub description: String,
    /// The allowed values of a [`FieldKind::Category`] field (empty for other kinds; a
    /// category without options accepts nothing).
    pub options: Vec<String>,
}

impl FieldSpec {
    pub fn new(name: impl Into<String>, kind: FieldKind, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind,
            description: description.into(),
            options: Vec::new(),
        }
    }

    /// A [`FieldKind::Category`] field: one of `options`.
    pub fn category(
        name: impl Into<String>,
        options: Vec<String>,
        description: impl Into<String>,
    ) -> Self {
        Self {
            options,
            ..Self::new(name, FieldKind::Category, description)
        }
    }

    /// How the prompt names the type: `integer`, `one of "S", "M"`, ...
    fn type_label(&self) -> String {
        match self.kind {
            FieldKind::Category => {
                let listed: Vec<String> = self
                    .options
                    .iter()
                    .map(|o| Value::String(o.clone()).to_string())
                    .collect();
                format!("one of {}", listed.join(", "))
            }
            k => k.name().to_owned(),
        }
    }
}

#[async_trait]
pub trait LanguageModelExt: LanguageModel {
    /// The next message to send: `system` and `instruction` (what this turn should achieve)
    /// as the system prompt, then `history`. Trimmed, never empty.
    async fn generate(
        &self,
        system: &str,
        history: &[ChatMessage],
        instruction: &str,
        opts: &CallOptions,
    ) -> Result<String, ModelError> {
        let prompt = [system.trim(), instruction.trim()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n\n");
        let mut messages = Vec::with_capacity(history.len() + 1);
        if !prompt.is_empty() {
            messages.push(ChatMessage::system(prompt));
        }
        messages.extend_from_slice(history);
        let reply = self.complete(request(messages, opts, None)).await?;
        let text = strip_reasoning(&reply.content).trim().to_owned();
        if text.is_empty() {
            return Err(ModelError::Malformed(
                "only a reasoning trace, no reply".into(),
            ));
        }
        if is_error_sentinel(&text) {
            return Err(ModelError::Malformed(
                "an error marker after the reasoning trace".into(),
            ));
        }
        Ok(text)
    }

    /// Which of `options` best answers `question`: its index, or `None` when the model says
    /// none fits or answers something that names no single option. No options: no call.
    async fn choose(
        &self,
        question: &str,
        options: &[String],
        opts: &CallOptions,
    ) -> Result<Option<usize>, ModelError> {
        if options.is_empty() {
            return Ok(None);
        }
        let listed: String = options
            .iter()
            .enumerate()
            .map(|(i, o)| format!("{}. {}\n", i + 1, o.trim()))
            .collect();
        let messages = vec![
            ChatMessage::system(
                "You pick the option that best answers the question. Reply with the number of \
                 that option and nothing else. Reply 0 if no option fits.",
            ),
            ChatMessage::user(format!(
                "{}\n\nOptions:\n{listed}0. None of these",
                question.trim()
            )),
        ];
        let reply = self.complete(request(messages, opts, Some(0.0))).await?;
        Ok(parse_choice(&reply.content, options))
    }

    /// The declared `fields` the conversation states, each of its declared type (JSON mode).
    /// Values of another type, nulls and undeclared keys are dropped; an integer given as a
    /// numeric string, and a boolean as `"true"`/`"false"`, are accepted. No fields: no call.
    ///
    /// A number may also come as a numeric string; an array keeps its string items (numbers
    /// and booleans as text; a lone string is a one-item list); a category must name one of
    /// its options (any case) and comes back spelled as declared.
    async fn extract(
        &self,
        fields: &[FieldSpec],
        transcript: &str,
        opts: &CallOptions,
    ) -> Result<Map<String, Value>, ModelError> {
        self.extract_toward("", fields, transcript, opts).await
    }

    /// [`LanguageModelExt::extract`] with the purpose of the extraction (`goal`, blank for
    /// none) told to the model, as Bland's legacy `/v1/sms/analyze` takes one.
    async fn extract_toward(
        &self,
        goal: &str,
        fields: &[FieldSpec],
        transcript: &str,
        opts: &CallOptions,
    ) -> Result<Map<String, Value>, ModelError> {
        if fields.is_empty() {
            return Ok(Map::new());
        }
        let listed: String = fields
            .iter()
            .map(|f| {
                format!(
                    "- {} ({}): {}\n",
                    f.name,
                    f.type_label(),
                    f.description.trim()
                )
            })
            .collect();
        let goal = match goal.trim() {
            "" => String::new(),
            g => format!("\n\nThe purpose of this extraction: {g}"),
        };
        let messages = vec![
            ChatMessage::system(format!(
                "You extract information from a conversation. Reply with one JSON object and \
                 nothing else. Its keys are the field names below; give each the value the \
                 conversation states, as the type shown, or null when the conversation does \
                 not say.{goal}\n\nFields:\n{listed}"
            )),
            ChatMessage::user(format!("Conversation:\n{}", transcript.trim())),
        ];
        let reply = self
            .complete(request(messages, opts, Some(0.0)).json())
            .await?;
        let object = parse_object(&reply.content)?;
        Ok(validate_fields(fields, object))
    }

    /// Whether `condition` holds for the conversation: true only on a clear yes; a no, and
    /// an answer that is neither, is false.
    async fn check_condition(
        &self,
        condition: &str,
        transcript: &str,
        opts: &CallOptions,
    ) -> Result<bool, ModelError> {
        let messages = vec![
            ChatMessage::system(
                "You judge whether a condition holds for a conversation. Reply YES or NO and \
                 nothing else.",
            ),
            ChatMessage::user(format!(
                "Condition: {}\n\nConversation:\n{}",
                condition.trim(),
                transcript.trim()
            )),
        ];
        let reply = self.complete(request(messages, opts, Some(0.0))).await?;
        Ok(parse_yes(&reply.content))
    }
}

impl<M: LanguageModel + ?Sized> LanguageModelExt for M {}

/// A conversation as text for [`LanguageModelExt::extract`] and
/// [`LanguageModelExt::check_condition`]: one `User:` / `Agent:` line per message, system
/// messages left out.
pub fn transcript(messages: &[ChatMessage]) -> String {
    messages
        .iter()
        .filter_map(|m| match m.role {
            Role::User => Some(format!("User: {}", m.content.trim())),
            Role::Assistant => Some(format!("Agent: {}", m.content.trim())),
            Role::System => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn request(
    messages: Vec<ChatMessage>,
    opts: &CallOptions,
    temperature: Option<f32>,
) -> ChatRequest {
    ChatRequest {
        messages,
        temperature: opts.temperature.or(temperature),
        max_tokens: opts.max_tokens,
        json: false,
        timeout: opts.timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_becomes_what_is_left_of_it() {
        let now = std::time::Instant::now();
        let past = CallOptions::before(now.checked_sub(Duration::from_secs(1)).unwrap_or(now));
        let ahead = CallOptions::before(now + Duration::from_secs(60));
        assert_eq!(past.timeout, Some(Duration::ZERO));
        let left = ahead.timeout.unwrap();
        assert!(
            left <= Duration::from_secs(60) && left > Duration::from_secs(50),
            "{left:?}"
        );
    }

    #[test]
    fn transcripts_name_the_speakers_and_skip_system_prompts() {
        let t = transcript(&[
            ChatMessage::system("be nice"),
            ChatMessage::assistant("Hi! "),
            ChatMessage::user(" Book me in"),
        ]);
        assert_eq!(t, "Agent: Hi!\nUser: Book me in");
    }

    #[test]
    fn field_kinds_parse_as_declared() {
        assert_eq!(FieldKind::parse("Integer"), Some(FieldKind::Integer));
        assert_eq!(FieldKind::parse("boolean"), Some(FieldKind::Boolean));
        assert_eq!(FieldKind::parse("string"), Some(FieldKind::String));
        assert_eq!(FieldKind::parse("Number"), Some(FieldKind::Number));
        assert_eq!(FieldKind::parse("array"), Some(FieldKind::Array));
        assert_eq!(FieldKind::parse("category"), Some(FieldKind::Category));
        assert_eq!(FieldKind::parse("float"), None);
    }

    #[test]
    fn categories_list_their_options_in_the_prompt() {
        let f = FieldSpec::category("size", vec!["S".into(), "M \"medium\"".into()], "");
        assert_eq!(f.type_label(), r#"one of "S", "M \"medium\"""#);
        assert_eq!(
            FieldSpec::new("n", FieldKind::Array, "").type_label(),
            "array of strings"
        );
    }
}
