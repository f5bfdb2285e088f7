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

use super::{ChatMessage, ChatRequest, LanguageModel, ModelError, Role};

/// Per-call knobs; unset ones take the model's configured defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CallOptions {
    /// What this call may take (for a turn: what is left of `turn_budget_ms`).
    pub timeout: Option<Duration>,
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
}

/// The type an extracted variable must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    String,
    Integer,
    Boolean,
}

impl FieldKind {
    /// `string`, `integer` or `boolean` (any case), as pathway variables declare them.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "string" => Some(Self::String),
            "integer" => Some(Self::Integer),
            "boolean" => Some(Self::Boolean),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Boolean => "boolean",
        }
    }
}

/// One variable to extract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    pub name: String,
    pub kind: FieldKind,
    pub description: String,
}

impl FieldSpec {
    pub fn new(name: impl Into<String>, kind: FieldKind, description: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind,
            description: description.into(),
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
    async fn extract(
        &self,
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
                    f.kind.name(),
                    f.description.trim()
                )
            })
            .collect();
        let messages = vec![
            ChatMessage::system(format!(
                "You extract information from a conversation. Reply with one JSON object and \
                 nothing else. Its keys are the field names below; give each the value the \
                 conversation states, as the type shown, or null when the conversation does \
                 not say.\n\nFields:\n{listed}"
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

/// The text after a leading `<think>…</think>` trace (an unclosed trace leaves nothing).
fn strip_reasoning(text: &str) -> &str {
    let t = text.trim_start();
    match t.strip_prefix("<think>") {
        Some(rest) => rest.find("</think>").map_or("", |i| &rest[i + 8..]),
        None => t,
    }
}

/// Lowercase, single-spaced, without Markdown, quotes and punctuation around it.
fn normalise(s: &str) -> String {
    let words: Vec<&str> = s.split_whitespace().collect();
    words
        .join(" ")
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase()
}

/// Reads a `choose` answer: a label, a number (first, or the only one), or none.
fn parse_choice(reply: &str, options: &[String]) -> Option<usize> {
    let answer = normalise(strip_reasoning(reply));
    if let Some(i) = options.iter().position(|o| normalise(o) == answer) {
        return Some(i);
    }
    let body = ["option", "answer:", "answer", "#"]
        .iter()
        .find_map(|p| answer.strip_prefix(p))
        .unwrap_or(&answer)
        .trim_start_matches(|c: char| !c.is_alphanumeric());
    let leading: String = body.chars().take_while(char::is_ascii_digit).collect();
    let number = if leading.is_empty() {
        let mut numbers = answer
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| !n.is_empty());
        let first = numbers.next()?;
        // Several different numbers name no single option.
        numbers.all(|n| n == first).then_some(first)?.to_owned()
    } else {
        leading
    };
    let n: usize = number.parse().ok()?;
    (1..=options.len()).contains(&n).then(|| n - 1)
}

/// The JSON object in a reply, tolerating a code fence or words around it.
fn parse_object(reply: &str) -> Result<Map<String, Value>, ModelError> {
    let text = strip_reasoning(reply);
    let (Some(start), Some(end)) = (text.find('{'), text.rfind('}')) else {
        return Err(ModelError::Malformed("no JSON object in the reply".into()));
    };
    if end < start {
        return Err(ModelError::Malformed("no JSON object in the reply".into()));
    }
    match serde_json::from_str(&text[start..=end]) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) | Err(_) => Err(ModelError::Malformed(
            "the reply is not one JSON object".into(),
        )),
    }
}

