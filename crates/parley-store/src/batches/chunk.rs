//! One chunk of a batch, committed in one transaction with multi-row INSERTs: a million
//! rows cannot afford a transaction (or a statement) per row.

use std::collections::HashMap;

use sqlx::{Any, Transaction};

use crate::{
    conversations::{pair::touch_conversation, ConversationFields, ConversationRow},
    json_text,
    placeholders::Placeholders,
    Dialect, Result, Store,
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

/// Rows per INSERT statement: at most 23 parameters a row, well under SQLite's 32,766.
/// Every value is bound per row (see `placeholders`), shared ones included.
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
        let d = self.dialect;
        let conversation_ids = open_conversations(&mut tx, d, c).await?;
        insert_messages(&mut tx, d, c, &conversation_ids).await?;
        insert_skips(&mut tx, d, c).await?;
        tx.commit().await?;
        Ok(ChunkOutcome::Committed)
    }
}

/// Whether a statement of `rows` rows goes into the connection's prepared-statement cache.
/// Only full-size ones do: every other size is a different statement text, and a 500-row
/// statement compiles to over a megabyte, so caching each remainder size grew the writer by
/// 100+ MB over a million-row batch (sqlx keeps 100 per connection) and evicted the small
/// statements worth keeping.
fn cacheable(rows: usize) -> bool {
    rows == ROWS_PER_STATEMENT
}

/// Finds or creates each recipient's active conversation; returns them by user number.
async fn open_conversations(
    tx: &mut Transaction<'_, Any>,
    d: Dialect,
    c: &BatchChunk,
) -> Result<HashMap<String, String>> {
    let users: Vec<&str> = c
        .recipients
        .iter()
        .map(|r| r.user_number.as_str())
        .collect();
    let mut existing: Vec<ConversationRow> = Vec::new();
    for part in users.chunks(ROWS_PER_STATEMENT) {
        let mut p = Placeholders::new(d);
        let head = p.fill("org_id = ? AND agent_number = ? AND channel = ?");
        let sql = format!(
            "SELECT * FROM conversations WHERE {head} AND is_active = 1 AND user_number IN ({})",
            p.repeat("?", part.len())
        );
        let mut q = sqlx::query_as::<_, ConversationRow>(&sql)
            .persistent(cacheable(part.len()))
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
    let f = &c.fields;
    for part in fresh.chunks(ROWS_PER_STATEMENT) {
        let mut p = Placeholders::new(d);
        let sql = format!(
            "INSERT INTO conversations (id, org_id, user_number, agent_number, channel, is_active, created_at, \
             updated_at, last_message_at, message_count, request_data, metadata, variables, webhook, disposition_ids, \
             citation_schema_ids, persona_id, persona_version, persona_settings, pathway_id, pathway_version, \
             start_node_id, time_out, timeout_message, warning_time, warning_message, prompt) VALUES {}",
            p.repeat(
                "(?, ?, ?, ?, ?, 1, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                part.len()
            )
        );
        let mut q = sqlx::query(&sql).persistent(cacheable(part.len()));
        for r in part {
            let id = uuid::Uuid::now_v7().to_string();
            ids.insert(r.user_number.clone(), id.clone());
            q = q
                .bind(id)
                .bind(&c.org_id)
                .bind(&r.user_number)
                .bind(&c.agent_number)
                .bind(&c.channel)
                .bind(c.now)
                .bind(c.now)
                .bind(c.now)
                .bind(json_text(&r.request_data))
                .bind(json_text(&f.metadata))
                .bind(r.variables.to_string())
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
        }
        q.execute(&mut **tx).await?;
    }
    Ok(ids)
}

async fn insert_messages(
    tx: &mut Transaction<'_, Any>,
    d: Dialect,
    c: &BatchChunk,
    conversation_ids: &HashMap<String, String>,
) -> Result<()> {
    let content_variables = json_text(&c.content_variables);
    for part in c.recipients.chunks(ROWS_PER_STATEMENT) {
        let mut p = Placeholders::new(d);
        let sql = format!(
            "INSERT INTO messages (org_id, conversation_id, direction, sender, body, from_number, to_number, channel, \
             status, encoding, segments, workflow_id, priority, attempts, next_attempt_at, created_at, updated_at, \
             batch_id, content_sid, content_variables) VALUES {}",
            p.repeat(
                "(?, ?, 'outbound', 'AGENT', ?, ?, ?, ?, 'queued', ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?)",
                part.len()
            )
        );
        let mut q = sqlx::query(&sql).persistent(cacheable(part.len()));
        for r in part {
            let conversation = conversation_ids
                .get(&r.user_number)
                .map(String::as_str)
                .unwrap_or_default();
            q = q
                .bind(&c.org_id)
                .bind(conversation.to_owned())
                .bind(&r.body)
                .bind(&c.agent_number)
                .bind(&r.user_number)
                .bind(&c.channel)
                .bind(&r.encoding)
                .bind(r.segments)
                .bind(&c.workflow_id)
                .bind(c.priority)
                .bind(c.now)
                .bind(c.now)
                .bind(c.now)
                .bind(&c.batch_id)
                .bind(&c.content_sid)
                .bind(content_variables.clone());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn insert_skips(tx: &mut Transaction<'_, Any>, d: Dialect, c: &BatchChunk) -> Result<()> {
    for part in c.skips.chunks(ROWS_PER_STATEMENT) {
        let mut p = Placeholders::new(d);
        let sql = format!(
            "INSERT INTO batch_errors (batch_id, row_number, phone_number, reason) VALUES {}",
            p.repeat("(?, ?, ?, ?)", part.len())
        );
        let mut q = sqlx::query(&sql).persistent(cacheable(part.len()));
        for s in part {
            q = q
                .bind(&c.batch_id)
                .bind(s.row)
                .bind(&s.phone_number)
                .bind(&s.reason);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
