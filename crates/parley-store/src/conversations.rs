//! Conversations and their messages: the send transaction, inbound storage, reads.

use parley_domain::timeouts::{TimeoutError, TimeoutSettings};
use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

use crate::{json_text, parse_json, Result, Store};

/// Conversation settings a send (or create) may carry. `None` keeps the stored value.
#[derive(Debug, Clone, Default)]
pub struct ConversationFields {
    pub request_data: Option<serde_json::Value>,
    pub metadata: Option<serde_json::Value>,
    pub webhook: Option<String>,
    pub disposition_ids: Option<serde_json::Value>,
    pub citation_schema_ids: Option<serde_json::Value>,
    pub persona_id: Option<String>,
    pub persona_version: Option<String>,
    pub persona_settings: Option<serde_json::Value>,
    pub pathway_id: Option<String>,
    pub pathway_version: Option<String>,
    pub start_node_id: Option<String>,
    pub prompt: Option<String>,
    pub timeouts: TimeoutSettings,
}

/// An outbound message to queue for dispatch.
#[derive(Debug, Clone)]
pub struct NewOutbound {
    pub body: String,
    pub sender: String,
    pub encoding: String,
    pub segments: i64,
    pub content_sid: Option<String>,
    pub content_variables: Option<serde_json::Value>,
    /// Higher goes first within a sender's queue (live traffic above batch rows).
    pub priority: i64,
}

#[derive(Debug, Clone)]
pub struct SendRequest {
    pub org_id: String,
    pub user_number: String,
    pub agent_number: String,
    pub channel: String,
    pub new_conversation: bool,
    pub fields: ConversationFields,
    /// The number's own timeout settings, the lowest layer of precedence.
    pub number_timeouts: TimeoutSettings,
    pub outbound: NewOutbound,
    /// `(key, hash of the request)` when the caller sent an `idempotency-key`.
    pub idempotency: Option<(String, String)>,
    pub now: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub conversation_id: String,
    pub message_id: i64,
    pub workflow_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    Accepted(Accepted),
    /// The idempotency key was seen with the same request: the first answer, nothing sent.
    Replayed(Accepted),
    /// The idempotency key was seen with a different request.
    KeyReused,
    /// The merged timeout settings break `warning_time < time_out`.
    InvalidTimeout(TimeoutError),
}

#[derive(Debug, Clone)]
pub struct InboundMessage {
    pub org_id: String,
    pub user_number: String,
    pub agent_number: String,
    pub channel: String,
    pub body: String,
    pub encoding: String,
    pub segments: i64,
    pub provider_sid: Option<String>,
    pub now: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConversationRow {
    pub id: String,
    pub org_id: String,
    pub user_number: String,
    pub agent_number: String,
    pub channel: String,
    pub is_active: i64,
    pub ended_reason: Option<String>,
    pub timed_out_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_message_at: Option<i64>,
    pub message_count: i64,
    pub request_data: Option<String>,
    pub metadata: Option<String>,
    pub variables: Option<String>,
    pub webhook: Option<String>,
    pub disposition_ids: Option<String>,
    pub citation_schema_ids: Option<String>,
    pub persona_id: Option<String>,
    pub persona_version: Option<String>,
    pub persona_settings: Option<String>,
    pub pathway_id: Option<String>,
    pub pathway_version: Option<String>,
    pub start_node_id: Option<String>,
    pub current_node_id: Option<String>,
    pub prompt: Option<String>,
    pub time_out: Option<i64>,
    pub timeout_message: Option<String>,
    pub warning_time: Option<i64>,
    pub warning_message: Option<String>,
}

impl ConversationRow {
    pub fn json(&self, column: &Option<String>) -> Option<serde_json::Value> {
        parse_json(column.clone())
    }

