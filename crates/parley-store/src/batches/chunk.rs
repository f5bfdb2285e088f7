//! One chunk of a batch, committed in one transaction with multi-row INSERTs: a million
//! rows cannot afford a transaction (or a statement) per row.

use std::collections::HashMap;

use sqlx::{Any, Transaction};

use crate::{
    conversations::{pair::touch_conversation, ConversationFields, ConversationRow},
    json_text, Result, Store,
};

/// A row that becomes a message.
#[derive(Debug, Clone)]
pub struct BatchRecipient {
    pub row: i64,
    pub user_number: String,
    /// `global.request_data` with the row's own merged over it.
    pub request_data: Option<serde_json::Value>,
    /// The conversation's variables: the request data plus every column by name.
    pub variables: serde_json::Value,
    pub body: String,
    pub encoding: String,
    pub segments: i64,
}

/// A row that cannot be sent, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchSkip {
    pub row: i64,
    pub phone_number: String,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub struct BatchChunk {
    pub batch_id: String,
    pub org_id: String,
    pub agent_number: String,
    pub channel: String,
    pub workflow_id: String,
    pub owner: String,
    /// The cursor the rows were read from; the commit fails if the batch moved on.
    pub from_row: i64,
    pub next_row: i64,
    pub next_offset: i64,
    /// Whether the file ends with this chunk.
    pub last: bool,
    /// Settings every recipient's conversation gets (`request_data` is per recipient).
    pub fields: ConversationFields,
    pub new_conversation: bool,
    pub priority: i64,
    /// A WhatsApp template every message uses (`global.content_sid`).
    pub content_sid: Option<String>,
    pub content_variables: Option<serde_json::Value>,
    pub recipients: Vec<BatchRecipient>,
    pub skips: Vec<BatchSkip>,
    pub lease_ms: i64,
    pub now: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkOutcome {
    Committed,
    /// The batch was cancelled, or another worker holds it now: nothing was written.
    Stopped,
}

/// Rows per INSERT statement: well under SQLite's 32,766 parameters.
const ROWS_PER_STATEMENT: usize = 500;

impl Store {
    pub async fn commit_batch_chunk(&self, c: &BatchChunk) -> Result<ChunkOutcome> {
        let mut tx = self.writer.begin().await?;
        // First statement: checks the lease and the cursor, and on PostgreSQL locks the
        // batch row, so a concurrent cancel waits for this chunk or this chunk sees it.
        let moved = sqlx::query(
            "UPDATE batches SET next_row = $1, next_offset = $2, queued = queued + $3, skipped = skipped + $4, \
             lease_until = $5, updated_at = $6, \
             state = CASE WHEN $7 = 1 THEN 'completed' ELSE state END, \
             finished_at = CASE WHEN $7 = 1 THEN $6 ELSE finished_at END \
             WHERE id = $8 AND lease_owner = $9 AND next_row = $10 AND state = 'running'",
        )
        .bind(c.next_row)
        .bind(c.next_offset)
        .bind(c.recipients.len() as i64)
        .bind(c.skips.len() as i64)
        .bind(c.now + c.lease_ms)
        .bind(c.now)
        .bind(i64::from(c.last))
        .bind(&c.batch_id)
        .bind(&c.owner)
        .bind(c.from_row)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            tx.rollback().await?;
            return Ok(ChunkOutcome::Stopped);
        }
        let conversation_ids = open_conversations(&mut tx, c).await?;
        insert_messages(&mut tx, c, &conversation_ids).await?;
        insert_skips(&mut tx, c).await?;
        tx.commit().await?;
        Ok(ChunkOutcome::Committed)
    }
}

