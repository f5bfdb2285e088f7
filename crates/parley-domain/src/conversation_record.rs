//! A finished (or running) conversation as the post-conversation steps read it: summary,
//! citation extraction and outcomes all take a [`ConversationRecord`] and nothing else, so
//! they stay pure and testable without a store.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Who wrote a transcript line, as stored on messages (`USER`, `AGENT`, `HUMAN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Speaker {
    User,
    Agent,
    Human,
}

impl Speaker {
    /// Reads a stored `sender`; anything unknown is treated as the agent's side.
    pub fn parse(sender: &str) -> Self {
        match sender.to_ascii_uppercase().as_str() {
            "USER" => Self::User,
            "HUMAN" => Self::Human,
            _ => Self::Agent,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "USER",
            Self::Agent => "AGENT",
            Self::Human => "HUMAN",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptLine {
    /// The message's id, so a citation can point at its source.
    pub message_id: i64,
    pub speaker: Speaker,
    pub text: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationRecord {
    pub conversation_id: String,
    /// Visible messages in order (deleted ones left out).
    pub transcript: Vec<TranscriptLine>,
    /// Pathway variables and `request_data` as stored on the conversation.
    pub variables: Map<String, Value>,
    /// The send's `metadata`, as given.
    pub metadata: Value,
    /// Names of the tagged nodes the conversation visited, in order.
    pub pathway_tags: Vec<String>,
    /// Why it ended (`ended`, `timeout`, `blacklisted`, `inactive`), `None` while active.
    pub ended_reason: Option<String>,
    /// Filled by the summary step when `summary_prompt` is set.
    pub summary: Option<String>,
    /// Filled by citation extraction, read by outcomes.
    pub citations: Map<String, Value>,
}

impl ConversationRecord {
    /// The transcript as one string, one `speaker: text` line per message, as the status
    /// webhook's `concatenated_transcript` carries it.
    pub fn concatenated_transcript(&self) -> String {
        self.transcript
            .iter()
            .map(|l| format!("{}: {}", l.speaker.as_str().to_lowercase(), l.text))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The user's messages only, in order.
    pub fn user_lines(&self) -> impl Iterator<Item = &TranscriptLine> {
        self.transcript
            .iter()
            .filter(|l| l.speaker == Speaker::User)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_lines_are_lowercase_speaker_and_text() {
        let r = ConversationRecord {
            transcript: vec![
                TranscriptLine {
                    message_id: 1,
                    speaker: Speaker::Agent,
                    text: "Hi Ann".into(),
                    created_at_ms: 0,
                },
                TranscriptLine {
                    message_id: 2,
                    speaker: Speaker::parse("USER"),
                    text: "yes".into(),
                    created_at_ms: 1,
                },
            ],
            ..Default::default()
        };
        assert_eq!(r.concatenated_transcript(), "agent: Hi Ann\nuser: yes");
        assert_eq!(r.user_lines().count(), 1);
    }
}