/// Keeps the declared fields whose values have (or plainly mean) the declared type.
fn validate_fields(fields: &[FieldSpec], mut object: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for f in fields {
        let Some(value) = object.remove(&f.name) else {
            continue;
        };
        let typed = match (f.kind, value) {
            (FieldKind::String, Value::String(s)) if !s.trim().is_empty() => {
                Some(Value::String(s.trim().to_owned()))
            }
            (FieldKind::Integer, Value::Number(n)) => n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|x| x.fract() == 0.0 && x.abs() < 9.0e15)
                        .map(|x| x as i64)
                })
                .map(Value::from),
            (FieldKind::Integer, Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
            (FieldKind::Boolean, Value::Bool(b)) => Some(Value::Bool(b)),
            (FieldKind::Boolean, Value::String(s)) => {
                match s.trim().to_ascii_lowercase().as_str() {
                    "true" => Some(Value::Bool(true)),
                    "false" => Some(Value::Bool(false)),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(v) = typed {
            out.insert(f.name.clone(), v);
        }
    }
    out
}

/// Whether a `check_condition` answer is a clear yes (its first word).
fn parse_yes(reply: &str) -> bool {
    let answer = normalise(strip_reasoning(reply));
    let first = answer
        .split(|c: char| !c.is_alphanumeric())
        .find(|w| !w.is_empty())
        .unwrap_or("");
    matches!(first, "yes" | "true")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn options() -> Vec<String> {
        ["Book a table", "Cancel a booking", "Talk to a human"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn choices_are_read_from_numbers_and_labels() {
        let o = options();
        for (reply, want) in [
            ("2", Some(1)),
            (" 3.\n", Some(2)),
            ("**1**", Some(0)),
            ("Option 2", Some(1)),
            ("Answer: 3", Some(2)),
            ("#1", Some(0)),
            ("2) Cancel a booking", Some(1)),
            ("The best option is 3.", Some(2)),
            ("\"Cancel a booking\"", Some(1)),
            ("talk to a HUMAN.", Some(2)),
            ("<think>1 or 2? The user wants to cancel.</think>2", Some(1)),
            ("0", None),
            ("None of these.", None),
            ("4", None),
            ("99999999999999999999999", None),
            ("banana", None),
            ("", None),
            ("Either 1 or 2", None),
        ] {
            assert_eq!(parse_choice(reply, &o), want, "{reply:?}");
        }
    }

    #[test]
    fn extraction_keeps_declared_fields_of_the_declared_type() {
        let fields = [
            FieldSpec::new("name", FieldKind::String, ""),
            FieldSpec::new("age", FieldKind::Integer, ""),
            FieldSpec::new("guests", FieldKind::Integer, ""),
            FieldSpec::new("vip", FieldKind::Boolean, ""),
            FieldSpec::new("smoker", FieldKind::Boolean, ""),
            FieldSpec::new("city", FieldKind::String, ""),
            FieldSpec::new("zip", FieldKind::String, ""),
            FieldSpec::new("rooms", FieldKind::Integer, ""),
        ];
        let reply = json!({
            "name": "  Ada ", "age": "42", "guests": 3.0, "vip": "TRUE", "smoker": "no",
            "city": null, "zip": 94107, "rooms": 2.5, "extra": "dropped"
        });
        let got = validate_fields(&fields, reply.as_object().unwrap().clone());
        assert_eq!(
            Value::Object(got),
            json!({"name": "Ada", "age": 42, "guests": 3, "vip": true})
        );
    }

    #[test]
    fn json_objects_are_found_in_fenced_or_chatty_replies() {
        for reply in [
            r#"{"a":1}"#,
            "```json\n{\"a\":1}\n```",
            "Here you go: {\"a\": 1} Hope it helps",
        ] {
            assert_eq!(parse_object(reply).unwrap()["a"], json!(1), "{reply}");
        }
        for reply in ["[1,2]", "no json here", "} {", "{\"a\":}"] {
            assert!(
                matches!(parse_object(reply), Err(ModelError::Malformed(_))),
                "{reply}"
            );
        }
    }

    #[test]
    fn only_a_clear_yes_holds() {
        for r in [
            "YES",
            "yes.",
            "**Yes**, the user agreed",
            "true",
            "<think>hmm</think> Yes",
        ] {
            assert!(parse_yes(r), "{r}");
        }
        for r in [
            "NO",
            "No, yes would be wrong",
            "maybe",
            "",
            "yesterday",
            "<think>yes",
        ] {
            assert!(!parse_yes(r), "{r}");
        }
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
        assert_eq!(FieldKind::parse("float"), None);
    }
}