    pub fn timeouts(&self) -> TimeoutSettings {
        TimeoutSettings {
            time_out: self.time_out,
            timeout_message: self.timeout_message.clone(),
            warning_time: self.warning_time,
            warning_message: self.warning_message.clone(),
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub conversation_id: String,
    pub direction: String,
    pub sender: String,
    pub body: String,
    pub from_number: String,
    pub to_number: String,
    pub channel: String,
    pub status: Option<String>,
    pub error_code: Option<String>,
    pub provider_sid: Option<String>,
    pub encoding: String,
    pub segments: i64,
    pub attempts: i64,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
}

const MESSAGE_COLUMNS: &str =
    "id, conversation_id, direction, sender, body, from_number, to_number, channel, status, \
     error_code, provider_sid, encoding, segments, attempts, created_at, sent_at, delivered_at";

impl Store {
    /// The whole of `POST /v1/sms/send` that must be atomic: idempotency check, finding or
    /// creating the pair's conversation, storing the settings, and queueing the message.
    ///
    /// On SQLite, concurrent sends share one transaction (group commit, see `batcher`):
    /// SQLite has a single writer, and a commit per request would cap throughput.
    pub async fn accept_send(&self, req: &SendRequest) -> Result<SendOutcome> {
        if let Some(batcher) = &self.send_batcher {
            return batcher.submit(req.clone()).await;
        }
        accept_alone(&self.writer, req).await
    }

    /// Stores a message a user sent to one of the org's numbers, on the pair's active
    /// conversation (created when there is none). Returns `(conversation_id, message_id)`.
    pub async fn record_inbound(&self, m: &InboundMessage) -> Result<(String, i64)> {
        self.record_inbound_with_media(m, None).await
    }

    /// [`Store::record_inbound`] for carriers that report attachments (`media`: JSON list).
    /// A carrier message id (`provider_sid`) is stored once: a second delivery of the same
    /// id is refused with `StoreError::Conflict` and writes nothing.
    pub async fn record_inbound_with_media(
        &self,
        m: &InboundMessage,
        media: Option<&serde_json::Value>,
    ) -> Result<(String, i64)> {
        let pair = Pair {
            org_id: &m.org_id,
            agent_number: &m.agent_number,
            user_number: &m.user_number,
            channel: &m.channel,
        };
        let mut tx = self.writer.begin().await?;
        let conversation_id = match active_conversation(&mut tx, &pair).await? {
            Some(c) => {
                touch_conversation(&mut tx, &c.id, &ConversationFields::default(), m.now).await?;
                c.id
            }
            None => {
                create_conversation(&mut tx, &pair, &ConversationFields::default(), m.now).await?
            }
        };
        let message_id: i64 = sqlx::query(
            "INSERT INTO messages (org_id, conversation_id, direction, sender, body, from_number, to_number, channel, \
             status, provider_sid, encoding, segments, created_at, updated_at, media) \
             VALUES ($1, $2, 'inbound', 'USER', $3, $4, $5, $6, NULL, $7, $8, $9, $10, $10, $11) RETURNING id",
        )
        .bind(&m.org_id)
        .bind(&conversation_id)
        .bind(&m.body)
        .bind(&m.user_number)
        .bind(&m.agent_number)
        .bind(&m.channel)
        .bind(&m.provider_sid)
        .bind(&m.encoding)
        .bind(m.segments)
        .bind(m.now)
        .bind(media.map(|v| v.to_string()))
        .fetch_one(&mut *tx)
        .await?
        .try_get("id")?;
        tx.commit().await?;
        Ok((conversation_id, message_id))
    }

    /// One conversation as seen by one org.
    pub async fn conversation(&self, org_id: &str, id: &str) -> Result<Option<ConversationRow>> {
        Ok(sqlx::query_as::<_, ConversationRow>(
            "SELECT * FROM conversations WHERE org_id = $1 AND id = $2",
        )
        .bind(org_id)
        .bind(id)
        .fetch_optional(&self.reader)
        .await?)
    }

    /// A conversation's visible messages, oldest first.
    pub async fn conversation_messages(&self, conversation_id: &str) -> Result<Vec<MessageRow>> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 AND deleted_at IS NULL ORDER BY id"
        );
        Ok(sqlx::query_as::<_, MessageRow>(&sql)
            .bind(conversation_id)
            .fetch_all(&self.reader)
            .await?)
    }

    pub async fn message(&self, id: i64) -> Result<Option<MessageRow>> {
        let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages WHERE id = $1");
        Ok(sqlx::query_as::<_, MessageRow>(&sql)
            .bind(id)
            .fetch_optional(&self.reader)
            .await?)
    }

