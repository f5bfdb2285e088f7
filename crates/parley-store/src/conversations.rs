//! Conversations and their messages: the send transaction, inbound storage, reads.
//!
//! Submodules hold the other operations on the same tables: `pair` (the one-active-per-pair
//! rule shared by every writer), `create` (`/v1/sms/create` and sending on a conversation),
//! `list`, `list_query`, `filter_sql` and `keyset` (the paginated list), `manage` (activate, delete, hide),
//! `bulk` (the send transaction for many sends at once), `inbound` (the decision procedure
//! for a user's message), `handoff` (handing a conversation to a human and back).

pub(crate) mod bulk;
mod create;
mod filter_sql;
pub(crate) mod handoff;
pub(crate) mod inbound;
mod keyset;
mod list;
mod list_query;
mod manage;
pub(crate) mod pair;
mod record;

use parley_domain::timeouts::{TimeoutError, TimeoutSettings};
use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

pub use create::{ConversationSend, ConversationSendOutcome, CreateRequest};
pub use handoff::{HandoffOutcome, HandoffRequest, ResumeOutcome, ResumeRequest};
pub use inbound::{InboundOutcome, ReplyDecision};
pub use keyset::{ListCursor, SortValue};
pub use list::{
    CmpOp, ConversationListQuery, ConversationPage, Filter, IntField, ListedConversation,
    SortField, TextField, TextOp,
};
pub use manage::SetActiveOutcome;
use pair::{active_conversation, create_conversation, touch_conversation, Pair};

use crate::{
    idempotency::{self, Claim},
    json_text, parse_json, Result, Store,
};

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
    /// The pathway node the conversation stands at (`/v1/sms/create` sets it explicitly).
    pub current_node_id: Option<String>,
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
    /// Further messages of the same agent turn (a pathway opener may say several), queued
    /// after `outbound`, in order, in the same transaction.
    pub more: Vec<NewOutbound>,
    /// What a pathway opener writes besides its messages (state, tags, SMS nodes' messages to
    /// other numbers), in the same transaction.
    pub pathway: Option<crate::PathwayWrite>,
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

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
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
    /// When it ended (any trigger); `None` while it runs.
    pub ended_at: Option<i64>,
    /// `[{name, color}]` of the tagged pathway nodes it visited (JSON).
    #[sqlx(default)]
    pub pathway_tags: Option<String>,
    /// When it was handed to a human (spec 2.16); `None` while the agent answers.
    pub handed_off_at: Option<i64>,
    /// The handoff request (JSON: `reason`, `actor`, `metadata`, `webhook`,
    /// `notify_number`); `None` when not handed off.
    pub handoff: Option<String>,
    /// The end-of-conversation pipeline's results (migration 0014), `None` until it ran.
    #[sqlx(default)]
    pub summary: Option<String>,
    /// `{name: value}` of the citation schemas' variables (JSON).
    #[sqlx(default)]
    pub citation_variables: Option<String>,
    /// The outcome logs (JSON array).
    #[sqlx(default)]
    pub disposition_logs: Option<String>,
    #[sqlx(default)]
    pub disposition_tag: Option<String>,
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
    /// Set by `/v1/sms/clear`: still shown, left out of the agent's context.
    pub hidden_from_ai: i64,
}

const MESSAGE_COLUMNS: &str =
    "id, conversation_id, direction, sender, body, from_number, to_number, channel, status, \
     error_code, provider_sid, encoding, segments, attempts, created_at, sent_at, delivered_at, \
     hidden_from_ai";

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

    /// Stores a message a user sent to one of the org's numbers and decides, in the same
    /// transaction, whether the agent should answer it (spec 7.3, see `inbound`).
    pub async fn record_inbound(&self, m: &InboundMessage) -> Result<InboundOutcome> {
        self.record_inbound_with_media(m, None).await
    }

    /// [`Store::record_inbound`] for carriers that report attachments (`media`: JSON list).
    /// A carrier message id (`provider_sid`) is stored once: a second delivery of the same
    /// id is refused with `StoreError::Conflict` and writes nothing. A message the decision
    /// procedure says to answer asks for an agent turn in the same transaction (`turns`),
    /// so its reply cannot be lost.
    pub async fn record_inbound_with_media(
        &self,
        m: &InboundMessage,
        media: Option<&serde_json::Value>,
    ) -> Result<InboundOutcome> {
        let mut tx = self.writer.begin().await?;
        let outcome = inbound::decide_and_record(&mut tx, self.dialect, m, media).await?;
        if outcome.reply.wants_reply() {
            crate::turns::request_in(&mut tx, &outcome.conversation_id, &m.org_id, m.now).await?;
        }
        tx.commit().await?;
        Ok(outcome)
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
}

/// Stores an inbound message on the pair's active conversation (created when there is
/// none) and enqueues its message webhook, inside `tx`, without the decision procedure (the
/// STOP / START keywords, which act on the thread the user is in). Returns
/// `(conversation_id, message_id)`.
pub(crate) async fn record_inbound_in(
    tx: &mut Transaction<'_, Any>,
    m: &InboundMessage,
    media: Option<&serde_json::Value>,
) -> Result<(String, i64)> {
    let pair = m.pair();
    let conversation_id = match active_conversation(tx, &pair).await? {
        Some(c) => {
            touch_conversation(tx, &c, &ConversationFields::default(), m.now).await?;
            c.id
        }
        None => create_conversation(tx, &pair, &ConversationFields::default(), m.now).await?,
    };
    let message_id = insert_inbound(tx, &conversation_id, m, media).await?;
    Ok((conversation_id, message_id))
}