/// Finds or creates each recipient's active conversation; returns them by user number.
async fn open_conversations(
    tx: &mut Transaction<'_, Any>,
    c: &BatchChunk,
) -> Result<HashMap<String, String>> {
    let users: Vec<&str> = c
        .recipients
        .iter()
        .map(|r| r.user_number.as_str())
        .collect();
    let mut existing: Vec<ConversationRow> = Vec::new();
    for part in users.chunks(ROWS_PER_STATEMENT) {
        let params: Vec<String> = (0..part.len()).map(|i| format!("${}", i + 4)).collect();
        let sql = format!(
            "SELECT * FROM conversations WHERE org_id = $1 AND agent_number = $2 AND channel = $3 \
             AND is_active = 1 AND user_number IN ({})",
            params.join(", ")
        );
        let mut q = sqlx::query_as::<_, ConversationRow>(&sql)
            .bind(&c.org_id)
            .bind(&c.agent_number)
            .bind(&c.channel);
        for u in part {
            q = q.bind(*u);
        }
        existing.extend(q.fetch_all(&mut **tx).await?);
    }
    let mut ids = HashMap::with_capacity(c.recipients.len());
    if c.new_conversation {
        for conv in &existing {
            sqlx::query(
                "UPDATE conversations SET is_active = 0, ended_reason = 'archived', updated_at = $1 WHERE id = $2",
            )
            .bind(c.now)
            .bind(&conv.id)
            .execute(&mut **tx)
            .await?;
        }
    } else {
        // Rare in bulk (a recipient already talking to the number): one update each.
        let by_user: HashMap<&str, &BatchRecipient> = c
            .recipients
            .iter()
            .map(|r| (r.user_number.as_str(), r))
            .collect();
        for conv in existing {
            let Some(r) = by_user.get(conv.user_number.as_str()) else {
                continue;
            };
            let fields = ConversationFields {
                request_data: r.request_data.clone(),
                ..c.fields.clone()
            };
            touch_conversation(tx, &conv, &fields, c.now).await?;
            ids.insert(conv.user_number.clone(), conv.id.clone());
        }
    }
    let fresh: Vec<&BatchRecipient> = c
        .recipients
        .iter()
        .filter(|r| !ids.contains_key(&r.user_number))
        .collect();
    const SHARED: usize = 19;
    const PER_ROW: usize = 4;
    let f = &c.fields;
    for part in fresh.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::from(
            "INSERT INTO conversations (id, org_id, user_number, agent_number, channel, is_active, created_at, \
             updated_at, last_message_at, message_count, request_data, metadata, variables, webhook, disposition_ids, \
             citation_schema_ids, persona_id, persona_version, persona_settings, pathway_id, pathway_version, \
             start_node_id, time_out, timeout_message, warning_time, warning_message, prompt) VALUES ",
        );
        for i in 0..part.len() {
            let b = SHARED + i * PER_ROW;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "(${}, $1, ${}, $2, $3, 1, $4, $4, $4, 1, ${}, $5, ${}, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                 $15, $16, $17, $18, $19)",
                b + 1,
                b + 2,
                b + 3,
                b + 4
            ));
        }
        let mut q = sqlx::query(&sql)
            .bind(&c.org_id)
            .bind(&c.agent_number)
            .bind(&c.channel)
            .bind(c.now)
            .bind(json_text(&f.metadata))
            .bind(&f.webhook)
            .bind(json_text(&f.disposition_ids))
            .bind(json_text(&f.citation_schema_ids))
            .bind(&f.persona_id)
            .bind(&f.persona_version)
            .bind(json_text(&f.persona_settings))
            .bind(&f.pathway_id)
            .bind(&f.pathway_version)
            .bind(&f.start_node_id)
            .bind(f.timeouts.time_out)
            .bind(&f.timeouts.timeout_message)
            .bind(f.timeouts.warning_time)
            .bind(&f.timeouts.warning_message)
            .bind(&f.prompt);
        for r in part {
            let id = uuid::Uuid::now_v7().to_string();
            ids.insert(r.user_number.clone(), id.clone());
            q = q
                .bind(id)
                .bind(&r.user_number)
                .bind(json_text(&r.request_data))
                .bind(r.variables.to_string());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(ids)
}

async fn insert_messages(
    tx: &mut Transaction<'_, Any>,
    c: &BatchChunk,
    conversation_ids: &HashMap<String, String>,
) -> Result<()> {
    const SHARED: usize = 9;
    const PER_ROW: usize = 5;
    for part in c.recipients.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::from(
            "INSERT INTO messages (org_id, conversation_id, direction, sender, body, from_number, to_number, channel, \
             status, encoding, segments, workflow_id, priority, attempts, next_attempt_at, created_at, updated_at, \
             batch_id, content_sid, content_variables) VALUES ",
        );
        for i in 0..part.len() {
            let b = SHARED + i * PER_ROW;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!(
                "($1, ${}, 'outbound', 'AGENT', ${}, $2, ${}, $3, 'queued', ${}, ${}, $5, $6, 0, $4, $4, $4, $7, $8, $9)",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5
            ));
        }
        let mut q = sqlx::query(&sql)
            .bind(&c.org_id)
            .bind(&c.agent_number)
            .bind(&c.channel)
            .bind(c.now)
            .bind(&c.workflow_id)
            .bind(c.priority)
            .bind(&c.batch_id)
            .bind(&c.content_sid)
            .bind(json_text(&c.content_variables));
        for r in part {
            let conversation = conversation_ids
                .get(&r.user_number)
                .map(String::as_str)
                .unwrap_or_default();
            q = q
                .bind(conversation.to_owned())
                .bind(&r.body)
                .bind(&r.user_number)
                .bind(&r.encoding)
                .bind(r.segments);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn insert_skips(tx: &mut Transaction<'_, Any>, c: &BatchChunk) -> Result<()> {
    for part in c.skips.chunks(ROWS_PER_STATEMENT) {
        let mut sql = String::from(
            "INSERT INTO batch_errors (batch_id, row_number, phone_number, reason) VALUES ",
        );
        for i in 0..part.len() {
            let b = 1 + i * 3;
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("($1, ${}, ${}, ${})", b + 1, b + 2, b + 3));
        }
        let mut q = sqlx::query(&sql).bind(&c.batch_id);
        for s in part {
            q = q.bind(s.row).bind(&s.phone_number).bind(&s.reason);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