    /// Forgets idempotency records older than `before` (epoch ms).
    pub async fn purge_idempotency_keys(&self, before: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
            .bind(before)
            .execute(&self.writer)
            .await?;
        Ok(r.rows_affected())
    }
}

/// One send in its own transaction.
pub(crate) async fn accept_alone(pool: &sqlx::AnyPool, req: &SendRequest) -> Result<SendOutcome> {
    let mut tx = pool.begin().await?;
    let outcome = accept_in(&mut tx, req).await?;
    match outcome {
        SendOutcome::Accepted(_) => tx.commit().await?,
        _ => tx.rollback().await?,
    }
    Ok(outcome)
}

/// One send inside `tx`. Every outcome other than `Accepted` is decided before the first
/// write, so several sends can share a transaction without savepoints; an `Err` may leave
/// partial writes and requires rolling `tx` back.
pub(crate) async fn accept_in(
    tx: &mut Transaction<'_, Any>,
    req: &SendRequest,
) -> Result<SendOutcome> {
    let pair = req.pair();
    let existing = if req.new_conversation {
        None
    } else {
        active_conversation(tx, &pair).await?
    };
    let stored = existing
        .as_ref()
        .map(ConversationRow::timeouts)
        .unwrap_or_default();
    if let Err(e) = req
        .fields
        .timeouts
        .over(&stored)
        .over(&req.number_timeouts)
        .validate()
    {
        return Ok(SendOutcome::InvalidTimeout(e));
    }
    if let Some((key, hash)) = &req.idempotency {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (org_id, key, request_hash, response, created_at) \
             VALUES ($1, $2, $3, NULL, $4) ON CONFLICT (org_id, key) DO NOTHING RETURNING key",
        )
        .bind(&req.org_id)
        .bind(key)
        .bind(hash)
        .bind(req.now)
        .fetch_optional(&mut **tx)
        .await?;
        if inserted.is_none() {
            // Another request with this key committed first (on PostgreSQL the insert
            // above waited for it). Answer from its record and write nothing.
            let row = sqlx::query("SELECT request_hash, response FROM idempotency_keys WHERE org_id = $1 AND key = $2")
                .bind(&req.org_id)
                .bind(key)
                .fetch_one(&mut **tx)
                .await?;
            let stored_hash: String = row.try_get("request_hash")?;
            let response: Option<String> = row.try_get("response")?;
            return Ok(match response.and_then(|r| serde_json::from_str(&r).ok()) {
                Some(acc) if stored_hash == *hash => SendOutcome::Replayed(acc),
                _ => SendOutcome::KeyReused,
            });
        }
    }
    if req.new_conversation {
        archive_active(tx, &pair, req.now).await?;
    }
    let conversation_id = match existing {
        Some(c) => {
            touch_conversation(tx, &c.id, &req.fields, req.now).await?;
            c.id
        }
        None => create_conversation(tx, &pair, &req.fields, req.now).await?,
    };
    let workflow_id = uuid::Uuid::new_v4().to_string();
    let o = &req.outbound;
    let message_id: i64 = sqlx::query(
        "INSERT INTO messages (org_id, conversation_id, direction, sender, body, from_number, to_number, channel, \
         status, encoding, segments, content_sid, content_variables, workflow_id, priority, attempts, \
         next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, 'outbound', $3, $4, $5, $6, $7, 'queued', $8, $9, $10, $11, $12, $13, 0, $14, $14, $14) \
         RETURNING id",
    )
    .bind(&req.org_id)
    .bind(&conversation_id)
    .bind(&o.sender)
    .bind(&o.body)
    .bind(&req.agent_number)
    .bind(&req.user_number)
    .bind(&req.channel)
    .bind(&o.encoding)
    .bind(o.segments)
    .bind(&o.content_sid)
    .bind(json_text(&o.content_variables))
    .bind(&workflow_id)
    .bind(o.priority)
    .bind(req.now)
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;
    let accepted = Accepted {
        conversation_id,
        message_id,
        workflow_id,
    };
    if let Some((key, _)) = &req.idempotency {
        sqlx::query("UPDATE idempotency_keys SET response = $1 WHERE org_id = $2 AND key = $3")
            .bind(serde_json::to_string(&accepted).expect("plain struct serializes"))
            .bind(&req.org_id)
            .bind(key)
            .execute(&mut **tx)
            .await?;
    }
    Ok(SendOutcome::Accepted(accepted))
}

/// The key that identifies a conversation thread: at most one is active per pair.
struct Pair<'a> {
    org_id: &'a str,
    agent_number: &'a str,
    user_number: &'a str,
    channel: &'a str,
}

impl SendRequest {
    fn pair(&self) -> Pair<'_> {
        Pair {
            org_id: &self.org_id,
            agent_number: &self.agent_number,
            user_number: &self.user_number,
            channel: &self.channel,
        }
    }
}

