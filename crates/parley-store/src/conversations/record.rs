//! Loading a conversation as the pure [`ConversationRecord`] the post-conversation steps
//! (summary, citations, outcomes, `/v1/sms/analyze`) read.

use parley_domain::conversation_record::{ConversationRecord, Speaker, TranscriptLine};
use serde_json::{Map, Value};
use sqlx::Row;

use super::ConversationRow;
use crate::{parse_json, Result, Store};

impl Store {
    /// One of the org's conversations with its visible transcript; `None` when it does not
    /// exist or belongs to another org.
    pub async fn conversation_record(
        &self,
        org_id: &str,
        conversation_id: &str,
    ) -> Result<Option<ConversationRecord>> {
        let Some(c) = sqlx::query_as::<_, ConversationRow>(
            "SELECT * FROM conversations WHERE org_id = $1 AND id = $2",
        )
        .bind(org_id)
        .bind(conversation_id)
        .fetch_optional(&self.reader)
        .await?
        else {
            return Ok(None);
        };
        Ok(Some(self.record_for(&c).await?))
    }

    /// `c` with its visible transcript, for a caller that already read the row.
    pub(crate) async fn record_for(&self, c: &ConversationRow) -> Result<ConversationRecord> {
        let rows = sqlx::query(
            "SELECT id, sender, body, created_at FROM messages WHERE conversation_id = $1 \
             AND deleted_at IS NULL ORDER BY id",
        )
        .bind(&c.id)
        .fetch_all(&self.reader)
        .await?;
        let transcript = rows
            .iter()
            .map(|r| {
                Ok(TranscriptLine {
                    message_id: r.try_get("id")?,
                    speaker: Speaker::parse(&r.try_get::<String, _>("sender")?),
                    text: r.try_get("body")?,
                    created_at_ms: r.try_get("created_at")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(record_of(c, transcript))
    }
}

/// `variables` is the conversation's `request_data` with its pathway variables over it,
/// the same view a pathway's `{{name}}` sees.
pub(crate) fn record_of(
    c: &ConversationRow,
    transcript: Vec<TranscriptLine>,
) -> ConversationRecord {
    let mut variables = object(c.json(&c.request_data));
    variables.extend(object(c.json(&c.variables)));
    let pathway_tags = parse_json(c.pathway_tags.clone())
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    ConversationRecord {
        conversation_id: c.id.clone(),
        transcript,
        variables,
        metadata: c.json(&c.metadata).unwrap_or(Value::Object(Map::new())),
        pathway_tags,
        ended_reason: c.ended_reason.clone(),
        summary: None,
        // What earlier extraction (a backfill) stored; the end-of-conversation step adds to it.
        citations: object(c.json(&c.citation_variables)),
    }
}

fn object(v: Option<Value>) -> Map<String, Value> {
    match v {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}