/// Inserts an inbound message on a conversation the caller already counted it on, cancels
/// the conversation's pending timers (the user answered) and enqueues its message webhook.
/// Returns the message id.
pub(crate) async fn insert_inbound(
    tx: &mut Transaction<'_, Any>,
    conversation_id: &str,
    m: &InboundMessage,
    media: Option<&serde_json::Value>,
) -> Result<i64> {
    let message_id: i64 = sqlx::query(
            "INSERT INTO messages (org_id, conversation_id, direction, sender, body, from_number, to_number, channel, \
             status, provider_sid, encoding, segments, created_at, updated_at, media) \
             VALUES ($1, $2, 'inbound', 'USER', $3, $4, $5, $6, NULL, $7, $8, $9, $10, $10, $11) RETURNING id",
        )
        .bind(&m.org_id)
        .bind(conversation_id)
        .bind(&m.body)
        .bind(&m.user_number)
        .bind(&m.agent_number)
        .bind(&m.channel)
        .bind(&m.provider_sid)
        .bind(&m.encoding)
        .bind(m.segments)
        .bind(m.now)
        .bind(media.map(|v| v.to_string()))
        .fetch_one(&mut **tx)
        .await?
        .try_get("id")?;
    // The user answered: pending warning/timeout timers stop here, atomically with the
    // reply, so none can fire after it.
    crate::timers::cancel(tx, conversation_id).await?;
    crate::webhooks::enqueue_message(tx, message_id, m.now).await?;
    Ok(message_id)
}

impl InboundMessage {
    pub(crate) fn pair(&self) -> Pair<'_> {
        Pair {
            org_id: &self.org_id,
            agent_number: &self.agent_number,
            user_number: &self.user_number,
            channel: &self.channel,
        }
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
    if let Err(e) = pair::check_timeouts(existing.as_ref(), &req.fields, &req.number_timeouts) {
        return Ok(SendOutcome::InvalidTimeout(e));
    }
    if let Some((key, hash)) = &req.idempotency {
        // The claim's insert is the first write, and it only happens when the key is new.
        match idempotency::claim(tx, &req.org_id, key, hash, req.now).await? {
            Claim::Fresh => {}
            Claim::Replayed(acc) => return Ok(SendOutcome::Replayed(acc)),
            Claim::Reused => return Ok(SendOutcome::KeyReused),
        }
    }
    let conversation_id = pair::open(
        tx,
        &pair,
        existing,
        req.new_conversation,
        &req.fields,
        req.now,
    )
    .await?;
    let accepted = insert_outbound(tx, &pair, &conversation_id, &req.outbound, req.now).await?;
    for o in &req.more {
        sqlx::query("UPDATE conversations SET message_count = message_count + 1 WHERE id = $1")
            .bind(&conversation_id)
            .execute(&mut **tx)
            .await?;
        insert_outbound(tx, &pair, &conversation_id, o, req.now).await?;
    }
    if let Some(p) = &req.pathway {
        let c = crate::turns::conversation_in(tx, &conversation_id).await?;
        crate::turns::apply_pathway_write(tx, &c, p, req.now).await?;
    }
    if let Some((key, _)) = &req.idempotency {
        idempotency::record(tx, &req.org_id, key, &accepted).await?;
    }
    Ok(SendOutcome::Accepted(accepted))
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

/// Queues an outbound message on conversation `c` (from its agent number to its user, on
/// its channel), counting it on the conversation. Returns the message id.
pub(crate) async fn insert_outbound_on(
    tx: &mut Transaction<'_, Any>,
    c: &ConversationRow,
    o: &NewOutbound,
    now: i64,
) -> Result<i64> {
    let pair = Pair {
        org_id: &c.org_id,
        agent_number: &c.agent_number,
        user_number: &c.user_number,
        channel: &c.channel,
    };
    touch_conversation(tx, c, &ConversationFields::default(), now).await?;
    Ok(insert_outbound(tx, &pair, &c.id, o, now).await?.message_id)
}

/// Queues an outbound message for dispatch on a conversation of `pair`. The caller has
/// already counted it on the conversation (`pair::open` or `touch_conversation`).
pub(crate) async fn insert_outbound(
    tx: &mut Transaction<'_, Any>,
    pair: &Pair<'_>,
    conversation_id: &str,
    o: &NewOutbound,
    now: i64,
) -> Result<Accepted> {
    let workflow_id = uuid::Uuid::new_v4().to_string();
    let message_id: i64 = sqlx::query(
        "INSERT INTO messages (org_id, conversation_id, direction, sender, body, from_number, to_number, channel, \
         status, encoding, segments, content_sid, content_variables, workflow_id, priority, attempts, \
         next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, 'outbound', $3, $4, $5, $6, $7, 'queued', $8, $9, $10, $11, $12, $13, 0, $14, $14, $14) \
         RETURNING id",
    )
    .bind(pair.org_id)
    .bind(conversation_id)
    .bind(&o.sender)
    .bind(&o.body)
    .bind(pair.agent_number)
    .bind(pair.user_number)
    .bind(pair.channel)
    .bind(&o.encoding)
    .bind(o.segments)
    .bind(&o.content_sid)
    .bind(json_text(&o.content_variables))
    .bind(&workflow_id)
    .bind(o.priority)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?
    .try_get("id")?;
    Ok(Accepted {
        conversation_id: conversation_id.to_owned(),
        message_id,
        workflow_id,
    })
}