async fn active_conversation(
    tx: &mut Transaction<'_, Any>,
    p: &Pair<'_>,
) -> Result<Option<ConversationRow>> {
    Ok(sqlx::query_as::<_, ConversationRow>(
        "SELECT * FROM conversations \
         WHERE org_id = $1 AND agent_number = $2 AND user_number = $3 AND channel = $4 AND is_active = 1",
    )
    .bind(p.org_id)
    .bind(p.agent_number)
    .bind(p.user_number)
    .bind(p.channel)
    .fetch_optional(&mut **tx)
    .await?)
}

async fn archive_active(tx: &mut Transaction<'_, Any>, p: &Pair<'_>, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE conversations SET is_active = 0, ended_reason = 'archived', updated_at = $1 \
         WHERE org_id = $2 AND agent_number = $3 AND user_number = $4 AND channel = $5 AND is_active = 1",
    )
    .bind(now)
    .bind(p.org_id)
    .bind(p.agent_number)
    .bind(p.user_number)
    .bind(p.channel)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts the pair's active conversation. When a concurrent transaction created it first
/// (only possible on PostgreSQL), the partial unique index makes ours a no-op and we use
/// theirs.
async fn create_conversation(
    tx: &mut Transaction<'_, Any>,
    p: &Pair<'_>,
    f: &ConversationFields,
    now: i64,
) -> Result<String> {
    let id = uuid::Uuid::now_v7().to_string();
    let inserted = sqlx::query(
        "INSERT INTO conversations (id, org_id, user_number, agent_number, channel, is_active, created_at, updated_at, \
         last_message_at, message_count, request_data, metadata, webhook, disposition_ids, citation_schema_ids, \
         persona_id, persona_version, persona_settings, pathway_id, pathway_version, start_node_id, prompt, time_out, \
         timeout_message, warning_time, warning_message) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $6, 1, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, \
         $21, $22) \
         ON CONFLICT (org_id, agent_number, user_number, channel) WHERE is_active = 1 DO NOTHING RETURNING id",
    )
    .bind(&id)
    .bind(p.org_id)
    .bind(p.user_number)
    .bind(p.agent_number)
    .bind(p.channel)
    .bind(now)
    .bind(json_text(&f.request_data))
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
    .bind(&f.prompt)
    .bind(f.timeouts.time_out)
    .bind(&f.timeouts.timeout_message)
    .bind(f.timeouts.warning_time)
    .bind(&f.timeouts.warning_message)
    .fetch_optional(&mut **tx)
    .await?;
    if inserted.is_some() {
        return Ok(id);
    }
    let theirs = active_conversation(tx, p).await?.ok_or_else(|| {
        crate::StoreError::Conflict("active conversation vanished during create".into())
    })?;
    touch_conversation(tx, &theirs.id, f, now).await?;
    Ok(theirs.id)
}

/// Records one more message on a conversation, overwriting the settings the request
/// carried and keeping the rest. One statement, because it runs on every send.
async fn touch_conversation(
    tx: &mut Transaction<'_, Any>,
    id: &str,
    f: &ConversationFields,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE conversations SET updated_at = $1, last_message_at = $1, message_count = message_count + 1, \
         request_data = COALESCE($2, request_data), metadata = COALESCE($3, metadata), \
         webhook = COALESCE($4, webhook), disposition_ids = COALESCE($5, disposition_ids), \
         citation_schema_ids = COALESCE($6, citation_schema_ids), persona_id = COALESCE($7, persona_id), \
         persona_version = COALESCE($8, persona_version), persona_settings = COALESCE($9, persona_settings), \
         pathway_id = COALESCE($10, pathway_id), pathway_version = COALESCE($11, pathway_version), \
         start_node_id = COALESCE($12, start_node_id), prompt = COALESCE($13, prompt), \
         time_out = COALESCE($14, time_out), timeout_message = COALESCE($15, timeout_message), \
         warning_time = COALESCE($16, warning_time), warning_message = COALESCE($17, warning_message) \
         WHERE id = $18",
    )
    .bind(now)
    .bind(json_text(&f.request_data))
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
    .bind(&f.prompt)
    .bind(f.timeouts.time_out)
    .bind(&f.timeouts.timeout_message)
    .bind(f.timeouts.warning_time)
    .bind(&f.timeouts.warning_message)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
